//! Item offers: buy N get M, the cheapest of N. They set the prices everything else reads.
//!
//! The units of the lines that take part are lined up from the dearest to the cheapest and cut
//! into groups of `buy + get` (or `of`); in each group the cheapest `get` units (or the one
//! cheapest) are rewarded. Offers repeat for every full group unless `once`. Only whole units
//! take part (goods sold by weight do not), and a line takes at most one offer: the first in
//! source order that it takes part in.

use super::calendar;
use super::decision::{Effect, Fact, Share, Source, Step};
use super::engine::Engine;
use super::error::EvalError;
use super::rounding::round;
use super::trace::{why, Tracer};
use crate::program::{Offer, OfferReward, OfferShape};
use puntos_dsl::ast::RoundingMode;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

impl<'a, T: Tracer> Engine<'a, T> {
    /// Applies every item offer, in source order.
    pub fn apply_offers(&mut self) -> Result<(), EvalError> {
        if !self.is_purchase() || self.program.offers.is_empty() {
            return Ok(());
        }
        let program = self.program;
        for offer in &program.offers {
            self.enter("offer", &offer.name);
            if let Err(reason) = self.offer_applies(offer)? {
                if T::ON {
                    self.trace.step(Step {
                        subject: Source::Offer(offer.name.clone()),
                        applied: false,
                        reason: Some(reason.0),
                        facts: reason.1,
                        arithmetic: Vec::new(),
                    });
                }
                continue;
            }
            self.apply_offer(offer)?;
        }
        self.basket_total = super::fixed::sum(self.decided.iter().map(|l| l.amount));
        Ok(())
    }

    /// Whether the offer's window, audience, condition and limit let it run.
    fn offer_applies(
        &mut self,
        offer: &'a Offer,
    ) -> Result<Result<(), (String, Vec<Fact>)>, EvalError> {
        if !calendar::in_window(&offer.valid, &self.now) {
            return Ok(Err((
                why::<T>(|| "outside its validity window".to_string()),
                Vec::new(),
            )));
        }
        if self.outside_audience(&offer.audience)? {
            let reason = why::<T>(|| self.audience_refusal(&offer.audience));
            return Ok(Err((reason, Vec::new())));
        }
        if let Some(condition) = &offer.condition {
            if !self.holds(condition, None)? {
                let facts = if T::ON {
                    self.facts(condition, None)
                } else {
                    Vec::new()
                };
                return Ok(Err((
                    why::<T>(|| format!("`when {}` does not hold", self.text(condition.span()))),
                    facts,
                )));
            }
        }
        if let Some(limit) = offer.limit {
            let used = self
                .ctx
                .account
                .uses
                .get(&*offer.name)
                .copied()
                .unwrap_or(0);
            if used >= limit.count {
                return Ok(Err((
                    why::<T>(|| format!("limit reached: used {used} of {}", limit.count)),
                    Vec::new(),
                )));
            }
        }
        Ok(Ok(()))
    }

    fn apply_offer(&mut self, offer: &'a Offer) -> Result<(), EvalError> {
        let (buy, get) = match offer.shape {
            OfferShape::BuyGet { buy, get } => (u64::from(buy), u64::from(get)),
            OfferShape::CheapestOf { of } => (u64::from(of.saturating_sub(1)), 1),
        };
        let group = buy + get;
        let percent = match offer.reward {
            OfferReward::Free => Decimal::ONE_HUNDRED,
            OfferReward::PercentOff(p) => p,
        };
        // Lines that take part, dearest first.
        let mut taking: Vec<(usize, u64, Decimal)> = Vec::new();
        for i in 0..self.lines().len() {
            if self.offered.get(i).copied().unwrap_or(true) {
                continue;
            }
            let Some(line) = self.lines().get(i) else {
                continue;
            };
            let Some(units) = whole_units(line.quantity) else {
                continue;
            };
            let passes = match &offer.filter {
                Some(f) => self.holds(f, Some(i))?,
                None => true,
            };
            if passes {
                taking.push((i, units, line.unit_price));
            }
        }
        taking.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        let units: u64 = taking.iter().map(|t| t.1).sum();
        let mut groups = units.checked_div(group).unwrap_or(0);
        if offer.once {
            groups = groups.min(1);
        }
        if groups == 0 {
            if T::ON {
                self.trace.step(Step {
                    subject: Source::Offer(offer.name.clone()),
                    applied: false,
                    reason: Some(format!(
                        "needs {group} units that take part; the basket has {units}"
                    )),
                    facts: Vec::new(),
                    arithmetic: Vec::new(),
                });
            }
            return Ok(());
        }
        let rewarded_before = |x: u64| -> u64 {
            let full = (x / group).min(groups);
            let partial = if x / group < groups {
                (x % group).saturating_sub(buy)
            } else {
                0
            };
            full * get + partial
        };
        let precision = self.money_precision();
        let mut position = 0u64;
        let mut shares = Vec::new();
        let mut arithmetic = Vec::new();
        for (line, count, price) in taking {
            let start = position;
            position += count;
            if start < groups * group {
                if let Some(flag) = self.offered.get_mut(line) {
                    *flag = true;
                }
            }
            let rewarded = rewarded_before(position) - rewarded_before(start);
            if rewarded == 0 {
                continue;
            }
            let off = round(
                Decimal::from(rewarded) * price * percent / Decimal::ONE_HUNDRED,
                precision,
                RoundingMode::Down,
            );
            let Some(amount) = self.decided.get_mut(line).map(|l| &mut l.amount) else {
                continue;
            };
            let off = off.min(*amount);
            *amount -= off;
            if T::ON {
                arithmetic.push(Fact::new(
                    format!("line {line}: {rewarded} unit(s) at {percent}% off"),
                    format!("{off} {}", self.program.currency),
                ));
            }
            if !off.is_zero() {
                shares.push(Share { line, amount: off });
            }
        }
        let total: Decimal = shares.iter().map(|s| s.amount).sum();
        if T::ON {
            self.trace.step(Step {
                subject: Source::Offer(offer.name.clone()),
                applied: !total.is_zero(),
                reason: Some(format!("{groups} group(s) of {group} among {units} units")),
                facts: Vec::new(),
                arithmetic,
            });
        }
        if total.is_zero() {
            return Ok(());
        }
        let source = Source::Offer(offer.name.clone());
        self.effects.push(Effect::Discount {
            source: source.clone(),
            code: None,
            amount: total,
            lines: shares.into(),
        });
        if offer.limit.is_some() {
            self.effects.push(Effect::LimitCounted { source });
        }
        Ok(())
    }
}

/// The quantity as a whole number of units, if it is one.
fn whole_units(quantity: Decimal) -> Option<u64> {
    if quantity.fract().is_zero() {
        quantity.to_u64()
    } else {
        None
    }
}
