//! Rounding points and money, and splitting an amount across basket lines so the parts add up
//! to the whole exactly (largest remainder).

use super::decision::Share;
use puntos_dsl::ast::RoundingMode;
use rust_decimal::{Decimal, RoundingStrategy};

/// Rounds `x` to `precision` decimal places the way `mode` says.
pub(crate) fn round(x: Decimal, precision: u32, mode: RoundingMode) -> Decimal {
    let strategy = match mode {
        RoundingMode::Down => RoundingStrategy::ToZero,
        RoundingMode::Up => RoundingStrategy::AwayFromZero,
        RoundingMode::HalfUp => RoundingStrategy::MidpointAwayFromZero,
        RoundingMode::HalfEven => RoundingStrategy::MidpointNearestEven,
    };
    x.round_dp_with_strategy(precision, strategy)
        .normalize_to(precision)
}

/// Helpers on decimals the evaluator needs in several places.
pub(crate) trait Scaled {
    /// The value without trailing zeros but with at least `precision` decimal places
    /// (`15` -> `15.00` at 2), so equal amounts print the same whatever their history.
    fn normalize_to(self, precision: u32) -> Decimal;
}

impl Scaled for Decimal {
    fn normalize_to(self, precision: u32) -> Decimal {
        let mut x = self.normalize();
        if x.scale() < precision {
            x.rescale(precision);
        }
        x
    }
}

/// Splits `total` (already rounded to `precision`) across lines in proportion to `weights`,
/// each part rounded down to `precision` and the leftover units handed to the largest
/// remainders (ties to the earlier line), so the parts add up to `total` exactly. Lines with a
/// zero part are left out. All weights zero: equal parts.
pub(crate) fn allocate(total: Decimal, weights: &[(usize, Decimal)], precision: u32) -> Vec<Share> {
    if total.is_zero() || weights.is_empty() {
        return Vec::new();
    }
    let sum: Decimal = weights.iter().map(|(_, w)| *w).sum();
    let count = Decimal::from(weights.len());
    let mut parts: Vec<(usize, Decimal, Decimal)> = weights
        .iter()
        .map(|&(line, w)| {
            let exact = if sum.is_zero() {
                total / count
            } else {
                total * (w / sum)
            };
            let floor = exact.round_dp_with_strategy(precision, RoundingStrategy::ToZero);
            (line, floor, exact - floor)
        })
        .collect();
    let unit = Decimal::new(1, precision);
    let handed: Decimal = parts.iter().map(|(_, f, _)| *f).sum();
    let mut leftover = total - handed;
    if leftover >= unit {
        let mut order: Vec<usize> = (0..parts.len()).collect();
        order.sort_by(|&a, &b| {
            let ra = parts.get(a).map_or(Decimal::ZERO, |p| p.2);
            let rb = parts.get(b).map_or(Decimal::ZERO, |p| p.2);
            rb.cmp(&ra).then(a.cmp(&b))
        });
        for i in order {
            if leftover < unit {
                break;
            }
            if let Some(p) = parts.get_mut(i) {
                p.1 += unit;
                leftover -= unit;
            }
        }
    }
    parts
        .into_iter()
        .filter(|(_, part, _)| !part.is_zero())
        .map(|(line, part, _)| Share {
            line,
            amount: part.normalize_to(precision),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn modes_round_as_named() {
        let x = Decimal::new(25, 1);
        assert_eq!(round(x, 0, RoundingMode::Down), Decimal::from(2));
        assert_eq!(round(x, 0, RoundingMode::Up), Decimal::from(3));
        assert_eq!(round(x, 0, RoundingMode::HalfUp), Decimal::from(3));
        assert_eq!(round(x, 0, RoundingMode::HalfEven), Decimal::from(2));
        assert_eq!(
            round(Decimal::new(35, 1), 0, RoundingMode::HalfEven),
            Decimal::from(4)
        );
    }

    #[test]
    fn leftover_units_go_to_the_largest_remainders() {
        let shares = allocate(
            Decimal::from(10),
            &[(0, Decimal::ONE), (1, Decimal::ONE), (2, Decimal::ONE)],
            0,
        );
        let amounts: Vec<_> = shares.iter().map(|s| s.amount).collect();
        assert_eq!(
            amounts,
            vec![Decimal::from(4), Decimal::from(3), Decimal::from(3)]
        );
    }

    proptest! {
        #[test]
        fn parts_add_up_to_the_total(
            total in 0u32..100_000,
            weights in proptest::collection::vec(0u32..10_000, 1..20),
            precision in 0u32..3,
        ) {
            let total = Decimal::new(i64::from(total), precision);
            let weights: Vec<_> = weights.iter().enumerate().map(|(i, w)| (i, Decimal::from(*w))).collect();
            let shares = allocate(total, &weights, precision);
            let sum: Decimal = shares.iter().map(|s| s.amount).sum();
            prop_assert_eq!(sum, total);
            prop_assert!(shares.iter().all(|s| s.amount > Decimal::ZERO));
        }
    }
}
