//! Two `puntos apply` processes on one ledger, a SQLite file and a PostgreSQL schema: the same
//! transactions applied by both at once end exactly as one process alone (each applied once,
//! each refusal the same), the journal stays one chain, and reusing ids for other content is
//! refused row by row.
//!
//! The PostgreSQL run needs a server: `PUNTOS_TEST_POSTGRES` holds its URL (`./scripts/test`
//! starts one on loopback and sets it); without it the test fails, unless
//! `PUNTOS_SKIP_POSTGRES=1` skips it knowingly.

mod workdir;

use std::path::Path;
use std::process::{Command, Stdio};

/// A ledger database as the CLI is told it: `--db` and, on PostgreSQL, the schema.
#[derive(Clone)]
struct Db {
    arg: String,
    schema: Option<String>,
}

impl Db {
    fn file(name: &str) -> Db {
        Db {
            arg: name.to_string(),
            schema: None,
        }
    }
}

fn puntos(dir: &Path, db: Option<&Db>, args: &[&str]) -> std::process::Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_puntos"));
    command
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(db) = db {
        command.args(["--db", &db.arg]);
        if let Some(schema) = &db.schema {
            command.env("PUNTOS_PG_SCHEMA", schema);
        }
    }
    let spawned = command.spawn();
    assert!(spawned.is_ok(), "the puntos binary did not start");
    spawned.unwrap_or_else(|_| unreachable!())
}

fn output(child: std::process::Child) -> String {
    let out = child.wait_with_output().unwrap_or_else(|_| unreachable!());
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn two_processes_on_one_sqlite_file_apply_each_transaction_once() {
    two_processes_apply_each_transaction_once(
        "processes-sqlite",
        &Db::file("alone.db"),
        &Db::file("shared.db"),
    );
}

#[test]
fn two_processes_on_one_postgresql_schema_apply_each_transaction_once() {
    let url = match std::env::var("PUNTOS_TEST_POSTGRES") {
        Ok(url) if !url.trim().is_empty() => url,
        _ if std::env::var("PUNTOS_SKIP_POSTGRES").is_ok_and(|v| v == "1") => {
            eprintln!("PUNTOS_SKIP_POSTGRES=1: two processes on PostgreSQL are not tested");
            return;
        }
        _ => panic!(
            "PUNTOS_TEST_POSTGRES is not set: run ./scripts/test (it starts PostgreSQL on \
             loopback and sets it), or set PUNTOS_SKIP_POSTGRES=1 to skip knowingly"
        ),
    };
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let schema = |role: &str| format!("cli_{role}_{}_{stamp}", std::process::id());
    let (alone, shared) = (schema("alone"), schema("shared"));
    let db = |schema: &str| Db {
        arg: url.clone(),
        schema: Some(schema.to_string()),
    };
    let result = std::panic::catch_unwind(|| {
        two_processes_apply_each_transaction_once("processes-pg", &db(&alone), &db(&shared));
    });
    if let Ok(mut client) = postgres::Client::connect(&url, postgres::NoTls) {
        for name in [&alone, &shared] {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"));
        }
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

fn two_processes_apply_each_transaction_once(name: &str, alone_db: &Db, shared_db: &Db) {
    let workdir::Workdir {
        dir,
        population,
        lines,
    } = workdir::prepare(name, 30, 2);
    // The same ids with other content: every purchase's amount changed.
    let altered: Vec<String> = lines
        .iter()
        .map(|l| l.replace("\"unit_price\":\"", "\"unit_price\":\"1"))
        .collect();
    std::fs::write(dir.join("altered.jsonl"), altered.join("\n"))
        .unwrap_or_else(|_| unreachable!());

    // One process alone, for reference.
    let alone = puntos(
        &dir,
        Some(alone_db),
        &["apply", "program.pts", "--input", "tx.jsonl"],
    );
    let alone = output(alone);

    // Two at once on one file.
    let a = puntos(
        &dir,
        Some(shared_db),
        &["apply", "program.pts", "--input", "tx.jsonl"],
    );
    let b = puntos(
        &dir,
        Some(shared_db),
        &["apply", "program.pts", "--input", "tx.jsonl"],
    );
    let (a, b) = (output(a), output(b));
    let count = |text: &str, what: &str| -> u64 {
        text.split(',')
            .find_map(|part| {
                let part = part.trim();
                part.strip_prefix(what)
                    .and_then(|n| n.split_whitespace().next())
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0)
    };
    let rows = lines.len() as u64;
    let applied_alone = count(&alone, "applied");
    assert!(applied_alone > 100, "{alone}");
    // Each process saw every row once: applied, already applied by the other, or refused.
    for out in [&a, &b] {
        let seen = count(out, "applied") + count(out, "already applied") + count(out, "rejected");
        assert_eq!(seen, rows, "{out}");
    }
    // Together they applied each transaction once, and refused what one process alone refuses
    // (a refusal is remembered, so the other process does not decide it again later).
    let together = count(&a, "applied") + count(&b, "applied");
    assert_eq!(together, applied_alone, "{a}\n{b}");
    assert_eq!(
        count(&a, "rejected") + count(&b, "rejected"),
        2 * count(&alone, "rejected"),
        "{a}\n{b}"
    );
    let verified = output(puntos(&dir, Some(shared_db), &["verify"]));
    assert!(verified.contains("journal intact"), "{verified}");
    // The accounts end as after one process alone.
    for customer in &population.customers {
        let shared = output(puntos(&dir, Some(shared_db), &["account", &customer.id]));
        let single = output(puntos(&dir, Some(alone_db), &["account", &customer.id]));
        assert_eq!(shared, single, "{}", customer.id);
    }

    // Reusing the ids for other content: every altered row is refused as a conflict.
    let conflicts = output(puntos(
        &dir,
        Some(shared_db),
        &["apply", "program.pts", "--input", "altered.jsonl"],
    ));
    let rejects =
        std::fs::read_to_string(dir.join("altered.jsonl.rejects.jsonl")).unwrap_or_default();
    // Only an id that was refused before may take new content; every other is a conflict.
    assert!(
        count(&conflicts, "applied") <= count(&alone, "rejected"),
        "{conflicts}"
    );
    assert!(
        rejects.contains("was applied before with different content"),
        "{rejects}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
