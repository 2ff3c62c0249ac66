//! Warnings: the program compiles, but something is likely not what its author meant.

use super::check::constant_bool;
use crate::program::{Moment, Program, Stacking, TypedExpr, Window};
use puntos_dsl::{Code, Diagnostic, Span};

/// A comparable key for a window bound: dates as whole days, date-times as their local time.
fn key(m: Moment, end: bool) -> chrono::NaiveDateTime {
    match m {
        Moment::Date(d) => {
            let t = if end {
                chrono::NaiveTime::from_hms_opt(23, 59, 59)
            } else {
                chrono::NaiveTime::from_hms_opt(0, 0, 0)
            };
            d.and_time(t.unwrap_or_default())
        }
        Moment::DateTime(t) => t.naive_local(),
    }
}

/// Whether `until` comes before `from` (an empty window).
pub(crate) fn window_is_empty(window: &Window) -> bool {
    match (window.from, window.until) {
        (Some(from), Some(until)) => key(until, true) < key(from, false),
        _ => false,
    }
}

fn windows_overlap(a: &Window, b: &Window) -> bool {
    let starts_before_end = |x: &Window, y: &Window| match (x.from, y.until) {
        (Some(from), Some(until)) => key(from, false) <= key(until, true),
        _ => true,
    };
    starts_before_end(a, b) && starts_before_end(b, a)
}

/// Two exclusive promotions on one event with overlapping windows: only one can apply, which
/// the author may not expect.
pub(crate) fn overlapping_exclusive(program: &Program, diagnostics: &mut Vec<Diagnostic>) {
    let exclusive: Vec<_> = program
        .promotions
        .iter()
        .filter(|p| p.stacking == Stacking::Exclusive)
        .collect();
    for (i, a) in exclusive.iter().enumerate() {
        for b in exclusive.iter().skip(i + 1) {
            if a.accrual.event == b.accrual.event && windows_overlap(&a.valid, &b.valid) {
                let (first, second) = if a.accrual.span.start <= b.accrual.span.start {
                    (a, b)
                } else {
                    (b, a)
                };
                diagnostics.push(
                    Diagnostic::new(
                        Code::OverlappingExclusive,
                        second.accrual.span,
                        format!(
                            "exclusive promotions `{}` and `{}` can fire on the same `{}` transaction",
                            first.accrual.name, second.accrual.name, first.accrual.event
                        ),
                    )
                    .with_label("this one")
                    .with_secondary(first.accrual.span, "and this one")
                    .with_note("when both fire, only the one with the higher priority applies")
                    .with_help("give them windows that do not overlap, or put them in a `stacking best of` group"),
                );
            }
        }
    }
}

/// A segment that no condition or audience reads.
pub(crate) fn unused_segment(name: &str, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::UnusedSegment,
        span,
        format!("segment `{name}` is never used"),
    )
    .with_label("declared here")
    .with_help("use it in a `when` or an `audience`, or remove it")
}

/// Warns when a condition has the same value for every transaction.
pub(crate) fn constant_condition(expr: &TypedExpr, diagnostics: &mut Vec<Diagnostic>) {
    if let Some(value) = constant_bool(expr) {
        diagnostics.push(
            Diagnostic::new(
                Code::ConstantCondition,
                expr.span,
                format!(
                    "this condition is always {}",
                    if value { "true" } else { "false" }
                ),
            )
            .with_label("does not depend on the customer or the transaction")
            .with_help(if value {
                "remove the condition"
            } else {
                "this part of the program can never apply; remove it or fix the condition"
            }),
        );
    }
}
