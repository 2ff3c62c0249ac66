//! The parallel run of `tests/legacy/small` under a program of one rule (a point per 10 RUB,
//! rounded down): the legacy points of most purchases are exactly that, two were booked with
//! fractions, one refund took nothing back, and one refunds a purchase the export lacks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{dec, legacy_small};
use puntos::migrate::parallel::{parallel_run, ParallelRun};
use puntos::{Decimal, Versions};

const PROGRAM: &str = "program \"Legacy\" { currency RUB  timezone \"Europe/Moscow\" }\n\
    rule base { on purchase  earn floor(item.amount / 10 RUB) points for each item }\n";

fn run() -> ParallelRun {
    let (identities, migrated) = common::migrated_small();
    let program = common::program("legacy.pts", PROGRAM);
    let versions = Versions::new(vec![program]).unwrap();
    parallel_run(
        &legacy_small(),
        versions,
        &identities,
        migrated,
        &mut |_| Ok(()),
    )
    .unwrap()
}

#[test]
fn every_purchase_and_refund_is_compared_and_mismatches_are_grouped() {
    let r = run();
    assert_eq!(
        r.transactions.len(),
        16,
        "14 purchases (T011's card is not in cards.csv) and 2 refunds"
    );
    assert_eq!(r.matched, 12);
    assert_eq!(r.match_rate(), dec("75"));
    let patterns: Vec<(&str, u64, Decimal)> = r
        .patterns
        .iter()
        .map(|p| (p.pattern.as_str(), p.transactions, p.points))
        .collect();
    assert_eq!(
        patterns,
        vec![
            ("purchase: puntos books less", 2, dec("-0.9")),
            ("refund: legacy booked nothing", 1, dec("-50")),
            ("refund: puntos refuses it", 1, dec("0")),
        ]
    );
    let less: Vec<(&str, Decimal, Option<Decimal>, &str)> = r.patterns[0]
        .samples
        .iter()
        .map(|s| (s.tx_id.as_str(), s.legacy, s.puntos, s.detail.as_str()))
        .collect();
    assert_eq!(
        less,
        vec![
            ("T025", dec("33.4"), Some(dec("33")), "rule base 33"),
            ("T003", dec("35.5"), Some(dec("35")), "rule base 35"),
        ]
    );
    assert_eq!(
        r.patterns[2].samples[0].detail,
        "refunds T777, a purchase the export lacks"
    );
}

#[test]
fn cards_sum_both_sides() {
    let r = run();
    assert_eq!(
        r.cards["C001"],
        (dec("150"), dec("100")),
        "T001 150, its refund took 50"
    );
    assert_eq!(r.cards["C008"], (dec("40"), dec("40")));
}
