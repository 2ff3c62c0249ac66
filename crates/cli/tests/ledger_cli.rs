//! `puntos db init`, `shop`, `apply` (JSON lines and CSV, with rejects), `account`, `card`,
//! `advance`, `verify`, `events` and `erase` on a fresh database, compared with golden output in `tests/cli/ledger/`.
//! `PUNTOS_BLESS=1` rewrites the golden file.

mod golden;

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn a_ledger_session_from_init_to_erase() {
    let dir = std::env::temp_dir().join(format!("puntos-ledger-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let fixtures = root().join("tests/cli/ledger");
    for name in ["signup.jsonl", "transactions.csv", "stores.csv"] {
        std::fs::copy(fixtures.join(name), dir.join(name)).unwrap();
    }
    std::fs::copy(
        root().join("examples/pharmacy/program.pts"),
        dir.join("program.pts"),
    )
    .unwrap();
    let program = "program.pts";
    let mut transcript = String::new();
    for args in [
        &["db", "init", "--db", "l.db"][..],
        &[
            "shop", "--db", "l.db", "S-0042", "--region", "Moscow", "--city", "Moscow", "--format",
            "pharmacy",
        ],
        &["shop", "--db", "l.db", "--file", "stores.csv"],
        &["apply", "--db", "l.db", program, "--input", "signup.jsonl"],
        &[
            "apply",
            "--db",
            "l.db",
            program,
            "--input",
            "transactions.csv",
        ],
        &[
            "apply",
            "--db",
            "l.db",
            program,
            "--input",
            "transactions.csv",
        ],
        &["account", "--db", "l.db", "C-9"],
        &[
            "card",
            "issue",
            "--db",
            "l.db",
            "C-9",
            "2770000000099",
            "--issued",
            "2026-03-01",
        ],
        &["card", "issue", "--db", "l.db", "C-9", "2770000000099"],
        &["card", "status", "--db", "l.db", "2770000000099", "lost"],
        &["card", "status", "--db", "l.db", "2770000009999", "blocked"],
        &["account", "--db", "l.db", "2770000000099"],
        &["events", "--db", "l.db"],
        &["events", "--db", "l.db", "--ack", "1"],
        &[
            "advance",
            "--db",
            "l.db",
            "--as-of",
            "2027-04-01T00:00:00+03:00",
        ],
        &["verify", "--db", "l.db"],
        &["erase", "--db", "l.db", "C-9"],
        &["account", "--db", "l.db", "nobody"],
    ] {
        transcript.push_str(&golden::transcript(&dir, args));
    }
    transcript.push_str("--- transactions.csv.rejects.jsonl\n");
    transcript
        .push_str(&std::fs::read_to_string(dir.join("transactions.csv.rejects.jsonl")).unwrap());
    let result = golden::compare(&fixtures.join("session.out"), &transcript);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(result.is_ok(), "{}", result.err().unwrap_or_default());
}

#[test]
fn a_stores_file_with_a_bad_row_names_its_line_and_registers_nothing() {
    let dir = std::env::temp_dir().join(format!("puntos-shops-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("stores.csv"),
        "id,region,city,format,partner\nS-1,Moscow,Moscow,pharmacy,\nS-2,Tver\n",
    )
    .unwrap();
    let out = golden::transcript(&dir, &["shop", "--db", "s.db", "--file", "stores.csv"]);
    assert!(out.contains("exit 1"), "{out}");
    assert!(out.contains("stores.csv:3:"), "{out}");
    // The file is read whole before the database is touched: nothing was registered.
    assert!(!dir.join("s.db").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
