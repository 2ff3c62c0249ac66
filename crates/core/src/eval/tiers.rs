//! Tiers: which one the rules see, and whether this transaction changes it.
//!
//! The tier at the transaction is the better of the tier held (while its `keep` lasts) and the
//! highest tier the history before the transaction qualifies for. After the transaction, with
//! its spend and visit added to the history, a higher qualification upgrades the customer; an
//! expired held tier falls to what the customer qualifies for (and is renewed if they still
//! qualify). A tier without `keep` lasts only while its condition holds.

use super::decision::{Effect, Fact, Source, Step};
use super::engine::Engine;
use super::error::EvalError;
use super::trace::Tracer;
use crate::program::TierId;
use rust_decimal::Decimal;

impl<'a, T: Tracer> Engine<'a, T> {
    /// The held tier, if it still counts on the transaction's date.
    fn held_tier(&self) -> Option<TierId> {
        let held = self.ctx.account.tier.as_ref()?;
        let id = self
            .program
            .tiers
            .iter()
            .position(|t| *t.name == *held.name)?;
        let tier = self.program.tiers.get(id)?;
        let kept = tier.keep.is_some() && held.until.is_none_or(|u| u >= self.now.date());
        kept.then_some(id)
    }

    /// The better of `floor` and the highest tier above it whose `qualify when` holds: the
    /// tier a customer who keeps `floor` ends with. Tiers at or below `floor` are not
    /// evaluated (a top-tier customer costs no condition at all).
    fn qualified_above(&mut self, floor: Option<TierId>) -> Result<Option<TierId>, EvalError> {
        let program = self.program;
        let lowest = floor.map_or(0, |id| id + 1);
        for (id, tier) in program.tiers.iter().enumerate().skip(lowest).rev() {
            self.enter("tier", &tier.name);
            if self.holds(&tier.qualify, None)? {
                return Ok(Some(id));
            }
        }
        Ok(floor)
    }

    /// The tier the rules see as `customer.tier`. The trace explains every tier, each on its
    /// own condition; the tier chosen, and any error, are the same with it and without.
    pub fn tier_at_transaction(&mut self) -> Result<Option<TierId>, EvalError> {
        if self.program.tiers.is_empty() {
            return Ok(None);
        }
        let held = self.held_tier();
        let tier = self.qualified_above(held)?;
        if T::ON {
            self.explain_tiers(held, tier);
        }
        Ok(tier)
    }

    /// Trace steps for every tier, highest first: whether it is the one chosen (`tier`) and
    /// why, with its condition's values.
    fn explain_tiers(&mut self, held: Option<TierId>, tier: Option<TierId>) {
        let program = self.program;
        for (id, t) in program.tiers.iter().enumerate().rev() {
            self.enter("tier", &t.name);
            let mut facts = self.facts(&t.qualify, None);
            if held == Some(id) {
                if let Some(h) = &self.ctx.account.tier {
                    facts.push(Fact::new(
                        "held until",
                        h.until.map_or("open".to_string(), |u| u.to_string()),
                    ));
                }
            }
            let reason = match self.holds(&t.qualify, None) {
                Err(e) => format!("its condition could not be decided: {e}"),
                Ok(qualifies) => match (tier == Some(id), qualifies, held == Some(id)) {
                    (true, false, _) => "held: kept after qualifying",
                    (true, true, _) => "qualifies on the history before this transaction",
                    (false, true, _) | (false, false, true) => "a higher tier applies",
                    (false, false, false) => "does not qualify",
                }
                .to_string(),
            };
            self.trace.step(Step {
                subject: Source::Tier(t.name.clone()),
                applied: tier == Some(id),
                reason: Some(reason),
                facts,
                arithmetic: Vec::new(),
            });
        }
    }

    /// Emits a tier change when the transaction moves the customer up, or a held tier expired.
    pub fn tier_change(&mut self) -> Result<(), EvalError> {
        if self.program.tiers.is_empty() {
            return Ok(());
        }
        let (spend, visits) = match &*self.ctx.transaction.kind {
            "purchase" => (self.transaction_amount(), Decimal::ONE),
            "refund" => (-self.basket_total, Decimal::ZERO),
            _ => (Decimal::ZERO, Decimal::ZERO),
        };
        self.history_delta = Some((spend, visits));
        self.segments.iter_mut().for_each(|s| *s = None);
        let still_held = self.held_tier();
        let after = self.qualified_above(still_held);
        self.history_delta = None;
        let new = after?;
        let program = self.program;
        let held_record = self.ctx.account.tier.as_ref();
        let held_id =
            held_record.and_then(|h| program.tiers.iter().position(|t| *t.name == *h.name));
        let renewed = still_held.is_none() && held_id.is_some() && new == held_id;
        if new == held_id && !renewed {
            return Ok(());
        }
        if new.is_none() && held_id.is_none() {
            return Ok(());
        }
        let tier = new.and_then(|id| program.tiers.get(id));
        let until = match tier.and_then(|t| t.keep) {
            Some(keep) => Some(
                super::calendar::shift_date(self.now.date(), keep, false).ok_or_else(|| {
                    EvalError::input("transaction.time", "the tier's keep date is out of range")
                })?,
            ),
            None => None,
        };
        self.effects.push(Effect::TierChange {
            from: held_record.map(|h| h.name.as_str().into()),
            to: tier.map(|t| t.name.clone()),
            until,
        });
        Ok(())
    }
}
