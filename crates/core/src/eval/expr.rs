//! Expressions at run time: the [`Plan`]s lowered at compile time, evaluated against the
//! context. Values borrow from the program and the context, so evaluating a condition
//! allocates nothing. Numbers, truth values and texts each have an evaluator of their own, so
//! the common operations never ask what kind of value they hold. An unknown value (a birth date
//! nobody gave) makes comparisons unknown, and a condition that ends unknown does not hold
//! (three-valued logic: `false and unknown` is false, `true or unknown` is true).

use super::calendar;
use super::decision::Fact;
use super::engine::Engine;
use super::error::EvalError;
use super::fixed;
use super::plan::Plan;
use super::trace::Tracer;
use crate::program::{CompiledExpr, Duration, HistoryMetric, TierId, Value};
use crate::schema::{Field, Function};
use crate::types::Type;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike, Weekday};
use puntos_dsl::ast::{BinaryOp, CompareOp};
use puntos_dsl::Span;
use rust_decimal::Decimal;
use std::cmp::Ordering;

/// An evaluation error inside the expression evaluator: boxed, so the results that carry it
/// stay small (a truth value with its error fits in two registers).
type Fault = Box<EvalError>;

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
        // Lists only appear after `in`, which is lowered on its own.
        Value::List(_) => V::Unknown,
    }
}

/// A truth value or unknown as a value.
fn truth_value(b: Option<bool>) -> V<'static> {
    b.map_or(V::Unknown, V::Bool)
}

/// A number or unknown as a value.
fn num_value(x: Option<Decimal>) -> V<'static> {
    x.map_or(V::Unknown, V::Num)
}

/// Whether `text` is one of the constant texts `set`.
fn in_set(set: &[Box<str>], text: &str) -> bool {
    set.iter().any(|s| **s == *text)
}

/// Whether `ord` satisfies the comparison `op`.
fn satisfies(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
    }
}

impl<'a, T: Tracer> Engine<'a, T> {
    /// Whether `e` holds (unknown counts as not holding). `item` is the current line. The usual
    /// conditions — a tier test, a comparison of the basket total or a history window with a
    /// constant — are decided in place; any other by the whole evaluator.
    #[inline(always)]
    pub fn holds(&mut self, e: &'a CompiledExpr, item: Option<usize>) -> Result<bool, EvalError> {
        let quick = match e.plan() {
            Plan::TierIs(op, tier) => Some(satisfies(*op, self.tier.cmp(&Some(*tier)))),
            Plan::NumCompare(op, l, r) => self
                .known_number(l)
                .zip(self.known_number(r))
                .map(|(a, b)| satisfies(*op, fixed::cmp(a, b))),
            _ => None,
        };
        match quick {
            Some(holds) => Ok(holds),
            None => Ok(self.truth(e.plan(), item).map_err(|e| *e)? == Some(true)),
        }
    }

    /// A number read without evaluating anything when `p` is a constant, the basket total, the
    /// customer's age or a history window the account gives; `None` for anything else, and for
    /// an unknown or failing value (the caller evaluates it, and reports what is wrong).
    #[inline(always)]
    fn known_number(&self, p: &Plan) -> Option<Decimal> {
        match p {
            Plan::Num(x) => Some(*x),
            Plan::Field(Field::BasketTotal, _) => Some(self.basket_total),
            Plan::Field(Field::CustomerAge, _) => self.customer_age(),
            Plan::History(metric, window, _) => self.history_value(*metric, *window).flatten(),
            _ => None,
        }
    }

    /// `customer.age` on the transaction's date; `None` without a birth date.
    #[inline(always)]
    fn customer_age(&self) -> Option<Decimal> {
        let birth = self.ctx.customer.birth_date?;
        Some(Decimal::from(calendar::age(birth, self.now.date())))
    }

    /// Whether line `i` passes the line filter `e` (unknown counts as not passing).
    pub fn passes(&mut self, e: &'a CompiledExpr, i: usize) -> Result<bool, EvalError> {
        self.line_test(e.plan(), i).map_err(|e| *e)
    }

    /// Whether line `i` passes `p`: the usual filter, a text field against constant texts,
    /// tested in place; any other by [`truth`](Self::truth). Filters run once per line per
    /// accrual, so this skips a call of the whole evaluator where it matters most.
    #[inline(always)]
    fn line_test<'p>(&mut self, p: &'p Plan, i: usize) -> Result<bool, Fault>
    where
        'a: 'p,
    {
        Ok(match p {
            Plan::TextFieldIn {
                negated,
                field,
                span,
                set,
            } => {
                let text = match self.item_text(*field, i) {
                    Some(text) => Some(text),
                    None => self.text_field(*field, Some(i), *span)?,
                };
                text.is_some_and(|text| in_set(set, text) != *negated)
            }
            other => self.truth(other, Some(i))? == Some(true),
        })
    }

    /// A text field of line `i` read directly (`item.category` and the like); `None` for any
    /// other field, which the caller reads the general way.
    #[inline(always)]
    fn item_text(&self, f: Field, i: usize) -> Option<&'a str> {
        let line = self.ctx.transaction.lines.get(i)?;
        match f {
            Field::ItemCategory => Some(&line.category),
            Field::ItemSku => Some(&line.sku),
            Field::ItemBrand => Some(&line.brand),
            Field::ItemName => Some(&line.name),
            _ => None,
        }
    }

    /// What a `for each item` accrual earns on line `i`, when it is the usual amount — whole
    /// units of the line's money (`floor(item.amount / 10 RUB)`, perhaps times a whole
    /// constant) — read and divided in place, kept in an integer register; `None` sends the
    /// caller to [`number`](Self::number). Like [`line_test`](Self::line_test), this skips the
    /// whole evaluator where it runs most: once per line per accrual.
    #[inline(always)]
    pub fn line_units(&self, e: &'a CompiledExpr, i: usize) -> Option<i64> {
        match e.plan() {
            Plan::FloorShift(x, places, _) => self.amount_units(x, i, *places),
            Plan::Arith(BinaryOp::Mul, l, r, _) => match (&**l, &**r) {
                (Plan::FloorShift(x, places, _), Plan::Num(times)) if times.scale() == 0 => {
                    let times = i64::try_from(times.mantissa()).ok()?;
                    self.amount_units(x, i, *places)?.checked_mul(times)
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// `floor(item.amount / 10^places)` of line `i` when `x` is `item.amount` and the quotient
    /// is found in integers (else `None`).
    #[inline(always)]
    fn amount_units(&self, x: &Plan, i: usize, places: u32) -> Option<i64> {
        match x {
            Plan::Field(Field::ItemAmount, _) => {
                floor_shift_units(self.decided.get(i)?.amount, places)
            }
            _ => None,
        }
    }

    /// A numeric value (unknown counts as zero). The usual amounts of a rule — a constant,
    /// `N% of rule` — are computed in place; any other by the whole evaluator.
    #[inline(always)]
    pub fn number(
        &mut self,
        e: &'a CompiledExpr,
        item: Option<usize>,
    ) -> Result<Decimal, EvalError> {
        let quick = match e.plan() {
            Plan::Num(x) => Some(*x),
            Plan::Arith(BinaryOp::Of, l, r, _) => match (&**l, &**r) {
                (Plan::Num(percent), Plan::RulePoints(id))
                | (Plan::RulePoints(id), Plan::Num(percent)) => {
                    fixed::mul(*percent, self.rule_points_of(*id)).and_then(|x| shift(x, 2))
                }
                _ => None,
            },
            _ => None,
        };
        if let Some(x) = quick {
            return Ok(x);
        }
        Ok(self
            .num(e.plan(), item)
            .map_err(|e| *e)?
            .unwrap_or_default())
    }

    /// A computation error at `span` in the current declaration, boxed.
    fn fault(&self, span: Span, message: impl Into<String>) -> Fault {
        Box::new(self.computation(span, message))
    }

    /// A truth value; `None` is unknown.
    fn truth<'p>(&mut self, p: &'p Plan, item: Option<usize>) -> Result<Option<bool>, Fault>
    where
        'a: 'p,
    {
        Ok(match p {
            Plan::Bool(b) => Some(*b),
            Plan::Segment(id) => Some(self.segment(*id)?),
            Plan::Not(x, _) => self.truth(x, item)?.map(|b| !b),
            Plan::And(l, r) => match self.truth(l, item)? {
                Some(false) => Some(false),
                left => match (left, self.truth(r, item)?) {
                    (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                },
            },
            Plan::Or(l, r) => match self.truth(l, item)? {
                Some(true) => Some(true),
                left => match (left, self.truth(r, item)?) {
                    (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                },
            },
            Plan::NumCompare(op, l, r) => {
                let a = self.operand(l, item)?;
                let b = self.operand(r, item)?;
                a.zip(b).map(|(a, b)| satisfies(*op, fixed::cmp(a, b)))
            }
            Plan::TextCompare(op, l, r) => {
                let a = self.text_of(l, item)?;
                let b = self.text_of(r, item)?;
                a.zip(b).map(|(a, b)| satisfies(*op, a.cmp(b)))
            }
            Plan::TextIn {
                negated,
                value,
                set,
            } => self
                .text_of(value, item)?
                .map(|needle| in_set(set, needle) != *negated),
            Plan::TextFieldIn {
                negated,
                field,
                span,
                set,
            } => self
                .text_field(*field, item, *span)?
                .map(|text| in_set(set, text) != *negated),
            Plan::WeekdayIn {
                negated,
                value,
                days,
            } => match self.leaf(value, item)? {
                V::Weekday(day) => Some((days >> day.num_days_from_monday() & 1 == 1) != *negated),
                _ => None,
            },
            Plan::Compare(op, l, r) => {
                let a = self.leaf(l, item)?;
                let b = self.leaf(r, item)?;
                self.compare(a, b).map(|ord| satisfies(*op, ord))
            }
            Plan::TierIs(op, tier) => Some(satisfies(*op, self.tier.cmp(&Some(*tier)))),
            Plan::In {
                negated,
                value,
                list,
            } => {
                let needle = self.value(value, item)?;
                if needle == V::Unknown {
                    return Ok(None);
                }
                let mut found = false;
                for candidate in list {
                    let c = self.value(candidate, item)?;
                    if self.equals(needle, c) {
                        found = true;
                        break;
                    }
                }
                Some(found != *negated)
            }
            Plan::NumBetween {
                negated,
                value,
                low,
                high,
            } => {
                let v = self.operand(value, item)?;
                let lo = self.operand(low, item)?;
                let hi = self.operand(high, item)?;
                match (v, lo, hi) {
                    (Some(v), Some(lo), Some(hi)) => Some(
                        (fixed::cmp(v, lo) != Ordering::Less
                            && fixed::cmp(v, hi) != Ordering::Greater)
                            != *negated,
                    ),
                    _ => None,
                }
            }
            Plan::Between {
                negated,
                value,
                low,
                high,
            } => {
                let v = self.value(value, item)?;
                let lo = self.value(low, item)?;
                let hi = self.value(high, item)?;
                match (self.compare(v, lo), self.compare(v, hi)) {
                    (Some(a), Some(b)) => {
                        Some((a != Ordering::Less && b != Ordering::Greater) != *negated)
                    }
                    _ => None,
                }
            }
            other => match self.value(other, item)? {
                V::Bool(b) => Some(b),
                _ => None,
            },
        })
    }

    /// A numeric value; `None` is unknown.
    fn num<'p>(&mut self, p: &'p Plan, item: Option<usize>) -> Result<Option<Decimal>, Fault>
    where
        'a: 'p,
    {
        Ok(match p {
            Plan::Num(x) => Some(*x),
            Plan::RulePoints(id) => Some(self.rule_points_of(*id)),
            Plan::Field(f, span) => self.num_field(*f, item, *span)?,
            Plan::Arith(op, l, r, span) => {
                let a = self.operand(l, item)?;
                let b = self.operand(r, item)?;
                match (a, b) {
                    (Some(x), Some(y)) => Some(self.arith(*op, x, y, *span)?),
                    _ => None,
                }
            }
            Plan::Shift(x, places, span) => match self.operand(x, item)? {
                Some(x) => Some(
                    shift(x, *places)
                        .ok_or_else(|| self.fault(*span, "the result is too large"))?,
                ),
                None => None,
            },
            Plan::FloorShift(x, places, span) => match self.operand(x, item)? {
                Some(x) => Some(
                    floor_shift(x, *places)
                        .ok_or_else(|| self.fault(*span, "the result is too large"))?,
                ),
                None => None,
            },
            Plan::History(metric, window, span) => Some(self.history(*metric, *window, *span)?),
            Plan::Aggregate {
                function,
                value,
                filter,
                span,
            } => match self.aggregate(*function, value.as_deref(), filter.as_deref(), *span)? {
                V::Num(x) => Some(x),
                v => return Err(self.fault(*span, format!("expected a number, found {v:?}"))),
            },
            Plan::DaysSinceLastPurchase => self
                .ctx
                .account
                .last_purchase
                .map(|last| Decimal::from((self.now.date() - last).num_days())),
            Plan::Neg(x, _) => self.operand(x, item)?.map(|x| -x),
            Plan::Round(function, x) => self.operand(x, item)?.map(|x| match function {
                Function::Floor => floor(x),
                Function::Ceil => x.ceil(),
                Function::Round => x.round_dp_with_strategy(
                    0,
                    rust_decimal::RoundingStrategy::MidpointAwayFromZero,
                ),
                _ => x.abs(),
            }),
            Plan::NumMinMax(function, args) => {
                let mut best: Option<Decimal> = None;
                for a in args {
                    let Some(v) = self.operand(a, item)? else {
                        return Ok(None);
                    };
                    best = Some(match best {
                        None => v,
                        Some(b) => {
                            let better = match function {
                                Function::Min => v < b,
                                _ => v > b,
                            };
                            if better {
                                v
                            } else {
                                b
                            }
                        }
                    });
                }
                best
            }
            other => match self.value(other, item)? {
                V::Num(x) => Some(x),
                V::Unknown => None,
                v => {
                    return Err(self.fault(
                        other.span().unwrap_or_default(),
                        format!("expected a number, found {v:?}"),
                    ))
                }
            },
        })
    }

    /// A numeric operand: a constant or a field read in place, anything else by
    /// [`num`](Self::num). Operands are mostly such leaves, and this saves a call of the whole
    /// evaluator for each.
    #[inline(always)]
    fn operand<'p>(&mut self, p: &'p Plan, item: Option<usize>) -> Result<Option<Decimal>, Fault>
    where
        'a: 'p,
    {
        match p {
            Plan::Num(x) => Ok(Some(*x)),
            Plan::Field(f, span) => self.num_field(*f, item, *span),
            Plan::RulePoints(id) => Ok(Some(self.rule_points_of(*id))),
            other => self.num(other, item),
        }
    }

    /// The points rule `id` earned on this transaction (`N% of rule`).
    fn rule_points_of(&self, id: usize) -> Decimal {
        self.rule_points.get(id).copied().unwrap_or_default()
    }

    /// Any value, a field or constant read in place (as [`operand`](Self::operand) does for
    /// numbers), anything else by [`value`](Self::value).
    #[inline(always)]
    fn leaf<'p>(&mut self, p: &'p Plan, item: Option<usize>) -> Result<V<'p>, Fault>
    where
        'a: 'p,
    {
        match p {
            Plan::Const(v) => Ok(from_const(v)),
            Plan::Field(f, span) => self.field(*f, item, *span),
            other => self.value(other, item),
        }
    }

    /// A numeric field; `None` is unknown.
    #[inline(always)]
    fn num_field(
        &self,
        f: Field,
        item: Option<usize>,
        span: Span,
    ) -> Result<Option<Decimal>, Fault> {
        match self.field(f, item, span)? {
            V::Num(x) => Ok(Some(x)),
            V::Unknown => Ok(None),
            v => Err(self.fault(span, format!("expected a number, found {v:?}"))),
        }
    }

    /// A text value; `None` is unknown.
    fn text_of<'p>(&mut self, p: &'p Plan, item: Option<usize>) -> Result<Option<&'p str>, Fault>
    where
        'a: 'p,
    {
        Ok(match p {
            Plan::Text(t) => Some(t),
            Plan::Field(f, span) => self.text_field(*f, item, *span)?,
            other => match self.value(other, item)? {
                V::Text(t) => Some(t),
                _ => None,
            },
        })
    }

    /// Evaluates `p`, whatever its kind.
    fn value<'p>(&mut self, p: &'p Plan, item: Option<usize>) -> Result<V<'p>, Fault>
    where
        'a: 'p,
    {
        Ok(match p {
            Plan::Num(x) => V::Num(*x),
            Plan::Bool(b) => V::Bool(*b),
            Plan::Text(t) => V::Text(t),
            Plan::Const(v) => from_const(v),
            Plan::Field(f, span) => self.field(*f, item, *span)?,
            Plan::Segment(_)
            | Plan::Not(..)
            | Plan::And(..)
            | Plan::Or(..)
            | Plan::NumCompare(..)
            | Plan::TextCompare(..)
            | Plan::Compare(..)
            | Plan::TierIs(..)
            | Plan::TextIn { .. }
            | Plan::TextFieldIn { .. }
            | Plan::WeekdayIn { .. }
            | Plan::In { .. }
            | Plan::NumBetween { .. }
            | Plan::Between { .. } => truth_value(self.truth(p, item)?),
            Plan::RulePoints(_)
            | Plan::History(..)
            | Plan::DaysSinceLastPurchase
            | Plan::Arith(..)
            | Plan::Shift(..)
            | Plan::FloorShift(..)
            | Plan::Neg(..)
            | Plan::Round(..)
            | Plan::NumMinMax(..) => num_value(self.num(p, item)?),
            Plan::Calendar(op, l, r, span) => {
                let a = self.value(l, item)?;
                let b = self.value(r, item)?;
                self.calendar(*op, a, b, *span)?
            }
            Plan::Call(function, args, span) => self.call(*function, args, item, *span)?,
            Plan::Aggregate {
                function,
                value,
                filter,
                span,
            } => self.aggregate(*function, value.as_deref(), filter.as_deref(), *span)?,
            Plan::List(span) => return Err(self.fault(*span, "a list is not a value")),
        })
    }

    /// A text field's value; `None` for a field of another kind.
    #[inline(always)]
    fn text_field(
        &self,
        f: Field,
        item: Option<usize>,
        span: Span,
    ) -> Result<Option<&'a str>, Fault> {
        Ok(match self.field(f, item, span)? {
            V::Text(t) => Some(t),
            _ => None,
        })
    }

    // Inlined into its few callers (numbers, texts, any value), each of which then takes the
    // kind it expects without building and matching a whole value.
    #[inline(always)]
    fn field(&self, f: Field, item: Option<usize>, span: Span) -> Result<V<'a>, Fault> {
        let ctx = self.ctx;
        let tx = &ctx.transaction;
        let now = &self.now;
        Ok(match f {
            Field::CustomerId => V::Text(&ctx.customer.id),
            Field::CustomerBirthDate => ctx.customer.birth_date.map_or(V::Unknown, V::Date),
            Field::CustomerAge => num_value(self.customer_age()),
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
            // The fields of the current line.
            _ => self.item_field(f, item, span)?,
        })
    }

    /// A field of the current line.
    #[inline(always)]
    fn item_field(&self, f: Field, item: Option<usize>, span: Span) -> Result<V<'a>, Fault> {
        let line = item
            .and_then(|i| self.ctx.transaction.lines.get(i).map(|l| (i, l)))
            .ok_or_else(|| self.fault(span, "a line field read outside a line"))?;
        if let Some(text) = self.item_text(f, line.0) {
            return Ok(V::Text(text));
        }
        Ok(match f {
            Field::ItemUnitPrice => V::Num(line.1.unit_price),
            Field::ItemQuantity => V::Num(line.1.quantity),
            _ => V::Num(self.amount(line.0)),
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

    /// `spend(...)` or `visits(...)`: the account's window, with this transaction's part added
    /// while the tier after it is decided.
    fn history(
        &self,
        metric: HistoryMetric,
        window: Duration,
        span: Span,
    ) -> Result<Decimal, Fault> {
        match self.history_value(metric, window) {
            Some(Some(x)) => Ok(x),
            Some(None) => Err(self.fault(span, "the history with this transaction is too large")),
            None => Err(self.fault(span, format!("the account has no {window} history"))),
        }
    }

    /// [`history`](Self::history) without its errors: `None` when the account does not give
    /// the window, `Some(None)` when adding this transaction overflows.
    #[inline(always)]
    fn history_value(&self, metric: HistoryMetric, window: Duration) -> Option<Option<Decimal>> {
        let account = &self.ctx.account;
        let (windows, delta) = match metric {
            HistoryMetric::Spend => (&account.spend, self.history_delta.map(|d| d.0)),
            HistoryMetric::Visits => (&account.visits, self.history_delta.map(|d| d.1)),
        };
        let base = windows
            .iter()
            .find(|(d, _)| *d == window)
            .map(|(_, v)| *v)?;
        Some(match delta {
            None => Some(base),
            Some(delta) => base.checked_add(delta),
        })
    }

    /// `sum`, `count`, `any` or `all` over the basket's lines.
    fn aggregate<'p>(
        &mut self,
        function: Function,
        value: Option<&'p Plan>,
        filter: Option<&'p Plan>,
        span: Span,
    ) -> Result<V<'p>, Fault>
    where
        'a: 'p,
    {
        let mut sum = fixed::Total::default();
        let mut count = 0usize;
        let lines = self.lines().len();
        for i in 0..lines {
            let passes = match filter {
                Some(f) => self.line_test(f, i)?,
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
                    let x = self.operand(v, Some(i))?.unwrap_or_default();
                    sum.add(x)
                        .ok_or_else(|| self.fault(span, "the sum is too large"))?;
                }
            }
        }
        Ok(match function {
            Function::Any => V::Bool(false),
            Function::All => V::Bool(true),
            Function::Count => V::Num(Decimal::from(count)),
            _ => V::Num(sum.value()),
        })
    }

    /// Arithmetic on two numbers. Inlined into the number evaluator, whose most common work it
    /// is (a product or a percentage per line).
    #[inline(always)]
    fn arith(&self, op: BinaryOp, x: Decimal, y: Decimal, span: Span) -> Result<Decimal, Fault> {
        let r = match op {
            BinaryOp::Add => fixed::add(x, y),
            BinaryOp::Sub => x.checked_sub(y),
            BinaryOp::Mul => fixed::mul(x, y),
            BinaryOp::Div => {
                if y.is_zero() {
                    return Err(self.fault(span, "division by zero"));
                }
                x.checked_div(y)
            }
            // A percentage: the product's decimal point moved two places.
            BinaryOp::Of => fixed::mul(x, y).and_then(|p| shift(p, 2)),
            BinaryOp::And | BinaryOp::Or => None,
        };
        r.ok_or_else(|| self.fault(span, "the result is too large"))
    }

    /// Arithmetic with dates, instants and durations.
    fn calendar<'p>(&self, op: BinaryOp, a: V<'p>, b: V<'p>, span: Span) -> Result<V<'p>, Fault> {
        let overflow = || self.fault(span, "the result is too large");
        match (op, a, b) {
            (_, V::Unknown, _) | (_, _, V::Unknown) => Ok(V::Unknown),
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
                    .ok_or_else(|| self.fault(span, "the date is out of range"))
            }
            (BinaryOp::Add | BinaryOp::Sub, V::Instant(t), V::Duration(x))
            | (BinaryOp::Add, V::Duration(x), V::Instant(t)) => {
                let local = self.now.local_of(t);
                calendar::shift_instant(local, x, op == BinaryOp::Sub, self.program.timezone)
                    .map(V::Instant)
                    .ok_or_else(|| self.fault(span, "the date is out of range"))
            }
            _ => Err(self.fault(span, "operands of the wrong kind")),
        }
    }

    /// Whether two values are equal (text compared directly, without ordering).
    fn equals(&self, a: V<'_>, b: V<'_>) -> bool {
        match (a, b) {
            (V::Text(x), V::Text(y)) => x == y,
            _ => self.compare(a, b) == Some(Ordering::Equal),
        }
    }

    /// Orders two values of the same kind; `None` when either is unknown or they do not compare.
    fn compare(&self, a: V<'_>, b: V<'_>) -> Option<Ordering> {
        match (a, b) {
            (V::Num(x), V::Num(y)) => Some(fixed::cmp(x, y)),
            (V::Text(x), V::Text(y)) => Some(x.cmp(y)),
            (V::Bool(x), V::Bool(y)) => Some(x.cmp(&y)),
            (V::Date(x), V::Date(y)) => Some(x.cmp(&y)),
            (V::Instant(x), V::Instant(y)) => Some(x.cmp(&y)),
            (V::Date(x), V::Instant(y)) => Some(x.cmp(&self.local_date(y))),
            (V::Instant(x), V::Date(y)) => Some(self.local_date(x).cmp(&y)),
            (V::Weekday(x), V::Weekday(y)) => {
                Some(x.num_days_from_monday().cmp(&y.num_days_from_monday()))
            }
            (V::Tier(x), V::Tier(y)) => Some(x.cmp(&y)),
            (V::Duration(x), V::Duration(y)) => Some(x.approx_days().cmp(&y.approx_days())),
            _ => None,
        }
    }

    /// A function call other than the numeric ones lowered on their own.
    fn call<'p>(
        &mut self,
        function: Function,
        args: &'p [Plan],
        item: Option<usize>,
        span: Span,
    ) -> Result<V<'p>, Fault>
    where
        'a: 'p,
    {
        match function {
            Function::Min | Function::Max => {
                let mut best: Option<V<'p>> = None;
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
            Function::Hour => Ok(match self.first(args, item)? {
                V::Instant(t) => V::Num(Decimal::from(self.now.local_of(t).hour())),
                _ => V::Unknown,
            }),
            Function::Attribute => Ok(match self.first(args, item)? {
                V::Text(attribute) => self
                    .ctx
                    .customer
                    .attributes
                    .get(attribute)
                    .map_or(V::Unknown, |v| V::Text(v)),
                _ => V::Unknown,
            }),
            Function::BirthdayIn => {
                let within = match self.first(args, item)? {
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
            _ => Err(self.fault(span, "not a scalar function")),
        }
    }

    /// The first argument's value (unknown when there is none).
    fn first<'p>(&mut self, args: &'p [Plan], item: Option<usize>) -> Result<V<'p>, Fault>
    where
        'a: 'p,
    {
        match args.first() {
            Some(a) => self.value(a, item),
            None => Ok(V::Unknown),
        }
    }

    /// The local calendar date of `instant` in the program's zone.
    fn local_date(&self, instant: DateTime<FixedOffset>) -> NaiveDate {
        self.now.local_of(instant).date()
    }

    fn date_of(
        &mut self,
        arg: Option<&Plan>,
        item: Option<usize>,
    ) -> Result<Option<NaiveDate>, Fault> {
        let Some(arg) = arg else { return Ok(None) };
        Ok(match self.value(arg, item)? {
            V::Date(d) => Some(d),
            V::Instant(t) => Some(self.local_date(t)),
            _ => None,
        })
    }

    /// The values behind `e` for the trace: each field, call, segment or rule it reads, as
    /// written, with its value; then `e` itself.
    pub fn facts(&mut self, e: &'a CompiledExpr, item: Option<usize>) -> Vec<Fact> {
        let mut facts: Vec<Fact> = Vec::new();
        for leaf in e.leaves() {
            if item.is_none() && leaf.item_field {
                continue;
            }
            let what = self.text(leaf.span);
            if facts.iter().any(|f| f.what == what) {
                continue;
            }
            let value = match self.value(&leaf.plan, item) {
                Ok(v) => self.show(v, &leaf.ty),
                Err(err) => format!("error: {err}"),
            };
            facts.push(Fact { what, value });
        }
        facts
    }

    /// A value as the trace shows it, with its unit.
    pub fn show(&self, v: V<'_>, ty: &Type) -> String {
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
            V::Unknown => "unknown".to_string(),
        }
    }
}

/// `x / 10^places`: the decimal point moved, exact and much cheaper than a division; a
/// division when the scale would pass the largest a decimal holds.
fn shift(x: Decimal, places: u32) -> Option<Decimal> {
    let mut shifted = x;
    if shifted.set_scale(x.scale() + places).is_ok() {
        return Some(shifted);
    }
    x.checked_div(Decimal::from(10u64.checked_pow(places)?))
}

/// `floor(x / 10^places)`: an integer division of the mantissa when it fits in 64 bits, else
/// [`shift`] then [`floor`]. Equal to them in value and scale (property test below). Inlined,
/// as [`fixed::mul`] is; the rare case is out of line.
#[inline(always)]
fn floor_shift(x: Decimal, places: u32) -> Option<Decimal> {
    match floor_shift_units(x, places) {
        Some(units) => Some(Decimal::from(units)),
        None => shift_floor(x, places),
    }
}

/// [`floor_shift`] as an integer, when the mantissa fits in 64 bits and the result has a
/// fraction to drop; `None` sends the caller to the general path.
#[inline(always)]
fn floor_shift_units(x: Decimal, places: u32) -> Option<i64> {
    let scale = x.scale() + places;
    if scale == 0 {
        return None;
    }
    let mantissa = i64::try_from(x.mantissa()).ok()?;
    let unit = i64::try_from(fixed::pow10(scale)?).ok()?;
    Some(mantissa.div_euclid(unit))
}

/// [`shift`] then [`floor`]: the rare case of [`floor_shift`].
#[inline(never)]
fn shift_floor(x: Decimal, places: u32) -> Option<Decimal> {
    shift(x, places).map(floor)
}

/// `floor(x)`; whole numbers and small mantissas without the general algorithm.
fn floor(x: Decimal) -> Decimal {
    let scale = x.scale();
    if scale == 0 {
        return x;
    }
    match (i64::try_from(x.mantissa()), 10i64.checked_pow(scale)) {
        (Ok(m), Some(unit)) => Decimal::from(m.div_euclid(unit)),
        _ => x.floor(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_shift_is_a_division_by_a_power_of_ten(
            mantissa in any::<i64>(),
            scale in 0u32..=28,
            places in 0u32..=18,
        ) {
            let x = Decimal::new(mantissa, scale);
            let divisor = Decimal::from(10u64.pow(places));
            prop_assert_eq!(shift(x, places), x.checked_div(divisor));
        }

        #[test]
        fn floor_shift_is_the_floor_of_the_shift(
            mantissa in any::<i64>(),
            scale in 0u32..=28,
            places in 0u32..=18,
        ) {
            let x = Decimal::new(mantissa, scale);
            let quick = floor_shift(x, places);
            let slow = shift(x, places).map(floor);
            prop_assert_eq!(quick, slow);
            prop_assert_eq!(quick.map(|q| (q.scale(), q.is_sign_negative())), slow.map(|s| (s.scale(), s.is_sign_negative())));
        }

        #[test]
        fn the_quick_floor_is_the_floor(mantissa in any::<i64>(), scale in 0u32..=28) {
            let x = Decimal::new(mantissa, scale);
            prop_assert_eq!(floor(x), x.floor());
        }
    }
}
