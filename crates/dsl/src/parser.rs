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
    let mut pairs =
        PestParser::parse(Rule::chunk, source).map_err(|e| syntax_error(e, chunk.span.start))?;
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

fn syntax_error(error: pest::error::Error<Rule>, offset: usize) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let (start, end) = match error.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((s, e)) => (s, e),
    };
    let span = Span::new(start, end).shifted(offset);
    let (message, label) = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut wanted: Vec<&str> = positives.iter().map(|r| describe(*r)).collect();
            wanted.sort_unstable();
            wanted.dedup();
            let expected = match wanted.as_slice() {
                [] => "something else".to_string(),
                [one] => (*one).to_string(),
                [init @ .., last] => format!("{} or {}", init.join(", "), last),
            };
            (format!("expected {expected}"), "unexpected text here")
        }
        ErrorVariant::CustomError { message } => (message.clone(), ""),
    };
    Diagnostic::new(Code::Syntax, span, message).with_label(label)
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
        | Rule::or_expr
        | Rule::and_expr
        | Rule::not_expr
        | Rule::cmp_expr
        | Rule::add_expr
        | Rule::mul_expr
        | Rule::unary_expr
        | Rule::of_expr
        | Rule::path_expr
        | Rule::paren
        | Rule::list
        | Rule::call
        | Rule::boolean => "an expression",
        Rule::arg | Rule::window_arg | Rule::items_arg | Rule::expr_arg => "an argument",
        Rule::cmp_op | Rule::compare_tail => "a comparison",
        Rule::add_op | Rule::mul_op => "an operator",
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
        Rule::in_tail => "`in`",
        Rule::between_tail => "`between`",
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
    // Every builder returns the node's depth with it, so a long operator chain is rejected while
    // it is being built, before a tree too deep to walk (or even to drop) can exist.

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

    /// Dispatches on the node kind. Kept small on purpose: it is on the recursion path once per
    /// nesting level, and each arm's locals live in the helper it calls, not in this frame (in a
    /// debug build one function with all the arms inline took 13 KB of stack per call).
    fn expr_depth(&self, pair: Pair<'_, Rule>) -> Built<(Expr, usize)> {
        let pair = single_operand(pair);
        match pair.as_rule() {
            Rule::or_expr => self.left_chain(pair, Some(BinaryOp::Or)),
            Rule::and_expr => self.left_chain(pair, Some(BinaryOp::And)),
            Rule::add_expr | Rule::mul_expr => self.left_chain(pair, None),
            Rule::not_expr | Rule::unary_expr => self.prefixed(pair),
            Rule::of_expr => self.of_chain(pair),
            Rule::cmp_expr => self.comparison(pair),
            Rule::path_expr => self.path(pair),
            Rule::list => self.list(pair),
            Rule::call => self.call(pair),
            _ => self.atom(pair),
        }
    }

    /// `not x`, `-x`: prefix operators applied innermost first.
    fn prefixed(&self, pair: Pair<'_, Rule>) -> Built<(Expr, usize)> {
        let span = self.span(&pair);
        let mut ops = Vec::new();
        let mut operand = None;
        for part in parts(pair) {
            match part.as_rule() {
                Rule::not_op => ops.push((UnaryOp::Not, self.span(&part))),
                Rule::neg_op => ops.push((UnaryOp::Neg, self.span(&part))),
                _ => operand = Some(self.expr_depth(part)?),
            }
        }
        let (mut expr, mut depth) = operand.ok_or_else(|| self.malformed(span, "an operand"))?;
        for (op, op_span) in ops.into_iter().rev() {
            depth = self.check_depth(depth + 1, op_span)?;
            expr = Expr {
                span: op_span.to(expr.span),
                kind: ExprKind::Unary {
                    op,
                    operand: Box::new(expr),
                },
            };
        }
        Ok((expr, depth))
    }

    /// `a of b of c`, which reads as `a of (b of c)`.
    fn of_chain(&self, pair: Pair<'_, Rule>) -> Built<(Expr, usize)> {
        let span = self.span(&pair);
        let operands: Vec<(Expr, usize)> = parts(pair)
            .map(|p| self.expr_depth(p))
            .collect::<Built<_>>()?;
        let mut rev = operands.into_iter().rev();
        let (mut expr, mut depth) = rev
            .next()
            .ok_or_else(|| self.malformed(span, "an operand"))?;
        for (lhs, lhs_depth) in rev {
            depth = self.check_depth(depth.max(lhs_depth) + 1, lhs.span)?;
            expr = Expr {
                span: lhs.span.to(expr.span),
                kind: ExprKind::Binary {
                    op: BinaryOp::Of,
                    lhs: Box::new(lhs),
                    rhs: Box::new(expr),
                },
            };
        }
        Ok((expr, depth))
    }

    /// `customer.birth_date`: a name with fields.
    fn path(&self, pair: Pair<'_, Rule>) -> Built<(Expr, usize)> {
        let span = self.span(&pair);
        let mut it = pair.into_inner();
        let head = self.next(&mut it, span, "a value")?;
        let fields: Vec<Ident> = it.map(|f| self.ident(&f)).collect();
        if fields.is_empty() {
            return self.expr_depth(head);
        }
        if head.as_rule() != Rule::ident {
            let head_span = self.span(&head);
            return Err(Diagnostic::new(
                Code::UnknownObject,
                head_span,
                "fields can only be read from a named object such as `customer`",
            )
            .with_label("not an object"));
        }
        let mut segments = vec![self.ident(&head)];
        segments.extend(fields);
        Ok((
            Expr {
                kind: ExprKind::Path(segments),
                span,
            },
            1,
        ))
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

    /// Names and literals (and, defensively, a wrapper `single_operand` did not step through).
    fn atom(&self, pair: Pair<'_, Rule>) -> Built<(Expr, usize)> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::expr | Rule::paren => {
                let inner = self.next(&mut parts(pair), span, "an expression")?;
                return self.expr_depth(inner);
            }
            Rule::ident => ExprKind::Path(vec![self.ident(&pair)]),
            Rule::quantity => ExprKind::Quantity(self.quantity(pair)?),
            Rule::string => ExprKind::Text(self.string(pair)?.value),
            Rule::boolean => ExprKind::Bool(pair.as_str() == "true"),
            Rule::date | Rule::datetime => ExprKind::Moment(self.moment(pair)?),
            _ => return Err(self.malformed(span, "an expression")),
        };
        Ok((Expr { kind, span }, 1))
    }

    /// A left-associative chain `a op b op c`, folded without recursion. `fixed` is the operator
    /// of chains whose operator is a (filtered-out) keyword; `+ - * /` chains carry operator pairs.
    fn left_chain(&self, pair: Pair<'_, Rule>, fixed: Option<BinaryOp>) -> Built<(Expr, usize)> {
        let span = self.span(&pair);
        let mut it = parts(pair);
        let first = self.next(&mut it, span, "an operand")?;
        let (mut expr, mut depth) = self.expr_depth(first)?;
        let mut pending_op = fixed;
        for part in it {
            if matches!(part.as_rule(), Rule::add_op | Rule::mul_op) {
                pending_op = Some(match part.as_str() {
                    "+" => BinaryOp::Add,
                    "-" => BinaryOp::Sub,
                    "*" => BinaryOp::Mul,
                    _ => BinaryOp::Div,
                });
                continue;
            }
            let op = pending_op.ok_or_else(|| self.malformed(span, "an operator"))?;
            let (rhs, rhs_depth) = self.expr_depth(part)?;
            depth = self.check_depth(depth.max(rhs_depth) + 1, rhs.span)?;
            expr = Expr {
                span: expr.span.to(rhs.span),
                kind: ExprKind::Binary {
                    op,
                    lhs: Box::new(expr),
                    rhs: Box::new(rhs),
                },
            };
        }
        Ok((expr, depth))
    }

    fn comparison(&self, pair: Pair<'_, Rule>) -> Built<(Expr, usize)> {
        let span = self.span(&pair);
        let mut it = parts(pair);
        let (lhs, lhs_depth) = self.expr_depth(self.next(&mut it, span, "a value")?)?;
        let Some(tail) = it.next() else {
            return Ok((lhs, lhs_depth));
        };
        let tail_rule = tail.as_rule();
        let mut tail_parts = parts(tail).peekable();
        let negated = tail_parts
            .next_if(|p| p.as_rule() == Rule::negation)
            .is_some();
        let mut operands = Vec::new();
        let mut cmp = None;
        for part in tail_parts {
            if part.as_rule() == Rule::cmp_op {
                cmp = Some(match part.as_str() {
                    "<=" => CompareOp::Le,
                    ">=" => CompareOp::Ge,
                    "!=" => CompareOp::Ne,
                    "<" => CompareOp::Lt,
                    ">" => CompareOp::Gt,
                    _ => CompareOp::Eq,
                });
            } else {
                operands.push(self.expr_depth(part)?);
            }
        }
        let depth = operands.iter().map(|(_, d)| *d).fold(lhs_depth, usize::max) + 1;
        let depth = self.check_depth(depth, span)?;
        let mut operands = operands.into_iter().map(|(e, _)| Box::new(e));
        let mut operand = || {
            operands
                .next()
                .ok_or_else(|| self.malformed(span, "an operand"))
        };
        let value = Box::new(lhs);
        let kind = match tail_rule {
            Rule::compare_tail => ExprKind::Compare {
                op: cmp.ok_or_else(|| self.malformed(span, "a comparison"))?,
                lhs: value,
                rhs: operand()?,
            },
            Rule::in_tail => ExprKind::In {
                negated,
                value,
                list: operand()?,
            },
            _ => ExprKind::Between {
                negated,
                value,
                low: operand()?,
                high: operand()?,
            },
        };
        Ok((Expr { kind, span }, depth))
    }

    fn call(&self, pair: Pair<'_, Rule>) -> Built<(Expr, usize)> {
        let span = self.span(&pair);
        let mut it = pair.into_inner();
        let name = self.ident(&self.next(&mut it, span, "a function name")?);
        let mut args = Vec::new();
        let mut depth = 0;
        for arg in it {
            let arg_span = self.span(&arg);
            let inner = self.next(&mut arg.into_inner(), arg_span, "an argument")?;
            let rule = inner.as_rule();
            let mut p = parts(inner);
            let built = match rule {
                Rule::window_arg => {
                    Arg::Window(self.quantity(self.next(&mut p, arg_span, "a window")?)?)
                }
                Rule::items_arg => {
                    let filter = match p.next() {
                        Some(e) => {
                            let (e, d) = self.expr_depth(e)?;
                            depth = depth.max(d);
                            Some(e)
                        }
                        None => None,
                    };
                    Arg::Items {
                        filter,
                        span: arg_span,
                    }
                }
                _ => {
                    let (value, d) = self.expr_depth(self.next(&mut p, arg_span, "a value")?)?;
                    depth = depth.max(d);
                    let filter = match p.next() {
                        Some(e) => {
                            let (e, d) = self.expr_depth(e)?;
                            depth = depth.max(d);
                            Some(e)
                        }
                        None => None,
                    };
                    Arg::Value { value, filter }
                }
            };
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
}

/// Steps down, in a loop, through the nodes that only wrap one operand: `expr`, `( )`, and each
/// precedence level written without its operator. Every bracket level passes through about ten
/// such nodes; recursing through each (a large frame in debug builds) overflowed a 2 MiB stack
/// at about 15 levels, well inside the nesting limit. Now a level costs one or two frames.
fn single_operand(mut pair: Pair<'_, Rule>) -> Pair<'_, Rule> {
    while matches!(
        pair.as_rule(),
        Rule::expr
            | Rule::paren
            | Rule::or_expr
            | Rule::and_expr
            | Rule::not_expr
            | Rule::cmp_expr
            | Rule::add_expr
            | Rule::mul_expr
            | Rule::unary_expr
            | Rule::of_expr
            | Rule::path_expr
    ) {
        let mut children = pair.clone().into_inner();
        match (children.next(), children.next()) {
            (Some(only), None) => pair = only,
            _ => break,
        }
    }
    pair
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
