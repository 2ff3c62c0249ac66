//! Balance reconciliation of the hand-made legacy export `tests/legacy/small`, whose cards
//! C004, C005, C009 and C013 have one difference of each class planted. Every figure below was
//! worked out by hand from the files (points expire after 12 months; tolerance 1 point).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{collecting, dec, legacy_small};
use puntos::migrate::export::Reject;
use puntos::migrate::reconcile::{reconcile, DifferenceClass, ReconcileSettings, Reconciliation};
use puntos::program::Name;
use puntos::Decimal;

fn run(expiry_months: Option<u32>) -> (Reconciliation, Vec<Reject>) {
    let settings = ReconcileSettings {
        expiry_months,
        rounding_tolerance: Decimal::ONE,
    };
    collecting(|rejects| reconcile(&legacy_small(), &settings, rejects))
}

#[test]
fn every_card_difference_is_classified_with_its_amount() {
    let (r, _) = run(Some(12));
    use DifferenceClass::*;
    let cards: Vec<(&str, Decimal, Decimal, DifferenceClass)> = r
        .cards
        .iter()
        .map(|c| (&*c.card_no, c.legacy, c.recomputed, c.class))
        .collect();
    assert_eq!(
        cards,
        vec![
            ("C001", dec("120"), dec("120"), Match),
            ("C002", dec("35.5"), dec("35.5"), Match),
            ("C003", dec("0"), dec("0"), Match),
            ("C006", dec("80"), dec("80"), Match),
            ("C007", dec("15"), dec("15"), Match),
            ("C008", dec("40"), dec("40"), Match),
            ("C010", dec("-5"), dec("0"), Unexplained),
            ("C015", dec("300"), dec("300"), Match),
            ("C004", dec("100"), dec("50"), DuplicateTransaction),
            ("C005", dec("20"), dec("90"), ExpiryNotBooked),
            ("C009", dec("60"), dec("85"), ManualAdjustment),
            ("C013", dec("33"), dec("33.4"), Rounding),
            ("C014", dec("0"), dec("12"), Unexplained),
        ]
    );
    let explanation = |card: &str| {
        r.cards
            .iter()
            .find(|c| &*c.card_no == card)
            .map(|c| c.explanation.to_string())
            .unwrap()
    };
    assert_eq!(
        explanation("C004"),
        "the legacy balance counts the repeated row(s) T020 twice"
    );
    assert_eq!(
        explanation("C005"),
        "70 points earned before 2024-01-31 expired without an expiry row"
    );
    assert_eq!(
        explanation("C009"),
        "the snapshot leaves out 25 points of manual adjustments"
    );
    assert_eq!(
        explanation("C014"),
        "no balance row for a card with history"
    );
}

#[test]
fn points_are_conserved_class_by_class() {
    let (r, _) = run(Some(12));
    use DifferenceClass::*;
    let classes: Vec<(DifferenceClass, u64, Decimal)> = r
        .classes
        .iter()
        .map(|(c, t)| (*c, t.cards, t.points))
        .collect();
    assert_eq!(
        classes,
        vec![
            (Match, 7, dec("0")),
            (DuplicateTransaction, 1, dec("50")),
            (ExpiryNotBooked, 1, dec("-70")),
            (ManualAdjustment, 1, dec("-25")),
            (Rounding, 1, dec("-0.4")),
            (Unexplained, 2, dec("-17")),
        ]
    );
    assert_eq!(r.legacy_total, dec("798.5"));
    assert_eq!(r.recomputed_total, dec("860.9"));
    assert!(r.conserved());
    assert_eq!(r.duplicate_rows, (2, dec("200")));
    assert_eq!(r.after_snapshot, (1, dec("5")));
}

#[test]
fn without_an_expiry_period_unbooked_expiry_is_unexplained() {
    let (r, _) = run(None);
    let c005 = r.cards.iter().find(|c| &*c.card_no == "C005").unwrap();
    assert_eq!(c005.class, DifferenceClass::Unexplained);
    assert!(r.conserved());
}

#[test]
fn every_row_is_counted_once_or_rejected() {
    let (r, rejects) = run(Some(12));
    let files: Vec<(&str, u64, u64, u64)> = r
        .files
        .iter()
        .map(|f| (f.file.as_str(), f.rows, f.exact_duplicates, f.rejected))
        .collect();
    assert_eq!(
        files,
        vec![("balances.csv", 17, 1, 4), ("transactions.csv", 27, 2, 5)]
    );
    let places = common::places(&rejects);
    assert_eq!(
        places,
        vec![
            ("balances.csv", 10, Some("card_no")),
            ("balances.csv", 12, Some("card_no")),
            ("balances.csv", 13, Some("balance")),
            ("balances.csv", 14, Some("as_of")),
            ("transactions.csv", 12, Some("card_no")),
            ("transactions.csv", 15, Some("tx_id")),
            ("transactions.csv", 16, Some("kind")),
            ("transactions.csv", 17, Some("occurred_at")),
            ("transactions.csv", 18, Some("amount")),
        ]
    );
}

#[test]
fn accounts_sum_their_cards() {
    let (r, _) = run(Some(12));
    let (plan, _) = common::migrated_small();
    let placement = puntos::migrate::placement::Placement::of(&plan);
    let by_account = r.by_account(&placement);
    let find = |key: &str| by_account.iter().find(|a| &*a.account == key).unwrap();
    let p001 = find("+79123456789");
    assert_eq!(p001.cards, [Name::from("C001"), "C002".into()]);
    assert_eq!(
        (p001.legacy, p001.recomputed, p001.difference),
        (dec("155.5"), dec("155.5"), dec("0"))
    );
    let master = find("+79261112233");
    assert_eq!(master.cards, [Name::from("C008"), "C009".into()]);
    assert_eq!(
        (master.legacy, master.recomputed, master.difference),
        (dec("100"), dec("125"), dec("-25"))
    );
    assert!(
        by_account.iter().all(|a| &*a.account != "card:C999"),
        "C999 is rejected"
    );
    let legacy: Decimal = by_account.iter().map(|a| a.legacy).sum();
    assert_eq!(legacy, r.legacy_total);
    // A card the placement does not know keys an account of its own.
    let unplaced = r.by_account(&puntos::migrate::placement::Placement::default());
    assert_eq!(unplaced.len(), r.cards.len());
    for (account, card) in unplaced.iter().zip(&r.cards) {
        assert_eq!(&*account.account, format!("card:{}", card.card_no));
        assert_eq!(account.cards, [Name::clone(&card.card_no)]);
        assert_eq!(account.legacy, card.legacy);
    }
}
