//! `puntos migrate`: the real binary on the hand-made legacy export `tests/legacy/small`. What
//! it prints is compared with the golden files in `tests/cli/` (`PUNTOS_BLESS=1` rewrites
//! them); the machine files it writes are checked for content and for being the same on a
//! rerun.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod golden;

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `puntos ARGS` from the repository root: "exit N", stdout, then stderr.
fn run(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_puntos"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the puntos binary runs");
    format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn check(golden: &str, output: &str) {
    let result = golden::compare(&root().join("tests/cli").join(golden), output);
    assert!(result.is_ok(), "{}", result.err().unwrap_or_default());
}

/// A file written by a command, as text.
fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).expect("the command wrote the file")
}

/// A fresh scratch folder.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("puntos-migrate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn profile_prints_the_report_a_person_reads() {
    check(
        "migrate-profile.out",
        &run(&["migrate", "profile", "tests/legacy/small"]),
    );
}

#[test]
fn profile_writes_its_machine_files_the_same_on_every_run() {
    let out = scratch("profile");
    let out_arg = out.to_string_lossy().to_string();
    let first = run(&[
        "migrate",
        "profile",
        "tests/legacy/small",
        "--out",
        &out_arg,
    ]);
    assert!(first.starts_with("exit 0\n"), "{first}");
    let rejects = read(&out, "rejects.csv");
    let json = read(&out, "profile.json");
    assert_eq!(
        rejects.lines().count(),
        12,
        "a header and 11 rejected rows:\n{rejects}"
    );
    assert!(rejects.starts_with("file,line,column,reason\ncustomers.csv,18,birth_date,"));
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["files"][3]["file"], "transactions.csv");
    assert_eq!(parsed["files"][3]["rejected"], 3);

    run(&[
        "migrate",
        "profile",
        "tests/legacy/small",
        "--out",
        &out_arg,
    ]);
    assert_eq!(read(&out, "rejects.csv"), rejects);
    assert_eq!(read(&out, "profile.json"), json);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn an_export_without_its_files_or_columns_is_refused_with_exit_2() {
    let missing = run(&["migrate", "profile", "tests/legacy/no-such-export"]);
    assert!(missing.starts_with("exit 2\n"), "{missing}");
    assert!(missing.contains("error: cannot read"), "{missing}");
    assert!(missing.contains("customers.csv"), "{missing}");

    let export = scratch("columns");
    std::fs::create_dir_all(&export).unwrap();
    std::fs::write(export.join("customers.csv"), "customer_id,name\nP1,Ann\n").unwrap();
    let output = run(&["migrate", "profile", &export.to_string_lossy()]);
    assert!(output.starts_with("exit 2\n"), "{output}");
    assert!(
        output.contains(
            "error: customers.csv has no column `full_name` (its header: customer_id, name)"
        ),
        "{output}"
    );
    let bad_region = run(&["migrate", "profile", "tests/legacy/small", "--region", "XX"]);
    assert!(
        bad_region.contains("\"XX\" is not a region code"),
        "{bad_region}"
    );
    let _ = std::fs::remove_dir_all(&export);
}

#[test]
fn plan_prints_the_groups_and_writes_identity_csv() {
    let out = scratch("plan");
    let out_arg = out.to_string_lossy().to_string();
    let printed = run(&["migrate", "plan", "tests/legacy/small", "--out", &out_arg]);
    check("migrate-plan.out", &printed.replace(&out_arg, "OUT"));
    let identities = read(&out, "identity.csv");
    check("migrate-identity.csv", &identities);
    let rejects = read(&out, "rejects.csv");
    assert_eq!(
        rejects.lines().count(),
        9,
        "a header and 8 rejected rows:\n{rejects}"
    );

    let most_cards = run(&[
        "migrate",
        "plan",
        "tests/legacy/small",
        "--phone-conflict",
        "most-cards",
        "--out",
        &out_arg,
    ]);
    assert!(
        most_cards.contains("shared phones kept by: most-cards"),
        "{most_cards}"
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn reconcile_classifies_every_difference_and_checks_conservation() {
    let out = scratch("reconcile");
    let out_arg = out.to_string_lossy().to_string();
    let printed = run(&[
        "migrate",
        "reconcile",
        "tests/legacy/small",
        "--expiry-months",
        "12",
        "--out",
        &out_arg,
    ]);
    check("migrate-reconcile.out", &printed.replace(&out_arg, "OUT"));
    let cards = read(&out, "reconciliation.csv");
    check("migrate-reconciliation.csv", &cards);
    check("migrate-accounts.csv", &read(&out, "accounts.csv"));
    let rejects = read(&out, "rejects.csv");
    assert_eq!(
        rejects.lines().count(),
        18,
        "a header, 8 rows of customers and cards, 9 of balances and transactions:\n{rejects}"
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn cutover_loads_the_accounts_once_into_a_sqlite_ledger() {
    let out = scratch("cutover");
    let out_arg = out.to_string_lossy().to_string();
    std::fs::create_dir_all(&out).unwrap();
    let db = out.join("ledger.db").to_string_lossy().to_string();
    let first = run(&[
        "migrate",
        "cutover",
        "tests/legacy/small",
        "--out",
        &out_arg,
        "--db",
        &db,
    ]);
    check("migrate-cutover.out", &first.replace(&out_arg, "OUT"));
    check("migrate-cutover.csv", &read(&out, "cutover.csv"));
    let second = run(&[
        "migrate",
        "cutover",
        "tests/legacy/small",
        "--out",
        &out_arg,
        "--db",
        &db,
    ]);
    assert!(
        second.contains("0 accounts opened, 14 already there unchanged"),
        "{second}"
    );
    let verified = run(&["verify", "--db", &db]);
    assert!(verified.starts_with("exit 0\n"), "{verified}");
    assert!(verified.contains("journal intact: 9 entries"), "{verified}");
    let account = run(&["account", "--db", &db, "legacy:P008"]);
    assert!(account.contains("account +79261112233"), "{account}");
    assert!(account.contains("balance 100 points"), "{account}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn run_checks_invariants_and_gates_then_loads_and_a_rerun_changes_nothing() {
    let out = scratch("run");
    let out_arg = out.to_string_lossy().to_string();
    std::fs::create_dir_all(&out).unwrap();
    let config = out.join("migrate.toml");
    std::fs::write(
        &config,
        "expiry_months = 12\n[gates]\nmax_invalid_phones_percent = 20\nmax_unexplained_points = 27\n",
    )
    .unwrap();
    let config_arg = config.to_string_lossy().to_string();
    let args = [
        "migrate",
        "run",
        "tests/legacy/small",
        "--config",
        &config_arg,
        "--out",
        &out_arg,
    ];
    let first = run(&args);
    check("migrate-run.out", &first.replace(&out_arg, "OUT"));
    check("migrate-report.html", &read(&out, "report.html"));
    let files = [
        "report.html",
        "summary.json",
        "identity.csv",
        "reconciliation.csv",
        "cutover.csv",
        "rejects.csv",
    ];
    let written: Vec<String> = files.iter().map(|f| read(&out, f)).collect();
    let second = run(&args);
    assert!(
        second.contains("0 accounts opened, 14 already there unchanged"),
        "{second}"
    );
    for (file, before) in files.iter().zip(&written) {
        assert_eq!(&read(&out, file), before, "{file} changed");
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_failing_gate_stops_the_run_before_anything_is_loaded() {
    let out = scratch("gates");
    let out_arg = out.to_string_lossy().to_string();
    std::fs::create_dir_all(&out).unwrap();
    let config = out.join("migrate.toml");
    std::fs::write(&config, "[gates]\nmax_conflicting_duplicates = 0\n").unwrap();
    let output = run(&[
        "migrate",
        "run",
        "tests/legacy/small",
        "--config",
        &config.to_string_lossy(),
        "--out",
        &out_arg,
    ]);
    assert!(output.starts_with("exit 1\n"), "{output}");
    assert!(
        output.contains("FAILED conflicting duplicate keys: 5, at most 0"),
        "{output}"
    );
    assert!(output.contains("nothing was loaded"), "{output}");
    assert!(!out.join("ledger.db").exists());
    let _ = std::fs::remove_dir_all(&out);
}

/// A synthetic export of `customers` customers (seed 5) generated into `out/export`; its path.
fn generated_export(out: &Path, customers: &str) -> String {
    let export = out.join("export").to_string_lossy().to_string();
    let generated = run(&[
        "migrate",
        "generate",
        "--out",
        &export,
        "--customers",
        customers,
        "--seed",
        "5",
    ]);
    assert!(generated.starts_with("exit 0\n"), "{generated}");
    export
}

#[test]
fn a_generated_export_runs_through_every_step() {
    let out = scratch("generate");
    let export = generated_export(&out, "300");
    let planted: serde_json::Value =
        serde_json::from_str(&read(&out, "export/planted.json")).unwrap();
    assert_eq!(planted["customers"], 300);
    let config = out.join("migrate.toml");
    std::fs::write(&config, "expiry_months = 12\n").unwrap();
    let result_dir = out.join("result").to_string_lossy().to_string();
    let ran = run(&[
        "migrate",
        "run",
        &export,
        "--config",
        &config.to_string_lossy(),
        "--out",
        &result_dir,
    ]);
    assert!(ran.starts_with("exit 0\n"), "{ran}");
    assert!(!ran.contains("FAILED"), "{ran}");
    let summary: serde_json::Value =
        serde_json::from_str(&read(&out, "result/summary.json")).unwrap();
    let planted_expiry = &planted["classes"][2];
    assert_eq!(
        &summary["differences"]["expiry_not_booked"][0],
        planted_expiry
    );

    let trial_dir = out.join("trial").to_string_lossy().to_string();
    let trial = run(&[
        "migrate", "run", &export, "--sample", "10%", "--out", &trial_dir,
    ]);
    assert!(trial.starts_with("exit 0\n"), "{trial}");
    assert!(trial.contains("sample: customers.csv: "), "{trial}");
    assert!(trial.contains(" of 300 rows"), "{trial}");
    assert!(out.join("trial/sample/transactions.csv").is_file());

    // The parallel run tries the same share: it replays the sample's rows, and only them.
    let program = legacy_program(&out);
    let replay_dir = out.join("replay").to_string_lossy().to_string();
    let replayed = run(&[
        "migrate",
        "parallel-run",
        &export,
        "--program",
        &program.to_string_lossy(),
        "--sample",
        "10%",
        "--out",
        &replay_dir,
    ]);
    assert!(replayed.starts_with("exit 0\n"), "{replayed}");
    assert!(
        replayed.contains("sample: transactions.csv: "),
        "{replayed}"
    );
    let ids = |file: &str| -> Vec<String> {
        // The export's own bad rows (other column counts, bad bytes) are read as they come.
        csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(out.join(file))
            .unwrap()
            .byte_records()
            .map(|r| String::from_utf8_lossy(&r.unwrap()[0]).to_string())
            .collect()
    };
    let sampled: std::collections::HashSet<String> =
        ids("replay/sample/transactions.csv").into_iter().collect();
    let compared = ids("replay/parallel.csv");
    assert!(!compared.is_empty());
    assert!(compared.iter().all(|id| sampled.contains(id)));
    assert!(compared.len() < ids("export/transactions.csv").len() / 5);
    let _ = std::fs::remove_dir_all(&out);
}

/// A program earning as the legacy one did (a point per 10 RUB), written into `out`.
fn legacy_program(out: &std::path::Path) -> std::path::PathBuf {
    let program = out.join("legacy.pts");
    std::fs::write(
        &program,
        "program \"Legacy\" { currency RUB  timezone \"Europe/Moscow\" }\n\
         rule base { on purchase  earn floor(item.amount / 10 RUB) points for each item }\n",
    )
    .unwrap();
    program
}

#[test]
fn parallel_run_compares_every_purchase_and_refund_with_the_legacy_points() {
    let out = scratch("parallel");
    let out_arg = out.to_string_lossy().to_string();
    std::fs::create_dir_all(&out).unwrap();
    let program = legacy_program(&out);
    let printed = run(&[
        "migrate",
        "parallel-run",
        "tests/legacy/small",
        "--program",
        &program.to_string_lossy(),
        "--out",
        &out_arg,
    ]);
    check("migrate-parallel.out", &printed.replace(&out_arg, "OUT"));
    check("migrate-parallel.csv", &read(&out, "parallel.csv"));
    let _ = std::fs::remove_dir_all(&out);
}

/// The PostgreSQL server `./scripts/test` started (`PUNTOS_TEST_POSTGRES`), or `None` when the
/// run skips PostgreSQL knowingly (`PUNTOS_SKIP_POSTGRES=1`).
fn test_postgres() -> Option<String> {
    match std::env::var("PUNTOS_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("PUNTOS_SKIP_POSTGRES").is_ok_and(|v| v == "1") => None,
        _ => panic!(
            "PUNTOS_TEST_POSTGRES is not set: run ./scripts/test (it starts PostgreSQL on \
             loopback and sets it), or set PUNTOS_SKIP_POSTGRES=1 to skip knowingly"
        ),
    }
}

#[test]
fn run_loads_thousands_of_accounts_into_postgresql_and_a_rerun_changes_nothing() {
    let Some(url) = test_postgres() else {
        eprintln!("PUNTOS_SKIP_POSTGRES=1: the load into PostgreSQL is not tested");
        return;
    };
    // Thousands of accounts: more keys than PostgreSQL's lock table holds in one unit by
    // default (64 locks per connection), so the load has to spread them over several.
    let out = scratch("postgres");
    let export = generated_export(&out, "6000");
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let schema = format!("cli_migrate_{}_{stamp}", std::process::id());
    let result = out.join("result").to_string_lossy().to_string();
    let load = || {
        let output = Command::new(env!("CARGO_BIN_EXE_puntos"))
            .args(["migrate", "run", &export, "--db", &url, "--out", &result])
            .env("PUNTOS_PG_SCHEMA", &schema)
            .current_dir(root())
            .output()
            .expect("the puntos binary runs");
        let printed = String::from_utf8_lossy(&output.stdout).to_string()
            + &String::from_utf8_lossy(&output.stderr);
        (output.status.code(), printed)
    };
    let (code, first) = load();
    assert_eq!(code, Some(0), "{first}");
    let summary: serde_json::Value =
        serde_json::from_str(&read(&out, "result/summary.json")).unwrap();
    let accounts = summary["accounts"].as_u64().unwrap();
    assert!(accounts > 5000, "{accounts}");
    assert!(
        first.contains(&format!("{accounts} accounts opened, 0 already there")),
        "{first}"
    );
    let (code, again) = load();
    assert_eq!(code, Some(0), "{again}");
    assert!(
        again.contains(&format!(
            "0 accounts opened, {accounts} already there unchanged"
        )),
        "{again}"
    );
    let _ = std::fs::remove_dir_all(&out);
}
