//! The evaluation semantics the README states, one small program each: stacking, rounding
//! scopes and modes, caps, budgets, offers, unknown values, versions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use puntos::eval::{Context, Decision, Effect, EvalError};
use puntos::{Program, Versions};
use puntos_dsl::SourceFile;
use rust_decimal::Decimal;
use serde_json::json;

const HEADER: &str = r#"program "T" { currency RUB  timezone "Europe/Moscow" POINTS }"#;

fn program(points: &str, body: &str) -> Program {
    let text = format!("{}\n{body}", HEADER.replace("POINTS", points));
    let compiled = puntos::compile(&SourceFile::new("t.pts", text));
    let errors: Vec<_> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.clone())
        .collect();
    compiled
        .program
        .unwrap_or_else(|| unreachable!("{errors:?}"))
}

fn context(value: serde_json::Value) -> Context {
    Context::from_json(&value.to_string()).unwrap()
}

fn purchase(lines: serde_json::Value) -> Context {
    context(json!({"transaction": {"time": "2026-03-14T12:00:00+03:00", "lines": lines}}))
}

fn earned(d: &Decision, name: &str) -> Decimal {
    d.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Earn { source, points, .. } if source.name() == name => Some(*points),
            _ => None,
        })
        .sum()
}

/// A program that only takes points as payment: 2 points a ruble, at most 30% of the basket,
/// from a balance of 100, in steps of 10.
fn redeeming() -> Program {
    program(
        "",
        r#"
redemption {
  rate 2 points = 1 RUB
  max 30% of basket.total
  min balance 100 points
  step 10 points
}
"#,
    )
}

/// A 999.90 RUB basket on 2026-03-14 asking to pay with `redeem` points of `available`.
fn paying(available: u32, redeem: Option<Decimal>) -> Context {
    context(json!({
        "transaction": {"time": "2026-03-14T12:00:00+03:00", "redeem": redeem,
            "lines": [{"unit_price": "999.90"}]},
        "account": {"available": available}
    }))
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[test]
fn an_exclusive_promotion_applied_first_blocks_the_rest_and_is_blocked_when_later() {
    let p = program(
        "",
        r#"
promotion big { on purchase earn 100 points priority 10 stacking exclusive }
promotion small { on purchase earn 10 points priority 5 }
promotion late_exclusive { on purchase earn 1000 points priority 1 stacking exclusive }
"#,
    );
    let decision = p
        .evaluate_traced(&purchase(json!([{"unit_price": 100}])))
        .unwrap();
    assert_eq!(earned(&decision, "big"), d("100"));
    assert_eq!(earned(&decision, "small"), d("0"));
    assert_eq!(earned(&decision, "late_exclusive"), d("0"));
    let reason = decision
        .trace
        .unwrap()
        .into_iter()
        .find(|s| s.subject.name() == "small")
        .and_then(|s| s.reason)
        .unwrap();
    assert!(
        reason.contains("does not stack with promotion big"),
        "{reason}"
    );
}

#[test]
fn with_names_needs_both_sides_to_allow_each_other() {
    let p = program(
        "",
        r#"
promotion a { on purchase earn 1 points priority 3 stacking with [b] }
promotion b { on purchase earn 2 points priority 2 stacking with [a] }
promotion c { on purchase earn 4 points priority 1 }
"#,
    );
    let decision = p.evaluate(&purchase(json!([{"unit_price": 100}]))).unwrap();
    assert_eq!(earned(&decision, "a"), d("1"));
    assert_eq!(earned(&decision, "b"), d("2"));
    // c stacks with all, but a and b do not name it.
    assert_eq!(earned(&decision, "c"), d("0"));
}

#[test]
fn best_of_keeps_the_largest_and_breaks_ties_by_priority() {
    let p = program(
        "",
        r#"
promotion low { on purchase earn 5 points priority 1 stacking best of g }
promotion high { on purchase earn 5 points priority 9 stacking best of g }
promotion big { on purchase when basket.total >= 500 RUB earn 7 points priority 0 stacking best of g }
"#,
    );
    let tie = p.evaluate(&purchase(json!([{"unit_price": 100}]))).unwrap();
    assert_eq!(earned(&tie, "high"), d("5"));
    assert_eq!(tie.points_earned(), d("5"));
    let larger = p.evaluate(&purchase(json!([{"unit_price": 600}]))).unwrap();
    assert_eq!(earned(&larger, "big"), d("7"));
    assert_eq!(larger.points_earned(), d("7"));
}

#[test]
fn transaction_rounding_rounds_the_total_once_and_shares_it_by_largest_remainder() {
    // Three rules of 0.4 points each: 1.2 in total, rounded down to 1 point, which goes to the
    // first rule (equal remainders: the earlier one).
    let body = r#"
rule a { on purchase earn 0.4 points }
rule b { on purchase earn 0.4 points }
rule c { on purchase earn 0.4 points }
"#;
    let joint = program("points { precision 0 rounding down per transaction }", body);
    let decision = joint
        .evaluate(&purchase(json!([{"unit_price": 1}])))
        .unwrap();
    assert_eq!(decision.points_earned(), d("1"));
    assert_eq!(earned(&decision, "a"), d("1"));
    let per_rule = program("points { precision 0 rounding down per rule }", body);
    let decision = per_rule
        .evaluate(&purchase(json!([{"unit_price": 1}])))
        .unwrap();
    assert_eq!(decision.points_earned(), d("0"));
}

#[test]
fn item_rounding_rounds_each_line_and_modes_round_as_named() {
    let body = r#"rule r { on purchase earn item.amount / 10 RUB * 1 points for each item }"#;
    let lines = json!([{"unit_price": 25}, {"unit_price": 35}]);
    // 2.5 and 3.5 points.
    let cases = [
        ("points { rounding down per item }", "5"),
        ("points { rounding up per item }", "7"),
        ("points { rounding half up per item }", "7"),
        ("points { rounding half even per item }", "6"),
        ("points { rounding down per rule }", "6"),
    ];
    for (settings, expected) in cases {
        let p = program(settings, body);
        let decision = p.evaluate(&purchase(lines.clone())).unwrap();
        assert_eq!(decision.points_earned(), d(expected), "{settings}");
    }
}

#[test]
fn precision_keeps_decimal_places() {
    let p = program(
        "points { precision 2 rounding half up per rule }",
        r#"rule r { on purchase earn basket.total / 3 RUB * 1 points }"#,
    );
    let decision = p.evaluate(&purchase(json!([{"unit_price": 10}]))).unwrap();
    assert_eq!(decision.points_earned().to_string(), "3.33");
}

#[test]
fn a_cap_per_transaction_ignores_history_and_a_monthly_cap_counts_it() {
    let p = program(
        "",
        r#"
rule t { on purchase earn 50 points cap 30 points per transaction }
rule m { on purchase earn 50 points cap 80 points per month }
"#,
    );
    let ctx = context(json!({
        "transaction": {"time": "2026-03-14T12:00:00+03:00", "lines": [{"unit_price": 1}]},
        "account": {"earned": {"t": 1000, "m": 60}}
    }));
    let decision = p.evaluate(&ctx).unwrap();
    assert_eq!(earned(&decision, "t"), d("30"));
    assert_eq!(earned(&decision, "m"), d("20"));
}

#[test]
fn a_money_budget_values_points_at_the_redemption_rate() {
    let p = program(
        "",
        r#"
promotion p { on purchase earn 500 points budget 3 RUB }
redemption { rate 100 points = 1 RUB }
"#,
    );
    let ctx = context(json!({
        "transaction": {"time": "2026-03-14T12:00:00+03:00", "lines": [{"unit_price": 1}]},
        "account": {"budget_used": {"p": "1.50"}}
    }));
    let decision = p.evaluate(&ctx).unwrap();
    // 1.50 RUB left buys 150 points.
    assert_eq!(earned(&decision, "p"), d("150"));
    assert!(decision.effects.contains(&Effect::BudgetConsumed {
        promotion: "p".into(),
        amount: d("1.50"),
    }));
}

#[test]
fn offers_reward_the_cheapest_units_of_each_group_and_repeat() {
    let p = program(
        "",
        r#"offer o { buy 2 get 1 free where item.category = "x" }"#,
    );
    // Units by price: 100, 100, 80 | 60, 50, 40 | 30 -> free: 80 and 40.
    let decision = p
        .evaluate(&purchase(json!([
            {"sku": "a", "category": "x", "unit_price": 100, "quantity": 2},
            {"sku": "b", "category": "x", "unit_price": 40},
            {"sku": "c", "category": "x", "unit_price": 80},
            {"sku": "d", "category": "x", "unit_price": 60},
            {"sku": "e", "category": "x", "unit_price": 50},
            {"sku": "f", "category": "x", "unit_price": 30},
            {"sku": "g", "category": "y", "unit_price": 1}
        ])))
        .unwrap();
    assert_eq!(decision.discount_total(), d("120.00"));
    assert_eq!(decision.lines[1].amount, d("0.00"));
    assert_eq!(decision.lines[2].amount, d("0.00"));
}

#[test]
fn cheapest_of_once_rewards_one_group_at_a_percentage() {
    let p = program("", r#"offer o { cheapest of 3 at 50% off once }"#);
    let decision = p
        .evaluate(&purchase(json!([
            {"unit_price": "99.99", "quantity": 6}
        ])))
        .unwrap();
    assert_eq!(decision.discount_total(), d("49.99"));
}

#[test]
fn unknown_values_make_conditions_fail_but_or_can_still_hold() {
    let p = program(
        "",
        r#"
rule old { on purchase when customer.birth_date < 1970-01-01 earn 1 points }
rule young { on purchase when not (customer.birth_date < 1970-01-01) earn 1 points }
rule either { on purchase when customer.birth_date < 1970-01-01 or basket.total > 0 RUB earn 1 points }
"#,
    );
    let decision = p.evaluate(&purchase(json!([{"unit_price": 5}]))).unwrap();
    assert_eq!(earned(&decision, "old"), d("0"));
    assert_eq!(earned(&decision, "young"), d("0"));
    assert_eq!(earned(&decision, "either"), d("1"));
}

#[test]
fn versions_decide_each_transaction_with_the_version_in_effect() {
    let v1 = program(
        "effective from 2026-01-01",
        r#"rule base { on purchase earn floor(basket.total / 10 RUB) points }"#,
    );
    let v2 = program(
        "effective from 2026-07-01",
        r#"rule base { on purchase earn floor(basket.total / 20 RUB) points }"#,
    );
    let versions = Versions::new(vec![v2.clone(), v1]).unwrap();
    let at = |time: &str| {
        context(json!({"transaction": {"time": time, "lines": [{"unit_price": 100}]}}))
    };
    let options = puntos::EvalOptions::default();
    // 30 June 23:30 in Moscow is still the first version, whatever the offset says.
    let june = versions
        .evaluate_with(&at("2026-06-30T20:30:00Z"), &options)
        .unwrap();
    assert_eq!(june.points_earned(), d("10"));
    let july = versions
        .evaluate_with(&at("2026-06-30T21:30:00Z"), &options)
        .unwrap();
    assert_eq!(july.points_earned(), d("5"));
    let before = versions.evaluate_with(&at("2025-12-31T12:00:00+03:00"), &options);
    assert_eq!(before.unwrap_err().field(), Some("transaction.time"));
    // A version on its own refuses a transaction before it takes effect.
    let early = v2.evaluate(&at("2026-03-01T12:00:00+03:00")).unwrap_err();
    assert!(matches!(early, EvalError::Input { ref field, .. } if field == "transaction.time"));
}

#[test]
fn a_transaction_dated_after_the_decision_is_refused() {
    let p = program("", r#"rule r { on purchase earn 1 points }"#);
    let ctx = context(json!({
        "transaction": {"time": "2026-03-14T12:00:00+03:00"},
        "as_of": "2026-03-14T08:00:00Z"
    }));
    let err = p.evaluate(&ctx).unwrap_err();
    assert_eq!(err.field(), Some("transaction.time"));
    assert!(err.to_string().contains("clock"), "{err}");
}

#[test]
fn a_rule_reads_what_the_rule_it_names_finally_earned() {
    let p = program(
        "points { rounding down per rule }",
        r#"
rule base { on purchase earn floor(basket.total / 10 RUB) points cap 10 points per transaction }
rule boost { on purchase earn 50% of base }
"#,
    );
    let decision = p
        .evaluate(&purchase(json!([{"unit_price": 1000}])))
        .unwrap();
    assert_eq!(earned(&decision, "base"), d("10"));
    assert_eq!(earned(&decision, "boost"), d("5"));
}

#[test]
fn a_trace_costs_nothing_in_the_decision() {
    let p = program("", r#"rule r { on purchase earn 3 points }"#);
    let ctx = purchase(json!([{"unit_price": 1}]));
    let plain = p.evaluate(&ctx).unwrap();
    let mut traced = p.evaluate_traced(&ctx).unwrap();
    assert!(traced.trace.is_some());
    traced.trace = None;
    assert_eq!(plain, traced);
}

#[test]
fn tiers_below_the_one_kept_are_not_decided_and_the_trace_says_so() {
    // Silver's condition divides by the visits, which are zero: it cannot be decided.
    let p = program(
        "",
        r#"
tier Silver rank 1 {
  qualify when spend(last 12 months) / visits(last 12 months) >= 100 RUB
  keep 12 months
}
tier Gold rank 2 {
  qualify when spend(last 12 months) >= 30000 RUB
  keep 12 months
}
rule gold { on purchase when customer.tier = Gold earn 7 points }
"#,
    );
    let account = |tier: serde_json::Value| {
        context(json!({
            "transaction": {"time": "2026-03-14T12:00:00+03:00", "lines": [{"unit_price": 10}]},
            "account": {"spend": {"12 months": 500}, "visits": {"12 months": 0}, "tier": tier}
        }))
    };
    // Gold is kept: Silver cannot change the tier, so it is not evaluated, traced or not.
    let gold = account(json!({"name": "Gold", "until": "2026-12-31"}));
    let plain = p.evaluate(&gold).unwrap();
    assert_eq!(earned(&plain, "gold"), d("7"));
    let mut traced = p.evaluate_traced(&gold).unwrap();
    let steps = traced.trace.take().unwrap();
    assert_eq!(plain, traced);
    let silver = steps.iter().find(|s| s.subject.name() == "Silver").unwrap();
    assert!(!silver.applied);
    let reason = silver.reason.as_deref().unwrap();
    assert!(
        reason.starts_with("its condition could not be decided: tier Silver at 4:16: "),
        "{reason}"
    );
    assert!(reason.ends_with("division by zero"), "{reason}");
    let held = steps.iter().find(|s| s.subject.name() == "Gold").unwrap();
    assert!(held.applied);
    assert_eq!(held.reason.as_deref(), Some("held: kept after qualifying"));
    // Without a tier kept, Silver decides the tier: the error is the decision, traced or not.
    let none = account(serde_json::Value::Null);
    for result in [p.evaluate(&none), p.evaluate_traced(&none)] {
        match result {
            Err(EvalError::Computation {
                declaration,
                message,
                ..
            }) => {
                assert_eq!(declaration, "tier Silver");
                assert_eq!(message, "division by zero");
            }
            other => panic!("expected a computation error, got {other:?}"),
        }
    }
}

#[test]
fn attributes_of_the_profile_are_read_by_name_and_unknown_when_absent() {
    let p = program(
        "",
        r#"
segment staff = attribute("card") = "employee"
rule staff_bonus { on purchase when staff earn 5 points }
rule not_staff { on purchase when not staff earn 1 points }
"#,
    );
    assert_eq!(
        p.requirements.attributes.iter().collect::<Vec<_>>(),
        ["card"]
    );
    let with = |attributes: serde_json::Value| {
        context(json!({
            "transaction": {"time": "2026-03-14T12:00:00+03:00"},
            "customer": {"attributes": attributes}
        }))
    };
    let staff = p.evaluate(&with(json!({"card": "employee"}))).unwrap();
    assert_eq!(earned(&staff, "staff_bonus"), d("5"));
    let other = p.evaluate(&with(json!({"card": "classic"}))).unwrap();
    assert_eq!(earned(&other, "not_staff"), d("1"));
    // Not given: the condition is unknown, so the customer is not in the segment.
    let unknown = p.evaluate(&with(json!({}))).unwrap();
    assert_eq!(earned(&unknown, "staff_bonus"), d("0"));
    assert_eq!(earned(&unknown, "not_staff"), d("1"));
}

#[test]
fn an_attribute_name_must_be_written_in_quotes() {
    let text = format!(
        "{}\nrule r {{ on purchase when attribute(customer.status) = \"x\" earn 1 points }}",
        HEADER.replace("POINTS", "")
    );
    let compiled = puntos::compile(&SourceFile::new("t.pts", text));
    let error = compiled.diagnostics.iter().find(|d| d.is_error()).unwrap();
    assert!(error.message.contains("in quotes"), "{}", error.message);
}

#[test]
fn redeemable_is_the_most_a_request_may_ask_without_being_refused() {
    let p = redeeming();
    let ctx = paying;
    // 30% of 999.90 RUB is 299.97 RUB, 599.94 points at 2 a ruble: 590 in steps of 10.
    assert_eq!(p.redeemable(&ctx(5000, None)).unwrap(), d("590"));
    let paid = p.evaluate(&ctx(5000, Some(d("590")))).unwrap();
    assert_eq!(paid.points_redeemed(), d("590"));
    assert!(p.evaluate(&ctx(5000, Some(d("600")))).is_err());
    // The balance bounds it, in whole steps; below the minimum balance nothing can be paid.
    assert_eq!(p.redeemable(&ctx(255, None)).unwrap(), d("250"));
    assert_eq!(p.redeemable(&ctx(99, None)).unwrap(), d("0"));
    // No redemption block: nothing.
    let none = program("", "");
    assert_eq!(none.redeemable(&ctx(5000, None)).unwrap(), d("0"));
}

#[test]
fn a_redemption_is_explained_in_the_trace_and_the_same_without_it() {
    let p = redeeming();
    let ctx = |redeem: &str| paying(5000, Some(d(redeem)));
    let plain = p.evaluate(&ctx("500")).unwrap();
    let mut traced = p.evaluate_traced(&ctx("500")).unwrap();
    let steps = traced.trace.take().unwrap();
    assert_eq!(plain, traced);
    let step = steps
        .iter()
        .find(|s| s.subject.kind() == "redemption")
        .unwrap();
    let facts: Vec<(&str, &str)> = step
        .facts
        .iter()
        .map(|f| (f.what.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(
        facts,
        [
            ("asked", "500 points"),
            ("worth", "250.00 RUB"),
            ("max 30% of basket.total", "299.97 RUB")
        ]
    );
    // Above the maximum: refused, naming the maximum, traced or not.
    let refusal = p.evaluate(&ctx("600")).unwrap_err().to_string();
    assert!(
        refusal.contains("30% of basket.total = 299.97 RUB"),
        "{refusal}"
    );
    assert_eq!(
        p.evaluate_traced(&ctx("600")).unwrap_err().to_string(),
        refusal
    );
}
