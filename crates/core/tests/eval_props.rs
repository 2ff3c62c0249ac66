//! Properties of the evaluator, over generated transactions.
//!
//! - Determinism: the same context gives the same decision (or the same error), byte for byte
//!   once serialized, with the trace on or off; the decision without a trace is the traced one
//!   with its trace dropped.
//! - Earning is never negative on a purchase.
//! - Refunds: a full refund reverses exactly what the purchase earned, per source; partial
//!   refunds in any split add up to exactly the same, and after each one the points taken back
//!   are at least the returned units' share, so the customer never keeps a point for returned
//!   goods; over sequences of purchases and refunds nothing is ever netted.
//! - Caps and budgets hold over sequences of purchases whose account state is carried forward
//!   from the decisions, as a ledger would.

// Test code may panic on a broken expectation, helpers included (clippy.toml only covers
// `#[test]` functions themselves).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, TimeZone};
use common::{pharmacy, program};
use proptest::prelude::*;
use proptest::sample::select;
use puntos::eval::{
    parse_duration, AccountView, Customer, Effect, HeldCoupon, HeldTier, Line, RefundOf,
    RefundedUnits, Source, Transaction,
};
use puntos::{Context, Decision, EvalOptions, Program};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::OnceLock;

// ------------------------------------------------------------------ programs

/// A rule capped per month and a promotion with a shared budget.
const CAPPED: &str = r#"
program "Capped" {
  currency RUB
  timezone "Europe/Moscow"
  points { precision 0 rounding down per rule }
}

rule base {
  on purchase
  earn floor(item.amount / 10 RUB) points for each item
  cap 100 points per month
}

promotion promo {
  valid 2026-01-01 .. 2027-12-31
  on purchase
  earn floor(basket.total / 20 RUB) points
  budget 500 points
  priority 10
}
"#;

fn capped() -> &'static Program {
    static P: OnceLock<Program> = OnceLock::new();
    P.get_or_init(|| program("capped.pts", CAPPED))
}

// ------------------------------------------------------------------ generators

const CATEGORIES: &[&str] = &[
    "vitamins",
    "otc",
    "cosmetics",
    "baby_care",
    "tobacco",
    "alcohol",
    "gift_cards",
    "food",
    "",
];

const BRANDS: &[&str] = &["La Roche-Posay", "Vichy", "Avene", "Nivea", ""];

const OFFSETS: &[i32] = &[3 * 3600, 0, -5 * 3600, 5 * 3600 + 1800];

fn line() -> impl Strategy<Value = Line> {
    (
        select(CATEGORIES),
        select(BRANDS),
        0i64..=600_000,
        1i64..=5,
        0u32..1000,
    )
        .prop_map(|(category, brand, kopecks, quantity, sku)| Line {
            sku: format!("SKU-{sku}").into(),
            name: "".into(),
            category: category.into(),
            brand: brand.into(),
            unit_price: Decimal::new(kopecks, 2),
            quantity: Decimal::from(quantity),
            amount: None,
            original_line: None,
        })
}

/// An instant in 2026 (at or after the pharmacy's `effective from`), with one of a few offsets.
fn instant() -> impl Strategy<Value = DateTime<FixedOffset>> {
    (1u64..365, 0u32..24, 0u32..60, select(OFFSETS))
        .prop_map(|(day, hour, minute, offset)| at(day, hour, minute, offset))
}

fn at(day: u64, hour: u32, minute: u32, offset: i32) -> DateTime<FixedOffset> {
    let date = NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .checked_add_days(Days::new(day))
        .unwrap();
    FixedOffset::east_opt(offset)
        .unwrap()
        .from_local_datetime(&date.and_hms_opt(hour, minute, 0).unwrap())
        .unwrap()
}

fn date_between(from: NaiveDate, days: u64) -> impl Strategy<Value = NaiveDate> {
    (0..days).prop_map(move |d| from.checked_add_days(Days::new(d)).unwrap())
}

fn customer() -> impl Strategy<Value = Customer> {
    (
        proptest::option::weighted(
            0.9,
            date_between(NaiveDate::from_ymd_opt(1930, 1, 1).unwrap(), 365 * 80),
        ),
        proptest::option::of(date_between(
            NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
            900,
        )),
    )
        .prop_map(|(birth_date, enrolled_at)| Customer {
            id: "C-1".to_string(),
            birth_date,
            enrolled_at,
            status: "active".to_string(),
            ..Customer::default()
        })
}

fn account() -> impl Strategy<Value = AccountView> {
    (
        proptest::option::of((
            select(&["Silver", "Gold", "Platinum"][..]),
            proptest::option::of(date_between(
                NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
                700,
            )),
        )),
        0i64..=12_000_000,
        0u32..5,
        0u32..3,
        0u32..2,
        0i64..=2500,
        0i64..=3_000_100,
        0i64..=5000,
    )
        .prop_map(
            |(tier, spend, birthday_uses, senior_uses, cold_uses, vitamins, vit_budget, points)| {
                let mut account = AccountView {
                    available: Decimal::from(points),
                    tier: tier.map(|(name, until)| HeldTier {
                        name: name.to_string(),
                        until,
                    }),
                    spend: vec![(parse_duration("12 months").unwrap(), Decimal::new(spend, 2))],
                    ..AccountView::default()
                };
                account.uses.insert("birthday_week".into(), birthday_uses);
                account.uses.insert("senior_weekend".into(), senior_uses);
                account.uses.insert("cold_season".into(), cold_uses);
                account
                    .earned
                    .insert("vitamin_month".into(), Decimal::from(vitamins));
                account
                    .budget_used
                    .insert("vitamin_month".into(), Decimal::from(vit_budget));
                account
            },
        )
}

/// A purchase context for the pharmacy program: any basket, any date in 2026, any customer.
fn purchase() -> impl Strategy<Value = Context> {
    (
        proptest::collection::vec(line(), 0..8),
        instant(),
        customer(),
        account(),
    )
        .prop_map(|(lines, time, customer, account)| Context {
            transaction: Transaction {
                id: "T-1".into(),
                time,
                lines,
                ..Transaction::default()
            },
            customer,
            account,
            ..Context::default()
        })
}

/// The code's own record: a window around the transaction (days from it, either bound may be
/// absent) and an allowance of uses with its count, each of which may refuse the code.
fn own_record() -> impl Strategy<Value = (Option<i64>, Option<i64>, Option<u32>, u32)> {
    (
        proptest::option::of(-30i64..30),
        proptest::option::of(-30i64..30),
        proptest::option::of(0u32..3),
        0u32..3,
    )
}

/// A purchase that may also present coupons and ask to pay with points (and so may be refused).
fn any_purchase() -> impl Strategy<Value = Context> {
    (
        purchase(),
        proptest::collection::vec(
            select(&["W-ABCD1234", "w-abcd1234", "W-NOTMINE", "SPRING", ""][..]),
            0..3,
        ),
        proptest::option::of(0i64..=3000),
        any::<bool>(),
        0u64..60,
        own_record(),
    )
        .prop_map(
            |(mut ctx, coupons, redeem, holds_code, issued_days_ago, own)| {
                ctx.transaction.coupons = coupons.into_iter().map(str::to_string).collect();
                ctx.transaction.redeem = redeem.map(Decimal::from);
                if holds_code {
                    let time = ctx.transaction.time;
                    let issued_at =
                        time - chrono::Duration::days(i64::try_from(issued_days_ago).unwrap());
                    let (from, until, max_uses, used) = own;
                    ctx.account.coupons.push(HeldCoupon {
                        code: "W-ABCD1234".to_string(),
                        coupon: "WELCOME10".to_string(),
                        issued_at,
                        valid_from: from.map(|days| time + chrono::Duration::days(days)),
                        valid_until: until.map(|days| time + chrono::Duration::days(days)),
                        max_uses,
                        used,
                    });
                }
                ctx
            },
        )
}

// ------------------------------------------------------------------ helpers

fn earned_by_source(decision: &Decision) -> BTreeMap<Source, Decimal> {
    let mut map = BTreeMap::new();
    for effect in &decision.effects {
        if let Effect::Earn { source, points, .. } = effect {
            *map.entry(source.clone()).or_insert(Decimal::ZERO) += *points;
        }
    }
    map
}

fn reversed_by_source(decision: &Decision) -> BTreeMap<Source, Decimal> {
    let mut map = BTreeMap::new();
    for effect in &decision.effects {
        if let Effect::ReverseEarn { source, points, .. } = effect {
            *map.entry(source.clone()).or_insert(Decimal::ZERO) += *points;
        }
    }
    map
}

/// The points each source carried on each line of the purchase.
fn line_shares(decision: &Decision) -> BTreeMap<Source, BTreeMap<usize, Decimal>> {
    let mut map: BTreeMap<Source, BTreeMap<usize, Decimal>> = BTreeMap::new();
    for effect in &decision.effects {
        if let Effect::Earn { source, lines, .. } = effect {
            let entry = map.entry(source.clone()).or_default();
            for share in lines {
                *entry.entry(share.line).or_insert(Decimal::ZERO) += share.amount;
            }
        }
    }
    map
}

/// A refund of `units` (original line, quantity) of `purchase`, decided as `original`.
fn refund(
    purchase: &Context,
    original: &Decision,
    units: &[(usize, Decimal)],
    before: &[RefundedUnits],
    n: u64,
) -> Context {
    let lines = units
        .iter()
        .map(|&(index, quantity)| {
            let bought = &purchase.transaction.lines[index];
            Line {
                quantity,
                amount: None,
                original_line: Some(index),
                ..bought.clone()
            }
        })
        .collect();
    Context {
        transaction: Transaction {
            id: format!("R-{n}").into(),
            kind: "refund".into(),
            time: purchase.transaction.time
                + chrono::Duration::hours(i64::try_from(n).unwrap() + 1),
            lines,
            refund: Some(RefundOf {
                original: original.clone(),
                refunded_before: before.to_vec(),
            }),
            ..Transaction::default()
        },
        customer: purchase.customer.clone(),
        account: purchase.account.clone(),
        ..Context::default()
    }
}

/// Splits every unit of the basket into refunds: units ordered by `keys`, a new refund after
/// each unit whose `cuts` flag is set. Each refund lists (original line, units) pairs; the same
/// original line may appear more than once in one refund.
fn refund_plan(lines: &[Line], keys: &[u32], cuts: &[bool]) -> Vec<Vec<(usize, Decimal)>> {
    let mut units: Vec<(u32, usize)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let count = u32::try_from(line.quantity.mantissa()).unwrap();
        for _ in 0..count {
            let k = keys.get(units.len()).copied().unwrap_or_default();
            units.push((k, i));
        }
    }
    units.sort_by_key(|&(k, i)| (k, i));
    let mut plan = Vec::new();
    let mut current: Vec<(usize, Decimal)> = Vec::new();
    for (n, (_, line)) in units.iter().enumerate() {
        // Consecutive units of the same line go together, or as separate entries.
        match current.last_mut() {
            Some((l, q)) if *l == *line && n % 2 == 0 => *q += Decimal::ONE,
            _ => current.push((*line, Decimal::ONE)),
        }
        if cuts.get(n).copied().unwrap_or(false) {
            plan.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        plan.push(current);
    }
    plan
}

/// Every bought quantity is 1..=5, so 60 times the returned share of any line is whole.
const LCM: i64 = 60;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ------------------------------------------------------------------ properties

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn evaluation_is_deterministic_with_and_without_trace(ctx in any_purchase()) {
        let p = pharmacy();
        let plain = p.evaluate(&ctx);
        let again = p.evaluate(&ctx);
        prop_assert_eq!(&plain, &again);
        let traced = p.evaluate_traced(&ctx);
        let traced_again = p.evaluate_with(&ctx, &EvalOptions { trace: true, ..EvalOptions::default() });
        prop_assert_eq!(&traced, &traced_again);
        let untraced_with = p.evaluate_with(&ctx, &EvalOptions::default());
        prop_assert_eq!(&plain, &untraced_with);
        match (plain, traced) {
            (Ok(plain), Ok(traced)) => {
                prop_assert!(plain.trace.is_none());
                prop_assert!(traced.trace.is_some());
                prop_assert_eq!(
                    serde_json::to_string(&plain).unwrap(),
                    serde_json::to_string(&again.unwrap()).unwrap()
                );
                prop_assert_eq!(
                    serde_json::to_string(&traced).unwrap(),
                    serde_json::to_string(&traced_again.unwrap()).unwrap()
                );
                let mut stripped = traced;
                stripped.trace = None;
                prop_assert_eq!(&plain, &stripped);
                prop_assert_eq!(
                    serde_json::to_string(&plain).unwrap(),
                    serde_json::to_string(&stripped).unwrap()
                );
                // The serialized decision reads back to itself.
                let back: Decision = serde_json::from_str(&serde_json::to_string(&plain).unwrap()).unwrap();
                prop_assert_eq!(&back, &plain);
            }
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            (a, b) => prop_assert!(false, "trace changed the outcome: {:?} vs {:?}", a, b),
        }
    }

    #[test]
    fn earned_points_are_never_negative_on_a_purchase(ctx in purchase()) {
        let decision = pharmacy().evaluate(&ctx).unwrap();
        for effect in &decision.effects {
            match effect {
                Effect::Earn { points, lines, .. } => {
                    prop_assert!(*points > Decimal::ZERO, "{:?}", effect);
                    let spread: Decimal = lines.iter().map(|s| s.amount).sum();
                    prop_assert_eq!(spread, *points, "line shares do not add up: {:?}", effect);
                    for share in lines {
                        prop_assert!(share.amount >= Decimal::ZERO, "{:?}", effect);
                        prop_assert!(share.line < ctx.transaction.lines.len(), "{:?}", effect);
                    }
                }
                Effect::ReverseEarn { .. } | Effect::ReturnRedeemed { .. } => {
                    prop_assert!(false, "a purchase reverses nothing: {:?}", effect);
                }
                _ => {}
            }
        }
        prop_assert!(decision.points_earned() >= Decimal::ZERO);
        prop_assert_eq!(decision.lines.len(), ctx.transaction.lines.len());
    }

    #[test]
    fn a_full_refund_reverses_exactly_what_the_purchase_earned(ctx in purchase()) {
        let p = pharmacy();
        let bought = p.evaluate(&ctx).unwrap();
        let all: Vec<(usize, Decimal)> = ctx
            .transaction
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| (i, l.quantity))
            .collect();
        let back = p.evaluate(&refund(&ctx, &bought, &all, &[], 0)).unwrap();
        prop_assert_eq!(reversed_by_source(&back), earned_by_source(&bought));
        prop_assert_eq!(back.points_earned(), -bought.points_earned());
        for effect in &back.effects {
            if let Effect::ReverseEarn { points, of_transaction, .. } = effect {
                prop_assert!(*points > Decimal::ZERO, "{:?}", effect);
                prop_assert_eq!(of_transaction, "T-1");
            }
            prop_assert!(!matches!(effect, Effect::Earn { .. }), "a refund earns nothing: {:?}", effect);
        }
    }

    #[test]
    fn partial_refunds_add_up_and_never_leave_points_for_returned_goods(
        ctx in purchase(),
        keys in proptest::collection::vec(any::<u32>(), 40),
        cuts in proptest::collection::vec(any::<bool>(), 40),
    ) {
        let p = pharmacy();
        let bought = p.evaluate(&ctx).unwrap();
        let earned = earned_by_source(&bought);
        let shares = line_shares(&bought);
        let lines = &ctx.transaction.lines;
        let plan = refund_plan(lines, &keys, &cuts);
        let mut before: Vec<RefundedUnits> = Vec::new();
        let mut taken: BTreeMap<Source, Decimal> = BTreeMap::new();
        for (n, units) in plan.iter().enumerate() {
            let r = refund(&ctx, &bought, units, &before, u64::try_from(n).unwrap());
            let decision = p.evaluate(&r).unwrap();
            for (source, points) in reversed_by_source(&decision) {
                prop_assert!(points > Decimal::ZERO);
                *taken.entry(source).or_insert(Decimal::ZERO) += points;
            }
            before.extend(units.iter().map(|&(line, quantity)| RefundedUnits { line, quantity }));
            // Returned so far, per original line.
            let mut returned: BTreeMap<usize, Decimal> = BTreeMap::new();
            for r in &before {
                *returned.entry(r.line).or_insert(Decimal::ZERO) += r.quantity;
            }
            for (source, per_line) in &shares {
                let got = taken.get(source).copied().unwrap_or_default();
                // 60 * the returned units' exact share of the points, in whole numbers.
                let mut owed_60 = Decimal::ZERO;
                for (line, share) in per_line {
                    let units = returned.get(line).copied().unwrap_or_default();
                    let bought_q = lines[*line].quantity;
                    owed_60 += *share * units * (Decimal::from(LCM) / bought_q);
                }
                prop_assert!(
                    got * Decimal::from(LCM) >= owed_60,
                    "{}: took back {} after refund {}, less than the returned share {}/60",
                    source, got, n, owed_60
                );
                prop_assert!(got <= earned.get(source).copied().unwrap_or_default(),
                    "{}: took back {} of {}", source, got, earned.get(source).copied().unwrap_or_default());
            }
            for source in taken.keys() {
                prop_assert!(earned.contains_key(source), "reversed {} which earned nothing", source);
            }
        }
        prop_assert_eq!(taken, earned);
    }

    #[test]
    fn refunds_give_back_exactly_the_points_paid_with(
        ctx in purchase(),
        ratio in 1i64..=100,
        keys in proptest::collection::vec(any::<u32>(), 40),
        cuts in proptest::collection::vec(any::<bool>(), 40),
    ) {
        let p = pharmacy();
        let mut ctx = ctx;
        ctx.account.available += Decimal::from(100);
        let plain = p.evaluate(&ctx).unwrap();
        // At most 30% of the basket, whole points, within the balance.
        let total: Decimal = plain.lines.iter().map(|l| l.amount).sum();
        let most = (total * Decimal::from(3) / Decimal::from(10))
            .floor()
            .min(ctx.account.available);
        let asked = (most * Decimal::from(ratio) / Decimal::ONE_HUNDRED).floor();
        prop_assume!(asked > Decimal::ZERO);
        ctx.transaction.redeem = Some(asked);
        let bought = p.evaluate(&ctx).unwrap();
        prop_assert_eq!(bought.points_redeemed(), asked);
        prop_assert_eq!(earned_by_source(&bought), earned_by_source(&plain));
        let paid_value: Decimal = bought
            .effects
            .iter()
            .map(|e| match e {
                Effect::Redeem { value, .. } => *value,
                _ => Decimal::ZERO,
            })
            .sum();
        let plan = refund_plan(&ctx.transaction.lines, &keys, &cuts);
        let mut before: Vec<RefundedUnits> = Vec::new();
        let mut given = Decimal::ZERO;
        let mut given_value = Decimal::ZERO;
        let mut taken = Decimal::ZERO;
        for (n, units) in plan.iter().enumerate() {
            let r = refund(&ctx, &bought, units, &before, u64::try_from(n).unwrap());
            let decision = p.evaluate(&r).unwrap();
            for effect in &decision.effects {
                if let Effect::ReturnRedeemed { points, value, of_transaction } = effect {
                    prop_assert!(*points > Decimal::ZERO);
                    prop_assert!(*value >= Decimal::ZERO);
                    prop_assert_eq!(of_transaction, "T-1");
                    given += *points;
                    given_value += *value;
                }
            }
            taken -= decision.points_earned();
            before.extend(units.iter().map(|&(line, quantity)| RefundedUnits { line, quantity }));
            prop_assert!(given <= asked, "gave back {} of {}", given, asked);
            prop_assert!(given_value <= paid_value, "gave back {} of {}", given_value, paid_value);
        }
        prop_assert_eq!(given, asked);
        prop_assert_eq!(taken, bought.points_earned());
    }

    #[test]
    fn buying_and_refunding_never_nets_a_point(
        rounds in proptest::collection::vec(
            (
                purchase(),
                proptest::collection::vec(any::<u32>(), 40),
                proptest::collection::vec(any::<bool>(), 40),
            ),
            1..5,
        ),
    ) {
        let p = pharmacy();
        let mut earned_total = Decimal::ZERO;
        let mut reversed_total = Decimal::ZERO;
        for (round, (ctx, keys, cuts)) in rounds.iter().enumerate() {
            let mut ctx = ctx.clone();
            ctx.transaction.id = format!("T-{round}").into();
            let bought = p.evaluate(&ctx).unwrap();
            let earned = bought.points_earned();
            earned_total += earned;
            let lines = &ctx.transaction.lines;
            let total_units: Decimal = lines.iter().map(|l| l.quantity).sum();
            let mut returned_units = Decimal::ZERO;
            let mut taken = Decimal::ZERO;
            let mut before: Vec<RefundedUnits> = Vec::new();
            let plan = refund_plan(lines, keys, cuts);
            for (n, units) in plan.iter().enumerate() {
                let r = refund(&ctx, &bought, units, &before, u64::try_from(n).unwrap());
                let decision = p.evaluate(&r).unwrap();
                let back = -decision.points_earned();
                prop_assert!(back >= Decimal::ZERO);
                taken += back;
                reversed_total += back;
                before.extend(units.iter().map(|&(line, quantity)| RefundedUnits { line, quantity }));
                returned_units += units.iter().map(|u| u.1).sum::<Decimal>();
                prop_assert!(taken <= earned, "took back {} of {}", taken, earned);
                // What is kept is at most what the kept units carried (60 times, in whole
                // numbers: every bought quantity divides 60).
                let mut kept_share_60 = Decimal::ZERO;
                for share in bought.effects.iter().flat_map(|e| match e {
                    Effect::Earn { lines, .. } => lines.as_slice(),
                    _ => &[],
                }) {
                    let bought_q = lines[share.line].quantity;
                    let returned: Decimal = before
                        .iter()
                        .filter(|r| r.line == share.line)
                        .map(|r| r.quantity)
                        .sum();
                    kept_share_60 +=
                        share.amount * (bought_q - returned) * (Decimal::from(LCM) / bought_q);
                }
                prop_assert!(
                    (earned - taken) * Decimal::from(LCM) <= kept_share_60,
                    "keeps {} points, more than the kept goods' share {}/60",
                    earned - taken,
                    kept_share_60
                );
                // Everything returned: nothing may be kept.
                if returned_units == total_units {
                    prop_assert_eq!(earned - taken, Decimal::ZERO);
                }
            }
            prop_assert_eq!(taken, earned, "round {}: earned {}, took back {}", round, earned, taken);
            prop_assert!(earned_total - reversed_total <= Decimal::ZERO);
        }
        prop_assert_eq!(earned_total - reversed_total, Decimal::ZERO);
    }
}

// ------------------------------------------------------------------ caps and budgets

/// One purchase of a sequence: days after the previous one, the local time, the basket.
fn step() -> impl Strategy<Value = (u64, u32, i32, Vec<Line>)> {
    (
        0u64..12,
        0u32..24,
        select(OFFSETS),
        proptest::collection::vec(line(), 0..4),
    )
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn caps_and_budgets_are_never_exceeded(
        start in 0u64..365,
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        let p = capped();
        let moscow = chrono_tz::Europe::Moscow;
        let mut day = start;
        let mut month: Option<(i32, u32)> = None;
        let mut earned_in_month = Decimal::ZERO;
        let mut budget_used = Decimal::ZERO;
        for (n, (gap, hour, offset, lines)) in steps.into_iter().enumerate() {
            day += gap;
            let time = at(day, hour, 0, offset);
            let local = time.with_timezone(&moscow);
            let this_month = (local.year(), local.month());
            if month != Some(this_month) {
                month = Some(this_month);
                earned_in_month = Decimal::ZERO;
            }
            let mut account = AccountView::default();
            account.earned.insert("base".into(), earned_in_month);
            account.budget_used.insert("promo".into(), budget_used);
            let ctx = Context {
                transaction: Transaction {
                    id: format!("T-{n}").into(),
                    time,
                    lines,
                    ..Transaction::default()
                },
                account,
                ..Context::default()
            };
            let decision = p.evaluate(&ctx).unwrap();
            let mut promo_earned = Decimal::ZERO;
            let mut consumed = Decimal::ZERO;
            let mut consumed_effects = 0;
            for effect in &decision.effects {
                match effect {
                    Effect::Earn { source: Source::Rule(name), points, .. } => {
                        prop_assert_eq!(&**name, "base");
                        earned_in_month += *points;
                    }
                    Effect::Earn { source: Source::Promotion(name), points, .. } => {
                        prop_assert_eq!(&**name, "promo");
                        promo_earned += *points;
                    }
                    Effect::BudgetConsumed { promotion, amount } => {
                        prop_assert_eq!(&**promotion, "promo");
                        consumed += *amount;
                        consumed_effects += 1;
                    }
                    _ => {}
                }
            }
            prop_assert!(consumed_effects <= 1);
            prop_assert_eq!(consumed, promo_earned, "the budget spent is what the promotion earned");
            budget_used += consumed;
            prop_assert!(earned_in_month <= Decimal::from(100), "{:?}: {} earned this month", this_month, earned_in_month);
            prop_assert!(budget_used <= Decimal::from(500), "budget used {}", budget_used);
        }
    }
}

/// The cap and the budget are reached exactly, not merely respected, on large baskets.
#[test]
fn caps_and_budgets_are_filled_to_the_limit() {
    let p = capped();
    let mut earned = Decimal::ZERO;
    let mut budget = Decimal::ZERO;
    for n in 0..5 {
        let mut account = AccountView::default();
        account.earned.insert("base".into(), earned);
        account.budget_used.insert("promo".into(), budget);
        let ctx = Context {
            transaction: Transaction {
                time: at(100, 12, 0, 3 * 3600),
                lines: vec![Line {
                    sku: "A".into(),
                    name: "".into(),
                    category: "".into(),
                    brand: "".into(),
                    unit_price: Decimal::new(299_999, 2),
                    quantity: Decimal::ONE,
                    amount: None,
                    original_line: None,
                }],
                ..Transaction::default()
            },
            account,
            ..Context::default()
        };
        let decision = p.evaluate(&ctx).unwrap();
        let by_source = earned_by_source(&decision);
        let base = by_source
            .get(&Source::Rule("base".into()))
            .copied()
            .unwrap_or_default();
        let promo = by_source
            .get(&Source::Promotion("promo".into()))
            .copied()
            .unwrap_or_default();
        earned += base;
        budget += promo;
        if n == 0 {
            assert_eq!(base, Decimal::from(100));
        } else {
            assert_eq!(base, Decimal::ZERO);
        }
        assert!(budget <= Decimal::from(500));
    }
    assert_eq!(budget, Decimal::from(500));
}
