//! UI tests, as rustc has them: each `tests/ui/NAME.pts` is checked by the real `puntos check`
//! binary, and what it prints is compared with `tests/ui/NAME.stderr` (and its exit code with
//! the first line of that file). Run with `PUNTOS_BLESS=1` to rewrite the expected files after a
//! deliberate change, then review the diff.

use std::path::{Path, PathBuf};
use std::process::Command;

fn ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/ui")
}

/// Runs `puntos check FILE` in `dir` and returns "exit N\n" followed by stderr.
fn check_output(dir: &Path, file: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_puntos"))
        .args(["check", file])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the puntos binary runs");
    format!(
        "exit {}\n{}",
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn compare(expected_path: &Path, actual: &str) -> Result<(), String> {
    if std::env::var_os("PUNTOS_BLESS").is_some() {
        std::fs::write(expected_path, actual).map_err(|e| e.to_string())?;
        return Ok(());
    }
    let expected = std::fs::read_to_string(expected_path)
        .map_err(|_| format!("{} is missing; run with PUNTOS_BLESS=1 to create it", expected_path.display()))?;
    if expected == actual {
        Ok(())
    } else {
        Err(format!(
            "{} differs\n--- expected\n{expected}\n--- actual\n{actual}",
            expected_path.display()
        ))
    }
}

fn cases() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(ui_dir())
        .expect("tests/ui exists")
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
    let failures: Vec<String> = cases()
        .iter()
        .filter_map(|name| {
            let expected = dir.join(name).with_extension("stderr");
            compare(&expected, &check_output(&dir, name)).err()
        })
        .collect();
    assert!(failures.is_empty(), "{} UI case(s) failed:\n{}", failures.len(), failures.join("\n"));
}

/// Cases too large to check in are generated, then compared like the others.
#[test]
fn generated_limit_cases_match_their_expected_output() {
    let dir = std::env::temp_dir().join(format!("puntos-ui-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let header = "program \"Big\" {\n  currency RUB\n  timezone \"UTC\"\n}\n";
    let mut too_large = String::from(header);
    while too_large.len() <= 8 * 1024 * 1024 {
        too_large.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    let mut too_many = String::from(header);
    for i in 0..10_001 {
        too_many.push_str(&format!("event e{i}\n"));
    }
    let generated = [("P0003-generated.pts", too_large), ("P0005-generated.pts", too_many)];
    let mut failures = Vec::new();
    for (name, text) in generated {
        std::fs::write(dir.join(name), text).expect("write case");
        let expected = ui_dir().join(name).with_extension("stderr");
        if let Err(e) = compare(&expected, &check_output(&dir, name)) {
            failures.push(e);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every diagnostic code has a UI case named after it whose output shows that code.
#[test]
fn every_diagnostic_code_has_a_ui_case() {
    let dir = ui_dir();
    let stderr_files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("tests/ui exists")
        .filter_map(|e| {
            let path = e.ok()?.path();
            if path.extension()? != "stderr" {
                return None;
            }
            let name = path.file_name()?.to_str()?.to_string();
            Some((name, std::fs::read_to_string(&path).ok()?))
        })
        .collect();
    let missing: Vec<&str> = puntos_dsl::Code::ALL
        .iter()
        .map(|c| c.id())
        .filter(|id| {
            !stderr_files
                .iter()
                .any(|(name, text)| name.starts_with(id) && text.contains(&format!("[{id}]")))
        })
        .collect();
    assert!(missing.is_empty(), "codes without a UI case: {missing:?}");
}
