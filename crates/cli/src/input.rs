//! Reading programs: folders expanded to their `.pts` files, size checked before reading,
//! UTF-8 checked with the place of the first bad byte.

use puntos_dsl::{Diagnostic, ParseOptions, SourceFile};
use std::path::{Path, PathBuf};

/// A program's text, or the diagnostic that stopped it from being read as text.
pub enum Loaded {
    /// The text.
    Source(SourceFile),
    /// The file was read but is not acceptable text (too large, not UTF-8).
    Rejected(SourceFile, Diagnostic),
}

/// Expands folders to the `.pts` files under them (sorted, so output order is stable).
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    expand_matching(paths, |path| path.extension().is_some_and(|e| e == "pts"))
}

/// Expands folders to the files under them that `wanted` accepts, sorted per folder; paths
/// that are files are kept as given.
pub fn expand_matching(
    paths: &[PathBuf],
    wanted: fn(&Path) -> bool,
) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            collect(path, wanted, &mut found)
                .map_err(|e| format!("cannot read folder `{}`: {e}", path.display()))?;
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn collect(dir: &Path, wanted: fn(&Path) -> bool, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, wanted, out)?;
        } else if wanted(&path) {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads one program (`-` is standard input). I/O failures are `Err` with a message.
pub fn load(path: &Path) -> Result<Loaded, String> {
    let limit = ParseOptions::default().max_source_bytes;
    let name = path.display().to_string();
    let bytes = if path.as_os_str() == "-" {
        let mut buffer = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().take(limit as u64 + 1), &mut buffer)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        buffer
    } else {
        let size = std::fs::metadata(path)
            .map_err(|e| format!("cannot read `{name}`: {e}"))?
            .len();
        if size > limit as u64 {
            let diagnostic = Diagnostic::new(
                puntos_dsl::Code::SourceTooLarge,
                puntos_dsl::Span::new(0, 0),
                format!("the file is {size} bytes, more than the limit of {limit} bytes"),
            )
            .with_help("split the program into several files");
            return Ok(Loaded::Rejected(SourceFile::new(name, ""), diagnostic));
        }
        std::fs::read(path).map_err(|e| format!("cannot read `{name}`: {e}"))?
    };
    match puntos_dsl::decode_source(&bytes) {
        Ok(text) => Ok(Loaded::Source(SourceFile::new(name, text))),
        Err(diagnostic) => {
            let valid = String::from_utf8_lossy(&bytes).into_owned();
            Ok(Loaded::Rejected(SourceFile::new(name, valid), diagnostic))
        }
    }
}

use std::io::Read as _;

/// Whether diagnostics on stderr should be coloured: a terminal, and `NO_COLOR` unset.
pub fn stderr_color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}
