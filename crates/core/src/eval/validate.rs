//! Input checks made before anything is decided, so a bad field is reported by its path and
//! nothing half-decided comes back.

use super::calendar::Now;
use super::context::Parts;
use super::decision::DecidedLine;
use super::error::EvalError;
use super::fixed::{self, pow10};
use super::EvalOptions;
use crate::program::{HistoryMetric, Program};
use crate::schema::{BASKET_EVENTS, BUILTIN_EVENTS};
use rust_decimal::Decimal;

/// The largest money amount accepted on a line (a quadrillion): far above any real basket, and
/// low enough that no sum or product of accepted amounts can overflow.
const MAX_AMOUNT: Decimal = Decimal::from_parts(0xA4C6_8000, 0x3_8D7E, 0, false, 0);
/// The largest quantity accepted on a line.
const MAX_QUANTITY: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

/// Whether `x` is more than `10^digits` — from its mantissa and scale, without the rescaling a
/// decimal comparison needs (this runs for every field of every line).
fn above_power_of_ten(x: Decimal, digits: u32) -> bool {
    let Some(limit) = pow10(digits + x.scale()) else {
        // 10^(digits + scale) exceeds any 96-bit mantissa.
        return false;
    };
    x.mantissa().unsigned_abs() > limit
}

/// At most a quadrillion (`MAX_AMOUNT`).
fn too_large(x: Decimal) -> bool {
    above_power_of_ten(x, 15)
}

/// Checks `ctx` against `program` and the limits; returns each line's quantity and amount.
pub(crate) fn check(
    program: &Program,
    ctx: &Parts<'_>,
    now: &Now,
    options: &EvalOptions,
) -> Result<Vec<DecidedLine>, EvalError> {
    let tx = &ctx.transaction;
    let known =
        BUILTIN_EVENTS.contains(&&*tx.kind) || program.events.iter().any(|e| **e == *tx.kind);
    if !known {
        let mut names: Vec<&str> = BUILTIN_EVENTS.to_vec();
        names.extend(program.events.iter().map(String::as_str));
        return Err(EvalError::input(
            "transaction.kind",
            format!(
                "`{}` is not an event of this program; it knows {}",
                tx.kind,
                names.join(", ")
            ),
        ));
    }
    if let Some(currency) = &tx.currency {
        if !currency.eq_ignore_ascii_case(&program.currency) {
            return Err(EvalError::input(
                "transaction.currency",
                format!(
                    "the transaction is in {currency} but the program `{}` counts in {}; convert the amounts first",
                    program.name, program.currency
                ),
            ));
        }
    }
    if let Some(from) = program.effective_from {
        let before = match from {
            crate::program::Moment::Date(day) => now.date() < day,
            crate::program::Moment::DateTime(start) => tx.time < start,
        };
        if before {
            return Err(EvalError::input(
                "transaction.time",
                format!(
                    "{} is before this version of `{}` takes effect ({}); evaluate it with the version in effect then",
                    tx.time.to_rfc3339(),
                    program.name,
                    moment_text(from)
                ),
            ));
        }
    }
    if let Some(as_of) = ctx.as_of {
        if tx.time > as_of {
            return Err(EvalError::input(
                "transaction.time",
                format!(
                    "{} is after the moment of the decision ({}): check the till's clock",
                    tx.time.to_rfc3339(),
                    as_of.to_rfc3339()
                ),
            ));
        }
    }
    check_refund_shape(ctx)?;
    let amounts = check_lines(ctx, options)?;
    if tx.coupons.len() > options.max_coupons {
        return Err(EvalError::input(
            "transaction.coupons",
            format!(
                "{} coupon codes, more than the limit of {}",
                tx.coupons.len(),
                options.max_coupons
            ),
        ));
    }
    if let Some(points) = tx.redeem {
        if points.is_sign_negative() {
            return Err(EvalError::input(
                "transaction.redeem",
                format!("{points} points: a redemption cannot be negative"),
            ));
        }
    }
    if let Some(amount) = tx.amount {
        if amount.is_sign_negative() || too_large(amount) {
            return Err(EvalError::input(
                "transaction.amount",
                format!("{amount} is not an amount between 0 and {MAX_AMOUNT}"),
            ));
        }
    }
    check_account(program, ctx)?;
    Ok(amounts)
}

fn moment_text(m: crate::program::Moment) -> String {
    match m {
        crate::program::Moment::Date(d) => d.to_string(),
        crate::program::Moment::DateTime(t) => t.to_rfc3339(),
    }
}

fn check_refund_shape(ctx: &Parts<'_>) -> Result<(), EvalError> {
    let tx = &ctx.transaction;
    match (&tx.refund, *tx.kind == *"refund") {
        (None, true) => Err(EvalError::input(
            "transaction.refund",
            "a refund needs the original purchase: give `refund.original`, the purchase's decision",
        )),
        (Some(_), false) => Err(EvalError::input(
            "transaction.refund",
            format!(
                "only a refund refers to an original purchase, not a {}",
                tx.kind
            ),
        )),
        _ => Ok(()),
    }
}

fn check_lines(ctx: &Parts<'_>, options: &EvalOptions) -> Result<Vec<DecidedLine>, EvalError> {
    let tx = &ctx.transaction;
    if tx.lines.len() > options.max_lines {
        return Err(EvalError::input(
            "transaction.lines",
            format!(
                "{} lines, more than the limit of {} lines per basket",
                tx.lines.len(),
                options.max_lines
            ),
        ));
    }
    if !tx.lines.is_empty() && !BASKET_EVENTS.contains(&&*tx.kind) {
        return Err(EvalError::input(
            "transaction.lines",
            format!(
                "a {} carries no basket; only purchases and refunds have lines",
                tx.kind
            ),
        ));
    }
    let original_lines = tx.refund.as_ref().map(|r| r.original.lines.len());
    let mut amounts = Vec::with_capacity(tx.lines.len());
    for (i, line) in tx.lines.iter().enumerate() {
        let at = |field: &str| format!("transaction.lines[{i}].{field}");
        if line.quantity.is_sign_negative()
            || line.quantity.is_zero()
            || above_power_of_ten(line.quantity, 9)
        {
            return Err(EvalError::input(
                at("quantity"),
                format!(
                    "{} units: a quantity must be more than 0 and at most {MAX_QUANTITY} (a return is a refund, not a negative quantity)",
                    line.quantity
                ),
            ));
        }
        if line.unit_price.is_sign_negative() || too_large(line.unit_price) {
            return Err(EvalError::input(
                at("unit_price"),
                format!(
                    "{}: a price must be between 0 and {MAX_AMOUNT} (a discount is an offer or a coupon, not a negative price)",
                    line.unit_price
                ),
            ));
        }
        let amount = match line.amount {
            Some(a) => a,
            None => fixed::mul(line.unit_price, line.quantity)
                .ok_or_else(|| EvalError::input(at("quantity"), "the line amount is too large"))?,
        };
        if amount.is_sign_negative() || too_large(amount) {
            return Err(EvalError::input(
                at("amount"),
                format!("{amount}: a line amount must be between 0 and {MAX_AMOUNT}"),
            ));
        }
        match (line.original_line, original_lines) {
            (None, Some(_)) => {
                return Err(EvalError::input(
                    at("original_line"),
                    "a refunded line must say which line of the original purchase it returns",
                ))
            }
            (Some(_), None) => {
                return Err(EvalError::input(
                    at("original_line"),
                    "only a refund's lines refer to an original line",
                ))
            }
            (Some(n), Some(count)) if n >= count => {
                return Err(EvalError::input(
                    at("original_line"),
                    format!("line {n} does not exist: the original purchase has {count} lines"),
                ))
            }
            _ => {}
        }
        amounts.push(DecidedLine {
            quantity: line.quantity,
            amount,
        });
    }
    Ok(amounts)
}

fn check_account(program: &Program, ctx: &Parts<'_>) -> Result<(), EvalError> {
    let account = &ctx.account;
    for (metric, window) in &program.requirements.windows {
        let (list, field, function) = match metric {
            HistoryMetric::Spend => (&account.spend, "account.spend", "spend"),
            HistoryMetric::Visits => (&account.visits, "account.visits", "visits"),
        };
        if !list.iter().any(|(d, _)| d == window) {
            return Err(EvalError::input(
                field,
                format!(
                    "the program reads {function}(last {window}); give it as \"{window}\": the {} before this transaction",
                    if *metric == HistoryMetric::Spend { "money spent in that window" } else { "purchases in that window" }
                ),
            ));
        }
    }
    let bad = |value: &Decimal| value.is_sign_negative() || too_large(*value);
    let refuse = |field: String, value: &Decimal| {
        EvalError::input(
            field,
            format!("{value}: must be between 0 and {MAX_AMOUNT}"),
        )
    };
    for (field, value) in [
        ("account.available", &account.available),
        ("account.pending", &account.pending),
    ] {
        if bad(value) {
            return Err(refuse(field.to_string(), value));
        }
    }
    for (name, list) in [("spend", &account.spend), ("visits", &account.visits)] {
        if let Some((window, value)) = list.iter().find(|(_, v)| bad(v)) {
            return Err(refuse(format!("account.{name}.{window}"), value));
        }
    }
    for (name, map) in [
        ("earned", &account.earned),
        ("budget_used", &account.budget_used),
    ] {
        if let Some((key, value)) = map.iter().find(|(_, v)| bad(v)) {
            return Err(refuse(format!("account.{name}.{key}"), value));
        }
    }
    if let Some(held) = &account.tier {
        if !program.tiers.iter().any(|t| *t.name == *held.name) {
            let names: Vec<&str> = program.tiers.iter().map(|t| t.name.as_ref()).collect();
            return Err(EvalError::input(
                "account.tier.name",
                format!(
                    "`{}` is not a tier of this program; its tiers are {}",
                    held.name,
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_agree_with_decimal_comparison() {
        for text in [
            "1000000000000000",
            "1000000000000000.01",
            "999999999999999.99",
            "0.5",
            "1e16",
        ] {
            let x = Decimal::from_scientific(text)
                .or_else(|_| text.parse())
                .unwrap();
            assert_eq!(too_large(x), x > MAX_AMOUNT, "{text}");
            assert_eq!(above_power_of_ten(x, 9), x > MAX_QUANTITY, "{text}");
        }
    }
}
