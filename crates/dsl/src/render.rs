//! The one renderer for diagnostics: rustc-style text for people, JSON for editors and the playground.

use crate::{Diagnostic, Severity, SourceFile};
use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor, Chars, Config};
use serde::Serialize;

/// Renders `diagnostics` as rustc-style text with the source lines, coloured when `color` is true.
pub fn render_human(file: &SourceFile, diagnostics: &[Diagnostic], color: bool) -> String {
    let simple = SimpleFile::new(file.name(), file.text());
    let config = Config {
        chars: Chars::ascii(),
        ..Config::default()
    };
    let mut buffer = if color {
        termcolor::Buffer::ansi()
    } else {
        termcolor::Buffer::no_color()
    };
    for diagnostic in diagnostics {
        let rendered = to_codespan(file, diagnostic);
        // Writing to an in-memory buffer fails only on a span outside the file, which the
        // clamping in `to_codespan` rules out; fall back to the bare message rather than panic.
        if term::emit_to_write_style(&mut buffer, &config, &simple, &rendered).is_err() {
            buffer_write_plain(&mut buffer, diagnostic);
        }
    }
    String::from_utf8_lossy(buffer.as_slice()).into_owned()
}

fn buffer_write_plain(buffer: &mut termcolor::Buffer, diagnostic: &Diagnostic) {
    use std::io::Write;
    let _ = writeln!(
        buffer,
        "{}[{}]: {}",
        severity_word(diagnostic.severity),
        diagnostic.code,
        diagnostic.message
    );
}

fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn to_codespan(file: &SourceFile, diagnostic: &Diagnostic) -> cs::Diagnostic<()> {
    let len = file.text().len();
    let clamp = |s: usize| {
        let mut s = s.min(len);
        while s > 0 && !file.text().is_char_boundary(s) {
            s -= 1;
        }
        s
    };
    let labels = diagnostic
        .labels
        .iter()
        .map(|l| {
            let range = clamp(l.span.start)..clamp(l.span.end);
            let label = if l.primary {
                cs::Label::primary((), range)
            } else {
                cs::Label::secondary((), range)
            };
            label.with_message(l.message.clone())
        })
        .collect();
    let mut notes: Vec<String> = diagnostic
        .notes
        .iter()
        .map(|n| format!("note: {n}"))
        .collect();
    if let Some(help) = &diagnostic.help {
        notes.push(format!("help: {help}"));
    }
    let base = match diagnostic.severity {
        Severity::Error => cs::Diagnostic::error(),
        Severity::Warning => cs::Diagnostic::warning(),
    };
    base.with_code(diagnostic.code.id())
        .with_message(diagnostic.message.clone())
        .with_labels(labels)
        .with_notes(notes)
}

/// One diagnostic in the JSON output, with positions resolved to lines and columns.
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic<'a> {
    /// The file's display name.
    pub file: &'a str,
    /// The stable code.
    pub code: &'static str,
    /// `error` or `warning`.
    pub severity: Severity,
    /// The message.
    pub message: &'a str,
    /// Labels with byte offsets and one-based line/column of both ends.
    pub labels: Vec<JsonLabel<'a>>,
    /// The help line, if any.
    pub help: Option<&'a str>,
    /// Notes.
    pub notes: &'a [String],
}

/// A label in the JSON output.
#[derive(Debug, Serialize)]
pub struct JsonLabel<'a> {
    /// Byte offset of the start.
    pub start: usize,
    /// Byte offset one past the end.
    pub end: usize,
    /// Line and column of the start.
    pub start_line_col: crate::LineCol,
    /// Line and column of the end.
    pub end_line_col: crate::LineCol,
    /// The label text.
    pub message: &'a str,
    /// Whether this is the primary label.
    pub primary: bool,
}

/// Converts diagnostics to their JSON shape (one object each), for editors and the web playground.
pub fn to_json<'a>(file: &'a SourceFile, diagnostics: &'a [Diagnostic]) -> Vec<JsonDiagnostic<'a>> {
    diagnostics
        .iter()
        .map(|d| JsonDiagnostic {
            file: file.name(),
            code: d.code.id(),
            severity: d.severity,
            message: &d.message,
            labels: d
                .labels
                .iter()
                .map(|l| JsonLabel {
                    start: l.span.start,
                    end: l.span.end,
                    start_line_col: file.line_col(l.span.start),
                    end_line_col: file.line_col(l.span.end),
                    message: &l.message,
                    primary: l.primary,
                })
                .collect(),
            help: d.help.as_deref(),
            notes: &d.notes,
        })
        .collect()
}
