//! `puntos fmt`: rewrite programs in the canonical layout, or check that they are.

use crate::input::{expand, load, stderr_color, Loaded};
use puntos_dsl::render::render_human;
use std::path::PathBuf;

/// Runs the command; returns the exit code.
pub fn run(paths: &[PathBuf], check: bool) -> u8 {
    let files = match expand(paths) {
        Ok(files) => files,
        Err(message) => {
            eprintln!("error: {message}");
            return 2;
        }
    };
    let color = stderr_color();
    let mut status = 0;
    let mut unformatted = 0;
    for path in &files {
        let source = match load(path) {
            Ok(Loaded::Source(source)) => source,
            Ok(Loaded::Rejected(source, diagnostic)) => {
                eprint!("{}", render_human(&source, &[diagnostic], color));
                status = 1;
                continue;
            }
            Err(message) => {
                eprintln!("error: {message}");
                return 2;
            }
        };
        let parsed = puntos_dsl::parse(source.text());
        if !parsed.diagnostics.is_empty() {
            // Formatting a file with syntax errors would drop the declarations that failed.
            eprint!("{}", render_human(&source, &parsed.diagnostics, color));
            eprintln!("not formatted: `{}` has syntax errors", source.name());
            status = 1;
            continue;
        }
        let formatted = puntos_dsl::format(&parsed.file);
        let stdin = path.as_os_str() == "-";
        if check {
            if formatted != source.text() {
                outln!("would reformat {}", source.name());
                unformatted += 1;
            }
        } else if stdin {
            out!("{formatted}");
        } else if formatted != source.text() {
            if let Err(e) = std::fs::write(path, formatted) {
                eprintln!("error: cannot write `{}`: {e}", source.name());
                return 2;
            }
            outln!("formatted {}", source.name());
        }
    }
    if unformatted > 0 {
        eprintln!(
            "{unformatted} of {} files would be reformatted; run `puntos fmt` on them",
            files.len()
        );
        status = 1;
    }
    status
}
