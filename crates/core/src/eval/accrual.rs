//! Earning points: rules in dependency order, then promotions by priority with their windows,
//! audiences, limits, budgets and stacking, then rounding of the transaction's total.
//!
//! Per rule or promotion: the amount (per line for `for each item`, negative amounts count as
//! zero), rounding at its scope (per item, per rule; per transaction waits for the total), then
//! the cap against what the account already earned from it in the cap's period. What a rule
//! finally earns is what `N% of rule` reads. Promotions then stack: a best-of group keeps its
//! largest member (ties to the higher priority); the rest are taken highest priority first, and
//! each applies unless it does not stack with one already applied. A budget grants at most
//! what is left of it.

use super::calendar;
use super::decision::{Effect, Fact, Source, Step};
use super::engine::{Engine, Weights};
use super::error::EvalError;
use super::fixed;
use super::rounding::{allocate, non_negative, round, Scaled};
use super::trace::{why, Tracer};
use crate::program::{Accrual, Budget, Duration, Promotion, Stacking};
use chrono::{DateTime, FixedOffset};
use puntos_dsl::ast::{Period, RoundingMode, RoundingScope};
use rust_decimal::Decimal;
use smallvec::SmallVec;

/// An accrual that earns, before its effects are written.
struct Earned<'a> {
    /// Its place in the trace: rules in dependency order, then promotions by priority.
    order: usize,
    accrual: &'a Accrual,
    promotion: Option<&'a Promotion>,
    /// Points, rounded unless its scope is the transaction.
    points: Decimal,
    /// How the points spread over the lines (before final allocation), in
    /// `Engine::weights`.
    weights: Weights,
    /// Whether rounding waits for the transaction's total.
    joint: bool,
    /// The trace's arithmetic so far.
    arithmetic: Vec<Fact>,
    facts: Vec<Fact>,
}

/// Why an accrual earned nothing, with the values that decided it.
struct Skip(String, Vec<Fact>);

impl<'a, T: Tracer> Engine<'a, T> {
    /// Runs every rule and promotion, and writes their effects.
    pub fn accrue(&mut self) -> Result<(), EvalError> {
        let program = self.program;
        // Without rounding per transaction an accrual's points are final once computed, and it
        // is written at once (in the same order); with it, all wait for the joint rounding.
        let joint = self.rounds_jointly();
        let mut earned: SmallVec<[Earned<'a>; 16]> = SmallVec::new();
        let mut steps: Vec<(usize, Step)> = Vec::new();
        for (id, rule) in program.rules.iter().enumerate() {
            self.enter("rule", &rule.name);
            match self.work(id, rule, None)? {
                Ok(e) => {
                    if let Some(slot) = self.rule_points.get_mut(id) {
                        *slot = e.points;
                    }
                    // Rules that read this one spread their points the same way.
                    if let Some(slot) = self.rule_weights.get_mut(id) {
                        *slot = e.weights.clone();
                    }
                    if joint {
                        earned.push(e);
                    } else {
                        self.emit(e, &mut steps)?;
                    }
                }
                Err(Skip(reason, facts)) => skipped::<T>(
                    &mut steps,
                    id,
                    || Source::Rule(rule.name.clone()),
                    reason,
                    facts,
                ),
            }
        }
        self.promotions(joint.then_some(&mut earned), &mut steps)?;
        if joint {
            self.round_jointly(&mut earned);
            // Drained in place: moving the whole inline vector out costs a copy of every slot.
            for e in earned.drain(..) {
                self.emit(e, &mut steps)?;
            }
        }
        if T::ON {
            steps.sort_by_key(|(order, _)| *order);
            for (_, step) in steps {
                self.trace.step(step);
            }
        }
        Ok(())
    }

    /// Computes what one accrual earns, or why it earns nothing.
    fn work(
        &mut self,
        order: usize,
        accrual: &'a Accrual,
        promotion: Option<&'a Promotion>,
    ) -> Result<Result<Earned<'a>, Skip>, EvalError> {
        let tx = &self.ctx.transaction;
        if !self.listens(&accrual.event) {
            return Ok(Err(Skip(
                why::<T>(|| format!("listens to {}, not {}", accrual.event, tx.kind)),
                Vec::new(),
            )));
        }
        if let Some(p) = promotion {
            if !calendar::in_window(&p.valid, &self.now) {
                return Ok(Err(Skip(
                    why::<T>(|| "outside its validity window".to_string()),
                    Vec::new(),
                )));
            }
            if self.outside_audience(&p.audience)? {
                let reason = why::<T>(|| self.audience_refusal(&p.audience));
                return Ok(Err(Skip(reason, Vec::new())));
            }
        }
        let mut facts = Vec::new();
        if let Some(condition) = &accrual.condition {
            let holds = self.holds(condition, None)?;
            if T::ON {
                facts = self.facts(condition, None);
            }
            if !holds {
                let reason =
                    why::<T>(|| format!("`when {}` does not hold", self.text(condition.span())));
                return Ok(Err(Skip(reason, facts)));
            }
        }
        if let Some(limit) = promotion.and_then(|p| p.limit) {
            let used = self
                .ctx
                .account
                .uses
                .get(&*accrual.name)
                .copied()
                .unwrap_or(0);
            if used >= limit.count {
                let reason = why::<T>(|| {
                    let per = limit
                        .period
                        .map_or(String::new(), |p| format!(" per {}", p.as_str()));
                    format!(
                        "limit reached: {} per customer{per}, used {used}",
                        limit.count
                    )
                });
                return Ok(Err(Skip(reason, facts)));
            }
        }
        let settings = self.program.points;
        let mode = accrual.rounding.map_or(settings.mode, |r| r.mode);
        let scope = effective_scope(accrual, settings.scope);
        let precision = settings.precision;
        let mut arithmetic = Vec::new();
        let start = self.weights.len();
        let (raw, weights) = match &accrual.earn.per_item {
            Some(filter) => {
                let mut raw = fixed::Total::default();
                for i in 0..self.lines().len() {
                    if let Some(f) = filter {
                        if !self.passes(f, i)? {
                            if T::ON {
                                facts.push(Fact::new(self.line_label(i), "excluded by the filter"));
                            }
                            continue;
                        }
                    }
                    // Whole points stay integers: rounding them to no places changes nothing.
                    let whole = if scope != RoundingScope::Item || precision == 0 {
                        self.line_units(&accrual.earn.amount, i)
                    } else {
                        None
                    };
                    let (x, added) = match whole {
                        Some(units) => {
                            // Negative counts as zero.
                            let units = u64::try_from(units).unwrap_or(0);
                            (fixed::whole_units(units, 0), raw.add_units(units, 0))
                        }
                        None => {
                            let mut x = non_negative(self.number(&accrual.earn.amount, Some(i))?);
                            if scope == RoundingScope::Item {
                                x = round(x, precision, mode);
                            }
                            (x, raw.add(x))
                        }
                    };
                    if T::ON {
                        facts.push(Fact::new(
                            self.line_label(i),
                            format!("{} points", x.normalize()),
                        ));
                    }
                    added.ok_or_else(|| {
                        self.computation(accrual.earn.amount.span(), "the sum is too large")
                    })?;
                    if !x.is_zero() {
                        self.weights.push((i, x));
                    }
                }
                (raw.value(), start..self.weights.len())
            }
            None => {
                let raw = non_negative(self.number(&accrual.earn.amount, None)?);
                (raw, self.basket_weights(accrual))
            }
        };
        if T::ON {
            arithmetic.push(Fact::new(
                format!("earn {}", self.text(accrual.earn.amount.span())),
                format!("{} points", raw.normalize()),
            ));
        }
        let mut points = raw;
        let joint = scope == RoundingScope::Transaction;
        // Item scope on a per-transaction amount has one item: the transaction.
        let whole = scope == RoundingScope::Rule
            || (scope == RoundingScope::Item && accrual.earn.per_item.is_none());
        if whole {
            points = round(raw, precision, mode);
            if T::ON && points != raw {
                arithmetic.push(Fact::new(
                    format!("rounded {} per rule", mode_text(mode)),
                    format!("{points} points"),
                ));
            }
        }
        if let Some(cap) = accrual.cap {
            let used = if cap.period == Period::Transaction {
                Decimal::ZERO
            } else {
                self.ctx
                    .account
                    .earned
                    .get(&*accrual.name)
                    .copied()
                    .unwrap_or_default()
            };
            let left = non_negative(cap.points - used);
            if points > left {
                points = left;
                if T::ON {
                    arithmetic.push(Fact::new(
                        format!(
                            "capped at {} points per {} ({} earned before)",
                            cap.points,
                            cap.period.as_str(),
                            used.normalize()
                        ),
                        format!("{} points", points.normalize()),
                    ));
                }
            }
        }
        if points.is_zero() {
            let reason = if raw.is_zero() {
                "earned nothing"
            } else {
                "nothing left after rounding and the cap"
            };
            self.weights.truncate(start);
            let mut all = facts;
            all.extend(arithmetic);
            return Ok(Err(Skip(why::<T>(|| reason.to_string()), all)));
        }
        Ok(Ok(Earned {
            order,
            accrual,
            promotion,
            points,
            weights,
            joint,
            arithmetic,
            facts,
        }))
    }

    /// A line's name in the trace: its index and SKU.
    fn line_label(&self, i: usize) -> String {
        match self.lines().get(i) {
            Some(l) if !l.sku.is_empty() => format!("line {i} ({})", l.sku),
            _ => format!("line {i}"),
        }
    }

    /// How a basket-level accrual's points spread over lines: like the rules it reads (the
    /// same weights for one rule), or in proportion to line amounts.
    fn basket_weights(&mut self, accrual: &Accrual) -> Weights {
        let of_rule = |rule: &usize| self.rule_weights.get(*rule).cloned().unwrap_or_default();
        match accrual.depends_on.as_slice() {
            [] => self.amount_weights(),
            [one] => of_rule(one),
            many => {
                let mut dense: SmallVec<[Decimal; 8]> =
                    smallvec::smallvec![Decimal::ZERO; self.decided.len()];
                for range in many.iter().map(of_rule) {
                    for (line, amount) in self.weights_in(range) {
                        if let Some(slot) = dense.get_mut(*line) {
                            *slot += *amount;
                        }
                    }
                }
                let start = self.weights.len();
                self.weights
                    .extend(dense.into_iter().enumerate().filter(|(_, w)| !w.is_zero()));
                start..self.weights.len()
            }
        }
    }

    /// Whether some accrual rounds with the others, per transaction (see
    /// [`round_jointly`](Self::round_jointly)).
    fn rounds_jointly(&self) -> bool {
        let program = self.program;
        let scope = program.points.scope;
        program
            .rules
            .iter()
            .chain(program.promotions.iter().map(|p| &p.accrual))
            .any(|a| effective_scope(a, scope) == RoundingScope::Transaction)
    }

    /// Promotions: eligibility, best-of groups, stacking by priority, budgets. Those that apply
    /// go to `earned` when given (to be rounded jointly), else are written at once. Without
    /// best-of groups each promotion is settled as soon as it is computed (a group needs all
    /// its members first); the order, and so the outcome, is the same.
    fn promotions(
        &mut self,
        mut earned: Option<&mut SmallVec<[Earned<'a>; 16]>>,
        steps: &mut Vec<(usize, Step)>,
    ) -> Result<(), EvalError> {
        let program = self.program;
        let grouped = program
            .promotions
            .iter()
            .any(|p| matches!(p.stacking, Stacking::BestOf(_)));
        let mut candidates: SmallVec<[Earned<'a>; 8]> = SmallVec::new();
        let mut applied: SmallVec<[&'a Promotion; 8]> = SmallVec::new();
        for (i, p) in program.promotions.iter().enumerate() {
            self.enter("promotion", &p.accrual.name);
            let order = program.rules.len() + i;
            match self.work(order, &p.accrual, Some(p))? {
                Ok(e) if grouped => candidates.push(e),
                Ok(e) => self.admit(e, None, &mut applied, earned.as_deref_mut(), steps)?,
                Err(Skip(reason, facts)) => skipped::<T>(
                    steps,
                    order,
                    || Source::Promotion(p.accrual.name.clone()),
                    reason,
                    facts,
                ),
            }
        }
        if !grouped {
            return Ok(());
        }
        // Best-of groups: the largest member stays (ties: the earlier, higher priority).
        let mut losers: SmallVec<[Option<String>; 8]> = SmallVec::new();
        losers.resize(candidates.len(), None);
        for (i, c) in candidates.iter().enumerate() {
            let Some(Stacking::BestOf(group)) = c.promotion.map(|p| &p.stacking) else {
                continue;
            };
            let winner = candidates
                .iter()
                .enumerate()
                .filter(|(_, o)| matches!(o.promotion.map(|p| &p.stacking), Some(Stacking::BestOf(g)) if g == group))
                .fold(None::<(usize, Decimal)>, |best, (j, o)| match best {
                    Some((_, pts)) if pts >= o.points => best,
                    _ => Some((j, o.points)),
                });
            if let Some((w, best)) = winner.filter(|(w, _)| *w != i) {
                let name = candidates.get(w).map_or("", |c| c.accrual.name.as_ref());
                let how = if best == c.points {
                    "earns as much with a higher priority"
                } else {
                    "earns more"
                };
                if let Some(slot) = losers.get_mut(i) {
                    *slot = Some(why::<T>(|| {
                        format!("best of {group}: {name} {how} and applies instead")
                    }));
                }
            }
        }
        for (c, lost) in candidates.drain(..).zip(losers) {
            self.admit(c, lost, &mut applied, earned.as_deref_mut(), steps)?;
        }
        Ok(())
    }

    /// Settles one promotion that earns, in priority order: skipped when it lost its best-of
    /// group (`lost`, the reason) or does not stack with one `applied` before it; else granted
    /// what is left of its budget, and then applied: pushed to `earned` when the transaction
    /// rounds jointly, else written at once.
    fn admit(
        &mut self,
        mut c: Earned<'a>,
        lost: Option<String>,
        applied: &mut SmallVec<[&'a Promotion; 8]>,
        earned: Option<&mut SmallVec<[Earned<'a>; 16]>>,
        steps: &mut Vec<(usize, Step)>,
    ) -> Result<(), EvalError> {
        let Some(p) = c.promotion else {
            return Ok(());
        };
        let subject = || Source::Promotion(p.accrual.name.clone());
        if let Some(reason) = lost {
            skipped::<T>(steps, c.order, subject, reason, c.facts);
            return Ok(());
        }
        if let Some(other) = applied.iter().find(|o| !stacks(p, o) || !stacks(o, p)) {
            let reason = why::<T>(|| {
                format!(
                    "does not stack with promotion {}, which applied first (higher priority)",
                    other.accrual.name
                )
            });
            skipped::<T>(steps, c.order, subject, reason, c.facts);
            return Ok(());
        }
        if let Some(budget) = p.budget {
            self.enter("promotion", &p.accrual.name);
            let left = self.budget_left_in_points(p, budget)?;
            if left.is_zero() {
                skipped::<T>(
                    steps,
                    c.order,
                    subject,
                    "its budget is spent".to_string(),
                    c.facts,
                );
                return Ok(());
            }
            if c.points > left {
                c.points = left;
                if T::ON {
                    c.arithmetic.push(Fact::new(
                        "granted what is left of the budget",
                        format!("{} points", left.normalize()),
                    ));
                }
            }
        }
        applied.push(p);
        match earned {
            Some(earned) => earned.push(c),
            None => self.emit(c, steps)?,
        }
        Ok(())
    }

    /// Points a promotion's budget can still pay for.
    fn budget_left_in_points(&self, p: &Promotion, budget: Budget) -> Result<Decimal, EvalError> {
        let used = self
            .ctx
            .account
            .budget_used
            .get(&*p.accrual.name)
            .copied()
            .unwrap_or_default();
        Ok(match budget {
            Budget::Points(total) => non_negative(total - used),
            Budget::Money(total) => {
                let rate = self.point_value(p)?;
                let money_left = non_negative(total - used);
                (money_left / rate).round_dp_with_strategy(
                    self.program.points.precision,
                    rust_decimal::RoundingStrategy::ToZero,
                )
            }
        })
    }

    /// The money value of one point (the redemption rate), for money budgets.
    fn point_value(&self, p: &Promotion) -> Result<Decimal, EvalError> {
        match &self.program.redemption {
            Some(r) if !r.rate_points.is_zero() && !r.rate_money.is_zero() => {
                Ok(r.rate_money / r.rate_points)
            }
            _ => Err(self.computation(
                p.accrual.span,
                "a money budget values points at the redemption rate, and the program has none",
            )),
        }
    }

    /// Rounds the accruals whose scope is the transaction: their total once, with the units
    /// handed out by largest remainder so each keeps its share.
    fn round_jointly(&self, earned: &mut [Earned<'a>]) {
        let joint: SmallVec<[usize; 8]> = (0..earned.len())
            .filter(|&i| earned.get(i).is_some_and(|e| e.joint))
            .collect();
        if joint.is_empty() {
            return;
        }
        let precision = self.program.points.precision;
        let total: Decimal = joint
            .iter()
            .filter_map(|&i| earned.get(i))
            .map(|e| e.points)
            .sum();
        let target = round(total, precision, self.program.points.mode);
        let weights: SmallVec<[(usize, Decimal); 8]> = joint
            .iter()
            .filter_map(|&i| earned.get(i).map(|e| (i, e.points)))
            .collect();
        let parts = allocate(target, &weights, precision);
        for &i in &joint {
            let part = parts
                .iter()
                .find(|s| s.line == i)
                .map_or(Decimal::ZERO, |s| s.amount);
            if let Some(e) = earned.get_mut(i) {
                if T::ON && part != e.points {
                    e.arithmetic.push(Fact::new(
                        format!(
                            "its part of the transaction's total, rounded {}",
                            mode_text(self.program.points.mode)
                        ),
                        format!("{part} points"),
                    ));
                }
                e.points = part;
            }
        }
    }

    /// Writes an accrual's effects (earn, budget, limit) and its trace step.
    fn emit(&mut self, e: Earned<'a>, steps: &mut Vec<(usize, Step)>) -> Result<(), EvalError> {
        let precision = self.program.points.precision;
        let points = e.points.normalize_to(precision);
        let source = match e.promotion {
            Some(_) => Source::Promotion(e.accrual.name.clone()),
            None => Source::Rule(e.accrual.name.clone()),
        };
        if T::ON {
            let mut arithmetic = e.arithmetic;
            arithmetic.push(Fact::new("earned", format!("{points} points")));
            steps.push((
                e.order,
                Step {
                    subject: source.clone(),
                    applied: !points.is_zero(),
                    reason: points.is_zero().then(|| "rounded to nothing".to_string()),
                    facts: e.facts,
                    arithmetic,
                },
            ));
        }
        if points.is_zero() {
            return Ok(());
        }
        let available_at = e.accrual.pending.map(|d| self.after(d)).transpose()?;
        let expires_at = e.accrual.expire_after.map(|d| self.after(d)).transpose()?;
        let lines = self.split(points, e.weights, precision);
        let counted = e
            .promotion
            .filter(|p| p.limit.is_some())
            .map(|_| source.clone());
        self.effects.push(Effect::Earn {
            source,
            points,
            available_at,
            expires_at,
            lines,
        });
        if let Some(p) = e.promotion {
            if let Some(budget) = p.budget {
                let amount = match budget {
                    Budget::Points(_) => points,
                    Budget::Money(_) => {
                        let value = points * self.point_value(p)?;
                        round(value, self.money_precision(), RoundingMode::Down)
                    }
                };
                self.effects.push(Effect::BudgetConsumed {
                    promotion: p.accrual.name.clone(),
                    amount,
                });
            }
            if let Some(source) = counted {
                self.effects.push(Effect::LimitCounted { source });
            }
        }
        Ok(())
    }

    /// The moment `duration` after the transaction, on the program's calendar; computed once per
    /// duration (most accruals share their pending and expiry periods).
    fn after(&mut self, duration: Duration) -> Result<DateTime<FixedOffset>, EvalError> {
        if let Some((_, at)) = self.moments.iter().find(|(d, _)| *d == duration) {
            return Ok(*at);
        }
        let tz = self.program.timezone;
        let at = calendar::shift_instant(self.now.local, duration, false, tz).ok_or_else(|| {
            EvalError::input(
                "transaction.time",
                format!("{duration} after it is out of the calendar's range"),
            )
        })?;
        self.moments.push((duration, at));
        Ok(at)
    }

    /// Decimal places of the program's currency.
    pub fn money_precision(&self) -> u32 {
        crate::schema::currency_decimals(&self.program.currency)
    }
}

/// The rounding scope of an accrual: its own, else the program's — except that an accrual which
/// sets its own rounding mode in a program rounding per transaction rounds per rule, since a
/// mode of its own cannot apply to a total it shares.
fn effective_scope(accrual: &Accrual, program: RoundingScope) -> RoundingScope {
    match accrual.rounding {
        Some(r) => r.scope.unwrap_or(match program {
            RoundingScope::Transaction => RoundingScope::Rule,
            other => other,
        }),
        None => program,
    }
}

/// Records a step for an accrual that earned nothing (only when tracing).
fn skipped<T: Tracer>(
    steps: &mut Vec<(usize, Step)>,
    order: usize,
    subject: impl FnOnce() -> Source,
    reason: String,
    facts: Vec<Fact>,
) {
    if T::ON {
        steps.push((
            order,
            Step {
                subject: subject(),
                applied: false,
                reason: Some(reason),
                facts,
                arithmetic: Vec::new(),
            },
        ));
    }
}

/// Whether promotion `a` allows promotion `b` alongside it.
fn stacks(a: &Promotion, b: &Promotion) -> bool {
    match &a.stacking {
        Stacking::Exclusive => false,
        Stacking::WithAll | Stacking::BestOf(_) => true,
        Stacking::With(names) => names.iter().any(|n| **n == *b.accrual.name),
    }
}

fn mode_text(mode: RoundingMode) -> &'static str {
    match mode {
        RoundingMode::Down => "down",
        RoundingMode::Up => "up",
        RoundingMode::HalfUp => "half up",
        RoundingMode::HalfEven => "half even",
    }
}
