//! The cutover: the legacy snapshot plus everything after it, applied once. Balances exported
//! on day 0 are stale on day 1, so each card's final balance is its snapshot balance plus the
//! net points of the transactions after its snapshot's `as_of`: those of the history file and
//! of `delta/transactions.csv`. A transaction id in both counts once; the same id with other
//! fields is a conflict, reported as a rejected row and not applied. A delta row dated at or
//! before the snapshot is rejected too: the snapshot already counts what happened by then; so
//! is a row of a card `cards.csv` does not have.
//! Final balances are compared with the legacy system's own cutover balances
//! (`delta/balances.csv`) when it could export them.

use super::export::ExportFile;
use super::profile::FileProfile;
use super::repeats::Repeats;
use super::rows::TxRow;
use super::scan::{
    keep_first, read_file, read_snapshots, snapshot_of, Keys, KnownCards, Snapshots,
};
use super::{MigrateError, Observer};
use chrono::{DateTime, FixedOffset};
use indexmap::IndexMap;
use rust_decimal::Decimal;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

/// One card at cutover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardCutover {
    /// The card.
    pub card_no: String,
    /// Its snapshot balance (zero without a balance row).
    pub snapshot: Decimal,
    /// Net points after the snapshot.
    pub delta: Decimal,
    /// `snapshot + delta`: the balance the new system opens with.
    pub final_balance: Decimal,
    /// The legacy system's balance at cutover, when exported.
    pub legacy_cutover: Option<Decimal>,
    /// `legacy_cutover - final_balance`, when there is one.
    pub difference: Option<Decimal>,
}

/// The cutover of a legacy export.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cutover {
    /// Cards with a balance row in file order, then cards known only from later rows.
    pub cards: Vec<CardCutover>,
    /// The sum of snapshot balances.
    pub snapshot_total: Decimal,
    /// Transactions applied after the snapshot: rows and net points.
    pub applied: (u64, Decimal),
    /// Delta rows that repeat a row of the history (or of the delta) exactly: counted once.
    pub already_in_history: u64,
    /// The sum of final balances.
    pub final_total: Decimal,
    /// Cards whose final balance equals the legacy cutover balance, and cards whose does not.
    pub compared: (u64, u64),
    /// The cutover moment: the latest of the snapshot, the transactions applied after it and
    /// the legacy cutover balances (none for an empty export).
    pub moment: Option<DateTime<FixedOffset>>,
    /// How the rows of each file were accounted for.
    pub files: Vec<FileProfile>,
}

impl Cutover {
    /// Whether the totals add up: final = snapshot + applied.
    pub fn conserved(&self) -> bool {
        self.final_total == self.snapshot_total + self.applied.1
    }

    /// The summary for a person.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(out, "Cutover\n");
        let _ = writeln!(
            out,
            "snapshot {} + {} transactions after it ({} points) = final {}: {}",
            self.snapshot_total,
            self.applied.0,
            self.applied.1,
            self.final_total,
            super::conserved_word(self.conserved())
        );
        let _ = writeln!(
            out,
            "delta rows already in the history, counted once: {}",
            self.already_in_history
        );
        let (matched, mismatched) = self.compared;
        let _ = writeln!(
            out,
            "against the legacy cutover balances: {matched} cards match, {mismatched} differ"
        );
        for c in self
            .cards
            .iter()
            .filter(|c| c.difference.is_some_and(|d| !d.is_zero()))
        {
            let _ = writeln!(
                out,
                "  {}: final {}, legacy {}, difference {}",
                c.card_no,
                c.final_balance,
                c.legacy_cutover.unwrap_or_default(),
                c.difference.unwrap_or_default()
            );
        }
        for f in &self.files {
            let _ = writeln!(out, "{}: {}", f.file, f.accounting("kept"));
        }
        out
    }
}

/// A card's snapshot and what comes after it.
#[derive(Default)]
struct Card {
    delta: Decimal,
    legacy_cutover: Option<Decimal>,
}

/// Cards and the transactions applied after their snapshots.
struct Applying {
    snapshots: Snapshots,
    cards: IndexMap<String, Card>,
    snapshot_moment: Option<DateTime<FixedOffset>>,
    applied: (u64, Decimal),
    moment: Option<DateTime<FixedOffset>>,
}

impl Applying {
    /// The snapshot moment of `card`: its own, or (without a balance row) the latest.
    fn as_of(&self, card: &str) -> Option<DateTime<FixedOffset>> {
        snapshot_of(&self.snapshots, self.snapshot_moment, card)
    }

    /// Adds a transaction after the snapshot to its card.
    fn apply(&mut self, t: &TxRow<'_>) {
        let net = t.points_earned - t.points_redeemed;
        self.cards.entry(t.card_no.to_string()).or_default().delta += net;
        self.applied.0 += 1;
        self.applied.1 += net;
        self.moment = self.moment.max(Some(t.occurred_at));
    }
}

/// Computes the cutover of the export in `folder`, handing rejected rows to `rejects`.
pub fn cutover(folder: &Path, rejects: &mut dyn Observer) -> Result<Cutover, MigrateError> {
    let repeats = Arc::new(Repeats::scan(folder, rejects)?);
    cutover_screened(folder, &repeats, rejects)
}

/// [`cutover`], with the transaction ids that may repeat already found.
pub(super) fn cutover_screened(
    folder: &Path,
    repeats: &Arc<Repeats>,
    rejects: &mut dyn Observer,
) -> Result<Cutover, MigrateError> {
    let cards = KnownCards::read(folder)?;
    let (balance_file, snapshots) = read_snapshots(folder, "balances.csv", &cards, rejects)?;
    let snapshot_moment = snapshots.values().map(|s| s.1).max();
    let mut state = Applying {
        // Cards with a balance row first, in file order.
        cards: snapshots
            .keys()
            .map(|card| (card.clone(), Card::default()))
            .collect(),
        snapshots,
        snapshot_moment,
        applied: (0, Decimal::ZERO),
        moment: snapshot_moment,
    };
    let mut ids = Keys::screened(repeats);
    let mut files = vec![balance_file];
    let history = read_file(
        folder,
        ExportFile::Transactions,
        "transactions.csv",
        rejects,
        |row, p| {
            let t = TxRow::read(row)?;
            cards.check(row, t.card_no)?;
            if keep_first(&mut ids, "tx_id", t.tx_id, row, p)?
                && state.as_of(t.card_no).is_some_and(|a| t.occurred_at > a)
            {
                state.apply(&t);
            }
            Ok(())
        },
    )?;
    files.push(history);

    let delta = folder.join("delta");
    let mut already_in_history = 0;
    if delta.join(ExportFile::Transactions.file_name()).is_file() {
        let delta_file = read_file(
            &delta,
            ExportFile::Transactions,
            "delta/transactions.csv",
            rejects,
            |row, p| {
                let t = TxRow::read(row)?;
                cards.check(row, t.card_no)?;
                if !keep_first(&mut ids, "tx_id", t.tx_id, row, p)? {
                    already_in_history += 1;
                    return Ok(());
                }
                if let Some(as_of) = state.as_of(t.card_no).filter(|a| t.occurred_at <= *a) {
                    return Err(row.reject(
                        Some("occurred_at"),
                        format!(
                            "{} is not after the snapshot ({}): the snapshot already counts it",
                            t.occurred_at.to_rfc3339(),
                            as_of.to_rfc3339()
                        ),
                    ));
                }
                state.apply(&t);
                Ok(())
            },
        )?;
        files.push(delta_file);
    }
    if delta.join(ExportFile::Balances.file_name()).is_file() {
        let (legacy_file, legacy) = read_snapshots(&delta, "delta/balances.csv", &cards, rejects)?;
        for (card, (balance, as_of)) in legacy {
            state.cards.entry(card).or_default().legacy_cutover = Some(balance);
            state.moment = state.moment.max(Some(as_of));
        }
        files.push(legacy_file);
    }
    let Applying {
        snapshots,
        cards,
        applied,
        moment,
        ..
    } = state;

    let cards: Vec<CardCutover> = cards
        .into_iter()
        .map(|(card_no, c)| {
            let snapshot = snapshots.get(&card_no).map_or(Decimal::ZERO, |s| s.0);
            let final_balance = (snapshot + c.delta).normalize();
            CardCutover {
                card_no,
                snapshot,
                delta: c.delta,
                final_balance,
                legacy_cutover: c.legacy_cutover,
                difference: c.legacy_cutover.map(|l| (l - final_balance).normalize()),
            }
        })
        .collect();
    let compared = cards
        .iter()
        .fold((0, 0), |(same, other), c| match c.difference {
            Some(d) if d.is_zero() => (same + 1, other),
            Some(_) => (same, other + 1),
            None => (same, other),
        });
    Ok(Cutover {
        snapshot_total: cards.iter().map(|c| c.snapshot).sum(),
        final_total: cards.iter().map(|c| c.final_balance).sum(),
        cards,
        applied,
        already_in_history,
        compared,
        moment,
        files,
    })
}
