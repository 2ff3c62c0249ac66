//! Diagnostics as data: a code, a message, labelled spans and help. Rendering lives in `render`.

use crate::{Code, Span};
use serde::Serialize;

/// Whether a diagnostic stops the program from compiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The program cannot be compiled.
    Error,
    /// The program compiles, but something is probably not what the author meant.
    Warning,
}

/// A span with a short message, drawn under the source line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    /// What the label points at.
    pub span: Span,
    /// The text written beside the underline (may be empty).
    pub message: String,
    /// The primary label marks the place of the problem (`^^^`); secondary ones give context (`---`).
    pub primary: bool,
}

/// One problem found in a source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The stable code, such as `P0203`.
    pub code: Code,
    /// Error or warning; follows from the code.
    pub severity: Severity,
    /// A lowercase sentence saying what is wrong, with user text in backticks.
    pub message: String,
    /// The labelled places; the first primary one is the diagnostic's location.
    pub labels: Vec<Label>,
    /// How to fix it, when there is a likely fix.
    pub help: Option<String>,
    /// Extra facts (limits, cycles) that are not a fix.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic of `code` at `span`, with `message` and a primary label with no text.
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            labels: vec![Label {
                span,
                message: String::new(),
                primary: true,
            }],
            help: None,
            notes: Vec::new(),
        }
    }

    /// Sets the text of the primary label.
    pub fn with_label(mut self, message: impl Into<String>) -> Self {
        if let Some(label) = self.labels.iter_mut().find(|l| l.primary) {
            label.message = message.into();
        }
        self
    }

    /// Adds a secondary label at `span`.
    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: false,
        });
        self
    }

    /// Sets the help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a note line.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// The span of the primary label (the diagnostic's location).
    pub fn primary_span(&self) -> Span {
        self.labels
            .iter()
            .find(|l| l.primary)
            .map(|l| l.span)
            .unwrap_or_default()
    }

    /// Whether this diagnostic is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Sorts diagnostics by position, then code, so output is stable whatever order passes ran in.
pub fn sort_diagnostics(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.primary_span().start, a.code, &a.message).cmp(&(
            b.primary_span().start,
            b.code,
            &b.message,
        ))
    });
}

/// The closest of `candidates` to `word` by edit distance, if close enough to be a likely typo.
///
/// Used for every "did you mean" hint, so the threshold is the same everywhere.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by(|(da, a), (db, b)| da.cmp(db).then(a.cmp(b)))
        .map(|(_, c)| c)
}

/// Optimal string alignment distance counted in characters: the fewest insertions, deletions,
/// substitutions and swaps of two adjacent characters (each one edit) that turn `a` into `b`,
/// no substring being edited twice. A swap is the commonest typo (`Glod` for `Gold`), so it
/// counts as one edit, not two.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Rows i-2, i-1 and i of the distance table, each of b.len() + 1 cells.
    let mut before: Vec<usize> = Vec::new();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous.get(j).copied().unwrap_or(0) + usize::from(ca != cb);
            let delete = previous.get(j + 1).copied().unwrap_or(0) + 1;
            let insert = current.get(j).copied().unwrap_or(0) + 1;
            let mut best = substitute.min(delete).min(insert);
            let swapped =
                i > 0 && j > 0 && a.get(i - 1) == Some(cb) && b.get(j - 1) == Some(ca) && ca != cb;
            if swapped {
                if let Some(d) = before.get(j - 1) {
                    best = best.min(d + 1);
                }
            }
            current.push(best);
        }
        before = std::mem::replace(&mut previous, current);
    }
    previous.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let fields = ["birth_date", "enrolled_at", "tier"];
        assert_eq!(did_you_mean("birthdate", fields), Some("birth_date"));
        assert_eq!(did_you_mean("teir", fields), Some("tier"));
        assert_eq!(did_you_mean("postcode", fields), None);
    }

    #[test]
    fn a_swap_of_adjacent_letters_is_one_edit() {
        assert_eq!(edit_distance("Glod", "Gold"), 1);
        assert_eq!(edit_distance("teir", "tier"), 1);
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(did_you_mean("Glod", ["Gold", "Silver"]), Some("Gold"));
        assert_eq!(
            did_you_mean("purhcase", ["purchase", "refund"]),
            Some("purchase")
        );
    }

    #[test]
    fn edit_distance_counts_other_edits_as_before() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("gold", "gold"), 0);
        assert_eq!(edit_distance("gold", "golds"), 1);
        assert_eq!(edit_distance("gold", "bold"), 1);
        // Optimal string alignment edits no substring twice: `ca` to `abc` is 3, not 2.
        assert_eq!(edit_distance("ca", "abc"), 3);
        // Two separate swaps are two edits.
        assert_eq!(edit_distance("abcd", "badc"), 2);
        // Counted in characters, not bytes.
        assert_eq!(edit_distance("Лето", "Леот"), 1);
    }

    #[test]
    fn a_swap_is_not_suggested_for_short_words_beyond_the_limit() {
        // Two letters allow one edit: a swap is enough, two substitutions are not.
        assert_eq!(did_you_mean("ba", ["ab"]), Some("ab"));
        assert_eq!(did_you_mean("xy", ["ab"]), None);
    }
}
