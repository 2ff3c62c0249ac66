//! Paying with points. A request the program does not allow is an error that says which rule
//! refused it (balance, minimum balance, step, maximum share of the basket), so the till can
//! ask again; a redemption is never quietly trimmed.

use super::decision::{Effect, Fact, Source, Step};
use super::engine::Engine;
use super::error::EvalError;
use super::rounding::round;
use super::trace::Tracer;
use crate::types::Type;
use puntos_dsl::ast::RoundingMode;
use rust_decimal::Decimal;

const FIELD: &str = "transaction.redeem";

impl<'a, T: Tracer> Engine<'a, T> {
    /// The most points this transaction could pay with, so a request for them is not
    /// refused: the available points, held to zero below the minimum balance, to the program's
    /// maximum share of the basket and to what is left to pay (each point's value rounded down,
    /// as a payment rounds it), in whole steps at the points' precision. Zero when the program
    /// has no redemption or the transaction is no purchase.
    pub fn redeemable(&mut self) -> Result<Decimal, EvalError> {
        let program = self.program;
        let zero = Decimal::ZERO;
        let Some(rules) = &program.redemption else {
            return Ok(zero);
        };
        let available = self.ctx.account.available;
        let below_minimum = rules.min_balance.is_some_and(|min| available < min);
        if !self.is_purchase() || available <= zero || below_minimum || rules.rate_money.is_zero() {
            return Ok(zero);
        }
        let mut most = available;
        let mut money = self.basket_total - self.coupon_discount;
        if let Some(max) = &rules.max {
            self.enter("redemption", "block");
            let limit = self.number(max, None)?;
            match max.typed().ty {
                Type::Points => most = most.min(limit),
                _ => money = money.min(limit),
            }
        }
        let places = program.points.precision;
        let for_money = round(
            money * rules.rate_points / rules.rate_money,
            places,
            RoundingMode::Down,
        );
        most = most.min(for_money);
        if let Some(step) = rules.step.filter(|s| !s.is_zero()) {
            most = (most / step).floor() * step;
        }
        Ok(round(most, places, RoundingMode::Down).max(zero))
    }

    /// Turns the requested points into a payment, or refuses with the reason.
    pub fn redeem(&mut self) -> Result<(), EvalError> {
        let Some(points) = self.ctx.transaction.redeem.filter(|p| !p.is_zero()) else {
            return Ok(());
        };
        let program = self.program;
        let Some(rules) = &program.redemption else {
            return Err(EvalError::input(
                FIELD,
                format!(
                    "the program `{}` has no redemption block: points cannot be spent",
                    program.name
                ),
            ));
        };
        if !self.is_purchase() {
            return Err(EvalError::input(
                FIELD,
                format!(
                    "points pay for purchases, not for a {}",
                    self.ctx.transaction.kind
                ),
            ));
        }
        let places = program.points.precision;
        if points.normalize().scale() > places {
            return Err(EvalError::input(
                FIELD,
                format!("{points} points: this program counts points with {places} decimal places"),
            ));
        }
        let available = self.ctx.account.available;
        if points > available {
            return Err(EvalError::input(
                FIELD,
                format!(
                    "asks for {points} points but the account has {available} available{}",
                    if self.ctx.account.pending.is_zero() {
                        String::new()
                    } else {
                        format!(" ({} more are pending)", self.ctx.account.pending)
                    }
                ),
            ));
        }
        if let Some(min) = rules.min_balance {
            if available < min {
                return Err(EvalError::input(
                    FIELD,
                    format!(
                        "points can be spent once the balance reaches {min}; it is {available}"
                    ),
                ));
            }
        }
        if let Some(step) = rules.step.filter(|s| !s.is_zero()) {
            if !(points % step).is_zero() {
                let lower = (points / step).floor() * step;
                return Err(EvalError::input(
                    FIELD,
                    format!("points are spent in steps of {step}; {points} is not a multiple (try {lower})"),
                ));
            }
        }
        let precision = self.money_precision();
        let value = round(
            points * rules.rate_money / rules.rate_points,
            precision,
            RoundingMode::Down,
        );
        let currency = &program.currency;
        // The trace's facts; without a trace nothing is written.
        let mut facts = Vec::new();
        if T::ON {
            facts.push(Fact::new("asked", format!("{points} points")));
            facts.push(Fact::new("worth", format!("{value} {currency}")));
        }
        if let Some(max) = &rules.max {
            self.enter("redemption", "block");
            let limit = self.number(max, None)?;
            let in_points = max.typed().ty == Type::Points;
            let unit = if in_points { "points" } else { currency };
            if T::ON {
                facts.push(Fact::new(
                    format!("max {}", self.text(max.span())),
                    format!("{} {unit}", limit.normalize()),
                ));
            }
            let over = if in_points {
                points > limit
            } else {
                value > limit
            };
            if over {
                return Err(EvalError::input(
                    FIELD,
                    format!(
                        "{points} points ({value} {currency}) exceed what may be paid with points on this basket: {} = {} {unit}",
                        self.text(max.span()),
                        limit.normalize()
                    ),
                ));
            }
        }
        let payable = self.basket_total - self.coupon_discount;
        if value > payable {
            return Err(EvalError::input(
                FIELD,
                format!("{points} points are worth {value} {currency}, more than the {payable} {currency} left to pay"),
            ));
        }
        let weights = self.amount_weights();
        let lines = self.split(value, weights, precision);
        if T::ON {
            self.trace.step(Step {
                subject: Source::Redemption,
                applied: true,
                reason: None,
                facts,
                arithmetic: Vec::new(),
            });
        }
        self.effects.push(Effect::Redeem {
            points,
            value,
            lines,
        });
        Ok(())
    }
}
