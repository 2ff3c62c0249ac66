//! Simulation at scale: the pharmacy's 2026 program against its 2027 version on a synthetic
//! population generated and replayed a slice of customers at a time, with the transactions
//! replayed a second and the process's peak resident memory.
//!
//! Run: `cargo bench -p puntos --bench simulate_scale -- [CUSTOMERS] [MONTHS]` (defaults 100000
//! and 8: about 1.6 million transactions, each replayed under both programs). The promotions'
//! shared budgets are taken out of both programs: with a budget, who gets its last points
//! depends on the order across all customers, so a simulation replays such a program whole,
//! on one core and with the whole population in memory; without them customers are
//! independent, as the benchmark (1 million customers, 20 million transactions) needs.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use puntos::simulate::{simulate, Input, Settings};
use puntos::synth;
use puntos::Versions;
use puntos_dsl::SourceFile;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The allocator the `puntos` binary ships with, so the figures are those of `puntos simulate`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The example program at `text`, without its budgets, as the one version in effect throughout.
fn without_budgets(name: &str, text: &str) -> Versions {
    let kept: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("budget "))
        .map(|line| format!("{line}\n"))
        .collect();
    let mut program = puntos::compile(&SourceFile::new(name, &kept))
        .program
        .expect("the example compiles without its budgets");
    program.effective_from = None;
    Versions::new(vec![program]).unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let customers: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let months: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(8);
    let a = without_budgets(
        "program.pts",
        include_str!("../../../examples/pharmacy/program.pts"),
    );
    let b = without_budgets(
        "program-2027.pts",
        include_str!("../../../examples/pharmacy/program-2027.pts"),
    );
    let population = synth::Settings {
        customers,
        months,
        ..synth::Settings::default()
    };
    let input = Input::Synthetic {
        population: &population,
        currency: "RUB",
        timezone: chrono_tz::Europe::Moscow,
    };
    let applied = AtomicU64::new(0);
    let start = Instant::now();
    let run = simulate(&a, &b, input, &Settings::default(), &|n| {
        applied.fetch_add(n, Ordering::Relaxed);
    })
    .unwrap();
    let millis = u64::try_from(start.elapsed().as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    let rows = run.transactions;
    println!(
        "{customers} customers, {months} months: {rows} transactions, each under A and B ({} applied) in {}.{:01} s, population generated as it went",
        applied.load(Ordering::Relaxed),
        millis / 1000,
        millis % 1000 / 100
    );
    println!(
        "{} history rows a second for the pair ({} decisions a second); peak resident memory {}",
        rows * 1000 / millis,
        2 * rows * 1000 / millis,
        common::peak_rss()
    );
    println!(
        "A issued {} points, B {}; {} customers gain under B, {} lose",
        run.a.totals.issued(),
        run.b.totals.issued(),
        run.comparison.gain,
        run.comparison.lose
    );
}
