//! Evaluation time: one purchase decided by the pharmacy example (with and without a trace), by
//! a generated 100-rule program and by a small 10-rule program. Programs and contexts are built
//! once, outside the timed loop.
//!
//! Run: `cargo bench -p puntos --bench evaluate`.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]
// Setup failures here are bugs in the benchmark itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::generated_program;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use puntos::{Context, Program};
use puntos_dsl::SourceFile;

/// A Gold customer (held until September, 35,000 RUB spent over the year, 65 years old) buying
/// five lines on Saturday 2026-03-14: inside the pharmacy's vitamin month and senior weekends;
/// the tobacco line never earns.
const PHARMACY_CONTEXT: &str = r#"{
  "transaction": {
    "id": "T-1001",
    "time": "2026-03-14T12:30:00+03:00",
    "channel": "store",
    "store": {"id": "S-0042", "region": "Moscow", "city": "Moscow", "format": "pharmacy"},
    "lines": [
      {"sku": "VIT-C-500", "category": "vitamins", "brand": "Solgar", "unit_price": 899.00, "quantity": 2},
      {"sku": "OTC-IBU-200", "category": "otc", "brand": "Nurofen", "unit_price": 312.50, "quantity": 1},
      {"sku": "COS-LRP-40", "category": "cosmetics", "brand": "La Roche-Posay", "unit_price": 1649.90, "quantity": 1},
      {"sku": "RX-ATOR-20", "category": "rx", "brand": "Atoris", "unit_price": 545.00, "quantity": 3},
      {"sku": "TOB-PM-20", "category": "tobacco", "brand": "Parliament", "unit_price": 289.00, "quantity": 1}
    ]
  },
  "customer": {"id": "C-77", "birth_date": "1960-05-20", "enrolled_at": "2019-02-01", "status": "active"},
  "account": {
    "available": 1240,
    "pending": 310,
    "tier": {"name": "Gold", "until": "2026-09-30"},
    "spend": {"12 months": 35000},
    "last_purchase": "2026-03-02",
    "uses": {"senior_weekend": 0},
    "budget_used": {"senior_weekend": 1250000, "vitamin_month": 48000}
  }
}"#;

/// Five lines in categories the generated program's rules `r0` .. `r4` reward.
const GENERATED_CONTEXT: &str = r#"{
  "transaction": {
    "id": "G-1",
    "time": "2026-03-14T12:30:00+03:00",
    "lines": [
      {"sku": "A", "category": "cat0", "unit_price": 1200.00, "quantity": 1},
      {"sku": "B", "category": "cat1", "unit_price": 349.90, "quantity": 2},
      {"sku": "C", "category": "cat2", "unit_price": 89.99, "quantity": 4},
      {"sku": "D", "category": "cat3", "unit_price": 2500.00, "quantity": 1},
      {"sku": "E", "category": "cat4", "unit_price": 15.50, "quantity": 10}
    ]
  },
  "customer": {"birth_date": "1958-11-02"},
  "account": {"spend": {"12 months": 4200}}
}"#;

/// A small realistic program: ten rules and promotions, two tiers, one segment.
const SMALL_PROGRAM: &str = r#"
program "Corner Store" {
  currency RUB
  timezone "Europe/Moscow"
  points { precision 0 rounding down per rule }
}

segment seniors = customer.age >= 60

tier Silver rank 1 {
  qualify when spend(last 12 months) >= 10000 RUB
  keep 12 months
}

tier Gold rank 2 {
  qualify when spend(last 12 months) >= 30000 RUB
  keep 12 months
}

rule base {
  on purchase
  earn floor(item.amount / 10 RUB) points for each item where item.category not in ["tobacco", "alcohol"]
}

rule silver_boost {
  on purchase
  when customer.tier = Silver
  earn 20% of base
}

rule gold_boost {
  on purchase
  when customer.tier >= Gold
  earn 50% of base
}

rule big_basket {
  on purchase
  when basket.total >= 5000 RUB
  earn 100 points
}

rule fresh {
  on purchase
  earn floor(sum(item.amount where item.category = "fresh") / 100 RUB) * 5 points
}

promotion senior_weekend {
  valid 2026-01-01 .. 2026-12-31
  audience seniors
  on purchase
  when transaction.weekday in [Sat, Sun] and basket.total >= 300 RUB
  earn 100% of base
  priority 10
}

promotion vitamin_month {
  valid 2026-03-01 .. 2026-03-31
  on purchase
  earn floor(item.amount / 10 RUB) * 2 points for each item where item.category = "vitamins"
  priority 20
}

promotion happy_hours {
  on purchase
  when transaction.hour between 8 and 10
  earn 50 points
  priority 30
}

promotion app_bonus {
  on purchase
  when transaction.channel = "app"
  earn 10% of base
  priority 40
}

promotion cold_season {
  valid 2026-10-01 .. 2026-12-31
  on purchase
  when sum(item.amount where item.category = "otc") >= 1500 RUB
  earn 300 points
  priority 50
}
"#;

/// A Gold customer's five-line basket on a Saturday in March.
const SMALL_CONTEXT: &str = r#"{
  "transaction": {
    "id": "S-1",
    "time": "2026-03-14T12:30:00+03:00",
    "channel": "store",
    "lines": [
      {"sku": "V1", "category": "vitamins", "unit_price": 899.00, "quantity": 2},
      {"sku": "F1", "category": "fresh", "unit_price": 129.90, "quantity": 3},
      {"sku": "O1", "category": "otc", "unit_price": 312.50, "quantity": 1},
      {"sku": "H1", "category": "household", "unit_price": 1649.90, "quantity": 1},
      {"sku": "T1", "category": "tobacco", "unit_price": 289.00, "quantity": 1}
    ]
  },
  "customer": {"birth_date": "1960-05-20"},
  "account": {"tier": {"name": "Gold", "until": "2026-09-30"}, "spend": {"12 months": 35000}}
}"#;

fn compiled(name: &str, text: &str) -> Program {
    let compiled = puntos::compile(&SourceFile::new(name, text));
    assert!(
        compiled.program.is_some(),
        "{name} must compile: {:?}",
        compiled.diagnostics
    );
    compiled.program.unwrap()
}

fn context(json: &str) -> Context {
    Context::from_json(json).expect("the context is valid")
}

fn bench_evaluate(c: &mut Criterion) {
    let pharmacy = compiled(
        "pharmacy.pts",
        include_str!("../../../examples/pharmacy/program.pts"),
    );
    let generated = compiled("generated.pts", &generated_program(100, true));
    let small = compiled("small.pts", SMALL_PROGRAM);
    let pharmacy_ctx = context(PHARMACY_CONTEXT);
    let generated_ctx = context(GENERATED_CONTEXT);
    let small_ctx = context(SMALL_CONTEXT);

    // Every benchmark decides a basket that earns something, and the trace is really recorded.
    for (name, program, ctx) in [
        ("pharmacy", &pharmacy, &pharmacy_ctx),
        ("generated_100_rules", &generated, &generated_ctx),
        ("small_10_rules", &small, &small_ctx),
    ] {
        let decision = program.evaluate(ctx).expect("the context is decided");
        assert!(
            decision.points_earned() > rust_decimal::Decimal::ZERO,
            "{name} earns nothing"
        );
        let traced = program
            .evaluate_traced(ctx)
            .expect("the context is decided");
        assert_eq!(traced.points_earned(), decision.points_earned(), "{name}");
        assert!(traced.trace.is_some_and(|t| !t.is_empty()), "{name}");
    }

    c.bench_function("evaluate/pharmacy_5_lines", |b| {
        b.iter(|| pharmacy.evaluate(black_box(&pharmacy_ctx)))
    });
    c.bench_function("evaluate/pharmacy_5_lines_traced", |b| {
        b.iter(|| pharmacy.evaluate_traced(black_box(&pharmacy_ctx)))
    });
    c.bench_function("evaluate/generated_100_rules_5_lines", |b| {
        b.iter(|| generated.evaluate(black_box(&generated_ctx)))
    });
    c.bench_function("evaluate/small_10_rules_5_lines", |b| {
        b.iter(|| small.evaluate(black_box(&small_ctx)))
    });
}

criterion_group!(benches, bench_evaluate);
criterion_main!(benches);
