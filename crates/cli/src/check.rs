//! `puntos check`: compile each program and report every diagnostic.

use crate::input::{expand, load, stderr_color, Loaded};
use crate::Format;
use puntos_dsl::render::{render_human, to_json};
use puntos_dsl::{Diagnostic, SourceFile};
use std::path::PathBuf;

/// Runs the command; returns the exit code.
pub fn run(paths: &[PathBuf], format: Format) -> u8 {
    let files = match expand(paths) {
        Ok(files) => files,
        Err(message) => {
            eprintln!("error: {message}");
            return 2;
        }
    };
    let mut results: Vec<(SourceFile, Vec<Diagnostic>)> = Vec::new();
    for path in &files {
        match load(path) {
            Ok(Loaded::Source(source)) => {
                let compiled = puntos::compile(&source);
                results.push((source, compiled.diagnostics));
            }
            Ok(Loaded::Rejected(source, diagnostic)) => results.push((source, vec![diagnostic])),
            Err(message) => {
                eprintln!("error: {message}");
                return 2;
            }
        }
    }
    let errors = results
        .iter()
        .flat_map(|(_, d)| d)
        .filter(|d| d.is_error())
        .count();
    let warnings = results.iter().flat_map(|(_, d)| d).count() - errors;
    match format {
        Format::Human => {
            let color = stderr_color();
            for (source, diagnostics) in &results {
                eprint!("{}", render_human(source, diagnostics, color));
            }
            eprintln!(
                "checked {} {}: {} {}, {} {}",
                files.len(),
                plural(files.len(), "file", "files"),
                errors,
                plural(errors, "error", "errors"),
                warnings,
                plural(warnings, "warning", "warnings")
            );
        }
        Format::Json => {
            let diagnostics: Vec<_> = results
                .iter()
                .flat_map(|(source, diagnostics)| to_json(source, diagnostics))
                .collect();
            let document = serde_json::json!({
                "files": files.len(),
                "errors": errors,
                "warnings": warnings,
                "diagnostics": diagnostics,
            });
            outln!("{document}");
        }
    }
    u8::from(errors > 0)
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}
