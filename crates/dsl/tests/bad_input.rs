//! Hostile and broken input: every case ends in a clear diagnostic (or is accepted), never in a
//! panic or a stack overflow.

// Test code may panic on a broken expectation, helpers included (clippy.toml only covers
// `#[test]` functions themselves).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use puntos_dsl::ast::DeclKind;
use puntos_dsl::{decode_source, parse, parse_with, Code, Diagnostic, ParseOptions, Parsed};

/// Runs `f` on a fresh thread with an ordinary 2 MiB stack, whatever `RUST_MIN_STACK` says, so a
/// recursion that would overflow a normal stack fails the test (the process aborts).
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

fn codes(parsed: &Parsed) -> Vec<Code> {
    parsed.diagnostics.iter().map(|d| d.code).collect()
}

fn only(parsed: &Parsed, code: Code) -> &Diagnostic {
    assert_eq!(codes(parsed), vec![code], "{:#?}", parsed.diagnostics);
    &parsed.diagnostics[0]
}

fn assert_spans_within(text: &str, parsed: &Parsed) {
    for d in &parsed.diagnostics {
        for label in &d.labels {
            assert!(
                label.span.start <= label.span.end && label.span.end <= text.len(),
                "span {:?} outside the text ({} bytes): {d:?}",
                label.span,
                text.len()
            );
        }
    }
}

// ------------------------------------------------------------------ empty input

#[test]
fn an_empty_file_has_no_declarations_and_no_diagnostics() {
    let parsed = parse("");
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    assert!(parsed.file.decls.is_empty());
    assert!(parsed.file.comments.is_empty());
}

#[test]
fn a_whitespace_and_comment_only_file_has_no_declarations_and_no_diagnostics() {
    let text = "\n   \t\r\n# just a note\n\n    # another { ( [ \"\n\t# rule x { on purchase }\n";
    let parsed = parse(text);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    assert!(parsed.file.decls.is_empty());
    assert_eq!(parsed.file.comments.len(), 3);
    assert_eq!(parsed.file.comments[2].text, "# rule x { on purchase }");
}

// ------------------------------------------------------------------ encoding

#[test]
fn invalid_utf8_points_at_the_first_bad_byte() {
    let mut bytes = b"program \"Caf".to_vec();
    let bad_at = bytes.len();
    bytes.extend_from_slice(&[0xC3, 0x28]); // a lead byte followed by a non-continuation byte
    bytes.extend_from_slice(b"\" { currency RUB }\n\xFF\n");
    let diagnostic = decode_source(&bytes).unwrap_err();
    assert_eq!(diagnostic.code, Code::InvalidUtf8);
    assert_eq!(diagnostic.primary_span().start, bad_at);
    assert!(
        diagnostic.message.contains(&format!("byte {bad_at}")),
        "{}",
        diagnostic.message
    );

    let lone = decode_source(b"\xFFrule").unwrap_err();
    assert_eq!(lone.code, Code::InvalidUtf8);
    assert_eq!(lone.primary_span().start, 0);

    // A truncated multi-byte character at the very end is also caught.
    let truncated = decode_source("rule é".as_bytes().split_last().unwrap().1).unwrap_err();
    assert_eq!(truncated.primary_span().start, "rule ".len());

    assert_eq!(decode_source("rule ok".as_bytes()).unwrap(), "rule ok");
}

// ------------------------------------------------------------------ size

#[test]
fn a_ten_megabyte_file_is_too_large() {
    let rule = "rule r { on purchase earn 1 points }\n";
    let text = rule.repeat(10 * 1000 * 1000 / rule.len() + 1);
    assert!(text.len() > 10_000_000);
    let parsed = parse(&text);
    let d = only(&parsed, Code::SourceTooLarge);
    assert!(d.message.contains(&text.len().to_string()), "{}", d.message);
    assert!(
        d.message.contains(&(8 * 1024 * 1024).to_string()),
        "{}",
        d.message
    );
    assert!(parsed.file.decls.is_empty());
    assert_spans_within(&text, &parsed);
}

#[test]
fn the_source_size_limit_is_configurable() {
    let text = "rule r { on purchase earn 1 points }";
    let exact = parse_with(text, ParseOptions::default().max_source_bytes(text.len()));
    assert!(exact.diagnostics.is_empty(), "{:?}", exact.diagnostics);
    assert_eq!(exact.file.decls.len(), 1);

    let limit = text.len() - 1;
    let over = parse_with(text, ParseOptions::default().max_source_bytes(limit));
    let d = only(&over, Code::SourceTooLarge);
    assert!(
        d.message.contains(&format!("limit of {limit} bytes")),
        "{}",
        d.message
    );

    // A file just under the default limit is not rejected for its size.
    let filler = format!(
        "rule r {{ on purchase }}\n{}",
        "#".repeat(8 * 1024 * 1024 - 40)
    );
    let parsed = parse(&filler);
    assert!(parsed.diagnostics.is_empty(), "{:?}", codes(&parsed));
}

// ------------------------------------------------------------------ nesting

fn assert_too_deep_or_accepted(text: String) {
    let len = text.len();
    let parsed = on_small_stack(move || {
        let parsed = parse(&text);
        assert_spans_within(&text, &parsed);
        // The formatter must cope with whatever the parser accepted.
        let _ = puntos_dsl::format(&parsed.file);
        parsed
    });
    match codes(&parsed).as_slice() {
        [] => {}
        [Code::NestingTooDeep] => {
            let d = &parsed.diagnostics[0];
            assert!(d.message.contains("limit of 64"), "{}", d.message);
            assert!(d.primary_span().end <= len);
        }
        other => panic!("expected NestingTooDeep or nothing, got {other:?}"),
    }
}

#[test]
fn ten_thousand_nested_parentheses_are_too_deep() {
    let n = 10_000;
    let text = format!("segment s = {}x{}", "(".repeat(n), ")".repeat(n));
    let parsed = on_small_stack(move || parse(&text));
    let d = only(&parsed, Code::NestingTooDeep);
    assert!(d.message.contains("limit of 64"), "{}", d.message);
    assert!(d.message.contains("10000"), "{}", d.message);
    // The 65th bracket is the first past the limit.
    let at = "segment s = ".len() + 64;
    assert_eq!(d.primary_span().start, at);
}

#[test]
fn ten_thousand_nested_lists_are_too_deep() {
    let n = 10_000;
    let text = format!(
        "rule r {{\n  when x in {}1{}\n}}",
        "[".repeat(n),
        "]".repeat(n)
    );
    let parsed = on_small_stack(move || parse(&text));
    let d = only(&parsed, Code::NestingTooDeep);
    assert!(d.message.contains("limit of 64"), "{}", d.message);
}

#[test]
fn a_hundred_thousand_term_sum_is_rejected_or_accepted_without_a_crash() {
    let text = format!("segment s = a{}", " + a".repeat(100_000 - 1));
    assert_too_deep_or_accepted(text);
}

#[test]
fn a_hundred_thousand_nots_are_rejected_or_accepted_without_a_crash() {
    let text = format!("segment s = {}x", "not ".repeat(100_000));
    assert_too_deep_or_accepted(text);
}

#[test]
fn ten_thousand_chained_ofs_are_rejected_or_accepted_without_a_crash() {
    let text = format!(
        "rule r {{\n  on purchase\n  earn {}base\n}}",
        "10% of ".repeat(10_000)
    );
    assert_too_deep_or_accepted(text);
}

/// Nesting shapes, each one bracket deeper per repetition: what goes between `when ` and the
/// innermost `x`, and what closes it.
const SHAPES: &[(&str, &str, &str)] = &[
    ("parentheses", "(", ")"),
    ("sums", "a + (", ")"),
    ("comparisons", "a = (", ")"),
    ("between", "a between (", ") and b"),
    ("calls", "f(", ")"),
    ("filtered arguments", "sum(x where ", ")"),
    ("items arguments", "count(items where ", ")"),
    ("lists", "[", "]"),
    ("in lists", "a in [", "]"),
    ("of", "10% of (", ")"),
    ("negation", "-(", ")"),
    ("not", "not (", ")"),
    ("and", "a and (", ")"),
    ("or", "a or (", ")"),
    ("products", "a * (", ")"),
];

#[test]
fn nesting_up_to_the_limit_never_overflows_a_normal_stack() {
    // 64 brackets is the default limit. Every shape is accepted or rejected with a clear
    // diagnostic; none exhausts the parser's stack ("stack limit reached") or the thread's.
    for &(name, open, close) in SHAPES {
        let text = format!(
            "rule r {{\n  when {}x{}\n}}",
            open.repeat(63),
            close.repeat(63)
        );
        let parsed = on_small_stack(move || {
            let parsed = parse(&text);
            let formatted = puntos_dsl::format(&parsed.file);
            (parsed, formatted)
        });
        match codes(&parsed.0).as_slice() {
            [] => assert!(parsed.1.starts_with("rule r {\n  when "), "{name}"),
            [Code::NestingTooDeep] => {}
            other => panic!("{name}: {other:?} {:?}", parsed.0.diagnostics),
        }
    }
    // A mixture: four brackets per level, 15 levels.
    let level = ("not (a + 1 >= f(b, x where [1, (", ")]) and c)");
    let text = format!(
        "rule r {{\n  when {}x{}\n}}",
        level.0.repeat(15),
        level.1.repeat(15)
    );
    let parsed = on_small_stack(move || parse(&text));
    // 61 brackets pass the scanner; the operators inside them are what is too deep.
    let d = only(&parsed, Code::NestingTooDeep);
    assert!(d.message.contains("limit of 64"), "{}", d.message);
}

#[test]
fn parentheses_and_lists_at_the_limit_are_accepted_and_one_more_is_not() {
    for (open, close) in [("(", ")"), ("[", "]")] {
        // The rule's block is one level; 63 more reach the limit of 64.
        let at_limit = format!(
            "rule r {{\n  when {}x{}\n}}",
            open.repeat(63),
            close.repeat(63)
        );
        let parsed = on_small_stack(move || parse(&at_limit));
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        assert_eq!(parsed.file.decls.len(), 1);

        let past = format!(
            "rule r {{\n  when {}x{}\n}}",
            open.repeat(64),
            close.repeat(64)
        );
        let parsed = on_small_stack(move || parse(&past));
        let d = only(&parsed, Code::NestingTooDeep);
        assert!(d.message.contains("65 levels"), "{}", d.message);
        assert!(d.message.contains("limit of 64"), "{}", d.message);
    }
}

#[test]
fn the_depth_limit_is_configurable() {
    let text = format!("segment s = {}x{}", "(".repeat(10), ")".repeat(10));
    let strict = parse_with(&text, ParseOptions::default().max_depth(9));
    let d = only(&strict, Code::NestingTooDeep);
    assert!(d.message.contains("limit of 9"), "{}", d.message);
    let loose = parse_with(&text, ParseOptions::default().max_depth(10));
    assert!(loose.diagnostics.is_empty(), "{:?}", loose.diagnostics);

    // Operator chains count too: 10 terms make 9 nested additions.
    let chain = format!("segment s = a{}", " + a".repeat(9));
    let d = only(
        &parse_with(&chain, ParseOptions::default().max_depth(8)),
        Code::NestingTooDeep,
    )
    .clone();
    assert!(d.message.contains("limit of 8"), "{}", d.message);
    assert!(parse_with(&chain, ParseOptions::default().max_depth(10))
        .diagnostics
        .is_empty());
}

// ------------------------------------------------------------------ declaration count

fn minimal_rules(n: usize) -> String {
    let mut text = String::with_capacity(n * 40);
    for i in 0..n {
        text.push_str(&format!("rule r{i} {{ on purchase earn 1 points }}\n"));
    }
    text
}

#[test]
fn a_hundred_thousand_rules_are_too_many() {
    let text = minimal_rules(100_000);
    let parsed = parse(&text);
    let d = only(&parsed, Code::TooManyDeclarations);
    assert!(d.message.contains("limit of 10000"), "{}", d.message);
    assert!(d.message.contains("100000 declarations"), "{}", d.message);
    // The diagnostic points at the first declaration past the limit.
    let first_past = text.find("rule r10000 ").unwrap();
    assert_eq!(d.primary_span().start, first_past);
    assert_spans_within(&text, &parsed);
}

#[test]
fn with_a_raised_limit_a_hundred_thousand_rules_parse() {
    let text = minimal_rules(100_000);
    let parsed = parse_with(&text, ParseOptions::default().max_declarations(100_000));
    assert!(
        parsed.diagnostics.is_empty(),
        "{:?}",
        &parsed.diagnostics[..1]
    );
    assert_eq!(parsed.file.decls.len(), 100_000);
    let last = parsed.file.decls.last().unwrap();
    assert_eq!(last.name().unwrap().name, "r99999");
}

#[test]
fn the_declaration_limit_is_exact() {
    let text = minimal_rules(300);
    let at_limit = parse_with(&text, ParseOptions::default().max_declarations(300));
    assert!(at_limit.diagnostics.is_empty());
    assert_eq!(at_limit.file.decls.len(), 300);

    let one_short = parse_with(&text, ParseOptions::default().max_declarations(299));
    let d = only(&one_short, Code::TooManyDeclarations);
    assert!(d.message.contains("limit of 299"), "{}", d.message);
    assert!(d.message.contains("300 declarations"), "{}", d.message);
    // The declarations before the limit are still there for the tools that want them.
    assert_eq!(one_short.file.decls.len(), 299);
}

// ------------------------------------------------------------------ recovery

#[test]
fn syntax_errors_in_two_declarations_leave_the_one_between_them() {
    let text = "rule broken_a {\n  on purchase\n  earn 1 pointz\n}\n\nsegment fine = customer.age >= 18\n\npromotion broken_b {\n  valid 2026-01-01 ..\n}\n";
    let parsed = parse(text);
    assert_eq!(
        codes(&parsed),
        vec![Code::Syntax, Code::Syntax],
        "{:#?}",
        parsed.diagnostics
    );
    assert_eq!(parsed.file.decls.len(), 1);
    assert!(matches!(
        &parsed.file.decls[0].kind,
        DeclKind::Segment { name, .. } if name.name == "fine"
    ));
    // Each error is reported inside its own declaration, where the text goes wrong.
    let first = parsed.diagnostics[0].primary_span().start;
    assert_eq!(first, text.find("pointz").unwrap());
    let second = parsed.diagnostics[1].primary_span().start;
    assert!(second > text.find("promotion").unwrap(), "{second}");
    assert!(parsed.diagnostics[0].message.starts_with("expected "));
    assert_spans_within(text, &parsed);
}

#[test]
fn an_unclosed_brace_does_not_swallow_the_next_declaration() {
    let text = "rule a {\n  on purchase\n  when (basket.total >= 100 RUB\n\nrule b {\n  on purchase\n  earn 1 points\n}\n";
    let parsed = parse(text);
    assert_eq!(
        codes(&parsed),
        vec![Code::Syntax],
        "{:#?}",
        parsed.diagnostics
    );
    assert_eq!(parsed.file.decls.len(), 1);
    assert_eq!(parsed.file.decls[0].name().unwrap().name, "b");
    assert!(parsed.diagnostics[0].primary_span().start < text.find("rule b").unwrap());

    // The same at the end of a file: the error is reported, nothing is lost before it.
    let text = "event signup\nrule a {\n  on purchase\n";
    let parsed = parse(text);
    assert_eq!(codes(&parsed), vec![Code::Syntax]);
    assert_eq!(parsed.file.decls.len(), 1);
    assert_spans_within(text, &parsed);
}

#[test]
fn an_unterminated_string_ends_at_its_line() {
    // Brackets and `#` in the broken string's line are not code; the next line is.
    let text = "segment s = \"a { ( # \nrule r { on purchase }\n";
    let parsed = parse(text);
    assert_eq!(
        codes(&parsed),
        vec![Code::Syntax],
        "{:#?}",
        parsed.diagnostics
    );
    assert_eq!(parsed.file.decls.len(), 1);
    assert_eq!(parsed.file.decls[0].name().unwrap().name, "r");
    assert!(parsed.file.comments.is_empty());

    // A backslash at the end of the line does not escape the line end: the scanner used to read
    // on into the next line, which swallowed the declaration there.
    let text = "segment s = \"a\\\nrule r { on purchase }\nevent e\n";
    let parsed = parse(text);
    assert_eq!(
        codes(&parsed),
        vec![Code::Syntax],
        "{:#?}",
        parsed.diagnostics
    );
    let names: Vec<&str> = parsed
        .file
        .decls
        .iter()
        .map(|d| d.name().unwrap().name.as_str())
        .collect();
    assert_eq!(names, ["r", "e"]);
}

// ------------------------------------------------------------------ values

#[test]
fn a_forty_digit_number_is_invalid() {
    let digits = "1234567890".repeat(4);
    let text = format!("rule r {{\n  on purchase\n  earn {digits} points\n}}");
    let parsed = parse(&text);
    let d = only(&parsed, Code::InvalidNumber);
    assert!(d.message.contains(&digits), "{}", d.message);
    let at = text.find(&digits).unwrap();
    assert_eq!(d.primary_span(), puntos_dsl::Span::new(at, at + 40));

    // As a bare number (a tier rank) too.
    let text = format!("tier Gold rank {digits} {{}}");
    let d = only(&parse(&text), Code::InvalidNumber).clone();
    assert_eq!(d.primary_span().start, "tier Gold rank ".len());

    // Forty digits after the point cannot be held either; they are not silently rounded.
    let fraction = format!("0.{}", "1234567890".repeat(4));
    let d = only(
        &parse(&format!("segment s = x > {fraction}")),
        Code::InvalidNumber,
    )
    .clone();
    assert!(d.message.contains(&fraction), "{}", d.message);

    // 28 digits is the most a number holds, and it is fine.
    let ok = format!("segment s = x > {}", "9".repeat(28));
    assert!(parse(&ok).diagnostics.is_empty());
}

#[test]
fn a_day_that_does_not_exist_is_an_invalid_date() {
    let text = "promotion p {\n  valid 2026-02-01 .. 2026-02-30\n}";
    let parsed = parse(text);
    let d = only(&parsed, Code::InvalidDate);
    assert!(d.message.contains("2026-02-30"), "{}", d.message);
    let at = text.find("2026-02-30").unwrap();
    assert_eq!(d.primary_span(), puntos_dsl::Span::new(at, at + 10));

    for bad in [
        "2025-02-29",
        "2026-13-01",
        "2026-00-10",
        "2026-04-31",
        "2026-12-05T24:00+03:00",
        "2026-12-05T10:60Z",
        "2026-12-05T10:00:61+03:00",
    ] {
        let text = format!("segment s = transaction.date >= {bad}");
        let parsed = parse(&text);
        assert_eq!(codes(&parsed), vec![Code::InvalidDate], "{bad}");
    }
    // A leap day in a leap year is real.
    assert!(parse("segment s = transaction.date = 2028-02-29")
        .diagnostics
        .is_empty());
}

// ------------------------------------------------------------------ spans

#[test]
fn diagnostic_spans_stay_inside_the_text_for_broken_endings() {
    for text in [
        "rule",
        "rule r",
        "rule r {",
        "segment s =",
        "segment s = \"unterminated",
        "program \"x\\",
        "rule r { when a in [",
        "rule r { when f(x where",
        "tier T rank",
        "promotion p { valid 2026-01-01 .. }",
        "}",
        ")",
        "x",
        "é",
        "rule r { when \"é",
    ] {
        let parsed = parse(text);
        assert!(!parsed.diagnostics.is_empty(), "{text:?}");
        assert_spans_within(text, &parsed);
        assert!(parsed.file.decls.is_empty(), "{text:?}");
    }
}

#[test]
fn a_byte_order_mark_is_dropped_before_parsing() {
    let bytes = b"\xEF\xBB\xBFprogram \"P\" {\n  currency RUB\n}\n";
    let text = puntos_dsl::decode_source(bytes).unwrap();
    assert!(text.starts_with("program"));
    assert!(parse(text).diagnostics.is_empty());
}
