//! What one program did over a simulated history, counted from the two records the ledger
//! keeps: each decision (what earned, discounts, coupons, the tier held) and the journal (every
//! point earned, taken back, spent and expired, with its moment and its lot).

use crate::eval::{Decision, Effect};
use crate::ledger::{EntryKind, JournalEntry};
use chrono::{DateTime, Datelike, FixedOffset};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Refusals kept as examples in an [`Outcome`].
const REFUSAL_SAMPLES: usize = 5;

/// Points moved: in a month, for a cohort of lots, for a customer or in all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Flows {
    /// Points earned: every lot the ledger created.
    pub earned: Decimal,
    /// Earned points taken back by refunds.
    pub reversed: Decimal,
    /// Points spent, less those a refund gave back.
    pub redeemed: Decimal,
    /// Points that expired.
    pub expired: Decimal,
}

impl Flows {
    /// Points issued: earned less taken back.
    pub fn issued(&self) -> Decimal {
        self.earned - self.reversed
    }

    /// Points still held (pending included): issued less spent and expired.
    pub fn outstanding(&self) -> Decimal {
        self.issued() - self.redeemed - self.expired
    }

    /// Counts one journal entry. Activations move no points. Opening balances and operators'
    /// adjustments (which a simulation does not make) count as earned when they add points and
    /// as taken back when they remove them, so `outstanding` stays the sum of the lots.
    fn add(&mut self, kind: EntryKind, points: Decimal) {
        match kind {
            EntryKind::Earn => self.earned += points,
            EntryKind::Reverse => self.reversed -= points,
            EntryKind::Redeem | EntryKind::Return => self.redeemed -= points,
            EntryKind::Expire => self.expired -= points,
            EntryKind::Opening | EntryKind::Adjust if points.is_sign_negative() => {
                self.reversed -= points;
            }
            EntryKind::Opening | EntryKind::Adjust => self.earned += points,
            EntryKind::Activate => {}
        }
    }

    /// Adds another's figures.
    fn merge(&mut self, other: &Flows) {
        self.earned += other.earned;
        self.reversed += other.reversed;
        self.redeemed += other.redeemed;
        self.expired += other.expired;
    }
}

/// One customer's account at the end of the replay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CustomerOutcome {
    /// The points the account moved.
    #[serde(flatten)]
    pub flows: Flows,
    /// The tier held at the end, if any.
    pub tier: Option<String>,
}

/// A transaction the ledger refused, as an example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The transaction.
    pub transaction: String,
    /// Why.
    pub reason: String,
}

/// What one program did over the history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The program's name (of its latest version).
    pub program: String,
    /// Transactions decided and recorded.
    pub applied: u64,
    /// Transactions the ledger refused (a redemption above the balance, an unknown account...).
    pub refused: u64,
    /// Examples of refusals (at most five), for a first look at why.
    pub refusals: Vec<Refusal>,
    /// Every point moved.
    pub totals: Flows,
    /// Of the outstanding points, those still pending at the horizon.
    pub pending: Decimal,
    /// The outstanding points' money value at the redemption rate in effect at the horizon;
    /// absent when the program has no redemption.
    pub liability: Option<Decimal>,
    /// Money taken off baskets by offers and coupons.
    pub discounts: Decimal,
    /// Coupons issued, per coupon.
    pub coupons_issued: BTreeMap<String, u64>,
    /// Coupon codes used, per coupon.
    pub coupons_used: BTreeMap<String, u64>,
    /// Points each rule and promotion issued (earned less taken back), by `rule base`-style
    /// name.
    pub by_source: BTreeMap<String, Decimal>,
    /// Points earned by customers of each tier (the tier held when they earned; `none`).
    pub by_tier: BTreeMap<String, Decimal>,
    /// Points moved per calendar month (`2026-03`) of the moment they moved.
    pub by_month: BTreeMap<String, Flows>,
    /// Points per issuance cohort: the lots earned in a month (`2026-03`), and what became of
    /// them since. The triangle a breakage estimate reads.
    pub by_cohort: BTreeMap<String, Flows>,
    /// Per account, by id. Left out of the JSON form, which stays small whatever the
    /// population: `puntos simulate` writes these as a CSV file of one row per customer.
    #[serde(skip)]
    pub customers: BTreeMap<String, CustomerOutcome>,
}

/// `2026-03`: the month of an instant, in its own offset (the program's local time for what the
/// ledger records).
pub(crate) fn month_of(at: DateTime<FixedOffset>) -> String {
    format!("{:04}-{:02}", at.year(), at.month())
}

impl Outcome {
    /// Counts what a decision says beyond points moved: attribution, discounts, coupons.
    /// `tier` is the tier the customer held when it was made.
    pub(crate) fn count_decision(&mut self, decision: &Decision, tier: Option<&str>) {
        self.applied += 1;
        for effect in &decision.effects {
            match effect {
                Effect::Earn { source, points, .. } => {
                    *self.by_source.entry(source.to_string()).or_default() += *points;
                    *self
                        .by_tier
                        .entry(tier.unwrap_or("none").to_string())
                        .or_default() += *points;
                }
                Effect::ReverseEarn { source, points, .. } => {
                    *self.by_source.entry(source.to_string()).or_default() -= *points;
                }
                Effect::Discount { amount, .. } => self.discounts += *amount,
                Effect::IssueCoupon { coupon, .. } => {
                    *self.coupons_issued.entry(coupon.to_string()).or_default() += 1;
                }
                Effect::ConsumeCoupon { coupon, .. } => {
                    *self.coupons_used.entry(coupon.to_string()).or_default() += 1;
                }
                _ => {}
            }
        }
    }

    /// Counts a refused transaction.
    pub(crate) fn count_refusal(&mut self, transaction: &str, reason: String) {
        self.refused += 1;
        if self.refusals.len() < REFUSAL_SAMPLES {
            self.refusals.push(Refusal {
                transaction: transaction.to_string(),
                reason,
            });
        }
    }

    /// Counts journal entries, in journal order: totals, months, cohorts and customers.
    /// `cohorts` remembers each lot's issuance month from its earn entry across calls.
    pub(crate) fn count_entries(
        &mut self,
        entries: &[JournalEntry],
        cohorts: &mut HashMap<String, String>,
    ) {
        for entry in entries {
            let (kind, points) = (entry.kind, entry.points);
            if kind == EntryKind::Activate {
                continue;
            }
            self.totals.add(kind, points);
            let month = month_of(entry.at);
            if let Some(lot) = &entry.lot {
                let cohort = match cohorts.get(lot) {
                    Some(c) => c.clone(),
                    None => {
                        cohorts.insert(lot.clone(), month.clone());
                        month.clone()
                    }
                };
                self.by_cohort.entry(cohort).or_default().add(kind, points);
            }
            self.by_month.entry(month).or_default().add(kind, points);
            self.customers
                .entry(entry.account.clone())
                .or_default()
                .flows
                .add(kind, points);
        }
    }

    /// Adds the outcome of another part of the same history (other customers).
    pub(crate) fn merge(&mut self, other: Outcome) {
        if self.program.is_empty() {
            self.program = other.program;
        }
        self.applied += other.applied;
        self.refused += other.refused;
        let room = REFUSAL_SAMPLES.saturating_sub(self.refusals.len());
        self.refusals.extend(other.refusals.into_iter().take(room));
        self.totals.merge(&other.totals);
        self.pending += other.pending;
        self.liability = match (self.liability, other.liability) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.discounts += other.discounts;
        add_counts(&mut self.coupons_issued, other.coupons_issued);
        add_counts(&mut self.coupons_used, other.coupons_used);
        add_points(&mut self.by_source, other.by_source);
        add_points(&mut self.by_tier, other.by_tier);
        for (month, flows) in other.by_month {
            self.by_month.entry(month).or_default().merge(&flows);
        }
        for (cohort, flows) in other.by_cohort {
            self.by_cohort.entry(cohort).or_default().merge(&flows);
        }
        self.customers.extend(other.customers);
    }
}

fn add_counts(to: &mut BTreeMap<String, u64>, from: BTreeMap<String, u64>) {
    for (k, v) in from {
        *to.entry(k).or_default() += v;
    }
}

fn add_points(to: &mut BTreeMap<String, Decimal>, from: BTreeMap<String, Decimal>) {
    for (k, v) in from {
        *to.entry(k).or_default() += v;
    }
}
