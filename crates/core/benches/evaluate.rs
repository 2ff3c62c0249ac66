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

use common::{
    generated_program, GENERATED_CONTEXT, PHARMACY_CONTEXT, SMALL_CONTEXT, SMALL_PROGRAM,
};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use puntos::eval::Effect;
use puntos::{Context, Program};
use puntos_dsl::SourceFile;

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
    // A decision's per-line shares are made on their first read (a refund, the JSON): this is
    // the cost of a caller that reads them all.
    c.bench_function("evaluate/small_10_rules_5_lines_shares_read", |b| {
        b.iter(|| {
            let decision = small.evaluate(black_box(&small_ctx)).unwrap();
            let shares: usize = decision
                .effects
                .iter()
                .map(|e| match e {
                    Effect::Earn { lines, .. } => lines.len(),
                    _ => 0,
                })
                .sum();
            (decision, shares)
        })
    });
}

criterion_group!(benches, bench_evaluate);
criterion_main!(benches);
