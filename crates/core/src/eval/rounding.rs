//! Rounding points and money, and splitting an amount across basket lines so the parts add up
//! to the whole exactly (largest remainder).

use super::decision::Share;
use super::fixed::pow10;
use puntos_dsl::ast::RoundingMode;
use rust_decimal::{Decimal, RoundingStrategy};

/// Rounds `x` to `precision` decimal places the way `mode` says.
pub(crate) fn round(x: Decimal, precision: u32, mode: RoundingMode) -> Decimal {
    if x.scale() == precision {
        return x;
    }
    if x.scale() < precision {
        // Already on the grid: only the number of places shown may change.
        let mut y = x;
        y.rescale(precision);
        return y;
    }
    if let Some(rounded) = round_small(x, precision, mode) {
        return rounded;
    }
    let strategy = match mode {
        RoundingMode::Down => RoundingStrategy::ToZero,
        RoundingMode::Up => RoundingStrategy::AwayFromZero,
        RoundingMode::HalfUp => RoundingStrategy::MidpointAwayFromZero,
        RoundingMode::HalfEven => RoundingStrategy::MidpointNearestEven,
    };
    x.round_dp_with_strategy(precision, strategy)
        .normalize_to(precision)
}

/// [`round`] in integers, for an amount that is not negative, whose mantissa fits in 64 bits
/// and which has at most 19 places more than `precision`; `None` otherwise. The result has
/// exactly `precision` places, as `round`'s has.
fn round_small(x: Decimal, precision: u32, mode: RoundingMode) -> Option<Decimal> {
    if x.is_sign_negative() {
        return None;
    }
    let mantissa = u64::try_from(x.mantissa()).ok()?;
    let unit = u64::try_from(pow10(x.scale().checked_sub(precision)?)?).ok()?;
    let (quotient, rest) = (mantissa / unit, mantissa % unit);
    // `rest` against the half unit, as `rest` against what is left of the unit after it.
    let other = unit - rest;
    let up = match mode {
        RoundingMode::Down => false,
        RoundingMode::Up => rest > 0,
        RoundingMode::HalfUp => rest >= other,
        RoundingMode::HalfEven => rest > other || (rest == other && quotient % 2 == 1),
    };
    let rounded = quotient + u64::from(up);
    let (lo, mid) = (rounded as u32, (rounded >> 32) as u32);
    Some(Decimal::from_parts(lo, mid, 0, false, precision))
}

/// `x`, or zero if it is negative (a sign test, cheaper than a comparison).
pub(crate) fn non_negative(x: Decimal) -> Decimal {
    if x.is_sign_negative() {
        Decimal::ZERO
    } else {
        x
    }
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
    allocate_units(total, weights, precision).unwrap_or_else(|| general(total, weights, precision))
}

/// [`allocate`] in decimals, for weights too fine or too large for whole units.
fn general(total: Decimal, weights: &[(usize, Decimal)], precision: u32) -> Vec<Share> {
    let sum: Decimal = weights.iter().map(|(_, w)| *w).sum();
    let count = Decimal::from(weights.len());
    let unit = Decimal::new(1, precision);
    // Each part rounded down, with its remainder: exactly `total * w - part * sum` (a numerator
    // over `sum`), so equal remainders compare equal and ties go to the earlier line.
    let mut parts: Vec<(usize, Decimal, Decimal)> = weights
        .iter()
        .map(|&(line, w)| {
            if sum.is_zero() {
                let exact = total / count;
                let floor = exact.round_dp_with_strategy(precision, RoundingStrategy::ToZero);
                return (line, floor, exact - floor);
            }
            let Some(product) = total.checked_mul(w) else {
                let exact = total * (w / sum);
                let floor = exact.round_dp_with_strategy(precision, RoundingStrategy::ToZero);
                return (line, floor, (exact - floor) * sum);
            };
            let mut floor =
                (product / sum).round_dp_with_strategy(precision, RoundingStrategy::ToZero);
            let mut remainder = product - floor * sum;
            if remainder.is_sign_negative() {
                // The quotient was rounded up onto the next unit.
                floor -= unit;
                remainder += unit * sum;
            }
            (line, floor, remainder)
        })
        .collect();
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

/// `x` as a whole number of units of `10^-precision`, if it is on that grid and fits.
fn units(x: Decimal, precision: u32) -> Option<u64> {
    let shift = precision.checked_sub(x.scale())?;
    let power = u64::try_from(pow10(shift)?).ok()?;
    u64::try_from(x.mantissa()).ok()?.checked_mul(power)
}

/// Baskets of up to this many lines are split with scratch space on the stack.
const SHORT: usize = 16;

/// [`allocate`] in whole units, exactly, when the total is on the grid and the weights fit in
/// integers at their largest scale (the usual case: rounded points, money); `None` sends the
/// caller to the general path.
fn allocate_units(
    total: Decimal,
    weights: &[(usize, Decimal)],
    precision: u32,
) -> Option<Vec<Share>> {
    let total = units(total, precision)?;
    // Weights are proportions: any common scale will do (money weights have two places).
    let scale = weights.iter().map(|(_, w)| w.scale()).max().unwrap_or(0);
    // Each part, then its remainder: on the stack for the usual short basket.
    let count = weights.len();
    let mut short = [0u64; 2 * SHORT];
    let mut long = Vec::new();
    let scratch = match short.get_mut(..2 * count) {
        Some(scratch) => scratch,
        None => {
            long.resize(2 * count, 0);
            long.as_mut_slice()
        }
    };
    let (parts, remainders) = scratch.split_at_mut(count);
    let mut sum: u64 = 0;
    for (part, &(_, w)) in parts.iter_mut().zip(weights) {
        *part = units(w, scale)?;
        sum = sum.checked_add(*part)?;
    }
    if sum == 0 {
        return None;
    }
    // Weights that already are the parts (a rule's own lines) need no arithmetic.
    if scale != precision || sum != total {
        let mut handed: u64 = 0;
        for (part, remainder) in parts.iter_mut().zip(remainders.iter_mut()) {
            let (quotient, rest) = split(total, *part, sum);
            *part = quotient;
            *remainder = rest;
            handed += quotient;
        }
        // The leftover is below the number of lines.
        let leftover = usize::try_from(total.checked_sub(handed)?).ok()?;
        hand_out(leftover, parts, remainders);
    }
    let mut shares = Vec::with_capacity(count);
    for (&(line, _), &part) in weights.iter().zip(parts.iter()) {
        if part != 0 {
            shares.push(Share {
                line,
                amount: Decimal::try_from_i128_with_scale(i128::from(part), precision).ok()?,
            });
        }
    }
    Some(shares)
}

/// `total * weight / sum`, rounded down, and its remainder; `weight <= sum`, so both fit.
fn split(total: u64, weight: u64, sum: u64) -> (u64, u64) {
    match total.checked_mul(weight) {
        Some(product) => (product / sum, product % sum),
        None => {
            let product = u128::from(total) * u128::from(weight);
            let sum = u128::from(sum);
            (
                u64::try_from(product / sum).unwrap_or(u64::MAX),
                u64::try_from(product % sum).unwrap_or(u64::MAX),
            )
        }
    }
}

/// One more unit each to the `leftover` parts with the largest remainders, ties to the
/// earlier part. A short basket picks them one by one; a long one sorts.
fn hand_out(leftover: usize, parts: &mut [u64], remainders: &[u64]) {
    if leftover == 0 {
        return;
    }
    if parts.len() <= SHORT {
        let mut taken = [false; SHORT];
        for _ in 0..leftover {
            let mut best: Option<(usize, u64)> = None;
            for (i, (&r, &was_taken)) in remainders.iter().zip(&taken).enumerate() {
                if !was_taken && best.is_none_or(|(_, b)| r > b) {
                    best = Some((i, r));
                }
            }
            let Some((i, _)) = best else { return };
            if let (Some(part), Some(flag)) = (parts.get_mut(i), taken.get_mut(i)) {
                *part += 1;
                *flag = true;
            }
        }
        return;
    }
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| {
        let remainder = |i: usize| remainders.get(i).copied().unwrap_or(0);
        remainder(b).cmp(&remainder(a)).then(a.cmp(&b))
    });
    for &i in order.iter().take(leftover) {
        if let Some(part) = parts.get_mut(i) {
            *part += 1;
        }
    }
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
        fn integer_rounding_is_decimal_rounding(
            mantissa in prop_oneof![0i64..1_000_000, 0i64..=i64::MAX],
            scale in 0u32..=28,
            precision in 0u32..=8,
            mode in prop_oneof![
                Just(RoundingMode::Down),
                Just(RoundingMode::Up),
                Just(RoundingMode::HalfUp),
                Just(RoundingMode::HalfEven),
            ],
        ) {
            let x = Decimal::new(mantissa, scale);
            if let Some(fast) = round_small(x, precision, mode) {
                let strategy = match mode {
                    RoundingMode::Down => RoundingStrategy::ToZero,
                    RoundingMode::Up => RoundingStrategy::AwayFromZero,
                    RoundingMode::HalfUp => RoundingStrategy::MidpointAwayFromZero,
                    RoundingMode::HalfEven => RoundingStrategy::MidpointNearestEven,
                };
                let slow = x.round_dp_with_strategy(precision, strategy).normalize_to(precision);
                prop_assert_eq!((fast.mantissa(), fast.scale()), (slow.mantissa(), slow.scale()));
            }
        }

        #[test]
        fn the_whole_unit_path_agrees_with_the_general_one(
            total in 0u32..100_000,
            weights in proptest::collection::vec(0u32..10_000, 1..20),
            precision in 0u32..3,
        ) {
            let total = Decimal::new(i64::from(total), precision);
            let weights: Vec<_> = weights.iter().enumerate().map(|(i, w)| (i, Decimal::new(i64::from(*w), precision))).collect();
            if let Some(fast) = allocate_units(total, &weights, precision) {
                prop_assert_eq!(fast, general(total, &weights, precision));
            }
        }

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
