//! Reading an account as the evaluator needs it: balances, tier, the history windows and the
//! counters of the current periods, all as of the transaction's time. The codes held (each with
//! its own record: window, allowance, uses) are not copied here: the ledger lends the state's
//! own list to the evaluation.

use super::model::AccountState;
use super::store::StoreError;
use super::unit::Lookups;
use crate::eval::{fixed, period_start, AccountView, HistoryWindow, Now};
use crate::program::{HistoryMetric, Name, Program};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeDelta};
use chrono_tz::Tz;
use puntos_dsl::ast::Period;
use rust_decimal::Decimal;

/// The key under which counters without a period (limits for life, coupon uses) are kept.
pub const FOR_LIFE: NaiveDate = NaiveDate::MIN;

/// The counter key of `period` at `date` (a period's first day, or [`FOR_LIFE`]).
pub fn period_key(period: Option<Period>, date: NaiveDate) -> NaiveDate {
    match period {
        None | Some(Period::Transaction) => FOR_LIFE,
        Some(p) => period_start(p, date),
    }
}

/// The account view of `state` for a transaction at `now` (read in `program`'s zone) under
/// `program`, without the codes held (see the [module](self)).
pub(super) fn account_view<L: Lookups + ?Sized>(
    program: &Program,
    state: &AccountState,
    now: &Now,
    session: &mut L,
) -> Result<AccountView, StoreError> {
    let tz = program.timezone;
    let (time, local) = (now.instant, now.local);
    let today = local.date();
    let mut view = AccountView {
        available: state.available(),
        pending: state.pending(),
        tier: state.tier.clone(),
        ..AccountView::default()
    };
    for (metric, window) in &program.requirements.windows {
        let window_span = HistoryWindow::new(time, local, *window, tz);
        let history = &state.history;
        let value = match window_span.range_in(history) {
            Some(run) => measure(*metric, history.get(run).unwrap_or_default().iter()),
            None => measure(
                *metric,
                history.iter().filter(|(at, _)| window_span.contains(*at)),
            ),
        };
        let list = match metric {
            HistoryMetric::Spend => &mut view.spend,
            HistoryMetric::Visits => &mut view.visits,
        };
        list.push((*window, value));
    }
    // Read only by `days_since_last_purchase()`; a program without it leaves it out.
    if program.requirements.days_since_last_purchase {
        view.last_purchase = last_purchase_date(&state.history, time, tz);
    }
    // A counter at zero is left out: the evaluation reads a missing one as zero.
    for (name, period) in program.earned_counters() {
        let key = period_key(Some(period), today);
        let earned = state
            .earned
            .get(&**name)
            .and_then(|by_period| by_period.get(&key));
        if let Some(&earned) = earned.filter(|e| !e.is_zero()) {
            view.earned.insert(Name::clone(name), earned);
        }
    }
    for (name, period) in program.uses_counters() {
        let key = period_key(period, today);
        let uses = state
            .uses
            .get(&**name)
            .and_then(|by_period| by_period.get(&key));
        if let Some(&uses) = uses.filter(|u| **u != 0) {
            view.uses.insert(Name::clone(name), uses);
        }
    }
    for name in program.budget_counters() {
        view.budget_used
            .insert(Name::clone(name), session.budget_used(name)?);
    }
    Ok(view)
}

/// What `metric` reads from history `entries`: the money spent (refunds count against it) or
/// the purchases made.
fn measure<'h>(
    metric: HistoryMetric,
    entries: impl Iterator<Item = &'h (DateTime<FixedOffset>, Decimal)>,
) -> Decimal {
    match metric {
        HistoryMetric::Spend => fixed::sum(entries.map(|(_, amount)| *amount)),
        HistoryMetric::Visits => Decimal::from(
            entries
                .filter(|(_, amount)| !amount.is_sign_negative())
                .count(),
        ),
    }
}

/// The local date of the latest purchase in `history` (in time order) not after `time`, in
/// zone `tz`.
///
/// The history is read from `time` backwards, and only purchases within two days of the
/// latest one have their date read (a zone table search each): a local date can only step
/// back across a change of offset, which is hours, never days, so an older purchase cannot
/// fall on a later local date.
fn last_purchase_date(
    history: &[(DateTime<FixedOffset>, Decimal)],
    time: DateTime<FixedOffset>,
    tz: Tz,
) -> Option<NaiveDate> {
    let before = history
        .get(..history.partition_point(|(at, _)| *at <= time))
        .unwrap_or_default();
    let mut purchases = before
        .iter()
        .rev()
        .filter(|(_, amount)| !amount.is_sign_negative())
        .map(|(at, _)| *at);
    let latest = purchases.next()?;
    // At the calendar's edge, where two days back does not exist, every purchase is read.
    let near = latest.checked_sub_signed(TimeDelta::days(2));
    std::iter::once(latest)
        .chain(purchases.take_while(|at| near.is_none_or(|near| *at >= near)))
        .map(|at| at.with_timezone(&tz).date_naive())
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).unwrap()
    }

    #[test]
    fn the_last_purchase_is_the_latest_not_after_the_transaction_in_local_days() {
        let tz: Tz = "Europe/Moscow".parse().unwrap();
        let history = [
            (at("2026-02-20T10:00:00+03:00"), Decimal::from(100)),
            // 22:30 UTC is 01:30 the next day in Moscow.
            (at("2026-03-01T22:30:00Z"), Decimal::from(50)),
            // A refund is not a purchase.
            (at("2026-03-05T10:00:00+03:00"), Decimal::from(-50)),
            // After the transaction.
            (at("2026-03-20T10:00:00+03:00"), Decimal::from(70)),
        ];
        let time = at("2026-03-10T12:00:00+03:00");
        assert_eq!(
            last_purchase_date(&history, time, tz),
            NaiveDate::from_ymd_opt(2026, 3, 2)
        );
        assert_eq!(last_purchase_date(&history[2..3], time, tz), None);
    }
}
