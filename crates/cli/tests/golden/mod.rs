//! Golden-file comparison shared by the CLI's output tests: `PUNTOS_BLESS=1` rewrites the
//! expected files after a deliberate change (review the diff), otherwise a difference fails.

use std::path::Path;

/// Compares `actual` with the file at `expected_path`, or rewrites it when blessing.
pub fn compare(expected_path: &Path, actual: &str) -> Result<(), String> {
    if std::env::var_os("PUNTOS_BLESS").is_some() {
        std::fs::write(expected_path, actual).map_err(|e| e.to_string())?;
        return Ok(());
    }
    let expected = std::fs::read_to_string(expected_path).map_err(|_| {
        format!(
            "{} is missing; run with PUNTOS_BLESS=1 to create it",
            expected_path.display()
        )
    })?;
    if expected == actual {
        Ok(())
    } else {
        Err(format!(
            "{} differs\n--- expected\n{expected}\n--- actual\n{actual}",
            expected_path.display()
        ))
    }
}

/// Runs `puntos ARGS` in `dir` and returns the transcript a golden file holds: the command,
/// its exit code, its standard output then its standard error.
#[allow(dead_code)] // Each test binary includes this module; not all of them run commands in a folder.
pub fn transcript(dir: &Path, args: &[&str]) -> String {
    let output = match std::process::Command::new(env!("CARGO_BIN_EXE_puntos"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
    {
        Ok(output) => output,
        Err(e) => return format!("the puntos binary did not run: {e}\n"),
    };
    format!(
        "$ puntos {}\nexit {}\n{}{}",
        args.join(" "),
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
