//! The SQLite store's schema and its migrations: [`MIGRATIONS`] are applied in order, in one
//! transaction, when a database is opened, and each applied version is recorded in
//! `schema_version`. A database written by a newer puntos is refused.

use super::super::codec::decode;
use super::super::model::AccountState;
use super::super::pack::pack_account;
use super::super::store::StoreError;
use super::{links, sql};
use rusqlite::{params, Connection, Transaction, TransactionBehavior};

/// A step of a schema migration: a script, or code for what SQL alone cannot do.
enum Step {
    /// An SQL script.
    Sql(&'static str),
    /// A function run within the migration's transaction.
    Code(fn(&Transaction<'_>) -> Result<(), StoreError>),
}

/// The schema's migrations, in order: the steps at index `i` bring a database from version `i`
/// to version `i + 1`. Append only; never edit a released migration.
const MIGRATIONS: &[&[Step]] = &[
    // 1: the ledger's tables.
    &[Step::Sql(
        "CREATE TABLE accounts (
         id TEXT PRIMARY KEY NOT NULL,
         state TEXT NOT NULL
     ) STRICT;
     CREATE TABLE aliases (
         alias TEXT PRIMARY KEY NOT NULL,
         account TEXT NOT NULL REFERENCES accounts (id)
     ) STRICT;
     CREATE INDEX aliases_account ON aliases (account);
     CREATE TABLE transactions (
         id TEXT PRIMARY KEY NOT NULL,
         account TEXT NOT NULL,
         body TEXT NOT NULL
     ) STRICT;
     CREATE INDEX transactions_account ON transactions (account);
     CREATE TABLE budgets (
         promotion TEXT PRIMARY KEY NOT NULL,
         used TEXT NOT NULL
     ) STRICT;
     CREATE TABLE journal (
         seq INTEGER PRIMARY KEY NOT NULL CHECK (seq > 0),
         account TEXT NOT NULL,
         body TEXT NOT NULL,
         hash TEXT NOT NULL
     ) STRICT;
     CREATE INDEX journal_account ON journal (account, seq);
     CREATE TABLE outbox (
         seq INTEGER PRIMARY KEY NOT NULL CHECK (seq > 0),
         account TEXT NOT NULL,
         body TEXT NOT NULL
     ) STRICT;
     CREATE TABLE outbox_ack (
         id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
         acknowledged INTEGER NOT NULL
     ) STRICT;
     INSERT INTO outbox_ack (id, acknowledged) VALUES (1, 0);",
    )],
    // 2: accounts' states in the compact binary form of `pack` rather than JSON; no index of
    // transactions by account (no query reads them so, and keeping it cost a page write at a
    // random place of the file per transaction).
    &[
        Step::Sql(
            "DROP INDEX transactions_account;
             ALTER TABLE accounts ADD COLUMN packed BLOB NOT NULL DEFAULT x'';",
        ),
        Step::Code(pack_stored_accounts),
        Step::Sql(
            "ALTER TABLE accounts DROP COLUMN state;
             ALTER TABLE accounts RENAME COLUMN packed TO state;",
        ),
    ],
    // 3: the registry of stores (shops), whose region, city, format and partner fill in a
    // transaction that names only the store's id.
    &[Step::Sql(
        "CREATE TABLE shops (
             id TEXT PRIMARY KEY NOT NULL,
             body TEXT NOT NULL
         ) STRICT;",
    )],
    // 4: each account's journal entries linked into a list (`links`) in place of the index of
    // the journal by account, which cost a page write at a random place of the file for every
    // transaction.
    &[
        Step::Sql(
            "ALTER TABLE accounts ADD COLUMN last_entry INTEGER;
             ALTER TABLE journal ADD COLUMN prior INTEGER;
             CREATE TABLE journal_tails (
                 account TEXT PRIMARY KEY NOT NULL,
                 seq INTEGER NOT NULL
             ) STRICT, WITHOUT ROWID;",
        ),
        Step::Code(links::link_stored_journal),
        Step::Sql("DROP INDEX journal_account;"),
    ],
];

/// The schema version this build writes: the number of migrations.
pub(super) const VERSION: u32 = MIGRATIONS.len() as u32;

/// Migration 2: each account's JSON state, rewritten in the compact form.
fn pack_stored_accounts(tx: &Transaction<'_>) -> Result<(), StoreError> {
    let fail = sql("packing the stored accounts");
    let mut read = tx
        .prepare("SELECT id, state FROM accounts")
        .map_err(&fail)?;
    let mut write = tx
        .prepare("UPDATE accounts SET packed = ?2 WHERE id = ?1")
        .map_err(&fail)?;
    let mut rows = read.query([]).map_err(&fail)?;
    while let Some(row) = rows.next().map_err(&fail)? {
        let id: String = row.get(0).map_err(&fail)?;
        let state: String = row.get(1).map_err(&fail)?;
        let account: AccountState = decode(format_args!("account {id}"), &state)?;
        write
            .execute(params![id, pack_account(&account)])
            .map_err(&fail)?;
    }
    Ok(())
}

/// The schema version recorded in the database (0 when none is).
pub(super) fn current_version(connection: &Connection) -> Result<u32, StoreError> {
    let exists: bool = connection
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema
                            WHERE type = 'table' AND name = 'schema_version')",
            [],
            |row| row.get(0),
        )
        .map_err(sql("reading the schema version"))?;
    if !exists {
        return Ok(0);
    }
    let version: i64 = connection
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |row| row.get(0),
        )
        .map_err(sql("reading the schema version"))?;
    u32::try_from(version).map_err(|_| {
        StoreError(format!(
            "the recorded schema version {version} is not valid"
        ))
    })
}

/// Applies the migrations the database lacks, all in one transaction (another process opening
/// the same file at the same time waits, then finds them applied).
pub(super) fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let tx = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql("starting the schema migration"))?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version INTEGER PRIMARY KEY NOT NULL,
             applied_at TEXT NOT NULL
         ) STRICT",
    )
    .map_err(sql("creating the schema_version table"))?;
    let current = current_version(&tx)?;
    if current > VERSION {
        return Err(StoreError(format!(
            "the database has schema version {current}, newer than this puntos supports ({}); \
             open it with a newer puntos",
            VERSION
        )));
    }
    let pending = MIGRATIONS
        .iter()
        .zip(1u32..)
        .skip_while(|(_, v)| *v <= current);
    for (steps, version) in pending {
        for step in *steps {
            match step {
                Step::Sql(script) => tx
                    .execute_batch(script)
                    .map_err(|e| StoreError(format!("applying schema migration {version}: {e}")))?,
                Step::Code(code) => code(&tx).map_err(|StoreError(e)| {
                    StoreError(format!("applying schema migration {version}: {e}"))
                })?,
            }
        }
        tx.execute(
            "INSERT INTO schema_version (version, applied_at)
             VALUES (?1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
            params![version],
        )
        .map_err(|e| StoreError(format!("recording schema migration {version}: {e}")))?;
    }
    tx.commit().map_err(sql("committing the schema migration"))
}
