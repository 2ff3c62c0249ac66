//! What one program did over a simulated history, counted from the two records the ledger
//! keeps: each decision (what earned, discounts, coupons, the tier held) and the journal (every
//! point earned, taken back, spent and expired, with its moment and its lot).

use super::SimulateError;
use crate::eval::{Decision, Effect, Source};
use crate::fast_hash::HashMap;
use crate::ledger::model::slot;
use crate::ledger::{AccountState, EntryKind, JournalEntry};
use chrono::{DateTime, Datelike, FixedOffset};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

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

    /// The sum of `flows`.
    pub fn sum<'a>(flows: impl IntoIterator<Item = &'a Flows>) -> Flows {
        flows.into_iter().fold(Flows::default(), |mut total, f| {
            total.merge(f);
            total
        })
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
    /// When it happened.
    #[serde(serialize_with = "crate::instant_json::write")]
    pub at: DateTime<FixedOffset>,
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
    /// Examples of refusals, for a first look at why: the five earliest (then by transaction
    /// id), whatever order and parts the history was replayed in.
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
    /// them month by month since (index 0: the month they were earned; 1: the month after...).
    /// The triangle a breakage estimate reads.
    pub by_cohort: BTreeMap<String, Vec<Flows>>,
    /// What the outstanding points will become, estimated from the settled cohorts.
    pub forecast: Forecast,
    /// Per account, by id. Left out of the JSON form, which stays small whatever the
    /// population: `puntos simulate` writes these as a CSV file of one row per customer.
    #[serde(skip)]
    pub customers: BTreeMap<String, CustomerOutcome>,
}

/// A cohort is settled when at most this share of its points (1%) is still outstanding.
const SETTLED: Decimal = Decimal::from_parts(1, 0, 0, false, 2);

/// What the outstanding points are expected to become: the breakage rate read from the settled
/// cohorts (those with at most 1% of their points still held), applied to what is held now.
/// Empty when no cohort is settled yet (a history shorter than the points' lifetime): then
/// `by_cohort` is the triangle to read by hand.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Forecast {
    /// Cohorts settled.
    pub settled_cohorts: u64,
    /// Of the points of settled cohorts that left (spent or expired), the share that expired,
    /// to four places.
    pub breakage: Option<Decimal>,
    /// Outstanding points expected to expire unspent.
    pub expected_to_expire: Option<Decimal>,
    /// Outstanding points expected to be spent.
    pub expected_to_be_spent: Option<Decimal>,
    /// Their money value at the redemption rate: the liability less breakage.
    pub expected_liability: Option<Decimal>,
}

/// A month as a number (`year * 12 + month - 1`), so ages are differences.
fn month_index(at: DateTime<FixedOffset>) -> i32 {
    at.year() * 12 + i32::try_from(at.month0()).unwrap_or(0)
}

/// `2026-03` for a month number.
fn month_label(index: i32) -> String {
    format!(
        "{:04}-{:02}",
        index.div_euclid(12),
        index.rem_euclid(12) + 1
    )
}

/// One part's counting while it is replayed, keyed for speed — months as numbers, accounts
/// and lots hashed and taken from the journal entries rather than copied, sources and tiers
/// as the decision names them — and made into an [`Outcome`] at the end ([`Tally::finish`]).
/// A simulation counts several journal entries and a decision per transaction, so the
/// outcome's readable keys (`2026-03`, `rule base`) are written once per key, not per count.
#[derive(Default)]
pub(crate) struct Tally {
    /// What is counted as the outcome keeps it: transactions, refusals, totals, discounts,
    /// coupons.
    outcome: Outcome,
    by_source: HashMap<Source, Decimal>,
    /// By the tier held, `none` without one.
    by_tier: HashMap<String, Decimal>,
    by_month: BTreeMap<i32, Flows>,
    by_cohort: BTreeMap<i32, Vec<Flows>>,
    customers: HashMap<String, Flows>,
    /// Each lot's issuance month, from its earn entry.
    lot_cohorts: HashMap<String, i32>,
}

impl Tally {
    /// An empty count for program `program` (the name its outcome carries).
    pub(crate) fn new(program: String) -> Tally {
        Tally {
            outcome: Outcome {
                program,
                ..Outcome::default()
            },
            ..Tally::default()
        }
    }

    /// Counts what a decision says beyond points moved: attribution, discounts, coupons.
    /// `tier` is the tier the customer held when it was made.
    pub(crate) fn count_decision(&mut self, decision: &Decision, tier: Option<&str>) {
        let outcome = &mut self.outcome;
        outcome.applied += 1;
        for effect in &decision.effects {
            match effect {
                Effect::Earn { source, points, .. } => {
                    *self.by_source.entry(source.clone()).or_default() += *points;
                    let tier = tier.unwrap_or("none");
                    match self.by_tier.get_mut(tier) {
                        Some(total) => *total += *points,
                        None => {
                            self.by_tier.insert(tier.to_string(), *points);
                        }
                    }
                }
                Effect::ReverseEarn { source, points, .. } => {
                    *self.by_source.entry(source.clone()).or_default() -= *points;
                }
                Effect::Discount { amount, .. } => outcome.discounts += *amount,
                Effect::IssueCoupon { coupon, .. } => {
                    if let Some(count) = slot(&mut outcome.coupons_issued, coupon) {
                        *count += 1;
                    }
                }
                Effect::ConsumeCoupon { coupon, .. } => {
                    if let Some(count) = slot(&mut outcome.coupons_used, coupon) {
                        *count += 1;
                    }
                }
                _ => {}
            }
        }
    }

    /// Counts a refused transaction; `reason` is written only if it is kept as an example.
    pub(crate) fn count_refusal(
        &mut self,
        at: DateTime<FixedOffset>,
        transaction: &str,
        reason: impl FnOnce() -> String,
    ) {
        let outcome = &mut self.outcome;
        outcome.refused += 1;
        let later_than_all = outcome.refusals.len() >= REFUSAL_SAMPLES
            && outcome
                .refusals
                .last()
                .is_some_and(|last| (at, transaction) >= (last.at, last.transaction.as_str()));
        if !later_than_all {
            keep_earliest(
                &mut outcome.refusals,
                Refusal {
                    at,
                    transaction: transaction.to_string(),
                    reason: reason(),
                },
            );
        }
    }

    /// Counts journal entries, in journal order: totals, months, cohorts and customers. A
    /// lot's cohort is the month of its earn entry, remembered across calls.
    pub(crate) fn count_entries(&mut self, entries: impl IntoIterator<Item = JournalEntry>) {
        for entry in entries {
            let (kind, points) = (entry.kind, entry.points);
            if kind == EntryKind::Activate {
                continue;
            }
            self.outcome.totals.add(kind, points);
            let month = month_index(entry.at);
            if let Some(lot) = entry.lot {
                let cohort = *self.lot_cohorts.entry(lot).or_insert(month);
                let age = usize::try_from(month - cohort).unwrap_or(0);
                let ages = self.by_cohort.entry(cohort).or_default();
                if ages.len() <= age {
                    ages.resize(age + 1, Flows::default());
                }
                if let Some(flows) = ages.get_mut(age) {
                    flows.add(kind, points);
                }
            }
            self.by_month.entry(month).or_default().add(kind, points);
            self.customers
                .entry(entry.account)
                .or_default()
                .add(kind, points);
        }
    }

    /// The outcome, with every account's end state read: its tier and its pending points. An
    /// account whose lots do not hold what its journal adds up to is an error.
    pub(crate) fn finish<'a>(
        self,
        accounts: impl Iterator<Item = &'a AccountState>,
    ) -> Result<Outcome, SimulateError> {
        let Tally {
            mut outcome,
            by_source,
            by_tier,
            by_month,
            by_cohort,
            mut customers,
            lot_cohorts: _,
        } = self;
        for (source, points) in by_source {
            *outcome.by_source.entry(source.label()).or_default() += points;
        }
        outcome.by_tier = by_tier.into_iter().collect();
        outcome.by_month = by_month
            .into_iter()
            .map(|(month, flows)| (month_label(month), flows))
            .collect();
        outcome.by_cohort = by_cohort
            .into_iter()
            .map(|(month, ages)| (month_label(month), ages))
            .collect();
        for state in accounts {
            let flows = customers.remove(&state.id).unwrap_or_default();
            if flows.outstanding() != state.balance() {
                return Err(SimulateError::Ledger(format!(
                    "account {}: its lots hold {} points but its journal adds up to {}",
                    state.id,
                    state.balance(),
                    flows.outstanding()
                )));
            }
            outcome.pending += state.pending();
            let tier = state.tier.as_ref().map(|t| t.name.clone());
            outcome
                .customers
                .insert(state.id.clone(), CustomerOutcome { flows, tier });
        }
        // Entries of an account the ledger does not hold (none are expected) still count.
        for (id, flows) in customers {
            outcome
                .customers
                .insert(id, CustomerOutcome { flows, tier: None });
        }
        Ok(outcome)
    }
}

impl Outcome {
    /// Adds the outcome of another part of the same history (other customers).
    pub(crate) fn merge(&mut self, other: Outcome) {
        if self.program.is_empty() {
            self.program = other.program;
        }
        self.applied += other.applied;
        self.refused += other.refused;
        for refusal in other.refusals {
            keep_earliest(&mut self.refusals, refusal);
        }
        self.totals.merge(&other.totals);
        self.pending += other.pending;
        self.discounts += other.discounts;
        add_counts(&mut self.coupons_issued, other.coupons_issued);
        add_counts(&mut self.coupons_used, other.coupons_used);
        add_points(&mut self.by_source, other.by_source);
        add_points(&mut self.by_tier, other.by_tier);
        for (month, flows) in other.by_month {
            self.by_month.entry(month).or_default().merge(&flows);
        }
        for (cohort, ages) in other.by_cohort {
            let mine = self.by_cohort.entry(cohort).or_default();
            if mine.len() < ages.len() {
                mine.resize(ages.len(), Flows::default());
            }
            for (total, flows) in mine.iter_mut().zip(&ages) {
                total.merge(flows);
            }
        }
        self.customers.extend(other.customers);
    }

    /// Works out [`Outcome::liability`] and [`Outcome::forecast`] from the totals and the
    /// cohorts, with `point_value` the money value of a point (absent: no liability).
    pub(crate) fn estimate(&mut self, point_value: Option<Decimal>) {
        self.liability = point_value.map(|v| self.totals.outstanding() * v);
        let settled: Vec<Flows> = self
            .by_cohort
            .values()
            .map(Flows::sum)
            .filter(|f| f.issued() > Decimal::ZERO && f.outstanding() <= f.issued() * SETTLED)
            .collect();
        let expired: Decimal = settled.iter().map(|f| f.expired).sum();
        let left = expired + settled.iter().map(|f| f.redeemed).sum::<Decimal>();
        let breakage = (!left.is_zero()).then(|| (expired / left).round_dp(4));
        let held = self.totals.outstanding();
        let expected_to_expire = breakage.map(|b| (held * b).round_dp(0));
        let expected_to_be_spent = expected_to_expire.map(|e| held - e);
        self.forecast = Forecast {
            settled_cohorts: settled.len() as u64,
            breakage,
            expected_to_expire,
            expected_to_be_spent,
            expected_liability: expected_to_be_spent.zip(point_value).map(|(p, v)| p * v),
        };
    }
}

/// Adds `refusal` to `samples` (the earliest refusals, in order, at most
/// [`REFUSAL_SAMPLES`]) if it is among the earliest.
fn keep_earliest(samples: &mut Vec<Refusal>, refusal: Refusal) {
    fn key(r: &Refusal) -> (DateTime<FixedOffset>, &str) {
        (r.at, &r.transaction)
    }
    let place = samples.partition_point(|s| key(s) <= key(&refusal));
    if place < REFUSAL_SAMPLES {
        samples.insert(place, refusal);
        samples.truncate(REFUSAL_SAMPLES);
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
