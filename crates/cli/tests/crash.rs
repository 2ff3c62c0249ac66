//! The crash test: `puntos apply` killed with SIGKILL at 20 moments, then run again to the
//! end, leaves exactly the database an uninterrupted run leaves — every account, every journal
//! entry with its hash, every stored transaction.

mod workdir;

use puntos::ledger::{AccountState, JournalEntry, Session, SqliteStore, Store};
use std::path::Path;
use std::process::{Command, Stdio};

fn apply(dir: &Path, db: &str) -> std::process::Child {
    let child = Command::new(env!("CARGO_BIN_EXE_puntos"))
        .args(["apply", "--db", db, "program.pts", "--input", "tx.jsonl"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    assert!(child.is_ok(), "the puntos binary did not start");
    child.unwrap_or_else(|_| unreachable!())
}

/// Everything a database holds that a run decides, for comparison.
fn contents(
    path: &Path,
    accounts: &[String],
    ids: &[String],
) -> (Vec<Option<AccountState>>, Vec<JournalEntry>, Vec<String>) {
    let mut store = SqliteStore::open(path).unwrap_or_else(|e| unreachable!("{e}"));
    store
        .atomically(|s: &mut dyn Session| {
            let states = accounts
                .iter()
                .map(|a| s.account(a))
                .collect::<Result<Vec<_>, _>>()?;
            let journal = s.journal(None, 0, usize::MAX)?;
            let transactions = ids
                .iter()
                .map(|id| {
                    s.transaction(id)
                        .map(|t| serde_json::to_string(&t).unwrap_or_default())
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, puntos::ledger::StoreError>((states, journal, transactions))
        })
        .unwrap_or_else(|e| unreachable!("{e}"))
}

#[test]
fn killed_runs_resumed_end_exactly_as_an_uninterrupted_run() {
    let workdir::Workdir {
        dir, population, ..
    } = workdir::prepare("crash", 80, 3);
    let accounts: Vec<String> = population.customers.iter().map(|c| c.id.clone()).collect();
    let ids: Vec<String> = population
        .transactions
        .iter()
        .map(|t| t.transaction.id.to_string())
        .collect();

    let started = std::time::Instant::now();
    let reference = apply(&dir, "reference.db")
        .wait()
        .unwrap_or_else(|_| unreachable!());
    let run_length = started.elapsed();
    assert!(reference.code().is_some());
    let expected = contents(&dir.join("reference.db"), &accounts, &ids);
    assert!(
        expected.1.len() > 500,
        "the run should write a real journal"
    );

    // Kill moments spread over the first four fifths of the reference run, in a fixed order:
    // measured, not guessed, so a faster build or machine still kills runs mid-way (a later
    // run starts warm and may end sooner than the reference).
    let mut killed_mid_run = 0;
    for run in 0..20u64 {
        let db = format!("crash-{run}.db");
        let child = apply(&dir, &db);
        let fraction = ((run * 7) % 20) as f64 / 20.0 * 0.8 + 0.02;
        std::thread::sleep(run_length.mul_f64(fraction));
        let mut child = child;
        if child.try_wait().ok().flatten().is_none() {
            killed_mid_run += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        let resumed = apply(&dir, &db).wait().unwrap_or_else(|_| unreachable!());
        assert!(resumed.code().is_some());
        let got = contents(&dir.join(&db), &accounts, &ids);
        assert!(got.0 == expected.0, "run {run}: accounts differ");
        assert!(got.1 == expected.1, "run {run}: journals differ");
        assert!(got.2 == expected.2, "run {run}: stored transactions differ");
    }
    assert!(
        killed_mid_run >= 10,
        "only {killed_mid_run} of 20 runs were killed mid-way: make the run longer"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
