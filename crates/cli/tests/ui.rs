//! UI tests, as rustc has them: each `tests/ui/NAME.pts` is checked by the real `puntos check`
//! binary, and what it prints is compared with `tests/ui/NAME.stderr` (and its exit code with
//! the first line of that file). Run with `PUNTOS_BLESS=1` to rewrite the expected files after a
//! deliberate change, then review the diff.

mod golden;

use golden::compare;
use std::path::{Path, PathBuf};
use std::process::Command;

fn ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/ui")
}

/// Runs `puntos check FILE` in `dir` and returns "exit N\n" followed by stderr (or why the
/// binary did not run, which then matches no expected output).
fn check_output(dir: &Path, file: &str) -> String {
    let output = match Command::new(env!("CARGO_BIN_EXE_puntos"))
        .args(["check", file])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
    {
        Ok(output) => output,
        Err(e) => return format!("the puntos binary did not run: {e}"),
    };
    format!(
        "exit {}\n{}",
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The checked-in cases, by file name (`NAME.pts`), sorted; none if `tests/ui` cannot be read,
/// which the tests assert against.
fn cases() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(ui_dir())
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "pts").then(|| path.file_name()?.to_str().map(String::from))?
        })
        .collect();
    names.sort();
    names
}

#[test]
fn every_ui_case_matches_its_expected_output() {
    let dir = ui_dir();
    let cases = cases();
    assert!(!cases.is_empty(), "no cases in {}", dir.display());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|name| {
            let expected = dir.join(name).with_extension("stderr");
            compare(&expected, &check_output(&dir, name)).err()
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} UI case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The cases too large to check in, by name: a file over the size limit and one with too many
/// declarations.
fn generated_cases() -> Vec<(&'static str, String)> {
    let header = "program \"Big\" {\n  currency RUB\n  timezone \"UTC\"\n}\n";
    let mut too_large = String::from(header);
    while too_large.len() <= 8 * 1024 * 1024 {
        too_large.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    let mut too_many = String::from(header);
    for i in 0..10_001 {
        too_many.push_str(&format!("event e{i}\n"));
    }
    vec![
        ("P0003-generated.pts", too_large),
        ("P0005-generated.pts", too_many),
    ]
}

/// Writes the generated cases into a fresh directory of their own (`purpose` keeps the tests
/// that run at once apart) and returns it with the cases' names.
fn write_generated_cases(purpose: &str) -> std::io::Result<(PathBuf, Vec<&'static str>)> {
    let dir = std::env::temp_dir().join(format!("puntos-ui-{purpose}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut names = Vec::new();
    for (name, text) in generated_cases() {
        std::fs::write(dir.join(name), text)?;
        names.push(name);
    }
    Ok((dir, names))
}

/// Cases too large to check in are generated, then compared like the others.
#[test]
fn generated_limit_cases_match_their_expected_output() {
    let (dir, names) = write_generated_cases("compare").expect("generated cases are written");
    let mut failures = Vec::new();
    for name in names {
        let expected = ui_dir().join(name).with_extension("stderr");
        if let Err(e) = compare(&expected, &check_output(&dir, name)) {
            failures.push(e);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every diagnostic code has a UI case named after it whose output shows that code.
///
/// This runs the binary on the cases itself rather than reading the `.stderr` files, which the
/// other tests rewrite under `PUNTOS_BLESS=1` while this one runs.
#[test]
fn every_diagnostic_code_has_a_ui_case() {
    let dir = ui_dir();
    let cases = cases();
    assert!(!cases.is_empty(), "no cases in {}", dir.display());
    let mut outputs: Vec<(String, String)> = cases
        .into_iter()
        .map(|name| {
            let output = check_output(&dir, &name);
            (name, output)
        })
        .collect();
    let (generated_dir, generated) =
        write_generated_cases("codes").expect("generated cases are written");
    for name in generated {
        outputs.push((name.to_string(), check_output(&generated_dir, name)));
    }
    let _ = std::fs::remove_dir_all(&generated_dir);
    let missing: Vec<&str> = puntos_dsl::Code::ALL
        .iter()
        .map(|c| c.id())
        .filter(|id| {
            !outputs
                .iter()
                .any(|(name, output)| name.starts_with(id) && output.contains(&format!("[{id}]")))
        })
        .collect();
    assert!(missing.is_empty(), "codes without a UI case: {missing:?}");
}
