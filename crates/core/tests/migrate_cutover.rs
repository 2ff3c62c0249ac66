//! The cutover of the hand-made legacy export `tests/legacy/small`: its delta repeats one
//! history row exactly (T008), repeats another with other points (T005: a conflict), and its
//! legacy cutover balance of C006 misses the history's row after the snapshot (T027). Every
//! figure below was worked out by hand from the files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use puntos::migrate::cutover::{cutover, Cutover};
use puntos::migrate::export::Reject;
use puntos::Decimal;
mod common;

use common::{collecting, dec, legacy_small};

fn run() -> (Cutover, Vec<Reject>) {
    collecting(|rejects| cutover(&legacy_small(), rejects))
}

#[test]
fn the_snapshot_plus_what_came_after_it_once() {
    let (c, _) = run();
    let finals: Vec<(&str, Decimal, Decimal, Decimal)> = c
        .cards
        .iter()
        .map(|c| (&*c.card_no, c.snapshot, c.delta, c.final_balance()))
        .collect();
    assert_eq!(
        finals,
        vec![
            ("C001", dec("120"), dec("20"), dec("140")),
            ("C002", dec("35.5"), dec("-35.5"), dec("0")),
            ("C003", dec("0"), dec("0"), dec("0")),
            ("C006", dec("80"), dec("5"), dec("85")),
            ("C007", dec("15"), dec("0"), dec("15")),
            ("C008", dec("40"), dec("0"), dec("40")),
            ("C010", dec("-5"), dec("0"), dec("-5")),
            ("C015", dec("300"), dec("0"), dec("300")),
            ("C004", dec("100"), dec("0"), dec("100")),
            ("C005", dec("20"), dec("0"), dec("20")),
            ("C009", dec("60"), dec("0"), dec("60")),
            ("C013", dec("33"), dec("0"), dec("33")),
        ]
    );
    assert_eq!(c.snapshot_total, dec("798.5"));
    assert_eq!(c.applied, (3, dec("-10.5")));
    assert_eq!(c.final_total, dec("788"));
    assert!(c.conserved());
    assert_eq!(c.already_in_history, 1);
    assert_eq!(
        c.moment.map(|m| m.to_rfc3339()).as_deref(),
        Some("2025-02-05T00:00:00+03:00"),
        "the legacy cutover balances' as_of"
    );
}

#[test]
fn final_balances_are_compared_with_the_legacy_cutover_balances() {
    let (c, _) = run();
    assert_eq!(c.compared, (2, 1));
    let differing: Vec<(&str, Option<Decimal>)> = c
        .cards
        .iter()
        .filter(|c| c.difference().is_some_and(|d| !d.is_zero()))
        .map(|c| (&*c.card_no, c.difference()))
        .collect();
    assert_eq!(differing, vec![("C006", Some(dec("-5")))]);
}

#[test]
fn a_delta_row_with_a_history_id_and_other_fields_is_a_conflict() {
    let (_, rejects) = run();
    let delta: Vec<(u64, Option<&str>, &str)> = rejects
        .iter()
        .filter(|r| r.file == "delta/transactions.csv")
        .map(|r| (r.line, r.column, r.reason.as_str()))
        .collect();
    assert_eq!(
        delta,
        vec![(
            5,
            Some("tx_id"),
            "T005 again, with other fields than on transactions.csv line 6 (that row is kept)"
        )]
    );
    // The history's and the snapshot's own bad rows are rejected as in every step.
    assert_eq!(
        rejects.len(),
        10,
        "and C999's balance and transaction: not in cards.csv"
    );
}
