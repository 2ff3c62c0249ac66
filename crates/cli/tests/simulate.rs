//! `puntos simulate`: the 2026 pharmacy program against its 2027 version on a synthetic
//! population, compared with the golden transcript in `tests/cli/simulate/` (`PUNTOS_BLESS=1`
//! rewrites it); the same inputs give byte-identical files; a bad history line is named.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod golden;

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("puntos-simulate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["program.pts", "program-2027.pts"] {
        std::fs::copy(root().join("examples/pharmacy").join(file), dir.join(file)).unwrap();
    }
    dir
}

/// Compares `transcript` with the golden file at `golden` (from the repository's root), then
/// removes the test's folder.
fn compare_and_clean(dir: &Path, golden: &str, transcript: &str) {
    let result = golden::compare(&root().join(golden), transcript);
    std::fs::remove_dir_all(dir).unwrap();
    assert!(result.is_ok(), "{}", result.err().unwrap_or_default());
}

const FILES: [&str; 6] = [
    "report.html",
    "summary.json",
    "months.csv",
    "cohorts.csv",
    "sources.csv",
    "customers.csv",
];

#[test]
fn the_2027_program_against_2026_on_a_synthetic_population() {
    let dir = workdir("golden");
    let args = |out: &'static str| {
        [
            "simulate",
            "--a",
            "program.pts",
            "--b",
            "program-2027.pts",
            "--synthetic",
            "80",
            "--to",
            "2026-06-01",
            "--out",
            out,
        ]
    };
    let mut transcript = golden::transcript(&dir, &args("out"));
    for file in ["months.csv", "sources.csv", "cohorts.csv"] {
        transcript.push_str(&format!("--- {file}\n"));
        transcript.push_str(&std::fs::read_to_string(dir.join("out").join(file)).unwrap());
    }
    let result = golden::compare(&root().join("tests/cli/simulate/pharmacy.out"), &transcript)
        .and_then(|()| {
            let report = std::fs::read_to_string(dir.join("out/report.html")).unwrap();
            golden::compare(&root().join("tests/cli/simulate/report.html"), &report)
        });

    // Again, into another folder: the same bytes in every file.
    golden::transcript(&dir, &args("again"));
    for file in FILES {
        let first = std::fs::read(dir.join("out").join(file)).unwrap();
        let second = std::fs::read(dir.join("again").join(file)).unwrap();
        assert!(first == second, "{file} differs between two runs");
    }
    // The report stands alone: five charts drawn inline, no script, nothing fetched.
    let report = std::fs::read_to_string(dir.join("out/report.html")).unwrap();
    assert_eq!(report.matches("<svg").count(), 5, "{report}");
    assert!(
        !report.contains("<script") && !report.contains("http"),
        "{report}"
    );
    assert!(report.contains("<td>points earned</td><td>106386</td><td>44969</td><td>-61417</td>"));
    let customers = std::fs::read_to_string(dir.join("out/customers.csv")).unwrap();
    assert_eq!(
        customers.lines().count(),
        81,
        "a header and a row per customer"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(result.is_ok(), "{}", result.err().unwrap_or_default());
}

#[test]
fn a_bad_history_line_is_named_and_nothing_is_written() {
    let dir = workdir("bad");
    std::fs::write(
        dir.join("history.jsonl"),
        "{\"account\": \"C-1\", \"customer\": {\"id\": \"C-1\"}, \"transaction\": {\"id\": \"S-1\", \"kind\": \"signup\", \"time\": \"2026-03-01T10:00:00+03:00\"}}\n\
         {\"account\": \"C-1\", \"transaction\": {\"id\": \"T-1\", \"time\": \"2026-03-02T10:00:00\"}}\n",
    )
    .unwrap();
    let out = golden::transcript(
        &dir,
        &[
            "simulate",
            "--a",
            "program.pts",
            "--b",
            "program.pts",
            "--history",
            "history.jsonl",
            "--out",
            "out",
        ],
    );
    assert!(out.contains("exit 2"), "{out}");
    assert!(
        out.contains("history.jsonl: line 2: transaction.time"),
        "{out}"
    );
    assert!(!dir.join("out").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_legacy_export_is_simulated_on_the_accounts_a_migration_makes() {
    let dir = workdir("legacy");
    let export = root().join("tests/legacy/small");
    let simulate = |extra: &[&str]| {
        let mut args = vec![
            "simulate",
            "--a",
            "program.pts",
            "--b",
            "program-2027.pts",
            "--legacy",
            export.to_str().unwrap(),
            "--out",
            "out",
        ];
        args.extend_from_slice(extra);
        golden::transcript(&dir, &args).replace(export.to_str().unwrap(), "tests/legacy/small")
    };
    // As exported (no redemption replayed), then with half the purchases paying with as many
    // points as allowed, then a share that is no share.
    let transcript = [
        simulate(&[]),
        simulate(&["--redeem-share", "0.5"]),
        simulate(&["--redeem-share", "1.5"]),
    ]
    .concat();
    compare_and_clean(&dir, "tests/cli/simulate/legacy.out", &transcript);
}

#[test]
fn a_sweep_tries_each_value_of_a_text_found_once_in_program_a() {
    let dir = workdir("sweep");
    let sweep = |text: &str| {
        golden::transcript(
            &dir,
            &[
                "simulate",
                "--a",
                "program.pts",
                "--sweep",
                text,
                "--value",
                "item.amount / 12 RUB) points",
                "--value",
                "item.amount / 15 RUB) points",
                "--synthetic",
                "60",
                "--out",
                "out",
            ],
        )
    };
    let mut transcript = sweep("item.amount / 10 RUB) points");
    transcript.push_str("--- sweep.csv\n");
    transcript.push_str(&std::fs::read_to_string(dir.join("out/sweep.csv")).unwrap());
    // Text found more than once (or nowhere) is refused, with the lines it is on.
    transcript.push_str(&sweep("10 RUB"));
    compare_and_clean(&dir, "tests/cli/simulate/sweep.out", &transcript);
}

#[test]
fn a_synthetic_mix_names_its_categories_and_refuses_others() {
    let dir = workdir("mix");
    let run = |mix: &str| {
        golden::transcript(
            &dir,
            &[
                "simulate",
                "--a",
                "program.pts",
                "--b",
                "program.pts",
                "--synthetic",
                "30",
                "--mix",
                mix,
                "--visits",
                "150",
                "--no-seasons",
                "--out",
                "out",
            ],
        )
    };
    let fine = run("vitamins=300,tobacco=0");
    assert!(fine.contains("exit 0"), "{fine}");
    assert!(
        fine.contains("Customers under B: 0 gain points, 0 lose, 30 unchanged"),
        "{fine}"
    );
    let bad = run("smokes=0");
    assert!(bad.contains("exit 2"), "{bad}");
    assert!(
        bad.contains("`smokes` is not a category; the categories are otc, rx"),
        "{bad}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
