//! The front end of the puntos rule language: `.pts` text in, a syntax tree with spans and
//! diagnostics out. No evaluation happens here; the `puntos` crate compiles the tree.
//!
//! ```
//! let parsed = puntos_dsl::parse("program \"Demo\" { currency RUB }\nrule base { on purchase earn 1 points }");
//! assert!(parsed.diagnostics.is_empty());
//! assert_eq!(parsed.file.decls.len(), 2);
//! let formatted = puntos_dsl::format(&parsed.file);
//! assert!(formatted.starts_with("program \"Demo\" {\n  currency RUB\n}\n"));
//! ```
//!
//! Modules, each with one job: [`source`] (text, spans, lines), [`ast`] (the tree), `scan`
//! (comments, declaration chunks, bracket depth), `parser` (pest to tree, limits), [`format()`]
//! (the canonical layout), [`codes`] (the diagnostic code table), `diagnostic` and [`render`].

pub mod ast;
pub mod codes;
mod diagnostic;
mod format;
extern crate alloc;
mod parser;
pub mod render;
mod scan;
pub mod source;

pub use codes::Code;
pub use diagnostic::{did_you_mean, sort_diagnostics, Diagnostic, Label, Severity};
pub use format::{expr as format_expr, format};
pub use parser::{parse, parse_with, ParseOptions, Parsed};
pub use source::{LineCol, SourceFile, Span};

/// Reads source bytes as UTF-8 (a leading byte-order mark, as some Windows editors write, is
/// dropped), or returns a diagnostic pointing at the first invalid byte.
pub fn decode_source(bytes: &[u8]) -> Result<&str, Diagnostic> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        Diagnostic::new(
            Code::InvalidUtf8,
            Span::new(at, at),
            format!("the file is not valid UTF-8: byte {at} starts an invalid sequence"),
        )
        .with_help("save the file as UTF-8")
    })
}
