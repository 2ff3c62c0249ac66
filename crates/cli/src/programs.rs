//! Loading the program versions a command evaluates against: files or folders of `.pts`
//! files, compiled, with errors rendered as `puntos check` renders them.

use crate::input::{expand, load, stderr_color, Loaded};
use puntos::program::Program;
use puntos::Versions;
use puntos_dsl::render::render_human;
use puntos_dsl::SourceFile;
use std::path::PathBuf;

/// Why programs could not be loaded, with the exit code to use.
pub struct Failed {
    /// 1: the programs have errors; 2: they could not be read.
    pub exit: u8,
}

/// Compiles every program under `paths` into effective-dated versions; on failure prints why.
pub fn load_versions(paths: &[PathBuf]) -> Result<Versions, Failed> {
    let files = expand(paths).map_err(|message| {
        eprintln!("error: {message}");
        Failed { exit: 2 }
    })?;
    if files.is_empty() {
        eprintln!("error: no `.pts` program found in the paths given");
        return Err(Failed { exit: 2 });
    }
    let mut programs = Vec::new();
    let mut failed = false;
    for path in &files {
        match load(path) {
            Ok(Loaded::Source(source)) => match compile_source(&source) {
                Some(program) => programs.push(program),
                None => failed = true,
            },
            Ok(Loaded::Rejected(source, diagnostic)) => {
                eprint!("{}", render_human(&source, &[diagnostic], stderr_color()));
                failed = true;
            }
            Err(message) => {
                eprintln!("error: {message}");
                return Err(Failed { exit: 2 });
            }
        }
    }
    if failed {
        eprintln!("error: the program has errors; run `puntos check` for details");
        return Err(Failed { exit: 1 });
    }
    Versions::new(programs).map_err(|message| {
        eprintln!("error: {message}");
        Failed { exit: 1 }
    })
}

/// Compiles one program's text; on errors prints them as `puntos check` does and gives none.
pub fn compile_source(source: &SourceFile) -> Option<Program> {
    let compiled = puntos::compile(source);
    if compiled.program.is_none() {
        let errors: Vec<_> = compiled
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .cloned()
            .collect();
        eprint!("{}", render_human(source, &errors, stderr_color()));
    }
    compiled.program
}
