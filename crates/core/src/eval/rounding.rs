//! Rounding points and money, and splitting an amount across basket lines so the parts add up
//! to the whole exactly (largest remainder).

use super::decision::Share;
use super::fixed::{pow10, unsigned, whole_units};
use puntos_dsl::ast::RoundingMode;
use rust_decimal::{Decimal, RoundingStrategy};

/// Rounds `x` to `precision` decimal places the way `mode` says. The usual cases are inlined,
/// so the result stays in registers rather than being written in parts and read back whole (a
/// stalled load); the rest is out of line.
#[inline(always)]
pub(crate) fn round(x: Decimal, precision: u32, mode: RoundingMode) -> Decimal {
    if x.scale() == precision {
        return x;
    }
    if x.scale() > precision {
        if let Some(rounded) = round_small(x, precision, mode) {
            return rounded;
        }
    }
    round_general(x, precision, mode)
}

/// [`round`] for any decimal.
#[inline(never)]
fn round_general(x: Decimal, precision: u32, mode: RoundingMode) -> Decimal {
    if x.scale() < precision {
        // Already on the grid: only the number of places shown may change.
        let mut y = x;
        y.rescale(precision);
        return y;
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
#[inline(always)]
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
        // Already at the precision (rounded points): trailing zeros removed and put back.
        if self.scale() == precision && !self.is_sign_negative() {
            return self;
        }
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
    let mut shares = Vec::with_capacity(weights.len());
    allocate_into(total, weights, precision, &mut shares);
    shares
}

/// [`allocate`], the shares appended to `out` (a decision's splits write one list after
/// another, see [`spread`](super::spread)).
pub(crate) fn allocate_into(
    total: Decimal,
    weights: &[(usize, Decimal)],
    precision: u32,
    out: &mut Vec<Share>,
) {
    if total.is_zero() || weights.is_empty() {
        return;
    }
    let start = out.len();
    if allocate_units(total, weights, precision, out).is_none() {
        out.truncate(start);
        general(total, weights, precision, out);
    }
}

/// [`allocate`] in decimals, for weights too fine or too large for whole units.
fn general(total: Decimal, weights: &[(usize, Decimal)], precision: u32, out: &mut Vec<Share>) {
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
    out.extend(
        parts
            .into_iter()
            .filter(|(_, part, _)| !part.is_zero())
            .map(|(line, part, _)| Share {
                line,
                amount: part.normalize_to(precision),
            }),
    );
}

/// `x` as a whole number of units of `10^-precision`, if it is on that grid and fits.
fn units(x: Decimal, precision: u32) -> Option<u64> {
    let shift = precision.checked_sub(x.scale())?;
    let power = u64::try_from(pow10(shift)?).ok()?;
    u64::try_from(x.mantissa()).ok()?.checked_mul(power)
}

/// The weights in whole units of their common scale: how each is read, their sum and that
/// scale.
#[derive(Clone, Copy)]
struct Grid {
    sum: u64,
    scale: u32,
    /// Whether some weight has fewer places than `scale` (its mantissa must be widened).
    mixed: bool,
}

impl Grid {
    /// The sum of `weights` in one pass: the mantissas added while every weight has the
    /// first one's scale (the usual case); weights of several scales are summed again at the
    /// largest. `None` when a weight is negative or the sum does not fit in 64 bits at that
    /// scale (the general path then splits).
    fn of(weights: &[(usize, Decimal)]) -> Option<Grid> {
        let scale = weights.first()?.1.scale();
        // At most 2^64 weights of under 2^64 each: the sum cannot overflow 128 bits.
        let mut sum: u128 = 0;
        let mut mixed = false;
        for &(_, w) in weights {
            sum += u128::from(unsigned(w)?);
            mixed |= w.scale() != scale;
        }
        if !mixed {
            let sum = u64::try_from(sum).ok()?;
            return Some(Grid { sum, scale, mixed });
        }
        let scale = weights.iter().map(|(_, w)| w.scale()).max().unwrap_or(0);
        let mut sum: u64 = 0;
        for &(_, w) in weights {
            sum = sum.checked_add(units(w, scale)?)?;
        }
        Some(Grid { sum, scale, mixed })
    }

    /// Weight `w` in whole units (it was read once already, so this succeeds).
    #[inline(always)]
    fn units(self, w: Decimal) -> Option<u64> {
        if self.mixed {
            units(w, self.scale)
        } else {
            unsigned(w)
        }
    }
}

/// Baskets of up to this many lines are split with their remainders on the stack.
const SHORT: usize = 16;

/// [`allocate`] in whole units, exactly, when the total is on the grid and the weights fit in
/// integers at their largest scale (the usual case: rounded points, money); `None` sends the
/// caller to the general path. Each line's part and remainder are computed as integers, the
/// leftover units handed out on those, and only then are the shares written, once each and
/// only the ones above zero.
fn allocate_units(
    total: Decimal,
    weights: &[(usize, Decimal)],
    precision: u32,
    out: &mut Vec<Share>,
) -> Option<()> {
    // Shares are built with this many places, which a decimal must be able to hold.
    if precision > Decimal::MAX_SCALE {
        return None;
    }
    let total = units(total, precision)?;
    // Weights are proportions: any common scale will do (money weights have two places).
    let grid = Grid::of(weights)?;
    if grid.sum == 0 {
        return None;
    }
    out.reserve(weights.len());
    // Weights that already are the parts (a rule's own lines) need no arithmetic; of the
    // precision's scale, each is its own share.
    if grid.scale == precision && grid.sum == total {
        for &(line, w) in weights {
            if !w.is_zero() {
                let amount = if grid.mixed {
                    whole_units(grid.units(w)?, precision)
                } else {
                    w
                };
                out.push(Share { line, amount });
            }
        }
        return Some(());
    }
    let mut short = [Part::default(); SHORT];
    let mut long = Vec::new();
    let parts = match short.get_mut(..weights.len()) {
        Some(parts) => parts,
        None => {
            long.resize(weights.len(), Part::default());
            long.as_mut_slice()
        }
    };
    let mut handed: u64 = 0;
    for (&(_, w), part) in weights.iter().zip(parts.iter_mut()) {
        *part = split(total, grid.units(w)?, grid.sum);
        handed += part.units;
    }
    // The leftover is below the number of lines.
    let leftover = usize::try_from(total.checked_sub(handed)?).ok()?;
    hand_out(leftover, parts);
    for (&(line, _), part) in weights.iter().zip(parts.iter()) {
        if part.units > 0 {
            out.push(Share {
                line,
                amount: whole_units(part.units, precision),
            });
        }
    }
    Some(())
}

/// A line's part of a split in whole units, and the remainder that ranks it for a leftover
/// unit.
#[derive(Clone, Copy, Default)]
struct Part {
    units: u64,
    remainder: u64,
}

/// `total * weight / sum`, rounded down, and its remainder; `weight <= sum`, so both fit.
fn split(total: u64, weight: u64, sum: u64) -> Part {
    let (units, remainder) = match total.checked_mul(weight) {
        Some(product) => (product / sum, product % sum),
        None => {
            let product = u128::from(total) * u128::from(weight);
            let sum = u128::from(sum);
            (
                u64::try_from(product / sum).unwrap_or(u64::MAX),
                u64::try_from(product % sum).unwrap_or(u64::MAX),
            )
        }
    };
    Part { units, remainder }
}

/// One more unit each to the `leftover` parts with the largest remainders, ties to the earlier
/// part. The remainders add up to `leftover` times the weights' sum, each below it, so more
/// than `leftover` of them are positive: a short basket picks the largest one by one, clearing
/// each pick's remainder (so it is not picked again); a long one sorts.
fn hand_out(leftover: usize, parts: &mut [Part]) {
    if leftover == 0 {
        return;
    }
    if parts.len() <= SHORT {
        for _ in 0..leftover {
            let (mut best, mut at) = (0, usize::MAX);
            for (i, part) in parts.iter().enumerate() {
                if part.remainder > best {
                    (best, at) = (part.remainder, i);
                }
            }
            if let Some(part) = parts.get_mut(at) {
                part.remainder = 0;
                part.units += 1;
            }
        }
        return;
    }
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| {
        let remainder = |i: usize| parts.get(i).map_or(0, |p| p.remainder);
        remainder(b).cmp(&remainder(a)).then(a.cmp(&b))
    });
    for &i in order.iter().take(leftover) {
        if let Some(part) = parts.get_mut(i) {
            part.units += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The decimal path alone.
    fn general_path(total: Decimal, weights: &[(usize, Decimal)], precision: u32) -> Vec<Share> {
        let mut out = Vec::new();
        general(total, weights, precision, &mut out);
        out
    }

    /// The whole-unit path alone, when it applies.
    fn units_path(
        total: Decimal,
        weights: &[(usize, Decimal)],
        precision: u32,
    ) -> Option<Vec<Share>> {
        let mut out = Vec::new();
        allocate_units(total, weights, precision, &mut out).map(|()| out)
    }

    /// Lines, mantissas and scales of shares (`Decimal`'s `==` compares values only).
    fn exact(shares: &[Share]) -> Vec<(usize, i128, u32)> {
        shares
            .iter()
            .map(|s| (s.line, s.amount.mantissa(), s.amount.scale()))
            .collect()
    }

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
        /// `normalize_to`'s shortcut (an amount already at the precision is returned as it is)
        /// gives what normalizing and rescaling give: value and scale.
        #[test]
        fn normalize_to_keeps_amounts_at_the_precision(
            mantissa in -1_000_000_000i64..1_000_000_000,
            scale in 0u32..6,
            precision in 0u32..6,
        ) {
            let x = Decimal::new(mantissa, scale);
            let mut slow = x.normalize();
            if slow.scale() < precision {
                slow.rescale(precision);
            }
            let quick = x.normalize_to(precision);
            prop_assert_eq!((quick.mantissa(), quick.scale()), (slow.mantissa(), slow.scale()));
        }

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
            if let Some(fast) = units_path(total, &weights, precision) {
                prop_assert_eq!(exact(&fast), exact(&general_path(total, &weights, precision)));
            }
        }

        /// Weights of mixed scales, zero weights, long baskets (remainders off the stack),
        /// totals that are the weights' own sum, and wide weights (sometimes too wide for whole
        /// units): the same shares, value and scale, as the general path.
        #[test]
        fn the_whole_unit_path_agrees_on_any_weights(
            weights in proptest::collection::vec(
                prop_oneof![
                    12 => (0i64..10_000, 0u32..4),
                    2 => Just((0i64, 0u32)),
                    1 => (0i64..1_000_000_000_000, 0u32..8),
                    1 => (0i64..=i64::MAX, 0u32..30),
                ],
                1..40,
            ),
            total in prop_oneof![0i64..1_000_000, Just(-1i64)],
            precision in 0u32..4,
        ) {
            let weights: Vec<_> = weights
                .iter()
                .enumerate()
                .map(|(i, &(m, s))| (3 * i + 1, Decimal::new(m, s.min(28))))
                .collect();
            // -1: the total is the weights' own sum, rounded to the precision.
            let total = if total < 0 {
                weights.iter().map(|(_, w)| *w).sum::<Decimal>().round_dp_with_strategy(precision, RoundingStrategy::ToZero)
            } else {
                Decimal::new(total, precision)
            };
            if let Some(fast) = units_path(total, &weights, precision) {
                prop_assert_eq!(exact(&fast), exact(&general_path(total, &weights, precision)));
            }
            let shares = allocate(total, &weights, precision);
            let sum: Decimal = shares.iter().map(|s| s.amount).sum();
            prop_assert_eq!(sum, total);
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
