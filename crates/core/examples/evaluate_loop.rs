//! Decides one benchmark context many times: a driver for instruction counts under callgrind,
//! which are deterministic where timings on a shared machine are not (BENCHMARKS.md).
//!
//! ```sh
//! cargo build --release -p puntos --example evaluate_loop
//! valgrind --tool=callgrind target/release/examples/evaluate_loop small 2000
//! valgrind --tool=callgrind target/release/examples/evaluate_loop small 4000
//! ```
//!
//! The difference between the two totals, divided by 2,000, is the count of one decision
//! (compiling the program and reading the context cancel out). `small` is the 10-declaration
//! program of the `evaluate` benchmark, `pharmacy` the example program. A third argument
//! `json` makes each round a service's whole call: the context read from its JSON text and the
//! decision written as JSON (the native counterpart of a WebAssembly call with its boundary).

// A measuring tool: a failure to set up is a bug in it, reported by a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../benches/common/mod.rs"]
mod common;

use puntos::Context;
use puntos_dsl::SourceFile;

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "small".to_string());
    let times: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(2000);
    let (text, context) = match which.as_str() {
        "pharmacy" => (
            include_str!("../../../examples/pharmacy/program.pts"),
            common::PHARMACY_CONTEXT,
        ),
        _ => (common::SMALL_PROGRAM, common::SMALL_CONTEXT),
    };
    let program = puntos::compile(&SourceFile::new("bench.pts", text))
        .program
        .expect("the benchmark program compiles");
    let json = args.next().is_some_and(|a| a == "json");
    let read = Context::from_json(context).expect("the benchmark context reads");
    let start = std::time::Instant::now();
    let mut points = puntos::Decimal::ZERO;
    let mut written = 0;
    for _ in 0..times {
        let decision = if json {
            // A service's whole call: the context read from its text, the decision written.
            let read = Context::from_json(std::hint::black_box(context)).expect("it reads");
            let decision = program.evaluate(&read).expect("the context is decided");
            written += serde_json::to_string(&decision).expect("it writes").len();
            decision
        } else {
            let decision = program.evaluate(std::hint::black_box(&read));
            decision.expect("the context is decided")
        };
        points += decision.points_earned();
    }
    let each = start.elapsed() / u32::try_from(times).unwrap_or(u32::MAX);
    let mode = if json { ", JSON in and out" } else { "" };
    println!("{which}: {times} decisions{mode}, {points} points in all, {each:?} each");
    if json {
        println!("({} bytes of decision JSON each)", written / times.max(1));
    }
}
