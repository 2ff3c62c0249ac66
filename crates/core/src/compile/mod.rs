//! The compiler: a parsed `.pts` file in, an immutable [`Program`] out, or every error found.
//!
//! Passes, in order: collect names (duplicates); read the program header (currency, time zone,
//! rounding); check segments, then tiers, rules, promotions, coupons, offers and the redemption
//! block (clauses allowed, values valid, expressions typed); order segments and rules by their
//! dependencies (cycles); lints (warnings). It lives in `puntos` rather than `puntos-dsl` because
//! its output is the evaluator's input: the [`Program`] types, the schema of readable fields and
//! the evaluator change together, while the syntax crate stays free of semantics.

mod check;
mod clauses;
mod decls;
mod lints;
mod names;
mod order;

use crate::program::Program;
use puntos_dsl::{ParseOptions, SourceFile};

pub use puntos_dsl::Diagnostic;

/// Options for [`compile_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompileOptions {
    /// Limits on the source text (size, nesting, declaration count).
    pub parse: ParseOptions,
}

/// The outcome of compiling: the program if there were no errors, and every diagnostic
/// (warnings included) in source order.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The program, present exactly when no diagnostic is an error.
    pub program: Option<Program>,
    /// Errors and warnings, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Compiled {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parses and compiles `source` with the default limits.
///
/// ```
/// use puntos::compile::compile;
/// use puntos_dsl::SourceFile;
///
/// let source = SourceFile::new("demo.pts", r#"
/// program "Demo" { currency RUB  timezone "Europe/Moscow" }
/// rule base { on purchase  earn floor(basket.total / 10 RUB) points }
/// "#);
/// let compiled = compile(&source);
/// assert!(compiled.diagnostics.is_empty());
/// assert_eq!(compiled.program.map(|p| p.rules.len()), Some(1));
/// ```
pub fn compile(source: &SourceFile) -> Compiled {
    compile_with(source, CompileOptions::default())
}

/// Parses and compiles `source` under `options`. Never panics: every problem is a diagnostic.
pub fn compile_with(source: &SourceFile, options: CompileOptions) -> Compiled {
    let parsed = puntos_dsl::parse_with(source.text(), options.parse);
    let mut diagnostics = parsed.diagnostics;
    let syntax_ok = diagnostics.is_empty();
    let program = decls::lower(source, &parsed.file, &mut diagnostics, syntax_ok);
    puntos_dsl::sort_diagnostics(&mut diagnostics);
    let has_errors = diagnostics.iter().any(Diagnostic::is_error);
    Compiled {
        program: if has_errors { None } else { program },
        diagnostics,
    }
}
