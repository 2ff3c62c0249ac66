//! Time in the program's zone: the local date, weekday and hour of a transaction, calendar
//! arithmetic with durations, validity windows and the periods caps and limits count over.

use crate::program::{Duration, Window};
use chrono::{DateTime, Datelike, FixedOffset, Months, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use puntos_dsl::ast::{DurationUnit, Moment, Period};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::ops::Range;

/// A transaction's moment, read in the program's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Now {
    /// The instant as the caller gave it.
    pub instant: DateTime<FixedOffset>,
    /// The wall-clock time in the program's zone.
    pub local: NaiveDateTime,
    /// The program's zone.
    zone: Tz,
}

impl Now {
    /// Reads `instant` in `tz`.
    pub fn new(tz: Tz, instant: DateTime<FixedOffset>) -> Now {
        Now {
            instant,
            local: instant.with_timezone(&tz).naive_local(),
            zone: tz,
        }
    }

    /// Whether this is `instant` read in `tz`: a caller's reading can stand for the
    /// evaluator's own.
    pub fn reads(&self, tz: Tz, instant: DateTime<FixedOffset>) -> bool {
        self.zone == tz && self.instant == instant
    }

    /// The local calendar date.
    pub fn date(&self) -> NaiveDate {
        self.local.date()
    }

    /// The wall-clock time of `instant` in the same zone: this one's when it is the same
    /// instant (the transaction's time, read again by expressions and durations after it), so
    /// the zone's table is searched once per decision; else read anew.
    pub fn local_of(&self, instant: DateTime<FixedOffset>) -> NaiveDateTime {
        if instant == self.instant {
            self.local
        } else {
            Now::new(self.zone, instant).local
        }
    }
}

/// Whether `now` falls in `window`: a date bound covers its whole local day.
pub(crate) fn in_window(window: &Window, now: &Now) -> bool {
    let after_start = match window.from {
        None => true,
        Some(Moment::Date(d)) => now.date() >= d,
        Some(Moment::DateTime(t)) => now.instant >= t,
    };
    let before_end = match window.until {
        None => true,
        Some(Moment::Date(d)) => now.date() <= d,
        Some(Moment::DateTime(t)) => now.instant <= t,
    };
    after_start && before_end
}

/// The instant a moment stands for: a date is the start of that local day.
pub(crate) fn moment_start(moment: Moment, tz: Tz) -> Option<DateTime<FixedOffset>> {
    match moment {
        Moment::DateTime(t) => Some(t),
        Moment::Date(d) => local_to_instant(d.and_hms_opt(0, 0, 0)?, tz),
    }
}

/// The last instant a moment covers: a date runs to the end of that local day.
pub(crate) fn moment_end(moment: Moment, tz: Tz) -> Option<DateTime<FixedOffset>> {
    match moment {
        Moment::DateTime(t) => Some(t),
        Moment::Date(d) => local_to_instant(d.and_hms_opt(23, 59, 59)?, tz),
    }
}

/// Maps a wall-clock time to an instant; in a spring-forward gap, the first valid time after it.
fn local_to_instant(local: NaiveDateTime, tz: Tz) -> Option<DateTime<FixedOffset>> {
    let mut probe = local;
    for _ in 0..4 {
        if let Some(t) = tz.from_local_datetime(&probe).earliest() {
            return Some(t.fixed_offset());
        }
        probe = probe.checked_add_signed(chrono::TimeDelta::minutes(30))?;
    }
    None
}

/// `local` moved by `sign * duration` on the calendar (months and years keep the day of the
/// month, clamped to the month's end). `None` if out of range or not a whole number of months.
pub(crate) fn shift_local(
    local: NaiveDateTime,
    duration: Duration,
    negative: bool,
) -> Option<NaiveDateTime> {
    // A whole number of units (`14 days`, `60 years`: the usual case) in integers; any other
    // amount in decimals.
    let whole = (duration.amount.scale() == 0)
        .then(|| i64::try_from(duration.amount.mantissa()).ok())
        .flatten();
    let months = match (duration.unit, whole) {
        (DurationUnit::Month, Some(units)) => Some(Some(units)),
        (DurationUnit::Year, Some(units)) => Some(Some(units.checked_mul(12)?)),
        (DurationUnit::Month, None) => Some(whole_months(duration.amount)),
        (DurationUnit::Year, None) => Some(whole_months(
            duration.amount.checked_mul(Decimal::from(12))?,
        )),
        _ => None,
    };
    if let Some(Some(months)) = months {
        let m = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
        return if negative ^ (months < 0) {
            local.checked_sub_months(m)
        } else {
            local.checked_add_months(m)
        };
    }
    let minutes_per_unit = match duration.unit {
        DurationUnit::Minute => 1,
        DurationUnit::Hour => 60,
        DurationUnit::Day => 1440,
        DurationUnit::Week => 10080,
        DurationUnit::Month => 43200,
        DurationUnit::Year => 525600,
    };
    let minutes = match whole {
        Some(units) => units.checked_mul(minutes_per_unit)?,
        None => duration
            .amount
            .checked_mul(Decimal::from(minutes_per_unit))?
            .trunc()
            .to_i64()?,
    };
    let delta = chrono::TimeDelta::try_minutes(if negative { -minutes } else { minutes })?;
    local.checked_add_signed(delta)
}

/// A number of months given as a decimal, if it is whole (`12.0`); `None` for a fraction, which
/// shifts by minutes instead.
fn whole_months(months: Decimal) -> Option<i64> {
    if months.fract().is_zero() {
        months.trunc().to_i64()
    } else {
        None
    }
}

/// `date` moved by a duration on the calendar.
pub(crate) fn shift_date(date: NaiveDate, duration: Duration, negative: bool) -> Option<NaiveDate> {
    shift_local(date.and_hms_opt(0, 0, 0)?, duration, negative).map(|t| t.date())
}

/// An instant moved by a duration on the calendar of the program's zone, as an instant. The
/// instant is given by its wall-clock time there, `local` ([`Now::local`] for the
/// transaction's, so its zone table search is not made again).
pub(crate) fn shift_instant(
    local: NaiveDateTime,
    duration: Duration,
    negative: bool,
    tz: Tz,
) -> Option<DateTime<FixedOffset>> {
    local_to_instant(shift_local(local, duration, negative)?, tz)
}

/// A history window (`last 12 months`) ending at a transaction: which instants of an account's
/// history it covers. An instant is in it when it is not after the transaction and its
/// wall-clock time in the program's zone is not before the window's first local moment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HistoryWindow {
    /// The transaction's instant, the window's last.
    end: DateTime<FixedOffset>,
    /// Where the window starts.
    start: WindowStart,
}

/// Where a [`HistoryWindow`] starts.
#[derive(Debug, Clone, Copy)]
enum WindowStart {
    /// Nowhere: the window reaches back beyond the calendar's range.
    Open,
    /// At this instant: the first local moment names exactly one instant, so comparing
    /// instants decides as comparing wall-clock times would, without a zone table search per
    /// entry.
    At(DateTime<FixedOffset>),
    /// At this wall-clock time, which falls in a change of offset (skipped or repeated), so
    /// each entry's own wall-clock time is compared with it.
    Local(NaiveDateTime, Tz),
}

impl HistoryWindow {
    /// The window of `duration` that ends at `end`, whose wall-clock time in `tz` is `local`.
    pub fn new(
        end: DateTime<FixedOffset>,
        local: NaiveDateTime,
        duration: Duration,
        tz: Tz,
    ) -> Self {
        let start = match shift_local(local, duration, true) {
            None => WindowStart::Open,
            Some(first) => match tz.from_local_datetime(&first) {
                chrono::LocalResult::Single(at) => WindowStart::At(at.fixed_offset()),
                _ => WindowStart::Local(first, tz),
            },
        };
        HistoryWindow { end, start }
    }

    /// The indices of `entries` (in time order) the window covers, when they are one run:
    /// always, unless the window starts at a wall-clock time inside a change of offset, where
    /// an entry's wall-clock time does not grow with its instant (`None`: check each entry with
    /// [`contains`](Self::contains)). Two binary searches, however long the history.
    pub fn range_in<V>(&self, entries: &[(DateTime<FixedOffset>, V)]) -> Option<Range<usize>> {
        let end = entries.partition_point(|(at, _)| *at <= self.end);
        let start = match self.start {
            WindowStart::Open => 0,
            WindowStart::At(first) => entries.get(..end)?.partition_point(|(at, _)| *at < first),
            WindowStart::Local(..) => return None,
        };
        Some(start..end)
    }

    /// Whether the window covers `at`.
    pub fn contains(&self, at: DateTime<FixedOffset>) -> bool {
        at <= self.end
            && match self.start {
                WindowStart::Open => true,
                WindowStart::At(first) => at >= first,
                WindowStart::Local(first, tz) => at.with_timezone(&tz).naive_local() >= first,
            }
    }
}

/// The first local day of the period that contains `date` (weeks start on Monday).
pub fn period_start(period: Period, date: NaiveDate) -> NaiveDate {
    match period {
        Period::Transaction | Period::Day => date,
        Period::Week => date - chrono::Days::new(u64::from(date.weekday().num_days_from_monday())),
        Period::Month => date.with_day(1).unwrap_or(date),
        Period::Year => date.with_ordinal(1).unwrap_or(date),
    }
}

/// Whole years from `birth` to `on`.
pub(crate) fn age(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut years = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years
}

/// The next birthday on or after `today` (29 February counts on 28 February in other years).
pub(crate) fn next_birthday(birth: NaiveDate, today: NaiveDate) -> Option<NaiveDate> {
    let in_year = |year: i32| {
        NaiveDate::from_ymd_opt(year, birth.month(), birth.day())
            .or_else(|| NaiveDate::from_ymd_opt(year, birth.month(), birth.day() - 1))
    };
    let this_year = in_year(today.year())?;
    if this_year >= today {
        Some(this_year)
    } else {
        in_year(today.year() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_reading_stands_only_for_its_own_instant_in_its_own_zone() {
        let moscow: Tz = "Europe/Moscow".parse().unwrap();
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let at = DateTime::parse_from_rfc3339("2026-03-14T23:30:00Z").unwrap();
        let now = Now::new(moscow, at);
        assert_eq!(now.date(), d("2026-03-15"));
        assert!(now.reads(moscow, at));
        assert!(!now.reads(berlin, at));
        assert!(!now.reads(moscow, at + chrono::TimeDelta::seconds(1)));
    }

    proptest::proptest! {
        /// The integer path (a whole amount of scale 0) shifts exactly as the decimal path does
        /// for the same amount written with a decimal place (`14.0 days`), in every unit and
        /// both directions, out-of-range results included.
        #[test]
        fn whole_amounts_shift_as_decimals_do(
            amount in -3000i64..3000,
            unit in proptest::sample::select(DurationUnit::ALL.to_vec()),
            negative in proptest::bool::ANY,
            day in 0i64..40_000,
            minute in 0u32..1440,
        ) {
            let local = (d("1950-01-31") + chrono::TimeDelta::days(day))
                .and_hms_opt(minute / 60, minute % 60, 0)
                .unwrap();
            let whole = Duration { amount: Decimal::from(amount), unit };
            let written = Duration { amount: Decimal::new(amount * 10, 1), unit };
            proptest::prop_assert_eq!(
                shift_local(local, whole, negative),
                shift_local(local, written, negative)
            );
        }
    }

    #[test]
    fn months_clamp_to_the_end_of_the_month() {
        let dur = Duration {
            amount: Decimal::ONE,
            unit: DurationUnit::Month,
        };
        assert_eq!(
            shift_date(d("2026-01-31"), dur, false),
            Some(d("2026-02-28"))
        );
        assert_eq!(
            shift_date(d("2026-03-31"), dur, true),
            Some(d("2026-02-28"))
        );
    }

    #[test]
    fn periods_start_on_monday_first_of_month_and_january_first() {
        assert_eq!(period_start(Period::Week, d("2026-03-15")), d("2026-03-09"));
        assert_eq!(
            period_start(Period::Month, d("2026-03-15")),
            d("2026-03-01")
        );
        assert_eq!(period_start(Period::Year, d("2026-03-15")), d("2026-01-01"));
    }

    #[test]
    fn leap_day_birthdays_fall_on_the_28th() {
        assert_eq!(
            next_birthday(d("2000-02-29"), d("2026-02-01")),
            Some(d("2026-02-28"))
        );
        assert_eq!(
            next_birthday(d("1990-05-10"), d("2026-05-11")),
            Some(d("2027-05-10"))
        );
        assert_eq!(age(d("1966-03-15"), d("2026-03-14")), 59);
        assert_eq!(age(d("1966-03-15"), d("2026-03-15")), 60);
    }

    #[test]
    fn the_transactions_local_time_is_reused_only_for_its_own_instant() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        // The same instant written with another offset reads the same; the others anew, on
        // either side of a change of the zone's offset (29 March 2026, 01:00 UTC).
        let now = Now::new(
            tz,
            DateTime::parse_from_rfc3339("2026-03-29T00:30:00Z").unwrap(),
        );
        for text in [
            "2026-03-29T03:30:00+03:00",
            "2026-03-29T00:30:00Z",
            "2026-03-29T01:30:00Z",
            "2026-10-25T00:30:00Z",
            "2025-12-31T23:59:59-05:00",
        ] {
            let instant = DateTime::parse_from_rfc3339(text).unwrap();
            assert_eq!(now.local_of(instant), Now::new(tz, instant).local, "{text}");
        }
    }

    #[test]
    fn a_date_window_covers_whole_local_days() {
        let window = Window {
            from: Some(Moment::Date(d("2026-03-01"))),
            until: Some(Moment::Date(d("2026-03-31"))),
        };
        let tz: Tz = "Europe/Moscow".parse().unwrap();
        // 22:30 UTC on 31 March is 01:30 on 1 April in Moscow: outside.
        let late = DateTime::parse_from_rfc3339("2026-03-31T22:30:00Z").unwrap();
        assert!(!in_window(&window, &Now::new(tz, late)));
        let inside = DateTime::parse_from_rfc3339("2026-03-31T20:30:00Z").unwrap();
        assert!(in_window(&window, &Now::new(tz, inside)));
    }

    /// Whether `at` is in the window of `duration` ending at `end`, by the definition: not
    /// after `end`, and its wall-clock time not before the window's first wall-clock time.
    fn in_history_window_by_definition(
        at: DateTime<FixedOffset>,
        end: DateTime<FixedOffset>,
        duration: Duration,
        tz: Tz,
    ) -> bool {
        let first = shift_local(end.with_timezone(&tz).naive_local(), duration, true);
        at <= end && first.is_none_or(|s| at.with_timezone(&tz).naive_local() >= s)
    }

    #[test]
    fn a_window_starting_in_a_repeated_hour_compares_wall_clock_times() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        // 02:30 on 25 October 2026 happens twice in Berlin (+02:00, then +01:00).
        let end = DateTime::parse_from_rfc3339("2026-10-25T04:30:00+01:00").unwrap();
        let two_hours = Duration {
            amount: Decimal::from(2),
            unit: DurationUnit::Hour,
        };
        let window = HistoryWindow::new(end, end.with_timezone(&tz).naive_local(), two_hours, tz);
        assert!(matches!(window.start, WindowStart::Local(..)));
        let first_0230 = DateTime::parse_from_rfc3339("2026-10-25T02:30:00+02:00").unwrap();
        let first_0300 = DateTime::parse_from_rfc3339("2026-10-25T02:59:00+02:00").unwrap();
        let before = DateTime::parse_from_rfc3339("2026-10-25T02:29:00+02:00").unwrap();
        assert!(window.contains(first_0230));
        assert!(window.contains(first_0300));
        assert!(!window.contains(before));
    }

    /// Changes of offset the window tests start around: skipped and repeated hours, midnight
    /// changes, half-hour ones.
    const CHANGES: [(&str, &str); 8] = [
        ("Europe/Berlin", "2026-03-29T02:00:00"),
        ("Europe/Berlin", "2026-10-25T02:00:00"),
        ("America/New_York", "2026-03-08T02:00:00"),
        ("America/New_York", "2026-11-01T01:00:00"),
        ("Australia/Lord_Howe", "2026-04-05T01:30:00"),
        ("Australia/Lord_Howe", "2026-10-04T02:00:00"),
        ("America/Santiago", "2026-04-05T00:00:00"),
        ("America/Santiago", "2026-09-06T00:00:00"),
    ];

    /// A window of `hours` hours whose first wall-clock time is `start_shift` minutes from
    /// change `change`: its zone, first wall-clock time, duration and end (`None` when its
    /// end's wall-clock time is skipped).
    fn window_around(
        change: usize,
        start_shift: i64,
        hours: i64,
    ) -> Option<(Tz, NaiveDateTime, Duration, DateTime<FixedOffset>)> {
        let (zone, local) = CHANGES[change];
        let tz: Tz = zone.parse().unwrap();
        let change = NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S").unwrap();
        let first = change + chrono::TimeDelta::minutes(start_shift);
        let duration = Duration {
            amount: Decimal::from(hours),
            unit: DurationUnit::Hour,
        };
        let end = local_to_instant(first + chrono::TimeDelta::hours(hours), tz)?;
        Some((tz, first, duration, end))
    }

    proptest::proptest! {
        /// A history window decides as its definition does, for windows starting around
        /// changes of offset.
        #[test]
        fn a_history_window_covers_what_its_definition_covers(
            anchor in 0usize..8,
            start_shift in -300i64..300,
            hours in 1i64..60,
            at_shift in -400i64..400,
        ) {
            let Some((tz, first, duration, end)) = window_around(anchor, start_shift, hours) else {
                return Ok(());
            };
            let at = local_to_instant(first, tz).unwrap_or(end) + chrono::TimeDelta::minutes(at_shift);
            let window = HistoryWindow::new(end, end.with_timezone(&tz).naive_local(), duration, tz);
            proptest::prop_assert_eq!(
                window.contains(at),
                in_history_window_by_definition(at, end, duration, tz)
            );
        }

        /// Over a history in time order, the run a window finds by binary search is exactly
        /// the entries it covers, around the same changes of offset.
        #[test]
        fn a_windows_run_in_a_history_is_what_it_covers(
            anchor in 0usize..8,
            start_shift in -300i64..300,
            hours in 1i64..60,
            mut shifts in proptest::collection::vec(-4000i64..400, 0..40),
        ) {
            let Some((tz, _, duration, end)) = window_around(anchor, start_shift, hours) else {
                return Ok(());
            };
            shifts.sort_unstable();
            let history: Vec<(DateTime<FixedOffset>, ())> = shifts
                .iter()
                .map(|m| (end + chrono::TimeDelta::minutes(*m), ()))
                .collect();
            let window = HistoryWindow::new(end, end.with_timezone(&tz).naive_local(), duration, tz);
            let covered: Vec<usize> = (0..history.len())
                .filter(|&i| window.contains(history[i].0))
                .collect();
            match window.range_in(&history) {
                Some(run) => proptest::prop_assert_eq!(run.collect::<Vec<_>>(), covered),
                None => proptest::prop_assert!(matches!(window.start, WindowStart::Local(..))),
            }
        }
    }
}
