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
use super::load::Staging;
use super::profile::FileProfile;
use super::rows::TxRow;
use super::scan::{
    keep_first, read_file, read_history, read_snapshots, Basis, Keys, KnownCards, RowCard,
};
use super::{MigrateError, Observer};
use crate::program::Name;
use chrono::{DateTime, FixedOffset};
use indexmap::IndexMap;
use rust_decimal::Decimal;
use serde::Serialize;
use std::path::Path;

/// One card at cutover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardCutover {
    /// The card.
    pub card_no: Name,
    /// Its snapshot balance (zero without a balance row).
    pub snapshot: Decimal,
    /// Net points after the snapshot.
    pub delta: Decimal,
    /// The legacy system's balance at cutover, when exported.
    pub legacy_cutover: Option<Decimal>,
}

impl CardCutover {
    /// `snapshot + delta`: the balance the new system opens with. (Worked out, not kept: a
    /// cutover holds millions of cards.)
    pub fn final_balance(&self) -> Decimal {
        (self.snapshot + self.delta).normalize()
    }

    /// `legacy_cutover - final_balance`, when there is a legacy cutover balance.
    pub fn difference(&self) -> Option<Decimal> {
        self.legacy_cutover
            .map(|l| (l - self.final_balance()).normalize())
    }
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
            .filter(|c| c.difference().is_some_and(|d| !d.is_zero()))
        {
            let _ = writeln!(
                out,
                "  {}: final {}, legacy {}, difference {}",
                c.card_no,
                c.final_balance(),
                c.legacy_cutover.unwrap_or_default(),
                c.difference().unwrap_or_default()
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

/// A cutover under way: cards and the transactions applied after their snapshots (by
/// [`cutover_on`], or beside the reconciliation in one pass over the history by a run).
pub(super) struct Applying<'b> {
    basis: &'b Basis,
    /// The cards with a balance row, in its order.
    in_snapshot: Vec<Card>,
    /// The cards without one, in order of their first row after it.
    others: IndexMap<Name, Card>,
    applied: (u64, Decimal),
    moment: Option<DateTime<FixedOffset>>,
}

impl<'b> Applying<'b> {
    /// Nothing applied yet.
    pub(super) fn new(basis: &'b Basis) -> Self {
        Applying {
            basis,
            in_snapshot: basis.snapshots.values().map(|_| Card::default()).collect(),
            others: IndexMap::new(),
            applied: (0, Decimal::ZERO),
            moment: basis.snapshot_moment,
        }
    }

    /// Takes a row of the history (`first`: its id seen for the first time): applied if it
    /// comes after its card's snapshot.
    pub(super) fn history_row(&mut self, t: &TxRow<'_>, card: &RowCard) {
        if card.first && card.as_of.is_some_and(|a| t.occurred_at > a) {
            self.apply(t, card.snapshot);
        }
    }

    /// The card `card_no`'s running state (`snapshot`: its place in the snapshot, if it has
    /// one).
    fn card(&mut self, card_no: &str, snapshot: Option<usize>) -> &mut Card {
        match snapshot.and_then(|at| self.in_snapshot.get_mut(at)) {
            Some(card) => card,
            None => self.others.entry(card_no.into()).or_default(),
        }
    }

    /// Adds a transaction after the snapshot to its card (`snapshot`: the card's place in
    /// the snapshot, if it has one).
    fn apply(&mut self, t: &TxRow<'_>, snapshot: Option<usize>) {
        let net = t.points_earned - t.points_redeemed;
        self.card(t.card_no, snapshot).delta += net;
        self.applied.0 += 1;
        self.applied.1 += net;
        self.moment = self.moment.max(Some(t.occurred_at));
    }
}

/// Computes the cutover of the export in `folder`, handing rejected rows to `rejects`.
pub fn cutover(folder: &Path, rejects: &mut dyn Observer) -> Result<Cutover, MigrateError> {
    let (basis, ids) = Basis::read_all(folder, KnownCards::read(folder)?, rejects)?;
    cutover_on(folder, &basis, ids, None, rejects)
}

/// [`cutover`], sorting out the purchase history for a load as it reads the transactions
/// (`staging`, made from the identity plan).
pub fn cutover_staged(
    folder: &Path,
    staging: &mut Staging,
    rejects: &mut dyn Observer,
) -> Result<Cutover, MigrateError> {
    let cards = KnownCards::Placed(staging.shared_placement());
    let (basis, ids) = Basis::read_all(folder, cards, rejects)?;
    cutover_on(folder, &basis, ids, Some(staging), rejects)
}

/// [`cutover`], on the cards and snapshot already read, with the transaction ids' keys.
fn cutover_on(
    folder: &Path,
    basis: &Basis,
    mut ids: Keys,
    mut staging: Option<&mut Staging>,
    rejects: &mut dyn Observer,
) -> Result<Cutover, MigrateError> {
    let mut state = Applying::new(basis);
    let history = read_history(folder, basis, &mut ids, rejects, |t, card| {
        state.history_row(t, card);
        if let Some(staging) = staging.as_mut().filter(|_| card.first) {
            staging.history(t, card.account);
        }
    })?;
    state.finish(folder, history, ids, staging, rejects)
}

impl Applying<'_> {
    /// The delta applied after the history (`history`: how its rows were accounted for; `ids`:
    /// the ids it kept; `staging`: where the applied purchases and refunds go for a load), and
    /// the final balances compared with the legacy cutover balances.
    pub(super) fn finish(
        mut self,
        folder: &Path,
        history: FileProfile,
        mut ids: Keys,
        mut staging: Option<&mut Staging>,
        rejects: &mut dyn Observer,
    ) -> Result<Cutover, MigrateError> {
        let basis = self.basis;
        let cards = &basis.cards;
        let mut files = vec![basis.balance_file.clone(), history];
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
                    let account = cards.check(row, t.card_no)?;
                    if !keep_first(&mut ids, "tx_id", t.tx_id, row, p)? {
                        already_in_history += 1;
                        return Ok(());
                    }
                    if let Some(as_of) = basis.as_of(t.card_no).filter(|a| t.occurred_at <= *a) {
                        return Err(row.reject(
                            Some("occurred_at"),
                            format!(
                                "{} is not after the snapshot ({}): the snapshot already counts it",
                                t.occurred_at.to_rfc3339(),
                                as_of.to_rfc3339()
                            ),
                        ));
                    }
                    self.apply(&t, basis.snapshots.get_index_of(t.card_no));
                    if let Some(staging) = staging.as_mut() {
                        staging.history(&t, account);
                    }
                    Ok(())
                },
            )?;
            files.push(delta_file);
        }
        // Every id is read: its keys (and their screen) go before the cards' rows are made.
        drop(ids);
        if delta.join(ExportFile::Balances.file_name()).is_file() {
            let (legacy_file, legacy) =
                read_snapshots(&delta, "delta/balances.csv", cards, rejects)?;
            for (card, (balance, as_of)) in legacy {
                let snapshot = basis.snapshots.get_index_of(&card);
                self.card(&card, snapshot).legacy_cutover = Some(balance);
                self.moment = self.moment.max(Some(as_of));
            }
            files.push(legacy_file);
        }
        let Applying {
            in_snapshot,
            others,
            applied,
            moment,
            ..
        } = self;

        let snapshot_cards = basis
            .snapshots
            .iter()
            .zip(in_snapshot)
            .map(|((card_no, s), c)| (card_no.clone(), s.0, c));
        let other_cards = others
            .into_iter()
            .map(|(card_no, c)| (card_no, Decimal::ZERO, c));
        let cards: Vec<CardCutover> = snapshot_cards
            .chain(other_cards)
            .map(|(card_no, snapshot, c)| CardCutover {
                card_no,
                snapshot,
                delta: c.delta,
                legacy_cutover: c.legacy_cutover,
            })
            .collect();
        let compared = cards
            .iter()
            .fold((0, 0), |(same, other), c| match c.difference() {
                Some(d) if d.is_zero() => (same + 1, other),
                Some(_) => (same, other + 1),
                None => (same, other),
            });
        Ok(Cutover {
            snapshot_total: cards.iter().map(|c| c.snapshot).sum(),
            final_total: cards.iter().map(CardCutover::final_balance).sum(),
            cards,
            applied,
            already_in_history,
            compared,
            moment,
            files,
        })
    }
}
