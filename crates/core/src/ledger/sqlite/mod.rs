//! The SQLite store: the ledger in one file (or in memory), for a single shop or a command-line
//! ledger. SQLite is compiled in, so no system library is needed.
//!
//! - Each unit of work is one `BEGIN IMMEDIATE` transaction: writers, even in other processes,
//!   take the write lock before reading, so a read-modify-write never loses an update. A writer
//!   that finds the lock taken waits (up to [`BUSY_TIMEOUT`]) rather than failing.
//! - The file is in WAL mode with `synchronous = NORMAL`: readers never block the writer, and a
//!   commit survives a crash of the process (a power loss may lose the last commits, never the
//!   file's consistency).
//! - Checkpoints (copying the write-ahead log into the database file, then waiting for the disk)
//!   run on a thread of the store's own, with a connection of its own, so a writer does not wait
//!   for the disk; a writer checkpoints itself only when the log grows past
//!   [`WAL_CHECKPOINT_PAGES`] (the checkpointing thread falling behind).
//! - Records are kept whole, beside the columns they are looked up by: accounts' states in a
//!   compact binary form, everything else as JSON (`serde_json`); decimals are exact (text, or
//!   their exact digits), never floating point.
//! - The schema is versioned ([`schema`]): migrations are applied in order, in one transaction,
//!   when a database is opened. A database written by a newer puntos is refused.
//! - An account's journal entries are linked into a list rather than indexed ([`links`]).
//! - A batch's accounts and transactions are read ahead on a thread of the store's own
//!   ([`ahead`]), while the writer decides the transactions before them; accounts this store
//!   wrote are kept in memory between units while no other connection writes ([`cache`]).

mod ahead;
mod cache;
mod checkpoint;
mod links;
mod rows;
mod schema;
use rows::{EventRow, JournalRow, TransactionRow};

use super::chain::{check_texts, encode_entries};
use super::codec::{
    check_packed, decode, decode_account, encode, encode_account, from_seq, to_seq,
};
use super::model::{AccountState, JournalEntry, OutboxEvent, StoredTransaction};
use super::store::{Session, Store, StoreError, Upcoming};
use crate::fast_hash::{HashMap, HashSet, IndexMap};
use ahead::{Reader, Reading};
use cache::AccountCache;
use checkpoint::Checkpointer;
use links::Links;
use rusqlite::{
    params, Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior,
};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// How long a unit of work waits for another writer (another process on the same file) to
/// finish before it fails.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The page cache of a connection: SQLite's `cache_size`, negative for KiB (32 MiB).
const CACHE_SIZE: i64 = -32 * 1024;

/// Pages in the write-ahead log after which a commit copies them into the database itself
/// (SQLite's default is 1000): more than are written at full speed during the checkpointing
/// thread's pause (a second of 14,000 transactions is about 30,000 pages), so that thread, not
/// a commit, copies them. The log may so grow to about 400 MB of 4 KiB pages; it is emptied
/// and removed when the store closes.
pub const WAL_CHECKPOINT_PAGES: i64 = 100_000;

/// The ledger stored in SQLite. See the [module](self) for how it keeps units of work atomic
/// and concurrent writers serialized.
#[derive(Debug)]
pub struct SqliteStore {
    /// Stopped (and joined) before the connection closes, so the connection closing last
    /// checkpoints and removes the write-ahead log as SQLite does.
    checkpointer: Option<Checkpointer>,
    /// Reads ahead for units of work (a file database only; stopped before the connection
    /// closes, like the checkpointer).
    reader: Option<Reader>,
    /// Account states written and committed, kept between units.
    cache: AccountCache,
    /// What the last unit that committed knew, for the next one if nobody else writes
    /// between them.
    carried: Carried,
    connection: Connection,
}

/// What a unit of work knew of the accounts it read and wrote, carried to the next unit if
/// nobody else has written since (then it is still true): how keys resolved to accounts, and
/// the accounts' newest journal entries. The pipeline writes in one unit the accounts it read
/// in the one before ([`super::pipeline`]); without these, it would read each account's
/// newest entry again and keep none of them in the cache.
#[derive(Debug, Default)]
struct Carried {
    resolved: HashMap<String, String>,
    newest: HashMap<String, Option<i64>>,
}

impl SqliteStore {
    /// The schema version this build writes (and the newest it can open).
    pub const SCHEMA_VERSION: u32 = schema::VERSION;

    /// Opens (creating it if needed) the database at `path`, and brings its schema up to date.
    /// Fails if the database was written by a newer puntos.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref();
        let connection = Connection::open(path)
            .map_err(|e| StoreError(format!("opening {}: {e}", path.display())))?;
        let mut store = SqliteStore::setup(connection, true)
            .map_err(|StoreError(e)| StoreError(format!("{}: {e}", path.display())))?;
        store.checkpointer = Checkpointer::start(path);
        store.reader = Reader::start(path);
        Ok(store)
    }

    /// A new, empty database in memory, gone when the store is dropped.
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        let connection = Connection::open_in_memory().map_err(sql("opening a memory database"))?;
        SqliteStore::setup(connection, false)
    }

    /// The database's schema version (the number of migrations applied).
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        schema::current_version(&self.connection)
    }

    fn setup(mut connection: Connection, file: bool) -> Result<SqliteStore, StoreError> {
        connection
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(sql("setting the busy timeout"))?;
        if file {
            wal(&connection)?;
        }
        connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql("setting synchronous mode"))?;
        // A larger page cache than SQLite's 2 MiB default: a batch touches an account page per
        // transaction, and pages read again need no system call.
        connection
            .pragma_update(None, "cache_size", CACHE_SIZE.to_string())
            .map_err(sql("setting the cache size"))?;
        // Checkpoints move the write-ahead log into the database file (and wait for the disk);
        // a longer log between them writes each page touched again and again only once.
        connection
            .pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES.to_string())
            .map_err(sql("setting the checkpoint interval"))?;
        connection
            .pragma_update(None, "foreign_keys", "ON")
            .map_err(sql("enabling foreign keys"))?;
        // Deleted content is overwritten with zeros, so an erased customer's data does not
        // linger in free pages.
        connection
            .pragma_update(None, "secure_delete", "ON")
            .map_err(sql("enabling secure delete"))?;
        schema::migrate(&mut connection)?;
        Ok(SqliteStore {
            checkpointer: None,
            reader: None,
            cache: AccountCache::default(),
            carried: Carried::default(),
            connection,
        })
    }
}

/// Puts a database file in WAL mode (it stays so: the mode is recorded in the file). Another
/// connection switching the same new file at the same moment makes SQLite answer "busy" at once
/// rather than wait, so this retries until [`BUSY_TIMEOUT`]. A file system without shared memory
/// keeps its rollback journal, which is slower but just as safe.
fn wal(connection: &Connection) -> Result<(), StoreError> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        let mode = connection
            .query_row("PRAGMA journal_mode", [], |row| row.get::<_, String>(0))
            .and_then(|mode| {
                if mode.eq_ignore_ascii_case("wal") {
                    Ok(mode)
                } else {
                    connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
                }
            });
        match mode {
            Ok(_) => return Ok(()),
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                ) && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(StoreError(format!("setting WAL mode: {e}"))),
        }
    }
}

impl Store for SqliteStore {
    fn atomically<R, E: From<StoreError>>(
        &mut self,
        work: impl FnOnce(&mut dyn Session) -> Result<R, E>,
    ) -> Result<R, E> {
        let tx = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql("starting a unit of work"))?;
        let version: i64 = tx
            .query_row("PRAGMA data_version", [], |row| row.get(0))
            .map_err(sql("reading the database's data version"))?;
        let undisturbed = self.cache.check(version);
        let carried = std::mem::take(&mut self.carried);
        let carried = if undisturbed {
            carried
        } else {
            Carried::default()
        };
        let mut session = SqliteSession {
            tx: &tx,
            links: Links::carrying(carried.newest),
            reader: self.reader.as_ref(),
            ahead: None,
            cache: &mut self.cache,
            resolved: HashMap::default(),
            carried_keys: carried.resolved,
            written: IndexMap::default(),
            rekeyed: HashSet::default(),
            absent: HashSet::default(),
            undisturbed,
        };
        let result = work(&mut session)
            .and_then(|value| session.links.write(&tx).map(|()| value).map_err(E::from));
        let to_keep = session.take_for_cache();
        let carry = session.carry();
        // What was read ahead and not asked for is dropped (the reader stops) before the commit.
        drop(session);
        match result {
            Ok(value) => {
                tx.commit().map_err(sql("committing a unit of work"))?;
                self.carried = carry;
                for (state, newest, keys) in to_keep {
                    self.cache.keep(state, newest, keys);
                }
                if let Some(checkpointer) = &self.checkpointer {
                    checkpointer.kick();
                }
                Ok(value)
            }
            Err(e) => {
                // The work's error is the one to report; a failed rollback leaves the
                // transaction to be rolled back when the connection next starts one.
                let _ = tx.rollback();
                Err(e)
            }
        }
    }

    fn tells_if_disturbed(&self) -> bool {
        // SQLite's `data_version` moves when another connection commits.
        true
    }

    fn purge(&mut self) -> Result<(), StoreError> {
        // The checkpointing and reading threads' connections would keep the log from being
        // emptied: they are stopped meanwhile, and started again after.
        self.cache.clear();
        self.carried = Carried::default();
        let restart = self.checkpointer.take().is_some();
        let restart_reader = self.reader.take().is_some();
        // Copy the WAL into the database and empty it, then rebuild the file without free pages.
        let result = self
            .empty_log()
            .and_then(|()| {
                self.connection
                    .execute_batch("VACUUM")
                    .map_err(sql("vacuuming"))
            })
            .and_then(|()| self.empty_log());
        let path = self.connection.path().map(std::path::PathBuf::from);
        if restart {
            self.checkpointer = path.as_deref().and_then(Checkpointer::start);
        }
        if restart_reader {
            self.reader = path.as_deref().and_then(Reader::start);
        }
        result
    }
}

impl SqliteStore {
    /// Copies the write-ahead log into the database and truncates it; an error if another
    /// connection keeps it from being emptied (what it held would stay in the file).
    fn empty_log(&self) -> Result<(), StoreError> {
        let busy: i64 = self
            .connection
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
            .map_err(sql("checkpointing the write-ahead log"))?;
        if busy != 0 {
            return Err(StoreError(
                "the write-ahead log could not be emptied: another connection is using the \
                 database; run again when it is done"
                    .to_string(),
            ));
        }
        Ok(())
    }
}

/// The reads and writes of one unit of work: statements within the open transaction.
struct SqliteSession<'t, 'c> {
    tx: &'t Transaction<'c>,
    /// Accounts' newest journal entries, as this unit knows them.
    links: Links,
    /// The store's read-ahead thread, if it has one.
    reader: Option<&'t Reader>,
    /// What this unit has had read ahead, if anything.
    ahead: Option<Reading>,
    /// Account states kept between units; this unit takes out what it reads.
    cache: &'t mut AccountCache,
    /// Each key (id or alias) this unit's reads resolved, to the account's id.
    resolved: HashMap<String, String>,
    /// Keys the unit before resolved (see [`Carried`]).
    carried_keys: HashMap<String, String>,
    /// Whether nobody else has written since the unit before committed.
    undisturbed: bool,
    /// States this unit wrote and handed over ([`Session::written_states`]), by id: kept in
    /// the cache if the unit commits.
    written: IndexMap<String, AccountState>,
    /// Accounts whose aliases this unit may have changed: not kept.
    rekeyed: HashSet<String>,
    /// Keys (ids or aliases) this unit read and found no account by: no account has one as its
    /// id or alias. An account written with one as its id has no aliases to drop, and one
    /// taking one as an alias needs no check for another owner (a migration writes millions
    /// of new accounts it has just looked up: two queries fewer per key).
    absent: HashSet<String>,
}

impl SqliteSession<'_, '_> {
    /// What the cache is to keep when the unit commits: each state written, with its newest
    /// journal entry and the keys this unit (or, carried, the unit before) found it by (a state
    /// the unit cannot say both of is not kept).
    fn take_for_cache(&mut self) -> Vec<(AccountState, Option<i64>, Vec<String>)> {
        let written = std::mem::take(&mut self.written);
        // A key found an account only as its id or one of its aliases: those are the keys to
        // look up, in what this unit resolved, else in what the unit before did.
        let found = |key: &str, id: &str| {
            self.resolved
                .get(key)
                .or_else(|| self.carried_keys.get(key))
                .is_some_and(|to| to == id)
        };
        written
            .into_values()
            .filter(|state| !self.rekeyed.contains(&state.id))
            .filter_map(|state| {
                let newest = self.links.known(&state.id)?;
                let found_by: Vec<String> = std::iter::once(&state.id)
                    .chain(&state.aliases)
                    .filter(|key| found(key, &state.id))
                    .cloned()
                    .collect();
                (!found_by.is_empty()).then_some((state, newest, found_by))
            })
            .collect()
    }

    /// What this unit knew, for the next (see [`Carried`]): keys that resolved to an account
    /// whose aliases it may have changed are left out.
    fn carry(&mut self) -> Carried {
        let mut resolved = std::mem::take(&mut self.resolved);
        resolved.retain(|_, id| !self.rekeyed.contains(id));
        Carried {
            resolved,
            newest: std::mem::take(&mut self.links).into_known(),
        }
    }

    /// Forgets, in this unit and in the cache, what writing `account` may have made untrue.
    /// With `new_aliases`, the account's aliases may have changed: its aliases may now lead to
    /// it rather than where this unit found them lead, and the keys that found it may lead
    /// elsewhere, so it is not kept at the end of the unit; else only its state changed.
    fn forget(&mut self, account: &AccountState, new_aliases: bool) {
        self.cache.forget(account);
        self.written.swap_remove(&account.id);
        if new_aliases {
            for alias in &account.aliases {
                self.resolved.remove(alias);
                self.carried_keys.remove(alias);
            }
            self.rekeyed.insert(account.id.clone());
        }
    }

    /// The first column of the rows of `query` with `params`, decoded from JSON.
    fn bodies<T: DeserializeOwned>(
        &self,
        what: &str,
        query: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<T>, StoreError> {
        let context = || format!("reading {what}");
        let mut statement = self
            .tx
            .prepare_cached(query)
            .map_err(|e| StoreError(format!("{}: {e}", context())))?;
        let rows = statement
            .query_map(params, |row| row.get::<_, String>(0))
            .map_err(|e| StoreError(format!("{}: {e}", context())))?;
        let mut out = Vec::new();
        for row in rows {
            let body = row.map_err(|e| StoreError(format!("{}: {e}", context())))?;
            out.push(decode(what, &body)?);
        }
        Ok(out)
    }

    /// The last sequence number of `table` (`journal` or `outbox`), 0 when it is empty.
    fn last_seq(&self, table: &str) -> Result<u64, StoreError> {
        let seq: i64 = self
            .tx
            .prepare_cached(&format!("SELECT COALESCE(MAX(seq), 0) FROM {table}"))
            .and_then(|mut s| s.query_row([], |row| row.get(0)))
            .map_err(|e| StoreError(format!("reading the {table}'s last sequence number: {e}")))?;
        from_seq(seq)
    }
}

impl Session for SqliteSession<'_, '_> {
    fn undisturbed(&self) -> bool {
        self.undisturbed
    }

    fn shop(&mut self, id: &str) -> Result<Option<crate::eval::Store>, StoreError> {
        let body: Option<String> = self
            .tx
            .prepare_cached("SELECT body FROM shops WHERE id = ?1")
            .and_then(|mut s| s.query_row([id], |row| row.get(0)).optional())
            .map_err(|e| StoreError(format!("reading store {id}: {e}")))?;
        body.map(|b| decode(format_args!("store {id}"), &b))
            .transpose()
    }

    fn put_shop(&mut self, shop: &crate::eval::Store) -> Result<(), StoreError> {
        let body = encode(format_args!("store {}", shop.id), shop)?;
        self.tx
            .prepare_cached(
                "INSERT INTO shops (id, body) VALUES (?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            )
            .and_then(|mut s| s.execute(params![shop.id, body]))
            .map_err(|e| StoreError(format!("writing store {}: {e}", shop.id)))?;
        Ok(())
    }

    fn account_ids(&mut self, after: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let listing = |e: rusqlite::Error| StoreError(format!("listing accounts: {e}"));
        let mut statement = self
            .tx
            .prepare_cached("SELECT id FROM accounts WHERE id > ?1 ORDER BY id LIMIT ?2")
            .map_err(listing)?;
        let rows = statement
            .query_map(params![after, limit], |row| row.get::<_, String>(0))
            .map_err(listing)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(listing)
    }

    fn read_ahead(&mut self, upcoming: &[Upcoming<'_>]) {
        if self.ahead.is_none() {
            let uncached: Vec<Upcoming<'_>> = upcoming
                .iter()
                .filter(|u| !matches!(u, Upcoming::Account(key) if self.cache.contains(key)))
                .copied()
                .collect();
            self.ahead = self.reader.and_then(|reader| reader.read(&uncached));
        }
    }

    fn account(&mut self, id_or_alias: &str) -> Result<Option<AccountState>, StoreError> {
        let read = if let Some((account, newest, keys)) = self.cache.take(id_or_alias) {
            for key in keys {
                self.resolved.insert(key, account.id.clone());
            }
            Some((account, newest))
        } else {
            match self.ahead.as_mut().and_then(|a| a.account(id_or_alias)) {
                Some(read) => read,
                None => {
                    let read = read_account(self.tx, id_or_alias)?;
                    if read.is_none() {
                        self.absent.insert(id_or_alias.to_string());
                    }
                    read
                }
            }
        };
        let Some((account, newest)) = read else {
            return Ok(None);
        };
        self.links.know(&account.id, newest);
        self.resolved
            .insert(id_or_alias.to_string(), account.id.clone());
        Ok(Some(account))
    }

    fn put_account(&mut self, account: &AccountState) -> Result<(), StoreError> {
        if let Some(ahead) = &mut self.ahead {
            ahead.forget_accounts();
        }
        self.forget(account, true);
        let id = account.id.as_str();
        let fail = |e: rusqlite::Error| StoreError(format!("writing account {id}: {e}"));
        let state = encode_account(account);
        let new = self.absent.remove(id);
        {
            let mut owner = self
                .tx
                .prepare_cached("SELECT account FROM aliases WHERE alias = ?1")
                .map_err(fail)?;
            for alias in &account.aliases {
                if self.absent.remove(alias.as_str()) {
                    continue;
                }
                let current: Option<String> = owner
                    .query_row([alias], |row| row.get(0))
                    .optional()
                    .map_err(fail)?;
                if current.is_some_and(|o| o != id) {
                    return Err(StoreError(format!(
                        "alias {alias} already belongs to another account"
                    )));
                }
            }
        }
        let newest = self.links.unwritten(id);
        self.tx
            .prepare_cached(
                "INSERT INTO accounts (id, state, last_entry) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE
                 SET state = excluded.state,
                     last_entry = COALESCE(excluded.last_entry, last_entry)",
            )
            .and_then(|mut s| s.execute(params![id, state, newest]))
            .map_err(fail)?;
        self.links.written(id);
        // The account's aliases become exactly those it lists (a new account has none yet).
        if !new {
            self.tx
                .prepare_cached("DELETE FROM aliases WHERE account = ?1")
                .and_then(|mut s| s.execute([id]))
                .map_err(fail)?;
        }
        let mut insert = self
            .tx
            .prepare_cached("INSERT OR IGNORE INTO aliases (alias, account) VALUES (?1, ?2)")
            .map_err(fail)?;
        for alias in &account.aliases {
            insert.execute(params![alias, id]).map_err(fail)?;
        }
        Ok(())
    }

    fn account_packer(&self) -> Option<fn(&AccountState) -> Vec<u8>> {
        Some(encode_account)
    }

    fn written_states(&mut self, states: Vec<AccountState>) {
        self.written.reserve(states.len());
        for state in states {
            self.written.insert(state.id.clone(), state);
        }
    }

    fn update_accounts_packed(
        &mut self,
        accounts: &[&AccountState],
        packed: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        check_packed(accounts, packed)?;
        if let Some(ahead) = &mut self.ahead {
            ahead.forget_accounts();
        }
        for (account, state) in accounts.iter().zip(packed) {
            self.forget(account, false);
            let id = account.id.as_str();
            let newest = self.links.unwritten(id);
            let changed = self
                .tx
                .prepare_cached(
                    "UPDATE accounts SET state = ?2, last_entry = COALESCE(?3, last_entry)
                     WHERE id = ?1",
                )
                .and_then(|mut s| s.execute(params![id, state, newest]))
                .map_err(|e| StoreError(format!("writing account {id}: {e}")))?;
            if changed == 0 {
                self.put_account(account)?;
            } else {
                self.links.written(id);
            }
        }
        Ok(())
    }

    fn transaction(&mut self, id: &str) -> Result<Option<StoredTransaction>, StoreError> {
        match self.ahead.as_mut().and_then(|a| a.transaction(id)) {
            Some(read) => Ok(read),
            None => read_transaction(self.tx, id),
        }
    }

    fn put_transaction(&mut self, transaction: &StoredTransaction) -> Result<(), StoreError> {
        let body = encode(format_args!("transaction {}", transaction.id), transaction)?;
        self.put_transaction_encoded(transaction, &body)
    }

    fn check_account_lists(&mut self) -> Result<Option<super::chain::Broken>, StoreError> {
        links::check(self.tx)
    }

    fn keeps_json(&self) -> bool {
        true
    }

    fn put_transaction_encoded(
        &mut self,
        transaction: &StoredTransaction,
        body: &str,
    ) -> Result<(), StoreError> {
        self.put_transactions_encoded(&[(transaction, body)])
    }

    fn put_transactions_encoded(
        &mut self,
        transactions: &[(&StoredTransaction, &str)],
    ) -> Result<(), StoreError> {
        if let Some(ahead) = &mut self.ahead {
            for (transaction, _) in transactions {
                ahead.forget_transaction(&transaction.id);
            }
        }
        let transaction_rows: Vec<TransactionRow<'_>> = transactions
            .iter()
            .map(|&(transaction, body)| TransactionRow { transaction, body })
            .collect();
        rows::insert(self.tx, &transaction_rows)
    }

    fn budget_used(&mut self, promotion: &str) -> Result<Decimal, StoreError> {
        let used: Option<String> = self
            .tx
            .prepare_cached("SELECT used FROM budgets WHERE promotion = ?1")
            .and_then(|mut s| s.query_row([promotion], |row| row.get(0)).optional())
            .map_err(|e| StoreError(format!("reading the budget of {promotion}: {e}")))?;
        match used {
            None => Ok(Decimal::ZERO),
            Some(text) => Decimal::from_str(&text).map_err(|e| {
                StoreError(format!(
                    "the stored budget of {promotion} ({text:?}) is not a decimal: {e}"
                ))
            }),
        }
    }

    fn add_budget_used(&mut self, promotion: &str, amount: Decimal) -> Result<(), StoreError> {
        // Atomic: the unit of work holds the database's write lock from its start.
        let used = self.budget_used(promotion)?;
        let total = used.checked_add(amount).ok_or_else(|| {
            StoreError(format!(
                "the budget of {promotion} overflows ({used} + {amount})"
            ))
        })?;
        self.tx
            .prepare_cached(
                "INSERT INTO budgets (promotion, used) VALUES (?1, ?2)
                 ON CONFLICT (promotion) DO UPDATE SET used = excluded.used",
            )
            .and_then(|mut s| s.execute(params![promotion, total.to_string()]))
            .map_err(|e| StoreError(format!("writing the budget of {promotion}: {e}")))?;
        Ok(())
    }

    fn journal_head(&mut self) -> Result<Option<(u64, String)>, StoreError> {
        let head: Option<(i64, String)> = self
            .tx
            .prepare_cached("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1")
            .and_then(|mut s| {
                s.query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()
            })
            .map_err(|e| StoreError(format!("reading the journal's head: {e}")))?;
        head.map(|(seq, hash)| Ok((from_seq(seq)?, hash)))
            .transpose()
    }

    fn append_journal(&mut self, entries: &[JournalEntry]) -> Result<(), StoreError> {
        self.append_journal_encoded(entries, &encode_entries(entries)?)
    }

    fn append_journal_encoded(
        &mut self,
        entries: &[JournalEntry],
        bodies: &[String],
    ) -> Result<(), StoreError> {
        check_texts(entries, bodies)?;
        let mut last = self.last_seq("journal")?;
        let mut journal_rows = Vec::with_capacity(entries.len());
        for (entry, body) in entries.iter().zip(bodies) {
            if entry.seq <= last {
                return Err(StoreError(format!(
                    "journal entry {} does not follow the journal's last entry {last}",
                    entry.seq
                )));
            }
            let seq = to_seq(entry.seq)?;
            let prior = self.links.link(self.tx, &entry.account, seq)?;
            journal_rows.push(JournalRow {
                seq,
                entry,
                body,
                prior,
            });
            last = entry.seq;
        }
        rows::insert(self.tx, &journal_rows)
    }

    fn journal(
        &mut self,
        account: Option<&str>,
        after: u64,
        limit: usize,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        // A position past any storable one: nothing follows it.
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        match account {
            Some(account) => {
                let newest = self.links.newest(self.tx, account)?;
                links::account_entries(self.tx, account, newest, after, limit)
            }
            None => self.bodies(
                "the journal",
                "SELECT body FROM journal WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                params![after, i64::try_from(limit).unwrap_or(i64::MAX)],
            ),
        }
    }

    fn outbox_head(&mut self) -> Result<u64, StoreError> {
        self.last_seq("outbox")
    }

    fn push_events(&mut self, events: &[OutboxEvent]) -> Result<(), StoreError> {
        let bodies = events
            .iter()
            .map(|event| encode(format_args!("outbox event {}", event.seq), event))
            .collect::<Result<Vec<_>, _>>()?;
        self.push_events_encoded(events, &bodies)
    }

    fn push_events_encoded(
        &mut self,
        events: &[OutboxEvent],
        bodies: &[String],
    ) -> Result<(), StoreError> {
        if events.len() != bodies.len() {
            return Err(StoreError(format!(
                "{} outbox events with {} texts",
                events.len(),
                bodies.len()
            )));
        }
        let event_rows = events
            .iter()
            .zip(bodies)
            .map(|(event, body)| {
                Ok(EventRow {
                    seq: to_seq(event.seq)?,
                    account: &event.account,
                    body,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        rows::insert(self.tx, &event_rows)
    }

    fn pending_events(&mut self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.bodies(
            "the outbox",
            "SELECT body FROM outbox
             WHERE seq > (SELECT acknowledged FROM outbox_ack WHERE id = 1)
             ORDER BY seq LIMIT ?1",
            [limit],
        )
    }

    fn acknowledge(&mut self, seq: u64) -> Result<(), StoreError> {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        self.tx
            .prepare_cached(
                "UPDATE outbox_ack SET acknowledged = MAX(acknowledged, ?1) WHERE id = 1",
            )
            .and_then(|mut s| s.execute([seq]))
            .map_err(|e| StoreError(format!("acknowledging outbox events: {e}")))?;
        Ok(())
    }
}

/// The account with id or alias `id_or_alias`, with its newest journal entry (for the entries
/// it will be given), as `connection` sees it.
fn read_account(
    connection: &Connection,
    id_or_alias: &str,
) -> Result<Option<(AccountState, Option<i64>)>, StoreError> {
    let read = connection
        .prepare_cached(
            "SELECT state, COALESCE(last_entry,
                                    (SELECT seq FROM journal_tails WHERE account = id))
             FROM accounts
             WHERE id = COALESCE((SELECT account FROM aliases WHERE alias = ?1), ?1)",
        )
        .and_then(|mut s| {
            s.query_row([id_or_alias], |row| {
                Ok((
                    decode_account(
                        format_args!("account {id_or_alias}"),
                        row.get_ref(0)?.as_blob()?,
                    ),
                    row.get::<_, Option<i64>>(1)?,
                ))
            })
            .optional()
        })
        .map_err(|e| StoreError(format!("reading account {id_or_alias}: {e}")))?;
    read.map(|(account, newest)| Ok((account?, newest)))
        .transpose()
}

/// The transaction `id`, as `connection` sees it.
fn read_transaction(
    connection: &Connection,
    id: &str,
) -> Result<Option<StoredTransaction>, StoreError> {
    let body: Option<String> = connection
        .prepare_cached("SELECT body FROM transactions WHERE id = ?1")
        .and_then(|mut s| s.query_row([id], |row| row.get(0)).optional())
        .map_err(|e| StoreError(format!("reading transaction {id}: {e}")))?;
    body.map(|b| decode(format_args!("transaction {id}"), &b))
        .transpose()
}

/// Maps an SQLite error to a store error saying what was being done.
fn sql(doing: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| StoreError(format!("{doing}: {e}"))
}
