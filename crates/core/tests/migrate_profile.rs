//! The profile of the hand-made legacy export `tests/legacy/small` (every case of MIGRATION.md
//! planted); each expected figure below was counted by hand from the files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{collecting, dec, legacy_small};
use puntos::migrate::export::Reject;
use puntos::migrate::profile::{profile, Profile, ProfileSettings};
use puntos::phone::{region, PhoneClass};
use puntos::Decimal;

fn run() -> (Profile, Vec<Reject>) {
    let settings = ProfileSettings {
        region: region("RU").unwrap(),
    };
    collecting(|rejects| profile(&legacy_small(), &settings, rejects))
}

#[test]
fn every_row_is_counted_once_as_accepted_or_rejected() {
    let (p, rejects) = run();
    let counts: Vec<(&str, u64, u64, u64, u64, u64)> = p
        .files
        .iter()
        .map(|f| {
            (
                f.file.as_str(),
                f.rows,
                f.accepted,
                f.rejected,
                f.exact_duplicates,
                f.conflicting_duplicates,
            )
        })
        .collect();
    assert_eq!(
        counts,
        vec![
            ("customers.csv", 19, 15, 4, 1, 1),
            ("cards.csv", 20, 18, 2, 1, 1),
            ("balances.csv", 17, 15, 2, 1, 1),
            ("transactions.csv", 27, 24, 3, 2, 1),
            ("delta/transactions.csv", 4, 4, 0, 1, 1),
            ("delta/balances.csv", 3, 3, 0, 0, 0),
        ]
    );
    assert_eq!(p.rejected(), 11);
    assert_eq!(rejects.len(), 11);
}

#[test]
fn rejected_rows_name_file_line_column_and_reason() {
    let (_, rejects) = run();
    let places = common::places(&rejects);
    assert_eq!(
        places,
        vec![
            ("customers.csv", 18, Some("birth_date")),
            ("customers.csv", 19, None),
            ("customers.csv", 20, Some("sms_opt_in")),
            ("customers.csv", 21, Some("customer_id")),
            ("cards.csv", 18, Some("status")),
            ("cards.csv", 21, Some("issued_at")),
            ("balances.csv", 13, Some("balance")),
            ("balances.csv", 14, Some("as_of")),
            ("transactions.csv", 16, Some("kind")),
            ("transactions.csv", 17, Some("occurred_at")),
            ("transactions.csv", 18, Some("amount")),
        ]
    );
    let reasons: Vec<&str> = rejects.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(reasons[0], "`17.05.1980` is not a date such as 1980-05-17");
    assert_eq!(reasons[1], "8 fields where the header has 9");
    assert_eq!(reasons[3], "blank");
    assert_eq!(reasons[4], "`stolen` is not active, blocked or lost");
    assert_eq!(
        reasons[5],
        "`2022-02-02T10:00:00` has no UTC offset; write it as 2024-03-01T12:30:00+03:00"
    );
    assert_eq!(reasons[6], "`12,5` is not a number such as 120.50");
}

#[test]
fn blanks_and_date_ranges_per_column() {
    let (p, _) = run();
    let customers = &p.files[0];
    let blanks: Vec<(&str, u64)> = customers.blanks.iter().map(|(c, n)| (*c, *n)).collect();
    assert_eq!(
        blanks,
        vec![
            ("customer_id", 1),
            ("full_name", 0),
            ("birth_date", 0),
            ("phone", 1),
            ("email", 9),
            ("sms_opt_in", 1),
            ("email_opt_in", 1),
            ("created_at", 0),
            ("status", 0),
        ]
    );
    let birth = &customers.date_ranges["birth_date"];
    assert_eq!(
        (birth.min.as_str(), birth.max.as_str()),
        ("1966-06-06", "1995-05-05")
    );
    let created = &customers.date_ranges["created_at"];
    assert_eq!(
        (created.min.as_str(), created.max.as_str()),
        ("2016-02-29T07:00:00Z", "2024-02-14T11:00:00Z")
    );
    assert_eq!(p.files[1].blanks["customer_id"], 1);
    let issued = &p.files[1].date_ranges["issued_at"];
    assert_eq!(
        (issued.min.as_str(), issued.max.as_str()),
        ("2014-12-31T21:00:00Z", "2024-02-14T11:05:00Z")
    );
    assert_eq!(p.files[2].blanks["as_of"], 1);
    assert_eq!(p.files[3].blanks["amount"], 4);
    assert_eq!(p.files[3].blanks["original_tx_id"], 25);
    let occurred = &p.files[3].date_ranges["occurred_at"];
    assert_eq!(
        (occurred.min.as_str(), occurred.max.as_str()),
        ("2023-06-01T07:00:00Z", "2025-02-01T07:00:00Z")
    );
    let delta = &p.files[4].date_ranges["occurred_at"];
    assert_eq!(
        (delta.min.as_str(), delta.max.as_str()),
        ("2024-12-11T08:00:00Z", "2025-02-04T07:00:00Z")
    );
}

#[test]
fn phones_orphans_and_sums() {
    let (p, _) = run();
    let phones: Vec<(PhoneClass, u64)> = p.phones.iter().map(|(c, n)| (*c, *n)).collect();
    assert_eq!(
        phones,
        vec![
            (PhoneClass::Blank, 2),
            (PhoneClass::Unparseable, 1),
            (PhoneClass::Invalid, 1),
            (PhoneClass::NotMobile, 2),
            (PhoneClass::Mobile, 6),
            (PhoneClass::Foreign, 1),
        ]
    );
    assert_eq!(p.shared_phones, 2);
    let o = &p.orphans;
    assert_eq!(
        (
            o.cards_without_customer,
            o.cards_of_unknown_customer,
            o.balances_of_unknown_card,
            o.transactions_of_unknown_card,
            o.refunds_of_unknown_original
        ),
        (1, 1, 1, 1, 1)
    );
    assert_eq!(
        (p.balances.cards, p.balances.points, p.balances.negative),
        (13, dec("808.5"), 1)
    );
    let cutover = p.cutover_balances.as_ref().unwrap();
    assert_eq!((cutover.cards, cutover.points), (3, dec("220")));
    let kinds: Vec<(&str, u64, Decimal, Decimal, Decimal)> = p
        .transactions
        .iter()
        .map(|(k, t)| {
            (
                k.as_str(),
                t.rows,
                t.amount,
                t.points_earned,
                t.points_redeemed,
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("purchase", 16, dec("9309"), dec("930.9"), dec("0")),
            ("refund", 2, dec("600"), dec("0"), dec("0")),
            ("redemption", 2, dec("0"), dec("0"), dec("65.5")),
            ("adjustment", 2, dec("0"), dec("15"), dec("0")),
            ("expiry", 1, dec("0"), dec("0"), dec("10")),
        ]
    );
}

#[test]
fn a_rerun_gives_the_same_profile_byte_for_byte() {
    let (first, first_rejects) = run();
    let (second, second_rejects) = run();
    assert_eq!(
        serde_json::to_string(&first).unwrap(),
        serde_json::to_string(&second).unwrap()
    );
    assert_eq!(first_rejects, second_rejects);
    assert_eq!(first.to_text(), second.to_text());
}
