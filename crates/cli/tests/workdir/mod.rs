//! A scratch folder holding the pharmacy program and a synthetic population as `tx.jsonl`, for
//! tests that run `puntos apply` as a separate process. Each test crate uses part of it.

#![allow(dead_code)]

use puntos::synth::{generate, Population, Settings};
use std::path::{Path, PathBuf};

/// The folder, the population and its transactions as JSON lines (as written to `tx.jsonl`).
pub struct Workdir {
    /// The folder (removed first if a previous run left it).
    pub dir: PathBuf,
    /// The generated customers and transactions.
    pub population: Population,
    /// One JSON line per transaction.
    pub lines: Vec<String>,
}

/// Prepares `puntos-NAME-PID` in the temporary folder with `customers` over `months`.
pub fn prepare(name: &str, customers: usize, months: u32) -> Workdir {
    let dir = std::env::temp_dir().join(format!("puntos-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|_| unreachable!());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::copy(
        root.join("examples/pharmacy/program.pts"),
        dir.join("program.pts"),
    )
    .unwrap_or_else(|_| unreachable!());
    let settings = Settings {
        customers,
        months,
        ..Settings::default()
    };
    let tz: chrono_tz::Tz = "Europe/Moscow".parse().unwrap_or(chrono_tz::UTC);
    let population = generate(&settings, "RUB", tz);
    let lines: Vec<String> = population
        .transactions
        .iter()
        .map(|t| serde_json::to_string(t).unwrap_or_default())
        .collect();
    std::fs::write(dir.join("tx.jsonl"), lines.join("\n")).unwrap_or_else(|_| unreachable!());
    Workdir {
        dir,
        population,
        lines,
    }
}
