//! Balance reconciliation: each card's balance recomputed from its history and compared with
//! the legacy snapshot, every difference classified with its amount (MIGRATION.md).
//!
//! A card's recomputed balance is the sum of `points_earned - points_redeemed` over its
//! transactions up to its snapshot's `as_of` (an exact duplicate row counted once; later rows
//! are left to the cutover). The difference `legacy - recomputed` is classified by the first
//! explanation that accounts for all of it:
//!
//! 1. **duplicate transaction**: the legacy balance counted a row the export repeats twice;
//! 2. **expiry not booked**: points older than the program's lifetime (`expiry_months`) that
//!    the legacy system expired without exporting an expiry row. Debits take the oldest points
//!    first, so the points left of those earned before the cutoff are what was earned before
//!    it minus everything debited (redemptions, expiries, negative adjustments);
//! 3. **manual adjustment**: the snapshot leaves out the history's manual adjustments;
//! 4. **rounding**: a difference smaller than the rounding tolerance;
//! 5. **unexplained**: anything else, a card without a balance row included.
//!
//! Points are conserved by construction and checked: the legacy total equals the recomputed
//! total plus the sum of the classified differences. A balance or transaction of a card that
//! `cards.csv` does not have is rejected (its points have no account to go to).

use super::placement::Placement;
use super::profile::FileProfile;
use super::rows::{TxKind, TxRow};
use super::scan::{read_history, Basis, Keys, KnownCards, RowCard};
use super::{MigrateError, Observer};
use crate::program::Name;
use chrono::{DateTime, FixedOffset, Months};
use indexmap::{IndexMap, IndexSet};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// How differences are told apart.
#[derive(Debug, Clone)]
pub struct ReconcileSettings {
    /// The legacy program's points lifetime, in months, if points expired.
    pub expiry_months: Option<u32>,
    /// Differences smaller than this are rounding.
    pub rounding_tolerance: Decimal,
}

/// What explains a card's difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DifferenceClass {
    /// No difference.
    Match,
    /// The legacy balance counted a repeated row twice.
    DuplicateTransaction,
    /// Points expired in the legacy system without an expiry row.
    ExpiryNotBooked,
    /// The snapshot leaves out manual adjustments.
    ManualAdjustment,
    /// A difference under the rounding tolerance.
    Rounding,
    /// Nothing in the export explains it.
    Unexplained,
}

impl DifferenceClass {
    /// The class as written in `reconciliation.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            DifferenceClass::Match => "match",
            DifferenceClass::DuplicateTransaction => "duplicate_transaction",
            DifferenceClass::ExpiryNotBooked => "expiry_not_booked",
            DifferenceClass::ManualAdjustment => "manual_adjustment",
            DifferenceClass::Rounding => "rounding",
            DifferenceClass::Unexplained => "unexplained",
        }
    }
}

/// One card reconciled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardBalance {
    /// The card.
    pub card_no: Name,
    /// Its legacy balance (zero without a balance row).
    pub legacy: Decimal,
    /// Its balance recomputed from the history up to the snapshot.
    pub recomputed: Decimal,
    /// What explains the difference.
    pub class: DifferenceClass,
    /// The explanation in words (empty for a match).
    pub explanation: Box<str>,
}

impl CardBalance {
    /// `legacy - recomputed`. (Worked out, not kept: a reconciliation holds millions of cards.)
    pub fn difference(&self) -> Decimal {
        (self.legacy - self.recomputed).normalize()
    }
}

/// Cards and points of one class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ClassTotal {
    /// Cards.
    pub cards: u64,
    /// The sum of their differences.
    pub points: Decimal,
}

/// The reconciliation of a legacy export.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reconciliation {
    /// Cards with a balance row in file order, then cards with history only in order of
    /// their first transaction.
    pub cards: Vec<CardBalance>,
    /// Cards and points per class.
    pub classes: BTreeMap<DifferenceClass, ClassTotal>,
    /// The sum of legacy balances.
    pub legacy_total: Decimal,
    /// The sum of recomputed balances.
    pub recomputed_total: Decimal,
    /// History rows after their card's snapshot, left to the cutover: rows and net points.
    pub after_snapshot: (u64, Decimal),
    /// Exact duplicate transaction rows, counted once: rows and net points.
    pub duplicate_rows: (u64, Decimal),
    /// How the rows of `balances.csv` and `transactions.csv` were accounted for.
    pub files: Vec<FileProfile>,
}

/// One new account reconciled: the sums of its cards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountBalance {
    /// The account's key.
    pub account: Name,
    /// Its cards, in the order they were reconciled.
    pub cards: Vec<Name>,
    /// The sum of their legacy balances.
    pub legacy: Decimal,
    /// The sum of their recomputed balances.
    pub recomputed: Decimal,
    /// `legacy - recomputed`.
    pub difference: Decimal,
}

impl Reconciliation {
    /// The accounts the cards land in (`placement` says which; a card it does not know keys an
    /// account of its own, `card:NUMBER`), each with its cards' sums, in order of first card.
    pub fn by_account(&self, placement: &Placement) -> Vec<AccountBalance> {
        let mut all = Vec::new();
        self.each_account(placement, |a| all.push(a));
        all
    }

    /// [`Reconciliation::by_account`] handed to `each` one account at a time, for writing
    /// millions of them: only each account's sums (by its number in `placement`, no map of
    /// keys) and a link per card are held meanwhile.
    pub fn each_account(&self, placement: &Placement, mut each: impl FnMut(AccountBalance)) {
        /// An account's sums, and its first and last card (indices into `self.cards`).
        #[derive(Clone)]
        struct Sums {
            legacy: Decimal,
            recomputed: Decimal,
            first: usize,
            last: usize,
        }
        /// The link of a card with no next card of its account.
        const END: usize = usize::MAX;
        // Accounts by number: the placement's, then those of cards it does not know.
        let mut sums: Vec<Option<Sums>> = vec![None; placement.len()];
        let mut unplaced: IndexSet<Name> = IndexSet::new();
        let mut order: Vec<usize> = Vec::new();
        // Each card's next card of the same account.
        let mut next: Vec<usize> = vec![END; self.cards.len()];
        for (i, card) in self.cards.iter().enumerate() {
            let number = match placement.card_account(&card.card_no) {
                Some(number) => number as usize,
                None => {
                    let key = Name::from(format!("card:{}", card.card_no));
                    placement.len() + unplaced.insert_full(key).0
                }
            };
            if sums.len() <= number {
                sums.resize(number + 1, None);
            }
            let Some(slot) = sums.get_mut(number) else {
                continue;
            };
            let account = slot.get_or_insert_with(|| {
                order.push(number);
                Sums {
                    legacy: Decimal::ZERO,
                    recomputed: Decimal::ZERO,
                    first: i,
                    last: i,
                }
            });
            if account.last != i {
                if let Some(link) = next.get_mut(account.last) {
                    *link = i;
                }
                account.last = i;
            }
            account.legacy += card.legacy;
            account.recomputed += card.recomputed;
        }
        for number in order {
            let Some(account) = sums.get_mut(number).and_then(Option::take) else {
                continue;
            };
            let key = match placement.accounts().get_index(number) {
                Some(key) => Name::clone(key),
                None => match unplaced.get_index(number - placement.len()) {
                    Some(key) => Name::clone(key),
                    None => continue,
                },
            };
            let cards = std::iter::successors(Some(account.first), |&i| {
                next.get(i).copied().filter(|n| *n != END)
            })
            .filter_map(|i| self.cards.get(i))
            .map(|c| Name::clone(&c.card_no))
            .collect();
            each(AccountBalance {
                account: key,
                cards,
                legacy: account.legacy,
                recomputed: account.recomputed,
                difference: (account.legacy - account.recomputed).normalize(),
            });
        }
    }

    /// Whether points are conserved: legacy = recomputed + classified differences.
    pub fn conserved(&self) -> bool {
        let classified: Decimal = self.classes.values().map(|c| c.points).sum();
        self.legacy_total == self.recomputed_total + classified
    }

    /// The summary for a person.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(out, "Balance reconciliation\n");
        let _ = writeln!(out, "{:<22} {:>8} {:>14}", "class", "cards", "points");
        for (class, total) in &self.classes {
            let _ = writeln!(
                out,
                "{:<22} {:>8} {:>14}",
                class.as_str(),
                total.cards,
                total.points
            );
        }
        let _ = writeln!(
            out,
            "\nlegacy balances {} = recomputed {} + differences {}: {}",
            self.legacy_total,
            self.recomputed_total,
            self.legacy_total - self.recomputed_total,
            super::conserved_word(self.conserved())
        );
        let _ = writeln!(
            out,
            "exact duplicate rows counted once: {} ({} points)",
            self.duplicate_rows.0, self.duplicate_rows.1
        );
        let _ = writeln!(
            out,
            "rows after the snapshot, left to the cutover: {} ({} points)",
            self.after_snapshot.0, self.after_snapshot.1
        );
        for f in &self.files {
            let _ = writeln!(out, "{}: {}", f.file, f.accounting("counted"));
        }
        out
    }
}

/// What a card's history adds up to (one per card: millions of them, so what few cards have,
/// repeated rows, is boxed apart).
#[derive(Default)]
struct History {
    /// Net points up to the snapshot.
    net: Decimal,
    /// Exact duplicate rows up to the snapshot, if any.
    duplicates: Option<Box<Duplicates>>,
    /// Net points of manual adjustments.
    adjustments: Decimal,
    /// Points earned before the expiry cutoff.
    earned_before_cutoff: Decimal,
    /// Points debited up to the snapshot.
    debited: Decimal,
}

/// A card's exact duplicate rows.
#[derive(Default)]
struct Duplicates {
    /// Their net points.
    net: Decimal,
    /// Their ids.
    ids: Vec<String>,
}

/// A row's net points.
fn net(t: &TxRow<'_>) -> Decimal {
    t.points_earned - t.points_redeemed
}

/// Reconciles the export in `folder`, handing rejected rows to `rejects`.
pub fn reconcile(
    folder: &Path,
    settings: &ReconcileSettings,
    rejects: &mut dyn Observer,
) -> Result<Reconciliation, MigrateError> {
    let (basis, ids) = Basis::read_all(folder, KnownCards::read(folder)?, rejects)?;
    reconcile_on(folder, settings, &basis, ids, rejects)
}

/// [`reconcile`], on the cards and snapshot already read, with the transaction ids' keys.
fn reconcile_on(
    folder: &Path,
    settings: &ReconcileSettings,
    basis: &Basis,
    mut ids: Keys,
    rejects: &mut dyn Observer,
) -> Result<Reconciliation, MigrateError> {
    let mut reconciling = Reconciling::new(basis, settings);
    let tx_file = read_history(folder, basis, &mut ids, rejects, |t, card| {
        reconciling.row(t, card)
    })?;
    Ok(reconciling.finish(tx_file))
}

/// The moment before which points have outlived the program's lifetime, for a card read up to
/// `as_of`.
fn expiry_cutoff(
    settings: &ReconcileSettings,
    as_of: DateTime<FixedOffset>,
) -> Option<DateTime<FixedOffset>> {
    settings
        .expiry_months
        .and_then(|m| as_of.checked_sub_months(Months::new(m)))
}

/// A reconciliation under way: each row of the history is added to its card's sums as it is
/// read (by [`reconcile_on`], or beside the cutover in one pass by a run).
pub(super) struct Reconciling<'b> {
    basis: &'b Basis,
    settings: &'b ReconcileSettings,
    /// Cards with a balance row, beside the snapshot in its order.
    in_snapshot: Vec<History>,
    /// The others by number, in order of their first row.
    others: IndexMap<Name, History>,
    after_snapshot: (u64, Decimal),
    duplicate_rows: (u64, Decimal),
}

impl<'b> Reconciling<'b> {
    /// Nothing read yet.
    pub(super) fn new(basis: &'b Basis, settings: &'b ReconcileSettings) -> Self {
        Reconciling {
            basis,
            settings,
            in_snapshot: basis
                .snapshots
                .values()
                .map(|_| History::default())
                .collect(),
            others: IndexMap::new(),
            after_snapshot: (0, Decimal::ZERO),
            duplicate_rows: (0, Decimal::ZERO),
        }
    }

    /// Adds a row of the history, with what was found of its card.
    pub(super) fn row(&mut self, t: &TxRow<'_>, card: &RowCard) {
        let RowCard {
            first,
            snapshot,
            as_of,
            ..
        } = *card;
        if as_of.is_some_and(|a| t.occurred_at > a) {
            if first {
                self.after_snapshot.0 += 1;
                self.after_snapshot.1 += net(t);
            }
            return;
        }
        let h = match snapshot.and_then(|at| self.in_snapshot.get_mut(at)) {
            Some(h) => h,
            // Looked up by the borrowed number: a String is made once per card, not per row.
            None => match self.others.get_index_of(t.card_no) {
                Some(at) => match self.others.get_index_mut(at) {
                    Some((_, h)) => h,
                    None => return,
                },
                None => self.others.entry(t.card_no.into()).or_default(),
            },
        };
        if !first {
            self.duplicate_rows.0 += 1;
            self.duplicate_rows.1 += net(t);
            let duplicates = h.duplicates.get_or_insert_default();
            duplicates.net += net(t);
            duplicates.ids.push(t.tx_id.to_string());
            return;
        }
        h.net += net(t);
        if t.kind == TxKind::Adjustment {
            h.adjustments += net(t);
        }
        let cut = as_of.and_then(|a| expiry_cutoff(self.settings, a));
        if t.points_earned.is_sign_positive() && cut.is_some_and(|c| t.occurred_at < c) {
            h.earned_before_cutoff += t.points_earned;
        }
        h.debited += t.points_redeemed - t.points_earned.min(Decimal::ZERO);
    }

    /// Every card classified, once the history (`tx_file`) is read.
    pub(super) fn finish(self, tx_file: FileProfile) -> Reconciliation {
        let Reconciling {
            basis,
            settings,
            in_snapshot,
            others,
            after_snapshot,
            duplicate_rows,
        } = self;
        let mut cards = Vec::with_capacity(basis.snapshots.len() + others.len());
        for ((card_no, snapshot), history) in basis.snapshots.iter().zip(&in_snapshot) {
            let cut = expiry_cutoff(settings, snapshot.1);
            cards.push(classify(card_no, Some(snapshot.0), history, cut, settings));
        }
        drop(in_snapshot);
        for (card_no, history) in &others {
            let cut = basis
                .snapshot_moment
                .and_then(|a| expiry_cutoff(settings, a));
            cards.push(classify(card_no, None, history, cut, settings));
        }
        let mut classes: BTreeMap<DifferenceClass, ClassTotal> = BTreeMap::new();
        for c in &cards {
            let total = classes.entry(c.class).or_default();
            total.cards += 1;
            total.points += c.difference();
        }
        Reconciliation {
            legacy_total: cards.iter().map(|c| c.legacy).sum(),
            recomputed_total: cards.iter().map(|c| c.recomputed).sum(),
            cards,
            classes,
            after_snapshot,
            duplicate_rows,
            files: vec![basis.balance_file.clone(), tx_file],
        }
    }
}

/// Classifies one card's difference.
fn classify(
    card_no: &Name,
    legacy: Option<Decimal>,
    h: &History,
    cutoff: Option<DateTime<FixedOffset>>,
    settings: &ReconcileSettings,
) -> CardBalance {
    let recomputed = h.net;
    let difference = (legacy.unwrap_or_default() - recomputed).normalize();
    let unbooked_expiry = (h.earned_before_cutoff - h.debited).max(Decimal::ZERO);
    let (class, explanation) = if difference.is_zero() {
        (DifferenceClass::Match, String::new())
    } else if let Some(d) = h
        .duplicates
        .as_ref()
        .filter(|d| !d.net.is_zero() && difference == d.net)
    {
        (
            DifferenceClass::DuplicateTransaction,
            format!(
                "the legacy balance counts the repeated row(s) {} twice",
                d.ids.join(", ")
            ),
        )
    } else if !unbooked_expiry.is_zero() && difference == -unbooked_expiry {
        let before = cutoff.map_or(String::new(), |c| format!(" before {}", c.date_naive()));
        (
            DifferenceClass::ExpiryNotBooked,
            format!("{unbooked_expiry} points earned{before} expired without an expiry row"),
        )
    } else if !h.adjustments.is_zero() && difference == -h.adjustments {
        (
            DifferenceClass::ManualAdjustment,
            format!(
                "the snapshot leaves out {} points of manual adjustments",
                h.adjustments
            ),
        )
    } else if difference.abs() < settings.rounding_tolerance {
        (
            DifferenceClass::Rounding,
            format!(
                "under the rounding tolerance of {}",
                settings.rounding_tolerance
            ),
        )
    } else if legacy.is_none() {
        (
            DifferenceClass::Unexplained,
            "no balance row for a card with history".to_string(),
        )
    } else {
        (
            DifferenceClass::Unexplained,
            "nothing in the history explains it".to_string(),
        )
    };
    CardBalance {
        card_no: Name::clone(card_no),
        legacy: legacy.unwrap_or_default(),
        recomputed,
        class,
        explanation: explanation.into(),
    }
}
