//! The parallel run, as a bank asks before switching the old system off: the legacy purchases
//! and refunds replayed, in time order, through a puntos program on a fresh ledger, and the
//! points each earned (or took back) compared with the legacy system's, transaction by
//! transaction and card by card, with the main patterns of the mismatches and, for each
//! pattern, sample transactions with the rules that earned on the puntos side.
//!
//! A legacy row has an amount but no basket, so it is decided as one line of that amount (no
//! SKU, no category): a program whose rules read categories shows that as mismatches, which is
//! what a parallel run is for. A refund returns the share of its purchase's amount it names.
//! Redemptions, adjustments and expiries are not decided by a program and are not compared.
//! Accounts come from the identity plan, with the customers' profiles (birth dates, tiers held
//! none) and no opening balance: the replay builds each account's history as it goes.

use super::export::ExportFile;
use super::identity::IdentityPlan;
use super::rows::{TxKind, TxRow};
use super::scan::{keep_first, read_file, Keys, KnownCards};
use super::{MigrateError, Observer};
use crate::eval::{Line, Store as Shop, Transaction};
use crate::ledger::{AccountState, Incoming, Ledger, MemoryStore};
use crate::program::Name;
use crate::versions::Versions;
use chrono::{DateTime, FixedOffset};
use indexmap::IndexMap;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Sample transactions kept per mismatch pattern.
const SAMPLES: usize = 5;

/// How one legacy transaction compares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Compared {
    /// The legacy transaction id.
    pub tx_id: String,
    /// Its card.
    pub card_no: String,
    /// Purchase or refund.
    pub kind: &'static str,
    /// Net points the legacy system booked (`points_earned - points_redeemed`).
    pub legacy: Decimal,
    /// Net points puntos decided (earned, less taken back), or none if it refused.
    pub puntos: Option<Decimal>,
    /// What puntos said: the sources that earned, or why it refused.
    pub detail: String,
}

impl Compared {
    /// Whether both systems booked the same points.
    pub fn matches(&self) -> bool {
        self.puntos == Some(self.legacy)
    }

    /// The kind of mismatch, for grouping: `purchase: puntos earns more` and the like.
    pub fn pattern(&self) -> Option<String> {
        let how = match self.puntos {
            None => "puntos refuses it",
            Some(p) if p == self.legacy => return None,
            Some(p) if p.is_zero() => "puntos books nothing",
            Some(_) if self.legacy.is_zero() => "legacy booked nothing",
            Some(p) if p > self.legacy => "puntos books more",
            Some(_) => "puntos books less",
        };
        Some(format!("{}: {how}", self.kind))
    }
}

/// A group of mismatches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pattern {
    /// What the mismatches have in common.
    pub pattern: String,
    /// How many transactions.
    pub transactions: u64,
    /// The sum of `puntos - legacy` over them (refusals count as zero).
    pub points: Decimal,
    /// The first transactions of the pattern.
    pub samples: Vec<Compared>,
}

/// The parallel run of an export.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParallelRun {
    /// Every compared transaction, in replay (time) order.
    pub transactions: Vec<Compared>,
    /// Per card: legacy net points and puntos net points, in order of first appearance.
    pub cards: IndexMap<String, (Decimal, Decimal)>,
    /// Transactions that match.
    pub matched: u64,
    /// Mismatch patterns, most frequent first.
    pub patterns: Vec<Pattern>,
}

impl ParallelRun {
    /// The share of transactions that match, in percent to two places.
    pub fn match_rate(&self) -> Decimal {
        let all = self.transactions.len() as u64;
        if all == 0 {
            return Decimal::ONE_HUNDRED;
        }
        (Decimal::from(self.matched) * Decimal::ONE_HUNDRED / Decimal::from(all)).round_dp(2)
    }

    /// The summary for a person.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let cards_matching = self.cards.values().filter(|(l, p)| l == p).count();
        let _ = writeln!(
            out,
            "Parallel run: {} of {} transactions match ({}%); {cards_matching} of {} cards end equal",
            self.matched,
            self.transactions.len(),
            self.match_rate(),
            self.cards.len()
        );
        for p in &self.patterns {
            let _ = writeln!(
                out,
                "\n{}: {} transactions, {} points (puntos - legacy)",
                p.pattern, p.transactions, p.points
            );
            for s in &p.samples {
                let puntos = s.puntos.map_or("refused".to_string(), |p| p.to_string());
                let _ = writeln!(
                    out,
                    "  {} card {}: legacy {}, puntos {puntos}; {}",
                    s.tx_id, s.card_no, s.legacy, s.detail
                );
            }
        }
        out
    }
}

/// A legacy purchase or refund, as replayed.
struct Replayed {
    order: (DateTime<FixedOffset>, u64),
    tx_id: String,
    card_no: String,
    kind: TxKind,
    store: String,
    amount: Decimal,
    legacy: Decimal,
    original: Option<String>,
}

/// The legacy purchases and refunds as the ledger takes them, with the accounts they go to.
#[derive(Debug, Clone, PartialEq)]
pub struct LegacyHistory {
    /// The migration's accounts, fresh: their opening lots, history and moment dropped, so a
    /// replay builds each account's points as it goes.
    pub accounts: Vec<AccountState>,
    /// The purchases and refunds, in time order (ties in file order).
    pub transactions: Vec<Incoming>,
    /// Rows that cannot be replayed (a refund of a purchase the export lacks): transaction id
    /// and why.
    pub skipped: Vec<(String, String)>,
}

/// Reads the purchases and refunds of the export in `folder` as ledger transactions on the
/// accounts of `plan` (`accounts`, the migration's): a purchase is one line of its amount, a
/// refund returns the share of its purchase's amount it names.
pub fn legacy_history(
    folder: &Path,
    plan: &IdentityPlan,
    accounts: Vec<AccountState>,
    observer: &mut dyn Observer,
) -> Result<LegacyHistory, MigrateError> {
    let rows = read_rows(folder, observer)?;
    let convert = Converter::new(plan, &rows);
    let mut history = LegacyHistory {
        accounts: fresh(accounts),
        transactions: Vec::with_capacity(rows.len()),
        skipped: Vec::new(),
    };
    for r in &rows {
        match convert.incoming(r) {
            Ok(incoming) => history.transactions.push(incoming),
            Err(why) => history.skipped.push((r.tx_id.clone(), why)),
        }
    }
    Ok(history)
}

/// Replays the purchases and refunds of the export in `folder` through `versions`, on accounts
/// made from `accounts` (the migration's, whose opening lots and history are dropped).
pub fn parallel_run(
    folder: &Path,
    versions: Versions,
    plan: &IdentityPlan,
    accounts: Vec<AccountState>,
    observer: &mut dyn Observer,
) -> Result<ParallelRun, MigrateError> {
    let mut ledger = Ledger::new(MemoryStore::new(), versions);
    let at = DateTime::<FixedOffset>::MIN_UTC.fixed_offset();
    ledger
        .open_migrated(&fresh(accounts), at)
        .map_err(|e| MigrateError::Settings(format!("opening the accounts: {e}")))?;
    let rows = read_rows(folder, observer)?;
    let convert = Converter::new(plan, &rows);
    let mut run = ParallelRun {
        transactions: Vec::with_capacity(rows.len()),
        cards: IndexMap::new(),
        matched: 0,
        patterns: Vec::new(),
    };
    for r in &rows {
        let compared = replay(&mut ledger, r, convert.incoming(r));
        let card = run.cards.entry(r.card_no.clone()).or_default();
        card.0 += compared.legacy;
        card.1 += compared.puntos.unwrap_or_default();
        run.matched += u64::from(compared.matches());
        run.transactions.push(compared);
    }
    run.patterns = patterns(&run.transactions);
    Ok(run)
}

/// The accounts without their opening lots, history and moment.
fn fresh(accounts: Vec<AccountState>) -> Vec<AccountState> {
    accounts
        .into_iter()
        .map(|mut a| {
            a.lots.clear();
            a.history.clear();
            a.as_of = None;
            a
        })
        .collect()
}

/// The purchases and refunds of `transactions.csv`, in time order (ties in file order).
fn read_rows(folder: &Path, observer: &mut dyn Observer) -> Result<Vec<Replayed>, MigrateError> {
    let cards = KnownCards::read(folder)?;
    let mut rows: Vec<Replayed> = Vec::new();
    let mut keys = Keys::of(
        folder,
        ExportFile::Transactions,
        "transactions.csv",
        observer,
    )?;
    read_file(
        folder,
        ExportFile::Transactions,
        "transactions.csv",
        observer,
        |row, p| {
            let t = TxRow::read(row)?;
            cards.check(row, t.card_no)?;
            if !keep_first(&mut keys, "tx_id", t.tx_id, row, p)? {
                return Ok(());
            }
            if matches!(t.kind, TxKind::Purchase | TxKind::Refund) {
                rows.push(Replayed {
                    order: (t.occurred_at, row.line),
                    tx_id: t.tx_id.to_string(),
                    card_no: t.card_no.to_string(),
                    kind: t.kind,
                    store: t.store_id.to_string(),
                    amount: t.amount.unwrap_or_default(),
                    legacy: t.points_earned - t.points_redeemed,
                    original: t.original_tx_id.map(str::to_string),
                });
            }
            Ok(())
        },
    )?;
    rows.sort_by_key(|r| r.order);
    Ok(rows)
}

/// Turns legacy rows into ledger transactions.
struct Converter<'p> {
    /// Each purchase's amount, for the share a refund returns.
    amounts: HashMap<String, Decimal>,
    /// The account of each card.
    account_of: HashMap<&'p str, &'p str>,
}

impl<'p> Converter<'p> {
    fn new(plan: &'p IdentityPlan, rows: &[Replayed]) -> Self {
        Converter {
            amounts: rows
                .iter()
                .filter(|r| r.kind == TxKind::Purchase)
                .map(|r| (r.tx_id.clone(), r.amount))
                .collect(),
            account_of: plan
                .rows
                .iter()
                .map(|r| (&*r.legacy_id, &*r.account))
                .collect(),
        }
    }

    /// The ledger transaction of row `r`, or why it has none.
    fn incoming(&self, r: &Replayed) -> Result<Incoming, String> {
        let account = self
            .account_of
            .get(r.card_no.as_str())
            .map_or_else(|| format!("card:{}", r.card_no), |a| a.to_string());
        let line = |unit_price: Decimal, quantity: Decimal, original_line: Option<usize>| Line {
            sku: Name::default(),
            name: Name::default(),
            category: Name::default(),
            brand: Name::default(),
            unit_price,
            quantity,
            amount: None,
            original_line,
        };
        let (lines, refund_of) = match (r.kind, &r.original) {
            (TxKind::Refund, Some(original)) => {
                let Some(paid) = self.amounts.get(original).filter(|a| !a.is_zero()) else {
                    return Err(format!("refunds {original}, a purchase the export lacks"));
                };
                // The share of the purchase returned, as a fraction of its one line.
                let share = (r.amount / *paid).min(Decimal::ONE);
                (vec![line(*paid, share, Some(0))], Some(original.clone()))
            }
            (TxKind::Refund, None) => return Err("a refund without its purchase".to_string()),
            _ => (vec![line(r.amount, Decimal::ONE, None)], None),
        };
        Ok(Incoming {
            account,
            refund_of,
            customer: None,
            transaction: Transaction {
                id: r.tx_id.as_str().into(),
                kind: r.kind.as_str().into(),
                time: r.order.0,
                store: Shop {
                    id: r.store.as_str().into(),
                    ..Shop::default()
                },
                lines,
                ..Transaction::default()
            },
        })
    }
}

/// Decides one legacy transaction (or notes why it has none) on the ledger and compares.
fn replay(
    ledger: &mut Ledger<MemoryStore>,
    r: &Replayed,
    incoming: Result<Incoming, String>,
) -> Compared {
    let mut compared = Compared {
        tx_id: r.tx_id.clone(),
        card_no: r.card_no.clone(),
        kind: r.kind.as_str(),
        legacy: r.legacy,
        puntos: None,
        detail: String::new(),
    };
    let incoming = match incoming {
        Ok(incoming) => incoming,
        Err(why) => {
            compared.detail = why;
            return compared;
        }
    };
    match ledger.apply(&incoming) {
        Ok(applied) => {
            let decision = applied.decision();
            compared.puntos = Some(decision.points_earned() - decision.points_redeemed());
            let sources: BTreeMap<String, Decimal> =
                decision.effects.iter().fold(BTreeMap::new(), |mut m, e| {
                    match e {
                        crate::eval::Effect::Earn { source, points, .. } => {
                            *m.entry(source.to_string()).or_default() += *points;
                        }
                        crate::eval::Effect::ReverseEarn { source, points, .. } => {
                            *m.entry(source.to_string()).or_default() -= *points;
                        }
                        _ => {}
                    }
                    m
                });
            compared.detail = if sources.is_empty() {
                "no rule earned or took back".to_string()
            } else {
                sources
                    .iter()
                    .map(|(s, p)| format!("{s} {p}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
        }
        Err(e) => compared.detail = e.to_string(),
    }
    compared
}

/// Mismatches grouped by pattern, most frequent first (ties by name).
fn patterns(transactions: &[Compared]) -> Vec<Pattern> {
    let mut groups: BTreeMap<String, Pattern> = BTreeMap::new();
    for t in transactions {
        let Some(name) = t.pattern() else { continue };
        let group = groups.entry(name.clone()).or_insert_with(|| Pattern {
            pattern: name,
            transactions: 0,
            points: Decimal::ZERO,
            samples: Vec::new(),
        });
        group.transactions += 1;
        group.points += t.puntos.unwrap_or_default() - t.legacy;
        if group.samples.len() < SAMPLES {
            group.samples.push(t.clone());
        }
    }
    let mut list: Vec<Pattern> = groups.into_values().collect();
    list.sort_by_key(|p| std::cmp::Reverse(p.transactions));
    list
}
