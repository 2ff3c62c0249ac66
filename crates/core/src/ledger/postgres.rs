//! The PostgreSQL store: the ledger on a database server, shared by any number of processes
//! (shops, workers, the command line) writing at once. It uses the synchronous `postgres`
//! client (rust-postgres) without TLS: the server is on loopback or a private network.
//!
//! - The tables live in a schema of their own ([`DEFAULT_SCHEMA`], or one named at
//!   [`PgStore::connect_in`]), so several ledgers can share a database; each connection sets
//!   `search_path` to it.
//! - Records are kept whole as JSON text (`serde_json`), beside the columns they are looked up
//!   by, exactly as the SQLite store keeps them (the text comes back byte for byte; `JSONB` would
//!   reorder keys). Budgets are `NUMERIC`, sent and read as text: never floating point.
//! - The schema is versioned: its migrations are applied in order, in one transaction, when a
//!   store connects, and each applied version is recorded in `schema_version`. The migration
//!   transaction first takes a transaction-level advisory lock named after the schema, so two
//!   processes connecting at once do not race: the second waits, then finds the migrations
//!   applied. A schema written by a newer puntos is refused.
//! - A connection the server closed (a restart, an administrator) fails the unit of work that
//!   finds it so; the next unit runs on a new connection.
//!
//! # Atomicity and concurrent writers
//!
//! Each unit of work is one `READ COMMITTED` transaction, and every record the ledger reads in
//! order to write it is locked before it is read, so a read-modify-write by one process never
//! overwrites another's update:
//!
//! - Accounts, stored transactions and promotion budgets: the unit takes a transaction-level
//!   advisory lock on the record's key (the schema, the kind of record and its id, hashed), then
//!   reads the row `FOR UPDATE`. The advisory lock is what covers a record that does not exist
//!   yet (row locks cannot lock an absent row): two units opening the same account, applying
//!   the same transaction id or spending the first points of a budget are serialized too, and
//!   the second sees what the first committed. Writers take the same lock before they write,
//!   always before the row lock, so the two kinds of lock are always taken in the same order.
//! - The journal and the outbox: their heads (last sequence number and hash) are single-row
//!   tables, `journal_head` and `outbox_head`, read `FOR UPDATE`. Every unit that appends holds
//!   the head until it commits, so sequence numbers and the hash chain never fork, and entries
//!   commit in sequence order: a reader never sees entry `n + 1` before entry `n`.
//! - A budget is spent by reading it under its lock, adding in exact decimal arithmetic and
//!   writing the total back in the same transaction.
//!
//! Locks rather than `SERIALIZABLE`: [`Store::atomically`] runs its work once (it is `FnOnce`),
//! so a serialization failure could not be retried here and would reach the caller as an error;
//! with locks, concurrent writers wait for each other instead. A unit waits for a lock up to
//! [`LOCK_TIMEOUT`], then fails; PostgreSQL's deadlock detector ends a cycle of waits (only
//! possible if two units lock the same records in opposite orders) by failing one unit. A failed
//! unit leaves nothing behind.
//!
//! A statement that fails makes PostgreSQL abort the whole transaction; the store remembers it,
//! so a unit whose work went on regardless (and returned `Ok`) is rolled back and reported as
//! failed, never committed in part.

use super::chain::{check_texts, encode_entries};
use super::codec::{
    check_packed, decode, decode_account, encode, encode_account, from_seq, to_seq,
};
use super::model::{AccountState, JournalEntry, OutboxEvent, StoredTransaction};
use super::store::{Session, Store, StoreError};
use postgres::types::ToSql;
use postgres::{Client, Config, IsolationLevel, NoTls, Statement, Transaction};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

/// The schema [`PgStore::connect`] keeps the ledger's tables in.
pub const DEFAULT_SCHEMA: &str = "puntos";

/// How long a unit of work waits for a lock held by another unit (of this or another process)
/// before it fails.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// How often an account lookup by alias is tried again when the alias moves to another account
/// while the lookup waits for the account's lock.
const ALIAS_RETRIES: usize = 8;

/// A step of a schema migration: a script, or code for what SQL alone cannot do.
enum Step {
    /// An SQL script.
    Sql(&'static str),
    /// A function run within the migration's transaction.
    Code(fn(&mut Transaction<'_>) -> Result<(), StoreError>),
}

/// The schema's migrations, in order: the steps at index `i` bring a schema from version `i`
/// to version `i + 1`. Append only; never edit a released migration. The tables are those of
/// the SQLite store, plus the journal's and the outbox's single-row heads that writers lock.
const MIGRATIONS: &[&[Step]] = &[
    // 1: the ledger's tables.
    &[Step::Sql(
        "CREATE TABLE accounts (
         id TEXT PRIMARY KEY NOT NULL,
         state TEXT NOT NULL
     );
     CREATE TABLE aliases (
         alias TEXT PRIMARY KEY NOT NULL,
         account TEXT NOT NULL REFERENCES accounts (id)
     );
     CREATE INDEX aliases_account ON aliases (account);
     CREATE TABLE transactions (
         id TEXT PRIMARY KEY NOT NULL,
         account TEXT NOT NULL,
         body TEXT NOT NULL
     );
     CREATE INDEX transactions_account ON transactions (account);
     CREATE TABLE budgets (
         promotion TEXT PRIMARY KEY NOT NULL,
         used NUMERIC NOT NULL
     );
     CREATE TABLE journal (
         seq BIGINT PRIMARY KEY NOT NULL CHECK (seq > 0),
         account TEXT NOT NULL,
         body TEXT NOT NULL,
         hash TEXT NOT NULL
     );
     CREATE INDEX journal_account ON journal (account, seq);
     CREATE TABLE journal_head (
         id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
         seq BIGINT NOT NULL CHECK (seq >= 0),
         hash TEXT
     );
     INSERT INTO journal_head (id, seq, hash) VALUES (1, 0, NULL);
     CREATE TABLE outbox (
         seq BIGINT PRIMARY KEY NOT NULL CHECK (seq > 0),
         account TEXT NOT NULL,
         body TEXT NOT NULL
     );
     CREATE TABLE outbox_head (
         id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
         seq BIGINT NOT NULL CHECK (seq >= 0)
     );
     INSERT INTO outbox_head (id, seq) VALUES (1, 0);
     CREATE TABLE outbox_ack (
         id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
         acknowledged BIGINT NOT NULL
     );
     INSERT INTO outbox_ack (id, acknowledged) VALUES (1, 0);",
    )],
    // 2: accounts' states in the compact binary form of `pack` rather than JSON; no index of
    // transactions by account (no query reads them so).
    &[
        Step::Sql(
            "DROP INDEX transactions_account;
             ALTER TABLE accounts ADD COLUMN packed BYTEA;",
        ),
        Step::Code(pack_stored_accounts),
        Step::Sql(
            "ALTER TABLE accounts DROP COLUMN state;
             ALTER TABLE accounts RENAME COLUMN packed TO state;
             ALTER TABLE accounts ALTER COLUMN state SET NOT NULL;",
        ),
    ],
    // 3: the registry of stores (shops), whose region, city, format and partner fill in a
    // transaction that names only the store's id.
    &[Step::Sql(
        "CREATE TABLE shops (
             id TEXT PRIMARY KEY,
             body TEXT NOT NULL
         );",
    )],
];

/// Migration 2: each account's JSON state, rewritten in the compact form.
fn pack_stored_accounts(tx: &mut Transaction<'_>) -> Result<(), StoreError> {
    let fail = pg("packing the stored accounts");
    let rows = tx
        .query("SELECT id, state FROM accounts", &[])
        .map_err(&fail)?;
    let write = tx
        .prepare("UPDATE accounts SET packed = $2 WHERE id = $1")
        .map_err(&fail)?;
    for row in rows {
        let id: String = row.try_get(0).map_err(&fail)?;
        let state: String = row.try_get(1).map_err(&fail)?;
        let account: AccountState = decode(format_args!("account {id}"), &state)?;
        tx.execute(&write, &[&id, &encode_account(&account)])
            .map_err(&fail)?;
    }
    Ok(())
}

/// The ledger stored in PostgreSQL. See the [module](self) for how it keeps units of work
/// atomic and concurrent writers serialized.
pub struct PgStore {
    client: Client,
    config: Config,
    schema: String,
    /// Statements prepared on this connection, by their text.
    statements: HashMap<&'static str, Statement>,
}

impl std::fmt::Debug for PgStore {
    // The connection's settings are left out: they may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// The schema version this build writes (and the newest it can open).
    pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

    /// Connects to the database at `url` (`postgres://user:password@host:port/database`, or
    /// the `key=value` form) and brings the ledger's schema, [`DEFAULT_SCHEMA`], up to date.
    /// Fails if the schema was written by a newer puntos.
    pub fn connect(url: &str) -> Result<PgStore, StoreError> {
        PgStore::connect_in(url, DEFAULT_SCHEMA)
    }

    /// Like [`PgStore::connect`], with the ledger's tables in `schema` (created if needed): a
    /// name of lowercase ASCII letters, digits and underscores, not starting with a digit nor
    /// with `pg_`, at most 63 bytes.
    pub fn connect_in(url: &str, schema: &str) -> Result<PgStore, StoreError> {
        check_schema_name(schema)?;
        let config = Config::from_str(url)
            .map_err(|e| StoreError(format!("the PostgreSQL connection URL is not valid: {e}")))?;
        let client = open(&config, schema)?;
        let mut store = PgStore {
            client,
            config,
            schema: schema.to_string(),
            statements: HashMap::new(),
        };
        migrate(&mut store.client, schema)
            .map_err(|StoreError(e)| StoreError(format!("schema {schema}: {e}")))?;
        Ok(store)
    }

    /// The schema the ledger's tables are in.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The schema's version (the number of migrations applied).
    pub fn schema_version(&mut self) -> Result<u32, StoreError> {
        self.reconnect_if_closed()?;
        current_version(&mut self.client)
    }

    /// A new connection when the server closed this one (a restart, an administrator): the
    /// unit that found it closed failed; the next one runs on the new connection.
    fn reconnect_if_closed(&mut self) -> Result<(), StoreError> {
        if self.client.is_closed() {
            self.client = open(&self.config, &self.schema)?;
            self.statements.clear();
        }
        Ok(())
    }
}

/// A connection to the server, with `search_path` set to `schema` and the lock timeout set.
fn open(config: &Config, schema: &str) -> Result<Client, StoreError> {
    let mut client = config
        .connect(NoTls)
        .map_err(|e| StoreError(format!("connecting to PostgreSQL: {e}")))?;
    client
        .batch_execute(&format!(
            "SET search_path TO {}; SET lock_timeout = {}",
            quote(schema),
            LOCK_TIMEOUT.as_millis()
        ))
        .map_err(pg("setting up the connection"))?;
    Ok(client)
}

/// Refuses a schema name that would need quoting to be used, or that PostgreSQL reserves.
fn check_schema_name(schema: &str) -> Result<(), StoreError> {
    let mut chars = schema.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if first_ok && rest_ok && schema.len() <= 63 && !schema.starts_with("pg_") {
        Ok(())
    } else {
        Err(StoreError(format!(
            "schema name {schema:?}: use lowercase ASCII letters, digits and underscores, \
             not starting with a digit nor with pg_, at most 63 characters"
        )))
    }
}

/// An identifier quoted for SQL.
fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// The key of a transaction-level advisory lock: a hash of the schema, a kind of record and its
/// key, so ledgers in different schemas of one database never wait for each other. Two keys
/// with the same hash only make their units wait for each other.
fn lock_key(schema: &str, kind: &str, key: &str) -> i64 {
    let digest = Sha256::new()
        .chain_update(schema.as_bytes())
        .chain_update([0])
        .chain_update(kind.as_bytes())
        .chain_update([0])
        .chain_update(key.as_bytes())
        .finalize();
    let high = digest
        .iter()
        .take(8)
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    i64::from_be_bytes(high.to_be_bytes())
}

/// The schema version recorded in the schema (0 when none is).
fn current_version(client: &mut impl postgres::GenericClient) -> Result<u32, StoreError> {
    let row = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_version",
            &[],
        )
        .map_err(pg("reading the schema version"))?;
    let version: i64 = row.try_get(0).map_err(pg("reading the schema version"))?;
    u32::try_from(version).map_err(|_| {
        StoreError(format!(
            "the recorded schema version {version} is not valid"
        ))
    })
}

/// Creates the schema if needed and applies the migrations it lacks, all in one transaction,
/// under an advisory lock: another process connecting at the same time waits, then finds them
/// applied.
fn migrate(client: &mut Client, schema: &str) -> Result<(), StoreError> {
    let mut tx = client
        .transaction()
        .map_err(pg("starting the schema migration"))?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&lock_key(schema, "migrations", "")],
    )
    .map_err(pg("locking the schema for migration"))?;
    let exists: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[&schema],
        )
        .and_then(|row| row.try_get(0))
        .map_err(pg("looking for the schema"))?;
    if !exists {
        tx.batch_execute(&format!("CREATE SCHEMA {}", quote(schema)))
            .map_err(pg("creating the schema"))?;
    }
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version INTEGER PRIMARY KEY NOT NULL,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .map_err(pg("creating the schema_version table"))?;
    let current = current_version(&mut tx)?;
    if current > PgStore::SCHEMA_VERSION {
        return Err(StoreError(format!(
            "the database has schema version {current}, newer than this puntos supports ({}); \
             open it with a newer puntos",
            PgStore::SCHEMA_VERSION
        )));
    }
    // INTEGER columns are i32; the number of migrations fits.
    let pending = MIGRATIONS
        .iter()
        .zip(1i32..)
        .skip_while(|(_, v)| i64::from(*v) <= i64::from(current));
    for (steps, version) in pending {
        for step in *steps {
            match step {
                Step::Sql(script) => tx
                    .batch_execute(script)
                    .map_err(|e| StoreError(format!("applying schema migration {version}: {e}")))?,
                Step::Code(code) => code(&mut tx).map_err(|StoreError(e)| {
                    StoreError(format!("applying schema migration {version}: {e}"))
                })?,
            }
        }
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&version],
        )
        .map_err(|e| StoreError(format!("recording schema migration {version}: {e}")))?;
    }
    tx.commit().map_err(pg("committing the schema migration"))
}

impl Store for PgStore {
    fn atomically<R, E: From<StoreError>>(
        &mut self,
        work: impl FnOnce(&mut dyn Session) -> Result<R, E>,
    ) -> Result<R, E> {
        self.reconnect_if_closed()?;
        let PgStore {
            client,
            schema,
            statements,
            ..
        } = self;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .map_err(pg("starting a unit of work"))?;
        let mut session = PgSession {
            tx,
            schema,
            statements,
            failed: None,
            locked: std::collections::HashSet::new(),
            free: std::collections::HashSet::new(),
        };
        let result = work(&mut session);
        let PgSession { tx, failed, .. } = session;
        match (result, failed) {
            (Ok(value), None) => {
                tx.commit().map_err(pg("committing a unit of work"))?;
                Ok(value)
            }
            (Ok(_), Some(error)) => {
                // PostgreSQL aborted the transaction at the failed statement: a commit would
                // silently roll it back, so the unit is reported as failed.
                let _ = tx.rollback();
                Err(StoreError(format!(
                    "the unit of work went on after a failed statement, so nothing of it was \
                     written; the failure: {error}"
                ))
                .into())
            }
            (Err(e), _) => {
                // The work's error is the one to report; a failed rollback leaves the
                // transaction to end with the connection.
                let _ = tx.rollback();
                Err(e)
            }
        }
    }

    fn purge(&mut self) -> Result<(), StoreError> {
        // Rewrite the tables that hold personal data into new files, dropping the old row
        // versions an erasure left behind. (The server's write-ahead log and backups keep them
        // until they are recycled: that is the operator's retention policy.)
        self.reconnect_if_closed()?;
        self.client
            .batch_execute("VACUUM (FULL) accounts, aliases")
            .map_err(pg("vacuuming"))
    }
}

/// The reads and writes of one unit of work: statements within the open transaction.
struct PgSession<'t> {
    tx: Transaction<'t>,
    schema: &'t str,
    statements: &'t mut HashMap<&'static str, Statement>,
    /// The first failed statement, after which PostgreSQL refuses every other one.
    failed: Option<String>,
    /// The advisory locks this unit holds (until it ends): taken once each.
    locked: std::collections::HashSet<i64>,
    /// Keys this unit found free ([`Session::keys_free`]), under their locks: an account
    /// written with one as its id has no aliases to drop, and one taking one as an alias needs
    /// no check for another owner beforehand (its insert still refuses one).
    free: std::collections::HashSet<String>,
}

impl PgSession<'_> {
    /// Remembers a failed statement and says what was being done.
    fn fail(&mut self, doing: &str, error: &postgres::Error) -> StoreError {
        let message = format!("{doing}: {}", describe(error));
        if self.failed.is_none() {
            self.failed = Some(message.clone());
        }
        StoreError(message)
    }

    /// `sql`, prepared once per connection.
    fn statement(&mut self, doing: &str, sql: &'static str) -> Result<Statement, StoreError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        match self.tx.prepare(sql) {
            Ok(statement) => {
                self.statements.insert(sql, statement.clone());
                Ok(statement)
            }
            Err(e) => Err(self.fail(doing, &e)),
        }
    }

    /// The rows of `sql` with `params`.
    fn query(
        &mut self,
        doing: &str,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, StoreError> {
        let statement = self.statement(doing, sql)?;
        match self.tx.query(&statement, params) {
            Ok(rows) => Ok(rows),
            Err(e) => Err(self.fail(doing, &e)),
        }
    }

    /// The row of `sql` with `params`, if any.
    fn query_opt(
        &mut self,
        doing: &str,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<postgres::Row>, StoreError> {
        let statement = self.statement(doing, sql)?;
        match self.tx.query_opt(&statement, params) {
            Ok(row) => Ok(row),
            Err(e) => Err(self.fail(doing, &e)),
        }
    }

    /// Runs `sql` with `params`; the number of rows it changed.
    fn execute(
        &mut self,
        doing: &str,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let statement = self.statement(doing, sql)?;
        match self.tx.execute(&statement, params) {
            Ok(count) => Ok(count),
            Err(e) => Err(self.fail(doing, &e)),
        }
    }

    /// Waits for, and takes until the unit ends, the lock on a record (`kind`, `key`).
    fn lock(&mut self, kind: &str, key: &str) -> Result<(), StoreError> {
        let id = lock_key(self.schema, kind, key);
        if self.locked.contains(&id) {
            return Ok(());
        }
        self.locked.insert(id);
        self.execute(
            &format!("waiting for the lock on {kind} {key}"),
            "SELECT pg_advisory_xact_lock($1)",
            &[&id],
        )?;
        Ok(())
    }

    /// The first column of `row`, as `T`.
    fn column<T: for<'a> postgres::types::FromSql<'a>>(
        &mut self,
        doing: &str,
        row: &postgres::Row,
        index: usize,
    ) -> Result<T, StoreError> {
        row.try_get(index).map_err(|e| self.fail(doing, &e))
    }

    /// The first column of each row of `sql` with `params`, decoded from JSON.
    fn bodies<T: DeserializeOwned>(
        &mut self,
        what: &str,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<T>, StoreError> {
        let doing = format!("reading {what}");
        let rows = self.query(&doing, sql, params)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let body: String = self.column(&doing, row, 0)?;
            out.push(decode(what, &body)?);
        }
        Ok(out)
    }

    /// The account holding an alias.
    fn alias_owner(&mut self, alias: &str) -> Result<Option<String>, StoreError> {
        let doing = format!("reading alias {alias}");
        let row = self.query_opt(
            &doing,
            "SELECT account FROM aliases WHERE alias = $1",
            &[&alias],
        )?;
        row.map(|row| self.column(&doing, &row, 0)).transpose()
    }

    /// The account an id or alias leads to (itself when it is no alias).
    fn resolve(&mut self, id_or_alias: &str) -> Result<String, StoreError> {
        Ok(self
            .alias_owner(id_or_alias)?
            .unwrap_or_else(|| id_or_alias.to_string()))
    }

    /// The last sequence number (and hash) of the journal, locked until the unit ends.
    fn locked_journal_head(&mut self) -> Result<(u64, Option<String>), StoreError> {
        let doing = "reading the journal's head";
        let row = self.query_opt(
            doing,
            "SELECT seq, hash FROM journal_head WHERE id = 1 FOR UPDATE",
            &[],
        )?;
        let row = row.ok_or_else(|| StoreError(format!("{doing}: the head row is missing")))?;
        let seq: i64 = self.column(doing, &row, 0)?;
        let hash: Option<String> = self.column(doing, &row, 1)?;
        Ok((from_seq(seq)?, hash))
    }
}

impl Session for PgSession<'_> {
    fn shop(&mut self, id: &str) -> Result<Option<crate::eval::Store>, StoreError> {
        let doing = format!("reading store {id}");
        let row = self.query_opt(&doing, "SELECT body FROM shops WHERE id = $1", &[&id])?;
        let Some(row) = row else {
            return Ok(None);
        };
        let body: String = self.column(&doing, &row, 0)?;
        decode(format_args!("store {id}"), &body).map(Some)
    }

    fn put_shop(&mut self, shop: &crate::eval::Store) -> Result<(), StoreError> {
        let body = encode(format_args!("store {}", shop.id), shop)?;
        self.execute(
            &format!("writing store {}", shop.id),
            "INSERT INTO shops (id, body) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            &[&&*shop.id, &body],
        )?;
        Ok(())
    }

    fn account_ids(&mut self, after: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let doing = "listing accounts";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.query(
            doing,
            "SELECT id FROM accounts WHERE id COLLATE \"C\" > $1 ORDER BY id COLLATE \"C\" LIMIT $2",
            &[&after, &limit],
        )?
        .iter()
        .map(|row| row.try_get::<_, String>(0).map_err(|e| self.fail(doing, &e)))
        .collect()
    }

    fn account(&mut self, id_or_alias: &str) -> Result<Option<AccountState>, StoreError> {
        let doing = format!("reading account {id_or_alias}");
        let mut id = self.resolve(id_or_alias)?;
        for _ in 0..ALIAS_RETRIES {
            // Locked before it is read: absent, it stays absent until this unit ends, unless
            // this unit creates it.
            self.lock("account", &id)?;
            let now = self.resolve(id_or_alias)?;
            if now != id {
                // The alias moved while this unit waited for the lock.
                id = now;
                continue;
            }
            let row = self.query_opt(
                &doing,
                "SELECT state FROM accounts WHERE id = $1 FOR UPDATE",
                &[&id],
            )?;
            return match row {
                Some(row) => {
                    let state: &[u8] = row.try_get(0).map_err(|e| self.fail(&doing, &e))?;
                    decode_account(format_args!("account {id_or_alias}"), state).map(Some)
                }
                None => Ok(None),
            };
        }
        Err(StoreError(format!(
            "{doing}: the alias kept moving to other accounts"
        )))
    }

    fn keys_free(&mut self, keys: &[&str]) -> Result<bool, StoreError> {
        // Locked first, all in one statement and in order of their lock keys.
        let mut ids: Vec<i64> = keys
            .iter()
            .map(|key| lock_key(self.schema, "account", key))
            .filter(|id| !self.locked.contains(id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if !ids.is_empty() {
            self.execute(
                "waiting for the locks on new accounts",
                "SELECT count(pg_advisory_xact_lock(k))
                 FROM (SELECT unnest($1::int8[]) AS k ORDER BY 1) AS keys",
                &[&ids],
            )?;
            self.locked.extend(ids);
        }
        let keys: Vec<&str> = keys.to_vec();
        let taken = self.query_opt(
            "looking up new accounts' ids and aliases",
            "SELECT 1 FROM aliases WHERE alias = ANY($1)
             UNION ALL SELECT 1 FROM accounts WHERE id = ANY($1) LIMIT 1",
            &[&keys],
        )?;
        if taken.is_none() {
            self.free.extend(keys.iter().map(|k| k.to_string()));
        }
        Ok(taken.is_none())
    }

    fn put_account(&mut self, account: &AccountState) -> Result<(), StoreError> {
        let id = account.id.as_str();
        let doing = format!("writing account {id}");
        let state = encode_account(account);
        self.lock("account", id)?;
        let new = self.free.remove(id);
        for alias in &account.aliases {
            if self.free.remove(alias.as_str()) {
                continue;
            }
            if self.alias_owner(alias)?.is_some_and(|owner| owner != id) {
                return Err(StoreError(format!(
                    "alias {alias} already belongs to another account"
                )));
            }
        }
        self.execute(
            &doing,
            "INSERT INTO accounts (id, state) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET state = excluded.state",
            &[&id, &state],
        )?;
        // The account's aliases become exactly those it lists (a new account has none yet).
        if !new {
            self.execute(&doing, "DELETE FROM aliases WHERE account = $1", &[&id])?;
        }
        for alias in &account.aliases {
            // An alias another account took since the check above is not taken over.
            let written = self.execute(
                &doing,
                "INSERT INTO aliases (alias, account) VALUES ($1, $2)
                 ON CONFLICT (alias) DO UPDATE SET account = excluded.account
                 WHERE aliases.account = excluded.account",
                &[alias, &id],
            )?;
            if written == 0 {
                return Err(StoreError(format!(
                    "alias {alias} already belongs to another account"
                )));
            }
        }
        Ok(())
    }

    fn account_packer(&self) -> Option<fn(&AccountState) -> Vec<u8>> {
        Some(encode_account)
    }

    fn update_accounts_packed(
        &mut self,
        accounts: &[&AccountState],
        packed: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        check_packed(accounts, packed)?;
        for (account, state) in accounts.iter().zip(packed) {
            let id = account.id.as_str();
            self.lock("account", id)?;
            let changed = self.execute(
                &format!("writing account {id}"),
                "UPDATE accounts SET state = $2 WHERE id = $1",
                &[&id, state],
            )?;
            if changed == 0 {
                self.put_account(account)?;
            }
        }
        Ok(())
    }

    fn transaction(&mut self, id: &str) -> Result<Option<StoredTransaction>, StoreError> {
        let doing = format!("reading transaction {id}");
        // Locked: two units applying the same transaction id are serialized, and the second
        // finds the first's record.
        self.lock("transaction", id)?;
        let row = self.query_opt(
            &doing,
            "SELECT body FROM transactions WHERE id = $1 FOR UPDATE",
            &[&id],
        )?;
        match row {
            Some(row) => {
                let body: String = self.column(&doing, &row, 0)?;
                decode(format_args!("transaction {id}"), &body).map(Some)
            }
            None => Ok(None),
        }
    }

    fn put_transaction(&mut self, transaction: &StoredTransaction) -> Result<(), StoreError> {
        let body = encode(format_args!("transaction {}", transaction.id), transaction)?;
        self.put_transaction_encoded(transaction, &body)
    }

    fn keeps_json(&self) -> bool {
        true
    }

    fn put_transaction_encoded(
        &mut self,
        transaction: &StoredTransaction,
        body: &str,
    ) -> Result<(), StoreError> {
        let id = transaction.id.as_str();
        self.lock("transaction", id)?;
        self.execute(
            &format!("writing transaction {id}"),
            "INSERT INTO transactions (id, account, body) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET account = excluded.account, body = excluded.body",
            &[&id, &transaction.account, &body],
        )?;
        Ok(())
    }

    fn budget_used(&mut self, promotion: &str) -> Result<Decimal, StoreError> {
        let doing = format!("reading the budget of {promotion}");
        // Locked: a unit deciding on what is left of a budget keeps it until it commits.
        self.lock("budget", promotion)?;
        let row = self.query_opt(
            &doing,
            "SELECT used::TEXT FROM budgets WHERE promotion = $1 FOR UPDATE",
            &[&promotion],
        )?;
        let Some(row) = row else {
            return Ok(Decimal::ZERO);
        };
        let text: String = self.column(&doing, &row, 0)?;
        Decimal::from_str(&text).map_err(|e| {
            StoreError(format!(
                "the stored budget of {promotion} ({text:?}) is not a decimal: {e}"
            ))
        })
    }

    fn add_budget_used(&mut self, promotion: &str, amount: Decimal) -> Result<(), StoreError> {
        // Atomic: the budget stays locked from this read to the unit's end.
        let used = self.budget_used(promotion)?;
        let total = used.checked_add(amount).ok_or_else(|| {
            StoreError(format!(
                "the budget of {promotion} overflows ({used} + {amount})"
            ))
        })?;
        self.execute(
            &format!("writing the budget of {promotion}"),
            "INSERT INTO budgets (promotion, used) VALUES ($1, $2::TEXT::NUMERIC)
             ON CONFLICT (promotion) DO UPDATE SET used = excluded.used",
            &[&promotion, &total.to_string()],
        )?;
        Ok(())
    }

    fn journal_head(&mut self) -> Result<Option<(u64, String)>, StoreError> {
        match self.locked_journal_head()? {
            (0, _) => Ok(None),
            (seq, Some(hash)) => Ok(Some((seq, hash))),
            (seq, None) => Err(StoreError(format!("the journal's head {seq} has no hash"))),
        }
    }

    fn append_journal(&mut self, entries: &[JournalEntry]) -> Result<(), StoreError> {
        self.append_journal_encoded(entries, &encode_entries(entries)?)
    }

    fn append_journal_encoded(
        &mut self,
        entries: &[JournalEntry],
        texts: &[String],
    ) -> Result<(), StoreError> {
        check_texts(entries, texts)?;
        let Some(newest) = entries.last() else {
            return Ok(());
        };
        let (mut last, _) = self.locked_journal_head()?;
        let (mut seqs, mut accounts, mut bodies, mut hashes) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (entry, body) in entries.iter().zip(texts) {
            if entry.seq <= last {
                return Err(StoreError(format!(
                    "journal entry {} does not follow the journal's last entry {last}",
                    entry.seq
                )));
            }
            seqs.push(to_seq(entry.seq)?);
            accounts.push(entry.account.as_str());
            bodies.push(body.as_str());
            hashes.push(entry.hash.as_str());
            last = entry.seq;
        }
        // One statement for them all: a round trip to the server per entry was most of the
        // time a batch took.
        self.execute(
            "appending to the journal",
            "INSERT INTO journal (seq, account, body, hash)
             SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[])",
            &[&seqs, &accounts, &bodies, &hashes],
        )?;
        self.execute(
            "moving the journal's head",
            "UPDATE journal_head SET seq = $1, hash = $2 WHERE id = 1",
            &[&to_seq(newest.seq)?, &newest.hash],
        )?;
        Ok(())
    }

    fn journal(
        &mut self,
        account: Option<&str>,
        after: u64,
        limit: usize,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        // A position past any storable one: nothing follows it.
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        match account {
            Some(account) => self.bodies(
                "the journal",
                "SELECT body FROM journal WHERE account = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                &[&account, &after, &limit],
            ),
            None => self.bodies(
                "the journal",
                "SELECT body FROM journal WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &limit],
            ),
        }
    }

    fn outbox_head(&mut self) -> Result<u64, StoreError> {
        let doing = "reading the outbox's head";
        let row = self.query_opt(
            doing,
            "SELECT seq FROM outbox_head WHERE id = 1 FOR UPDATE",
            &[],
        )?;
        let row = row.ok_or_else(|| StoreError(format!("{doing}: the head row is missing")))?;
        let seq: i64 = self.column(doing, &row, 0)?;
        from_seq(seq)
    }

    fn push_events(&mut self, events: &[OutboxEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut last = self.outbox_head()?;
        let (mut seqs, mut accounts, mut bodies) = (Vec::new(), Vec::new(), Vec::new());
        for event in events {
            seqs.push(to_seq(event.seq)?);
            accounts.push(event.account.as_str());
            bodies.push(encode(format_args!("outbox event {}", event.seq), event)?);
            last = last.max(event.seq);
        }
        self.execute(
            "writing to the outbox",
            "INSERT INTO outbox (seq, account, body)
             SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[])",
            &[&seqs, &accounts, &bodies],
        )?;
        self.execute(
            "moving the outbox's head",
            "UPDATE outbox_head SET seq = $1 WHERE id = 1",
            &[&to_seq(last)?],
        )?;
        Ok(())
    }

    fn pending_events(&mut self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.bodies(
            "the outbox",
            "SELECT body FROM outbox
             WHERE seq > (SELECT acknowledged FROM outbox_ack WHERE id = 1)
             ORDER BY seq LIMIT $1",
            &[&limit],
        )
    }

    fn acknowledge(&mut self, seq: u64) -> Result<(), StoreError> {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        self.execute(
            "acknowledging outbox events",
            "UPDATE outbox_ack SET acknowledged = GREATEST(acknowledged, $1) WHERE id = 1",
            &[&seq],
        )?;
        Ok(())
    }
}

/// Maps a PostgreSQL error to a store error saying what was being done.
fn pg(doing: &'static str) -> impl Fn(postgres::Error) -> StoreError {
    move |e| StoreError(format!("{doing}: {}", describe(&e)))
}

/// A PostgreSQL error in words: the server's message (with its SQLSTATE) when it sent one.
fn describe(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}
