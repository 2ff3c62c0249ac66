//! Which clause each declaration takes, duplicates and missing clauses, and the checks of literal
//! values in clauses (durations, counts, points, percentages).

use crate::program::Duration;
use puntos_dsl::ast::{Clause, Expr, ExprKind, Quantity, Unit};
use puntos_dsl::{Code, Diagnostic, Span};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// The clauses each declaration takes, by the keyword that starts them.
pub(crate) const ALLOWED: &[(&str, &[&str])] = &[
    (
        "program",
        &["currency", "timezone", "points", "effective from"],
    ),
    ("tier", &["qualify when", "keep"]),
    (
        "rule",
        &[
            "on",
            "when",
            "earn",
            "pending",
            "expire after",
            "cap",
            "rounding",
        ],
    ),
    (
        "promotion",
        &[
            "on",
            "when",
            "earn",
            "pending",
            "expire after",
            "cap",
            "rounding",
            "valid",
            "audience",
            "budget",
            "limit",
            "priority",
            "stacking",
        ],
    ),
    (
        "coupon",
        &[
            "codes", "issue on", "valid", "audience", "when", "discount", "uses",
        ],
    ),
    (
        "offer",
        &[
            "valid",
            "audience",
            "when",
            "buy",
            "cheapest of",
            "once",
            "limit",
        ],
    ),
    (
        "redemption",
        &["rate", "max", "min balance", "step", "order"],
    ),
    ("points", &["precision", "rounding"]),
];

/// A declaration's clauses after the allowed/duplicate checks, looked up by keyword.
pub(crate) struct ClauseSet<'a> {
    clauses: Vec<&'a Clause>,
}

impl<'a> ClauseSet<'a> {
    /// Validates `clauses` of a `keyword` declaration: each allowed, none twice.
    pub(crate) fn new(
        keyword: &str,
        clauses: &'a [Clause],
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Self {
        let allowed = ALLOWED
            .iter()
            .find(|(k, _)| *k == keyword)
            .map_or(&[][..], |(_, a)| *a);
        let mut kept: Vec<&Clause> = Vec::new();
        for clause in clauses {
            let name = clause.kind.keyword();
            if !allowed.contains(&name) {
                diagnostics.push(not_allowed(keyword, name, clause.span));
                continue;
            }
            if let Some(first) = kept.iter().find(|c| c.kind.keyword() == name) {
                diagnostics.push(
                    Diagnostic::new(
                        Code::DuplicateClause,
                        clause.span,
                        format!("`{name}` is written twice in this {keyword}"),
                    )
                    .with_label("written again here")
                    .with_secondary(first.span, "first written here")
                    .with_help(if name == "when" {
                        "join the conditions with `and` in one `when`"
                    } else {
                        "keep one of them"
                    }),
                );
                continue;
            }
            kept.push(clause);
        }
        ClauseSet { clauses: kept }
    }

    /// The clause starting with `keyword`, if written.
    pub(crate) fn get(&self, keyword: &str) -> Option<&'a Clause> {
        self.clauses
            .iter()
            .copied()
            .find(|c| c.kind.keyword() == keyword)
    }

    /// The clause starting with `keyword`, or a missing-clause error at `at`.
    pub(crate) fn require(
        &self,
        keyword: &str,
        decl_keyword: &str,
        at: Span,
        example: &str,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<&'a Clause> {
        let found = self.get(keyword);
        if found.is_none() {
            diagnostics.push(
                Diagnostic::new(
                    Code::MissingClause,
                    at,
                    format!("this {decl_keyword} has no `{keyword}` clause"),
                )
                .with_label(format!("`{keyword}` missing"))
                .with_help(format!("add a line such as `{example}`")),
            );
        }
        found
    }
}

fn not_allowed(keyword: &str, clause: &str, span: Span) -> Diagnostic {
    let homes: Vec<&str> = ALLOWED
        .iter()
        .filter(|(k, allowed)| *k != "points" && allowed.contains(&clause))
        .map(|(k, _)| *k)
        .collect();
    let mut d = Diagnostic::new(
        Code::ClauseNotAllowed,
        span,
        format!("a {keyword} does not take `{clause}`"),
    )
    .with_label(format!("not allowed in a {keyword}"));
    if clause == "precision" {
        d = d.with_help("write it in the program's `points { ... }` block");
    } else if !homes.is_empty() {
        let homes: Vec<String> = homes.iter().map(|h| format!("{h}s")).collect();
        d = d.with_note(format!("`{clause}` belongs to {}", homes.join(" and ")));
    }
    d
}

/// A positive duration such as `14 days`, or an error naming `what`; `zero_help` says what to
/// write instead of a zero duration.
pub(crate) fn duration(
    q: &Quantity,
    what: &str,
    zero_help: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Duration> {
    let Some(Unit::Duration(unit)) = q.unit else {
        diagnostics.push(
            Diagnostic::new(
                Code::ExpectedDuration,
                q.span,
                format!("{what} must be a duration"),
            )
            .with_label("not a duration")
            .with_help(format!("write `{} days`", q.value)),
        );
        return None;
    };
    if q.value <= Decimal::ZERO {
        diagnostics.push(must_be_positive(q, what, zero_help));
        return None;
    }
    Some(Duration {
        amount: q.value,
        unit,
    })
}

/// A positive amount of points such as `500 points`, or an error naming `what`; `zero_help`
/// says what to write instead of zero points.
pub(crate) fn points(
    q: &Quantity,
    what: &str,
    zero_help: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Decimal> {
    if q.unit != Some(Unit::Points) {
        let mut d = Diagnostic::new(
            Code::ExpectedPoints,
            q.span,
            format!("{what} must be an amount of points"),
        )
        .with_label("not points");
        d = match &q.unit {
            Some(Unit::Currency(_)) => d.with_help(
                "points and money meet only through the redemption rate; give the amount in points",
            ),
            _ => d.with_help(format!("write `{} points`", q.value)),
        };
        diagnostics.push(d);
        return None;
    }
    if q.value <= Decimal::ZERO {
        diagnostics.push(must_be_positive(q, what, zero_help));
        return None;
    }
    Some(q.value)
}

/// A whole number of at least `min`, such as a limit or a rank.
pub(crate) fn count(
    q: &Quantity,
    what: &str,
    min: u32,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<u32> {
    let whole = q.unit.is_none() && q.value.fract().is_zero();
    if let Some(n) = q.value.to_u32().filter(|n| whole && *n >= min) {
        return Some(n);
    }
    let written = written(q);
    let (label, help) = if q.unit.is_some() {
        (
            format!("`{written}` is not a plain number"),
            Some(format!(
                "write `{}`",
                q.value.trunc().max(Decimal::from(min))
            )),
        )
    } else if !q.value.fract().is_zero() {
        (
            format!("`{written}` is not a whole number"),
            Some(format!(
                "write `{}`",
                q.value.round().max(Decimal::from(min))
            )),
        )
    } else if q.value < Decimal::from(min) {
        (format!("`{written}` is too small"), None)
    } else {
        (format!("`{written}` is too large"), None)
    };
    let mut d = Diagnostic::new(
        Code::InvalidCount,
        q.span,
        format!("{what} must be a whole number of at least {min}"),
    )
    .with_label(label);
    if let Some(help) = help {
        d = d.with_help(help);
    }
    diagnostics.push(d);
    None
}

/// A quantity as written canonically, such as `3 days`.
pub(crate) fn written(q: &Quantity) -> String {
    puntos_dsl::format_expr(&Expr {
        kind: ExprKind::Quantity(q.clone()),
        span: q.span,
    })
}

/// A percentage in `(0, 100]`, such as a discount; `over_help` says what to write instead of
/// one above 100%.
pub(crate) fn percent(
    q: &Quantity,
    what: &str,
    over_help: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Decimal> {
    if q.unit != Some(Unit::Percent) {
        diagnostics.push(
            Diagnostic::new(
                Code::ExpectedMoney,
                q.span,
                format!("{what} must be a percentage"),
            )
            .with_label("not a percentage")
            .with_help(format!("write `{}%`", q.value)),
        );
        return None;
    }
    percent_in_range(q.value, q.span, what, over_help, diagnostics)
}

/// Checks that a percentage is in `(0, 100]`; `over_help` is the help above 100%.
pub(crate) fn percent_in_range(
    value: Decimal,
    span: Span,
    what: &str,
    over_help: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Decimal> {
    if value <= Decimal::ZERO || value > Decimal::ONE_HUNDRED {
        let help = if value > Decimal::ONE_HUNDRED {
            over_help.to_string()
        } else {
            "write a percentage above 0%, such as `10%`".to_string()
        };
        diagnostics.push(
            Diagnostic::new(
                Code::PercentOutOfRange,
                span,
                format!("{what} must be more than 0% and at most 100%"),
            )
            .with_label(if value > Decimal::ONE_HUNDRED {
                format!("`{value}%` is more than 100%")
            } else {
                format!("`{value}%` is too small")
            })
            .with_help(help),
        );
        return None;
    }
    Some(value)
}

/// The error for a zero or negative amount where only positive ones make sense, with `help`
/// saying what to write instead.
pub(crate) fn must_be_positive(q: &Quantity, what: &str, help: &str) -> Diagnostic {
    Diagnostic::new(
        Code::MustBePositive,
        q.span,
        format!("{what} must be greater than zero"),
    )
    .with_label(if q.value.is_zero() {
        "zero"
    } else {
        "less than zero"
    })
    .with_help(help)
}
