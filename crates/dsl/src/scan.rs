//! A light pass over the raw text before pest runs.
//!
//! It does three jobs that a PEG parser cannot do safely or at all:
//! - counts bracket depth with an explicit counter, so deeply nested input is rejected before the
//!   (recursive) parser sees it;
//! - splits the file into declaration chunks, so each is parsed on its own and one syntax error
//!   does not hide the others;
//! - collects comments, which the grammar skips but the formatter must keep.
//!
//! Strings and comments are tracked so that brackets and keywords inside them are ignored.

use crate::ast::Comment;
use crate::Span;

/// Words that start a top-level declaration.
pub(crate) const DECLARATION_KEYWORDS: &[&str] = &[
    "program",
    "segment",
    "tier",
    "rule",
    "promotion",
    "coupon",
    "offer",
    "redemption",
    "event",
];

/// One declaration's text, to be parsed on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chunk {
    /// Byte range of the chunk in the file.
    pub span: Span,
    /// Where the bracket depth first went past the limit, if it did.
    pub too_deep_at: Option<usize>,
    /// The deepest bracket nesting seen in the chunk.
    pub max_depth: usize,
}

/// What the scanner found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Declaration chunks in order.
    pub chunks: Vec<Chunk>,
    /// Comments in order.
    pub comments: Vec<Comment>,
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether a declaration keyword starts at `i` (followed by a non-identifier byte).
fn keyword_at(bytes: &[u8], i: usize) -> bool {
    DECLARATION_KEYWORDS.iter().any(|kw| {
        let end = i + kw.len();
        bytes.get(i..end) == Some(kw.as_bytes())
            && bytes.get(end).is_none_or(|&b| !is_ident_byte(b))
    })
}

/// Scans `text`; brackets nesting deeper than `max_depth` are recorded on their chunk.
pub(crate) fn scan(text: &str, max_depth: usize) -> Scan {
    let bytes = text.as_bytes();
    let mut out = Scan::default();
    let mut depth: usize = 0;
    let mut chunk_start: Option<usize> = None;
    let mut too_deep_at: Option<usize> = None;
    let mut chunk_max_depth = 0;
    let mut line_start = true; // only whitespace seen since the last line end
    let mut last_code_end = 0;
    let mut i = 0;

    let close_chunk =
        |out: &mut Scan, start: Option<usize>, end: usize, deep: Option<usize>, max: usize| {
            if let Some(start) = start {
                out.chunks.push(Chunk {
                    span: Span::new(start, end),
                    too_deep_at: deep,
                    max_depth: max,
                });
            }
        };

    while let Some(&b) = bytes.get(i) {
        match b {
            b'\n' => {
                line_start = true;
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'#' => {
                let end = text
                    .get(i..)
                    .and_then(|rest| rest.find('\n'))
                    .map_or(text.len(), |n| i + n);
                let end_trimmed = end
                    - text
                        .get(i..end)
                        .map_or(0, |s| s.len() - s.trim_end_matches('\r').len());
                out.comments.push(Comment {
                    text: text.get(i..end_trimmed).unwrap_or("").to_string(),
                    span: Span::new(i, end_trimmed),
                    own_line: line_start,
                    follows: last_code_end,
                });
                i = end;
            }
            _ => {
                let at_column_zero = i == 0 || bytes.get(i - 1) == Some(&b'\n');
                if line_start && keyword_at(bytes, i) && (depth == 0 || at_column_zero) {
                    close_chunk(&mut out, chunk_start, i, too_deep_at, chunk_max_depth);
                    chunk_start = Some(i);
                    depth = 0;
                    too_deep_at = None;
                    chunk_max_depth = 0;
                } else if chunk_start.is_none() {
                    chunk_start = Some(i);
                }
                line_start = false;
                match b {
                    b'"' => i = skip_string(bytes, i),
                    b'(' | b'[' | b'{' => {
                        depth += 1;
                        chunk_max_depth = chunk_max_depth.max(depth);
                        if depth > max_depth && too_deep_at.is_none() {
                            too_deep_at = Some(i);
                        }
                        i += 1;
                    }
                    b')' | b']' | b'}' => {
                        depth = depth.saturating_sub(1);
                        i += 1;
                    }
                    _ => i += 1,
                }
                last_code_end = i;
            }
        }
    }
    close_chunk(
        &mut out,
        chunk_start,
        text.len(),
        too_deep_at,
        chunk_max_depth,
    );
    // A chunk's text ends where the next begins; trailing comments and blank lines belong to the
    // file, not to the declaration, so trim each chunk to its last non-blank, non-comment byte.
    for chunk in &mut out.chunks {
        chunk.span.end = code_end(text, chunk.span, &out.comments);
    }
    out
}

/// Index just past a string literal starting at `start` (at the quote). Strings end at a quote,
/// or at the line end when unterminated (the parser reports that).
fn skip_string(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            // An escape, but never of the line end: an unterminated string stops there.
            b'\\' if bytes.get(i + 1) != Some(&b'\n') => i += 2,
            b'"' => return i + 1,
            b'\n' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The end of the last byte in `span` that is neither whitespace nor inside a comment.
/// `comments` are in source order; finding the one a position falls in is a binary search.
pub(crate) fn code_end(text: &str, span: Span, comments: &[Comment]) -> usize {
    let mut end = span.end;
    loop {
        let trimmed = text.get(span.start..end).map_or(span.start, |s| {
            span.start + s.trim_end_matches([' ', '\t', '\r', '\n']).len()
        });
        // The comment the trimmed text ends inside (its own trailing blanks were trimmed too).
        let before = comments.partition_point(|c| c.span.start < trimmed);
        match before.checked_sub(1).and_then(|i| comments.get(i)) {
            Some(comment) if comment.span.start >= span.start && comment.span.end >= trimmed => {
                end = comment.span.start;
            }
            _ => return trimmed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk_texts(text: &str) -> Vec<&str> {
        scan(text, 64)
            .chunks
            .iter()
            .map(|c| &text[c.span.start..c.span.end])
            .collect()
    }

    #[test]
    fn splits_at_top_level_keywords_only() {
        let text = "rule a {\n  on purchase\n}\n# note\nsegment s = x\nrule b { on purchase }\n";
        assert_eq!(
            chunk_texts(text),
            vec![
                "rule a {\n  on purchase\n}",
                "segment s = x",
                "rule b { on purchase }"
            ]
        );
    }

    #[test]
    fn resyncs_at_column_zero_after_an_unclosed_brace() {
        let text = "rule a {\n  on purchase\nrule b { on purchase }";
        assert_eq!(chunk_texts(text).len(), 2);
    }

    #[test]
    fn ignores_brackets_and_hashes_in_strings() {
        let text = "program \"a { # b\" {\n  currency RUB\n}";
        let scanned = scan(text, 64);
        assert_eq!(scanned.chunks.len(), 1);
        assert!(scanned.comments.is_empty());
        assert_eq!(scanned.chunks[0].max_depth, 1);
    }

    #[test]
    fn records_where_nesting_passes_the_limit() {
        let text = format!("segment s = {}x{}", "(".repeat(10), ")".repeat(10));
        let scanned = scan(&text, 4);
        assert_eq!(scanned.chunks[0].too_deep_at, Some(16));
    }
}
