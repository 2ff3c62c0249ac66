//! The exceptions a Python caller sees: `puntos.CompileError` for a program that does not
//! compile (with every diagnostic, its code, line and column, and the rendered text), and
//! `puntos.EvalError` for an input the evaluator refuses (with the field at fault).

use puntos_dsl::{Diagnostic as Found, SourceFile};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;

create_exception!(
    puntos,
    CompileError,
    PyException,
    "A program that does not compile. `code`, `message`, `line` and `column` are the first \
     error's; `diagnostics` lists them all; `rendered` is the text a terminal shows, with the \
     source lines underlined."
);

create_exception!(
    puntos,
    EvalError,
    PyValueError,
    "An input the evaluator refuses. `field` names the field at fault (such as \
     `transaction.lines[2].quantity`), or is None for a computation that failed in the \
     program (then `line` and `column` are its place)."
);

/// One problem the compiler found: an error or a warning, with its place.
#[pyclass(module = "puntos", frozen, get_all)]
#[derive(Clone)]
pub struct Diagnostic {
    /// The stable code, such as `P0203`.
    pub code: String,
    /// `error` or `warning`.
    pub severity: String,
    /// What is wrong.
    pub message: String,
    /// The one-based line of the problem's place.
    pub line: usize,
    /// The one-based column of the problem's place.
    pub column: usize,
    /// The one-based line where the place ends.
    pub end_line: usize,
    /// The one-based column where the place ends.
    pub end_column: usize,
    /// How to fix it, when there is a likely fix.
    pub help: Option<String>,
    /// Further facts (limits, cycles).
    pub notes: Vec<String>,
}

#[pymethods]
impl Diagnostic {
    fn __repr__(&self) -> String {
        format!(
            "<Diagnostic {} {} at {}:{}: {}>",
            self.severity, self.code, self.line, self.column, self.message
        )
    }

    fn __str__(&self) -> String {
        format!(
            "{}:{}: {}[{}]: {}",
            self.line, self.column, self.severity, self.code, self.message
        )
    }
}

impl Diagnostic {
    /// The diagnostic of `found` in `file`, placed at its primary label.
    pub fn of(file: &SourceFile, found: &Found) -> Diagnostic {
        let span = found
            .labels
            .iter()
            .find(|l| l.primary)
            .or(found.labels.first())
            .map(|l| l.span);
        let (start, end) = span.map_or((0, 0), |s| (s.start, s.end));
        let (from, to) = (file.line_col(start), file.line_col(end));
        Diagnostic {
            code: found.code.id().to_string(),
            severity: match found.severity {
                puntos_dsl::Severity::Error => "error",
                puntos_dsl::Severity::Warning => "warning",
            }
            .to_string(),
            message: found.message.clone(),
            line: from.line,
            column: from.column,
            end_line: to.line,
            end_column: to.column,
            help: found.help.clone(),
            notes: found.notes.clone(),
        }
    }
}

/// The `CompileError` for `diagnostics` of `file` (its first error gives the attributes).
pub fn compile_error(py: Python<'_>, file: &SourceFile, diagnostics: &[Found]) -> PyErr {
    let all: Vec<Diagnostic> = diagnostics
        .iter()
        .map(|d| Diagnostic::of(file, d))
        .collect();
    let errors: Vec<Found> = diagnostics
        .iter()
        .filter(|d| d.severity == puntos_dsl::Severity::Error)
        .cloned()
        .collect();
    let rendered = puntos_dsl::render::render_human(file, &errors, false);
    let first = all.iter().find(|d| d.severity == "error").cloned();
    let summary = match &first {
        Some(d) => format!(
            "{}:{}:{}: {} [{}]{}",
            file.name(),
            d.line,
            d.column,
            d.message,
            d.code,
            match errors.len() {
                0 | 1 => String::new(),
                n => format!(" (and {} more errors)", n - 1),
            }
        ),
        None => format!("{}: the program does not compile", file.name()),
    };
    let error = CompileError::new_err(summary);
    let value = error.value(py);
    let set = || -> PyResult<()> {
        value.setattr("code", first.as_ref().map(|d| d.code.clone()))?;
        value.setattr("message", first.as_ref().map(|d| d.message.clone()))?;
        value.setattr("line", first.as_ref().map(|d| d.line))?;
        value.setattr("column", first.as_ref().map(|d| d.column))?;
        value.setattr("rendered", rendered)?;
        value.setattr("diagnostics", all)?;
        Ok(())
    };
    match set() {
        Ok(()) => error,
        Err(e) => e,
    }
}

/// The `EvalError` for an evaluator's refusal.
pub fn eval_error(py: Python<'_>, error: &puntos::EvalError) -> PyErr {
    let raised = EvalError::new_err(error.to_string());
    let value = raised.value(py);
    let (line, column, message) = match error {
        puntos::EvalError::Input { message, .. } => (None, None, message.clone()),
        puntos::EvalError::Computation { at, message, .. } => {
            (Some(at.line), Some(at.column), message.clone())
        }
    };
    let set = || -> PyResult<()> {
        value.setattr("field", error.field())?;
        value.setattr("message", message)?;
        value.setattr("line", line)?;
        value.setattr("column", column)?;
        Ok(())
    };
    match set() {
        Ok(()) => raised,
        Err(e) => e,
    }
}
