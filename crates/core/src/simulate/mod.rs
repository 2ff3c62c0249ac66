//! What a rule change costs before it ships: the same history replayed under program A and
//! program B, with the ledger's full semantics, and the two outcomes compared.
//!
//! A simulation is built from the pieces that run the live program — the evaluator and the
//! ledger's deciding and posting — never from a second copy of the logic: each program gets a
//! fresh [`DirectLedger`](crate::ledger::DirectLedger) (the ledger's code with its accounts in
//! memory and no store's units of work to undo), every transaction of the history is applied
//! to it, each account's in time order (pending points, expiry,
//! tiers, caps, budgets, coupons and refunds as the ledger does them; a redemption request in
//! the history is decided as the program would decide it), every account is brought to the
//! horizon (so points due to expire by then have expired), and the decisions and the journal
//! are counted ([`Outcome`]).
//!
//! Customers are independent of each other except through a promotion's shared budget, so the
//! history is split by account into parts replayed side by side (with the `parallel` feature,
//! on every core), and the parts' outcomes added up; the result is the same for any number of
//! parts. Within a part, accounts are replayed one after another, each account's history
//! whole, which keeps its state in the processor's cache. A program with a budget is replayed
//! in one part, in the history's time order across all customers, since who gets the last of a
//! budget depends on that order.
//!
//! ```
//! use puntos::simulate::{simulate, Settings};
//! use puntos::synth;
//! use puntos::versions::Versions;
//! use puntos_dsl::SourceFile;
//!
//! let program = |rate: &str| {
//!     let text = format!(r#"program "Club" {{ currency RUB  timezone "Europe/Moscow" }}
//! rule base {{ on purchase  earn floor(item.amount / {rate} RUB) points for each item }}"#);
//!     let program = puntos::compile(&SourceFile::new("club.pts", &text)).program.unwrap();
//!     Versions::new(vec![program]).unwrap()
//! };
//! let population = synth::generate(
//!     &synth::Settings { customers: 20, ..synth::Settings::default() },
//!     "RUB",
//!     chrono_tz::Europe::Moscow,
//! );
//! let history = population.transactions.into();
//! let run = simulate(&program("10"), &program("20"), &history, &Settings::default(), &|_| {})
//!     .unwrap();
//! assert!(run.b.totals.issued() < run.a.totals.issued());
//! assert_eq!(run.comparison.gain, 0);
//! ```

mod compare;
mod replay;
pub mod report;
mod summary;
pub mod tables;
mod tally;

pub use compare::{compare, Bucket, Comparison, CustomerDelta, TierMove};
pub use tally::{CustomerOutcome, Flows, Outcome, Refusal};

use crate::fast_hash::{HashMap, HashSet};
use crate::ledger::{AccountState, Incoming};
use crate::parallel;
use crate::versions::Versions;
use chrono::{DateTime, FixedOffset};
use serde::Serialize;

/// Why a simulation could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimulateError {
    /// The settings do not make sense (an empty window...).
    #[error("{0}")]
    Settings(String),
    /// The ledger's store failed, or an account's lots disagree with its journal: a bug,
    /// reported rather than hidden.
    #[error("the simulated ledger failed: {0}")]
    Ledger(String),
}

/// How to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Only transactions at or after this moment.
    pub from: Option<DateTime<FixedOffset>>,
    /// Only transactions before this moment; also the horizon every account is brought to.
    /// Without it, the horizon is the last transaction's time.
    pub to: Option<DateTime<FixedOffset>>,
    /// Parts the history is split into by account (0: sixteen per core).
    pub parts: usize,
    /// The largest moves each way kept in the comparison.
    pub top: usize,
    /// How customers spend their points.
    pub redemptions: Redemptions,
    /// Customers generated and replayed at a time from a synthetic population (0: 20,000).
    pub slice: usize,
}

/// How customers spend points in a simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Redemptions {
    /// As the history asks: each transaction's own `redeem`, decided by the program (a request
    /// it does not allow is refused, as at the till).
    #[default]
    AsInHistory,
    /// A stated propensity, for a history whose requests would not fit the program tried (or
    /// that has none, like a legacy export's): on each purchase the customer pays with as many
    /// points as the program allows ([`Ledger::redeemable`](crate::ledger::Ledger::redeemable))
    /// with probability `share`, drawn from the transaction's id and `seed`; the history's own
    /// requests are set aside.
    Propensity {
        /// The share of purchases on which a customer spends, from 0 to 1.
        share: rust_decimal::Decimal,
        /// The seed of the draws: the same seed, the same purchases.
        seed: u64,
    },
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            from: None,
            to: None,
            parts: 0,
            top: 20,
            redemptions: Redemptions::AsInHistory,
            slice: 0,
        }
    }
}

/// A simulation of A and B over the same history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Simulation {
    /// Transactions replayed (inside the window).
    pub transactions: u64,
    /// The first transaction's time, if any.
    #[serde(serialize_with = "crate::instant_json::write_option")]
    pub first: Option<DateTime<FixedOffset>>,
    /// The moment every account was brought to.
    #[serde(serialize_with = "crate::instant_json::write")]
    pub horizon: DateTime<FixedOffset>,
    /// Under program A.
    pub a: Outcome,
    /// Under program B.
    pub b: Outcome,
    /// B against A.
    pub comparison: Comparison,
}

/// A history to replay.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Accounts opened before the first transaction, for a history whose customers exist
    /// before it (a legacy CRM's, through the migration's identity plan: see
    /// `migrate::parallel::legacy_history`); empty when each account opens with its
    /// `signup`.
    pub accounts: Vec<AccountState>,
    /// The transactions, in any order: they are replayed in time order (ties in this order).
    pub transactions: Vec<Incoming>,
}

impl History {
    /// A history whose accounts exist from before it starts: every account a transaction names
    /// and no `signup` in it opens is held open from the start, with no points. That is the
    /// shape of a CRM's extract, which lists the purchases of customers who joined before it
    /// begins; without it, their transactions would be refused as of unknown accounts.
    pub fn opening_accounts(transactions: Vec<Incoming>) -> History {
        let signed_up: std::collections::HashSet<&str> = transactions
            .iter()
            .filter(|i| i.customer.is_some() && *i.transaction.kind == *"signup")
            .map(|i| i.account.as_str())
            .collect();
        let mut opened = std::collections::BTreeSet::new();
        for incoming in &transactions {
            if !signed_up.contains(incoming.account.as_str()) {
                opened.insert(incoming.account.clone());
            }
        }
        let accounts = opened
            .into_iter()
            .map(|id| AccountState {
                customer: crate::eval::Customer {
                    id: id.clone(),
                    ..crate::eval::Customer::default()
                },
                id,
                ..AccountState::default()
            })
            .collect();
        History {
            accounts,
            transactions,
        }
    }
}

impl From<Vec<Incoming>> for History {
    fn from(transactions: Vec<Incoming>) -> Self {
        History {
            accounts: Vec::new(),
            transactions,
        }
    }
}

impl Simulation {
    /// Every rule and promotion that issued points under A or B, by name, with its points
    /// under A and under B (zero where it issued none).
    pub fn sources(&self) -> Vec<(&str, rust_decimal::Decimal, rust_decimal::Decimal)> {
        keys_of_both(&self.a.by_source, &self.b.by_source)
            .into_iter()
            .map(|name| {
                let of = |o: &Outcome| o.by_source.get(name).copied().unwrap_or_default();
                (name, of(&self.a), of(&self.b))
            })
            .collect()
    }
}

/// The keys of two maps together, in order, each once: the months, sources or accounts of A
/// and B side by side.
pub fn keys_of_both<'m, V, W>(
    a: &'m std::collections::BTreeMap<String, V>,
    b: &'m std::collections::BTreeMap<String, W>,
) -> Vec<&'m str> {
    let mut keys: Vec<&str> = a.keys().chain(b.keys()).map(String::as_str).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// What a simulation replays.
#[derive(Debug, Clone, Copy)]
pub enum Input<'h> {
    /// A history.
    History(&'h History),
    /// A synthetic population ([`crate::synth`]), for programs counting money in `currency`
    /// and reading time in `timezone`. When no program has a shared budget, customers are
    /// independent, so the population is generated and replayed a slice of customers at a time:
    /// memory holds one slice, whatever the population's size. With a budget it is generated
    /// whole, since who gets the last of a budget depends on the order across customers. Its
    /// horizon is the end of its period unless the settings' `to` says otherwise.
    Synthetic {
        /// What to generate.
        population: &'h crate::synth::Settings,
        /// The programs' currency.
        currency: &'h str,
        /// The programs' time zone.
        timezone: chrono_tz::Tz,
    },
}

impl<'h> From<&'h History> for Input<'h> {
    fn from(history: &'h History) -> Self {
        Input::History(history)
    }
}

/// Customers generated and replayed at a time from a synthetic population, by default: about
/// 330,000 transactions over 8 months, some 1.5 GB for the two programs of a simulation.
const SLICE: usize = 20_000;

/// Replays `input` under `a` and under `b` (side by side with the `parallel` feature) and
/// compares them. `progress` is told how many transactions were applied as they are (counting
/// both programs: twice the history in all).
pub fn simulate<'h>(
    a: &Versions,
    b: &Versions,
    input: impl Into<Input<'h>>,
    settings: &Settings,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Simulation, SimulateError> {
    let (outcomes, replayed) = replay_all(&[a, b], input.into(), settings, progress)?;
    let mut outcomes = outcomes.into_iter();
    let (Some(a), Some(b)) = (outcomes.next(), outcomes.next()) else {
        return Err(SimulateError::Ledger(
            "a program's outcome is missing".to_string(),
        ));
    };
    let comparison = compare(&a, &b, settings.top);
    Ok(Simulation {
        transactions: replayed.transactions,
        first: replayed.first,
        horizon: replayed.horizon,
        a,
        b,
        comparison,
    })
}

/// One program of a sweep: a value tried in place of the base program's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Variant {
    /// What was tried (the value), as the caller names it.
    pub label: String,
    /// What the program did with it.
    pub outcome: Outcome,
    /// Against the base program.
    pub comparison: Comparison,
}

/// A base program and its variants over the same history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sweep {
    /// Transactions replayed (inside the window).
    pub transactions: u64,
    /// The moment every account was brought to.
    #[serde(serialize_with = "crate::instant_json::write")]
    pub horizon: DateTime<FixedOffset>,
    /// The base program's outcome.
    pub base: Outcome,
    /// Each variant's, in the order given.
    pub variants: Vec<Variant>,
}

/// Replays `input` under `base` and under each variant (labelled), every program on its own
/// core when there are cores to spare, and compares each variant with the base: a parameter
/// sweep, such as several rates or thresholds tried at once.
pub fn sweep<'h>(
    base: &Versions,
    variants: &[(String, Versions)],
    input: impl Into<Input<'h>>,
    settings: &Settings,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Sweep, SimulateError> {
    let programs: Vec<&Versions> = std::iter::once(base)
        .chain(variants.iter().map(|(_, v)| v))
        .collect();
    let (outcomes, replayed) = replay_all(&programs, input.into(), settings, progress)?;
    let mut outcomes = outcomes.into_iter();
    let Some(base) = outcomes.next() else {
        return Err(SimulateError::Ledger(
            "the base outcome is missing".to_string(),
        ));
    };
    let variants = variants
        .iter()
        .zip(outcomes)
        .map(|((label, _), outcome)| Variant {
            label: label.clone(),
            comparison: compare(&base, &outcome, settings.top),
            outcome,
        })
        .collect();
    Ok(Sweep {
        transactions: replayed.transactions,
        horizon: replayed.horizon,
        base,
        variants,
    })
}

/// What a replay went through.
struct Replayed {
    transactions: u64,
    first: Option<DateTime<FixedOffset>>,
    horizon: DateTime<FixedOffset>,
}

/// Replays `input` under each program; the outcomes in the programs' order.
fn replay_all(
    programs: &[&Versions],
    input: Input<'_>,
    settings: &Settings,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(Vec<Outcome>, Replayed), SimulateError> {
    let (population, currency, timezone) = match input {
        Input::History(history) => {
            let window = Window::of(history, settings)?;
            let outcomes = run_all(programs, &window, settings, progress)?;
            let replayed = Replayed {
                transactions: window.transactions.len() as u64,
                first: window.transactions.first().map(|t| t.transaction.time),
                horizon: window.horizon,
            };
            return Ok((outcomes, replayed));
        }
        Input::Synthetic {
            population,
            currency,
            timezone,
        } => (population, currency, timezone),
    };
    let settings = Settings {
        to: settings.to.or(Some(population.end_instant(timezone))),
        ..*settings
    };
    let whole = programs.iter().any(|p| shares_budgets(p));
    let slice = if whole {
        population.customers.max(1)
    } else {
        SLICE
    };
    let mut totals: Vec<Outcome> = programs.iter().map(|_| Outcome::default()).collect();
    let mut replayed: Option<Replayed> = None;
    for start in (0..population.customers).step_by(slice) {
        let end = (start + slice).min(population.customers);
        let generated =
            crate::synth::generate_slice_by_customer(population, start..end, currency, timezone);
        let window = Window::generated(&generated, &settings)?;
        for (total, outcome) in totals
            .iter_mut()
            .zip(run_all(programs, &window, &settings, progress)?)
        {
            total.merge(outcome);
        }
        let first = window.transactions.first().map(|t| t.transaction.time);
        replayed = Some(match replayed {
            None => Replayed {
                transactions: window.transactions.len() as u64,
                first,
                horizon: window.horizon,
            },
            Some(r) => Replayed {
                transactions: r.transactions + window.transactions.len() as u64,
                first: r.first.into_iter().chain(first).min(),
                horizon: r.horizon,
            },
        });
        drop(window);
        parallel::drop_all(generated);
    }
    let replayed = replayed.ok_or_else(|| {
        SimulateError::Settings("the synthetic population has no customer".to_string())
    })?;
    for (total, versions) in totals.iter_mut().zip(programs) {
        total.estimate(point_value(versions, replayed.horizon));
    }
    Ok((totals, replayed))
}

/// Replays the window under each program (side by side with the `parallel` feature); the
/// outcomes in the programs' order.
fn run_all(
    programs: &[&Versions],
    window: &Window<'_>,
    settings: &Settings,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<Outcome>, SimulateError> {
    parallel::map_each(programs, |versions| {
        run_in(versions, window, settings, progress)
    })
    .into_iter()
    .collect()
}

/// Replays `history` under one program.
pub fn run(
    versions: &Versions,
    history: &History,
    settings: &Settings,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Outcome, SimulateError> {
    run_in(
        versions,
        &Window::of(history, settings)?,
        settings,
        progress,
    )
}

/// The transactions inside the settings' window, in time order, the accounts opened before
/// them, and the horizon.
pub(crate) struct Window<'h> {
    accounts: &'h [AccountState],
    transactions: Vec<&'h Incoming>,
    pub(crate) horizon: DateTime<FixedOffset>,
}

impl<'h> Window<'h> {
    /// The window of `history`.
    fn of(history: &'h History, settings: &Settings) -> Result<Window<'h>, SimulateError> {
        Window::over(&history.accounts, history.transactions.iter(), settings)
    }

    /// The window of the history of `accounts` and `transactions` (in any order).
    fn over(
        accounts: &'h [AccountState],
        transactions: impl Iterator<Item = &'h Incoming>,
        settings: &Settings,
    ) -> Result<Window<'h>, SimulateError> {
        let mut transactions: Vec<&Incoming> =
            transactions.filter(|i| inside(i, settings)).collect();
        // Stable: transactions at the same moment keep the history's order.
        transactions.sort_by_key(|i| i.transaction.time);
        // A repeated id is a retry: the ledger decides the first only. Dropping the rest here
        // lets each part forget a transaction once it is applied, unless a refund names it.
        let mut seen = HashSet::with_capacity_and_hasher(transactions.len(), Default::default());
        transactions.retain(|i| seen.insert(&*i.transaction.id));
        Window::in_order(accounts, transactions, settings)
    }

    /// The window of a generated slice (see `synth::generate_slice_by_customer`): each
    /// transaction goes to its place by its number in time order, with neither a sort nor a
    /// search for repeated ids (the generator repeats none).
    fn generated(
        slice: &'h [Vec<(usize, Incoming)>],
        settings: &Settings,
    ) -> Result<Window<'h>, SimulateError> {
        let mut placed: Vec<Option<&Incoming>> = vec![None; slice.iter().map(Vec::len).sum()];
        for (number, incoming) in slice.iter().flatten() {
            if let Some(place) = placed.get_mut(*number) {
                *place = Some(incoming);
            }
        }
        let transactions = placed
            .into_iter()
            .flatten()
            .filter(|i| inside(i, settings))
            .collect();
        Window::in_order(&[], transactions, settings)
    }

    /// The window of `transactions`, in time order, each id once.
    fn in_order(
        accounts: &'h [AccountState],
        transactions: Vec<&'h Incoming>,
        settings: &Settings,
    ) -> Result<Window<'h>, SimulateError> {
        if let (Some(from), Some(to)) = (settings.from, settings.to) {
            if from >= to {
                return Err(SimulateError::Settings(format!(
                    "the window is empty: --from {} is not before --to {}",
                    from.to_rfc3339(),
                    to.to_rfc3339()
                )));
            }
        }
        let horizon = settings
            .to
            .or_else(|| transactions.last().map(|i| i.transaction.time))
            .ok_or_else(|| {
                SimulateError::Settings(
                    "no transaction to replay: the history is empty or outside the window"
                        .to_string(),
                )
            })?;
        Ok(Window {
            accounts,
            transactions,
            horizon,
        })
    }
}

/// Whether `incoming` falls inside the settings' window (`from` included, `to` not).
fn inside(incoming: &Incoming, settings: &Settings) -> bool {
    let time = incoming.transaction.time;
    settings.from.is_none_or(|from| time >= from) && settings.to.is_none_or(|to| time < to)
}

/// Replays the window under one program, in parts.
fn run_in(
    versions: &Versions,
    window: &Window<'_>,
    settings: &Settings,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Outcome, SimulateError> {
    let shared = shares_budgets(versions);
    let count = if shared {
        1
    } else if settings.parts == 0 {
        // Small parts keep each one's accounts and counts in the cache: 16 a core replayed
        // faster than 4 a core (BENCHMARKS.md).
        16 * parallel::cores()
    } else {
        settings.parts
    };
    // Customers who share nothing are replayed one after another, each account's history
    // whole: its state stays in the cache from one transaction to the next.
    let order = if shared {
        Order::ByTime
    } else {
        Order::ByAccount
    };
    let parts = split(window, count, order);
    let outcomes = parallel::map_each(&parts, |part| {
        replay::replay(versions, part, window, settings.redemptions, progress)
    });
    let mut total = Outcome::default();
    for outcome in outcomes {
        total.merge(outcome?);
    }
    total.estimate(point_value(versions, window.horizon));
    Ok(total)
}

/// The money value of a point at `horizon`: the redemption rate of the version then.
fn point_value(
    versions: &Versions,
    horizon: DateTime<FixedOffset>,
) -> Option<rust_decimal::Decimal> {
    versions
        .at(horizon)
        .and_then(|p| p.redemption.as_ref())
        .filter(|r| !r.rate_points.is_zero())
        .map(|r| r.rate_money / r.rate_points)
}

/// Whether any version has a promotion whose budget customers share.
fn shares_budgets(versions: &Versions) -> bool {
    versions.programs().any(|p| {
        p.promotions
            .iter()
            .any(|promotion| promotion.budget.is_some())
    })
}

/// One part of the history: some of the accounts, all their transactions.
pub(crate) struct Part<'h> {
    /// The accounts to open first.
    pub accounts: Vec<&'h AccountState>,
    /// Their transactions, in the order of [`split`]: by time, or account by account.
    pub transactions: Vec<&'h Incoming>,
}

/// The order a part's transactions are replayed in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    /// Time order across all the part's accounts: needed when accounts share something (a
    /// promotion's budget), whose state depends on who came first.
    ByTime,
    /// Account by account (in order of first appearance), each account's transactions in time
    /// order: the same outcome when accounts share nothing, and an account's state is read
    /// while it is still in the processor's cache rather than after every other account's
    /// transactions of the same days have pushed it out.
    ByAccount,
}

/// Splits the window into `count` parts by account (accounts dealt out in order of first
/// appearance, then those without a transaction), each part in `order`. A transaction naming
/// an account by one of its aliases goes with the account.
fn split<'h>(window: &Window<'h>, count: usize, order: Order) -> Vec<Part<'h>> {
    let count = count.max(1);
    let mut parts: Vec<Part<'h>> = (0..count)
        .map(|_| Part {
            accounts: Vec::new(),
            transactions: Vec::new(),
        })
        .collect();
    let id_of: HashMap<&str, &str> = window
        .accounts
        .iter()
        .flat_map(|a| {
            a.aliases
                .iter()
                .map(move |alias| (alias.as_str(), a.id.as_str()))
        })
        .collect();
    // Each account's number in order of first appearance; its part is that number modulo
    // `count`.
    let mut number_of: HashMap<&str, usize> = HashMap::default();
    let mut deal = |id: &'h str| {
        let next = number_of.len();
        *number_of.entry(id).or_insert(next)
    };
    let mut numbered: Vec<Vec<(usize, &'h Incoming)>> = vec![Vec::new(); count];
    for incoming in &window.transactions {
        let name = incoming.account.as_str();
        let number = deal(id_of.get(name).copied().unwrap_or(name));
        if let Some(p) = numbered.get_mut(number % count) {
            p.push((number, incoming));
        }
    }
    for (part, mut transactions) in parts.iter_mut().zip(numbered) {
        if order == Order::ByAccount {
            // Stable: an account's transactions keep their time order.
            transactions.sort_by_key(|(number, _)| *number);
        }
        part.transactions = transactions.into_iter().map(|(_, t)| t).collect();
    }
    for account in window.accounts {
        let number = deal(&account.id);
        if let Some(p) = parts.get_mut(number % count) {
            p.accounts.push(account);
        }
    }
    parts.retain(|p| !p.transactions.is_empty() || !p.accounts.is_empty());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use puntos_dsl::SourceFile;

    /// The pharmacy example without its budgets: customers share nothing.
    fn pharmacy_without_budgets() -> Versions {
        let text: String = include_str!("../../../../examples/pharmacy/program.pts")
            .lines()
            .filter(|line| !line.trim_start().starts_with("budget "))
            .map(|line| format!("{line}\n"))
            .collect();
        let mut program = crate::compile(&SourceFile::new("program.pts", &text))
            .program
            .expect("the example compiles without its budgets");
        program.effective_from = None;
        Versions::new(vec![program]).expect("one version")
    }

    /// The outcome of replaying `window` in `count` parts, each in `order`.
    fn replayed(versions: &Versions, window: &Window<'_>, count: usize, order: Order) -> Outcome {
        let mut total = Outcome::default();
        for part in split(window, count, order) {
            let outcome =
                replay::replay(versions, &part, window, Redemptions::AsInHistory, &|_| {});
            total.merge(outcome.expect("the part replays"));
        }
        total
    }

    #[test]
    fn account_by_account_gives_what_time_order_gives_when_accounts_share_nothing() {
        let versions = pharmacy_without_budgets();
        let population = crate::synth::Settings {
            customers: 300,
            months: 14,
            seed: 5,
            ..crate::synth::Settings::default()
        };
        let history: History =
            crate::synth::generate(&population, "RUB", chrono_tz::Europe::Moscow)
                .transactions
                .into();
        let window = Window::of(&history, &Settings::default()).expect("a window");
        let by_time = replayed(&versions, &window, 1, Order::ByTime);
        // The history exercises what an order could change: refunds, refusals, expiry, tiers.
        assert!(by_time.refused > 0 && !by_time.refusals.is_empty());
        assert!(by_time.totals.expired > rust_decimal::Decimal::ZERO);
        assert!(by_time.totals.reversed > rust_decimal::Decimal::ZERO);
        assert!(by_time.by_tier.len() > 1);
        for count in [1, 3] {
            assert_eq!(
                replayed(&versions, &window, count, Order::ByAccount),
                by_time
            );
        }
        assert_eq!(replayed(&versions, &window, 3, Order::ByTime), by_time);
    }
}
