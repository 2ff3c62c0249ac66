//! Expressions at run time. Values borrow from the program and the context, so evaluating a
//! condition allocates nothing. An unknown value (a birth date nobody gave) makes comparisons
//! unknown, and a condition that ends unknown does not hold (three-valued logic: `false and
//! unknown` is false, `true or unknown` is true).

use super::calendar::{self, Now};
use super::decision::Fact;
use super::engine::Engine;
use super::error::EvalError;
use super::trace::Tracer;
use crate::program::{Duration, HistoryMetric, TierId, TypedExpr, TypedKind, Value};
use crate::schema::{Field, Function};
use crate::types::Type;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike, Weekday};
use puntos_dsl::ast::{BinaryOp, CompareOp, UnaryOp};
use rust_decimal::Decimal;
use std::cmp::Ordering;

/// A run-time value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum V<'a> {
    /// Numbers, money, points and percentages (10% is 10).
    Num(Decimal),
    Text(&'a str),
    Bool(bool),
    Date(NaiveDate),
    Instant(DateTime<FixedOffset>),
    Duration(Duration),
    Weekday(Weekday),
    /// A tier; `None` is no tier, below every tier.
    Tier(Option<TierId>),
    /// A list of expressions, for `in`.
    List(&'a [TypedExpr]),
    /// A constant list, for `in`.
    Consts(&'a [Value]),
    /// Not known.
    Unknown,
}

fn from_const(v: &Value) -> V<'_> {
    match v {
        Value::Number(x) | Value::Money(x) | Value::Points(x) | Value::Percent(x) => V::Num(*x),
        Value::Text(t) => V::Text(t),
        Value::Bool(b) => V::Bool(*b),
        Value::Date(d) => V::Date(*d),
        Value::DateTime(t) => V::Instant(*t),
        Value::Duration(d) => V::Duration(*d),
        Value::Weekday(w) => V::Weekday(*w),
        Value::Tier(t) => V::Tier(Some(*t)),
        Value::List(items) => V::Consts(items),
    }
}

impl<'a, T: Tracer> Engine<'a, T> {
    /// Whether `e` holds (unknown counts as not holding). `item` is the current line.
    pub fn holds(&mut self, e: &'a TypedExpr, item: Option<usize>) -> Result<bool, EvalError> {
        Ok(matches!(self.value(e, item)?, V::Bool(true)))
    }

    /// A numeric value (unknown counts as zero).
    pub fn number(&mut self, e: &'a TypedExpr, item: Option<usize>) -> Result<Decimal, EvalError> {
        match self.value(e, item)? {
            V::Num(x) => Ok(x),
            V::Unknown => Ok(Decimal::ZERO),
            other => Err(self.computation(e.span, format!("expected a number, found {other:?}"))),
        }
    }

    /// Evaluates `e`.
    pub fn value(&mut self, e: &'a TypedExpr, item: Option<usize>) -> Result<V<'a>, EvalError> {
        match &e.kind {
            TypedKind::Const(v) => Ok(from_const(v)),
            TypedKind::Field(f) => self.field(*f, item, e),
            TypedKind::Segment(id) => self.segment(*id).map(V::Bool),
            TypedKind::RulePoints(id) => Ok(V::Num(
                self.rule_points.get(*id).copied().unwrap_or_default(),
            )),
            TypedKind::List(items) => Ok(V::List(items)),
            TypedKind::Unary(op, operand) => {
                let v = self.value(operand, item)?;
                match (op, v) {
                    (UnaryOp::Not, V::Bool(b)) => Ok(V::Bool(!b)),
                    (UnaryOp::Neg, V::Num(x)) => Ok(V::Num(-x)),
                    (_, V::Unknown) => Ok(V::Unknown),
                    _ => Err(self.computation(e.span, "operand of the wrong kind")),
                }
            }
            TypedKind::Binary(BinaryOp::And, l, r) => match self.value(l, item)? {
                V::Bool(false) => Ok(V::Bool(false)),
                left => match (left, self.value(r, item)?) {
                    (_, V::Bool(false)) => Ok(V::Bool(false)),
                    (V::Bool(true), V::Bool(true)) => Ok(V::Bool(true)),
                    _ => Ok(V::Unknown),
                },
            },
            TypedKind::Binary(BinaryOp::Or, l, r) => match self.value(l, item)? {
                V::Bool(true) => Ok(V::Bool(true)),
                left => match (left, self.value(r, item)?) {
                    (_, V::Bool(true)) => Ok(V::Bool(true)),
                    (V::Bool(false), V::Bool(false)) => Ok(V::Bool(false)),
                    _ => Ok(V::Unknown),
                },
            },
            TypedKind::Binary(op, l, r) => {
                let a = self.value(l, item)?;
                let b = self.value(r, item)?;
                self.arithmetic(*op, a, b, e)
            }
            TypedKind::Compare(op, l, r) => {
                let a = self.value(l, item)?;
                let b = self.value(r, item)?;
                Ok(match self.compare(a, b) {
                    None => V::Unknown,
                    Some(ord) => V::Bool(match op {
                        CompareOp::Eq => ord == Ordering::Equal,
                        CompareOp::Ne => ord != Ordering::Equal,
                        CompareOp::Lt => ord == Ordering::Less,
                        CompareOp::Le => ord != Ordering::Greater,
                        CompareOp::Gt => ord == Ordering::Greater,
                        CompareOp::Ge => ord != Ordering::Less,
                    }),
                })
            }
            TypedKind::In {
                negated,
                value,
                list,
            } => {
                let needle = self.value(value, item)?;
                if needle == V::Unknown {
                    return Ok(V::Unknown);
                }
                let found = match self.value(list, item)? {
                    V::List(items) => {
                        let mut found = false;
                        for candidate in items {
                            let c = self.value(candidate, item)?;
                            if self.equals(needle, c) {
                                found = true;
                                break;
                            }
                        }
                        found
                    }
                    V::Consts(items) => items.iter().any(|c| self.equals(needle, from_const(c))),
                    V::Unknown => return Ok(V::Unknown),
                    single => self.equals(needle, single),
                };
                Ok(V::Bool(found != *negated))
            }
            TypedKind::Between {
                negated,
                value,
                low,
                high,
            } => {
                let v = self.value(value, item)?;
                let lo = self.value(low, item)?;
                let hi = self.value(high, item)?;
                Ok(match (self.compare(v, lo), self.compare(v, hi)) {
                    (Some(a), Some(b)) => {
                        V::Bool((a != Ordering::Less && b != Ordering::Greater) != *negated)
                    }
                    _ => V::Unknown,
                })
            }
            TypedKind::Call(function, args) => self.call(*function, args, item, e),
            TypedKind::History(metric, window) => self.history(*metric, *window, e),
            TypedKind::DaysSinceLastPurchase => Ok(match self.ctx.account.last_purchase {
                Some(last) => V::Num(Decimal::from((self.now.date() - last).num_days())),
                None => V::Unknown,
            }),
            TypedKind::Aggregate {
                function,
                value,
                filter,
            } => self.aggregate(*function, value.as_deref(), filter.as_deref()),
        }
    }

    fn field(&mut self, f: Field, item: Option<usize>, e: &TypedExpr) -> Result<V<'a>, EvalError> {
        let ctx = self.ctx;
        let tx = &ctx.transaction;
        let now: Now = self.now;
        Ok(match f {
            Field::CustomerId => V::Text(&ctx.customer.id),
            Field::CustomerBirthDate => ctx.customer.birth_date.map_or(V::Unknown, V::Date),
            Field::CustomerAge => ctx.customer.birth_date.map_or(V::Unknown, |b| {
                V::Num(Decimal::from(calendar::age(b, now.date())))
            }),
            Field::CustomerEnrolledAt => ctx.customer.enrolled_at.map_or(V::Unknown, V::Date),
            Field::CustomerTier => V::Tier(self.tier),
            Field::CustomerStatus => V::Text(&ctx.customer.status),
            Field::TransactionId => V::Text(&tx.id),
            Field::TransactionKind => V::Text(&tx.kind),
            Field::TransactionDate => V::Date(now.date()),
            Field::TransactionTime => V::Instant(now.instant),
            Field::TransactionWeekday => V::Weekday(now.local.weekday()),
            Field::TransactionHour => V::Num(Decimal::from(now.local.hour())),
            Field::TransactionMonth => V::Num(Decimal::from(now.local.month())),
            Field::TransactionChannel => V::Text(&tx.channel),
            Field::TransactionAmount => V::Num(self.transaction_amount()),
            Field::BasketTotal => V::Num(self.basket_total),
            Field::BasketLines => V::Num(Decimal::from(tx.lines.len())),
            Field::BasketQuantity => V::Num(tx.lines.iter().map(|l| l.quantity).sum()),
            Field::StoreId => V::Text(&tx.store.id),
            Field::StoreRegion => V::Text(&tx.store.region),
            Field::StoreCity => V::Text(&tx.store.city),
            Field::StoreFormat => V::Text(&tx.store.format),
            Field::StorePartner => V::Text(&tx.store.partner),
            Field::AccountBalance => V::Num(ctx.account.available),
            Field::AccountPending => V::Num(ctx.account.pending),
            Field::ItemSku
            | Field::ItemName
            | Field::ItemCategory
            | Field::ItemBrand
            | Field::ItemUnitPrice
            | Field::ItemQuantity
            | Field::ItemAmount => {
                let line = item
                    .and_then(|i| tx.lines.get(i).map(|l| (i, l)))
                    .ok_or_else(|| self.computation(e.span, "a line field read outside a line"))?;
                match f {
                    Field::ItemSku => V::Text(&line.1.sku),
                    Field::ItemName => V::Text(&line.1.name),
                    Field::ItemCategory => V::Text(&line.1.category),
                    Field::ItemBrand => V::Text(&line.1.brand),
                    Field::ItemUnitPrice => V::Num(line.1.unit_price),
                    Field::ItemQuantity => V::Num(line.1.quantity),
                    _ => V::Num(self.amounts.get(line.0).copied().unwrap_or_default()),
                }
            }
        })
    }

    /// Whether the customer is in segment `id` (computed once per evaluation).
    pub fn segment(&mut self, id: usize) -> Result<bool, EvalError> {
        if let Some(Some(known)) = self.segments.get(id) {
            return Ok(*known);
        }
        let program = self.program;
        let Some(segment) = program.segments.get(id) else {
            return Ok(false);
        };
        let saved = self.at;
        self.enter("segment", &segment.name);
        let holds = self.holds(&segment.condition, None)?;
        self.at = saved;
        if let Some(slot) = self.segments.get_mut(id) {
            *slot = Some(holds);
        }
        Ok(holds)
    }

    /// Whether the customer is outside `audience` (an empty audience is everyone).
    pub fn outside_audience(
        &mut self,
        audience: &[crate::program::SegmentId],
    ) -> Result<bool, EvalError> {
        if audience.is_empty() {
            return Ok(false);
        }
        for &segment in audience {
            if self.segment(segment)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Why the customer is outside `audience`, in words.
    pub fn audience_refusal(&self, audience: &[crate::program::SegmentId]) -> String {
        let names: Vec<&str> = audience
            .iter()
            .filter_map(|&s| self.program.segments.get(s).map(|s| s.name.as_str()))
            .collect();
        format!("the customer is not in {}", names.join(" or "))
    }

    fn history(
        &self,
        metric: HistoryMetric,
        window: Duration,
        e: &TypedExpr,
    ) -> Result<V<'a>, EvalError> {
        let account = &self.ctx.account;
        let (windows, delta) = match metric {
            HistoryMetric::Spend => (&account.spend, self.history_delta.map(|d| d.0)),
            HistoryMetric::Visits => (&account.visits, self.history_delta.map(|d| d.1)),
        };
        let base = windows
            .iter()
            .find(|(d, _)| *d == window)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                self.computation(e.span, format!("the account has no {window} history"))
            })?;
        Ok(V::Num(base + delta.unwrap_or_default()))
    }

    fn aggregate(
        &mut self,
        function: Function,
        value: Option<&'a TypedExpr>,
        filter: Option<&'a TypedExpr>,
    ) -> Result<V<'a>, EvalError> {
        let mut sum = Decimal::ZERO;
        let mut count = 0usize;
        let lines = self.lines().len();
        for i in 0..lines {
            let passes = match filter {
                Some(f) => self.holds(f, Some(i))?,
                None => true,
            };
            match function {
                Function::Any if passes => return Ok(V::Bool(true)),
                Function::All if !passes => return Ok(V::Bool(false)),
                _ => {}
            }
            if passes {
                count += 1;
                if let Some(v) = value {
                    let x = self.number(v, Some(i))?;
                    sum = sum
                        .checked_add(x)
                        .ok_or_else(|| self.computation(v.span, "the sum is too large"))?;
                }
            }
        }
        Ok(match function {
            Function::Any => V::Bool(false),
            Function::All => V::Bool(true),
            Function::Count => V::Num(Decimal::from(count)),
            _ => V::Num(sum),
        })
    }

    fn arithmetic(
        &self,
        op: BinaryOp,
        a: V<'a>,
        b: V<'a>,
        e: &TypedExpr,
    ) -> Result<V<'a>, EvalError> {
        let overflow = || self.computation(e.span, "the result is too large");
        match (op, a, b) {
            (_, V::Unknown, _) | (_, _, V::Unknown) => Ok(V::Unknown),
            (_, V::Num(x), V::Num(y)) => {
                let r = match op {
                    BinaryOp::Add => x.checked_add(y),
                    BinaryOp::Sub => x.checked_sub(y),
                    BinaryOp::Mul => x.checked_mul(y),
                    BinaryOp::Div => {
                        if y.is_zero() {
                            return Err(self.computation(e.span, "division by zero"));
                        }
                        divide(x, y)
                    }
                    BinaryOp::Of => x.checked_mul(y).map(|p| p / Decimal::ONE_HUNDRED),
                    BinaryOp::And | BinaryOp::Or => None,
                };
                r.map(V::Num).ok_or_else(overflow)
            }
            (BinaryOp::Mul, V::Num(n), V::Duration(d))
            | (BinaryOp::Mul, V::Duration(d), V::Num(n)) => d
                .amount
                .checked_mul(n)
                .map(|amount| {
                    V::Duration(Duration {
                        amount,
                        unit: d.unit,
                    })
                })
                .ok_or_else(overflow),
            (BinaryOp::Add | BinaryOp::Sub, V::Duration(x), V::Duration(y)) if x.unit == y.unit => {
                let amount = if op == BinaryOp::Add {
                    x.amount.checked_add(y.amount)
                } else {
                    x.amount.checked_sub(y.amount)
                };
                amount
                    .map(|amount| {
                        V::Duration(Duration {
                            amount,
                            unit: x.unit,
                        })
                    })
                    .ok_or_else(overflow)
            }
            (BinaryOp::Add | BinaryOp::Sub, V::Date(d), V::Duration(x))
            | (BinaryOp::Add, V::Duration(x), V::Date(d)) => {
                calendar::shift_date(d, x, op == BinaryOp::Sub)
                    .map(V::Date)
                    .ok_or_else(|| self.computation(e.span, "the date is out of range"))
            }
            (BinaryOp::Add | BinaryOp::Sub, V::Instant(t), V::Duration(x))
            | (BinaryOp::Add, V::Duration(x), V::Instant(t)) => {
                calendar::shift_instant(t, x, op == BinaryOp::Sub, self.program.timezone)
                    .map(V::Instant)
                    .ok_or_else(|| self.computation(e.span, "the date is out of range"))
            }
            _ => Err(self.computation(e.span, "operands of the wrong kind")),
        }
    }

    /// Whether two values are equal (text compared directly, without ordering).
    fn equals(&self, a: V<'a>, b: V<'a>) -> bool {
        match (a, b) {
            (V::Text(x), V::Text(y)) => x == y,
            _ => self.compare(a, b) == Some(Ordering::Equal),
        }
    }

    /// Orders two values of the same kind; `None` when either is unknown or they do not compare.
    fn compare(&self, a: V<'a>, b: V<'a>) -> Option<Ordering> {
        match (a, b) {
            (V::Num(x), V::Num(y)) => Some(x.cmp(&y)),
            (V::Text(x), V::Text(y)) => Some(x.cmp(y)),
            (V::Bool(x), V::Bool(y)) => Some(x.cmp(&y)),
            (V::Date(x), V::Date(y)) => Some(x.cmp(&y)),
            (V::Instant(x), V::Instant(y)) => Some(x.cmp(&y)),
            (V::Date(x), V::Instant(y)) => Some(x.cmp(&Now::new(self.program.timezone, y).date())),
            (V::Instant(x), V::Date(y)) => Some(Now::new(self.program.timezone, x).date().cmp(&y)),
            (V::Weekday(x), V::Weekday(y)) => {
                Some(x.num_days_from_monday().cmp(&y.num_days_from_monday()))
            }
            (V::Tier(x), V::Tier(y)) => Some(x.cmp(&y)),
            (V::Duration(x), V::Duration(y)) => Some(x.approx_days().cmp(&y.approx_days())),
            _ => None,
        }
    }

    fn call(
        &mut self,
        function: Function,
        args: &'a [TypedExpr],
        item: Option<usize>,
        e: &TypedExpr,
    ) -> Result<V<'a>, EvalError> {
        let mut first = || -> Result<V<'a>, EvalError> {
            match args.first() {
                Some(a) => self.value(a, item),
                None => Ok(V::Unknown),
            }
        };
        let number = |v: V<'a>, f: fn(Decimal) -> Decimal| match v {
            V::Num(x) => V::Num(f(x)),
            _ => V::Unknown,
        };
        match function {
            Function::Floor => Ok(number(first()?, |x| x.floor())),
            Function::Ceil => Ok(number(first()?, |x| x.ceil())),
            Function::Round => Ok(number(first()?, |x| {
                x.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
            })),
            Function::Abs => Ok(number(first()?, |x| x.abs())),
            Function::Min | Function::Max => {
                let mut best: Option<V<'a>> = None;
                for a in args {
                    let v = self.value(a, item)?;
                    if v == V::Unknown {
                        return Ok(V::Unknown);
                    }
                    best = Some(match best {
                        None => v,
                        Some(b) => {
                            let ord = self.compare(v, b).unwrap_or(Ordering::Equal);
                            let better = if function == Function::Min {
                                ord == Ordering::Less
                            } else {
                                ord == Ordering::Greater
                            };
                            if better {
                                v
                            } else {
                                b
                            }
                        }
                    });
                }
                Ok(best.unwrap_or(V::Unknown))
            }
            Function::DaysBetween => {
                let a = self.date_of(args.first(), item)?;
                let b = self.date_of(args.get(1), item)?;
                Ok(match (a, b) {
                    (Some(a), Some(b)) => V::Num(Decimal::from((b - a).num_days())),
                    _ => V::Unknown,
                })
            }
            Function::Weekday => Ok(self
                .date_of(args.first(), item)?
                .map_or(V::Unknown, |d| V::Weekday(d.weekday()))),
            Function::Month => Ok(self
                .date_of(args.first(), item)?
                .map_or(V::Unknown, |d| V::Num(Decimal::from(d.month())))),
            Function::Hour => Ok(match first()? {
                V::Instant(t) => V::Num(Decimal::from(
                    Now::new(self.program.timezone, t).local.hour(),
                )),
                _ => V::Unknown,
            }),
            Function::Attribute => Ok(match first()? {
                V::Text(attribute) => self
                    .ctx
                    .customer
                    .attributes
                    .get(attribute)
                    .map_or(V::Unknown, |v| V::Text(v)),
                _ => V::Unknown,
            }),
            Function::BirthdayIn => {
                let within = match first()? {
                    V::Duration(d) => d,
                    _ => return Ok(V::Unknown),
                };
                let today = self.now.date();
                let Some(birth) = self.ctx.customer.birth_date else {
                    return Ok(V::Unknown);
                };
                let next = calendar::next_birthday(birth, today);
                let end = calendar::shift_date(today, within, false);
                Ok(match (next, end) {
                    (Some(next), Some(end)) => V::Bool(next < end),
                    _ => V::Unknown,
                })
            }
            _ => Err(self.computation(e.span, "not a scalar function")),
        }
    }

    fn date_of(
        &mut self,
        arg: Option<&'a TypedExpr>,
        item: Option<usize>,
    ) -> Result<Option<NaiveDate>, EvalError> {
        let Some(arg) = arg else { return Ok(None) };
        Ok(match self.value(arg, item)? {
            V::Date(d) => Some(d),
            V::Instant(t) => Some(Now::new(self.program.timezone, t).date()),
            _ => None,
        })
    }

    /// The values behind `e` for the trace: each field, call, segment or rule it reads, as
    /// written, with its value; then `e` itself.
    pub fn facts(&mut self, e: &'a TypedExpr, item: Option<usize>) -> Vec<Fact> {
        let mut leaves = Vec::new();
        collect_leaves(e, &mut leaves);
        let mut facts: Vec<Fact> = Vec::new();
        for leaf in leaves.into_iter().chain(std::iter::once(e)) {
            if item.is_none() && matches!(leaf.kind, TypedKind::Field(f) if f.is_item()) {
                continue;
            }
            let what = self.text(leaf.span);
            if facts.iter().any(|f| f.what == what) {
                continue;
            }
            let value = match self.value(leaf, item) {
                Ok(v) => self.show(v, &leaf.ty),
                Err(err) => format!("error: {err}"),
            };
            facts.push(Fact { what, value });
        }
        facts
    }

    /// A value as the trace shows it, with its unit.
    pub fn show(&self, v: V<'a>, ty: &Type) -> String {
        match v {
            V::Num(x) => {
                let x = x.normalize();
                match ty {
                    Type::Money => format!("{x} {}", self.program.currency),
                    Type::Points => format!("{x} points"),
                    Type::Percent => format!("{x}%"),
                    _ => x.to_string(),
                }
            }
            V::Text(t) => format!("{t:?}"),
            V::Bool(b) => b.to_string(),
            V::Date(d) => d.to_string(),
            V::Instant(t) => t.to_rfc3339(),
            V::Duration(d) => d.to_string(),
            V::Weekday(w) => w.to_string(),
            V::Tier(None) => "no tier".to_string(),
            V::Tier(Some(t)) => self
                .program
                .tiers
                .get(t)
                .map_or_else(|| "?".to_string(), |t| t.name.to_string()),
            V::List(_) | V::Consts(_) => "a list".to_string(),
            V::Unknown => "unknown".to_string(),
        }
    }
}

/// `x / y`; by a power of ten (`/ 10 RUB`, the usual points-per-money rate) it is a shift of
/// the decimal point, exact and much cheaper than a division.
fn divide(x: Decimal, y: Decimal) -> Option<Decimal> {
    if y.scale() == 0 {
        let mut power = 1i128;
        for k in 0..=9u32 {
            if y.mantissa() == power {
                let mut shifted = x;
                if shifted.set_scale(x.scale() + k).is_ok() {
                    return Some(shifted);
                }
                break;
            }
            power *= 10;
        }
    }
    x.checked_div(y)
}

/// The sub-expressions whose values a reader needs: fields, segments, rule points, calls.
fn collect_leaves<'a>(e: &'a TypedExpr, out: &mut Vec<&'a TypedExpr>) {
    match &e.kind {
        TypedKind::Field(_)
        | TypedKind::Segment(_)
        | TypedKind::RulePoints(_)
        | TypedKind::History(..)
        | TypedKind::DaysSinceLastPurchase
        | TypedKind::Aggregate { .. } => out.push(e),
        TypedKind::Call(_, args) => {
            args.iter().for_each(|a| collect_leaves(a, out));
            out.push(e);
        }
        TypedKind::Const(_) => {}
        TypedKind::List(items) => items.iter().for_each(|i| collect_leaves(i, out)),
        TypedKind::Unary(_, x) => collect_leaves(x, out),
        TypedKind::Binary(_, l, r) | TypedKind::Compare(_, l, r) => {
            collect_leaves(l, out);
            collect_leaves(r, out);
        }
        TypedKind::In { value, list, .. } => {
            collect_leaves(value, out);
            collect_leaves(list, out);
        }
        TypedKind::Between {
            value, low, high, ..
        } => {
            collect_leaves(value, out);
            collect_leaves(low, out);
            collect_leaves(high, out);
        }
    }
}
