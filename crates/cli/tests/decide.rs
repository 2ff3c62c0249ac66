//! Output tests for `puntos eval` and `puntos test`: the real binary runs on the fixtures in
//! `tests/cli/`, and what it prints (exit code, stdout, stderr) is compared with the golden
//! file beside them. `PUNTOS_BLESS=1` rewrites the golden files.

mod golden;

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `puntos ARGS` from the repository root: "exit N", stdout, then stderr.
fn run(args: &[&str]) -> String {
    let output = match Command::new(env!("CARGO_BIN_EXE_puntos"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
    {
        Ok(output) => output,
        Err(e) => return format!("the puntos binary did not run: {e}"),
    };
    format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn check(golden: &str, args: &[&str]) {
    let path = root().join("tests/cli").join(golden);
    let result = golden::compare(&path, &run(args));
    assert!(result.is_ok(), "{}", result.err().unwrap_or_default());
}

const PHARMACY: &str = "examples/pharmacy/program.pts";

/// A Gold customer's basket with a coupon, an unknown code and a redemption.
const GOLD: [&str; 6] = [
    "--tx",
    "tests/cli/gold-basket.json",
    "--customer",
    "tests/cli/gold-customer.json",
    "--account",
    "tests/cli/gold-account.json",
];

#[test]
fn eval_explains_a_decision_with_its_trace() {
    check(
        "eval-trace.out",
        &[&["eval", PHARMACY], &GOLD[..], &["--trace"]].concat(),
    );
}

#[test]
fn eval_prints_json_for_programs() {
    check(
        "eval-json.out",
        &[&["eval", PHARMACY], &GOLD[..], &["--format", "json"]].concat(),
    );
}

#[test]
fn eval_refuses_a_redemption_above_the_balance_naming_the_field() {
    check(
        "eval-refused.out",
        &[
            "eval",
            PHARMACY,
            "--tx",
            "tests/cli/greedy-basket.json",
            "--account",
            "tests/cli/greedy-account.json",
        ],
    );
}

#[test]
fn eval_names_a_timestamp_without_offset() {
    check(
        "eval-no-offset.out",
        &["eval", PHARMACY, "--tx", "tests/cli/no-offset.json"],
    );
}

#[test]
fn test_reports_each_scenario_and_the_diff_with_the_trace() {
    check("test-failing.out", &["test", "tests/cli/failing.test.toml"]);
}
