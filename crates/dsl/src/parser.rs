//! From text to [`ast::File`]: size and depth limits, declaration chunks, pest, AST building.

use crate::ast::*;
use crate::scan::{code_end, scan, Chunk};
use crate::{Code, Diagnostic, Span};
use chrono::{DateTime, NaiveDate};
use pest::iterators::Pair;
use pest::Parser as _;
use rust_decimal::Decimal;

#[derive(pest_derive::Parser)]
#[grammar = "grammar.pest"]
struct PestParser;

/// Limits that keep hostile or accidental input from exhausting memory or the stack.
///
/// Each limit, when passed, is an error diagnostic, never a crash. The defaults suit real
/// programs by a wide margin: the pharmacy example is about 5 KB, 20 declarations, depth 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Largest accepted source, in bytes.
    pub max_source_bytes: usize,
    /// Deepest accepted nesting of brackets, and of operators within one expression.
    pub max_depth: usize,
    /// Most declarations accepted in one file.
    pub max_declarations: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            max_source_bytes: 8 * 1024 * 1024,
            max_depth: 64,
            max_declarations: 10_000,
        }
    }
}

impl ParseOptions {
    /// Sets the largest accepted source size in bytes.
    pub fn max_source_bytes(mut self, bytes: usize) -> Self {
        self.max_source_bytes = bytes;
        self
    }

    /// Sets the deepest accepted nesting.
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// Sets the most declarations accepted in one file.
    pub fn max_declarations(mut self, count: usize) -> Self {
        self.max_declarations = count;
        self
    }
}

/// The result of parsing: the declarations that parsed, and a diagnostic for each that did not.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The file; declarations with syntax errors are left out.
    pub file: File,
    /// Syntax and limit errors, in source order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses `text` with the default [`ParseOptions`].
pub fn parse(text: &str) -> Parsed {
    parse_with(text, ParseOptions::default())
}

/// Parses `text` under `options`. Never panics; every problem becomes a diagnostic.
pub fn parse_with(text: &str, options: ParseOptions) -> Parsed {
    let mut diagnostics = Vec::new();
    if text.len() > options.max_source_bytes {
        diagnostics.push(
            Diagnostic::new(
                Code::SourceTooLarge,
                Span::new(0, 0),
                format!(
                    "the file is {} bytes, more than the limit of {} bytes",
                    text.len(),
                    options.max_source_bytes
                ),
            )
            .with_help("split the program, or raise the limit if this file is really meant"),
        );
        return Parsed {
            file: File::default(),
            diagnostics,
        };
    }
    let scanned = scan(text, options.max_depth);
    let mut file = File {
        decls: Vec::new(),
        comments: scanned.comments,
    };
    for (index, chunk) in scanned.chunks.iter().enumerate() {
        if index >= options.max_declarations {
            diagnostics.push(
                Diagnostic::new(
                    Code::TooManyDeclarations,
                    Span::new(chunk.span.start, chunk.span.start),
                    format!(
                        "the file has {} declarations, more than the limit of {}",
                        scanned.chunks.len(),
                        options.max_declarations
                    ),
                )
                .with_label("the first declaration past the limit")
                .with_help("split the program into several files"),
            );
            break;
        }
        match parse_chunk(text, chunk, &file.comments, options.max_depth) {
            Ok(decl) => file.decls.push(decl),
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
    }
    Parsed { file, diagnostics }
}

fn parse_chunk(
    text: &str,
    chunk: &Chunk,
    comments: &[Comment],
    max_depth: usize,
) -> Result<Decl, Diagnostic> {
    if let Some(at) = chunk.too_deep_at {
        return Err(too_deep(Span::new(at, at + 1), chunk.max_depth, max_depth));
    }
    let source = text.get(chunk.span.start..chunk.span.end).unwrap_or("");
    let mut pairs = PestParser::parse(Rule::chunk, source)
        .map_err(|e| syntax_error(e, source, chunk.span.start))?;
    let builder = Builder {
        text,
        comments,
        offset: chunk.span.start,
        max_depth,
    };
    let decl = pairs
        .next()
        .and_then(|chunk_pair| chunk_pair.into_inner().find(|p| p.as_rule() != Rule::EOI))
        .ok_or_else(|| Diagnostic::new(Code::Syntax, chunk.span, "expected a declaration"))?;
    builder.decl(decl)
}

fn too_deep(span: Span, depth: usize, limit: usize) -> Diagnostic {
    Diagnostic::new(
        Code::NestingTooDeep,
        span,
        format!("nesting is {depth} levels deep, more than the limit of {limit}"),
    )
    .with_label("this level is past the limit")
    .with_help("split the condition into segments, or simplify it")
}

fn syntax_error(error: pest::error::Error<Rule>, text: &str, offset: usize) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let at = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    // Point at the word that could not be read, not at the whitespace before it.
    let rest = text.get(at..).unwrap_or("");
    let start = at + (rest.len() - rest.trim_start().len());
    let word_len = text
        .get(start..)
        .map(|w| {
            let ident = w
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(w.len());
            if ident > 0 {
                ident
            } else {
                w.chars().next().map_or(0, char::len_utf8)
            }
        })
        .unwrap_or(0);
    let span = Span::new(start, start + word_len).shifted(offset);
    let found = text.get(start..start + word_len).unwrap_or("");
    let message = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut wanted: Vec<&str> = positives.iter().map(|r| describe(*r)).collect();
            if positives.iter().any(|r| starts_clause(*r)) {
                wanted.retain(|w| w.starts_with("`") && !is_clause_word(w) || !w.starts_with("`"));
                wanted.push("a clause or `}`");
            }
            if positives.iter().any(|r| is_operator(*r)) {
                wanted.retain(|w| !is_operator_word(w));
                wanted.push("an operator");
            }
            wanted.sort_unstable();
            wanted.dedup();
            let expected = match wanted.as_slice() {
                [] => "something else".to_string(),
                [one] => (*one).to_string(),
                [init @ .., last] => format!("{} or {}", init.join(", "), last),
            };
            format!("expected {expected}")
        }
        ErrorVariant::CustomError { message } => message.clone(),
    };
    let label = if found.is_empty() {
        "the declaration ends here".to_string()
    } else {
        format!("unexpected `{found}`")
    };
    let mut diagnostic = Diagnostic::new(Code::Syntax, span, message).with_label(label);
    if found == "," {
        diagnostic = diagnostic.with_help("numbers have no thousands separator: write `1000 RUB`");
    } else if positives_start_clause(&error) {
        let first_words = CLAUSE_WORDS
            .iter()
            .map(|w| w.split(' ').next().unwrap_or(w));
        if let Some(word) = crate::did_you_mean(found, first_words).filter(|w| *w != found) {
            let clause = CLAUSE_WORDS
                .iter()
                .find(|c| c.split(' ').next() == Some(word))
                .unwrap_or(&word);
            diagnostic = diagnostic.with_help(format!("did you mean `{clause}`?"));
        }
    }
    diagnostic
}

/// The words that start clauses, for "did you mean" on a misspelt clause.
const CLAUSE_WORDS: &[&str] = &[
    "currency",
    "timezone",
    "points",
    "precision",
    "rounding",
    "effective from",
    "on",
    "when",
    "earn",
    "pending",
    "expire after",
    "cap",
    "valid",
    "audience",
    "budget",
    "limit",
    "priority",
    "stacking",
    "codes",
    "issue on",
    "discount",
    "uses",
    "buy",
    "cheapest of",
    "once",
    "qualify when",
    "keep",
    "rate",
    "max",
    "min balance",
    "step",
    "order",
];

fn positives_start_clause(error: &pest::error::Error<Rule>) -> bool {
    matches!(&error.variant, pest::error::ErrorVariant::ParsingError { positives, .. }
        if positives.iter().any(|r| starts_clause(*r)))
}

fn is_clause_word(described: &str) -> bool {
    CLAUSE_WORDS
        .iter()
        .any(|w| described.trim_matches('`') == w.split(' ').next().unwrap_or(w))
}

/// Whether a rule is the keyword that starts a clause.
fn starts_clause(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::kw_currency
            | Rule::kw_timezone
            | Rule::kw_points
            | Rule::kw_precision
            | Rule::kw_rounding
            | Rule::kw_effective
            | Rule::kw_on
            | Rule::kw_when
            | Rule::kw_earn
            | Rule::kw_pending
            | Rule::kw_expire
            | Rule::kw_cap
            | Rule::kw_valid
            | Rule::kw_audience
            | Rule::kw_budget
            | Rule::kw_limit
            | Rule::kw_priority
            | Rule::kw_stacking
            | Rule::kw_codes
            | Rule::kw_issue
            | Rule::kw_discount
            | Rule::kw_uses
            | Rule::kw_buy
            | Rule::kw_cheapest
            | Rule::kw_once
            | Rule::kw_qualify
            | Rule::kw_keep
            | Rule::kw_rate
            | Rule::kw_max
            | Rule::kw_min
            | Rule::kw_step
            | Rule::kw_order
    )
}

/// Whether a rule is an infix operator (or the keyword of one).
fn is_operator(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::kw_and
            | Rule::kw_or
            | Rule::kw_of
            | Rule::kw_in
            | Rule::kw_between
            | Rule::cmp_op
            | Rule::add_op
            | Rule::mul_op
            | Rule::or_op
            | Rule::and_op
            | Rule::of_op
            | Rule::in_op
            | Rule::between_op
            | Rule::negation
    )
}

fn is_operator_word(described: &str) -> bool {
    matches!(
        described,
        "`and`" | "`or`" | "`of`" | "`in`" | "`between`" | "`not`" | "a comparison" | "an operator"
    )
}

/// How a grammar rule is named in "expected ..." messages.
fn describe(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "the end of the declaration",
        Rule::ident => "a name",
        Rule::string | Rule::title => "a quoted text",
        Rule::number => "a number",
        Rule::quantity => "a number with a unit",
        Rule::unit | Rule::duration_unit | Rule::points_unit | Rule::percent => "a unit",
        Rule::currency_code => "a currency code such as `RUB`",
        Rule::date | Rule::datetime => "a date such as `2026-12-05`",
        Rule::expr
        | Rule::between_low
        | Rule::path_expr
        | Rule::paren
        | Rule::list
        | Rule::name_or_call
        | Rule::boolean => "an expression",
        Rule::call_args => "`(`",
        Rule::arg | Rule::window_arg | Rule::items_arg | Rule::expr_arg => "an argument",
        Rule::cmp_op => "a comparison",
        Rule::add_op | Rule::mul_op | Rule::or_op | Rule::and_op | Rule::of_op => "an operator",
        Rule::field_name => "a field name",
        Rule::rounding_mode
        | Rule::mode_down
        | Rule::mode_up
        | Rule::mode_half_up
        | Rule::mode_half_even => "`down`, `up`, `half up` or `half even`",
        Rule::rounding_scope => "`item`, `rule` or `transaction`",
        Rule::period => "`transaction`, `day`, `week`, `month` or `year`",
        Rule::lot_order => "`oldest`, `newest` or `expiring`",
        Rule::block => "`{`",
        Rule::offer_reward | Rule::reward_free | Rule::reward_percent_off => {
            "`free` or `at N% off`"
        }
        Rule::program_decl
        | Rule::segment_decl
        | Rule::tier_decl
        | Rule::rule_decl
        | Rule::promotion_decl
        | Rule::coupon_decl
        | Rule::offer_decl
        | Rule::redemption_decl
        | Rule::event_decl => "a declaration (`program`, `rule`, `promotion`, ...)",
        Rule::currency_clause
        | Rule::timezone_clause
        | Rule::points_clause
        | Rule::precision_clause
        | Rule::rounding_clause
        | Rule::effective_clause
        | Rule::on_clause
        | Rule::when_clause
        | Rule::earn_clause
        | Rule::pending_clause
        | Rule::expire_clause
        | Rule::cap_clause
        | Rule::valid_clause
        | Rule::audience_clause
        | Rule::budget_clause
        | Rule::limit_clause
        | Rule::priority_clause
        | Rule::stacking_clause
        | Rule::codes_clause
        | Rule::issue_clause
        | Rule::discount_clause
        | Rule::uses_clause
        | Rule::buy_clause
        | Rule::cheapest_clause
        | Rule::once_clause
        | Rule::qualify_clause
        | Rule::keep_clause
        | Rule::rate_clause
        | Rule::max_clause
        | Rule::min_balance_clause
        | Rule::step_clause
        | Rule::order_clause => "a clause or `}`",
        Rule::stack_exclusive | Rule::stack_with_all | Rule::stack_with | Rule::stack_best_of => {
            "`exclusive`, `with all`, `with [...]` or `best of NAME`"
        }
        Rule::codes_unique | Rule::codes_fixed => "`unique N` or quoted codes",
        Rule::valid_range | Rule::valid_from | Rule::valid_until => "a validity",
        Rule::for_each => "`for each item`",
        Rule::points_suffix => "`points`",
        Rule::negation | Rule::not_op => "`not`",
        Rule::in_op => "`in`",
        Rule::between_op => "`between`",
        Rule::neg_op => "`-`",
        other => keyword_text(other).unwrap_or("something else"),
    }
}

/// The text of a keyword token, or `None` for rules that are not keywords.
fn keyword_text(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::kw_program => "`program`",
        Rule::kw_segment => "`segment`",
        Rule::kw_tier => "`tier`",
        Rule::kw_rank => "`rank`",
        Rule::kw_rule => "`rule`",
        Rule::kw_promotion => "`promotion`",
        Rule::kw_coupon => "`coupon`",
        Rule::kw_offer => "`offer`",
        Rule::kw_redemption => "`redemption`",
        Rule::kw_event => "`event`",
        Rule::kw_currency => "`currency`",
        Rule::kw_timezone => "`timezone`",
        Rule::kw_points => "`points`",
        Rule::kw_precision => "`precision`",
        Rule::kw_rounding => "`rounding`",
        Rule::kw_per => "`per`",
        Rule::kw_effective => "`effective`",
        Rule::kw_from => "`from`",
        Rule::kw_until => "`until`",
        Rule::kw_on => "`on`",
        Rule::kw_when => "`when`",
        Rule::kw_earn => "`earn`",
        Rule::kw_for => "`for`",
        Rule::kw_each => "`each`",
        Rule::kw_item => "`item`",
        Rule::kw_items => "`items`",
        Rule::kw_where => "`where`",
        Rule::kw_pending => "`pending`",
        Rule::kw_expire => "`expire`",
        Rule::kw_after => "`after`",
        Rule::kw_cap => "`cap`",
        Rule::kw_valid => "`valid`",
        Rule::kw_audience => "`audience`",
        Rule::kw_budget => "`budget`",
        Rule::kw_limit => "`limit`",
        Rule::kw_customer => "`customer`",
        Rule::kw_priority => "`priority`",
        Rule::kw_stacking => "`stacking`",
        Rule::kw_exclusive => "`exclusive`",
        Rule::kw_with => "`with`",
        Rule::kw_all => "`all`",
        Rule::kw_best => "`best`",
        Rule::kw_codes => "`codes`",
        Rule::kw_unique => "`unique`",
        Rule::kw_prefix => "`prefix`",
        Rule::kw_issue => "`issue`",
        Rule::kw_discount => "`discount`",
        Rule::kw_max => "`max`",
        Rule::kw_min => "`min`",
        Rule::kw_uses => "`uses`",
        Rule::kw_buy => "`buy`",
        Rule::kw_get => "`get`",
        Rule::kw_free => "`free`",
        Rule::kw_at => "`at`",
        Rule::kw_off => "`off`",
        Rule::kw_cheapest => "`cheapest`",
        Rule::kw_once => "`once`",
        Rule::kw_qualify => "`qualify`",
        Rule::kw_keep => "`keep`",
        Rule::kw_rate => "`rate`",
        Rule::kw_balance => "`balance`",
        Rule::kw_step => "`step`",
        Rule::kw_order => "`order`",
        Rule::kw_first => "`first`",
        Rule::kw_last => "`last`",
        Rule::kw_and => "`and`",
        Rule::kw_or => "`or`",
        Rule::kw_not => "`not`",
        Rule::kw_in => "`in`",
        Rule::kw_between => "`between`",
        Rule::kw_of => "`of`",
        _ => return None,
    })
}

/// Turns pest pairs into AST nodes, shifting spans by the chunk's offset in the file.
struct Builder<'a> {
    /// The whole file.
    text: &'a str,
    /// The file's comments, in order.
    comments: &'a [Comment],
    offset: usize,
    max_depth: usize,
}

type Built<T> = Result<T, Diagnostic>;

/// The children of a pair that carry meaning (keyword tokens dropped).
fn parts(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner()
        .filter(|p| keyword_text(p.as_rule()).is_none())
}

impl Builder<'_> {
    /// The pair's span in the file, without trailing blanks and comments: pest ends a rule such
    /// as `a ~ (op ~ b)*` after the whitespace it skipped looking for another `op`, which put a
    /// trailing comment inside a clause's span (and so on its own line after formatting).
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        let span = Span::new(s.start(), s.end()).shifted(self.offset);
        Span::new(span.start, code_end(self.text, span, self.comments))
    }

    /// An internal-consistency error: the grammar and this builder disagree. Reported, not panicked.
    fn malformed(&self, span: Span, what: &str) -> Diagnostic {
        Diagnostic::new(Code::Syntax, span, format!("could not read {what} here"))
    }

    fn next<'i>(
        &self,
        it: &mut impl Iterator<Item = Pair<'i, Rule>>,
        span: Span,
        what: &str,
    ) -> Built<Pair<'i, Rule>> {
        it.next().ok_or_else(|| self.malformed(span, what))
    }

    fn decl(&self, pair: Pair<'_, Rule>) -> Built<Decl> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut it = parts(pair).peekable();
        let kind = match rule {
            Rule::program_decl => {
                let name = self.string(self.next(&mut it, span, "the program name")?)?;
                let clauses = self.block(self.next(&mut it, span, "the program block")?)?;
                DeclKind::Program { name, clauses }
            }
            Rule::segment_decl => {
                let name = self.ident(&self.next(&mut it, span, "the segment name")?);
                let title = self.title(&mut it)?;
                let condition = self.expr(self.next(&mut it, span, "the condition")?)?;
                DeclKind::Segment {
                    name,
                    title,
                    condition,
                }
            }
            Rule::tier_decl => {
                let name = self.ident(&self.next(&mut it, span, "the tier name")?);
                let title = self.title(&mut it)?;
                let rank = self.bare_number(self.next(&mut it, span, "the rank")?)?;
                let clauses = self.block(self.next(&mut it, span, "the tier block")?)?;
                DeclKind::Tier {
                    name,
                    title,
                    rank,
                    clauses,
                }
            }
            Rule::rule_decl | Rule::promotion_decl | Rule::coupon_decl | Rule::offer_decl => {
                let keyword = match rule {
                    Rule::rule_decl => BlockKeyword::Rule,
                    Rule::promotion_decl => BlockKeyword::Promotion,
                    Rule::coupon_decl => BlockKeyword::Coupon,
                    _ => BlockKeyword::Offer,
                };
                let name = self.ident(&self.next(&mut it, span, "the name")?);
                let title = self.title(&mut it)?;
                let clauses = self.block(self.next(&mut it, span, "the block")?)?;
                DeclKind::Block {
                    keyword,
                    name,
                    title,
                    clauses,
                }
            }
            Rule::redemption_decl => DeclKind::Redemption {
                clauses: self.block(self.next(&mut it, span, "the block")?)?,
            },
            Rule::event_decl => {
                let name = self.ident(&self.next(&mut it, span, "the event name")?);
                let title = self.title(&mut it)?;
                DeclKind::Event { name, title }
            }
            _ => return Err(self.malformed(span, "a declaration")),
        };
        Ok(Decl { kind, span })
    }

    fn title<'i>(
        &self,
        it: &mut std::iter::Peekable<impl Iterator<Item = Pair<'i, Rule>>>,
    ) -> Built<Option<StringLit>> {
        match it.peek() {
            Some(p) if p.as_rule() == Rule::title => {
                let pair = it.next().and_then(|t| t.into_inner().next());
                pair.map(|s| self.string(s)).transpose()
            }
            _ => Ok(None),
        }
    }

    fn block(&self, pair: Pair<'_, Rule>) -> Built<Vec<Clause>> {
        parts(pair).map(|clause| self.clause(clause)).collect()
    }

    fn ident(&self, pair: &Pair<'_, Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: self.span(pair),
        }
    }

    fn string(&self, pair: Pair<'_, Rule>) -> Built<StringLit> {
        let span = self.span(&pair);
        let raw = pair
            .into_inner()
            .next()
            .map(|inner| inner.as_str())
            .unwrap_or("");
        let mut value = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => value.push('\n'),
                    Some('t') => value.push('\t'),
                    Some(other) => value.push(other),
                    None => {}
                }
            } else {
                value.push(c);
            }
        }
        Ok(StringLit { value, span })
    }

    fn decimal(&self, pair: &Pair<'_, Rule>) -> Built<Decimal> {
        // `from_str` would silently round digits past what a decimal holds (`0.000…0001` with 29
        // places became 0); an exact parse reports them instead.
        Decimal::from_str_exact(pair.as_str()).map_err(|_| {
            Diagnostic::new(
                Code::InvalidNumber,
                self.span(pair),
                format!("the number `{}` cannot be represented", pair.as_str()),
            )
            .with_label("too large or too precise")
            .with_note("numbers hold up to 28 significant digits")
        })
    }

    fn bare_number(&self, pair: Pair<'_, Rule>) -> Built<Quantity> {
        Ok(Quantity {
            value: self.decimal(&pair)?,
            unit: None,
            span: self.span(&pair),
        })
    }

    fn quantity(&self, pair: Pair<'_, Rule>) -> Built<Quantity> {
        let span = self.span(&pair);
        let mut it = pair.into_inner();
        let number = self.next(&mut it, span, "a number")?;
        let value = self.decimal(&number)?;
        let unit = it
            .next()
            .and_then(|unit| unit.into_inner().next())
            .map(|unit| match unit.as_rule() {
                Rule::percent => Unit::Percent,
                Rule::points_unit => Unit::Points,
                Rule::currency_code => Unit::Currency(unit.as_str().to_string()),
                _ => Unit::Duration(duration_unit(unit.as_str())),
            });
        Ok(Quantity { value, unit, span })
    }

    fn moment(&self, pair: Pair<'_, Rule>) -> Built<Moment> {
        let span = self.span(&pair);
        let text = pair.as_str();
        let parsed = match pair.as_rule() {
            Rule::date => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .map(Moment::Date),
            _ => DateTime::parse_from_rfc3339(&normalise_datetime(text))
                .ok()
                .map(Moment::DateTime),
        };
        parsed.ok_or_else(|| {
            Diagnostic::new(
                Code::InvalidDate,
                span,
                format!("`{text}` is not a real date or time"),
            )
            .with_label("no such day or time")
        })
    }

    fn clause(&self, pair: Pair<'_, Rule>) -> Built<Clause> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut it = parts(pair).peekable();
        let kind = match rule {
            Rule::currency_clause => {
                ClauseKind::Currency(self.ident(&self.next(&mut it, span, "a currency")?))
            }
            Rule::timezone_clause => {
                ClauseKind::Timezone(self.string(self.next(&mut it, span, "a time zone")?)?)
            }
            Rule::points_clause => {
                ClauseKind::Points(it.map(|c| self.clause(c)).collect::<Built<_>>()?)
            }
            Rule::precision_clause => {
                ClauseKind::Precision(self.bare_number(self.next(&mut it, span, "a number")?)?)
            }
            Rule::rounding_clause => {
                let mode_pair = self.next(&mut it, span, "a rounding mode")?;
                let mode = match mode_pair.into_inner().next().map(|p| p.as_rule()) {
                    Some(Rule::mode_up) => RoundingMode::Up,
                    Some(Rule::mode_half_up) => RoundingMode::HalfUp,
                    Some(Rule::mode_half_even) => RoundingMode::HalfEven,
                    _ => RoundingMode::Down,
                };
                let scope = it.next().map(|p| match p.as_str() {
                    "item" => RoundingScope::Item,
                    "rule" => RoundingScope::Rule,
                    _ => RoundingScope::Transaction,
                });
                ClauseKind::Rounding { mode, scope }
            }
            Rule::effective_clause => {
                ClauseKind::EffectiveFrom(self.moment(self.next(&mut it, span, "a date")?)?)
            }
            Rule::on_clause => ClauseKind::On(self.ident(&self.next(&mut it, span, "an event")?)),
            Rule::when_clause => {
                ClauseKind::When(self.expr(self.next(&mut it, span, "a condition")?)?)
            }
            Rule::earn_clause => {
                let amount = self.expr(self.next(&mut it, span, "an amount")?)?;
                let mut points_suffix = false;
                let mut for_each = None;
                for part in it {
                    match part.as_rule() {
                        Rule::points_suffix => points_suffix = true,
                        Rule::for_each => {
                            let fe_span = self.span(&part);
                            let filter = parts(part).next().map(|e| self.expr(e)).transpose()?;
                            for_each = Some(ForEach {
                                filter,
                                span: fe_span,
                            });
                        }
                        _ => return Err(self.malformed(span, "`earn`")),
                    }
                }
                ClauseKind::Earn {
                    amount,
                    points_suffix,
                    for_each,
                }
            }
            Rule::pending_clause => {
                ClauseKind::Pending(self.quantity(self.next(&mut it, span, "a duration")?)?)
            }
            Rule::expire_clause => {
                ClauseKind::ExpireAfter(self.quantity(self.next(&mut it, span, "a duration")?)?)
            }
            Rule::cap_clause => {
                let amount = self.quantity(self.next(&mut it, span, "an amount")?)?;
                let period = period(self.next(&mut it, span, "a period")?.as_str());
                ClauseKind::Cap { amount, period }
            }
            Rule::valid_clause => {
                let inner = self.next(&mut it, span, "a validity")?;
                let validity = match inner.as_rule() {
                    Rule::valid_range => {
                        let mut moments = parts(inner);
                        let from = self.moment(self.next(&mut moments, span, "a start")?)?;
                        let to = self.moment(self.next(&mut moments, span, "an end")?)?;
                        Validity::Range(from, to)
                    }
                    Rule::valid_from => Validity::From(self.moment(self.next(
                        &mut parts(inner),
                        span,
                        "a start",
                    )?)?),
                    Rule::valid_until => Validity::Until(self.moment(self.next(
                        &mut parts(inner),
                        span,
                        "an end",
                    )?)?),
                    _ => Validity::For(self.quantity(inner)?),
                };
                ClauseKind::Valid(validity)
            }
            Rule::audience_clause => ClauseKind::Audience(it.map(|p| self.ident(&p)).collect()),
            Rule::budget_clause => {
                ClauseKind::Budget(self.quantity(self.next(&mut it, span, "an amount")?)?)
            }
            Rule::limit_clause => {
                let count = self.bare_number(self.next(&mut it, span, "a count")?)?;
                let period = it.next().map(|p| period(p.as_str()));
                ClauseKind::Limit { count, period }
            }
            Rule::priority_clause => {
                ClauseKind::Priority(self.bare_number(self.next(&mut it, span, "a number")?)?)
            }
            Rule::stacking_clause => {
                let inner = self.next(&mut it, span, "a stacking")?;
                let stacking = match inner.as_rule() {
                    Rule::stack_exclusive => Stacking::Exclusive,
                    Rule::stack_with_all => Stacking::WithAll,
                    Rule::stack_with => {
                        Stacking::With(parts(inner).map(|p| self.ident(&p)).collect())
                    }
                    _ => Stacking::BestOf(self.ident(&self.next(
                        &mut parts(inner),
                        span,
                        "a group name",
                    )?)),
                };
                ClauseKind::Stacking(stacking)
            }
            Rule::codes_clause => {
                let inner = self.next(&mut it, span, "codes")?;
                let batch = match inner.as_rule() {
                    Rule::codes_unique => {
                        let mut p = parts(inner);
                        let length = self.bare_number(self.next(&mut p, span, "a length")?)?;
                        let prefix = p.next().map(|s| self.string(s)).transpose()?;
                        CodeBatch::Unique { length, prefix }
                    }
                    _ => CodeBatch::Fixed(
                        parts(inner).map(|s| self.string(s)).collect::<Built<_>>()?,
                    ),
                };
                ClauseKind::Codes(batch)
            }
            Rule::issue_clause => {
                ClauseKind::IssueOn(self.ident(&self.next(&mut it, span, "an event")?))
            }
            Rule::discount_clause => {
                let amount = self.expr(self.next(&mut it, span, "an amount")?)?;
                let max = it.next().map(|e| self.expr(e)).transpose()?;
                ClauseKind::Discount { amount, max }
            }
            Rule::uses_clause => {
                ClauseKind::Uses(self.bare_number(self.next(&mut it, span, "a count")?)?)
            }
            Rule::buy_clause => {
                let buy = self.bare_number(self.next(&mut it, span, "a count")?)?;
                let get = self.bare_number(self.next(&mut it, span, "a count")?)?;
                let reward = self.reward(self.next(&mut it, span, "a reward")?)?;
                let filter = it.next().map(|e| self.expr(e)).transpose()?;
                ClauseKind::Buy {
                    buy,
                    get,
                    reward,
                    filter,
                }
            }
            Rule::cheapest_clause => {
                let of = self.bare_number(self.next(&mut it, span, "a count")?)?;
                let reward = self.reward(self.next(&mut it, span, "a reward")?)?;
                let filter = it.next().map(|e| self.expr(e)).transpose()?;
                ClauseKind::Cheapest { of, reward, filter }
            }
            Rule::once_clause => ClauseKind::Once,
            Rule::qualify_clause => {
                ClauseKind::Qualify(self.expr(self.next(&mut it, span, "a condition")?)?)
            }
            Rule::keep_clause => {
                ClauseKind::Keep(self.quantity(self.next(&mut it, span, "a duration")?)?)
            }
            Rule::rate_clause => {
                let points = self.quantity(self.next(&mut it, span, "points")?)?;
                let money = self.quantity(self.next(&mut it, span, "money")?)?;
                ClauseKind::Rate { points, money }
            }
            Rule::max_clause => {
                ClauseKind::Max(self.expr(self.next(&mut it, span, "an amount")?)?)
            }
            Rule::min_balance_clause => {
                ClauseKind::MinBalance(self.quantity(self.next(&mut it, span, "points")?)?)
            }
            Rule::step_clause => {
                ClauseKind::Step(self.quantity(self.next(&mut it, span, "points")?)?)
            }
            Rule::order_clause => {
                let order = match self.next(&mut it, span, "an order")?.as_str() {
                    "newest" => LotOrder::Newest,
                    "expiring" => LotOrder::Expiring,
                    _ => LotOrder::Oldest,
                };
                ClauseKind::Order(order)
            }
            _ => return Err(self.malformed(span, "a clause")),
        };
        Ok(Clause { kind, span })
    }

    fn reward(&self, pair: Pair<'_, Rule>) -> Built<OfferReward> {
        let span = self.span(&pair);
        let inner = self.next(&mut parts(pair), span, "a reward")?;
        match inner.as_rule() {
            Rule::reward_free => Ok(OfferReward::Free),
            _ => Ok(OfferReward::PercentOff(self.quantity(self.next(
                &mut parts(inner),
                span,
                "a percentage",
            )?)?)),
        }
    }

    // ------------------------------------------------------------ expressions
    //
    // An expression arrives as a flat sequence of prefix operators, operands and infix operators;
    // precedence climbing builds the tree. Every builder returns the node's depth with it, so a
    // long chain is rejected while it is being built, before a tree too deep to walk (or even to
    // drop) can exist. Recursion happens only for brackets (bounded by the scanner), prefix
    // operators and right-associative `of` (both bounded by `level`).

    fn expr(&self, pair: Pair<'_, Rule>) -> Built<Expr> {
        self.expr_depth(pair).map(|(e, _)| e)
    }

    fn check_depth(&self, depth: usize, span: Span) -> Built<usize> {
        if depth > self.max_depth {
            Err(too_deep(span, depth, self.max_depth))
        } else {
            Ok(depth)
        }
    }

    /// Builds an `expr` or `between_low` pair.
    fn expr_depth(&self, pair: Pair<'_, Rule>) -> Built<(Expr, usize)> {
        let span = self.span(&pair);
        let mut pieces = Vec::new();
        for part in pair.into_inner() {
            let piece = match part.as_rule() {
                Rule::not_op => Piece::Prefix(UnaryOp::Not, self.span(&part)),
                Rule::neg_op => Piece::Prefix(UnaryOp::Neg, self.span(&part)),
                Rule::path_expr => Piece::Operand(part),
                _ => self.infix(part)?,
            };
            pieces.push(piece);
        }
        let mut cursor = pieces.into_iter().peekable();
        let built = self.climb(&mut cursor, 0, 0, span)?;
        match cursor.next() {
            None => Ok(built),
            Some(_) => Err(self.malformed(span, "an operator")),
        }
    }

    fn infix<'i>(&self, part: Pair<'i, Rule>) -> Built<Piece<'i>> {
        let span = self.span(&part);
        let infix = match part.as_rule() {
            Rule::or_op => Infix::Binary(BinaryOp::Or),
            Rule::and_op => Infix::Binary(BinaryOp::And),
            Rule::of_op => Infix::Binary(BinaryOp::Of),
            Rule::add_op | Rule::mul_op => Infix::Binary(match part.as_str() {
                "+" => BinaryOp::Add,
                "-" => BinaryOp::Sub,
                "*" => BinaryOp::Mul,
                _ => BinaryOp::Div,
            }),
            Rule::cmp_op => Infix::Compare(match part.as_str() {
                "<=" => CompareOp::Le,
                ">=" => CompareOp::Ge,
                "!=" => CompareOp::Ne,
                "<" => CompareOp::Lt,
                ">" => CompareOp::Gt,
                _ => CompareOp::Eq,
            }),
            Rule::in_op => Infix::In {
                negated: parts(part).any(|p| p.as_rule() == Rule::negation),
            },
            Rule::between_op => {
                let mut negated = false;
                let mut low = None;
                for p in parts(part) {
                    match p.as_rule() {
                        Rule::negation => negated = true,
                        _ => low = Some(self.expr_depth(p)?),
                    }
                }
                let (low, low_depth) = low.ok_or_else(|| self.malformed(span, "a lower bound"))?;
                Infix::Between {
                    negated,
                    low: Box::new(low),
                    low_depth,
                }
            }
            _ => return Err(self.malformed(span, "an operator")),
        };
        Ok(Piece::Infix(infix, span))
    }

    /// Precedence climbing over `cursor`, taking operators that bind at least `min_power`.
    fn climb<'i>(
        &self,
        cursor: &mut std::iter::Peekable<std::vec::IntoIter<Piece<'i>>>,
        min_power: u8,
        level: usize,
        span: Span,
    ) -> Built<(Expr, usize)> {
        if level > self.max_depth {
            return Err(too_deep(span, level, self.max_depth));
        }
        let (mut lhs, mut depth) = match cursor.next() {
            Some(Piece::Prefix(op, op_span)) => {
                let power = match op {
                    UnaryOp::Not => NOT_POWER,
                    UnaryOp::Neg => NEG_POWER,
                };
                let (operand, operand_depth) = self.climb(cursor, power, level + 1, op_span)?;
                let depth = self.check_depth(operand_depth + 1, op_span)?;
                let expr = Expr {
                    span: op_span.to(operand.span),
                    kind: ExprKind::Unary {
                        op,
                        operand: Box::new(operand),
                    },
                };
                (expr, depth)
            }
            Some(Piece::Operand(pair)) => self.operand(pair)?,
            _ => return Err(self.malformed(span, "an operand")),
        };
        let mut after_comparison = false;
        while let Some(Piece::Infix(infix, op_span)) = cursor.peek() {
            let (left_power, right_power) = infix.powers();
            if left_power < min_power {
                break;
            }
            let op_span = *op_span;
            if infix.is_comparison() && after_comparison {
                return Err(Diagnostic::new(
                    Code::Syntax,
                    op_span,
                    "comparisons cannot be chained",
                )
                .with_label("a second comparison")
                .with_help("join two comparisons with `and`: `a < b and b < c`"));
            }
            let Some(Piece::Infix(infix, _)) = cursor.next() else {
                break;
            };
            let (rhs, rhs_depth) = self.climb(cursor, right_power, level + 1, op_span)?;
            after_comparison = infix.is_comparison();
            let (expr, new_depth) = self.combine(infix, lhs, rhs, depth.max(rhs_depth), op_span)?;
            lhs = expr;
            depth = new_depth;
        }
        Ok((lhs, depth))
    }

    fn combine(
        &self,
        infix: Infix,
        lhs: Expr,
        rhs: Expr,
        child_depth: usize,
        op_span: Span,
    ) -> Built<(Expr, usize)> {
        let span = lhs.span.to(rhs.span);
        // A flat `a or b or c ...` is left-deep with the same operator all the way down.
        let chain_word = match (&infix, &lhs.kind) {
            (
                Infix::Binary(op @ (BinaryOp::Or | BinaryOp::And)),
                ExprKind::Binary { op: lhs_op, .. },
            ) if op == lhs_op => Some(op.as_str()),
            _ => None,
        };
        let (kind, child_depth) = match infix {
            Infix::Binary(op) => (
                ExprKind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                child_depth,
            ),
            Infix::Compare(op) => (
                ExprKind::Compare {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                child_depth,
            ),
            Infix::In { negated } => (
                ExprKind::In {
                    negated,
                    value: Box::new(lhs),
                    list: Box::new(rhs),
                },
                child_depth,
            ),
            Infix::Between {
                negated,
                low,
                low_depth,
            } => (
                ExprKind::Between {
                    negated,
                    value: Box::new(lhs),
                    low,
                    high: Box::new(rhs),
                },
                child_depth.max(low_depth),
            ),
        };
        let depth = child_depth + 1;
        if depth > self.max_depth {
            return Err(match chain_word {
                Some(word) => Diagnostic::new(
                    Code::NestingTooDeep,
                    op_span,
                    format!("this condition joins more than {} parts with `{word}`", self.max_depth),
                )
                .with_label("the part past the limit")
                .with_help("list the values instead: `store.id in [\"S-1\", \"S-2\"]`, or split the condition into segments"),
                None => too_deep(op_span, depth, self.max_depth),
            });
        }
        Ok((Expr { kind, span }, depth))
    }

    /// `path_expr`: a literal, a bracketed expression, a list, a call, or a name with fields.
    fn operand(&self, pair: Pair<'_, Rule>) -> Built<(Expr, usize)> {
        let span = self.span(&pair);
        let mut it = pair.into_inner();
        let head = self.next(&mut it, span, "a value")?;
        let fields: Vec<Ident> = it.map(|f| self.ident(&f)).collect();
        if fields.is_empty() {
            return self.primary(head);
        }
        let head_span = self.span(&head);
        let mut head_parts = head.clone().into_inner();
        let name = match (head.as_rule(), head_parts.next(), head_parts.next()) {
            (Rule::name_or_call, Some(ident), None) => self.ident(&ident),
            _ => {
                return Err(Diagnostic::new(
                    Code::UnknownObject,
                    head_span,
                    "fields can only be read from a named object such as `customer`",
                )
                .with_label("not an object"))
            }
        };
        let mut segments = vec![name];
        segments.extend(fields);
        Ok((
            Expr {
                kind: ExprKind::Path(segments),
                span,
            },
            1,
        ))
    }

    fn primary(&self, pair: Pair<'_, Rule>) -> Built<(Expr, usize)> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::paren => {
                // The parentheses belong to the expression's text, so quoting it (traces,
                // reasons) keeps them balanced.
                let inner = self.next(&mut parts(pair), span, "an expression")?;
                let (inner, depth) = self.expr_depth(inner)?;
                return Ok((Expr { span, ..inner }, depth));
            }
            Rule::list => return self.list(pair),
            Rule::name_or_call => return self.name_or_call(pair),
            Rule::quantity => ExprKind::Quantity(self.quantity(pair)?),
            Rule::string => ExprKind::Text(self.string(pair)?.value),
            Rule::boolean => ExprKind::Bool(pair.as_str() == "true"),
            Rule::date | Rule::datetime => ExprKind::Moment(self.moment(pair)?),
            _ => return Err(self.malformed(span, "an expression")),
        };
        Ok((Expr { kind, span }, 1))
    }

    fn list(&self, pair: Pair<'_, Rule>) -> Built<(Expr, usize)> {
        let span = self.span(&pair);
        let mut items = Vec::new();
        let mut depth = 0;
        for item in parts(pair) {
            let (e, d) = self.expr_depth(item)?;
            depth = depth.max(d);
            items.push(e);
        }
        let depth = self.check_depth(depth + 1, span)?;
        Ok((
            Expr {
                kind: ExprKind::List(items),
                span,
            },
            depth,
        ))
    }

    fn name_or_call(&self, pair: Pair<'_, Rule>) -> Built<(Expr, usize)> {
        let span = self.span(&pair);
        let mut it = pair.into_inner();
        let name = self.ident(&self.next(&mut it, span, "a name")?);
        let Some(call_args) = it.next() else {
            return Ok((
                Expr {
                    kind: ExprKind::Path(vec![name]),
                    span,
                },
                1,
            ));
        };
        let mut args = Vec::new();
        let mut depth = 0;
        for arg in call_args.into_inner() {
            let (built, d) = self.arg(arg)?;
            depth = depth.max(d);
            args.push(built);
        }
        let depth = self.check_depth(depth + 1, span)?;
        Ok((
            Expr {
                kind: ExprKind::Call { name, args },
                span,
            },
            depth,
        ))
    }

    fn arg(&self, arg: Pair<'_, Rule>) -> Built<(Arg, usize)> {
        let arg_span = self.span(&arg);
        let inner = self.next(&mut arg.into_inner(), arg_span, "an argument")?;
        let rule = inner.as_rule();
        let mut p = parts(inner);
        let mut depth = 0;
        let mut optional = |p: Option<Pair<'_, Rule>>| -> Built<Option<Expr>> {
            p.map(|e| {
                self.expr_depth(e).map(|(e, d)| {
                    depth = depth.max(d);
                    e
                })
            })
            .transpose()
        };
        let built = match rule {
            Rule::window_arg => {
                Arg::Window(self.quantity(self.next(&mut p, arg_span, "a window")?)?)
            }
            Rule::items_arg => Arg::Items {
                filter: optional(p.next())?,
                span: arg_span,
            },
            _ => {
                let value =
                    optional(p.next())?.ok_or_else(|| self.malformed(arg_span, "a value"))?;
                let filter = optional(p.next())?;
                Arg::Value { value, filter }
            }
        };
        Ok((built, depth))
    }
}

/// Binding powers of prefix operators (see `Infix::powers`).
const NOT_POWER: u8 = 5;
const NEG_POWER: u8 = 13;

/// One element of an expression's flat sequence.
enum Piece<'i> {
    Prefix(UnaryOp, Span),
    Operand(Pair<'i, Rule>),
    Infix(Infix, Span),
}

/// An infix operator, with the lower bound of `between` already built.
enum Infix {
    Binary(BinaryOp),
    Compare(CompareOp),
    In {
        negated: bool,
    },
    Between {
        negated: bool,
        low: Box<Expr>,
        low_depth: usize,
    },
}

impl Infix {
    /// Left and right binding power: loosest `or` (1, 2) ... tightest `of` (16, 15, right
    /// associative). `not` binds at 5 and unary `-` at 13, between their neighbours.
    fn powers(&self) -> (u8, u8) {
        match self {
            Infix::Binary(BinaryOp::Or) => (1, 2),
            Infix::Binary(BinaryOp::And) => (3, 4),
            Infix::Compare(_) | Infix::In { .. } | Infix::Between { .. } => (7, 8),
            Infix::Binary(BinaryOp::Add | BinaryOp::Sub) => (9, 10),
            Infix::Binary(BinaryOp::Mul | BinaryOp::Div) => (11, 12),
            Infix::Binary(BinaryOp::Of) => (16, 15),
        }
    }

    fn is_comparison(&self) -> bool {
        matches!(
            self,
            Infix::Compare(_) | Infix::In { .. } | Infix::Between { .. }
        )
    }
}

fn duration_unit(text: &str) -> DurationUnit {
    match text.trim_end_matches('s') {
        "minute" => DurationUnit::Minute,
        "hour" => DurationUnit::Hour,
        "week" => DurationUnit::Week,
        "month" => DurationUnit::Month,
        "year" => DurationUnit::Year,
        _ => DurationUnit::Day,
    }
}

fn period(text: &str) -> Period {
    match text {
        "transaction" => Period::Transaction,
        "week" => Period::Week,
        "month" => Period::Month,
        "year" => Period::Year,
        _ => Period::Day,
    }
}

/// RFC 3339 wants seconds; the language lets them be left out (`2026-12-05T10:00+03:00`).
fn normalise_datetime(text: &str) -> String {
    match text.find('T') {
        Some(t)
            if text
                .get(t + 1..)
                .is_some_and(|rest| rest.len() >= 5 && rest.get(5..6) != Some(":")) =>
        {
            format!(
                "{}:00{}",
                text.get(..t + 6).unwrap_or(text),
                text.get(t + 6..).unwrap_or("")
            )
        }
        _ => text.to_string(),
    }
}
