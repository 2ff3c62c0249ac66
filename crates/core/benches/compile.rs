//! Parse + compile time: the pharmacy example, and a generated 100-rule program.
//!
//! Run: `cargo bench -p puntos --bench compile`.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use puntos_dsl::SourceFile;

/// A program with `rules` accrual rules of realistic shape: a line filter, a condition, and
/// every tenth rule reading the previous one.
fn generated_program(rules: usize) -> String {
    let mut text = String::from(
        "program \"Generated\" {\n  currency RUB\n  timezone \"Europe/Moscow\"\n}\n\n\
         segment seniors = customer.birth_date <= transaction.date - 60 years\n\n",
    );
    for i in 0..rules {
        if i % 10 == 9 {
            text.push_str(&format!(
                "rule r{i} {{\n  on purchase\n  when seniors and basket.total >= {} RUB\n  earn 50% of r{}\n}}\n\n",
                100 * i,
                i - 1
            ));
        } else {
            text.push_str(&format!(
                "rule r{i} \"Category {i}\" {{\n  on purchase\n  when transaction.weekday in [Sat, Sun] or spend(last 12 months) >= {} RUB\n  \
                 earn floor(item.amount / 10 RUB) * {} points for each item where item.category = \"cat{i}\" and item.quantity >= 1\n  \
                 pending 14 days\n  expire after 365 days\n}}\n\n",
                1000 * (i + 1),
                i % 5 + 1
            ));
        }
    }
    text
}

fn bench_compile(c: &mut Criterion) {
    let pharmacy = SourceFile::new(
        "pharmacy.pts",
        include_str!("../../../examples/pharmacy/program.pts"),
    );
    let generated = SourceFile::new("generated.pts", generated_program(100));
    for (name, source) in [("pharmacy", &pharmacy), ("generated_100_rules", &generated)] {
        let compiled = puntos::compile(source);
        assert!(
            compiled.program.is_some(),
            "{name} must compile: {:?}",
            compiled.diagnostics
        );
        c.bench_function(&format!("parse_and_compile/{name}"), |b| {
            b.iter(|| puntos::compile(black_box(source)))
        });
    }
}

criterion_group!(benches, bench_compile);
criterion_main!(benches);
