//! What an evaluation decides: ordered effects for the ledger and the till, coupons refused with
//! their reasons, and, on request, a trace of every rule, promotion, coupon and offer.

use super::spread::Spread;
use crate::program::Name;
use chrono::{DateTime, FixedOffset, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The outcome of one evaluation. Serializes to the same JSON byte for byte for the same input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// The transaction's identifier (shared with the context, not copied).
    pub transaction: Name,
    /// The event (shared with the context, not copied).
    pub kind: Name,
    /// The name of the program version that decided.
    pub program: Name,
    /// The currency of every money amount in the decision.
    pub currency: Name,
    /// The basket as the decision saw it, line by line (what a refund later prorates).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<DecidedLine>,
    /// What happens, in order.
    pub effects: Vec<Effect>,
    /// Coupon codes presented and not honoured, each with its reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused_coupons: Vec<RefusedCoupon>,
    /// Why, step by step; present only when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<Vec<Step>>,
}

impl Decision {
    /// Points earned by this decision (reversals subtracted).
    pub fn points_earned(&self) -> Decimal {
        self.effects
            .iter()
            .map(|e| match e {
                Effect::Earn { points, .. } => *points,
                Effect::ReverseEarn { points, .. } => -*points,
                _ => Decimal::ZERO,
            })
            .sum()
    }

    /// Points spent by this decision (returned redemptions subtracted).
    pub fn points_redeemed(&self) -> Decimal {
        self.effects
            .iter()
            .map(|e| match e {
                Effect::Redeem { points, .. } => *points,
                Effect::ReturnRedeemed { points, .. } => -*points,
                _ => Decimal::ZERO,
            })
            .sum()
    }

    /// Money taken off the basket by offers and coupons.
    pub fn discount_total(&self) -> Decimal {
        self.effects
            .iter()
            .map(|e| match e {
                Effect::Discount { amount, .. } => *amount,
                _ => Decimal::ZERO,
            })
            .sum()
    }
}

/// One basket line as decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecidedLine {
    /// Units bought.
    pub quantity: Decimal,
    /// The line amount after item offers: what rules read as `item.amount`.
    pub amount: Decimal,
}

/// Where an effect or a trace step comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A rule.
    Rule(Name),
    /// A promotion.
    Promotion(Name),
    /// A coupon.
    Coupon(Name),
    /// An item offer.
    Offer(Name),
    /// A tier.
    Tier(Name),
    /// The redemption block.
    Redemption,
    /// The refund of an earlier purchase.
    Refund,
}

impl Source {
    /// The declaration's name (`redemption` and `refund` for those).
    pub fn name(&self) -> &str {
        match self {
            Source::Rule(n)
            | Source::Promotion(n)
            | Source::Coupon(n)
            | Source::Offer(n)
            | Source::Tier(n) => n,
            Source::Redemption => "redemption",
            Source::Refund => "refund",
        }
    }

    /// The declaration's name, for a source that is a declaration (not the redemption block
    /// nor a refund).
    fn declared(&self) -> Option<&str> {
        match self {
            Source::Redemption | Source::Refund => None,
            _ => Some(self.name()),
        }
    }

    /// Its text, as `Display` writes it (`rule base`, `redemption`), made in one allocation:
    /// a ledger writes one for every lot.
    pub fn label(&self) -> String {
        let kind = self.kind();
        let name = self.declared();
        let mut label = String::with_capacity(kind.len() + name.map_or(0, |n| n.len() + 1));
        label.push_str(kind);
        if let Some(name) = name {
            label.push(' ');
            label.push_str(name);
        }
        label
    }

    /// The kind of declaration, as a word.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Rule(_) => "rule",
            Source::Promotion(_) => "promotion",
            Source::Coupon(_) => "coupon",
            Source::Offer(_) => "offer",
            Source::Tier(_) => "tier",
            Source::Redemption => "redemption",
            Source::Refund => "refund",
        }
    }
}

/// `rule base`, `redemption` (see [`Source::label`]).
impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())?;
        if let Some(name) = self.declared() {
            f.write_str(" ")?;
            f.write_str(name)?;
        }
        Ok(())
    }
}

/// A share of an effect carried by one basket line (points or money).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Share {
    /// The line's index in the basket.
    pub line: usize,
    /// Its part of the effect's amount.
    pub amount: Decimal,
}

/// The per-line shares of one effect. A decision records how each effect spreads over the
/// lines and makes every effect's shares together on the first read of any (see
/// [`spread`](super::spread)): deciding a purchase costs no split that nobody reads. Reads as a
/// `[Share]`; serializes as a list, exactly as a vector would.
#[derive(Clone, Default)]
pub struct Shares {
    backing: Backing,
}

/// Where a [`Shares`] reads its list.
#[derive(Clone, Default)]
enum Backing {
    /// No shares.
    #[default]
    None,
    /// Split `index` of the decision being made (see [`attach`](Shares::attach)).
    Pending(usize),
    /// Split `index` of a finished decision's spread.
    Spread(Arc<Spread>, usize),
    /// A list of its own.
    Made(Arc<[Share]>),
}

impl Shares {
    /// Split `index` of the decision being made; reads as none until attached.
    pub(crate) fn pending(index: usize) -> Shares {
        Shares {
            backing: Backing::Pending(index),
        }
    }

    /// Points pending shares at their decision's spread, once the decision is finished.
    pub(crate) fn attach(&mut self, spread: &Arc<Spread>) {
        if let Backing::Pending(index) = self.backing {
            self.backing = Backing::Spread(Arc::clone(spread), index);
        }
    }

    /// The shares, line by line.
    pub fn as_slice(&self) -> &[Share] {
        match &self.backing {
            Backing::None | Backing::Pending(_) => &[],
            Backing::Spread(spread, index) => spread.shares(*index),
            Backing::Made(list) => list,
        }
    }

    /// Whether no line carries a share.
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }
}

impl std::ops::Deref for Shares {
    type Target = [Share];

    fn deref(&self) -> &[Share] {
        self.as_slice()
    }
}

impl<'s> IntoIterator for &'s Shares {
    type Item = &'s Share;
    type IntoIter = std::slice::Iter<'s, Share>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl From<Vec<Share>> for Shares {
    fn from(shares: Vec<Share>) -> Shares {
        let backing = if shares.is_empty() {
            Backing::None
        } else {
            Backing::Made(shares.into())
        };
        Shares { backing }
    }
}

impl PartialEq for Shares {
    fn eq(&self, other: &Shares) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl std::fmt::Debug for Shares {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_slice().fmt(f)
    }
}

impl Serialize for Shares {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_slice().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Shares {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Shares, D::Error> {
        Vec::<Share>::deserialize(deserializer).map(Shares::from)
    }
}

/// One thing the decision does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case", deny_unknown_fields)]
pub enum Effect {
    /// Points earned: one lot for the ledger.
    Earn {
        /// The rule or promotion.
        source: Source,
        /// How many points.
        points: Decimal,
        /// When they become spendable (`pending`); at once when absent.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "crate::instant_json::write_option"
        )]
        available_at: Option<DateTime<FixedOffset>>,
        /// When they expire (`expire after`); never when absent.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "crate::instant_json::write_option"
        )]
        expires_at: Option<DateTime<FixedOffset>>,
        /// The points carried by each basket line, for refunds.
        #[serde(default, skip_serializing_if = "Shares::is_empty")]
        lines: Shares,
    },
    /// Points spent to pay part of the basket.
    Redeem {
        /// How many points.
        points: Decimal,
        /// Their money value.
        value: Decimal,
        /// The value carried by each basket line, for refunds.
        #[serde(default, skip_serializing_if = "Shares::is_empty")]
        lines: Shares,
    },
    /// Money off the basket.
    Discount {
        /// The offer or coupon.
        source: Source,
        /// The coupon code, for a coupon.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
        /// How much.
        amount: Decimal,
        /// The amount taken off each line.
        #[serde(default, skip_serializing_if = "Shares::is_empty")]
        lines: Shares,
    },
    /// A coupon to issue to the customer (the ledger makes the code).
    IssueCoupon {
        /// The coupon.
        coupon: Name,
        /// The last moment it can be used, if limited.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "crate::instant_json::write_option"
        )]
        valid_until: Option<DateTime<FixedOffset>>,
    },
    /// A coupon code used up by this transaction.
    ConsumeCoupon {
        /// The coupon.
        coupon: Name,
        /// The code.
        code: String,
    },
    /// The customer's tier changes.
    TierChange {
        /// The tier held before (none: no tier).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<Name>,
        /// The tier held after (none: no tier).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<Name>,
        /// The last day the new tier is kept, if it is kept.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<NaiveDate>,
    },
    /// Part of a promotion's shared budget spent.
    BudgetConsumed {
        /// The promotion.
        promotion: Name,
        /// How much of the budget (points, or money for a money budget).
        amount: Decimal,
    },
    /// A use counted against a per-customer limit.
    LimitCounted {
        /// The promotion or offer.
        source: Source,
    },
    /// Points taken back because goods were refunded.
    ReverseEarn {
        /// The rule or promotion that earned them.
        source: Source,
        /// How many points.
        points: Decimal,
        /// The purchase that earned them.
        of_transaction: String,
    },
    /// Points given back because goods paid with them were refunded.
    ReturnRedeemed {
        /// How many points.
        points: Decimal,
        /// Their money value.
        value: Decimal,
        /// The purchase that spent them.
        of_transaction: String,
    },
}

impl Effect {
    /// The effect's per-line shares, for the kinds that have them.
    pub(crate) fn shares_mut(&mut self) -> Option<&mut Shares> {
        match self {
            Effect::Earn { lines, .. }
            | Effect::Redeem { lines, .. }
            | Effect::Discount { lines, .. } => Some(lines),
            _ => None,
        }
    }
}

/// A coupon code presented and not honoured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefusedCoupon {
    /// The code as presented.
    pub code: String,
    /// The coupon it belongs to, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon: Option<Name>,
    /// Why, in words a cashier can read out.
    pub reason: String,
}

/// One step of the trace: a declaration that applied or did not, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// What was considered.
    pub subject: Source,
    /// Whether it applied.
    pub applied: bool,
    /// Why it did not apply, or a note on how it applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The values that decided it: each expression as written and its value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<Fact>,
    /// The arithmetic, in order: computed, rounded, capped, granted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arithmetic: Vec<Fact>,
}

/// A named value in the trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fact {
    /// The expression or quantity, as written.
    pub what: String,
    /// Its value.
    pub value: String,
}

impl Fact {
    /// A fact from anything printable.
    pub fn new(what: impl Into<String>, value: impl std::fmt::Display) -> Fact {
        Fact {
            what: what.into(),
            value: value.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(line: usize, amount: i64) -> Share {
        Share {
            line,
            amount: Decimal::from(amount),
        }
    }

    #[test]
    fn a_sources_label_is_its_display_text() {
        let name = || Name::from("base");
        let sources = [
            (Source::Rule(name()), "rule base"),
            (Source::Promotion(name()), "promotion base"),
            (Source::Coupon(name()), "coupon base"),
            (Source::Offer(name()), "offer base"),
            (Source::Tier(name()), "tier base"),
            (Source::Redemption, "redemption"),
            (Source::Refund, "refund"),
        ];
        for (source, text) in sources {
            assert_eq!(source.label(), text);
            assert_eq!(source.to_string(), text);
        }
    }

    #[test]
    fn shares_are_made_on_first_read_and_serialize_as_their_own_list() {
        use crate::eval::spread::{Split, Spread};
        // Two splits: 10 points over weights 1 and 3, and 7 points over the weight 2 of line 1
        // alone.
        let weights = [
            (0, Decimal::ONE),
            (2, Decimal::from(3)),
            (1, Decimal::from(2)),
        ];
        let split = |total: i64, weights| Split {
            total: Decimal::from(total),
            weights,
            precision: 0,
        };
        let splits = [split(10, 0..2), split(7, 2..3)];
        let spread = Spread::shared(&weights, &splits);
        let mut first = Shares::pending(0);
        let mut second = Shares::pending(1);
        assert!(
            first.is_empty(),
            "pending shares read as none until attached"
        );
        first.attach(&spread);
        second.attach(&spread);
        // 10 x 1/4 = 2.5 and 10 x 3/4 = 7.5: the leftover unit to the earlier line.
        assert_eq!(first.as_slice(), &[share(0, 3), share(2, 7)]);
        assert_eq!(second, Shares::from(vec![share(1, 7)]));
        let json = serde_json::to_string(&first).unwrap();
        assert_eq!(
            json,
            serde_json::to_string(&vec![share(0, 3), share(2, 7)]).unwrap()
        );
        let back: Shares = serde_json::from_str(&json).unwrap();
        assert_eq!(back, first);
        // Shares made on their own keep their list when a decision attaches its spread.
        let mut own = Shares::from(vec![share(4, 1)]);
        own.attach(&spread);
        assert_eq!(own.as_slice(), &[share(4, 1)]);
        assert!(Shares::from(Vec::new()).is_empty());
    }
}
