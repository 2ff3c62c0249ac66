//! Fixed-point fast paths for decimal arithmetic. The evaluator's amounts are small (money at
//! two places, whole points), so their mantissas fit in 64 bits and comparing or adding them is
//! integer arithmetic on the mantissas; anything larger, or of another shape, goes to
//! `rust_decimal`, whose results these equal exactly (value and scale; property tests below).

use rust_decimal::Decimal;
use std::cmp::Ordering;

/// `10^k` for every `k` up to 38, the most a `u128` holds.
// Evaluated at compile time: an index out of range would fail the build, never a run.
#[allow(clippy::indexing_slicing)]
const POWERS: [u128; 39] = {
    let mut powers = [1u128; 39];
    let mut k = 1;
    while k < powers.len() {
        powers[k] = powers[k - 1] * 10;
        k += 1;
    }
    powers
};

/// `10^k`, looked up; `None` when it exceeds a `u128`.
pub(crate) fn pow10(k: u32) -> Option<u128> {
    POWERS.get(usize::try_from(k).ok()?).copied()
}

/// The mantissa of `x` if it fits in 64 bits.
fn small(x: Decimal) -> Option<i64> {
    i64::try_from(x.mantissa()).ok()
}

/// `a` compared with `b`: both mantissas at the larger scale when they fit in 64 bits (the
/// product then fits in 128), else `Decimal`'s own comparison. Inlined: its result stays in a
/// register rather than going through memory.
#[inline(always)]
pub(crate) fn cmp(a: Decimal, b: Decimal) -> Ordering {
    let (sa, sb) = (a.scale(), b.scale());
    if let (Some(ma), Some(mb)) = (small(a), small(b)) {
        // A 64-bit mantissa times at most 10^18 fits in 128 bits.
        let widen = |m: i64, by: u32| {
            let power = i64::try_from(pow10(by)?).ok()?;
            Some(i128::from(m) * i128::from(power))
        };
        let pair = match sa.cmp(&sb) {
            Ordering::Equal => Some((i128::from(ma), i128::from(mb))),
            Ordering::Less => widen(ma, sb - sa).map(|ma| (ma, i128::from(mb))),
            Ordering::Greater => widen(mb, sa - sb).map(|mb| (i128::from(ma), mb)),
        };
        if let Some((x, y)) = pair {
            return x.cmp(&y);
        }
    }
    decimal_cmp(a, b)
}

/// `Decimal`'s own comparison, out of line: the rare case of [`cmp`].
#[inline(never)]
fn decimal_cmp(a: Decimal, b: Decimal) -> Ordering {
    a.cmp(&b)
}

/// `a + b` for amounts that are not negative: the mantissas added when the scales agree and
/// the sum stays within 64 bits (zero plus an amount is the amount), else `Decimal`'s checked
/// addition. `None` on overflow. The quick case is inlined, so a result built from its parts is
/// not written to memory and read back whole (a stalled load); the rest is out of line.
#[inline(always)]
pub(crate) fn add(a: Decimal, b: Decimal) -> Option<Decimal> {
    if !a.is_sign_negative() && !b.is_sign_negative() {
        if a.is_zero() && a.scale() <= b.scale() {
            return Some(b);
        }
        if a.scale() == b.scale() {
            let sum = unsigned(a)
                .zip(unsigned(b))
                .and_then(|(ma, mb)| ma.checked_add(mb));
            if let Some(sum) = sum {
                return Some(whole_units(sum, a.scale()));
            }
        }
    }
    checked_add(a, b)
}

/// `Decimal`'s checked addition, out of line: the rare case of [`add`].
#[inline(never)]
fn checked_add(a: Decimal, b: Decimal) -> Option<Decimal> {
    a.checked_add(b)
}

/// `a * b` for amounts that are not negative: the mantissas multiplied when both fit in 32
/// bits (a price in cents times a quantity; the product then fits in 64) and the scales add up
/// to at most `Decimal::MAX_SCALE`, else `Decimal`'s checked multiplication (a zero product is
/// `Decimal::ZERO`, of scale 0, as there). `None` on overflow. Inlined as [`add`] is.
#[inline(always)]
pub(crate) fn mul(a: Decimal, b: Decimal) -> Option<Decimal> {
    let scale = a.scale() + b.scale();
    if scale <= Decimal::MAX_SCALE {
        let narrow = |x: Decimal| unsigned(x).and_then(|m| u32::try_from(m).ok());
        if let (Some(ma), Some(mb)) = (narrow(a), narrow(b)) {
            let product = u64::from(ma) * u64::from(mb);
            // `rust_decimal` gives a zero product as plain zero, whatever the scales.
            if product == 0 {
                return Some(Decimal::ZERO);
            }
            return Some(whole_units(product, scale));
        }
    }
    checked_mul(a, b)
}

/// `Decimal`'s checked multiplication, out of line: the rare case of [`mul`].
#[inline(never)]
fn checked_mul(a: Decimal, b: Decimal) -> Option<Decimal> {
    a.checked_mul(b)
}

/// The sum of amounts, in order (as `Iterator::sum`, with the fast addition of [`Total`]).
pub(crate) fn sum(xs: impl IntoIterator<Item = Decimal>) -> Decimal {
    let mut total = Total::default();
    for x in xs {
        if total.add(x).is_none() {
            // Beyond any decimal: as `Iterator::sum` does, which reports the overflow.
            return total.value() + x;
        }
    }
    total.value()
}

/// A running sum of amounts, equal to adding them in order with [`add`] (value and scale;
/// property test below). While every amount added is not negative, of one scale, and the total
/// fits in 64 bits (line amounts, points per line), it is kept as whole units of that scale, an
/// integer addition each; from the first amount that breaks this, as a decimal.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) enum Total {
    /// Nothing added yet: zero.
    #[default]
    Empty,
    /// Whole units of `10^-scale`.
    Units(u64, u32),
    /// Any other sum.
    Exact(Decimal),
}

impl Total {
    /// Adds `x`; `None` when the sum overflows a decimal (the total is then unchanged).
    #[inline(always)]
    pub(crate) fn add(&mut self, x: Decimal) -> Option<()> {
        match unsigned(x) {
            Some(units) => self.add_units(units, x.scale()),
            None => self.add_exact(x),
        }
    }

    /// Adds `units * 10^-scale` (`scale` at most `Decimal::MAX_SCALE`), as [`add`](Self::add)
    /// of that decimal does; a caller holding whole units need not build the decimal and read
    /// it back.
    #[inline(always)]
    pub(crate) fn add_units(&mut self, units: u64, scale: u32) -> Option<()> {
        match *self {
            Total::Empty => {
                *self = Total::Units(units, scale);
                return Some(());
            }
            Total::Units(sum, of) if of == scale => {
                if let Some(sum) = sum.checked_add(units) {
                    *self = Total::Units(sum, scale);
                    return Some(());
                }
            }
            _ => {}
        }
        self.add_exact(whole_units(units, scale))
    }

    /// [`add`](Self::add) in decimals.
    fn add_exact(&mut self, x: Decimal) -> Option<()> {
        *self = Total::exact(add(self.value(), x)?);
        Some(())
    }

    /// A decimal sum, as units when it is of the usual shape.
    fn exact(x: Decimal) -> Total {
        match unsigned(x) {
            Some(units) => Total::Units(units, x.scale()),
            None => Total::Exact(x),
        }
    }

    /// The sum.
    pub(crate) fn value(self) -> Decimal {
        match self {
            Total::Empty => Decimal::ZERO,
            Total::Units(units, scale) => whole_units(units, scale),
            Total::Exact(x) => x,
        }
    }
}

/// The mantissa of `x` if `x` is not negative and its mantissa fits in 64 bits.
pub(crate) fn unsigned(x: Decimal) -> Option<u64> {
    if x.is_sign_negative() {
        return None;
    }
    u64::try_from(x.mantissa()).ok()
}

/// `units * 10^-scale` as a decimal of that scale; `scale` is at most `Decimal::MAX_SCALE`
/// (a decimal's own scale, or a precision checked against it).
pub(crate) fn whole_units(units: u64, scale: u32) -> Decimal {
    let (lo, mid) = (units as u32, (units >> 32) as u32);
    Decimal::from_parts(lo, mid, 0, false, scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A decimal of any size: a 96-bit mantissa (often a small one) at any scale.
    fn decimal() -> impl Strategy<Value = Decimal> {
        (
            prop_oneof![
                (-1_000_000i64..1_000_000).prop_map(i128::from),
                any::<i64>().prop_map(i128::from),
                (-(1i128 << 96) + 1..(1i128 << 96)),
            ],
            0u32..=28,
        )
            .prop_map(|(m, s)| Decimal::from_i128_with_scale(m, s))
    }

    /// Value and scale (`Decimal`'s `==` compares values only).
    fn exact(x: Option<Decimal>) -> Option<(i128, u32)> {
        x.map(|x| (x.mantissa(), x.scale()))
    }

    proptest! {
        #[test]
        fn the_fast_comparison_is_the_comparison(a in decimal(), b in decimal()) {
            prop_assert_eq!(cmp(a, b), a.cmp(&b));
        }

        #[test]
        fn a_total_is_the_sum_in_order(xs in proptest::collection::vec(
            prop_oneof![
                3 => (0i64..1_000_000_000, 2u32..=2).prop_map(|(m, s)| Decimal::new(m, s)),
                1 => (0i64..1_000, 0u32..=3).prop_map(|(m, s)| Decimal::new(m, s)),
                1 => decimal(),
            ],
            0..8,
        )) {
            let mut total = Total::default();
            let mut slow = Some(Decimal::ZERO);
            for x in &xs {
                let quick = total.add(*x).map(|()| total.value());
                slow = slow.and_then(|s| s.checked_add(*x));
                prop_assert_eq!(exact(quick), exact(slow));
                if slow.is_none() {
                    break;
                }
            }
        }

        #[test]
        fn adding_units_is_adding_their_decimal(
            start in prop_oneof![Just(None), decimal().prop_map(Some)],
            units in prop_oneof![0u64..1_000_000, any::<u64>()],
            scale in 0u32..=28,
        ) {
            let mut total = Total::default();
            if let Some(x) = start {
                // A start the total cannot hold is no case to compare.
                prop_assume!(total.add(x).is_some());
            }
            let before = start.unwrap_or(Decimal::ZERO);
            let quick = total.add_units(units, scale).map(|()| total.value());
            let slow = before.checked_add(whole_units(units, scale));
            prop_assert_eq!(exact(quick), exact(slow));
        }

        #[test]
        fn the_fast_product_is_the_product(a in decimal(), b in decimal()) {
            prop_assert_eq!(exact(mul(a, b)), exact(a.checked_mul(b)));
            let (a, b) = (a.abs(), b.abs());
            prop_assert_eq!(exact(mul(a, b)), exact(a.checked_mul(b)));
            let (a, b) = (Decimal::new(a.mantissa() as i64 % 100_000, a.scale() % 4), Decimal::new(b.mantissa() as i64 % 1000, b.scale() % 3));
            prop_assert_eq!(exact(mul(a.abs(), b.abs())), exact(a.abs().checked_mul(b.abs())));
        }

        #[test]
        fn the_fast_sum_is_the_sum(a in decimal(), b in decimal()) {
            prop_assert_eq!(exact(add(a, b)), exact(a.checked_add(b)));
            let (a, b) = (a.abs(), b.abs());
            prop_assert_eq!(exact(add(a, b)), exact(a.checked_add(b)));
        }
    }
}
