//! Parse + compile time: the pharmacy example, and a generated 100-rule program.
//!
//! Run: `cargo bench -p puntos --bench compile`.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

mod common;

use common::generated_program;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use puntos_dsl::SourceFile;

fn bench_compile(c: &mut Criterion) {
    let pharmacy = SourceFile::new(
        "pharmacy.pts",
        include_str!("../../../examples/pharmacy/program.pts"),
    );
    let generated = SourceFile::new("generated.pts", generated_program(100, false));
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
