//! Programs the evaluator's integration tests share, compiled once per test binary.

#![allow(dead_code, clippy::panic)]

use puntos::{compile, Program};
use puntos_dsl::SourceFile;
use std::sync::OnceLock;

/// Compiles `text`, failing the test with the diagnostics if it has errors.
pub fn program(name: &str, text: &str) -> Program {
    let compiled = compile(&SourceFile::new(name, text));
    match compiled.program {
        Some(p) => p,
        None => panic!("{name} does not compile: {:#?}", compiled.diagnostics),
    }
}

/// The pharmacy example.
pub fn pharmacy() -> &'static Program {
    static P: OnceLock<Program> = OnceLock::new();
    P.get_or_init(|| {
        program(
            "pharmacy.pts",
            include_str!("../../../../examples/pharmacy/program.pts"),
        )
    })
}

/// The bank example.
pub fn bank() -> &'static Program {
    static P: OnceLock<Program> = OnceLock::new();
    P.get_or_init(|| {
        program(
            "bank.pts",
            include_str!("../../../../examples/bank/program.pts"),
        )
    })
}
