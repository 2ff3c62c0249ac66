//! Program B against program A over the same history, customer by customer: who gains points,
//! who loses, by how much (a histogram and the largest moves each way), and who ends in another
//! tier.

use super::tally::Outcome;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// Buckets a histogram aims for (it has at most twice as many).
const BUCKETS: i64 = 20;

/// One customer's points under A and B.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerDelta {
    /// The account.
    pub account: String,
    /// Points issued under A (earned less taken back).
    pub a: Decimal,
    /// Points issued under B.
    pub b: Decimal,
    /// `b - a`.
    pub delta: Decimal,
}

/// Customers whose delta falls in `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// The lowest delta in the bucket.
    pub from: Decimal,
    /// The first delta above it.
    pub to: Decimal,
    /// How many customers.
    pub customers: u64,
}

/// Customers who end in tier `a` under A and tier `b` under B.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierMove {
    /// The tier under A (`none`).
    pub a: String,
    /// The tier under B (`none`).
    pub b: String,
    /// How many customers.
    pub customers: u64,
}

/// B against A.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comparison {
    /// Customers in either outcome.
    pub customers: u64,
    /// Customers issued more points under B.
    pub gain: u64,
    /// Customers issued fewer points under B.
    pub lose: u64,
    /// Customers issued the same.
    pub same: u64,
    /// Points issued under B less under A.
    pub issued_delta: Decimal,
    /// Outstanding points under B less under A.
    pub outstanding_delta: Decimal,
    /// Liability under B less under A, when both programs value points.
    pub liability_delta: Option<Decimal>,
    /// The deltas' distribution, lowest first (empty when every delta is zero).
    pub histogram: Vec<Bucket>,
    /// The customers who gain most, largest first (ties by account).
    pub top_gainers: Vec<CustomerDelta>,
    /// The customers who lose most, largest loss first (ties by account).
    pub top_losers: Vec<CustomerDelta>,
    /// Where customers end, tier under A against tier under B (the same tier included).
    pub tier_moves: Vec<TierMove>,
}

/// Compares `b` with `a`, keeping the `top` largest moves each way.
pub fn compare(a: &Outcome, b: &Outcome, top: usize) -> Comparison {
    let accounts = super::keys_of_both(&a.customers, &b.customers);
    let mut deltas = Vec::with_capacity(accounts.len());
    let mut moves: BTreeMap<(String, String), u64> = BTreeMap::new();
    for account in accounts {
        let (in_a, in_b) = (a.customers.get(account), b.customers.get(account));
        let issued_a = in_a.map_or(Decimal::ZERO, |c| c.flows.issued());
        let issued_b = in_b.map_or(Decimal::ZERO, |c| c.flows.issued());
        deltas.push(CustomerDelta {
            account: account.to_string(),
            a: issued_a,
            b: issued_b,
            delta: issued_b - issued_a,
        });
        let tier = |c: Option<&super::CustomerOutcome>| {
            c.and_then(|c| c.tier.clone())
                .unwrap_or_else(|| "none".to_string())
        };
        *moves.entry((tier(in_a), tier(in_b))).or_default() += 1;
    }
    let count = |f: fn(&Decimal) -> bool| deltas.iter().filter(|d| f(&d.delta)).count() as u64;
    let gain = count(|d| d.is_sign_positive() && !d.is_zero());
    let lose = count(|d| d.is_sign_negative() && !d.is_zero());
    let histogram = histogram(&deltas);
    let mut by_gain: Vec<&CustomerDelta> =
        deltas.iter().filter(|d| d.delta > Decimal::ZERO).collect();
    by_gain.sort_by(|x, y| {
        y.delta
            .cmp(&x.delta)
            .then_with(|| x.account.cmp(&y.account))
    });
    let mut by_loss: Vec<&CustomerDelta> =
        deltas.iter().filter(|d| d.delta < Decimal::ZERO).collect();
    by_loss.sort_by(|x, y| {
        x.delta
            .cmp(&y.delta)
            .then_with(|| x.account.cmp(&y.account))
    });
    Comparison {
        customers: deltas.len() as u64,
        gain,
        lose,
        same: deltas.len() as u64 - gain - lose,
        issued_delta: b.totals.issued() - a.totals.issued(),
        outstanding_delta: b.totals.outstanding() - a.totals.outstanding(),
        liability_delta: a.liability.zip(b.liability).map(|(a, b)| b - a),
        histogram,
        top_gainers: by_gain.into_iter().take(top).cloned().collect(),
        top_losers: by_loss.into_iter().take(top).cloned().collect(),
        tier_moves: moves
            .into_iter()
            .map(|((a, b), customers)| TierMove { a, b, customers })
            .collect(),
    }
}

/// The deltas in buckets of a round width (1, 2 or 5 times a power of ten, at least one point)
/// chosen so the range spans about [`BUCKETS`] of them; empty when every delta is zero.
fn histogram(deltas: &[CustomerDelta]) -> Vec<Bucket> {
    let (Some(low), Some(high)) = (
        deltas.iter().map(|d| d.delta).min(),
        deltas.iter().map(|d| d.delta).max(),
    ) else {
        return Vec::new();
    };
    if low.is_zero() && high.is_zero() {
        return Vec::new();
    }
    let width = round_width((high - low) / Decimal::from(BUCKETS));
    let start = (low / width).floor() * width;
    let slots = ((high - start) / width).floor();
    let slots = slots.to_usize().unwrap_or(0) + 1;
    let mut counts = vec![0u64; slots];
    for d in deltas {
        let slot = ((d.delta - start) / width).floor();
        if let Some(c) = slot.to_usize().and_then(|i| counts.get_mut(i)) {
            *c += 1;
        }
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, customers)| {
            let from = start + width * Decimal::from(i);
            Bucket {
                from,
                to: from + width,
                customers,
            }
        })
        .collect()
}

/// The smallest of 1, 2, 5, 10, 20, 50... at least `raw`.
fn round_width(raw: Decimal) -> Decimal {
    let mut power = Decimal::ONE;
    loop {
        for step in [1, 2, 5] {
            let width = power * Decimal::from(step);
            if width >= raw {
                return width;
            }
        }
        power *= Decimal::TEN;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::simulate::CustomerOutcome;
    use crate::simulate::Flows;

    fn outcome(customers: &[(&str, i64, Option<&str>)]) -> Outcome {
        let mut o = Outcome::default();
        for (id, earned, tier) in customers {
            let flows = Flows {
                earned: Decimal::from(*earned),
                ..Flows::default()
            };
            o.totals.earned += flows.earned;
            o.customers.insert(
                id.to_string(),
                CustomerOutcome {
                    flows,
                    tier: tier.map(str::to_string),
                },
            );
        }
        o
    }

    #[test]
    fn deltas_tiers_and_the_histogram_are_counted_per_customer() {
        let a = outcome(&[
            ("C1", 100, None),
            ("C2", 50, Some("Gold")),
            ("C3", 10, None),
        ]);
        let b = outcome(&[
            ("C1", 130, Some("Silver")),
            ("C2", 20, Some("Gold")),
            ("C3", 10, None),
        ]);
        let c = compare(&a, &b, 1);
        assert_eq!((c.customers, c.gain, c.lose, c.same), (3, 1, 1, 1));
        assert_eq!(c.issued_delta, Decimal::ZERO);
        assert_eq!(c.top_gainers[0].account, "C1");
        assert_eq!(c.top_gainers[0].delta, Decimal::from(30));
        assert_eq!(c.top_losers.len(), 1);
        assert_eq!(c.top_losers[0].delta, Decimal::from(-30));
        // Deltas -30, 0, 30: width 5 (60 / 20 = 3, rounded up to 5), from -30.
        assert_eq!(c.histogram.first().unwrap().from, Decimal::from(-30));
        assert_eq!(c.histogram.len(), 13);
        assert_eq!(c.histogram.iter().map(|b| b.customers).sum::<u64>(), 3);
        assert_eq!(c.histogram[6].from, Decimal::ZERO);
        assert_eq!(c.histogram[6].customers, 1);
        let moved: Vec<_> = c
            .tier_moves
            .iter()
            .map(|m| (m.a.as_str(), m.b.as_str(), m.customers))
            .collect();
        assert_eq!(
            moved,
            [
                ("Gold", "Gold", 1),
                ("none", "Silver", 1),
                ("none", "none", 1)
            ]
        );
    }

    #[test]
    fn the_same_outcome_compares_equal() {
        let a = outcome(&[("C1", 100, Some("Gold")), ("C2", 7, None)]);
        let c = compare(&a, &a, 10);
        assert_eq!((c.gain, c.lose, c.same), (0, 0, 2));
        assert!(c.histogram.is_empty());
        assert!(c.top_gainers.is_empty() && c.top_losers.is_empty());
    }
}
