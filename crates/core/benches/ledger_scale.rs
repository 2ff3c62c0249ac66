//! Ledger throughput at scale: a synthetic population applied to SQLite (and to PostgreSQL when
//! `PUNTOS_TEST_POSTGRES` names a server) in batches, reporting transactions per second and the
//! process's peak resident memory.
//!
//! Each store's line ends with a yardstick, the time to sort a fixed list before and after its
//! run, so runs on a machine whose speed moves can be compared (see `yardstick_ms`).
//!
//! Run: `cargo bench -p puntos --bench ledger_scale -- [CUSTOMERS] [MONTHS] [BATCH]` (defaults
//! 10000, 4 and 2000; 100000 customers over 4 months is about a million transactions). With
//! `PUNTOS_SCALE_KEEP=FILE` the SQLite database is written to `FILE` and kept, for inspection
//! (`sqlite3 FILE 'SELECT name, SUM(pgsize) FROM dbstat GROUP BY name'`), and so is the
//! PostgreSQL schema `scale_PID`; otherwise both are dropped after the run.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use puntos::ledger::{Ledger, SqliteStore, Store};
use puntos::synth::{generate, Settings};
use puntos::Versions;
use puntos_dsl::SourceFile;
use std::time::Instant;

/// The allocator the `puntos` binary ships with, so the figures are those of `puntos apply`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Transactions applied per batch (per store transaction) unless the third argument says.
const BATCH: usize = 2_000;

/// Nanoseconds this thread has spent on a CPU and waiting for one (Linux's schedstat), if
/// known: the applying thread's own cost, which other work on the machine inflates less than the
/// wall clock, and how long the other threads kept it from running.
fn thread_cpu_ns() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut fields = stat.split_whitespace().map(|f| f.parse().ok());
    Some((fields.next()??, fields.next()??))
}

/// `ns` spread over `count` transactions, as microseconds with one decimal.
fn micros_each(ns: u64, count: usize) -> String {
    let tenths = ns / 100 / count.max(1) as u64;
    format!("{}.{} µs", tenths / 10, tenths % 10)
}

fn run<S: Store>(
    name: &str,
    store: S,
    versions: Versions,
    population: &puntos::synth::Population,
    batch: usize,
) {
    let before = yardstick_ms();
    let mut ledger = Ledger::new(store, versions);
    // Cut before the clock starts, as `puntos apply` has its batches from the rows it parses.
    let batches: Vec<_> = population
        .transactions
        .chunks(batch)
        .map(|chunk| (chunk.to_vec(), ()))
        .collect();
    let started = Instant::now();
    let cpu_before = thread_cpu_ns();
    let (mut applied, mut refused) = (0usize, 0usize);
    ledger
        .apply_batches(batches, |(), results| {
            for result in results {
                match result {
                    Ok(_) => applied += 1,
                    Err(_) => refused += 1,
                }
            }
            Ok::<_, puntos::ledger::StoreError>(())
        })
        .expect("the store failed");
    let millis = started.elapsed().as_millis().max(1);
    let total = applied + refused;
    let cpu = match (cpu_before, thread_cpu_ns()) {
        (Some((ran, waited)), Some((ran_after, waited_after))) => format!(
            "on CPU {}, waiting for one {}",
            micros_each(ran_after.saturating_sub(ran), total),
            micros_each(waited_after.saturating_sub(waited), total)
        ),
        _ => "unknown".to_string(),
    };
    let after = yardstick_ms();
    println!(
        "{name}: {total} transactions ({applied} applied, {refused} refused) in {}.{:03} s in batches of {batch}: {} transactions/s; applying thread {cpu} per transaction; peak RSS {}; yardstick {before} ms before, {after} ms after",
        millis / 1000,
        millis % 1000,
        total as u128 * 1000 / millis,
        common::peak_rss()
    );
}

/// Milliseconds this machine takes, now, to sort the same four million pseudo-random numbers:
/// a yardstick printed before and after each store's run. This shared VM's speed moves by a
/// quarter within minutes, so two runs' rates compare fairly only when their yardsticks agree.
fn yardstick_ms() -> u128 {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut numbers: Vec<u64> = (0..4_000_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        })
        .collect();
    let started = Instant::now();
    numbers.sort_unstable();
    std::hint::black_box(&numbers);
    started.elapsed().as_millis()
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let settings = Settings {
        customers: args.first().copied().unwrap_or(10_000),
        months: args.get(1).copied().unwrap_or(4) as u32,
        ..Settings::default()
    };
    let program = puntos::compile(&SourceFile::new(
        "pharmacy.pts",
        include_str!("../../../examples/pharmacy/program.pts"),
    ))
    .program
    .expect("the example compiles");
    let batch = args.get(2).copied().unwrap_or(BATCH).max(1);
    let versions = Versions::new(vec![program.clone()]).unwrap();
    let started = Instant::now();
    let population = generate(&settings, &program.currency, program.timezone);
    println!(
        "generated {} customers, {} transactions in {} ms",
        population.customers.len(),
        population.transactions.len(),
        started.elapsed().as_millis()
    );
    let keep = std::env::var_os("PUNTOS_SCALE_KEEP").filter(|path| !path.is_empty());
    let path = keep.clone().map_or_else(
        || std::env::temp_dir().join(format!("puntos-scale-{}.db", std::process::id())),
        std::path::PathBuf::from,
    );
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    run(
        "sqlite",
        SqliteStore::open(&path).unwrap(),
        versions.clone(),
        &population,
        batch,
    );
    if keep.is_none() {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    if let Some(url) = std::env::var("PUNTOS_TEST_POSTGRES")
        .ok()
        .filter(|url| !url.is_empty())
    {
        let schema = format!("scale_{}", std::process::id());
        let store = puntos::ledger::PgStore::connect_in(&url, &schema).unwrap();
        run("postgres", store, versions, &population, batch);
        // The run's tables take gigabytes at 100,000 customers: dropped unless kept.
        if keep.is_none() {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            client
                .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                .unwrap();
        }
    }
}
