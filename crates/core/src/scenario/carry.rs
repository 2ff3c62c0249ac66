//! Carrying an account from one scenario step to the next.
//!
//! A small in-memory journal of the decisions made so far, read back as an [`AccountView`] at
//! the next transaction's time: earned points are available once their pending period ends;
//! counters count within the current period of each cap or limit (the starting account's
//! counters belong to the period of the first step); history windows add the scenario's own
//! purchases to the starting figures; issued coupons get the codes `NAME-1`, `NAME-2`... in
//! issue order, with the window the ledger would record, and each use of a held code counts in
//! its own record as in the ledger (so a code given with `max_uses` is used up as it would be
//! there). Expiry of points is the ledger's business and is not modelled here.

use crate::eval::{
    period_start, AccountView, Context, Decision, EvalError, HeldCoupon, HeldTier, RefundOf,
    RefundedUnits,
};
use crate::program::{Name, Program};
use chrono::{DateTime, FixedOffset, NaiveDate};
use puntos_dsl::ast::Period;
use rust_decimal::Decimal;
use serde_json::Value;

/// One decided step.
struct Entry {
    time: DateTime<FixedOffset>,
    kind: crate::program::Name,
    /// `transaction.amount` as decided (spend for purchases, refunded amount for refunds).
    amount: Decimal,
    decision: Decision,
    refund_of: Option<usize>,
    /// Units refunded per original line by this step.
    refunded: Vec<RefundedUnits>,
}

/// The starting account and the steps decided so far.
pub(super) struct Carry {
    start: AccountView,
    entries: Vec<Entry>,
}

impl Carry {
    /// Starts from the scenario's account.
    pub fn new(account: &Value) -> Result<Carry, EvalError> {
        Ok(Carry {
            start: super::from_value(account.clone(), "account")?,
            entries: Vec::new(),
        })
    }

    /// Records a decided step.
    pub fn record(&mut self, refund_of: Option<usize>, ctx: Context, decision: Decision) {
        let amount = ctx
            .transaction
            .amount
            .unwrap_or_else(|| decision.lines.iter().map(|l| l.amount).sum());
        let refunded = ctx
            .transaction
            .lines
            .iter()
            .filter_map(|l| {
                l.original_line.map(|line| RefundedUnits {
                    line,
                    quantity: l.quantity,
                })
            })
            .collect();
        self.entries.push(Entry {
            time: ctx.transaction.time,
            kind: ctx.transaction.kind,
            amount,
            decision,
            refund_of,
            refunded,
        });
    }

    /// The refund block for a refund of step `n` (1-based).
    pub fn refund_of(&self, n: usize) -> Result<RefundOf, EvalError> {
        let original = n
            .checked_sub(1)
            .and_then(|i| self.entries.get(i))
            .ok_or_else(|| {
                EvalError::input(
                    "refund_of",
                    format!("step {n} is not an earlier step of this scenario"),
                )
            })?;
        let refunded_before = self
            .entries
            .iter()
            .filter(|e| e.refund_of == Some(n))
            .flat_map(|e| e.refunded.iter().cloned())
            .collect();
        Ok(RefundOf {
            original: original.decision.clone(),
            refunded_before,
        })
    }

    /// Whether what `source` earned on step `purchase` (1-based) is still pending at `time`.
    fn pending_at(
        &self,
        purchase: Option<usize>,
        source: &crate::eval::Source,
        time: DateTime<FixedOffset>,
    ) -> bool {
        let Some(original) = purchase
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| self.entries.get(i))
        else {
            return false;
        };
        original.decision.effects.iter().any(|e| {
            matches!(e, crate::eval::Effect::Earn { source: s, available_at: Some(at), .. }
                if s == source && *at > time)
        })
    }

    /// The account as it stands at `time`.
    pub fn view(&self, program: Option<&Program>, time: DateTime<FixedOffset>) -> AccountView {
        let mut view = self.start.clone();
        let Some(program) = program else { return view };
        let tz = program.timezone;
        let local = |t: DateTime<FixedOffset>| t.with_timezone(&tz).date_naive();
        let today = local(time);
        let first_day = self.entries.first().map_or(today, |e| local(e.time));
        let same_period = |period: Option<Period>, a: NaiveDate| match period {
            None => true,
            Some(Period::Transaction) => false,
            Some(p) => period_start(p, a) == period_start(p, today),
        };
        // Starting counters belong to the first step's periods.
        view.earned
            .retain(|name, _| same_period(program.cap_period(name), first_day));
        view.uses
            .retain(|name, _| same_period(program.limit_period(name), first_day));
        for entry in &self.entries {
            let day = local(entry.time);
            for effect in &entry.decision.effects {
                use crate::eval::Effect as E;
                match effect {
                    E::Earn {
                        source,
                        points,
                        available_at,
                        ..
                    } => {
                        if available_at.is_none_or(|a| a <= time) {
                            view.available += *points;
                        } else {
                            view.pending += *points;
                        }
                        if same_period(program.cap_period(source.name()), day) {
                            *view.earned.entry(Name::from(source.name())).or_default() += *points;
                        }
                    }
                    E::Redeem { points, .. } => view.available -= *points,
                    E::ReturnRedeemed { points, .. } => view.available += *points,
                    E::ReverseEarn { source, points, .. } => {
                        // Points still pending at `time` are cancelled from pending.
                        if self.pending_at(entry.refund_of, source, time) {
                            view.pending = (view.pending - *points).max(Decimal::ZERO);
                        } else {
                            view.available = (view.available - *points).max(Decimal::ZERO);
                        }
                    }
                    E::LimitCounted { source } => {
                        if same_period(program.limit_period(source.name()), day) {
                            *view.uses.entry(Name::from(source.name())).or_default() += 1;
                        }
                    }
                    E::ConsumeCoupon { coupon, code } => {
                        *view.uses.entry(Name::from(&**coupon)).or_default() += 1;
                        HeldCoupon::count_use(&mut view.coupons, coupon, code);
                    }
                    E::BudgetConsumed { promotion, amount } => {
                        *view
                            .budget_used
                            .entry(Name::from(&**promotion))
                            .or_default() += *amount
                    }
                    E::TierChange { to, until, .. } => {
                        view.tier = to.as_ref().map(|name| HeldTier {
                            name: name.to_string(),
                            until: *until,
                        })
                    }
                    E::IssueCoupon {
                        coupon,
                        valid_until,
                    } => {
                        let n = view
                            .coupons
                            .iter()
                            .filter(|h| *h.coupon == **coupon)
                            .count()
                            + 1;
                        view.coupons.push(HeldCoupon::issued(
                            program,
                            coupon,
                            format!("{coupon}-{n}"),
                            entry.time,
                            *valid_until,
                        ))
                    }
                    E::Discount { .. } => {}
                }
            }
            let sign = match &*entry.kind {
                "purchase" => Decimal::ONE,
                "refund" => Decimal::NEGATIVE_ONE,
                _ => continue,
            };
            if &*entry.kind == "purchase" {
                view.last_purchase = Some(view.last_purchase.map_or(day, |d| d.max(day)));
            }
            for (window, value) in view.spend.iter_mut() {
                if in_window(entry.time, time, *window, tz) {
                    *value += sign * entry.amount;
                }
            }
            if &*entry.kind == "purchase" {
                for (window, value) in view.visits.iter_mut() {
                    if in_window(entry.time, time, *window, tz) {
                        *value += Decimal::ONE;
                    }
                }
            }
        }
        view
    }
}

/// Whether `at` falls in the window of `duration` before `now`.
fn in_window(
    at: DateTime<FixedOffset>,
    now: DateTime<FixedOffset>,
    duration: crate::program::Duration,
    tz: chrono_tz::Tz,
) -> bool {
    let local = now.with_timezone(&tz).naive_local();
    crate::eval::HistoryWindow::new(now, local, duration, tz).contains(at)
}
