//! Expressions lowered for evaluation. The type checker already knows the type of every
//! expression, so lowering chooses each operation once, at compile time, instead of on every
//! evaluation: numbers are compared and added as numbers, text as text, a text looked up in a
//! constant list is a set lookup, `x / 10 RUB` is a shift of the decimal point, `floor` of a
//! number is a numeric step, and constants are ready to use. The evaluator (`expr.rs`) then
//! rarely needs to ask what kind of value it holds.

use crate::program::{
    Duration, HistoryMetric, RuleId, SegmentId, TierId, TypedExpr, TypedKind, Value,
};
use crate::schema::{Field, Function};
use crate::types::Type;
use puntos_dsl::ast::{BinaryOp, CompareOp, UnaryOp};
use puntos_dsl::Span;
use rust_decimal::Decimal;

/// A lowered expression. Variants that can fail at run time keep the span to report.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Plan {
    /// A constant number, amount of money or points, or percentage.
    Num(Decimal),
    /// A constant truth value.
    Bool(bool),
    /// A constant text.
    Text(Box<str>),
    /// Any other constant: a date, instant, duration, weekday or tier.
    Const(Value),
    /// A field of the context.
    Field(Field, Span),
    /// Whether the customer is in a segment.
    Segment(SegmentId),
    /// The points a rule earned on this transaction.
    RulePoints(RuleId),
    /// A history window of the account.
    History(HistoryMetric, Duration, Span),
    /// `days_since_last_purchase()`.
    DaysSinceLastPurchase,
    /// Arithmetic on numbers (`of` included).
    Arith(BinaryOp, Box<Plan>, Box<Plan>, Span),
    /// `x / 10^k`: the decimal point moved `k` places.
    Shift(Box<Plan>, u32, Span),
    /// `floor(x / 10^k)` in one step: whole units of `10^k` (`floor(item.amount / 10 RUB)`).
    FloorShift(Box<Plan>, u32, Span),
    /// `-x`.
    Neg(Box<Plan>, Span),
    /// `floor`, `ceil`, `round` or `abs` of a number.
    Round(Function, Box<Plan>),
    /// `min` or `max` of numbers.
    NumMinMax(Function, Vec<Plan>),
    /// Arithmetic on dates, instants and durations.
    Calendar(BinaryOp, Box<Plan>, Box<Plan>, Span),
    /// `not x`.
    Not(Box<Plan>, Span),
    /// `a and b`.
    And(Box<Plan>, Box<Plan>),
    /// `a or b`.
    Or(Box<Plan>, Box<Plan>),
    /// A comparison of numbers.
    NumCompare(CompareOp, Box<Plan>, Box<Plan>),
    /// A comparison of texts.
    TextCompare(CompareOp, Box<Plan>, Box<Plan>),
    /// A comparison of values of another kind (dates, weekdays, tiers, durations).
    Compare(CompareOp, Box<Plan>, Box<Plan>),
    /// `customer.tier` against a constant tier, the operator written with the customer's tier
    /// on the left (`customer.tier >= Gold`): the usual condition of a tier's bonus, in one
    /// node.
    TierIs(CompareOp, TierId),
    /// A text in (or not in) a constant list of texts.
    TextIn {
        /// `not in`.
        negated: bool,
        /// The text looked for.
        value: Box<Plan>,
        /// The list.
        set: Box<[Box<str>]>,
    },
    /// A text field equal to (or in) constant texts, or not: `item.category = "fresh"`,
    /// `item.category not in ["tobacco"]` — the field read directly, in one node, since this is
    /// the usual line filter.
    TextFieldIn {
        /// `!=` or `not in`.
        negated: bool,
        /// The field, of type text.
        field: Field,
        /// Where the field is written, for its errors.
        span: Span,
        /// The texts (one for `=`).
        set: Box<[Box<str>]>,
    },
    /// A weekday in (or not in) a constant list of weekdays.
    WeekdayIn {
        /// `not in`.
        negated: bool,
        /// The weekday looked for.
        value: Box<Plan>,
        /// The list, one bit per day from Monday (bit 0).
        days: u8,
    },
    /// Membership in any other list.
    In {
        /// `not in`.
        negated: bool,
        /// The value looked for.
        value: Box<Plan>,
        /// The list's items.
        list: Vec<Plan>,
    },
    /// An inclusive range test on numbers.
    NumBetween {
        /// `not between`.
        negated: bool,
        /// The value.
        value: Box<Plan>,
        /// Lower bound.
        low: Box<Plan>,
        /// Upper bound.
        high: Box<Plan>,
    },
    /// An inclusive range test on values of another kind.
    Between {
        /// `not between`.
        negated: bool,
        /// The value.
        value: Box<Plan>,
        /// Lower bound.
        low: Box<Plan>,
        /// Upper bound.
        high: Box<Plan>,
    },
    /// Any other function call (`min`/`max` of dates, calendar functions, `attribute`,
    /// `birthday_in`).
    Call(Function, Vec<Plan>, Span),
    /// An aggregate over basket lines.
    Aggregate {
        /// `sum`, `count`, `any` or `all`.
        function: Function,
        /// The per-line value (`sum`).
        value: Option<Box<Plan>>,
        /// The line filter.
        filter: Option<Box<Plan>>,
        /// Where the per-line value is written, for an overflowing sum.
        span: Span,
    },
    /// A list outside `in`, which the type checker never lets through.
    List(Span),
}

/// A value the trace shows beside a condition: a field, call, segment or rule it reads, or the
/// whole expression; lowered at compile time so a traced evaluation lowers nothing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Leaf {
    /// Where it is written (the trace quotes it).
    pub span: Span,
    /// Its type, for showing its value with its unit.
    pub ty: Type,
    /// Whether it reads a basket line (shown only where there is one).
    pub item_field: bool,
    /// How to evaluate it.
    pub plan: Plan,
}

/// The leaves of `e` a reader needs, in reading order, then `e` itself.
pub(crate) fn leaves(e: &TypedExpr) -> Vec<Leaf> {
    let mut found = Vec::new();
    collect_leaves(e, &mut found);
    found.push(e);
    found
        .into_iter()
        .map(|leaf| Leaf {
            span: leaf.span,
            ty: leaf.ty.clone(),
            item_field: matches!(leaf.kind, TypedKind::Field(f) if f.is_item()),
            plan: Plan::lower(leaf),
        })
        .collect()
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

/// The largest `k` for which `x / 10^k` is lowered to a shift.
const MAX_SHIFT: u32 = 18;

impl Plan {
    /// Lowers a type-checked expression.
    pub(crate) fn lower(e: &TypedExpr) -> Plan {
        let boxed = |x: &TypedExpr| Box::new(Plan::lower(x));
        match &e.kind {
            TypedKind::Const(v) => constant(v),
            TypedKind::Field(f) => Plan::Field(*f, e.span),
            TypedKind::Segment(id) => Plan::Segment(*id),
            TypedKind::RulePoints(id) => Plan::RulePoints(*id),
            TypedKind::List(_) => Plan::List(e.span),
            TypedKind::Unary(UnaryOp::Not, x) => Plan::Not(boxed(x), e.span),
            TypedKind::Unary(UnaryOp::Neg, x) => Plan::Neg(boxed(x), e.span),
            TypedKind::Binary(BinaryOp::And, l, r) => Plan::And(boxed(l), boxed(r)),
            TypedKind::Binary(BinaryOp::Or, l, r) => Plan::Or(boxed(l), boxed(r)),
            TypedKind::Binary(op, l, r) if is_numeric(&e.ty) => match (op, power_of_ten(r)) {
                (BinaryOp::Div, Some(k)) => Plan::Shift(boxed(l), k, e.span),
                _ => Plan::Arith(*op, boxed(l), boxed(r), e.span),
            },
            TypedKind::Binary(op, l, r) => Plan::Calendar(*op, boxed(l), boxed(r), e.span),
            TypedKind::Compare(op, l, r) => {
                if let (CompareOp::Eq | CompareOp::Ne, Some((field, span, text))) =
                    (op, text_field_test(l, r))
                {
                    return Plan::TextFieldIn {
                        negated: *op == CompareOp::Ne,
                        field,
                        span,
                        set: Box::new([text.into()]),
                    };
                }
                if let Some((op, tier)) = tier_test(*op, l, r) {
                    return Plan::TierIs(op, tier);
                }
                let (a, b) = (boxed(l), boxed(r));
                if is_numeric(&l.ty) && is_numeric(&r.ty) {
                    Plan::NumCompare(*op, a, b)
                } else if l.ty == Type::Text && r.ty == Type::Text {
                    Plan::TextCompare(*op, a, b)
                } else {
                    Plan::Compare(*op, a, b)
                }
            }
            TypedKind::In {
                negated,
                value,
                list,
            } => membership(*negated, value, list),
            TypedKind::Between {
                negated,
                value,
                low,
                high,
            } => {
                let (value_plan, low, high) = (boxed(value), boxed(low), boxed(high));
                if is_numeric(&value.ty) {
                    Plan::NumBetween {
                        negated: *negated,
                        value: value_plan,
                        low,
                        high,
                    }
                } else {
                    Plan::Between {
                        negated: *negated,
                        value: value_plan,
                        low,
                        high,
                    }
                }
            }
            TypedKind::Call(function, args) => {
                let args: Vec<Plan> = args.iter().map(Plan::lower).collect();
                match function {
                    Function::Floor | Function::Ceil | Function::Round | Function::Abs => {
                        match args.into_iter().next() {
                            Some(Plan::Shift(x, k, span)) if *function == Function::Floor => {
                                Plan::FloorShift(x, k, span)
                            }
                            Some(x) => Plan::Round(*function, Box::new(x)),
                            None => Plan::Call(*function, Vec::new(), e.span),
                        }
                    }
                    Function::Min | Function::Max if is_numeric(&e.ty) => {
                        Plan::NumMinMax(*function, args)
                    }
                    _ => Plan::Call(*function, args, e.span),
                }
            }
            TypedKind::History(metric, window) => Plan::History(*metric, *window, e.span),
            TypedKind::DaysSinceLastPurchase => Plan::DaysSinceLastPurchase,
            TypedKind::Aggregate {
                function,
                value,
                filter,
            } => Plan::Aggregate {
                function: *function,
                span: value.as_ref().map_or(e.span, |v| v.span),
                value: value.as_deref().map(boxed),
                filter: filter.as_deref().map(boxed),
            },
        }
    }
}

/// A constant.
fn constant(v: &Value) -> Plan {
    match v {
        Value::Number(x) | Value::Money(x) | Value::Points(x) | Value::Percent(x) => Plan::Num(*x),
        Value::Bool(b) => Plan::Bool(*b),
        Value::Text(t) => Plan::Text(t.as_str().into()),
        other => Plan::Const(other.clone()),
    }
}

impl Plan {
    /// Where a plan that can fail is written, for its errors.
    pub(crate) fn span(&self) -> Option<Span> {
        match self {
            Plan::Field(_, span)
            | Plan::History(_, _, span)
            | Plan::Arith(_, _, _, span)
            | Plan::Shift(_, _, span)
            | Plan::FloorShift(_, _, span)
            | Plan::TextFieldIn { span, .. }
            | Plan::Neg(_, span)
            | Plan::Calendar(_, _, _, span)
            | Plan::Not(_, span)
            | Plan::Call(_, _, span)
            | Plan::Aggregate { span, .. }
            | Plan::List(span) => Some(*span),
            _ => None,
        }
    }
}

/// `x in list`: a set lookup when the list is constant text, a bit test when it is constant
/// weekdays.
fn membership(negated: bool, value: &TypedExpr, list: &TypedExpr) -> Plan {
    let value_plan = Box::new(Plan::lower(value));
    let list = match &list.kind {
        TypedKind::Const(Value::List(items)) => {
            let days: Option<u8> = items.iter().try_fold(0u8, |days, item| match item {
                Value::Weekday(day) => Some(days | 1 << day.num_days_from_monday()),
                _ => None,
            });
            if let Some(days) = days {
                return Plan::WeekdayIn {
                    negated,
                    value: value_plan,
                    days,
                };
            }
            let texts: Option<Box<[Box<str>]>> = items
                .iter()
                .map(|item| match item {
                    Value::Text(t) => Some(t.as_str().into()),
                    _ => None,
                })
                .collect();
            if let Some(set) = texts {
                if let TypedKind::Field(field) = value.kind {
                    return Plan::TextFieldIn {
                        negated,
                        field,
                        span: value.span,
                        set,
                    };
                }
                return Plan::TextIn {
                    negated,
                    value: value_plan,
                    set,
                };
            }
            items.iter().map(constant).collect()
        }
        TypedKind::List(items) => items.iter().map(Plan::lower).collect(),
        _ => vec![Plan::lower(list)],
    };
    Plan::In {
        negated,
        value: value_plan,
        list,
    }
}

/// The field, its span and the text of `field = "text"` (either way round), when the comparison
/// is of a text field with a constant text.
fn text_field_test<'e>(l: &'e TypedExpr, r: &'e TypedExpr) -> Option<(Field, Span, &'e str)> {
    match (&l.kind, &r.kind) {
        (TypedKind::Field(f), TypedKind::Const(Value::Text(t)))
        | (TypedKind::Const(Value::Text(t)), TypedKind::Field(f))
            if l.ty == Type::Text && r.ty == Type::Text =>
        {
            let span = if matches!(l.kind, TypedKind::Field(_)) {
                l.span
            } else {
                r.span
            };
            Some((*f, span, t.as_str()))
        }
        _ => None,
    }
}

/// The operator and tier of `customer.tier OP Tier` (either way round, the operator turned to
/// read with the customer's tier on the left).
fn tier_test(op: CompareOp, l: &TypedExpr, r: &TypedExpr) -> Option<(CompareOp, TierId)> {
    match (&l.kind, &r.kind) {
        (TypedKind::Field(Field::CustomerTier), TypedKind::Const(Value::Tier(t))) => Some((op, *t)),
        (TypedKind::Const(Value::Tier(t)), TypedKind::Field(Field::CustomerTier)) => {
            let turned = match op {
                CompareOp::Lt => CompareOp::Gt,
                CompareOp::Le => CompareOp::Ge,
                CompareOp::Gt => CompareOp::Lt,
                CompareOp::Ge => CompareOp::Le,
                same => same,
            };
            Some((turned, *t))
        }
        _ => None,
    }
}

/// Whether values of `ty` are numbers.
fn is_numeric(ty: &Type) -> bool {
    matches!(
        ty,
        Type::Number | Type::Money | Type::Points | Type::Percent
    )
}

/// `k` when `e` is the constant `10^k` (a whole number, `k` at most [`MAX_SHIFT`]).
fn power_of_ten(e: &TypedExpr) -> Option<u32> {
    let TypedKind::Const(Value::Number(x) | Value::Money(x) | Value::Points(x) | Value::Percent(x)) =
        &e.kind
    else {
        return None;
    };
    let x = x.normalize();
    if x.scale() != 0 {
        return None;
    }
    let mut power = 1i128;
    for k in 0..=MAX_SHIFT {
        if x.mantissa() == power {
            return Some(k);
        }
        power *= 10;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::CompiledExpr;

    /// The plan of the first rule's amount and filter in a one-rule program.
    fn rule_plans(earn: &str) -> (Plan, Option<Plan>) {
        let text = format!(
            "program \"P\" {{ currency RUB  timezone \"Europe/Moscow\" }}\nrule r {{ on purchase  earn {earn} }}\n"
        );
        let program = crate::compile(&puntos_dsl::SourceFile::new("p.pts", text))
            .program
            .unwrap();
        let rule = program.rules.first().unwrap();
        let filter = rule.earn.per_item.clone().flatten();
        (
            rule.earn.amount.plan().clone(),
            filter.as_ref().map(CompiledExpr::plan).cloned(),
        )
    }

    #[test]
    fn dividing_by_a_power_of_ten_is_a_shift() {
        let (amount, _) = rule_plans("floor(item.amount / 100 RUB) points for each item");
        assert!(matches!(amount, Plan::FloorShift(_, 2, _)), "{amount:?}");
        let (amount, _) = rule_plans("ceil(item.amount / 100 RUB) points for each item");
        let Plan::Round(Function::Ceil, inner) = amount else {
            panic!("{amount:?}")
        };
        assert!(matches!(*inner, Plan::Shift(_, 2, _)), "{inner:?}");
        let (amount, _) = rule_plans("floor(item.amount / 30 RUB) points for each item");
        assert!(
            matches!(amount, Plan::Round(_, ref inner) if matches!(**inner, Plan::Arith(BinaryOp::Div, ..))),
            "{amount:?}"
        );
    }

    #[test]
    fn a_weekday_in_a_constant_list_is_a_bit_test() {
        let (_, filter) =
            rule_plans("1 points for each item where transaction.weekday not in [Sat, Sun]");
        assert!(
            matches!(
                filter,
                Some(Plan::WeekdayIn {
                    negated: true,
                    days: 0b110_0000,
                    ..
                })
            ),
            "{filter:?}"
        );
    }

    #[test]
    fn a_text_field_against_constants_is_one_node() {
        let (_, filter) = rule_plans("1 points for each item where \"fresh\" != item.category");
        assert!(
            matches!(filter, Some(Plan::TextFieldIn { negated: true, field: Field::ItemCategory, ref set, .. }) if set.len() == 1),
            "{filter:?}"
        );
        let (_, filter) = rule_plans("1 points for each item where item.category = item.brand");
        assert!(
            matches!(filter, Some(Plan::TextCompare(CompareOp::Eq, ..))),
            "{filter:?}"
        );
    }

    #[test]
    fn a_tier_test_is_one_node_read_from_the_customer_side() {
        let text = "program \"P\" { currency RUB  timezone \"Europe/Moscow\" }\n\
            tier Silver rank 1 {\n qualify when spend(last 12 months) >= 1 RUB\n keep 12 months\n}\n\
            tier Gold rank 2 {\n qualify when spend(last 12 months) >= 2 RUB\n keep 12 months\n}\n\
            rule a { on purchase  when customer.tier >= Gold  earn 1 points }\n\
            rule b { on purchase  when Silver < customer.tier  earn 1 points }\n";
        let compiled = crate::compile(&puntos_dsl::SourceFile::new("p.pts", text));
        let program = compiled.program.expect("the program compiles");
        let conditions: Vec<Plan> = program
            .rules
            .iter()
            .map(|r| r.condition.as_ref().unwrap().plan().clone())
            .collect();
        assert_eq!(
            conditions,
            vec![
                Plan::TierIs(CompareOp::Ge, 1),
                Plan::TierIs(CompareOp::Gt, 0)
            ]
        );
    }

    #[test]
    fn text_in_a_constant_list_is_a_set_lookup_and_comparisons_are_typed() {
        let (_, filter) = rule_plans(
            "1 points for each item where item.category not in [\"a\", \"b\"] and item.quantity > 2",
        );
        let Some(Plan::And(left, right)) = filter else {
            panic!("{filter:?}")
        };
        assert!(
            matches!(*left, Plan::TextFieldIn { negated: true, ref set, .. } if set.len() == 2),
            "{left:?}"
        );
        assert!(
            matches!(*right, Plan::NumCompare(CompareOp::Gt, ..)),
            "{right:?}"
        );
    }
}
