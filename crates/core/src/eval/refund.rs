//! Refunds: take back what the original purchase earned, line by line and in proportion to the
//! units returned, and give back the points that paid for them.
//!
//! The caller passes the original decision, so the reversal follows the rules as they were at
//! purchase whatever the program says today. Each original line's points are reversed on the
//! cumulative units returned (rounded up for points taken back, down for points given back), so
//! any sequence of partial refunds adds up to exactly what the purchase earned, and never lets
//! the customer keep a point for goods they returned.

use super::decision::{Effect, Fact, Share, Source, Step};
use super::engine::Engine;
use super::error::EvalError;
use super::rounding::{allocate, round};
use super::trace::Tracer;
use puntos_dsl::ast::RoundingMode;
use rust_decimal::Decimal;

/// Units of one original line: before this refund and in it.
struct Returned {
    line: usize,
    bought: Decimal,
    before: Decimal,
    now: Decimal,
}

impl<'a, T: Tracer> Engine<'a, T> {
    /// Writes the reversals for a refund.
    pub fn reverse_refund(&mut self) -> Result<(), EvalError> {
        let Some(refund) = &self.ctx.transaction.refund else {
            return Ok(());
        };
        let original = &refund.original;
        let mut returned: Vec<Returned> = Vec::new();
        for (i, line) in self.lines().iter().enumerate() {
            let Some(index) = line.original_line else {
                continue;
            };
            let bought = original
                .lines
                .get(index)
                .map_or(Decimal::ZERO, |l| l.quantity);
            let before: Decimal = refund
                .refunded_before
                .iter()
                .filter(|r| r.line == index)
                .map(|r| r.quantity)
                .sum();
            let entry = match returned.iter_mut().position(|r| r.line == index) {
                Some(p) => returned.get_mut(p),
                None => {
                    returned.push(Returned {
                        line: index,
                        bought,
                        before,
                        now: Decimal::ZERO,
                    });
                    returned.last_mut()
                }
            };
            if let Some(r) = entry {
                r.now += line.quantity;
                if r.before + r.now > r.bought {
                    return Err(EvalError::input(
                        format!("transaction.lines[{i}].quantity"),
                        format!(
                            "returns {} units of original line {index}, which had {} ({} returned before)",
                            r.now, r.bought, r.before
                        ),
                    ));
                }
            }
        }
        let points_precision = self.program.points.precision;
        let money_precision = self.money_precision();
        let of = original.transaction.clone();
        let mut arithmetic = Vec::new();
        for effect in &original.effects {
            match effect {
                Effect::Earn { source, lines, .. } => {
                    let back = take(lines, &returned, points_precision, RoundingMode::Up);
                    if back.is_zero() {
                        continue;
                    }
                    if T::ON {
                        arithmetic.push(Fact::new(
                            format!("take back from {source}"),
                            format!("{back} points"),
                        ));
                    }
                    self.effects.push(Effect::ReverseEarn {
                        source: source.clone(),
                        points: back,
                        of_transaction: of.to_string(),
                    });
                }
                Effect::Redeem {
                    points,
                    value,
                    lines,
                } => {
                    let weights: Vec<(usize, Decimal)> =
                        lines.iter().map(|s| (s.line, s.amount)).collect();
                    let point_shares = allocate(*points, &weights, points_precision);
                    let back = take(
                        &point_shares,
                        &returned,
                        points_precision,
                        RoundingMode::Down,
                    );
                    if back.is_zero() {
                        continue;
                    }
                    let money = round(*value * back / *points, money_precision, RoundingMode::Down);
                    if T::ON {
                        arithmetic.push(Fact::new("give back redeemed", format!("{back} points")));
                    }
                    self.effects.push(Effect::ReturnRedeemed {
                        points: back,
                        value: money,
                        of_transaction: of.to_string(),
                    });
                }
                _ => {}
            }
        }
        if T::ON {
            self.trace.step(Step {
                subject: Source::Refund,
                applied: true,
                reason: Some(format!("of transaction {of}")),
                facts: Vec::new(),
                arithmetic,
            });
        }
        Ok(())
    }
}

/// The part of per-line amounts that the returned units carry, on cumulative units.
fn take(shares: &[Share], returned: &[Returned], precision: u32, mode: RoundingMode) -> Decimal {
    let mut total = Decimal::ZERO;
    for r in returned {
        let Some(share) = shares.iter().find(|s| s.line == r.line) else {
            continue;
        };
        if r.bought.is_zero() {
            continue;
        }
        // All units returned carry the whole share, exactly (no division to lose a digit).
        let upto = |units: Decimal| {
            if units >= r.bought {
                share.amount
            } else {
                round(share.amount * units / r.bought, precision, mode).min(share.amount)
            }
        };
        total += upto(r.before + r.now) - upto(r.before);
    }
    total
}
