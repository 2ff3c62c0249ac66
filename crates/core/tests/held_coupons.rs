//! A held code's own record (its window, its allowance of uses) beside its coupon's
//! declaration: the evaluator refuses a code outside either, the ledger records an issued
//! code's window and counts each use against the code, and scenarios carry the record.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use chrono::{DateTime, FixedOffset};
use puntos::eval::{from_json, Context, Customer, Decision, HeldCoupon};
use puntos::ledger::{AccountState, Incoming, Ledger, MemoryStore};
use puntos::{Program, Versions};
use rust_decimal::Decimal;
use serde_json::json;
use std::sync::OnceLock;

/// AUTUMN: personal codes, 100 RUB off within 2026, five uses per customer. SPRING: issued on
/// signup, valid only in March 2026, without a limit of uses.
fn club() -> &'static Program {
    static P: OnceLock<Program> = OnceLock::new();
    P.get_or_init(|| {
        common::program(
            "club.pts",
            r#"
program "Club" { currency RUB  timezone "Europe/Moscow" }

coupon AUTUMN "100 RUB off" {
  codes unique 8 prefix "A-"
  valid 2026-01-01 .. 2026-12-31
  discount 100 RUB
  uses 5 per customer
}

coupon SPRING "50 RUB off in March" {
  codes unique 6 prefix "S-"
  issue on signup
  valid 2026-03-01 .. 2026-03-31
  discount 50 RUB
}
"#,
        )
    })
}

fn at(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

/// The code `A-MIGRATED` of AUTUMN, issued in 2025 by the legacy CRM.
fn migrated() -> HeldCoupon {
    HeldCoupon {
        code: "A-MIGRATED".to_string(),
        coupon: "AUTUMN".to_string(),
        issued_at: at("2025-12-20T10:00:00+03:00"),
        valid_from: None,
        valid_until: None,
        max_uses: None,
        used: 0,
    }
}

/// A 1000 RUB purchase at `time` presenting `A-MIGRATED`, the customer holding `held`.
fn presenting(time: &str, held: HeldCoupon, uses_of_autumn: u32) -> Context {
    let mut ctx = Context::from_json(
        &json!({"transaction": {"time": time, "coupons": ["a-migrated"],
            "lines": [{"unit_price": 1000}]}})
        .to_string(),
    )
    .unwrap();
    ctx.account.coupons.push(held);
    ctx.account.uses.insert("AUTUMN".into(), uses_of_autumn);
    ctx
}

/// The reason `A-MIGRATED` was refused for, the same with the trace on and off; `None` if
/// it was honoured.
fn refusal(ctx: &Context) -> Option<String> {
    let plain = club().evaluate(ctx).unwrap();
    let traced = club().evaluate_traced(ctx).unwrap();
    assert_eq!(plain.refused_coupons, traced.refused_coupons);
    assert_eq!(plain.discount_total(), traced.discount_total());
    let reason = plain.refused_coupons.first().map(|r| r.reason.clone());
    if let Some(reason) = &reason {
        let steps = traced.trace.unwrap_or_default();
        assert!(
            steps.iter().any(|s| !s.applied
                && s.reason.as_deref() == Some(&format!("code a-migrated: {reason}"))),
            "{steps:#?}"
        );
    } else {
        assert_eq!(plain.discount_total(), Decimal::from(100));
    }
    reason
}

#[test]
fn a_code_is_refused_before_its_own_start_and_after_its_own_end() {
    let window = HeldCoupon {
        valid_from: Some(at("2026-04-01T00:00:00+03:00")),
        valid_until: Some(at("2026-06-30T23:59:59+03:00")),
        ..migrated()
    };
    // Inside the coupon's window, but before the code's own.
    assert_eq!(
        refusal(&presenting("2026-03-31T23:59:59+03:00", window.clone(), 0)).as_deref(),
        Some("not valid yet: from 2026-04-01T00:00:00+03:00")
    );
    assert_eq!(
        refusal(&presenting("2026-04-01T00:00:00+03:00", window.clone(), 0)),
        None
    );
    assert_eq!(
        refusal(&presenting("2026-06-30T23:59:59+03:00", window.clone(), 0)),
        None
    );
    assert_eq!(
        refusal(&presenting("2026-07-01T00:00:00+03:00", window.clone(), 0)).as_deref(),
        Some("expired on 2026-06-30T23:59:59+03:00")
    );
    // A code's own window longer than its coupon's does not stretch the coupon's.
    let longer = HeldCoupon {
        valid_until: Some(at("2027-06-30T23:59:59+03:00")),
        ..migrated()
    };
    assert_eq!(
        refusal(&presenting("2027-01-05T12:00:00+03:00", longer, 0)).as_deref(),
        Some("expired")
    );
}

#[test]
fn a_code_is_used_up_by_its_own_allowance_and_by_the_coupons_limit() {
    let three = |used| HeldCoupon {
        max_uses: Some(3),
        used,
        ..migrated()
    };
    assert_eq!(
        refusal(&presenting("2026-05-05T12:00:00+03:00", three(2), 0)),
        None
    );
    assert_eq!(
        refusal(&presenting("2026-05-05T12:00:00+03:00", three(3), 0)).as_deref(),
        Some("used up: 3 use(s) of this code, used 3")
    );
    // An allowance of its own does not lift the coupon's limit per customer.
    let ten = HeldCoupon {
        max_uses: Some(10),
        ..migrated()
    };
    assert_eq!(
        refusal(&presenting("2026-05-05T12:00:00+03:00", ten, 5)).as_deref(),
        Some("used up: 5 use(s) per customer, used 5")
    );
}

// ------------------------------------------------------------------ the ledger

fn ledger(program: &Program, coupons: Vec<HeldCoupon>) -> Ledger<MemoryStore> {
    let versions = Versions::new(vec![program.clone()]).unwrap();
    let mut ledger = Ledger::new(MemoryStore::new(), versions);
    ledger
        .open_account(AccountState {
            id: "C-1".to_string(),
            customer: Customer {
                id: "C-1".to_string(),
                ..Customer::default()
            },
            coupons,
            ..AccountState::default()
        })
        .unwrap();
    ledger
}

fn incoming(value: serde_json::Value) -> Incoming {
    from_json(&value.to_string()).unwrap()
}

/// A 1000 RUB purchase by C-1 presenting `code`.
fn buy(id: &str, time: &str, code: &str) -> Incoming {
    incoming(
        json!({"account": "C-1", "transaction": {"id": id, "time": time,
        "coupons": [code], "lines": [{"category": "otc", "unit_price": 1000}]}}),
    )
}

fn held(ledger: &mut Ledger<MemoryStore>, code: &str) -> HeldCoupon {
    let account = ledger.account("C-1").unwrap().unwrap();
    account
        .coupons
        .into_iter()
        .find(|h| h.code == code)
        .unwrap()
}

fn refused(decision: &Decision) -> Vec<String> {
    decision
        .refused_coupons
        .iter()
        .map(|r| r.reason.clone())
        .collect()
}

#[test]
fn the_ledger_counts_each_use_against_the_code_until_its_allowance_is_spent() {
    let code = HeldCoupon {
        max_uses: Some(2),
        valid_until: Some(at("2026-12-31T23:59:59+03:00")),
        ..migrated()
    };
    let mut ledger = ledger(club(), vec![code]);
    let first = ledger
        .apply(&buy("T-1", "2026-05-01T12:00:00+03:00", "A-MIGRATED"))
        .unwrap();
    assert_eq!(first.decision().discount_total(), Decimal::from(100));
    let after_one = held(&mut ledger, "A-MIGRATED");
    assert_eq!((after_one.used, after_one.uses_left()), (1, Some(1)));
    // A refund gives back neither the discount nor the use.
    let refund = incoming(
        json!({"account": "C-1", "refund_of": "T-1", "transaction": {
        "id": "R-1", "kind": "refund", "time": "2026-05-02T12:00:00+03:00",
        "lines": [{"original_line": 0, "unit_price": 1000}]}}),
    );
    ledger.apply(&refund).unwrap();
    assert_eq!(held(&mut ledger, "A-MIGRATED").used, 1);
    let second = ledger
        .apply(&buy("T-2", "2026-05-03T12:00:00+03:00", "A-MIGRATED"))
        .unwrap();
    assert_eq!(second.decision().discount_total(), Decimal::from(100));
    let spent = held(&mut ledger, "A-MIGRATED");
    assert_eq!((spent.used, spent.uses_left()), (2, Some(0)));
    // The coupon's own counter counted both uses too (5 per customer: not reached).
    let account = ledger.account("C-1").unwrap().unwrap();
    let counted: u32 = account.uses["AUTUMN"].values().sum();
    assert_eq!(counted, 2);
    let third = ledger
        .apply(&buy("T-3", "2026-05-04T12:00:00+03:00", "A-MIGRATED"))
        .unwrap();
    assert_eq!(third.decision().discount_total(), Decimal::ZERO);
    assert_eq!(
        refused(third.decision()),
        ["used up: 2 use(s) of this code, used 2"]
    );
    assert_eq!(held(&mut ledger, "A-MIGRATED").used, 2);
}

#[test]
fn an_issued_code_carries_its_coupons_window() {
    let mut ledger = ledger(club(), Vec::new());
    let signup = incoming(json!({"account": "C-1", "transaction": {
        "id": "U-1", "kind": "signup", "time": "2026-02-10T10:00:00+03:00"}}));
    ledger.apply(&signup).unwrap();
    let account = ledger.account("C-1").unwrap().unwrap();
    let code = &account.coupons[0];
    assert_eq!(code.coupon, "SPRING");
    // Issued in February for a March campaign: the code says from when, and until when.
    assert_eq!(code.valid_from, Some(at("2026-03-01T00:00:00+03:00")));
    assert_eq!(code.valid_until, Some(at("2026-03-31T23:59:59+03:00")));
    assert_eq!((code.max_uses, code.used), (None, 0));
    let code = code.code.clone();
    let early = ledger
        .apply(&buy("T-1", "2026-02-20T12:00:00+03:00", &code))
        .unwrap();
    assert_eq!(refused(early.decision()), ["not valid yet"]);
    let on_time = ledger
        .apply(&buy("T-2", "2026-03-20T12:00:00+03:00", &code))
        .unwrap();
    assert_eq!(on_time.decision().discount_total(), Decimal::from(50));
    assert_eq!(held(&mut ledger, &code).used, 1);
}

#[test]
fn a_welcome_code_records_its_thirty_days_and_its_use() {
    let mut ledger = ledger(common::pharmacy(), Vec::new());
    let signup = incoming(json!({"account": "C-1", "transaction": {
        "id": "U-1", "kind": "signup", "time": "2026-03-01T10:00:00+03:00"}}));
    ledger.apply(&signup).unwrap();
    let account = ledger.account("C-1").unwrap().unwrap();
    let welcome = account.coupons[0].clone();
    assert_eq!(welcome.valid_from, None);
    assert_eq!(welcome.valid_until, Some(at("2026-03-31T10:00:00+03:00")));
    let used = ledger
        .apply(&buy("T-1", "2026-03-05T10:00:00+03:00", &welcome.code))
        .unwrap();
    assert_eq!(used.decision().discount_total(), Decimal::from(100));
    assert_eq!(held(&mut ledger, &welcome.code).used, 1);
    // `uses 1 per customer`: the next use is refused by the coupon's limit.
    let again = ledger
        .apply(&buy("T-2", "2026-03-06T10:00:00+03:00", &welcome.code))
        .unwrap();
    assert_eq!(
        refused(again.decision()),
        ["used up: 1 use(s) per customer, used 1"]
    );
}

// ------------------------------------------------------------------ scenarios

#[test]
fn a_scenario_gives_a_code_its_own_record_and_carries_its_uses() {
    let file = puntos::scenario::parse(
        r#"
program = "club.pts"

[[account.coupons]]
code = "A-CRM1"
coupon = "AUTUMN"
issued_at = 2026-01-10T10:00:00+03:00
valid_from = 2026-02-01T00:00:00+03:00
valid_until = 2026-02-28T23:59:59+03:00
max_uses = 2

[[scenario]]
name = "a CRM code: not before its start, twice, then used up"
[[scenario.step]]
transaction = { time = 2026-01-20T12:00:00+03:00, coupons = ["A-CRM1"], lines = [{ unit_price = 1000 }] }
expect = { discount = {}, refused = { "A-CRM1" = "not valid yet: from 2026-02-01" } }
[[scenario.step]]
transaction = { time = 2026-02-02T12:00:00+03:00, coupons = ["A-CRM1"], lines = [{ unit_price = 1000 }] }
expect = { discount = { AUTUMN = 100 }, refused = {} }
[[scenario.step]]
transaction = { time = 2026-02-03T12:00:00+03:00, coupons = ["A-CRM1"], lines = [{ unit_price = 1000 }] }
expect = { discount = { AUTUMN = 100 }, refused = {} }
[[scenario.step]]
transaction = { time = 2026-02-04T12:00:00+03:00, coupons = ["A-CRM1"], lines = [{ unit_price = 1000 }] }
expect = { discount = {}, refused = { "A-CRM1" = "used up: 2 use(s) of this code, used 2" } }

[[scenario]]
name = "a CRM code expires on its own end"
[[scenario.step]]
transaction = { time = 2026-03-01T00:00:00+03:00, coupons = ["A-CRM1"], lines = [{ unit_price = 1000 }] }
expect = { discount = {}, refused = { "A-CRM1" = "expired on 2026-02-28T23:59:59+03:00" } }
"#,
    )
    .unwrap();
    let versions = Versions::new(vec![club().clone()]).unwrap();
    for scenario in &file.scenarios {
        let outcome = puntos::scenario::run(&versions, scenario);
        assert!(outcome.passed(), "{}: {:?}", outcome.name, outcome.failures);
    }
    // A misspelt instant is named with its path.
    let bad = puntos::scenario::parse(
        r#"
program = "club.pts"
[[scenario]]
name = "x"
account = { coupons = [{ code = "A-1", coupon = "AUTUMN", issued_at = 2026-01-10T10:00:00+03:00, valid_until = 2026-02-28T23:59:59 }] }
[[scenario.step]]
transaction = { time = 2026-02-02T12:00:00+03:00 }
"#,
    )
    .unwrap();
    let outcome = puntos::scenario::run(&versions, &bad.scenarios[0]);
    assert_eq!(outcome.failures.len(), 1, "{:?}", outcome.failures);
    assert!(
        outcome.failures[0].contains("account.coupons[0].valid_until")
            && outcome.failures[0].contains("no UTC offset"),
        "{}",
        outcome.failures[0]
    );
}
