//! A decision's per-line shares, made when first read rather than while deciding.
//!
//! Every effect that spreads an amount over the basket (points earned, a discount, a
//! redemption's value) records a [`Split`]: the amount, its precision and the weights it goes
//! by. Most callers never read the shares — a till shows totals, the ledger posts lots, a
//! simulation counts points — so the splits (a largest-remainder division per effect) wait in
//! the decision's [`Spread`] and are all made together, once, on the first read of any of them
//! (a refund of the purchase, the decision's JSON). What they make does not depend on when:
//! the same [`allocate_into`] runs on the same figures.

use super::decision::Share;
use super::rounding::allocate_into;
use rust_decimal::Decimal;
use smallvec::SmallVec;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

/// One amount to spread over the lines in proportion to some weights.
#[derive(Debug, Clone)]
pub(crate) struct Split {
    /// The amount, already rounded to `precision`.
    pub total: Decimal,
    /// Where its weights lie in the decision's weights.
    pub weights: Range<usize>,
    /// Decimal places of each share.
    pub precision: u32,
}

/// The splits of one decision and the weights they read; the shares are made on first read.
#[derive(Debug)]
pub(crate) struct Spread {
    /// (line, weight) pairs, every split's one after another (splits may share a range).
    weights: Box<[(usize, Decimal)]>,
    /// A usual decision's splits fit inline.
    splits: SmallVec<[Split; 8]>,
    /// Boxed: most decisions never make their shares, and a smaller spread is cheaper to set
    /// up.
    made: OnceLock<Box<Made>>,
}

/// The shares of every split, one list after another, and where each split's end (a usual
/// decision's ends fit inline, so making the shares allocates one list).
#[derive(Debug)]
struct Made {
    shares: Vec<Share>,
    ends: SmallVec<[usize; 8]>,
}

impl Spread {
    /// The splits `splits` over `weights`, none made yet: made in place in their shared
    /// allocation (the splits copied one by one, not the whole inline list moved twice).
    pub fn shared(weights: &[(usize, Decimal)], splits: &[Split]) -> Arc<Spread> {
        let mut spread = Arc::new(Spread {
            weights: weights.into(),
            splits: SmallVec::new(),
            made: OnceLock::new(),
        });
        if let Some(fresh) = Arc::get_mut(&mut spread) {
            fresh.splits.extend(splits.iter().cloned());
        }
        spread
    }

    /// The shares of split `index`; the first call makes every split's.
    pub fn shares(&self, index: usize) -> &[Share] {
        let made = self.made.get_or_init(|| Box::new(self.make()));
        let start = match index.checked_sub(1) {
            Some(before) => made.ends.get(before).copied().unwrap_or_default(),
            None => 0,
        };
        let end = made.ends.get(index).copied().unwrap_or_default();
        made.shares.get(start..end).unwrap_or_default()
    }

    fn make(&self) -> Made {
        // A split gives at most one share per weight.
        let most = self.splits.iter().map(|s| s.weights.len()).sum();
        let mut shares = Vec::with_capacity(most);
        let ends = self
            .splits
            .iter()
            .map(|split| {
                let weights = self.weights.get(split.weights.clone()).unwrap_or_default();
                allocate_into(split.total, weights, split.precision, &mut shares);
                shares.len()
            })
            .collect();
        Made { shares, ends }
    }
}
