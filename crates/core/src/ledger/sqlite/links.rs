//! Each account's journal entries, linked into a list, so the SQLite store keeps no index of
//! the journal by account.
//!
//! Such an index took an entry at a random place of the file for every journal entry: a page
//! written per transaction, a third of the store's writes at 30,000 customers (BENCHMARKS.md).
//! Instead each journal row names the account's entry before it (`journal.prior`), and the
//! account's row its newest (`accounts.last_entry`): an account's entries are read newest
//! first, by sequence number. The links cost no page of their own: `prior` is a column of a
//! row appended anyway, `last_entry` a column of the account's row, which the transaction that
//! wrote the entries rewrites anyway. An entry for an account that has no row (the ledger writes
//! none; a direct user of the store may) keeps the link in `journal_tails`.
//!
//! Within a unit of work, [`Links`] remembers each account's newest entry, so entries appended
//! in one go chain to each other without reading their account back, and each account's
//! `last_entry` is written once, when the unit ends (or with the account's own update).

use super::super::chain::Broken;
use super::super::codec::{decode, from_seq};
use super::super::model::JournalEntry;
use super::super::store::StoreError;
use super::sql;
use crate::fast_hash::{HashMap, IndexMap};
use rusqlite::{params, OptionalExtension, Transaction};
use std::hash::{DefaultHasher, Hash, Hasher};

/// Rows read per round when linking the entries of a journal written before the links.
const LINKING_ROUND: i64 = 10_000;

/// The newest journal entry of each account a unit of work has touched.
#[derive(Debug, Default)]
pub(super) struct Links {
    /// Newest entry per account, as known in this unit (`None`: it has none).
    newest: HashMap<String, Option<i64>>,
    /// Newest entries as the unit before knew them, when nobody else has written since: the
    /// pipeline writes in one unit the accounts it read in the one before.
    carried: HashMap<String, Option<i64>>,
    /// Newest entries appended in this unit and not yet written to their account.
    unwritten: IndexMap<String, i64>,
}

impl Links {
    /// Links for a unit that starts knowing `carried`, what the unit before knew (its
    /// [`Links::into_known`]); nobody else may have written since.
    pub(super) fn carrying(carried: HashMap<String, Option<i64>>) -> Links {
        Links {
            carried,
            ..Links::default()
        }
    }

    /// What this unit knows of accounts' newest entries (not what it was carried), for the
    /// next unit to carry.
    pub(super) fn into_known(self) -> HashMap<String, Option<i64>> {
        self.newest
    }

    /// The sequence number of the newest entry of `account`, as the unit last knew or wrote it.
    pub(super) fn newest(
        &mut self,
        tx: &Transaction<'_>,
        account: &str,
    ) -> Result<Option<i64>, StoreError> {
        if let Some(known) = self.known(account) {
            if !self.newest.contains_key(account) {
                self.newest.insert(account.to_string(), known);
            }
            return Ok(known);
        }
        let read = stored_tail(tx, account)?;
        self.newest.insert(account.to_string(), read);
        Ok(read)
    }

    /// Records `account`'s newest entry as stored, read with the account (unless this unit has
    /// appended to it since).
    pub(super) fn know(&mut self, account: &str, newest: Option<i64>) {
        if !self.newest.contains_key(account) {
            self.newest.insert(account.to_string(), newest);
        }
    }

    /// The newest entry of `account` if this unit knows it (`Some(None)`: it has none), without
    /// reading the file.
    pub(super) fn known(&self, account: &str) -> Option<Option<i64>> {
        self.newest
            .get(account)
            .or_else(|| self.carried.get(account))
            .copied()
    }

    /// The entry before `seq` of `account` (its link), and `seq` becomes the account's newest.
    pub(super) fn link(
        &mut self,
        tx: &Transaction<'_>,
        account: &str,
        seq: i64,
    ) -> Result<Option<i64>, StoreError> {
        let prior = self.newest(tx, account)?;
        // `newest` has the account now; its name is copied only the first time it is linked.
        if let Some(newest) = self.newest.get_mut(account) {
            *newest = Some(seq);
        }
        match self.unwritten.get_mut(account) {
            Some(unwritten) => *unwritten = seq,
            None => {
                self.unwritten.insert(account.to_string(), seq);
            }
        }
        Ok(prior)
    }

    /// The newest entry appended for `account` and not yet written to its row: the caller
    /// writing the row writes it too, and says so with [`Links::written`].
    pub(super) fn unwritten(&self, account: &str) -> Option<i64> {
        self.unwritten.get(account).copied()
    }

    /// `account`'s row now holds its newest entry.
    pub(super) fn written(&mut self, account: &str) {
        self.unwritten.swap_remove(account);
    }

    /// Writes each account's newest entry that was not written with the account's row: to the
    /// row, or to `journal_tails` for an account without one.
    pub(super) fn write(&mut self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        let fail = sql("recording accounts' newest journal entries");
        let mut to_account = tx
            .prepare_cached("UPDATE accounts SET last_entry = ?2 WHERE id = ?1")
            .map_err(&fail)?;
        let mut to_tails = tx
            .prepare_cached(
                "INSERT INTO journal_tails (account, seq) VALUES (?1, ?2)
                 ON CONFLICT (account) DO UPDATE SET seq = excluded.seq",
            )
            .map_err(&fail)?;
        for (account, seq) in self.unwritten.drain(..) {
            if to_account.execute(params![account, seq]).map_err(&fail)? == 0 {
                to_tails.execute(params![account, seq]).map_err(&fail)?;
            }
        }
        Ok(())
    }
}

/// The newest journal entry of `account` as stored: its row's `last_entry`, or the tail kept
/// for an account without a row.
fn stored_tail(tx: &Transaction<'_>, account: &str) -> Result<Option<i64>, StoreError> {
    tx.prepare_cached(
        "SELECT COALESCE((SELECT last_entry FROM accounts WHERE id = ?1),
                         (SELECT seq FROM journal_tails WHERE account = ?1))",
    )
    .and_then(|mut s| s.query_row([account], |row| row.get(0)))
    .map_err(|e| {
        StoreError(format!(
            "reading the newest journal entry of {account}: {e}"
        ))
    })
}

/// The entries of `account` after `after`, oldest first, at most `limit`: the account's list
/// walked from its newest entry (`newest`, from [`Links::newest`]) back to `after`.
pub(super) fn account_entries(
    tx: &Transaction<'_>,
    account: &str,
    newest: Option<i64>,
    after: i64,
    limit: usize,
) -> Result<Vec<JournalEntry>, StoreError> {
    let broken = |seq: i64, why: &str| {
        StoreError(format!(
            "the journal's links for account {account} are broken at entry {seq}: {why}"
        ))
    };
    let mut step = tx
        .prepare_cached("SELECT account, prior, body FROM journal WHERE seq = ?1")
        .map_err(|e| StoreError(format!("reading the journal of {account}: {e}")))?;
    let mut found = Vec::new();
    let mut next = newest;
    while let Some(seq) = next.filter(|&seq| seq > after) {
        let (owner, prior, body): (String, Option<i64>, String) = step
            .query_row([seq], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .optional()
            .map_err(|e| StoreError(format!("reading journal entry {seq}: {e}")))?
            .ok_or_else(|| broken(seq, "no such entry"))?;
        if owner != account {
            return Err(broken(seq, "the entry is another account's"));
        }
        if prior.is_some_and(|p| p >= seq) {
            return Err(broken(seq, "the entry links forward"));
        }
        found.push((seq, body));
        next = prior;
    }
    found
        .into_iter()
        .rev()
        .take(limit)
        .map(|(seq, body)| decode(format_args!("journal entry {seq}"), &body))
        .collect()
}

/// Migration 4: links the entries of a journal written before the links, oldest first, a round
/// of [`LINKING_ROUND`] rows at a time, then records each account's newest entry.
pub(super) fn link_stored_journal(tx: &Transaction<'_>) -> Result<(), StoreError> {
    let fail = sql("linking the journal's entries by account");
    let mut read = tx
        .prepare("SELECT seq, account FROM journal WHERE seq > ?1 ORDER BY seq LIMIT ?2")
        .map_err(&fail)?;
    let mut write = tx
        .prepare("UPDATE journal SET prior = ?2 WHERE seq = ?1")
        .map_err(&fail)?;
    let mut newest: IndexMap<String, i64> = IndexMap::default();
    let mut after = 0;
    loop {
        let round = read
            .query_map(params![after, LINKING_ROUND], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(&fail)?;
        let Some((last, _)) = round.last() else {
            break;
        };
        after = *last;
        for (seq, account) in round {
            if let Some(prior) = newest.insert(account, seq) {
                write.execute(params![seq, prior]).map_err(&fail)?;
            }
        }
    }
    let mut links = Links {
        unwritten: newest,
        ..Links::default()
    };
    links.write(tx)
}

/// Checks every link against the journal: each entry's `prior` is its account's entry before
/// it, and each account's newest (its row's `last_entry`, else its tail) is its last, so each
/// account's list holds exactly its entries, in order. One pass over the journal remembers each
/// account's newest entry seen under a 64-bit hash of its id (16 bytes an account, about 100 MB
/// for six million), then one pass over the accounts and tails compares.
pub(super) fn check(tx: &Transaction<'_>) -> Result<Option<Broken>, StoreError> {
    let fail = sql("checking the journal's links by account");
    let broken = |account: String, seq: i64, why: String| -> Result<Option<Broken>, StoreError> {
        Ok(Some(Broken::Unlinked {
            account,
            seq: from_seq(seq)?,
            why,
        }))
    };
    let mut newest: HashMap<u64, i64> = HashMap::default();
    let mut entries = tx
        .prepare("SELECT seq, account, prior FROM journal ORDER BY seq")
        .map_err(&fail)?;
    let mut rows = entries.query([]).map_err(&fail)?;
    while let Some(row) = rows.next().map_err(&fail)? {
        let (seq, account, prior): (i64, String, Option<i64>) =
            (|| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))().map_err(&fail)?;
        let before = newest.insert(key(&account), seq);
        if prior != before {
            return broken(account, seq, mislinked(prior, before));
        }
    }
    let mut lists = tx
        .prepare(
            "SELECT id, COALESCE(last_entry, (SELECT seq FROM journal_tails WHERE account = id))
             FROM accounts
             UNION ALL
             SELECT account, seq FROM journal_tails
             WHERE account NOT IN (SELECT id FROM accounts)",
        )
        .map_err(&fail)?;
    let mut rows = lists.query([]).map_err(&fail)?;
    while let Some(row) = rows.next().map_err(&fail)? {
        let (account, head): (String, Option<i64>) =
            (|| Ok((row.get(0)?, row.get(1)?)))().map_err(&fail)?;
        let last = newest.remove(&key(&account));
        if head != last {
            let starts = head.map_or("the list is empty".to_string(), |h| {
                format!("the list starts at entry {h}")
            });
            let should = last.map_or("the account has no entries".to_string(), |l| {
                format!("the account's last entry is {l}")
            });
            let at = head.or(last).unwrap_or_default();
            return broken(account, at, format!("{starts}, {should}"));
        }
    }
    // Entries of an account no list starts from: the first of them names it.
    if let Some(seq) = newest.into_values().min() {
        let account: String = tx
            .query_row("SELECT account FROM journal WHERE seq = ?1", [seq], |r| {
                r.get(0)
            })
            .map_err(&fail)?;
        return broken(
            account,
            seq,
            "no list of the account leads to it".to_string(),
        );
    }
    Ok(None)
}

/// Why an entry linking to `prior` is wrong when its account's entry before it is `before`.
fn mislinked(prior: Option<i64>, before: Option<i64>) -> String {
    let links = prior.map_or("it links to nothing".to_string(), |p| {
        format!("it links to entry {p}")
    });
    let should = before.map_or("it is the account's first".to_string(), |b| {
        format!("the account's entry before it is {b}")
    });
    format!("{links}, {should}")
}

/// An account id's 64-bit hash (SipHash with fixed keys: the same on every run).
fn key(account: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    account.hash(&mut hasher);
    hasher.finish()
}
