//! Name resolution and type checking of expressions: `ast::Expr` in, [`TypedExpr`] out.
//!
//! Every error is reported once: a sub-expression with an error gets the type `Unknown`, which
//! matches anything, so its parents stay quiet.

use super::names::{NameKind, Names};
use crate::program::{Duration, HistoryMetric, Requirements, TypedExpr, TypedKind, Value};
use crate::schema::{self, Field, Function};
use crate::types::Type;
use puntos_dsl::ast::{Arg, BinaryOp, CompareOp, Expr, ExprKind, Quantity, UnaryOp, Unit};
use puntos_dsl::{did_you_mean, Code, Diagnostic, Span};
use rust_decimal::Decimal;

/// Where an expression is checked: what it may read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope {
    /// A current basket line exists (`for each item`, aggregate arguments, offer filters).
    pub item: bool,
    /// The event carries a basket (false for `signup`, `referral`...).
    pub basket: bool,
}

impl Scope {
    /// A scope with a basket and no current line.
    pub(crate) const BASKET: Scope = Scope {
        item: false,
        basket: true,
    };
    /// A scope with neither basket nor line (tier qualification, basket-less events).
    pub(crate) const NO_BASKET: Scope = Scope {
        item: false,
        basket: false,
    };
}

/// A reference from one declaration to a segment or rule, for dependency order and cycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reference {
    Segment(usize, Span),
    Rule(usize, Span),
}

/// The checker's shared state for one declaration at a time.
pub(crate) struct Checker<'a> {
    pub names: &'a Names,
    pub currency: &'a str,
    pub diagnostics: &'a mut Vec<Diagnostic>,
    pub requirements: &'a mut Requirements,
    /// References made by the declaration being checked.
    pub references: Vec<Reference>,
    /// Segments that read basket data, by index (to report basket reads on basket-less events).
    pub basket_segments: &'a [bool],
    /// Whether a rule's name may be read here (only in rules' and promotions' `when` and `earn`).
    pub allow_rule_refs: bool,
    /// What has no basket when basket data is read where there is none, such as
    /// "a `signup` transaction", for messages.
    pub context: String,
}

fn typed(kind: TypedKind, ty: Type, span: Span) -> TypedExpr {
    TypedExpr { kind, ty, span }
}

fn unknown(span: Span) -> TypedExpr {
    typed(TypedKind::Const(Value::Bool(false)), Type::Unknown, span)
}

/// The type of a literal quantity and its constant value. Currency checks happen in the caller.
pub(crate) fn quantity_value(q: &Quantity) -> (Value, Type) {
    match &q.unit {
        None => (Value::Number(q.value), Type::Number),
        Some(Unit::Percent) => (Value::Percent(q.value), Type::Percent),
        Some(Unit::Points) => (Value::Points(q.value), Type::Points),
        Some(Unit::Currency(_)) => (Value::Money(q.value), Type::Money),
        Some(Unit::Duration(unit)) => (
            Value::Duration(Duration {
                amount: q.value,
                unit: *unit,
            }),
            Type::Duration,
        ),
    }
}

impl Checker<'_> {
    fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// The program's currency for examples in messages: `RUB` when the header gave none.
    pub(crate) fn example_currency(&self) -> &str {
        if self.currency.is_empty() {
            "RUB"
        } else {
            self.currency
        }
    }

    /// Checks a quantity's currency against the program's; returns false if it is foreign.
    ///
    /// When the program's currency is unknown (no header, or an invalid code, both reported
    /// already), amounts are not checked: every one would only echo that first error.
    pub(crate) fn check_currency(&mut self, q: &Quantity) -> bool {
        let Some(Unit::Currency(code)) = &q.unit else {
            return true;
        };
        if self.currency.is_empty() || code == self.currency {
            return true;
        }
        let currency = self.currency;
        let diagnostic = if schema::CURRENCIES.contains(&code.as_str()) {
            Diagnostic::new(
                Code::CurrencyMismatch,
                q.span,
                format!("`{code}` is not the program's currency `{currency}`"),
            )
            .with_label(format!("an amount in {code}"))
            .with_help(format!(
                "write the amount in {currency}; conversion between currencies happens before puntos"
            ))
        } else if let Some(successor) = schema::currency_successor(code) {
            let fix = if successor == currency {
                format!("write `{} {currency}`", q.value)
            } else {
                format!("write the amount in {currency}, the program's currency")
            };
            Diagnostic::new(
                Code::UnknownCurrency,
                q.span,
                format!("`{code}` is no longer an ISO 4217 currency code"),
            )
            .with_label("withdrawn currency")
            .with_help(format!("`{code}` was replaced by `{successor}`: {fix}"))
        } else {
            Diagnostic::new(
                Code::UnknownCurrency,
                q.span,
                format!("`{code}` is not an ISO 4217 currency code"),
            )
            .with_label("unknown currency")
            .with_help(format!("write `{} {currency}`", q.value))
        };
        self.error(diagnostic);
        false
    }

    /// Checks `expr` and requires its type to be `expected`; `what` names the place for messages.
    pub(crate) fn expect_bool(&mut self, expr: &Expr, scope: Scope, what: &str) -> TypedExpr {
        let checked = self.check(expr, scope);
        if !checked.ty.matches(&Type::Bool) {
            self.error(
                Diagnostic::new(
                    Code::ExpectedBool,
                    expr.span,
                    format!("{what} must be a yes-or-no condition, not {}", checked.ty),
                )
                .with_label(format!("this is {}", checked.ty))
                .with_help(self.condition_help(&checked.ty, expr)),
            );
            return unknown(expr.span);
        }
        checked
    }

    /// How to turn `expr`, of type `ty`, into a yes-or-no condition, for P0205.
    fn condition_help(&self, ty: &Type, expr: &Expr) -> String {
        let e = puntos_dsl::format_expr(expr);
        match ty {
            Type::Money => format!(
                "compare it with an amount, such as `{e} >= 1000 {}`",
                self.example_currency()
            ),
            Type::Number => format!("compare it with a number, such as `{e} >= 1`"),
            Type::Points => format!("compare it with points, such as `{e} >= 100 points`"),
            Type::Percent => format!("compare it with a percentage, such as `{e} >= 10%`"),
            Type::Text => format!("compare it with a text, such as `{e} = \"text\"`"),
            Type::Date => format!("compare it with a date, such as `{e} >= 2026-01-01`"),
            Type::DateTime => {
                format!("compare it with a date-time, such as `{e} >= 2026-01-01T09:00:00Z`")
            }
            Type::Duration => format!("compare it with a duration, such as `{e} >= 7 days`"),
            Type::Weekday => format!("list the days it may be, such as `{e} in [Sat, Sun]`"),
            Type::Tier => format!(
                "compare it with a tier, such as `{e} >= {}`",
                self.example_tier()
            ),
            Type::List(element) => match **element {
                Type::Weekday => format!("look for a day in it: `transaction.weekday in {e}`"),
                Type::Text => format!("look for a value in it, such as `item.category in {e}`"),
                Type::Tier => format!("look for a tier in it: `customer.tier in {e}`"),
                _ => format!("look for a value in it with `in`, such as `x in {e}`"),
            },
            Type::Bool | Type::Unknown => format!(
                "compare it with something, such as `basket.total >= 1000 {}`",
                self.example_currency()
            ),
        }
    }

    /// A declared tier's name for examples, or `Gold`.
    fn example_tier(&self) -> &str {
        self.names
            .items
            .iter()
            .find(|(_, (kind, _))| matches!(kind, NameKind::Tier(_)))
            .map_or("Gold", |(name, _)| name.as_str())
    }

    /// Checks an expression in `scope`.
    pub(crate) fn check(&mut self, expr: &Expr, scope: Scope) -> TypedExpr {
        let span = expr.span;
        match &expr.kind {
            ExprKind::Quantity(q) => {
                let (value, ty) = quantity_value(q);
                if !self.check_currency(q) {
                    return typed(TypedKind::Const(value), Type::Unknown, span);
                }
                typed(TypedKind::Const(value), ty, span)
            }
            ExprKind::Text(t) => typed(TypedKind::Const(Value::Text(t.clone())), Type::Text, span),
            ExprKind::Bool(b) => typed(TypedKind::Const(Value::Bool(*b)), Type::Bool, span),
            ExprKind::Moment(m) => match m {
                puntos_dsl::ast::Moment::Date(d) => {
                    typed(TypedKind::Const(Value::Date(*d)), Type::Date, span)
                }
                puntos_dsl::ast::Moment::DateTime(t) => {
                    typed(TypedKind::Const(Value::DateTime(*t)), Type::DateTime, span)
                }
            },
            ExprKind::Path(segments) => self.path(segments, span, scope),
            ExprKind::List(items) => self.list(items, span, scope),
            ExprKind::Unary { op, operand } => self.unary(*op, operand, span, scope),
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, span, scope),
            ExprKind::Compare { op, lhs, rhs } => self.compare(*op, lhs, rhs, span, scope),
            ExprKind::In {
                negated,
                value,
                list,
            } => self.membership(*negated, value, list, span, scope),
            ExprKind::Between {
                negated,
                value,
                low,
                high,
            } => self.between(*negated, value, low, high, span, scope),
            ExprKind::Call { name, args } => self.call(&name.name, name.span, args, span, scope),
        }
    }

    fn path(&mut self, segments: &[puntos_dsl::ast::Ident], span: Span, scope: Scope) -> TypedExpr {
        match segments {
            [single] => self.name(single, scope),
            [object, field, rest @ ..] => {
                if !schema::OBJECTS.contains(&object.name.as_str()) {
                    let mut d = Diagnostic::new(
                        Code::UnknownObject,
                        object.span,
                        format!("`{}` is not an object with fields", object.name),
                    )
                    .with_label("unknown object");
                    d = match did_you_mean(&object.name, schema::OBJECTS.iter().copied()) {
                        Some(s) => d.with_help(format!("did you mean `{s}`?")),
                        None => d.with_note(format!(
                            "fields are read from {}",
                            list_names(schema::OBJECTS.iter().copied())
                        )),
                    };
                    self.error(d);
                    return unknown(span);
                }
                let Some((resolved, ty)) = schema::field(&object.name, &field.name) else {
                    let mut d = Diagnostic::new(
                        Code::UnknownField,
                        field.span,
                        format!("`{}` has no field `{}`", object.name, field.name),
                    )
                    .with_label("unknown field");
                    d = match did_you_mean(&field.name, schema::field_names(&object.name)) {
                        Some(s) => d.with_help(format!("did you mean `{}.{s}`?", object.name)),
                        None => d.with_note(format!(
                            "`{}` has {}",
                            object.name,
                            list_names(schema::field_names(&object.name))
                        )),
                    };
                    self.error(d);
                    return unknown(span);
                };
                if let Some(extra) = rest.first() {
                    self.error(
                        Diagnostic::new(
                            Code::UnknownField,
                            extra.span,
                            format!("`{}.{}` has no fields", object.name, field.name),
                        )
                        .with_label("nothing to read here"),
                    );
                    return unknown(span);
                }
                if resolved.is_item() && !scope.item {
                    self.error(item_outside(span));
                    return unknown(span);
                }
                if resolved.needs_basket() && !scope.basket {
                    self.error(no_basket(
                        span,
                        &self.context,
                        &format!("`{}`", resolved.path()),
                    ));
                    return unknown(span);
                }
                self.requirements.fields.insert(resolved);
                typed(TypedKind::Field(resolved), ty, span)
            }
            [] => unknown(span),
        }
    }

    fn name(&mut self, ident: &puntos_dsl::ast::Ident, scope: Scope) -> TypedExpr {
        let span = ident.span;
        match self.names.get(&ident.name) {
            Some(NameKind::Segment(index)) => {
                self.references.push(Reference::Segment(index, span));
                if !scope.basket && self.basket_segments.get(index).copied().unwrap_or(false) {
                    self.error(no_basket(
                        span,
                        &self.context,
                        &format!("segment `{}`", ident.name),
                    ));
                    return unknown(span);
                }
                return typed(TypedKind::Segment(index), Type::Bool, span);
            }
            Some(NameKind::Tier(index)) => {
                return typed(TypedKind::Const(Value::Tier(index)), Type::Tier, span)
            }
            Some(NameKind::Rule(index)) => {
                if !self.allow_rule_refs {
                    self.error(
                        Diagnostic::new(
                            Code::UnknownName,
                            span,
                            format!("the points of rule `{}` cannot be read here", ident.name),
                        )
                        .with_label("a rule")
                        .with_note("a rule's points can be read only in the `when` and `earn` of rules and promotions"),
                    );
                    return unknown(span);
                }
                self.references.push(Reference::Rule(index, span));
                return typed(TypedKind::RulePoints(index), Type::Points, span);
            }
            Some(other) => {
                self.error(
                    Diagnostic::new(
                        Code::UnknownName,
                        span,
                        format!(
                            "`{}` is a {} and has no value in an expression",
                            ident.name,
                            other.describe()
                        ),
                    )
                    .with_label(format!("a {}", other.describe()))
                    .with_note("expressions can name segments, tiers, rules and weekdays"),
                );
                return unknown(span);
            }
            None => {}
        }
        if let Some((_, day)) = schema::WEEKDAYS.iter().find(|(n, _)| *n == ident.name) {
            return typed(TypedKind::Const(Value::Weekday(*day)), Type::Weekday, span);
        }
        if ident.name == "item" && !scope.item {
            self.error(item_outside(span));
            return unknown(span);
        }
        let mut d = Diagnostic::new(
            Code::UnknownName,
            span,
            format!("`{}` is not declared", ident.name),
        )
        .with_label("unknown name");
        let candidates = self
            .names
            .items
            .keys()
            .map(String::as_str)
            .chain(schema::WEEKDAYS.iter().map(|(n, _)| *n))
            .chain(schema::OBJECTS.iter().copied());
        if schema::OBJECTS.contains(&ident.name.as_str()) {
            d = d.with_help(format!(
                "`{0}` is an object: read one of its fields, such as `{0}.{1}`",
                ident.name,
                schema::field_names(&ident.name).next().unwrap_or("id")
            ));
        } else if let Some(s) = did_you_mean(&ident.name, candidates) {
            d = d.with_help(format!("did you mean `{s}`?"));
        } else {
            d = d.with_note(
                "a name must be a declared segment, tier or rule, or a weekday such as `Sat`",
            );
        }
        self.error(d);
        unknown(span)
    }

    fn list(&mut self, items: &[Expr], span: Span, scope: Scope) -> TypedExpr {
        let checked: Vec<TypedExpr> = items.iter().map(|e| self.check(e, scope)).collect();
        let mut element = Type::Unknown;
        for item in &checked {
            if element.is_unknown() {
                element = item.ty.clone();
            } else if !item.ty.matches(&element) {
                let first_span = checked.first().map_or(span, |f| f.span);
                let mut d = Diagnostic::new(
                    Code::MixedList,
                    item.span,
                    format!("a list holds values of one type, but this is {} and the first is {element}", item.ty),
                )
                .with_label(format!("{}", item.ty))
                .with_secondary(first_span, format!("{element}"));
                if let Some(help) = self.unquote_help(&checked, &element, &item.ty) {
                    d = d.with_help(help);
                }
                self.error(d);
                return unknown(span);
            }
        }
        let ty = Type::List(Box::new(element));
        // A list of constants is one constant, so evaluation compares without evaluating.
        let constants: Option<Vec<Value>> = checked
            .iter()
            .map(|item| match &item.kind {
                TypedKind::Const(v) => Some(v.clone()),
                _ => None,
            })
            .collect();
        match constants {
            Some(values) => typed(TypedKind::Const(Value::List(values)), ty, span),
            None => typed(TypedKind::List(checked), ty, span),
        }
    }

    /// Help for a list mixing quoted text with weekdays or tiers, which are written bare.
    fn unquote_help(&self, items: &[TypedExpr], a: &Type, b: &Type) -> Option<String> {
        let bare = match (a, b) {
            (Type::Text, other) | (other, Type::Text)
                if matches!(other, Type::Weekday | Type::Tier) =>
            {
                other.clone()
            }
            _ => return None,
        };
        let text = items.iter().find_map(|i| match literal(i) {
            Some(Value::Text(t)) => Some(t.as_str()),
            _ => None,
        })?;
        let exact = match bare {
            Type::Weekday => schema::WEEKDAYS.iter().any(|(n, _)| *n == text),
            _ => matches!(self.names.get(text), Some(NameKind::Tier(_))),
        };
        if exact {
            return Some(format!("remove the quotes: `{text}`"));
        }
        let close = match bare {
            Type::Weekday => {
                // `"sunday"` and `"SUN"` mean `Sun`.
                let start: String = text.chars().take(3).collect::<String>().to_lowercase();
                schema::WEEKDAYS
                    .iter()
                    .map(|(n, _)| *n)
                    .find(|n| n.to_lowercase() == start)
                    .or_else(|| did_you_mean(text, schema::WEEKDAYS.iter().map(|(n, _)| *n)))
            }
            _ => did_you_mean(
                text,
                self.names
                    .items
                    .iter()
                    .filter(|(_, (k, _))| matches!(k, NameKind::Tier(_)))
                    .map(|(n, _)| n.as_str()),
            ),
        };
        Some(match (close, bare) {
            (Some(name), _) => format!("write `{name}` instead of `\"{text}\"`"),
            (None, Type::Weekday) => {
                "write weekdays without quotes: `Mon`, `Tue`, `Wed`, `Thu`, `Fri`, `Sat`, `Sun`"
                    .to_string()
            }
            (None, _) => format!(
                "write tiers by name, without quotes, such as `{}`",
                self.example_tier()
            ),
        })
    }

    fn unary(&mut self, op: UnaryOp, operand: &Expr, span: Span, scope: Scope) -> TypedExpr {
        let inner = self.check(operand, scope);
        let ty = match op {
            UnaryOp::Not => {
                if !inner.ty.matches(&Type::Bool) {
                    self.error(
                        Diagnostic::new(
                            Code::ExpectedBool,
                            operand.span,
                            format!("`not` needs a yes-or-no condition, not {}", inner.ty),
                        )
                        .with_label(format!("this is {}", inner.ty))
                        .with_help(self.condition_help(&inner.ty, operand)),
                    );
                    return unknown(span);
                }
                Type::Bool
            }
            UnaryOp::Neg => {
                if !(inner.ty.is_amount() || matches!(inner.ty, Type::Percent | Type::Duration)) {
                    self.error(
                        Diagnostic::new(
                            Code::MismatchedOperands,
                            operand.span,
                            format!("cannot negate {}", inner.ty),
                        )
                        .with_label(format!("this is {}", inner.ty)),
                    );
                    return unknown(span);
                }
                inner.ty.clone()
            }
        };
        typed(TypedKind::Unary(op, Box::new(inner)), ty, span)
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        lhs: &Expr,
        rhs: &Expr,
        span: Span,
        scope: Scope,
    ) -> TypedExpr {
        let l = self.check(lhs, scope);
        let r = self.check(rhs, scope);
        if matches!(op, BinaryOp::And | BinaryOp::Or) {
            for (side, side_expr) in [(&l, lhs), (&r, rhs)] {
                if !side.ty.matches(&Type::Bool) {
                    self.error(
                        Diagnostic::new(
                            Code::ExpectedBool,
                            side.span,
                            format!(
                                "`{}` joins yes-or-no conditions, but this is {}",
                                op.as_str(),
                                side.ty
                            ),
                        )
                        .with_label(format!("this is {}", side.ty))
                        .with_help(self.condition_help(&side.ty, side_expr)),
                    );
                    return unknown(span);
                }
            }
            return typed(
                TypedKind::Binary(op, Box::new(l), Box::new(r)),
                Type::Bool,
                span,
            );
        }
        if l.ty.is_unknown() || r.ty.is_unknown() {
            return unknown(span);
        }
        if op == BinaryOp::Div && is_constant_zero(&r) {
            self.error(
                Diagnostic::new(Code::DivisionByZero, r.span, "division by zero")
                    .with_label("this is zero"),
            );
            return unknown(span);
        }
        match arithmetic_type(op, &l.ty, &r.ty) {
            Ok(ty) => typed(TypedKind::Binary(op, Box::new(l), Box::new(r)), ty, span),
            Err(problem) => {
                let d = self.arithmetic_error(op, &l, &r, lhs, rhs, problem);
                self.error(d);
                unknown(span)
            }
        }
    }

    fn arithmetic_error(
        &self,
        op: BinaryOp,
        l: &TypedExpr,
        r: &TypedExpr,
        lhs: &Expr,
        rhs: &Expr,
        problem: ArithmeticProblem,
    ) -> Diagnostic {
        let op_text = op.as_str();
        let base = |code, message: String| {
            Diagnostic::new(code, lhs.span.to(rhs.span), message)
                .with_secondary(lhs.span, format!("{}", l.ty))
                .with_secondary(rhs.span, format!("{}", r.ty))
        };
        match problem {
            ArithmeticProblem::PointsAndMoney => base(
                Code::PointsMoneyMix,
                format!("cannot use `{op_text}` between {} and {}", l.ty, r.ty),
            )
            .with_help(format!(
                "points and money meet only through the redemption rate; to earn points from money write `floor(amount / 10 {}) points`",
                self.example_currency()
            )),
            ArithmeticProblem::PercentWithoutOf => {
                let (percent, other) = if l.ty == Type::Percent { (lhs, rhs) } else { (rhs, lhs) };
                base(
                    Code::PercentWithoutOf,
                    format!("a percentage cannot be used with `{op_text}`"),
                )
                .with_help(format!(
                    "write `{} of {}`",
                    puntos_dsl::format_expr(percent),
                    puntos_dsl::format_expr(other)
                ))
            }
            ArithmeticProblem::OfNeedsPercent => base(
                Code::MismatchedOperands,
                format!("`of` takes a percentage on its left, not {}", l.ty),
            )
            .with_help("write a percentage such as `50% of base`"),
            ArithmeticProblem::DateDifference => base(
                Code::DateDifference,
                "dates cannot be subtracted from each other".to_string(),
            )
            .with_help(format!(
                "write `days_between({}, {})`",
                puntos_dsl::format_expr(rhs),
                puntos_dsl::format_expr(lhs)
            )),
            ArithmeticProblem::Mismatch => {
                let mut d = base(
                    Code::MismatchedOperands,
                    format!("cannot use `{op_text}` between {} and {}", l.ty, r.ty),
                );
                if let Some(help) = unit_help(l, r, lhs, rhs, self.example_currency()) {
                    d = d.with_help(help);
                }
                d
            }
        }
    }

    fn compare(
        &mut self,
        op: CompareOp,
        lhs: &Expr,
        rhs: &Expr,
        span: Span,
        scope: Scope,
    ) -> TypedExpr {
        let l = self.check(lhs, scope);
        let r = self.check(rhs, scope);
        if !l.ty.matches(&r.ty) {
            let d = self.compare_error(&l, &r, lhs, rhs);
            self.error(d);
            return unknown(span);
        }
        if op.is_ordering() && !(l.ty.is_ordered() && r.ty.is_ordered()) {
            self.error(
                Diagnostic::new(
                    Code::NotOrderable,
                    span,
                    format!(
                        "{} values have no order, so `{}` does not apply",
                        l.ty,
                        op.as_str()
                    ),
                )
                .with_label(format!("{} compared with `{}`", l.ty, op.as_str()))
                .with_help(if l.ty == Type::Weekday {
                    "list the days: `transaction.weekday in [Sat, Sun]`"
                } else {
                    "compare with `=` or `!=`, or use `in [...]`"
                }),
            );
            return unknown(span);
        }
        typed(
            TypedKind::Compare(op, Box::new(l), Box::new(r)),
            Type::Bool,
            span,
        )
    }

    fn compare_error(&self, l: &TypedExpr, r: &TypedExpr, lhs: &Expr, rhs: &Expr) -> Diagnostic {
        let mut d = Diagnostic::new(
            Code::CannotCompare,
            rhs.span,
            format!(
                "cannot compare {} with {}",
                describe_type(&l.ty, self.currency),
                describe_type(&r.ty, self.currency)
            ),
        )
        .with_label(format!("{}", r.ty))
        .with_secondary(lhs.span, describe_type(&l.ty, self.currency));
        if let Some(help) = unit_help(l, r, lhs, rhs, self.example_currency()) {
            d = d.with_help(help);
        } else if (l.ty == Type::Tier && r.ty == Type::Text)
            || (l.ty == Type::Text && r.ty == Type::Tier)
        {
            d = d.with_help("name the tier without quotes, such as `customer.tier >= Gold`");
        } else if matches!(
            (&l.ty, &r.ty),
            (Type::Date, Type::DateTime) | (Type::DateTime, Type::Date)
        ) {
            d = d.with_help(
                "compare `transaction.date` with a date, or `transaction.time` with a date-time",
            );
        }
        d
    }

    fn membership(
        &mut self,
        negated: bool,
        value: &Expr,
        list: &Expr,
        span: Span,
        scope: Scope,
    ) -> TypedExpr {
        let v = self.check(value, scope);
        let l = self.check(list, scope);
        match &l.ty {
            Type::List(element) if v.ty.matches(element) => {}
            Type::Unknown => {}
            Type::List(element) => {
                let mut d = Diagnostic::new(
                    Code::CannotCompare,
                    list.span,
                    format!("cannot look for {} in a list of {element}", v.ty),
                )
                .with_label(format!("a list of {element}"))
                .with_secondary(value.span, format!("{}", v.ty));
                if v.ty == Type::Tier && **element == Type::Text {
                    d = d.with_help("name tiers without quotes: `[Silver, Gold]`");
                }
                self.error(d);
                return unknown(span);
            }
            other => {
                self.error(
                    Diagnostic::new(
                        Code::MismatchedOperands,
                        list.span,
                        format!("`in` needs a list, not {other}"),
                    )
                    .with_label(format!("this is {other}"))
                    .with_help("write the values in brackets: `[\"a\", \"b\"]`"),
                );
                return unknown(span);
            }
        }
        typed(
            TypedKind::In {
                negated,
                value: Box::new(v),
                list: Box::new(l),
            },
            Type::Bool,
            span,
        )
    }

    fn between(
        &mut self,
        negated: bool,
        value: &Expr,
        low: &Expr,
        high: &Expr,
        span: Span,
        scope: Scope,
    ) -> TypedExpr {
        let v = self.check(value, scope);
        let lo = self.check(low, scope);
        let hi = self.check(high, scope);
        for (bound, expr) in [(&lo, low), (&hi, high)] {
            if !v.ty.matches(&bound.ty) {
                let d = self.compare_error(&v, bound, value, expr);
                self.error(d);
                return unknown(span);
            }
        }
        if !v.ty.is_ordered() {
            self.error(
                Diagnostic::new(
                    Code::NotOrderable,
                    span,
                    format!("{} values have no order, so `between` does not apply", v.ty),
                )
                .with_label("not ordered")
                .with_help("use `in [...]` to list the values"),
            );
            return unknown(span);
        }
        typed(
            TypedKind::Between {
                negated,
                value: Box::new(v),
                low: Box::new(lo),
                high: Box::new(hi),
            },
            Type::Bool,
            span,
        )
    }

    fn call(
        &mut self,
        name: &str,
        name_span: Span,
        args: &[Arg],
        span: Span,
        scope: Scope,
    ) -> TypedExpr {
        let Some(function) = schema::function(name) else {
            let mut d = Diagnostic::new(
                Code::UnknownFunction,
                name_span,
                format!("there is no function `{name}`"),
            )
            .with_label("unknown function");
            d = match did_you_mean(name, schema::FUNCTIONS.iter().map(|(n, _)| *n)) {
                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                None => d.with_note(format!(
                    "the functions are {}",
                    list_names(schema::FUNCTIONS.iter().map(|(n, _)| *n))
                )),
            };
            self.error(d);
            return unknown(span);
        };
        match function {
            Function::Spend | Function::Visits => self.history(function, name, args, span),
            Function::DaysSinceLastPurchase => {
                if !args.is_empty() {
                    let d = self.arg_count(function, name, span, "no arguments", args.len());
                    self.error(d);
                    return unknown(span);
                }
                self.requirements.days_since_last_purchase = true;
                typed(TypedKind::DaysSinceLastPurchase, Type::Number, span)
            }
            Function::Sum | Function::Count | Function::Any | Function::All => {
                self.aggregate(function, name, args, span, scope)
            }
            _ => self.scalar(function, name, args, span, scope),
        }
    }

    fn history(&mut self, function: Function, name: &str, args: &[Arg], span: Span) -> TypedExpr {
        let window = match args {
            [Arg::Window(q)] => q,
            [_] => {
                self.error(
                    Diagnostic::new(
                        Code::ArgumentType,
                        span,
                        format!("`{name}` takes a window such as `last 12 months`"),
                    )
                    .with_label("expected `last N days|weeks|months|years`")
                    .with_help(format!("write `{name}(last 12 months)`")),
                );
                return unknown(span);
            }
            _ => {
                let d = self.arg_count(function, name, span, "one window", args.len());
                self.error(d);
                return unknown(span);
            }
        };
        let Some(Unit::Duration(unit)) = window.unit else {
            self.error(
                Diagnostic::new(
                    Code::ExpectedDuration,
                    window.span,
                    format!("the window of `{name}` must be a duration"),
                )
                .with_label("not a duration")
                .with_help(format!("write `last {} months`", window.value)),
            );
            return unknown(span);
        };
        let duration = Duration {
            amount: window.value,
            unit,
        };
        let (metric, ty) = match function {
            Function::Spend => (HistoryMetric::Spend, Type::Money),
            _ => (HistoryMetric::Visits, Type::Number),
        };
        self.requirements.windows.insert((metric, duration));
        typed(TypedKind::History(metric, duration), ty, span)
    }

    fn aggregate(
        &mut self,
        function: Function,
        name: &str,
        args: &[Arg],
        span: Span,
        scope: Scope,
    ) -> TypedExpr {
        if !scope.basket {
            self.error(no_basket(span, &self.context, &format!("`{name}`")));
            return unknown(span);
        }
        let inner = Scope {
            item: true,
            ..scope
        };
        let (value, filter) = match (function, args) {
            (Function::Sum, [Arg::Value { value, filter }]) => {
                let v = self.check(value, inner);
                if !v.ty.is_amount() {
                    self.error(
                        Diagnostic::new(
                            Code::ArgumentType,
                            value.span,
                            format!("`sum` adds numbers, money or points, not {}", v.ty),
                        )
                        .with_label(format!("this is {}", v.ty))
                        .with_help(self.usage_help(function, name)),
                    );
                    return unknown(span);
                }
                (Some(v), filter.as_ref())
            }
            (Function::Count | Function::Any | Function::All, [Arg::Items { filter, .. }]) => {
                (None, filter.as_ref())
            }
            (_, [_]) => {
                let help = if function == Function::Sum {
                    "write `sum(item.amount where item.category = \"otc\")`".to_string()
                } else {
                    format!("write `{name}(items where item.category = \"otc\")`")
                };
                self.error(
                    Diagnostic::new(
                        Code::ArgumentType,
                        span,
                        format!(
                            "`{name}` takes {}",
                            if function == Function::Sum {
                                "a value per line"
                            } else {
                                "`items`"
                            }
                        ),
                    )
                    .with_label("unexpected argument")
                    .with_help(help),
                );
                return unknown(span);
            }
            _ => {
                let d = self.arg_count(function, name, span, "one argument", args.len());
                self.error(d);
                return unknown(span);
            }
        };
        let filter = filter.map(|f| self.expect_bool(f, inner, "a line filter"));
        if matches!(function, Function::Any | Function::All) && filter.is_none() {
            self.error(
                Diagnostic::new(
                    Code::ArgumentType,
                    span,
                    format!("`{name}` needs a condition on the lines"),
                )
                .with_label("no `where` condition")
                .with_help(format!(
                    "write `{name}(items where item.category = \"otc\")`"
                )),
            );
            return unknown(span);
        }
        let ty = match function {
            Function::Sum => value.as_ref().map_or(Type::Unknown, |v| v.ty.clone()),
            Function::Count => Type::Number,
            _ => Type::Bool,
        };
        typed(
            TypedKind::Aggregate {
                function,
                value: value.map(Box::new),
                filter: filter.map(Box::new),
            },
            ty,
            span,
        )
    }

    fn scalar(
        &mut self,
        function: Function,
        name: &str,
        args: &[Arg],
        span: Span,
        scope: Scope,
    ) -> TypedExpr {
        let mut checked = Vec::with_capacity(args.len());
        let mut exprs: Vec<&Expr> = Vec::with_capacity(args.len());
        for arg in args {
            match arg {
                Arg::Value {
                    value,
                    filter: None,
                } => {
                    checked.push(self.check(value, scope));
                    exprs.push(value);
                }
                Arg::Value {
                    filter: Some(f), ..
                } => {
                    self.error(
                        Diagnostic::new(
                            Code::ArgumentType,
                            f.span,
                            format!("`{name}` does not filter basket lines"),
                        )
                        .with_label("unexpected `where`")
                        .with_help("filter lines inside `sum`, `count`, `any` or `all`"),
                    );
                    return unknown(span);
                }
                Arg::Window(q) => {
                    self.error(
                        Diagnostic::new(
                            Code::ArgumentType,
                            q.span,
                            format!("`{name}` does not take a window"),
                        )
                        .with_label("unexpected `last`")
                        .with_help("windows belong to `spend` and `visits`"),
                    );
                    return unknown(span);
                }
                Arg::Items {
                    span: item_span, ..
                } => {
                    self.error(
                        Diagnostic::new(
                            Code::ArgumentType,
                            *item_span,
                            format!("`{name}` does not take `items`"),
                        )
                        .with_label("unexpected `items`")
                        .with_help("`items` belongs to `count`, `any` and `all`"),
                    );
                    return unknown(span);
                }
            }
        }
        if checked.iter().any(|a| a.ty.is_unknown()) {
            return unknown(span);
        }
        let (arity_ok, arity_text) = match function {
            Function::Min | Function::Max => (checked.len() >= 2, "two or more arguments"),
            Function::DaysBetween => (checked.len() == 2, "two arguments"),
            _ => (checked.len() == 1, "one argument"),
        };
        if !arity_ok {
            let d = self.arg_count(function, name, span, arity_text, checked.len());
            self.error(d);
            return unknown(span);
        }
        let is_date = |t: &Type| matches!(t, Type::Date | Type::DateTime);
        // The first argument of the wrong type, with what the function takes.
        let bad = |ok: &dyn Fn(&Type) -> bool| checked.iter().zip(&exprs).find(|(a, _)| !ok(&a.ty));
        let result: Result<Type, Diagnostic> = match function {
            Function::Min | Function::Max => {
                let first = checked.first().map_or(Type::Unknown, |a| a.ty.clone());
                let first_expr = exprs.first().copied();
                if let Some((arg, expr)) = bad(&|t: &Type| t.matches(&first)) {
                    let mut d = Diagnostic::new(
                        Code::ArgumentType,
                        arg.span,
                        format!(
                            "all arguments of `{name}` must have one type; this is {} and the first is {first}",
                            arg.ty
                        ),
                    )
                    .with_label(format!("this is {}", arg.ty));
                    if let (Some(f), Some(fe)) = (checked.first(), first_expr) {
                        d = d.with_secondary(f.span, format!("{first}"));
                        let help = unit_help(f, arg, fe, expr, self.example_currency())
                            .unwrap_or_else(|| self.usage_help(function, name));
                        d = d.with_help(help);
                    }
                    Err(d)
                } else if !first.is_ordered() {
                    let at = checked.first().map_or(span, |a| a.span);
                    Err(Diagnostic::new(
                        Code::ArgumentType,
                        at,
                        format!("`{name}` compares ordered values, not {first}"),
                    )
                    .with_label(format!("this is {first}"))
                    .with_help(self.usage_help(function, name)))
                } else {
                    Ok(first)
                }
            }
            Function::Floor | Function::Ceil | Function::Round | Function::Abs => {
                match bad(&|t: &Type| t.is_amount() || *t == Type::Percent) {
                    Some((arg, _)) => Err(self.argument_error(
                        function,
                        name,
                        arg,
                        format!("`{name}` takes a number, money or points, not {}", arg.ty),
                    )),
                    None => Ok(checked.first().map_or(Type::Unknown, |a| a.ty.clone())),
                }
            }
            Function::DaysBetween => match bad(&is_date) {
                Some((arg, expr)) => Err(self
                    .argument_error(
                        function,
                        name,
                        arg,
                        format!("`{name}` takes two dates, not {}", arg.ty),
                    )
                    .with_help(
                        unquoted_date(expr).unwrap_or_else(|| self.usage_help(function, name)),
                    )),
                None => Ok(Type::Number),
            },
            Function::Weekday | Function::Month => match bad(&is_date) {
                Some((arg, expr)) => Err(self
                    .argument_error(
                        function,
                        name,
                        arg,
                        format!("`{name}` takes a date, not {}", arg.ty),
                    )
                    .with_help(
                        unquoted_date(expr).unwrap_or_else(|| self.usage_help(function, name)),
                    )),
                None => Ok(if function == Function::Weekday {
                    Type::Weekday
                } else {
                    Type::Number
                }),
            },
            Function::Hour => match bad(&|t: &Type| *t == Type::DateTime) {
                Some((arg, _)) => Err(self.argument_error(
                    function,
                    name,
                    arg,
                    format!("`{name}` takes a date-time, not {}", arg.ty),
                )),
                None => Ok(Type::Number),
            },
            Function::Attribute => match checked.first().map(|a| &a.kind) {
                Some(TypedKind::Const(Value::Text(attribute))) => {
                    self.requirements.attributes.insert(attribute.clone());
                    Ok(Type::Text)
                }
                _ => {
                    let at = checked.first().map_or(span, |a| a.span);
                    Err(Diagnostic::new(
                        Code::ArgumentType,
                        at,
                        format!("`{name}` takes the attribute's name written in quotes"),
                    )
                    .with_label("not a text literal")
                    .with_help(self.usage_help(function, name)))
                }
            },
            Function::BirthdayIn => match bad(&|t: &Type| *t == Type::Duration) {
                Some((arg, expr)) => {
                    let mut d = self.argument_error(
                        function,
                        name,
                        arg,
                        format!("`{name}` takes a duration such as `7 days`, not {}", arg.ty),
                    );
                    if let ExprKind::Quantity(q) = &expr.kind {
                        if q.unit.is_none() {
                            d = d.with_help(format!("write `{name}({} days)`", q.value));
                        }
                    }
                    Err(d)
                }
                None => {
                    self.requirements.fields.insert(Field::CustomerBirthDate);
                    Ok(Type::Bool)
                }
            },
            _ => Err(Diagnostic::new(
                Code::ArgumentType,
                span,
                format!("`{name}` cannot be called here"),
            )
            .with_label("not a function of values")),
        };
        match result {
            Ok(ty) => typed(TypedKind::Call(function, checked), ty, span),
            Err(d) => {
                self.error(d);
                unknown(span)
            }
        }
    }

    /// A wrong-type error at `arg`, labelled with its type, with the function's usage as help.
    fn argument_error(
        &self,
        function: Function,
        name: &str,
        arg: &TypedExpr,
        message: String,
    ) -> Diagnostic {
        Diagnostic::new(Code::ArgumentType, arg.span, message)
            .with_label(format!("this is {}", arg.ty))
            .with_help(self.usage_help(function, name))
    }

    /// What a function takes and a valid call, such as
    /// "`hour` reads a date-time: `hour(transaction.time)`".
    fn usage_help(&self, function: Function, name: &str) -> String {
        let (takes, example) = usage(function, name, self.example_currency());
        format!("`{name}` {takes}: `{example}`")
    }

    fn arg_count(
        &self,
        function: Function,
        name: &str,
        span: Span,
        expected: &str,
        got: usize,
    ) -> Diagnostic {
        let (_, example) = usage(function, name, self.example_currency());
        let takes = arity(function);
        Diagnostic::new(
            Code::ArgumentCount,
            span,
            format!(
                "`{name}` takes {expected}, but {got} {} given",
                if got == 1 { "was" } else { "were" }
            ),
        )
        .with_label("wrong number of arguments")
        .with_help(format!("`{name}` takes {takes}: `{example}`"))
    }
}

/// What a function reads, for help after a wrong argument, and a valid call of it.
fn usage(function: Function, name: &str, currency: &str) -> (&'static str, String) {
    match function {
        Function::Min | Function::Max => (
            "compares values of one type, such as money",
            format!("{name}(10% of basket.total, 500 {currency})"),
        ),
        Function::Floor | Function::Ceil | Function::Round => (
            "rounds a number, money or points",
            format!("{name}(basket.total / 10 {currency})"),
        ),
        Function::Abs => (
            "takes a number, money or points",
            format!("abs(basket.total - 1000 {currency})"),
        ),
        Function::DaysBetween => (
            "takes two dates",
            "days_between(customer.enrolled_at, transaction.date)".to_string(),
        ),
        Function::Weekday | Function::Month => {
            ("reads a date", format!("{name}(customer.birth_date)"))
        }
        Function::Hour => ("reads a date-time", "hour(transaction.time)".to_string()),
        Function::BirthdayIn => ("takes a duration", "birthday_in(7 days)".to_string()),
        Function::Attribute => (
            "takes the attribute's name as text",
            "attribute(\"card_type\")".to_string(),
        ),
        Function::Spend | Function::Visits => ("takes a window", format!("{name}(last 12 months)")),
        Function::DaysSinceLastPurchase => (
            "takes no arguments",
            "days_since_last_purchase()".to_string(),
        ),
        Function::Sum => (
            "adds a value over basket lines",
            "sum(item.amount where item.category = \"otc\")".to_string(),
        ),
        Function::Count | Function::Any | Function::All => (
            "reads basket lines",
            format!("{name}(items where item.category = \"otc\")"),
        ),
    }
}

/// The arguments a function takes, in words, for argument-count help.
fn arity(function: Function) -> &'static str {
    match function {
        Function::Min | Function::Max => "two or more values of one type",
        Function::Floor | Function::Ceil | Function::Round | Function::Abs => {
            "one number, amount of money or points"
        }
        Function::DaysBetween => "two dates",
        Function::Weekday | Function::Month => "one date",
        Function::Hour => "one date-time",
        Function::BirthdayIn => "one duration",
        Function::Attribute => "one attribute name in quotes",
        Function::Spend | Function::Visits => "one window",
        Function::DaysSinceLastPurchase => "no arguments",
        Function::Sum => "one value per basket line",
        Function::Count | Function::Any | Function::All => "`items`",
    }
}

/// "remove the quotes: `2026-01-01`" when a date was written as text.
fn unquoted_date(expr: &Expr) -> Option<String> {
    let ExprKind::Text(text) = &expr.kind else {
        return None;
    };
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .map(|_| format!("remove the quotes: `{text}`"))
}

/// Why an arithmetic operation has no type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArithmeticProblem {
    PointsAndMoney,
    PercentWithoutOf,
    OfNeedsPercent,
    DateDifference,
    Mismatch,
}

/// The result type of `l op r`, for `+ - * / of`.
fn arithmetic_type(op: BinaryOp, l: &Type, r: &Type) -> Result<Type, ArithmeticProblem> {
    use ArithmeticProblem as P;
    use Type::*;
    let points_money = matches!((l, r), (Points, Money) | (Money, Points));
    match op {
        BinaryOp::Of => match (l, r) {
            (Percent, Money | Points | Number | Percent) => Ok(r.clone()),
            (Percent, _) => Err(P::Mismatch),
            _ => Err(P::OfNeedsPercent),
        },
        _ if points_money => Err(P::PointsAndMoney),
        BinaryOp::Add | BinaryOp::Sub => match (l, r) {
            (Number, Number) | (Money, Money) | (Points, Points) | (Percent, Percent) => {
                Ok(l.clone())
            }
            (Duration, Duration) => Ok(Duration),
            (Date, Duration) | (DateTime, Duration) => Ok(l.clone()),
            (Duration, Date | DateTime) if op == BinaryOp::Add => Ok(r.clone()),
            (Date | DateTime, Date | DateTime) if op == BinaryOp::Sub => Err(P::DateDifference),
            (Percent, _) | (_, Percent) => Err(P::PercentWithoutOf),
            _ => Err(P::Mismatch),
        },
        BinaryOp::Mul => match (l, r) {
            (Number, x) | (x, Number) if matches!(x, Number | Money | Points | Duration) => {
                Ok(x.clone())
            }
            (Percent, _) | (_, Percent) => Err(P::PercentWithoutOf),
            _ => Err(P::Mismatch),
        },
        BinaryOp::Div => match (l, r) {
            (Number | Money | Points, Number) => Ok(l.clone()),
            (Money, Money) | (Points, Points) => Ok(Number),
            (Percent, _) | (_, Percent) => Err(P::PercentWithoutOf),
            _ => Err(P::Mismatch),
        },
        BinaryOp::And | BinaryOp::Or => Err(P::Mismatch),
    }
}

fn is_constant_zero(e: &TypedExpr) -> bool {
    match &e.kind {
        TypedKind::Const(
            Value::Number(v) | Value::Money(v) | Value::Points(v) | Value::Percent(v),
        ) => v.is_zero(),
        _ => false,
    }
}

/// "write `1000 RUB`" when a bare number meets money or points.
fn unit_help(
    l: &TypedExpr,
    r: &TypedExpr,
    lhs: &Expr,
    rhs: &Expr,
    currency: &str,
) -> Option<String> {
    let (bare, other) = match (&l.ty, &r.ty) {
        (Type::Number, _) if is_bare_number(lhs) => (lhs, &r.ty),
        (_, Type::Number) if is_bare_number(rhs) => (rhs, &l.ty),
        _ => return None,
    };
    let ExprKind::Quantity(q) = &bare.kind else {
        return None;
    };
    match other {
        Type::Money => Some(format!("write `{} {currency}`", q.value)),
        Type::Points => Some(format!("write `{} points`", q.value)),
        Type::Percent => Some(format!("write `{}%`", q.value)),
        Type::Duration => Some(format!("write `{} days`", q.value)),
        _ => None,
    }
}

fn is_bare_number(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Quantity(q) if q.unit.is_none())
}

fn describe_type(ty: &Type, currency: &str) -> String {
    match ty {
        Type::Money if !currency.is_empty() => format!("Money ({currency})"),
        other => other.to_string(),
    }
}

fn list_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn item_outside(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::ItemOutsideItemContext,
        span,
        "`item` is read where there is no current basket line",
    )
    .with_label("no current line here")
    .with_help("read lines inside `earn ... for each item`, or aggregate them: `sum(item.amount where ...)`")
}

pub(crate) fn no_basket(span: Span, context: &str, what: &str) -> Diagnostic {
    Diagnostic::new(
        Code::NoBasket,
        span,
        format!("{what} reads the basket, which {context} does not have"),
    )
    .with_label("needs a basket")
    .with_help("baskets come with `purchase` and `refund`")
}

/// The value of a literal written in the source, such as `false`, `10 RUB` or `Gold`.
///
/// An expression that had an error is also a constant (a placeholder) but of type `Unknown`:
/// it is not a literal, so no warning is drawn from it.
fn literal(e: &TypedExpr) -> Option<&Value> {
    match &e.kind {
        TypedKind::Const(value) if !e.ty.is_unknown() => Some(value),
        _ => None,
    }
}

/// Whether a typed expression is a constant (for constant-condition warnings): a literal `true`
/// or `false`, or a comparison of two literals.
pub(crate) fn constant_bool(e: &TypedExpr) -> Option<bool> {
    match &e.kind {
        TypedKind::Const(Value::Bool(b)) if e.ty == Type::Bool => Some(*b),
        TypedKind::Compare(op, l, r) => {
            let ordering = const_cmp(literal(l)?, literal(r)?)?;
            use std::cmp::Ordering::*;
            Some(match op {
                CompareOp::Eq => ordering == Equal,
                CompareOp::Ne => ordering != Equal,
                CompareOp::Lt => ordering == Less,
                CompareOp::Le => ordering != Greater,
                CompareOp::Gt => ordering == Greater,
                CompareOp::Ge => ordering != Less,
            })
        }
        _ => None,
    }
}

fn const_cmp(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    let num = |v: &Value| -> Option<Decimal> {
        match v {
            Value::Number(x) | Value::Money(x) | Value::Points(x) | Value::Percent(x) => Some(*x),
            _ => None,
        }
    };
    match (a, b) {
        (Value::Text(x), Value::Text(y)) => Some(x.cmp(y)),
        (Value::Date(x), Value::Date(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Tier(x), Value::Tier(y)) => Some(x.cmp(y)),
        _ => Some(num(a)?.cmp(&num(b)?)),
    }
}
