//! Properties of the formatter and the parser, over generated programs.
//!
//! - Round trip: for a random syntax tree `p`, `fmt(p)` parses without diagnostics, to the same
//!   tree (spans aside) and the same comments, and formatting that again gives `fmt(p)` back.
//! - Layout does not matter: extra whitespace and comments between the tokens of `fmt(p)` parse
//!   to the same tree, every comment is kept, and formatting is idempotent.
//! - Robustness: any text, token soup, or damaged program parses without a panic, every
//!   diagnostic span lies inside the text, and whatever did parse formats to text that parses
//!   cleanly and formats to itself.
//!
//! The generated trees cover every declaration kind, every clause kind and every expression kind.

// Test code may panic on a broken expectation, helpers included (clippy.toml only covers
// `#[test]` functions themselves).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use chrono::{FixedOffset, NaiveDate, TimeZone};
use proptest::prelude::*;
use proptest::sample::select;
use puntos_dsl::ast::*;
use puntos_dsl::{format, format_expr, parse, Span};
use rust_decimal::Decimal;

// ------------------------------------------------------------------ names

/// Words the grammar never accepts as a name.
const RESERVED: &[&str] = &[
    "and", "or", "not", "in", "between", "of", "where", "true", "false", "points", "point",
    "items", "last",
];

/// Words that start a declaration when they begin a line; generated names avoid them so that
/// inserting a line break before a name cannot split a declaration.
const DECLARATION_KEYWORDS: &[&str] = &[
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

/// Names that are keywords, units or operators somewhere in the grammar without being reserved,
/// or that start like a reserved word: the places where a tokenizer would go wrong.
#[rustfmt::skip]
const TRICKY_NAMES: &[&str] = &[
    "on", "when", "earn", "for", "each", "item", "max", "min", "per", "rank", "from", "until",
    "valid", "half", "up", "down", "even", "day", "days", "month", "hours", "week",
    "transaction", "customer", "basket", "free", "at", "off", "once", "with", "all", "best",
    "first", "order", "rate", "step", "keep", "stacking", "exclusive", "unique", "prefix",
    "codes", "issue", "buy", "get", "cheapest", "qualify", "balance", "currency", "timezone",
    "precision", "rounding", "effective", "pending", "expire", "after", "cap", "audience",
    "budget", "limit", "priority", "discount", "uses", "andy", "orange", "notable", "inside",
    "of_", "between_", "true_", "falsey", "pointsy", "items2", "lastly", "where_", "_", "x",
    "RUB", "EUR", "Sat", "Gold", "T", "Z", "rules", "programme", "events", "tiers",
];

fn is_plain_name(name: &str) -> bool {
    !RESERVED.contains(&name) && !DECLARATION_KEYWORDS.contains(&name)
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z_][a-zA-Z0-9_]{0,7}",
        1 => select(TRICKY_NAMES).prop_map(str::to_string),
    ]
    .prop_filter("reserved word", |n| is_plain_name(n))
}

/// A field after a dot may be any word, reserved ones included (`basket.items`).
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z_][a-zA-Z0-9_]{0,7}",
        1 => select(RESERVED).prop_map(str::to_string),
        1 => select(TRICKY_NAMES).prop_map(str::to_string),
    ]
    .prop_filter("declaration keyword", |n| {
        !DECLARATION_KEYWORDS.contains(&n.as_str())
    })
}

const NO_SPAN: Span = Span { start: 0, end: 0 };

fn ident(name: String) -> Ident {
    Ident {
        name,
        span: NO_SPAN,
    }
}

fn ident_s() -> impl Strategy<Value = Ident> {
    name().prop_map(ident)
}

fn currency_code() -> impl Strategy<Value = String> {
    "[A-Z]{3}"
}

// ------------------------------------------------------------------ literals

/// Text with the characters that need escaping, brackets and `#` that must not be read as code,
/// and arbitrary Unicode.
fn text_value() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => any::<char>(),
            2 => select(&['"', '\\', '\n', '\t', '#', '{', '}', '(', ')', '[', ']', ' ', 'é', '€'][..]),
            1 => Just('a'),
        ],
        0..10,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn string_lit() -> impl Strategy<Value = StringLit> {
    text_value().prop_map(|value| StringLit {
        value,
        span: NO_SPAN,
    })
}

/// A non-negative decimal with a scale, from small whole numbers to 28 significant digits.
fn decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        4 => (0i64..1000, 0u32..3).prop_map(|(m, s)| Decimal::new(m, s)),
        2 => (0i64..i64::MAX, 0u32..=18).prop_map(|(m, s)| Decimal::new(m, s)),
        1 => (0i128..10i128.pow(28), 0u32..=28)
            .prop_map(|(m, s)| Decimal::from_i128_with_scale(m, s)),
        1 => select(vec![Decimal::ONE, Decimal::new(100, 2), Decimal::ZERO, Decimal::new(5, 1)]),
    ]
}

fn unit() -> impl Strategy<Value = Unit> {
    prop_oneof![
        Just(Unit::Percent),
        Just(Unit::Points),
        currency_code().prop_map(Unit::Currency),
        select(DurationUnit::ALL.to_vec()).prop_map(Unit::Duration),
    ]
}

/// A quantity with or without a unit.
fn quantity() -> impl Strategy<Value = Quantity> {
    (decimal(), prop::option::weighted(0.7, unit())).prop_map(|(value, unit)| Quantity {
        value,
        unit,
        span: NO_SPAN,
    })
}

/// A number where the grammar takes no unit (ranks, counts, precision).
fn bare_number() -> impl Strategy<Value = Quantity> {
    decimal().prop_map(|value| Quantity {
        value,
        unit: None,
        span: NO_SPAN,
    })
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (1i32..=9999, 1u32..=366).prop_filter_map("no such day", |(y, d)| NaiveDate::from_yo_opt(y, d))
}

/// A date, or a date-time with seconds or without, at any whole-minute UTC offset.
fn moment() -> impl Strategy<Value = Moment> {
    prop_oneof![
        date().prop_map(Moment::Date),
        (
            date(),
            0u32..24,
            0u32..60,
            prop_oneof![Just(0u32), 0u32..60],
            prop_oneof![Just(0i32), -1439i32..=1439],
        )
            .prop_filter_map("no such time", |(d, h, m, s, offset)| {
                let local = d.and_hms_opt(h, m, s)?;
                let offset = FixedOffset::east_opt(offset * 60)?;
                offset
                    .from_local_datetime(&local)
                    .single()
                    .map(Moment::DateTime)
            }),
    ]
}

// ------------------------------------------------------------------ expressions

fn expr_of(kind: ExprKind) -> Expr {
    Expr {
        kind,
        span: NO_SPAN,
    }
}

fn path() -> impl Strategy<Value = Vec<Ident>> {
    (name(), prop::collection::vec(field_name(), 0..3))
        .prop_map(|(head, fields)| std::iter::once(head).chain(fields).map(ident).collect())
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        3 => quantity().prop_map(ExprKind::Quantity),
        1 => text_value().prop_map(ExprKind::Text),
        1 => any::<bool>().prop_map(ExprKind::Bool),
        1 => moment().prop_map(ExprKind::Moment),
        3 => path().prop_map(ExprKind::Path),
    ]
    .prop_map(expr_of)
}

fn binary_op() -> impl Strategy<Value = BinaryOp> {
    select(vec![
        BinaryOp::Or,
        BinaryOp::And,
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Of,
    ])
}

fn compare_op() -> impl Strategy<Value = CompareOp> {
    select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Lt,
        CompareOp::Le,
        CompareOp::Gt,
        CompareOp::Ge,
    ])
}

/// Expressions of every kind, nested up to five levels below the leaves.
fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(5, 96, 3, |inner| {
        let arg = prop_oneof![
            3 => (inner.clone(), prop::option::weighted(0.3, inner.clone()))
                .prop_map(|(value, filter)| Arg::Value { value, filter }),
            1 => quantity().prop_map(Arg::Window),
            1 => prop::option::of(inner.clone()).prop_map(|filter| Arg::Items {
                filter,
                span: NO_SPAN,
            }),
        ];
        prop_oneof![
            1 => prop::collection::vec(inner.clone(), 0..4).prop_map(ExprKind::List),
            2 => (any::<bool>(), inner.clone()).prop_map(|(not, operand)| ExprKind::Unary {
                op: if not { UnaryOp::Not } else { UnaryOp::Neg },
                operand: Box::new(operand),
            }),
            4 => (binary_op(), inner.clone(), inner.clone()).prop_map(|(op, lhs, rhs)| {
                ExprKind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                }
            }),
            2 => (compare_op(), inner.clone(), inner.clone()).prop_map(|(op, lhs, rhs)| {
                ExprKind::Compare {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                }
            }),
            1 => (any::<bool>(), inner.clone(), inner.clone()).prop_map(
                |(negated, value, list)| ExprKind::In {
                    negated,
                    value: Box::new(value),
                    list: Box::new(list),
                }
            ),
            1 => (any::<bool>(), inner.clone(), inner.clone(), inner.clone()).prop_map(
                |(negated, value, low, high)| ExprKind::Between {
                    negated,
                    value: Box::new(value),
                    low: Box::new(low),
                    high: Box::new(high),
                }
            ),
            1 => (ident_s(), prop::collection::vec(arg, 0..3))
                .prop_map(|(name, args)| ExprKind::Call { name, args }),
        ]
        .prop_map(expr_of)
    })
}

// ------------------------------------------------------------------ clauses

fn clause_of(kind: ClauseKind) -> Clause {
    Clause {
        kind,
        span: NO_SPAN,
    }
}

fn period() -> impl Strategy<Value = Period> {
    select(vec![
        Period::Transaction,
        Period::Day,
        Period::Week,
        Period::Month,
        Period::Year,
    ])
}

fn reward() -> impl Strategy<Value = OfferReward> {
    prop_oneof![
        Just(OfferReward::Free),
        quantity().prop_map(OfferReward::PercentOff),
    ]
}

fn rounding() -> impl Strategy<Value = ClauseKind> {
    (
        select(vec![
            RoundingMode::Down,
            RoundingMode::Up,
            RoundingMode::HalfUp,
            RoundingMode::HalfEven,
        ]),
        prop::option::of(select(vec![
            RoundingScope::Item,
            RoundingScope::Rule,
            RoundingScope::Transaction,
        ])),
    )
        .prop_map(|(mode, scope)| ClauseKind::Rounding { mode, scope })
}

fn idents(max: usize) -> impl Strategy<Value = Vec<Ident>> {
    prop::collection::vec(ident_s(), 1..=max)
}

fn clause() -> impl Strategy<Value = Clause> {
    prop_oneof![
        currency_code().prop_map(|c| ClauseKind::Currency(ident(c))),
        string_lit().prop_map(ClauseKind::Timezone),
        prop::collection::vec(
            prop_oneof![bare_number().prop_map(ClauseKind::Precision), rounding(),]
                .prop_map(clause_of),
            0..3
        )
        .prop_map(ClauseKind::Points),
        bare_number().prop_map(ClauseKind::Precision),
        rounding(),
        moment().prop_map(ClauseKind::EffectiveFrom),
        ident_s().prop_map(ClauseKind::On),
        expr().prop_map(ClauseKind::When),
        (
            expr(),
            any::<bool>(),
            prop::option::of(prop::option::of(expr())),
        )
            .prop_map(|(amount, points_suffix, for_each)| {
                // `earn 5 points` is read as the quantity `5 points`: the same program, but
                // another tree, so the suffix is only generated where it stays a suffix.
                let points_suffix =
                    points_suffix && !format_expr(&amount).ends_with(|c: char| c.is_ascii_digit());
                ClauseKind::Earn {
                    amount,
                    points_suffix,
                    for_each: for_each.map(|filter| ForEach {
                        filter,
                        span: NO_SPAN,
                    }),
                }
            }),
        quantity().prop_map(ClauseKind::Pending),
        quantity().prop_map(ClauseKind::ExpireAfter),
        (quantity(), period()).prop_map(|(amount, period)| ClauseKind::Cap { amount, period }),
        prop_oneof![
            (moment(), moment()).prop_map(|(a, b)| Validity::Range(a, b)),
            moment().prop_map(Validity::From),
            moment().prop_map(Validity::Until),
            quantity().prop_map(Validity::For),
        ]
        .prop_map(ClauseKind::Valid),
        idents(3).prop_map(ClauseKind::Audience),
        quantity().prop_map(ClauseKind::Budget),
        (bare_number(), prop::option::of(period()))
            .prop_map(|(count, period)| ClauseKind::Limit { count, period }),
        bare_number().prop_map(ClauseKind::Priority),
        prop_oneof![
            Just(Stacking::Exclusive),
            Just(Stacking::WithAll),
            idents(3).prop_map(Stacking::With),
            ident_s().prop_map(Stacking::BestOf),
        ]
        .prop_map(ClauseKind::Stacking),
        prop_oneof![
            (bare_number(), prop::option::of(string_lit()))
                .prop_map(|(length, prefix)| CodeBatch::Unique { length, prefix }),
            prop::collection::vec(string_lit(), 1..4).prop_map(CodeBatch::Fixed),
        ]
        .prop_map(ClauseKind::Codes),
        ident_s().prop_map(ClauseKind::IssueOn),
        (expr(), prop::option::of(expr()))
            .prop_map(|(amount, max)| ClauseKind::Discount { amount, max }),
        bare_number().prop_map(ClauseKind::Uses),
        (
            bare_number(),
            bare_number(),
            reward(),
            prop::option::of(expr())
        )
            .prop_map(|(buy, get, reward, filter)| ClauseKind::Buy {
                buy,
                get,
                reward,
                filter
            }),
        (bare_number(), reward(), prop::option::of(expr()))
            .prop_map(|(of, reward, filter)| ClauseKind::Cheapest { of, reward, filter }),
        Just(ClauseKind::Once),
        expr().prop_map(ClauseKind::Qualify),
        quantity().prop_map(ClauseKind::Keep),
        (quantity(), quantity()).prop_map(|(points, money)| ClauseKind::Rate { points, money }),
        expr().prop_map(ClauseKind::Max),
        quantity().prop_map(ClauseKind::MinBalance),
        quantity().prop_map(ClauseKind::Step),
        select(vec![LotOrder::Oldest, LotOrder::Newest, LotOrder::Expiring])
            .prop_map(ClauseKind::Order),
    ]
    .prop_map(clause_of)
}

/// Two clause sequences read differently from how a tree can hold them, because a clause's
/// optional tail is the next clause's keyword: `discount a` + `max b` is `discount a max b`, and
/// `earn a` + `points { }` reads `points` as the suffix. A `once` between them keeps them apart.
fn separate_ambiguous_neighbours(clauses: Vec<Clause>) -> Vec<Clause> {
    let mut out: Vec<Clause> = Vec::with_capacity(clauses.len());
    for clause in clauses {
        let clash = matches!(
            (out.last().map(|c| &c.kind), &clause.kind),
            (
                Some(ClauseKind::Discount { max: None, .. }),
                ClauseKind::Max(_)
            ) | (
                Some(ClauseKind::Earn {
                    points_suffix: false,
                    for_each: None,
                    ..
                }),
                ClauseKind::Points(_),
            )
        );
        if clash {
            out.push(clause_of(ClauseKind::Once));
        }
        out.push(clause);
    }
    out
}

fn clauses() -> impl Strategy<Value = Vec<Clause>> {
    prop::collection::vec(clause(), 0..8).prop_map(separate_ambiguous_neighbours)
}

// ------------------------------------------------------------------ declarations and files

fn decl_kind() -> impl Strategy<Value = DeclKind> {
    let title = || prop::option::of(string_lit());
    prop_oneof![
        1 => (string_lit(), clauses()).prop_map(|(name, clauses)| DeclKind::Program { name, clauses }),
        1 => (ident_s(), title(), expr()).prop_map(|(name, title, condition)| DeclKind::Segment {
            name,
            title,
            condition
        }),
        1 => (ident_s(), title(), bare_number(), clauses()).prop_map(
            |(name, title, rank, clauses)| DeclKind::Tier {
                name,
                title,
                rank,
                clauses
            }
        ),
        2 => (
            select(vec![
                BlockKeyword::Rule,
                BlockKeyword::Promotion,
                BlockKeyword::Coupon,
                BlockKeyword::Offer
            ]),
            ident_s(),
            title(),
            clauses()
        )
            .prop_map(|(keyword, name, title, clauses)| DeclKind::Block {
                keyword,
                name,
                title,
                clauses
            }),
        1 => clauses().prop_map(|clauses| DeclKind::Redemption { clauses }),
        1 => (ident_s(), title()).prop_map(|(name, title)| DeclKind::Event { name, title }),
    ]
}

/// A comment's text: `#` and anything up to the line end (a trailing `\r` would be read as part
/// of a CRLF line end, so there is no `\r` at all).
fn comment_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => any::<char>().prop_filter("line end", |c| *c != '\n' && *c != '\r'),
            1 => select(&['#', '"', '{', '}', ' ', '\t'][..]),
        ],
        0..12,
    )
    .prop_map(|chars| format!("#{}", chars.into_iter().collect::<String>()))
}

/// Where comments go around one declaration.
#[derive(Debug, Clone)]
struct CommentSlots {
    /// Own-line comments before the declaration.
    before: Vec<String>,
    /// A comment after the opening `{`.
    after_open: Option<String>,
    /// For each clause: own-line comments before it and a comment trailing it.
    clauses: Vec<(Vec<String>, Option<String>)>,
    /// Own-line comments before the closing `}`.
    before_close: Vec<String>,
    /// A comment trailing the declaration.
    after: Option<String>,
}

fn some_comments() -> impl Strategy<Value = Vec<String>> {
    prop::option::weighted(0.15, prop::collection::vec(comment_text(), 1..3))
        .prop_map(Option::unwrap_or_default)
}

fn a_comment() -> impl Strategy<Value = Option<String>> {
    prop::option::weighted(0.15, comment_text())
}

fn comment_slots() -> impl Strategy<Value = CommentSlots> {
    (
        some_comments(),
        a_comment(),
        prop::collection::vec((some_comments(), a_comment()), 16),
        some_comments(),
        a_comment(),
    )
        .prop_map(
            |(before, after_open, clauses, before_close, after)| CommentSlots {
                before,
                after_open,
                clauses,
                before_close,
                after,
            },
        )
}

fn own_line(text: String, at: usize) -> Comment {
    Comment {
        text,
        span: Span::new(at, at + 1),
        own_line: true,
        follows: 0,
    }
}

fn trailing(text: String, at: usize, follows: usize) -> Comment {
    Comment {
        text,
        span: Span::new(at, at + 1),
        own_line: false,
        follows,
    }
}

/// Gives the declarations and clauses spans far apart, and puts the comments between them where
/// the slots say, so the formatter places them as if they had been parsed from such a layout.
fn lay_out(kinds: Vec<(DeclKind, CommentSlots)>, tail: Vec<String>) -> File {
    const DECL: usize = 1_000_000;
    const CLAUSE: usize = 10_000;
    let mut decls = Vec::new();
    let mut comments = Vec::new();
    for (index, (mut kind, slots)) in kinds.into_iter().enumerate() {
        let start = (index + 1) * DECL;
        let end = start + DECL / 2;
        for (k, text) in slots.before.into_iter().enumerate() {
            comments.push(own_line(text, start - 1000 + k));
        }
        let clauses = match &mut kind {
            DeclKind::Program { clauses, .. }
            | DeclKind::Tier { clauses, .. }
            | DeclKind::Block { clauses, .. }
            | DeclKind::Redemption { clauses } => Some(clauses),
            DeclKind::Segment { .. } | DeclKind::Event { .. } => None,
        };
        if let Some(clauses) = clauses {
            if let Some(text) = slots.after_open {
                comments.push(trailing(text, start + 5, start + 1));
            }
            for (j, (clause, (before, after))) in clauses.iter_mut().zip(slots.clauses).enumerate()
            {
                clause.span = Span::new(start + (j + 1) * CLAUSE, start + (j + 1) * CLAUSE + 5000);
                for (k, text) in before.into_iter().enumerate() {
                    comments.push(own_line(text, clause.span.start - 100 + k));
                }
                if let Some(text) = after {
                    comments.push(trailing(text, clause.span.end + 10, clause.span.end));
                }
            }
            for (k, text) in slots.before_close.into_iter().enumerate() {
                comments.push(own_line(text, end - 100 + k));
            }
        }
        if let Some(text) = slots.after {
            comments.push(trailing(text, end + 10, end));
        }
        decls.push(Decl {
            kind,
            span: Span::new(start, end),
        });
    }
    let file_end = (decls.len() + 1) * DECL;
    for (k, text) in tail.into_iter().enumerate() {
        comments.push(own_line(text, file_end + k));
    }
    File { decls, comments }
}

fn file() -> impl Strategy<Value = File> {
    (
        prop::collection::vec((decl_kind(), comment_slots()), 0..8),
        some_comments(),
    )
        .prop_map(|(kinds, tail)| lay_out(kinds, tail))
}

// ------------------------------------------------------------------ helpers

/// The declarations' `Debug` text with every span blanked: trees equal up to where they are.
fn shape(file: &File) -> String {
    let debug = format!("{:?}", file.decls);
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug.as_str();
    while let Some(at) = rest.find("Span { start: ") {
        out.push_str(&rest[..at]);
        out.push_str("Span");
        let after = &rest[at..];
        rest = &after[after.find('}').unwrap() + 1..];
    }
    out.push_str(rest);
    out
}

fn comment_texts(file: &File) -> Vec<&str> {
    file.comments.iter().map(|c| c.text.as_str()).collect()
}

fn assert_spans_within(text: &str, parsed: &puntos_dsl::Parsed) -> Result<(), TestCaseError> {
    for d in &parsed.diagnostics {
        for label in &d.labels {
            prop_assert!(
                label.span.start <= label.span.end && label.span.end <= text.len(),
                "span {:?} outside the text ({} bytes): {:?}",
                label.span,
                text.len(),
                d
            );
        }
    }
    Ok(())
}

/// Formats what parsed, and checks that the result parses cleanly, keeps every comment, and
/// formats to itself.
fn assert_format_is_stable(parsed: &puntos_dsl::Parsed) -> Result<(), TestCaseError> {
    let formatted = format(&parsed.file);
    let again = parse(&formatted);
    prop_assert!(
        again.diagnostics.is_empty(),
        "the formatted text does not parse: {:?}\n---\n{}",
        again.diagnostics,
        formatted
    );
    prop_assert_eq!(
        comment_texts(&again.file),
        comment_texts(&parsed.file),
        "comments changed:\n{}",
        formatted
    );
    prop_assert_eq!(
        again.file.decls.len(),
        parsed.file.decls.len(),
        "declarations changed:\n{}",
        formatted
    );
    let twice = format(&again.file);
    prop_assert_eq!(&twice, &formatted, "formatting is not idempotent");
    Ok(())
}

// ------------------------------------------------------------------ tokens of formatted text

const UNIT_WORDS: &[&str] = &[
    "points", "point", "minutes", "minute", "hours", "hour", "days", "day", "weeks", "week",
    "months", "month", "years", "year",
];

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The length of a unit word (or currency code) at the start of `rest`, if one is there.
fn unit_word(rest: &str) -> Option<usize> {
    let end = rest
        .bytes()
        .position(|b| !is_word_byte(b))
        .unwrap_or(rest.len());
    let word = &rest[..end];
    let currency = word.len() == 3 && word.bytes().all(|b| b.is_ascii_uppercase());
    (UNIT_WORDS.contains(&word) || currency).then_some(end)
}

/// Splits canonical text into the pieces between which whitespace and comments may go: a number
/// keeps its unit, `half up` stays whole, strings, comments, dates and operators are one piece.
fn tokens(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'#' => i = text[i..].find('\n').map_or(text.len(), |n| i + n),
            b'"' => {
                i += 1;
                while bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'0'..=b'9' => {
                // A number, date or date-time: digits and `.`, `-`, `:`, `+`, `T`, `Z`, but not
                // the `..` of a range (always written with spaces around it).
                while i < bytes.len()
                    && (bytes[i].is_ascii_digit()
                        || matches!(bytes[i], b'-' | b':' | b'+' | b'T' | b'Z')
                        || (bytes[i] == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)))
                {
                    i += 1;
                }
                if bytes.get(i) == Some(&b'%') {
                    i += 1;
                } else if bytes.get(i) == Some(&b' ') {
                    if let Some(n) = unit_word(&text[i + 1..]) {
                        i += 1 + n;
                    }
                }
            }
            b if is_word_byte(b) => {
                while i < bytes.len() && is_word_byte(bytes[i]) {
                    i += 1;
                }
                if &text[start..i] == "half" {
                    for mode in [" up", " even"] {
                        if text[i..].starts_with(mode)
                            && !text[i + mode.len()..]
                                .bytes()
                                .next()
                                .is_some_and(is_word_byte)
                        {
                            i += mode.len();
                        }
                    }
                }
            }
            b'.' if bytes.get(i + 1) == Some(&b'.') => i += 2,
            b'<' | b'>' | b'!' | b'=' if bytes.get(i + 1) == Some(&b'=') => i += 2,
            _ => i += text[i..].chars().next().unwrap().len_utf8(),
        }
        out.push((start, i));
    }
    out
}

/// Extra layout put before a token: blanks, line breaks (always followed by indentation, so a
/// keyword never lands in column 0), and comments.
fn insertion() -> impl Strategy<Value = Option<(String, Option<String>, String)>> {
    let blanks = prop_oneof![Just(""), Just(" "), Just("\t"), Just("   ")];
    let line_end = prop_oneof![Just(""), Just("\n "), Just("\r\n\t"), Just("\n\n    ")];
    prop::option::weighted(
        0.3,
        (
            blanks,
            prop::option::weighted(0.4, comment_text()),
            line_end,
        )
            .prop_map(|(before, comment, after)| {
                // A comment runs to the line end, so one is always followed by a line break.
                let after = if comment.is_some() && !after.contains('\n') {
                    "\n  ".to_string()
                } else {
                    after.to_string()
                };
                (before.to_string(), comment, after)
            }),
    )
}

/// `text` with the insertions before its tokens (and one at the end); returns the new text and
/// how many comments were added.
fn spread(text: &str, inserts: &[Option<(String, Option<String>, String)>]) -> (String, usize) {
    let mut out = String::new();
    let mut added = 0;
    let mut last = 0;
    let toks = tokens(text);
    let ends = toks
        .iter()
        .map(|&(s, _)| s)
        .chain(std::iter::once(text.len()));
    for (index, start) in ends.enumerate() {
        out.push_str(&text[last..start]);
        if let Some(Some((before, comment, after))) = inserts.get(index % inserts.len().max(1)) {
            out.push_str(before);
            if let Some(comment) = comment {
                out.push_str(comment);
                added += 1;
            }
            out.push_str(after);
        }
        last = start;
    }
    out.push_str(&text[last..]);
    (out, added)
}

// ------------------------------------------------------------------ damage

/// Words, literals and punctuation of the language, well- and ill-formed.
#[rustfmt::skip]
const VOCABULARY: &[&str] = &[
    "program", "segment", "tier", "rank", "rule", "promotion", "coupon", "offer", "redemption",
    "event", "currency", "timezone", "points", "point", "precision", "rounding", "per",
    "effective", "from", "until", "on", "when", "earn", "for", "each", "item", "items", "where",
    "pending", "expire", "after", "cap", "valid", "audience", "budget", "limit", "customer",
    "priority", "stacking", "exclusive", "with", "all", "best", "codes", "unique", "prefix",
    "issue", "discount", "max", "min", "uses", "buy", "get", "free", "at", "off", "cheapest",
    "once", "qualify", "keep", "rate", "balance", "step", "order", "first", "last", "and", "or",
    "not", "in", "between", "of", "true", "false", "half up", "half even", "down", "up",
    "oldest", "transaction", "day", "days", "month", "RUB", "x", "basket.total", "f", "0", "1",
    "1.50", "10%", "1000 RUB", "14 days", "12 months", "99999999999999999999999999999999999999",
    "2026-12-05", "2026-02-30", "2026-12-05T10:00+03:00", "2026-12-05T10:00Z", "\"text\"",
    "\"unterminated", "\"esc\\\"", "\"\\", "#", "# note\n", "(", ")", "[", "]", "{", "}", "=",
    "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", ".", "..", ",", "%", ":", "\n",
    "\r\n", "\t", " ", "é", "\u{feff}", "\0", "_",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            select(VOCABULARY),
            select(&["", " ", " ", "\n", "\n  "][..]),
        ),
        0..60,
    )
    .prop_map(|parts| {
        parts
            .into_iter()
            .flat_map(|(word, gap)| [word, gap])
            .collect()
    })
}

/// One edit of a text: positions are in thousandths of its length and lengths in bytes, both
/// snapped to character boundaries.
#[derive(Debug, Clone)]
enum Edit {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    Duplicate { at: usize, len: usize, to: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    let at = || 0usize..=1000;
    let len = || prop_oneof![3 => 1usize..16, 1 => 16usize..400];
    prop_oneof![
        (at(), len()).prop_map(|(at, len)| Edit::Delete { at, len }),
        (
            at(),
            prop_oneof![select(VOCABULARY).prop_map(str::to_string), ".{0,4}"]
        )
            .prop_map(|(at, text)| Edit::Insert { at, text }),
        (at(), len(), at()).prop_map(|(at, len, to)| Edit::Duplicate { at, len, to }),
    ]
}

/// The character boundary at or before byte `at`.
fn boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &mut String, edit: &Edit) {
    let place = |text: &str, thousandths: usize| boundary(text, text.len() * thousandths / 1000);
    match edit {
        Edit::Delete { at, len } => {
            let start = place(text, *at);
            let end = boundary(text, start + len);
            text.replace_range(start..end, "");
        }
        Edit::Insert { at, text: piece } => {
            let at = place(text, *at);
            text.insert_str(at, piece);
        }
        Edit::Duplicate { at, len, to } => {
            let start = place(text, *at);
            let end = boundary(text, start + len);
            let piece = text[start..end].to_string();
            let to = place(text, *to);
            text.insert_str(to, &piece);
        }
    }
}

/// A hand-written program in the style of the examples, with comments in awkward places.
const SAMPLE: &str = r#"# Vita Club
program "Vita Club" { # the header
  currency RUB
  timezone "Europe/Moscow"
  points { precision 0 rounding half even per rule }
  effective from 2026-01-01
}

segment seniors "Pensioners 60+" = customer.birth_date <= transaction.date - 60 years

tier Gold "Gold card" rank 2 {
  qualify when spend(last 12 months) >= 30000 RUB # twelve months
  keep 12 months
}

rule base "1 point per 10 RUB" {
  on purchase
  earn floor(item.amount / 10 RUB) points for each item where item.category not in ["tobacco", "alcohol"]
  pending 14 days
  expire after 365 days
  cap 500 points per day
}

promotion weekend "Double \"weekend\"" {
  valid 2026-12-05 .. 2026-12-07T23:59:59+03:00
  audience seniors, gold
  on purchase
  when transaction.weekday in [Sat, Sun] and not basket.total between 100 RUB and 200 RUB
  earn 100% of base
  budget 1000000 points
  limit 1 per customer per day
  priority 10
  stacking with [a, b]
}

coupon WELCOME10 {
  codes unique 8 prefix "W-"
  issue on signup
  valid 30 days
  discount 10% of basket.total max 300 RUB
  uses 1 per customer
}

offer two_for_one {
  buy 2 get 1 free where item.category = "otc"
  cheapest of 3 at 50% off
  once
}

redemption {
  rate 1 point = 1 RUB
  max 30% of basket.total
  min balance 100 points
  step 1 point
  order oldest first
}

event birthday "Birthday"
# the end
"#;

// ------------------------------------------------------------------ properties

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// `fmt(p)` parses cleanly back to `p` (spans aside), with the same comments, and
    /// `fmt(parse(fmt(p))) == fmt(p)`.
    #[test]
    fn formatted_trees_parse_back_to_themselves(file in file()) {
        let text = format(&file);
        let parsed = parse(&text);
        prop_assert!(
            parsed.diagnostics.is_empty(),
            "{:?}\n---\n{}",
            parsed.diagnostics,
            text
        );
        prop_assert_eq!(shape(&parsed.file), shape(&file), "the tree changed:\n{}", text);
        prop_assert_eq!(comment_texts(&parsed.file), comment_texts(&file));
        prop_assert_eq!(format(&parsed.file), text);
    }

    /// Whitespace and comments between tokens change nothing but the comments, and
    /// `format(parse(format(parse(t)))) == format(parse(t))` with every comment kept.
    #[test]
    fn layout_and_comments_between_tokens_do_not_matter(
        file in file(),
        inserts in prop::collection::vec(insertion(), 1..40),
    ) {
        let canonical = format(&file);
        let (text, added) = spread(&canonical, &inserts);
        let parsed = parse(&text);
        prop_assert!(
            parsed.diagnostics.is_empty(),
            "{:?}\n---\n{}",
            parsed.diagnostics,
            text
        );
        prop_assert_eq!(shape(&parsed.file), shape(&file), "the tree changed:\n{}", text);
        prop_assert_eq!(parsed.file.comments.len(), file.comments.len() + added);
        assert_format_is_stable(&parsed)?;
    }

    /// A file saved with CRLF line ends reads as the same program and formats to LF.
    #[test]
    fn crlf_line_ends_read_like_lf(file in file()) {
        let canonical = format(&file);
        let crlf = canonical.replace('\n', "\r\n");
        let parsed = parse(&crlf);
        prop_assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        prop_assert_eq!(shape(&parsed.file), shape(&file));
        prop_assert_eq!(comment_texts(&parsed.file), comment_texts(&file));
        prop_assert_eq!(format(&parsed.file), canonical);
    }

    /// Arbitrary text never panics the parser, and what parses formats stably.
    #[test]
    fn arbitrary_text_never_panics(text in prop_oneof![".*", any::<String>(), "[ -~\n\t]{0,200}"]) {
        let parsed = parse(&text);
        assert_spans_within(&text, &parsed)?;
        assert_format_is_stable(&parsed)?;
    }

    /// Soup of the language's own tokens, brackets, quotes and `#`.
    #[test]
    fn token_soup_never_panics(text in token_soup()) {
        let parsed = parse(&text);
        assert_spans_within(&text, &parsed)?;
        assert_format_is_stable(&parsed)?;
    }

    /// Valid programs with byte ranges deleted, inserted or duplicated.
    #[test]
    fn damaged_programs_never_panic(
        base in prop_oneof![1 => Just(SAMPLE.to_string()), 1 => file().prop_map(|f| format(&f))],
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let mut text = base;
        for e in &edits {
            apply(&mut text, e);
        }
        let parsed = parse(&text);
        assert_spans_within(&text, &parsed)?;
        assert_format_is_stable(&parsed)?;
    }
}

// ------------------------------------------------------------------ fixed cases

#[test]
fn the_sample_program_parses_and_formats_stably() {
    let parsed = parse(SAMPLE);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    assert_eq!(parsed.file.decls.len(), 9);
    assert_eq!(parsed.file.comments.len(), 4);
    let formatted = format(&parsed.file);
    let again = parse(&formatted);
    assert!(again.diagnostics.is_empty());
    assert_eq!(shape(&again.file), shape(&parsed.file));
    assert_eq!(format(&again.file), formatted);
}

#[test]
fn the_tokenizer_keeps_units_and_modes_whole() {
    let text = "rule r {\n  points { rounding half up per item }\n  earn 10% of x + 5 RUB points\n  valid 2026-01-01 .. 2026-12-05T10:00+03:00\n  when a.b >= \"x y\" # c d\n}\n";
    let pieces: Vec<&str> = tokens(text).iter().map(|&(s, e)| &text[s..e]).collect();
    assert_eq!(
        pieces,
        [
            "rule",
            "r",
            "{",
            "points",
            "{",
            "rounding",
            "half up",
            "per",
            "item",
            "}",
            "earn",
            "10%",
            "of",
            "x",
            "+",
            "5 RUB",
            "points",
            "valid",
            "2026-01-01",
            "..",
            "2026-12-05T10:00+03:00",
            "when",
            "a",
            ".",
            "b",
            ">=",
            "\"x y\"",
            "# c d",
            "}"
        ]
    );
}

// Regressions: each of these failed before the fix named in its comment.

/// pest ends a rule like `a ~ (op ~ b)*` after the blanks and comments it skipped looking for one
/// more `op`, so clause spans ran over a trailing comment, which the formatter then moved to a
/// line of its own. Spans now end at the last token.
#[test]
fn a_trailing_comment_stays_after_an_expression_clause() {
    let text = "rule a {\n  when basket.total >= 10 RUB or x # why\n  on purchase # event\n  earn 1 # one\n}\n\nsegment s = a and b.c # who\n";
    let parsed = parse(text);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    assert_eq!(format(&parsed.file), text);
    let slice = |span: Span| &text[span.start..span.end];
    let clauses = parsed.file.decls[0].clauses();
    assert_eq!(slice(clauses[0].span), "when basket.total >= 10 RUB or x");
    assert_eq!(slice(clauses[2].span), "earn 1");
    let ClauseKind::When(condition) = &clauses[0].kind else {
        panic!("{:?}", clauses[0].kind)
    };
    assert_eq!(slice(condition.span), "basket.total >= 10 RUB or x");
    let ExprKind::Binary { lhs, .. } = &condition.kind else {
        panic!("{:?}", condition.kind)
    };
    assert_eq!(slice(lhs.span), "basket.total >= 10 RUB");
    assert_eq!(slice(parsed.file.decls[1].span), "segment s = a and b.c");
}

/// A comment ending in blanks at the end of a declaration was taken for code by the chunk
/// trimming, so the declaration's span covered it and the comment lost its line.
#[test]
fn a_comment_with_trailing_blanks_keeps_its_place_and_its_text() {
    let text = "segment s = a # note \t\n\nevent e # tail  \n";
    let parsed = parse(text);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    assert_eq!(parsed.file.decls[0].span.end, text.find(" # note").unwrap());
    assert_eq!(parsed.file.comments[0].text, "# note \t");
    assert_eq!(format(&parsed.file), text);
}

/// Digits past what a decimal holds were rounded away without a word (`0.000…0001` with 29
/// places read as 0).
#[test]
fn digits_a_decimal_cannot_hold_are_an_error_not_rounded() {
    for number in [
        "0.00000000000000000000000000001",
        "1.00000000000000000000000000001",
        "0.1234567890123456789012345678901234567",
    ] {
        let parsed = parse(&format!("segment s = x > {number}"));
        let codes: Vec<_> = parsed.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, [puntos_dsl::Code::InvalidNumber], "{number}");
    }
    // 28 decimal places is the most, and is kept exactly.
    let parsed = parse("segment s = x > 0.0000000000000000000000000001");
    assert!(parsed.diagnostics.is_empty());
    assert_eq!(
        format(&parsed.file),
        "segment s = x > 0.0000000000000000000000000001\n"
    );
}

/// Every expression in a tree, outermost first.
fn all_exprs(file: &File) -> Vec<&Expr> {
    fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
        out.push(e);
        match &e.kind {
            ExprKind::List(items) => items.iter().for_each(|i| walk(i, out)),
            ExprKind::Unary { operand, .. } => walk(operand, out),
            ExprKind::Binary { lhs, rhs, .. } | ExprKind::Compare { lhs, rhs, .. } => {
                walk(lhs, out);
                walk(rhs, out);
            }
            ExprKind::In { value, list, .. } => {
                walk(value, out);
                walk(list, out);
            }
            ExprKind::Between {
                value, low, high, ..
            } => {
                walk(value, out);
                walk(low, out);
                walk(high, out);
            }
            ExprKind::Call { args, .. } => {
                for arg in args {
                    match arg {
                        Arg::Value { value, filter } => {
                            walk(value, out);
                            filter.iter().for_each(|f| walk(f, out));
                        }
                        Arg::Items { filter, .. } => filter.iter().for_each(|f| walk(f, out)),
                        Arg::Window(_) => {}
                    }
                }
            }
            ExprKind::Quantity(_)
            | ExprKind::Text(_)
            | ExprKind::Bool(_)
            | ExprKind::Moment(_)
            | ExprKind::Path(_) => {}
        }
    }
    let mut out = Vec::new();
    for decl in &file.decls {
        if let DeclKind::Segment { condition, .. } = &decl.kind {
            walk(condition, &mut out);
        }
        for clause in decl.clauses() {
            match &clause.kind {
                ClauseKind::When(e) | ClauseKind::Qualify(e) | ClauseKind::Max(e) => {
                    walk(e, &mut out)
                }
                ClauseKind::Earn {
                    amount, for_each, ..
                } => {
                    walk(amount, &mut out);
                    if let Some(filter) = for_each.as_ref().and_then(|f| f.filter.as_ref()) {
                        walk(filter, &mut out);
                    }
                }
                ClauseKind::Discount { amount, max } => {
                    walk(amount, &mut out);
                    max.iter().for_each(|m| walk(m, &mut out));
                }
                ClauseKind::Buy { filter, .. } | ClauseKind::Cheapest { filter, .. } => {
                    filter.iter().for_each(|f| walk(f, &mut out));
                }
                _ => {}
            }
        }
    }
    out
}

/// The generator really produces every declaration, clause and expression kind (so a property
/// that passes has been tried on all of them), within the number of cases the properties run.
#[test]
fn the_generator_covers_every_kind() {
    use proptest::strategy::ValueTree;
    use std::collections::HashSet;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut decls = HashSet::new();
    let mut clauses = HashSet::new();
    let mut exprs = HashSet::new();
    let mut args = HashSet::new();
    let mut comments = 0;
    for _ in 0..100 {
        let file = file().new_tree(&mut runner).unwrap().current();
        comments += file.comments.len();
        for decl in &file.decls {
            decls.insert(decl.keyword());
            for clause in decl.clauses() {
                clauses.insert(clause.kind.keyword());
            }
        }
        for e in all_exprs(&file) {
            exprs.insert(std::mem::discriminant(&e.kind));
            if let ExprKind::Call { args: a, .. } = &e.kind {
                args.extend(a.iter().map(std::mem::discriminant));
            }
        }
    }
    assert_eq!(decls.len(), 9, "{decls:?}");
    assert_eq!(clauses.len(), 32, "{clauses:?}");
    assert_eq!(exprs.len(), 12);
    assert_eq!(args.len(), 3);
    assert!(comments > 50, "{comments}");
}
