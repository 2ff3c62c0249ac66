//! Where `--db` points: a SQLite file, the embedded default, or a PostgreSQL server named by a
//! `postgres://` (or `postgresql://`) URL, for a ledger shared by several processes or hosts.
//! One type over both, so every command runs on either.

use puntos::ledger::{PgStore, Session, SqliteStore, Store, StoreError};

/// The environment variable naming the PostgreSQL schema the ledger's tables live in (default
/// `puntos`): several ledgers can share one database.
pub const SCHEMA_VARIABLE: &str = "PUNTOS_PG_SCHEMA";

/// An open ledger database.
pub enum Database {
    /// A SQLite file (boxed, as the server's client is: the store keeps its threads' handles
    /// and a cache of accounts beside its connection).
    File(Box<SqliteStore>),
    /// A PostgreSQL server (boxed: its client is much larger than a SQLite connection).
    Server(Box<PgStore>),
}

/// Whether `db` names a PostgreSQL server rather than a file.
fn is_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// `db` as messages show it: a URL's password hidden.
pub fn shown(db: &str) -> String {
    if !is_url(db) {
        return db.to_string();
    }
    let Some((scheme, rest)) = db.split_once("://") else {
        return db.to_string();
    };
    match rest.split_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
            None => db.to_string(),
        },
        None => db.to_string(),
    }
}

/// Opens (creating or migrating) the database `db` names, or prints why not (exit code 2).
pub fn open(db: &str) -> Result<Database, u8> {
    let opened = if is_url(db) {
        match std::env::var(SCHEMA_VARIABLE) {
            Ok(schema) => PgStore::connect_in(db, &schema),
            Err(_) => PgStore::connect(db),
        }
        .map(|store| Database::Server(Box::new(store)))
    } else {
        SqliteStore::open(db).map(|store| Database::File(Box::new(store)))
    };
    opened.map_err(|e| {
        eprintln!("error: {}: {e}", shown(db));
        2
    })
}

impl Database {
    /// Migrated accounts opened per unit of work. On a SQLite file, thousands: a commit per
    /// unit is what costs there. On PostgreSQL, a few hundred: a unit takes a lock on every id
    /// and alias it reads (three or so per account), and the server's lock table holds 64 per
    /// connection by default (`max_locks_per_transaction`, shared by all sessions), so a unit
    /// of 10,000 accounts fails with "out of shared memory".
    pub fn accounts_per_unit(&self) -> usize {
        match self {
            Database::File(_) => 10_000,
            Database::Server(_) => 500,
        }
    }

    /// The version of the ledger's schema.
    pub fn schema_version(&mut self) -> Result<u32, StoreError> {
        match self {
            Database::File(store) => store.schema_version(),
            Database::Server(store) => store.schema_version(),
        }
    }
}

impl Store for Database {
    fn atomically<R, E: From<StoreError>>(
        &mut self,
        work: impl FnOnce(&mut dyn Session) -> Result<R, E>,
    ) -> Result<R, E> {
        match self {
            Database::File(store) => store.atomically(work),
            Database::Server(store) => store.atomically(work),
        }
    }

    fn purge(&mut self) -> Result<(), StoreError> {
        match self {
            Database::File(store) => store.purge(),
            Database::Server(store) => store.purge(),
        }
    }

    fn tells_if_disturbed(&self) -> bool {
        match self {
            Database::File(store) => store.tells_if_disturbed(),
            Database::Server(store) => store.tells_if_disturbed(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_and_files_shown_as_given() {
        assert_eq!(
            shown("postgres://app:s3cret@db.internal:5432/loyalty"),
            "postgres://app:***@db.internal:5432/loyalty"
        );
        assert_eq!(
            shown("postgresql://app@127.0.0.1/loyalty"),
            "postgresql://app@127.0.0.1/loyalty"
        );
        assert_eq!(shown("ledger.db"), "ledger.db");
        assert!(is_url("postgres://x") && !is_url("postgres.db"));
    }
}
