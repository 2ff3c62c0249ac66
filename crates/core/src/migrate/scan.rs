//! Reading a legacy file once, every row accounted for: the pass each migration step makes
//! over a file (rows counted as accepted or rejected, blanks per column, rejections handed to
//! the caller), and the keys seen so far, to tell an exact duplicate row from the same key with
//! other fields.

use super::export::{ExportFile, ExportReader, Next, Reject, Row};
use super::placement::Placement;
use super::profile::FileProfile;
use super::repeats::Repeats;
use super::rows::{BalanceRow, CardRow, TxRow};
use super::{MigrateError, Observer};
use crate::fast_hash::{HashMap, HashSet};
use crate::program::Name;
use chrono::{DateTime, FixedOffset};
use indexmap::IndexMap;
use rust_decimal::Decimal;
use std::hash::{BuildHasher, Hash, Hasher};
use std::path::Path;
use std::sync::Arc;

/// Rows read between two reports of progress.
const PROGRESS_EVERY: u64 = 1 << 16;

/// How many rejected rows of each file a profile keeps as samples (all go to the caller).
const SAMPLES: usize = 5;

/// A fixed-seed hash of a row's fields: equal fields, equal hash, in every run.
fn payload_hash(row: &Row<'_>) -> u64 {
    let mut h = foldhash::fast::FixedState::with_seed(0x7075_6e74_6f73).build_hasher();
    for field in row.fields() {
        field.hash(&mut h);
    }
    h.finish()
}

/// Whether a key was seen before, and with the same fields.
pub(super) enum Seen {
    /// Not before.
    First,
    /// On a row with the very same fields.
    Exact,
    /// On a row with other fields: where the first is (`on line 7`, or `on
    /// transactions.csv line 7` when it is in another file).
    Conflicting(String),
}

/// Where a key was first seen: the hash of its row's fields, its file (an index into
/// [`Keys::files`]) and its line.
type First = (u64, usize, u64);

/// Keys of one kind seen so far, in one file or several (a history and its delta), each with
/// where it was first seen: only the keys a [`Repeats`] pass says may repeat are recorded, and
/// any other is a first occurrence and is not kept (a hundred million transaction ids).
pub(super) struct Keys {
    first: HashMap<Box<str>, First>,
    files: Vec<String>,
    screen: Arc<Repeats>,
}

impl Keys {
    /// Keys that record only what `repeats` says may repeat.
    pub(super) fn screened(repeats: &Arc<Repeats>) -> Keys {
        Keys {
            first: HashMap::default(),
            files: Vec::new(),
            screen: Arc::clone(repeats),
        }
    }

    /// Keys of the first column of `file` in `dir` (named `label`), screened by a pass over it
    /// ([`Repeats`]) that tells `observer` how far it is.
    pub(super) fn of(
        dir: &Path,
        file: ExportFile,
        label: &str,
        observer: &mut dyn Observer,
    ) -> Result<Keys, MigrateError> {
        Ok(Keys::screened(&Arc::new(Repeats::of(
            dir, file, label, observer,
        )?)))
    }

    /// Records `key` of `row`.
    pub(super) fn see(&mut self, key: &str, row: &Row<'_>) -> Seen {
        if !self.screen.may_repeat(key) {
            return Seen::First;
        }
        let payload = payload_hash(row);
        let file = match self.files.iter().position(|f| f == row.file()) {
            Some(i) => i,
            None => {
                self.files.push(row.file().to_string());
                self.files.len() - 1
            }
        };
        match self.first.get(key) {
            None => {
                self.first.insert(key.into(), (payload, file, row.line));
                Seen::First
            }
            Some(&(first, _, _)) if first == payload => Seen::Exact,
            Some(&(_, first_file, line)) if first_file == file => {
                Seen::Conflicting(format!("on line {line}"))
            }
            Some(&(_, first_file, line)) => Seen::Conflicting(format!(
                "on {} line {line}",
                self.files.get(first_file).map_or("", String::as_str)
            )),
        }
    }
}

/// Passes progress on, each file named after `prefix` (`ids in transactions.csv`), and drops
/// rejected rows: for a pass over rows another step reports.
pub(super) struct ProgressOnly<'o> {
    observer: &'o mut dyn Observer,
    prefix: String,
}

impl<'o> ProgressOnly<'o> {
    /// Tells `observer` of progress only, under `prefix`.
    pub(super) fn new(observer: &'o mut dyn Observer, prefix: impl Into<String>) -> Self {
        ProgressOnly {
            observer,
            prefix: prefix.into(),
        }
    }
}

impl Observer for ProgressOnly<'_> {
    fn reject(&mut self, _: Reject) -> Result<(), MigrateError> {
        Ok(())
    }

    fn progress(&mut self, file: &str, read: u64, total: u64) {
        self.observer
            .progress(&format!("{}{file}", self.prefix), read, total);
    }
}

/// Whether a key is seen for the first time (kept) or again with the very same fields
/// (merged: accepted, not kept); seen again with other fields, the row is rejected naming the
/// line that is kept.
/// An exact duplicate is counted in `profile`.
pub(super) fn keep_first(
    keys: &mut Keys,
    key: &'static str,
    id: &str,
    row: &Row<'_>,
    profile: &mut FileProfile,
) -> Result<bool, Reject> {
    match keys.see(id, row) {
        Seen::First => Ok(true),
        Seen::Exact => {
            profile.exact_duplicates += 1;
            Ok(false)
        }
        Seen::Conflicting(first) => Err(row.reject(
            Some(key),
            format!("{id} again, with other fields than {first} (that row is kept)"),
        )),
    }
}

/// Reads one file, calling `accept` with each row that has the header's field count; rows
/// `accept` refuses and rows that cannot be read go to `rejects`.
pub(super) fn read_file(
    folder: &Path,
    file: ExportFile,
    label: &str,
    rejects: &mut dyn Observer,
    mut accept: impl FnMut(&Row<'_>, &mut FileProfile) -> Result<(), Reject>,
) -> Result<FileProfile, MigrateError> {
    let mut reader = ExportReader::open(folder, file, label)?;
    let total = std::fs::metadata(folder.join(file.file_name())).map_or(0, |m| m.len());
    let mut profile = FileProfile {
        file: label.to_string(),
        rows: 0,
        accepted: 0,
        rejected: 0,
        blanks: file.columns().iter().map(|c| (*c, 0)).collect(),
        exact_duplicates: 0,
        conflicting_duplicates: 0,
        date_ranges: IndexMap::new(),
        unknown_columns: reader.unknown_columns().to_vec(),
        reject_samples: Vec::new(),
    };
    rejects.progress(label, 0, total);
    loop {
        let outcome = match reader.next_row()? {
            Next::End => break,
            Next::Reject(r) => Err(r),
            Next::Row(row) => {
                for (count, field) in profile.blanks.values_mut().zip(row.fields()) {
                    *count += u64::from(field.is_empty());
                }
                accept(&row, &mut profile)
            }
        };
        profile.rows += 1;
        if profile.rows.is_multiple_of(PROGRESS_EVERY) {
            rejects.progress(label, reader.bytes_read(), total);
        }
        let Err(rejected) = outcome else {
            profile.accepted += 1;
            continue;
        };
        profile.rejected += 1;
        if profile.reject_samples.len() < SAMPLES {
            profile.reject_samples.push(rejected.clone());
        }
        rejects.reject(rejected)?;
    }
    rejects.progress(label, total, total);
    Ok(profile)
}

/// What the history pass finds of a row and its card, looked up once for every step that
/// takes the row (a hundred million rows, several steps).
pub(super) struct RowCard {
    /// Whether the row's id is seen for the first time (kept); otherwise it repeats an earlier
    /// row exactly.
    pub(super) first: bool,
    /// The card's place in the snapshot, if it has a balance row.
    pub(super) snapshot: Option<usize>,
    /// The moment the card's history is read up to (see [`Basis::as_of`]).
    pub(super) as_of: Option<DateTime<FixedOffset>>,
    /// The card's account number, when the cards are known by a placement.
    pub(super) account: Option<u32>,
}

/// Reads `transactions.csv` (the history) once for the steps that stand on `basis`: each row
/// of a known card is handed to `visit` with what was found of it ([`RowCard`]). A row of a
/// card `cards.csv` lacks, or repeating an id with other fields, is rejected. `ids` goes on to
/// the delta after it.
pub(super) fn read_history(
    folder: &Path,
    basis: &Basis,
    ids: &mut Keys,
    rejects: &mut dyn Observer,
    mut visit: impl FnMut(&TxRow<'_>, &RowCard),
) -> Result<FileProfile, MigrateError> {
    read_file(
        folder,
        ExportFile::Transactions,
        "transactions.csv",
        rejects,
        |row, p| {
            let t = TxRow::read(row)?;
            let account = basis.cards.check(row, t.card_no)?;
            let first = keep_first(ids, "tx_id", t.tx_id, row, p)?;
            let snapshot = basis.snapshots.get_full(t.card_no);
            let card = RowCard {
                first,
                snapshot: snapshot.map(|(at, _, _)| at),
                as_of: snapshot.map(|(_, _, s)| s.1).or(basis.snapshot_moment),
                account,
            };
            visit(&t, &card);
            Ok(())
        },
    )
}

/// A balance file's first row per card: the balance and its moment, in file order.
pub(super) type Snapshots = IndexMap<Name, (Decimal, DateTime<FixedOffset>)>;

/// The moment `card`'s history is read up to: its own snapshot's, or (a card without a balance
/// row) `latest`, the latest of all.
pub(super) fn snapshot_of(
    snapshots: &Snapshots,
    latest: Option<DateTime<FixedOffset>>,
    card: &str,
) -> Option<DateTime<FixedOffset>> {
    snapshots.get(card).map(|s| s.1).or(latest)
}

/// Reads a balance file (`balances.csv`, or the cutover's in `delta/`), keeping each card's
/// first row; a card repeated with another balance, or not in `cards`, is rejected.
pub(super) fn read_snapshots(
    folder: &Path,
    label: &str,
    cards: &KnownCards,
    rejects: &mut dyn Observer,
) -> Result<(FileProfile, Snapshots), MigrateError> {
    let mut snapshots = Snapshots::new();
    let mut keys = Keys::of(folder, ExportFile::Balances, label, rejects)?;
    let file = read_file(folder, ExportFile::Balances, label, rejects, |row, p| {
        let b = BalanceRow::read(row)?;
        cards.check(row, b.card_no)?;
        if keep_first(&mut keys, "card_no", b.card_no, row, p)? {
            snapshots.insert(b.card_no.into(), (b.balance, b.as_of));
        }
        Ok(())
    })?;
    Ok((file, snapshots))
}

/// The cards of `cards.csv` the identity plan places (rows read as cards; the first of a
/// repeated number). A balance or transaction of any other card is rejected: its points have
/// no account to go to.
pub(super) enum KnownCards {
    /// Read from `cards.csv` by [`KnownCards::read`].
    Read(HashSet<Box<str>>),
    /// The cards the identity plan placed: the same, when a load's [`Placement`] is at hand
    /// (millions of card numbers not held twice, `cards.csv` not read again).
    Placed(Arc<Placement>),
}

impl KnownCards {
    /// Reads the card numbers of `cards.csv` in `folder`. Its own bad rows are the identity
    /// plan's (and the profile's) to report, so they are not reported again here.
    pub(super) fn read(folder: &Path) -> Result<KnownCards, MigrateError> {
        let mut known = HashSet::default();
        let mut ignore = |_: Reject| Ok(());
        read_file(
            folder,
            ExportFile::Cards,
            "cards.csv",
            &mut ignore,
            |row, _| {
                let card = CardRow::read(row)?;
                known.insert(card.card_no.into());
                Ok(())
            },
        )?;
        Ok(KnownCards::Read(known))
    }

    /// Rejects `row` if `card` is not a known card; a known one's account number when the
    /// cards are known by a placement.
    pub(super) fn check(&self, row: &Row<'_>, card: &str) -> Result<Option<u32>, Reject> {
        let (known, account) = match self {
            KnownCards::Read(cards) => (cards.contains(card), None),
            KnownCards::Placed(placement) => {
                let account = placement.card_account(card);
                (account.is_some(), account)
            }
        };
        if known {
            Ok(account)
        } else {
            Err(row.reject(
                Some("card_no"),
                format!("card {card} is not in cards.csv: its points have no account"),
            ))
        }
    }
}

/// What the reconciliation and the cutover both stand on, read once for both: the cards of
/// `cards.csv` and the snapshot (`balances.csv`).
pub(super) struct Basis {
    /// The cards a balance or transaction may belong to.
    pub(super) cards: KnownCards,
    /// How the rows of `balances.csv` were accounted for.
    pub(super) balance_file: FileProfile,
    /// Each card's snapshot balance and moment.
    pub(super) snapshots: Snapshots,
    /// The latest snapshot moment: the one a card without a balance row is read up to.
    pub(super) snapshot_moment: Option<DateTime<FixedOffset>>,
}

impl Basis {
    /// Reads the snapshot of the export in `folder` (of `cards`).
    pub(super) fn read(
        folder: &Path,
        cards: KnownCards,
        rejects: &mut dyn Observer,
    ) -> Result<Basis, MigrateError> {
        let (balance_file, snapshots) = read_snapshots(folder, "balances.csv", &cards, rejects)?;
        Ok(Basis {
            snapshot_moment: snapshots.values().map(|s| s.1).max(),
            cards,
            balance_file,
            snapshots,
        })
    }

    /// [`Basis::read`], with the transaction ids' keys, screened by a pass of their own (the
    /// screen lives as long as the keys: at 100 million rows, some 400 MB).
    pub(super) fn read_all(
        folder: &Path,
        cards: KnownCards,
        rejects: &mut dyn Observer,
    ) -> Result<(Basis, Keys), MigrateError> {
        let basis = Basis::read(folder, cards, rejects)?;
        let repeats = Arc::new(Repeats::transactions(folder, rejects)?);
        Ok((basis, Keys::screened(&repeats)))
    }

    /// The moment `card`'s history is read up to: its own snapshot's, or (a card without a
    /// balance row) the latest of all.
    pub(super) fn as_of(&self, card: &str) -> Option<DateTime<FixedOffset>> {
        snapshot_of(&self.snapshots, self.snapshot_moment, card)
    }
}
