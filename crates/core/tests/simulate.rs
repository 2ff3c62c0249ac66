//! The simulation harness: a small history whose totals are worked out by hand, a program
//! against itself, the result independent of how the history is split, and the invariants of
//! every customer's points over generated populations.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use proptest::prelude::*;
use puntos::ledger::Incoming;
use puntos::simulate::{self, Flows, History, Outcome, Settings};
use puntos::synth;
use puntos::Versions;
use puntos_dsl::SourceFile;
use rust_decimal::Decimal;

/// 1 point per `per` RUB on every line; points expire 30 days after they are earned; a point
/// pays 1 RUB.
fn club(per: u32) -> Versions {
    let text = format!(
        r#"program "Club {per}" {{
  currency RUB
  timezone "Europe/Moscow"
}}

rule base {{
  on purchase
  earn floor(item.amount / {per} RUB) points for each item
  expire after 30 days
}}

redemption {{
  rate 1 point = 1 RUB
}}
"#
    );
    let program = puntos::compile(&SourceFile::new("club.pts", &text))
        .program
        .expect("the club program compiles");
    Versions::new(vec![program]).unwrap()
}

/// Two customers in March and April 2026 (Moscow time).
const HISTORY: &str = r#"
{"account": "C-1", "customer": {"id": "C-1"}, "transaction": {"id": "S-1", "kind": "signup", "time": "2026-03-01T10:00:00+03:00"}}
{"account": "C-2", "customer": {"id": "C-2"}, "transaction": {"id": "S-2", "kind": "signup", "time": "2026-03-01T11:00:00+03:00"}}
{"account": "C-1", "transaction": {"id": "T-1", "time": "2026-03-02T10:00:00+03:00", "lines": [{"sku": "A", "unit_price": 600}, {"sku": "B", "unit_price": 400}]}}
{"account": "C-1", "refund_of": "T-1", "transaction": {"id": "R-1", "kind": "refund", "time": "2026-03-05T10:00:00+03:00", "lines": [{"original_line": 1, "unit_price": 400}]}}
{"account": "C-1", "transaction": {"id": "T-2", "time": "2026-03-10T10:00:00+03:00", "redeem": 30, "lines": [{"sku": "C", "unit_price": 500}]}}
{"account": "C-2", "transaction": {"id": "T-3", "time": "2026-03-11T10:00:00+03:00", "redeem": 1000, "lines": [{"sku": "D", "unit_price": 90}]}}
{"account": "C-2", "transaction": {"id": "T-4", "time": "2026-04-20T10:00:00+03:00", "lines": [{"sku": "E", "unit_price": 250}]}}
"#;

/// The history's transactions, a JSON line each.
fn read(text: &str) -> History {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| puntos::eval::from_json(l).unwrap())
        .collect::<Vec<Incoming>>()
        .into()
}

fn settings_to(to: &str) -> Settings {
    Settings {
        to: Some(chrono::DateTime::parse_from_rfc3339(to).unwrap()),
        ..Settings::default()
    }
}

fn d(n: i64) -> Decimal {
    Decimal::from(n)
}

fn flows(earned: i64, reversed: i64, redeemed: i64, expired: i64) -> Flows {
    Flows {
        earned: d(earned),
        reversed: d(reversed),
        redeemed: d(redeemed),
        expired: d(expired),
    }
}

#[test]
fn a_small_history_gives_the_totals_worked_out_by_hand() {
    let history = read(HISTORY);
    let settings = settings_to("2026-05-01T00:00:00+03:00");
    let run = simulate::simulate(&club(10), &club(20), &history, &settings, &|_| {}).unwrap();
    let a = &run.a;
    // C-1: T-1 earns 60 + 40; R-1 takes back B's 40; T-2 spends 30 of T-1's lot (oldest
    // first) and earns 50 on its 500 RUB. T-1's lot (30 left) expires on 1 April, T-2's (50)
    // on 9 April. C-2: T-3 asks for 1,000 points with none and is refused whole; T-4 earns 25,
    // which expire on 20 May, after the horizon.
    assert_eq!(a.program, "Club 10");
    assert_eq!((a.applied, a.refused), (6, 1));
    assert_eq!(a.refusals[0].transaction, "T-3");
    assert_eq!(a.totals, flows(175, 40, 30, 80));
    assert_eq!(a.totals.outstanding(), d(25));
    assert_eq!(a.liability, Some(d(25)));
    assert_eq!(a.pending, d(0));
    assert_eq!(a.by_month["2026-03"], flows(150, 40, 30, 0));
    assert_eq!(a.by_month["2026-04"], flows(25, 0, 0, 80));
    // The March cohort: earned, taken back and spent in March (age 0), expired in April (age
    // 1); settled, so its breakage (80 of the 110 points that left expired) is the forecast's.
    assert_eq!(
        a.by_cohort["2026-03"],
        [flows(150, 40, 30, 0), flows(0, 0, 0, 80)]
    );
    assert_eq!(a.by_cohort["2026-04"], [flows(25, 0, 0, 0)]);
    let f = &a.forecast;
    assert_eq!(f.settled_cohorts, 1);
    assert_eq!(f.breakage, Some("0.7273".parse().unwrap()));
    assert_eq!(f.expected_to_expire, Some(d(18)));
    assert_eq!(f.expected_to_be_spent, Some(d(7)));
    assert_eq!(f.expected_liability, Some(d(7)));
    assert_eq!(a.by_source["rule base"], d(135));
    assert_eq!(a.by_tier["none"], d(175));
    assert_eq!(a.customers["C-1"].flows, flows(150, 40, 30, 80));
    assert_eq!(a.customers["C-2"].flows, flows(25, 0, 0, 0));

    // B pays a point per 20 RUB: T-1 30 + 20, R-1 takes back 20, T-2 spends 30 and earns
    // 25, T-4 earns 12.
    let b = &run.b;
    assert_eq!(b.totals, flows(87, 20, 30, 25));
    assert_eq!(b.customers["C-1"].flows.issued(), d(55));
    let c = &run.comparison;
    assert_eq!((c.customers, c.gain, c.lose, c.same), (2, 0, 2, 0));
    assert_eq!(c.issued_delta, d(67 - 135));
    assert_eq!(c.outstanding_delta, d(12 - 25));
    assert_eq!(c.liability_delta, Some(d(-13)));
    assert_eq!(c.top_losers[0].account, "C-1");
    assert_eq!(c.top_losers[0].delta, d(55 - 110));
    assert_eq!(run.transactions, 7);
    assert_eq!(run.horizon.to_rfc3339(), "2026-05-01T00:00:00+03:00");
}

#[test]
fn the_window_keeps_only_its_transactions() {
    let history = read(HISTORY);
    let settings = Settings {
        from: Some(chrono::DateTime::parse_from_rfc3339("2026-03-01T00:00:00+03:00").unwrap()),
        ..settings_to("2026-03-06T00:00:00+03:00")
    };
    let a = simulate::run(&club(10), &history, &settings, &|_| {}).unwrap();
    assert_eq!(a.applied, 4);
    assert_eq!(a.totals, flows(100, 40, 0, 0));

    let empty = Settings {
        from: settings.to,
        ..settings
    };
    let err = simulate::run(&club(10), &history, &empty, &|_| {}).unwrap_err();
    assert!(err.to_string().contains("the window is empty"), "{err}");
}

fn population(customers: usize, seed: u64) -> History {
    synth::generate(
        &synth::Settings {
            customers,
            seed,
            ..synth::Settings::default()
        },
        "RUB",
        chrono_tz::Europe::Moscow,
    )
    .transactions
    .into()
}

fn pharmacy() -> Versions {
    Versions::new(vec![common::pharmacy().clone()]).unwrap()
}

#[test]
fn a_program_against_itself_moves_nobody() {
    let history = population(60, 7);
    let run = simulate::simulate(
        &pharmacy(),
        &pharmacy(),
        &history,
        &Settings::default(),
        &|_| {},
    )
    .unwrap();
    assert_eq!(run.a, run.b);
    let c = &run.comparison;
    assert_eq!((c.gain, c.lose, c.same), (0, 0, 60));
    assert_eq!(c.issued_delta, Decimal::ZERO);
    assert!(c.histogram.is_empty());
    assert!(c.tier_moves.iter().all(|m| m.a == m.b));
    // The pharmacy's promotions have budgets: it earned, spent and refused something.
    assert!(run.a.totals.earned > Decimal::ZERO);
    assert!(run.a.totals.redeemed > Decimal::ZERO);
    assert!(run.a.applied > 60);
}

/// Every customer's figures add up to the totals, and so do the months and the cohorts.
fn assert_consistent(o: &Outcome) {
    assert_eq!(Flows::sum(o.customers.values().map(|c| &c.flows)), o.totals);
    assert_eq!(Flows::sum(o.by_month.values()), o.totals);
    assert_eq!(Flows::sum(o.by_cohort.values().flatten()), o.totals);
    let by_source: Decimal = o.by_source.values().sum();
    assert_eq!(by_source, o.totals.issued());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// Per customer, issued = redeemed + expired + outstanding, where outstanding is what the
    /// account's lots hold (the replay checks the journal's figure against the lots); the
    /// result does not depend on how the history is split.
    #[test]
    fn points_are_conserved_and_parts_do_not_matter(
        customers in 5usize..40,
        seed in 0u64..1_000,
        parts in 2usize..9,
        per in prop::sample::select(vec![5u32, 10, 25]),
    ) {
        let history = population(customers, seed);
        let program = club(per);
        let whole = Settings { parts: 1, ..Settings::default() };
        let split = Settings { parts, ..Settings::default() };
        let one = simulate::run(&program, &history, &whole, &|_| {}).unwrap();
        let many = simulate::run(&program, &history, &split, &|_| {}).unwrap();
        for c in one.customers.values() {
            let f = c.flows;
            prop_assert_eq!(f.issued(), f.redeemed + f.expired + f.outstanding());
            prop_assert!(f.expired >= Decimal::ZERO && f.redeemed >= Decimal::ZERO);
        }
        assert_consistent(&one);
        prop_assert_eq!(one.totals, many.totals);
        prop_assert_eq!(&one.customers, &many.customers);
        prop_assert_eq!(&one.by_month, &many.by_month);
        prop_assert_eq!(&one.by_source, &many.by_source);
    }
}

#[test]
fn accounts_opened_before_the_history_are_found_by_their_aliases_in_any_part() {
    let accounts: Vec<puntos::ledger::AccountState> = (1..=4)
        .map(|n| puntos::ledger::AccountState {
            id: format!("A-{n}"),
            aliases: vec![format!("card-{n}")],
            ..Default::default()
        })
        .collect();
    let purchase = |n: u32, day: u32| -> Incoming {
        puntos::eval::from_json(&format!(
            r#"{{"account": "card-{n}", "transaction": {{"id": "T-{n}-{day}", "time": "2026-03-{day:02}T10:00:00+03:00", "lines": [{{"unit_price": {}}}]}}}}"#,
            100 * n
        ))
        .unwrap()
    };
    let history = History {
        accounts,
        transactions: (1..=3)
            .flat_map(|n| [purchase(n, 1), purchase(n, 2)])
            .collect(),
    };
    let one = simulate::run(
        &club(10),
        &history,
        &Settings {
            parts: 1,
            ..Settings::default()
        },
        &|_| {},
    )
    .unwrap();
    let three = simulate::run(
        &club(10),
        &history,
        &Settings {
            parts: 3,
            ..Settings::default()
        },
        &|_| {},
    )
    .unwrap();
    assert_eq!(one, three);
    assert_eq!(one.applied, 6);
    // Each card's account earns 10 points per 100 RUB twice; A-4 has no transaction and is
    // counted with nothing.
    assert_eq!(one.customers["A-2"].flows.earned, d(40));
    assert_eq!(one.customers.len(), 4);
    assert_eq!(one.customers["A-4"].flows, Flows::default());
    assert_eq!(one.totals.earned, d(120));
}

#[test]
fn a_sweep_compares_each_variant_with_the_base_as_a_simulation_would() {
    let history = read(HISTORY);
    let settings = settings_to("2026-05-01T00:00:00+03:00");
    let variants = vec![
        ("5 RUB".to_string(), club(5)),
        ("20 RUB".to_string(), club(20)),
    ];
    let sweep = simulate::sweep(&club(10), &variants, &history, &settings, &|_| {}).unwrap();
    assert_eq!(sweep.transactions, 7);
    assert_eq!(sweep.base.totals, flows(175, 40, 30, 80));
    let labels: Vec<&str> = sweep.variants.iter().map(|v| v.label.as_str()).collect();
    assert_eq!(labels, ["5 RUB", "20 RUB"]);
    let pair = simulate::simulate(&club(10), &club(20), &history, &settings, &|_| {}).unwrap();
    assert_eq!(sweep.variants[1].outcome, pair.b);
    assert_eq!(sweep.variants[1].comparison, pair.comparison);
    // A point per 5 RUB doubles what every customer is issued.
    assert_eq!(sweep.variants[0].comparison.gain, 2);
    assert_eq!(sweep.variants[0].outcome.totals.earned, d(350));
}

#[test]
fn a_propensity_spends_as_much_as_allowed_on_the_drawn_purchases_and_is_never_refused() {
    let history = population(40, 3);
    let with = |share: &str, parts: usize| Settings {
        parts,
        redemptions: simulate::Redemptions::Propensity {
            share: share.parse().unwrap(),
            seed: 9,
        },
        ..Settings::default()
    };
    let run =
        |settings: &Settings| simulate::run(&pharmacy(), &history, settings, &|_| {}).unwrap();
    // The synthetic history asks to spend on its own; a propensity of nothing sets it aside.
    let as_asked = run(&Settings::default());
    assert!(as_asked.totals.redeemed > Decimal::ZERO);
    let never = run(&with("0", 1));
    assert_eq!(never.totals.redeemed, Decimal::ZERO);
    let always = run(&with("1", 1));
    let half = run(&with("0.5", 1));
    assert!(always.totals.redeemed > half.totals.redeemed);
    assert!(half.totals.redeemed > Decimal::ZERO);
    // Asking for what the program allows is never refused for it.
    for outcome in [&always, &half] {
        assert!(
            outcome
                .refusals
                .iter()
                .all(|r| !r.reason.contains("transaction.redeem")),
            "{:?}",
            outcome.refusals
        );
    }
    // The draws depend on the transaction and the seed, not on the split (the pharmacy's
    // budgets keep it whole, so a program without them).
    let club_half =
        |parts| simulate::run(&club(10), &history, &with("0.5", parts), &|_| {}).unwrap();
    let whole = club_half(1);
    assert!(whole.totals.redeemed > Decimal::ZERO);
    assert_eq!(whole, club_half(4));
}

#[test]
fn a_synthetic_population_replayed_a_slice_at_a_time_gives_what_it_gives_whole() {
    let population = synth::Settings {
        customers: 50,
        seed: 21,
        ..synth::Settings::default()
    };
    let input = simulate::Input::Synthetic {
        population: &population,
        currency: "RUB",
        timezone: chrono_tz::Europe::Moscow,
    };
    let sliced = |slice| {
        let settings = Settings {
            slice,
            ..Settings::default()
        };
        simulate::simulate(&club(10), &club(20), input, &settings, &|_| {}).unwrap()
    };
    let (whole, slices) = (sliced(50), sliced(7));
    assert_eq!(whole.transactions, slices.transactions);
    assert_eq!(
        whole.horizon,
        population.end_instant(chrono_tz::Europe::Moscow)
    );
    assert_eq!(whole.horizon, slices.horizon);
    assert_eq!(whole.first, slices.first);
    for (one, other) in [(&whole.a, &slices.a), (&whole.b, &slices.b)] {
        assert_eq!(one.totals, other.totals);
        assert_eq!(one.customers, other.customers);
        assert_eq!(one.by_month, other.by_month);
        assert_eq!(one.by_cohort, other.by_cohort);
        assert_eq!(one.by_source, other.by_source);
        assert_eq!(one.liability, other.liability);
        assert_eq!(one.forecast, other.forecast);
    }
    assert_eq!(whole.comparison, slices.comparison);
    // The same history, generated whole and replayed as a history, agrees too.
    let history: History = synth::generate(&population, "RUB", chrono_tz::Europe::Moscow)
        .transactions
        .into();
    let settings = Settings {
        to: Some(whole.horizon),
        ..Settings::default()
    };
    let direct = simulate::simulate(&club(10), &club(20), &history, &settings, &|_| {}).unwrap();
    assert_eq!(direct.a.totals, whole.a.totals);
    assert_eq!(direct.comparison, whole.comparison);
}

#[test]
fn a_repeated_transaction_is_a_retry_and_a_refunded_purchase_stays_known() {
    // T-1 sent again later (a till's retry): decided once. R-1 refunds T-1 after many other
    // transactions of the part were applied and forgotten.
    let retried = HISTORY.to_string()
        + r#"{"account": "C-1", "transaction": {"id": "T-1", "time": "2026-03-20T10:00:00+03:00", "lines": [{"sku": "A", "unit_price": 600}, {"sku": "B", "unit_price": 400}]}}"#;
    let settings = settings_to("2026-05-01T00:00:00+03:00");
    let once = simulate::run(&club(10), &read(HISTORY), &settings, &|_| {}).unwrap();
    let twice = simulate::run(&club(10), &read(&retried), &settings, &|_| {}).unwrap();
    assert_eq!(once, twice);
    assert_eq!(twice.totals, flows(175, 40, 30, 80));
}

#[test]
fn an_extract_without_signups_opens_its_accounts_from_the_start() {
    // The same history without its two signups: as a plain history its transactions are
    // refused (no such account); opening the accounts first replays it as if they had joined.
    let purchases: Vec<Incoming> = HISTORY
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("signup"))
        .map(|l| puntos::eval::from_json(l).unwrap())
        .collect();
    let settings = settings_to("2026-05-01T00:00:00+03:00");
    let with_signups = simulate::run(&club(10), &read(HISTORY), &settings, &|_| {}).unwrap();
    let refused = simulate::run(&club(10), &purchases.clone().into(), &settings, &|_| {}).unwrap();
    assert_eq!(refused.refused, 5);
    let opened = History::opening_accounts(purchases);
    let ids: Vec<&str> = opened.accounts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["C-1", "C-2"]);
    let replayed = simulate::run(&club(10), &opened, &settings, &|_| {}).unwrap();
    assert_eq!(
        replayed.refused, with_signups.refused,
        "T-3 asks for more points than held"
    );
    assert_eq!(replayed.totals, with_signups.totals);
    // An account with its own signup in the history is left for the signup to open.
    let mixed = History::opening_accounts(read(HISTORY).transactions);
    assert!(mixed.accounts.is_empty());
}
