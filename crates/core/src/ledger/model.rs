//! The CRM data the ledger keeps: accounts with their lots, counters, tier, coupons and purchase
//! history; the journal; stored transactions; the outbox of events for the CRM.
//!
//! An account's state is kept whole ([`AccountState`]) and replaced atomically with the journal
//! entries that explain the change, so a store needs no knowledge of the rules.

use crate::eval::fixed::sum;
use crate::eval::{Customer, Decision, HeldCoupon, HeldTier};
use chrono::{DateTime, FixedOffset, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An account and everything the evaluator and the ledger need to know about it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountState {
    /// The account's identifier (the customer's id, or a master account's).
    pub id: String,
    /// The customer's profile.
    pub customer: Customer,
    /// Card numbers and legacy identifiers that lead to this account.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Points lots, oldest first.
    #[serde(default)]
    pub lots: Vec<Lot>,
    /// The tier held.
    #[serde(default)]
    pub tier: Option<HeldTier>,
    /// Purchases and refunds, for history windows: (time, amount; refunds negative), in time
    /// order: the ledger inserts each in its place, and a state read back (JSON or the
    /// store's format) is put in order, so a window is found by binary search.
    #[serde(default, deserialize_with = "history_in_time_order")]
    pub history: Vec<(DateTime<FixedOffset>, Decimal)>,
    /// Points earned per rule or promotion, per period start (`name -> period start -> points`).
    #[serde(default)]
    pub earned: BTreeMap<String, BTreeMap<NaiveDate, Decimal>>,
    /// Uses per promotion or offer per period start, and per coupon (period: none).
    #[serde(default)]
    pub uses: BTreeMap<String, BTreeMap<NaiveDate, u32>>,
    /// Personal coupon codes held.
    #[serde(default)]
    pub coupons: Vec<HeldCoupon>,
    /// The last moment the account was brought up to date (activations and expiries).
    #[serde(default)]
    pub as_of: Option<DateTime<FixedOffset>>,
    /// The loyalty cards issued to the account. Each card's number is also one of its
    /// aliases, so the card finds the account; its status says whether it may still be used.
    #[serde(default)]
    pub cards: Vec<Card>,
}

/// Puts an account's `history` in time order (entries at the same time keep theirs), as the
/// ledger's history windows need; quick on a history already in order.
pub(crate) fn in_time_order(history: &mut [(DateTime<FixedOffset>, Decimal)]) {
    history.sort_by_key(|(at, _)| *at);
}

/// Reads an account's history and puts it in time order (see [`in_time_order`]).
fn history_in_time_order<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<(DateTime<FixedOffset>, Decimal)>, D::Error> {
    let mut history = Vec::deserialize(deserializer)?;
    in_time_order(&mut history);
    Ok(history)
}

/// A loyalty card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Card {
    /// The number printed on it (and scanned at the till).
    pub number: String,
    /// Whether it may be used.
    pub status: CardStatus,
    /// When it was issued, if known.
    #[serde(default)]
    pub issued: Option<NaiveDate>,
}

/// Whether a card may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    /// In use.
    Active,
    /// Blocked by the program (fraud, a closed account): transactions with it are refused.
    Blocked,
    /// Reported lost by the customer: transactions with it are refused; the points stay on the
    /// account, reachable by its other cards and its id.
    Lost,
}

impl CardStatus {
    /// The status as a word.
    pub fn as_str(self) -> &'static str {
        match self {
            CardStatus::Active => "active",
            CardStatus::Blocked => "blocked",
            CardStatus::Lost => "lost",
        }
    }
}

#[cfg(test)]
impl AccountState {
    /// An empty account `id`, reached also by `aliases`: the unit tests' account.
    pub(crate) fn reached_by(id: &str, aliases: &[&str]) -> AccountState {
        AccountState {
            id: id.to_string(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            ..AccountState::default()
        }
    }
}

// Sums of lots are of whole points, so they add as integers (`fixed::sum`: the same value and
// scale as adding the decimals).
impl AccountState {
    /// Points the customer can spend: the remainders of available lots (negative lots, debts
    /// from reversals, included).
    pub fn available(&self) -> Decimal {
        sum(self.lots.iter().filter(|l| !l.pending).map(|l| l.remaining))
    }

    /// Points earned but not yet available.
    pub fn pending(&self) -> Decimal {
        sum(self.lots.iter().filter(|l| l.pending).map(|l| l.remaining))
    }

    /// The balance: the sum of every lot's remainder.
    pub fn balance(&self) -> Decimal {
        sum(self.lots.iter().map(|l| l.remaining))
    }
}

/// A batch of points earned together, spent and expiring together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lot {
    /// Its identifier: the transaction and the effect's position (`T-1#2`).
    pub id: String,
    /// What earned it (`rule base`, `refund of T-1`, `opening balance`...).
    pub source: String,
    /// Points earned.
    pub points: Decimal,
    /// Points left.
    pub remaining: Decimal,
    /// When it was earned.
    #[serde(serialize_with = "crate::instant_json::write")]
    pub earned_at: DateTime<FixedOffset>,
    /// When it becomes spendable.
    #[serde(serialize_with = "crate::instant_json::write_option")]
    pub available_at: Option<DateTime<FixedOffset>>,
    /// When it expires.
    #[serde(serialize_with = "crate::instant_json::write_option")]
    pub expires_at: Option<DateTime<FixedOffset>>,
    /// Points of it that expired.
    #[serde(default)]
    pub expired: Decimal,
    /// Points of it taken back by refunds.
    #[serde(default)]
    pub reversed: Decimal,
    /// Whether it is still pending.
    pub pending: bool,
    /// Whether the customer was told it expires soon.
    #[serde(default)]
    pub expiry_notified: bool,
}

impl Lot {
    /// A lot of `points` available at once and never expiring: a balance carried over, or a
    /// debt (negative points) left by a reversal.
    pub fn settled(id: String, source: String, points: Decimal, at: DateTime<FixedOffset>) -> Lot {
        Lot {
            id,
            source,
            points,
            remaining: points,
            earned_at: at,
            available_at: None,
            expires_at: None,
            expired: Decimal::ZERO,
            reversed: Decimal::ZERO,
            pending: false,
            expiry_notified: false,
        }
    }
}

/// One line of the append-only journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalEntry {
    /// Its position in the journal, from 1.
    pub seq: u64,
    /// The account it concerns.
    pub account: String,
    /// When it takes effect.
    #[serde(serialize_with = "crate::instant_json::write")]
    pub at: DateTime<FixedOffset>,
    /// The transaction that caused it, if any.
    pub transaction: Option<String>,
    /// What happened.
    pub kind: EntryKind,
    /// The lot concerned.
    pub lot: Option<String>,
    /// Points added (positive) or removed (negative).
    pub points: Decimal,
    /// Why, in words (the rule, the lots consumed...).
    pub note: String,
    /// The hash of the previous entry (hex), chaining the journal.
    pub previous: String,
    /// This entry's hash (hex) over `previous` and its content.
    pub hash: String,
}

/// Kinds of journal entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A lot was earned.
    Earn,
    /// A pending lot became available.
    Activate,
    /// Points were spent from a lot.
    Redeem,
    /// A lot's remainder expired.
    Expire,
    /// Earned points were taken back (refund).
    Reverse,
    /// Redeemed points were given back (refund).
    Return,
    /// A correction by an operator.
    Adjust,
    /// A balance carried over from a legacy system.
    Opening,
}

/// A transaction as applied: its payload fingerprint and its decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredTransaction {
    /// The transaction's identifier.
    pub id: String,
    /// The account it was applied to.
    pub account: String,
    /// A hash of the payload, to tell a retry from a conflicting reuse of the id.
    pub fingerprint: String,
    /// The decision made (empty for a refused transaction).
    pub decision: Decision,
    /// Why it was refused, if it was: nothing of it took effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Units of each line refunded so far (for purchases).
    #[serde(default)]
    pub refunded: Vec<crate::eval::RefundedUnits>,
    /// The lots its redemption spent, with the points taken from each, in order.
    #[serde(default)]
    pub consumed: Vec<(String, Decimal)>,
    /// Redeemed points given back by refunds so far.
    #[serde(default)]
    pub returned: Decimal,
    /// When it happened.
    #[serde(serialize_with = "crate::instant_json::write")]
    pub time: DateTime<FixedOffset>,
}

/// An event for the CRM's communications, written with the change that caused it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxEvent {
    /// Its position in the outbox, from 1.
    pub seq: u64,
    /// The account.
    pub account: String,
    /// When.
    #[serde(serialize_with = "crate::instant_json::write")]
    pub at: DateTime<FixedOffset>,
    /// What.
    pub event: Event,
}

/// What the CRM is told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// Points were earned.
    PointsEarned {
        /// How many.
        points: Decimal,
        /// The transaction.
        transaction: String,
    },
    /// Points will expire soon.
    PointsExpiring {
        /// How many.
        points: Decimal,
        /// When.
        #[serde(serialize_with = "crate::instant_json::write")]
        expires_at: DateTime<FixedOffset>,
    },
    /// The tier changed.
    TierChanged {
        /// From.
        from: Option<String>,
        /// To.
        to: Option<String>,
    },
    /// A coupon was issued.
    CouponIssued {
        /// The coupon.
        coupon: String,
        /// The code.
        code: String,
    },
}

/// The value under `key`, made (by default) if the map has none: the key is copied only then.
/// (`None` never happens: the value is found or made.)
pub(crate) fn slot<'m, V: Default>(
    map: &'m mut BTreeMap<String, V>,
    key: &str,
) -> Option<&'m mut V> {
    if map.contains_key(key) {
        map.get_mut(key)
    } else {
        Some(map.entry(key.to_string()).or_default())
    }
}
