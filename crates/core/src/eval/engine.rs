//! One evaluation, start to finish: the state shared by its stages and the order they run in.
//!
//! Stages, in order: item offers (they set the prices everything else reads), coupons, accrual
//! (rules in dependency order, then promotions by priority, then rounding), redemption, refund
//! reversal, coupon issue, tier change. Each stage appends its effects, so the decision lists
//! them in this order.

use super::calendar::Now;
use super::context::{Context, Line};
use super::decision::{DecidedLine, Decision, Effect, RefusedCoupon};
use super::error::EvalError;
use super::trace::Tracer;
use super::validate;
use super::EvalOptions;
use crate::program::{Duration, Program, TierId};
use chrono::{DateTime, FixedOffset};
use puntos_dsl::Span;
use rust_decimal::Decimal;
use smallvec::{smallvec, SmallVec};

/// How points spread over basket lines: (line, weight). Baskets are short, so the usual one
/// stays on the stack.
pub(crate) type Weights = Vec<(usize, Decimal)>;

/// The evaluation in progress.
pub(crate) struct Engine<'a, T: Tracer> {
    pub program: &'a Program,
    pub ctx: &'a Context,
    pub now: Now,
    /// The tier the rules see: held at the transaction's time, before it counts.
    pub tier: Option<TierId>,
    /// Each line's amount after item offers: `item.amount`.
    pub amounts: Vec<Decimal>,
    /// Whether each line already took part in an offer (empty when the program has none).
    pub offered: Vec<bool>,
    /// `basket.total`: the sum of `amounts`.
    pub basket_total: Decimal,
    /// Money taken off by coupons so far.
    pub coupon_discount: Decimal,
    /// Segment membership, computed on first use.
    pub segments: SmallVec<[Option<bool>; 8]>,
    /// The points each rule earned, for `N% of rule`.
    pub rule_points: SmallVec<[Decimal; 16]>,
    /// How each rule's points spread over the lines (line, weight), for the rules that read it.
    pub rule_weights: SmallVec<[Weights; 4]>,
    /// While deciding the tier after the transaction: this transaction's spend and visits,
    /// added to the history windows.
    pub history_delta: Option<(Decimal, Decimal)>,
    /// Moments a duration after the transaction, computed so far (pending and expiry).
    pub moments: Vec<(Duration, DateTime<FixedOffset>)>,
    /// The declaration being evaluated, for error messages.
    pub at: (&'static str, &'a str),
    pub effects: Vec<Effect>,
    pub refused: Vec<RefusedCoupon>,
    pub trace: T,
}

impl<'a, T: Tracer> Engine<'a, T> {
    /// Runs every stage.
    pub fn run(
        program: &'a Program,
        ctx: &'a Context,
        options: &EvalOptions,
        trace: T,
    ) -> Result<Decision, EvalError> {
        let now = Now::new(program.timezone, ctx.transaction.time);
        let amounts = validate::check(program, ctx, &now, options)?;
        let basket_total = amounts.iter().copied().sum();
        let mut engine = Engine {
            program,
            ctx,
            now,
            tier: None,
            offered: if program.offers.is_empty() {
                Vec::new()
            } else {
                vec![false; amounts.len()]
            },
            amounts,
            basket_total,
            coupon_discount: Decimal::ZERO,
            segments: smallvec![None; program.segments.len()],
            rule_points: smallvec![Decimal::ZERO; program.rules.len()],
            rule_weights: smallvec![Weights::new(); program.rules.len()],
            history_delta: None,
            moments: Vec::new(),
            at: ("program", &program.name),
            effects: Vec::with_capacity(program.rules.len() + 2 * program.promotions.len() + 4),
            refused: Vec::new(),
            trace,
        };
        engine.tier = engine.tier_at_transaction()?;
        engine.apply_offers()?;
        engine.apply_coupons()?;
        engine.accrue()?;
        engine.redeem()?;
        engine.reverse_refund()?;
        engine.issue_coupons()?;
        engine.tier_change()?;
        let lines = engine.decided_lines();
        Ok(Decision {
            transaction: ctx.transaction.id.clone(),
            kind: ctx.transaction.kind.clone(),
            program: program.name.clone(),
            currency: program.currency.clone(),
            lines,
            effects: engine.effects,
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
        self.ctx.transaction.kind == "purchase"
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

    fn decided_lines(&self) -> Vec<DecidedLine> {
        self.lines()
            .iter()
            .zip(&self.amounts)
            .map(|(line, amount)| DecidedLine {
                quantity: line.quantity,
                amount: *amount,
            })
            .collect()
    }
}
