//! One evaluation, start to finish: the state shared by its stages and the order they run in.
//!
//! Stages, in order: item offers (they set the prices everything else reads), coupons, accrual
//! (rules in dependency order, then promotions by priority, then rounding), redemption, refund
//! reversal, coupon issue, tier change. Each stage appends its effects, so the decision lists
//! them in this order.

use super::calendar::Now;
use super::context::{Line, Parts};
use super::decision::{DecidedLine, Decision, Effect, RefusedCoupon, Shares};
use super::error::EvalError;
use super::fixed;
use super::spread::{Split, Spread};
use super::trace::Tracer;
use super::validate;
use super::EvalOptions;
use crate::program::{Duration, Program, TierId};
use chrono::{DateTime, FixedOffset};
use puntos_dsl::Span;
use rust_decimal::Decimal;
use smallvec::{smallvec, SmallVec};

/// Where an accrual's weights lie in [`Engine::weights`]: how its points spread over the
/// lines.
pub(crate) type Weights = std::ops::Range<usize>;

/// Weights held in the engine itself before the arena moves to the heap: enough for the
/// accruals of a usual basket, so most decisions allocate no scratch for them.
const WEIGHTS_INLINE: usize = 32;

/// The room first made for a decision's effects: enough for most decisions, and a block small
/// enough (under a kilobyte) for the allocator's per-thread cache, which serves it several
/// times faster than a larger block; a decision with more effects grows the list.
const EFFECTS_FIRST: usize = 8;

/// The evaluation in progress.
pub(crate) struct Engine<'a, T: Tracer> {
    pub program: &'a Program,
    pub ctx: Parts<'a>,
    pub now: Now,
    /// The tier the rules see: held at the transaction's time, before it counts.
    pub tier: Option<TierId>,
    /// Each line's quantity and amount after item offers (`item.amount`): the decision's lines.
    pub decided: Vec<DecidedLine>,
    /// Whether each line already took part in an offer (empty when the program has none).
    pub offered: Vec<bool>,
    /// `basket.total`: the sum of the line amounts.
    pub basket_total: Decimal,
    /// Money taken off by coupons so far.
    pub coupon_discount: Decimal,
    /// Segment membership, computed on first use.
    pub segments: SmallVec<[Option<bool>; 8]>,
    /// The points each rule earned, for `N% of rule`.
    pub rule_points: SmallVec<[Decimal; 16]>,
    /// Every accrual's weights, (line, weight), one after another: one arena for all.
    pub weights: SmallVec<[(usize, Decimal); WEIGHTS_INLINE]>,
    /// How each effect spreads over the lines, in the order recorded: made into shares only
    /// when the decision's shares are first read (see [`spread`](super::spread)).
    pub splits: SmallVec<[Split; 8]>,
    /// How each rule's points spread over the lines, for the rules that read it.
    pub rule_weights: SmallVec<[Weights; 16]>,
    /// While deciding the tier after the transaction: this transaction's spend and visits,
    /// added to the history windows.
    pub history_delta: Option<(Decimal, Decimal)>,
    /// Moments a duration after the transaction, computed so far (pending and expiry: a
    /// usual program has one or two, which fit inline).
    pub moments: SmallVec<[(Duration, DateTime<FixedOffset>); 2]>,
    /// The declaration being evaluated, for error messages.
    pub at: (&'static str, &'a str),
    pub effects: Vec<Effect>,
    pub refused: Vec<RefusedCoupon>,
    pub trace: T,
}

impl<'a, T: Tracer> Engine<'a, T> {
    /// Checks `ctx` against `program` and the limits: the moment of the transaction and the
    /// decided lines, which an engine starts from.
    fn check(
        program: &Program,
        ctx: &Parts<'_>,
        options: &EvalOptions,
    ) -> Result<(Now, Vec<DecidedLine>), EvalError> {
        let (tz, time) = (program.timezone, ctx.transaction.time);
        let now = ctx
            .now
            .filter(|now| now.reads(tz, time))
            .unwrap_or_else(|| Now::new(tz, time));
        let decided = validate::check(program, ctx, &now, options)?;
        Ok((now, decided))
    }

    /// The engine for a checked `ctx`, at the start of its stages. Infallible and inlined, so
    /// the engine (a few kilobytes of inline scratch) is built where it lives rather than
    /// built, wrapped in a `Result` and copied out.
    #[inline(always)]
    fn start(
        program: &'a Program,
        ctx: Parts<'a>,
        (now, decided): (Now, Vec<DecidedLine>),
        trace: T,
    ) -> Self {
        let basket_total = fixed::sum(decided.iter().map(|l| l.amount));
        Engine {
            program,
            ctx,
            now,
            tier: None,
            offered: if program.offers.is_empty() {
                Vec::new()
            } else {
                vec![false; decided.len()]
            },
            weights: SmallVec::new(),
            splits: SmallVec::new(),
            decided,
            basket_total,
            coupon_discount: Decimal::ZERO,
            segments: smallvec![None; program.segments.len()],
            rule_points: smallvec![Decimal::ZERO; program.rules.len()],
            rule_weights: smallvec![0..0; program.rules.len()],
            history_delta: None,
            moments: SmallVec::new(),
            at: ("program", &program.name),
            effects: Vec::with_capacity(EFFECTS_FIRST),
            refused: Vec::new(),
            trace,
        }
    }

    /// The most points the transaction could pay with (see
    /// [`redeemable`](super::redemption)): the stages before redemption run, then the bound
    /// is read.
    pub fn redeemable_points(
        program: &'a Program,
        ctx: Parts<'a>,
        options: &EvalOptions,
        trace: T,
    ) -> Result<Decimal, EvalError> {
        let checked = Self::check(program, &ctx, options)?;
        let mut engine = Engine::start(program, ctx, checked, trace);
        engine.tier = engine.tier_at_transaction()?;
        engine.apply_offers()?;
        engine.apply_coupons()?;
        engine.redeemable()
    }

    /// Runs every stage.
    pub fn run(
        program: &'a Program,
        ctx: Parts<'a>,
        options: &EvalOptions,
        trace: T,
    ) -> Result<Decision, EvalError> {
        let checked = Self::check(program, &ctx, options)?;
        let mut engine = Engine::start(program, ctx, checked, trace);
        engine.tier = engine.tier_at_transaction()?;
        engine.apply_offers()?;
        engine.apply_coupons()?;
        engine.accrue()?;
        engine.redeem()?;
        engine.reverse_refund()?;
        engine.issue_coupons()?;
        engine.tier_change()?;
        let mut effects = engine.effects;
        if !engine.splits.is_empty() {
            let spread = Spread::shared(&engine.weights, &engine.splits);
            effects
                .iter_mut()
                .filter_map(Effect::shares_mut)
                .for_each(|shares| shares.attach(&spread));
        }
        Ok(Decision {
            transaction: ctx.transaction.id.clone(),
            kind: ctx.transaction.kind.clone(),
            program: program.name.clone(),
            currency: program.currency.clone(),
            lines: engine.decided,
            effects,
            refused_coupons: engine.refused,
            trace: engine.trace.finish(),
        })
    }

    /// The basket lines.
    pub fn lines(&self) -> &'a [Line] {
        &self.ctx.transaction.lines
    }

    /// Whether the transaction is a purchase (offers, coupons and redemption need one).
    pub fn is_purchase(&self) -> bool {
        *self.ctx.transaction.kind == *"purchase"
    }

    /// Whether an accrual on `event` listens to this transaction. Most listen to purchases:
    /// against the constant the comparison is a couple of instructions, not a call.
    #[inline(always)]
    pub fn listens(&self, event: &str) -> bool {
        if self.is_purchase() {
            event == "purchase"
        } else {
            *event == *self.ctx.transaction.kind
        }
    }

    /// `transaction.amount`: as given, or the basket total after offers.
    pub fn transaction_amount(&self) -> Decimal {
        self.ctx.transaction.amount.unwrap_or(self.basket_total)
    }

    /// Sets the declaration named in errors.
    pub fn enter(&mut self, kind: &'static str, name: &'a str) {
        self.at = (kind, name);
    }

    /// A computation error at `span` in the current declaration.
    pub fn computation(&self, span: Span, message: impl Into<String>) -> EvalError {
        EvalError::Computation {
            declaration: format!("{} {}", self.at.0, self.at.1),
            at: self.program.source.line_col(span.start),
            span,
            message: message.into(),
        }
    }

    /// The source text of `span`, for the trace.
    pub fn text(&self, span: Span) -> String {
        self.program.source.slice(span).to_string()
    }

    /// Line `i`'s amount after item offers: `item.amount`.
    pub fn amount(&self, i: usize) -> Decimal {
        self.decided.get(i).map_or(Decimal::ZERO, |l| l.amount)
    }

    /// Pushes weights in proportion to the line amounts.
    pub fn amount_weights(&mut self) -> Weights {
        let start = self.weights.len();
        self.weights
            .extend(self.decided.iter().map(|l| l.amount).enumerate());
        start..self.weights.len()
    }

    /// `total` to be split over the lines in proportion to the weights in `range` (see
    /// [`allocate`](super::rounding::allocate)) when the decision's shares are first read.
    pub fn split(&mut self, total: Decimal, range: Weights, precision: u32) -> Shares {
        if total.is_zero() || range.is_empty() {
            return Shares::default();
        }
        self.splits.push(Split {
            total,
            weights: range,
            precision,
        });
        Shares::pending(self.splits.len() - 1)
    }

    /// The weights in `range`.
    pub fn weights_in(&self, range: Weights) -> &[(usize, Decimal)] {
        self.weights.get(range).unwrap_or_default()
    }
}
