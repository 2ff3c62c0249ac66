//! Migration at scale: a synthetic legacy export (`migrate::generate`) run through every step
//! (`migrate::run`: profile, identity plan, reconciliation, cutover; no load), timed against a
//! bare pass that only counts the CSV rows of the same files, with the process's peak resident
//! memory.
//!
//! Run: `cargo bench -p puntos --bench migrate_scale -- [CUSTOMERS] [TX_PER_CARD]` (defaults
//! 100000 and 16: about 125,000 cards and 2 million transaction rows). The target is 6
//! million cards and 100 million rows in 5 minutes with 4 GiB. With `PUNTOS_SCALE_EXPORT=DIR`
//! the export is written to (or, if there, read from) `DIR` and kept.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use puntos::migrate::export::EXPORT_FILES;
use puntos::migrate::generate::{generate, GenerateSettings};
use puntos::migrate::run::{run, RunSettings};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The allocator the `puntos` binary ships with, so the figures are those of `puntos migrate`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Rows of every file, counted by the CSV reader alone: the floor any step stands on.
fn count_rows(dir: &Path) -> u64 {
    let mut rows = 0;
    for file in EXPORT_FILES {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(dir.join(file))
            .unwrap();
        let mut record = csv::ByteRecord::new();
        while reader.read_byte_record(&mut record).unwrap() {
            rows += 1;
        }
    }
    rows
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let customers: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let per_card: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(16);
    let keep = std::env::var_os("PUNTOS_SCALE_EXPORT").map(PathBuf::from);
    let dir = keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("puntos-migrate-scale-{}", std::process::id()))
    });
    if !dir.join("customers.csv").is_file() {
        let start = Instant::now();
        let planted = generate(
            &dir,
            &GenerateSettings {
                customers,
                transactions_per_card: per_card,
                seed: 1,
            },
        )
        .unwrap();
        println!(
            "generated {} customers, {} cards, {} transaction rows in {:.1?}",
            planted.customers,
            planted.cards,
            planted.transaction_rows,
            start.elapsed()
        );
    }
    let bytes: u64 = EXPORT_FILES
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum();
    let start = Instant::now();
    let rows = count_rows(&dir);
    let bare = start.elapsed();
    println!(
        "bare CSV row count: {rows} rows, {} MiB, {bare:.2?}",
        bytes >> 20
    );

    let settings = RunSettings::from_toml("expiry_months = 12\n").unwrap();
    let start = Instant::now();
    let result = run(&dir, &settings, &mut |_, _, _| {}).unwrap();
    let elapsed = start.elapsed();
    assert!(result.summary.invariants.iter().all(|c| c.holds));
    // Rates in whole numbers: the workspace allows no floating-point arithmetic.
    let (run_us, bare_us) = (elapsed.as_micros().max(1), bare.as_micros().max(1));
    let tenths = run_us * 10 / bare_us;
    println!(
        "migrate run (profile, plan, reconcile, cutover; no load): {elapsed:.2?}, {} rows/s, {}.{}x the bare count; {} accounts; peak RSS {}",
        u128::from(rows) * 1_000_000 / run_us,
        tenths / 10,
        tenths % 10,
        result.plan.accounts,
        common::peak_rss()
    );
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
