//! Writing many rows of a table with one `INSERT`: a batch's journal entries, transactions and
//! outbox events.
//!
//! A statement's own work (starting, opening the table, finishing) was paid once per row, three
//! or four rows per applied transaction; an `INSERT` of [`ROWS_PER_INSERT`] rows pays it once
//! for them all, and the rows left over go one by one. (Accounts' new states stay one `UPDATE`
//! each: an `UPDATE ... FROM (VALUES ...)` of many took more instructions, BENCHMARKS.md.)

use super::super::model::{JournalEntry, StoredTransaction};
use super::super::store::StoreError;
use rusqlite::{ToSql, Transaction};
use std::sync::OnceLock;

/// Rows one `INSERT` writes when that many are left. 32 rows of 5 values stay far below
/// SQLite's limit of 32,766 parameters.
const ROWS_PER_INSERT: usize = 32;

/// A table's rows as one kind of `INSERT` writes them.
pub(super) trait Row<const N: usize> {
    /// The statement's text before its values: `INSERT INTO table (columns) VALUES`.
    const HEAD: &'static str;
    /// What follows the values (an upsert's `ON CONFLICT` clause), or nothing.
    const TAIL: &'static str;
    /// The `INSERT`s of one row and of [`ROWS_PER_INSERT`] rows, written once each.
    fn statements() -> &'static Statements;
    /// The row's values, in the order of the columns of [`Row::HEAD`].
    fn values(&self) -> [&dyn ToSql; N];
    /// The row, as an error names it (`journal entry 12`).
    fn name(&self) -> String;
}

/// The `INSERT`s of a kind of row (see [`Row::statements`]).
pub(super) struct Statements {
    one: String,
    many: String,
}

impl Statements {
    /// The statements of rows of `columns` values between `head` and `tail`.
    fn new(head: &str, tail: &str, columns: usize) -> Statements {
        Statements {
            one: insert_of(head, tail, columns, 1),
            many: insert_of(head, tail, columns, ROWS_PER_INSERT),
        }
    }
}

/// Inserts `rows`, in order.
pub(super) fn insert<const N: usize, R: Row<N>>(
    tx: &Transaction<'_>,
    rows: &[R],
) -> Result<(), StoreError> {
    let statements = R::statements();
    let mut groups = rows.chunks_exact(ROWS_PER_INSERT);
    for group in &mut groups {
        let values: Vec<&dyn ToSql> = group.iter().flat_map(Row::values).collect();
        tx.prepare_cached(&statements.many)
            .and_then(|mut insert| insert.execute(values.as_slice()))
            .map_err(|e| {
                let name = |row: Option<&R>| row.map(Row::name).unwrap_or_default();
                StoreError(format!(
                    "writing {} to {}: {e}",
                    name(group.first()),
                    name(group.last())
                ))
            })?;
    }
    for row in groups.remainder() {
        tx.prepare_cached(&statements.one)
            .and_then(|mut insert| insert.execute(row.values().as_slice()))
            .map_err(|e| StoreError(format!("writing {}: {e}", row.name())))?;
    }
    Ok(())
}

/// The `INSERT` of `rows` rows of `columns` values, numbered in order, between `head` and
/// `tail`.
fn insert_of(head: &str, tail: &str, columns: usize, rows: usize) -> String {
    let tuples: Vec<String> = (0..rows)
        .map(|row| {
            let numbers: Vec<String> = (1..=columns)
                .map(|k| format!("?{}", row * columns + k))
                .collect();
            format!("({})", numbers.join(", "))
        })
        .collect();
    format!("{head} {}{tail}", tuples.join(", "))
}

/// A journal entry as its row.
pub(super) struct JournalRow<'e> {
    /// Its position in the journal.
    pub seq: i64,
    /// The entry.
    pub entry: &'e JournalEntry,
    /// Its stored text.
    pub body: &'e str,
    /// The account's entry before it, if any (the account's list, `links`).
    pub prior: Option<i64>,
}

impl Row<5> for JournalRow<'_> {
    const HEAD: &'static str = "INSERT INTO journal (seq, account, body, hash, prior) VALUES";
    const TAIL: &'static str = "";

    fn statements() -> &'static Statements {
        static STATEMENTS: OnceLock<Statements> = OnceLock::new();
        STATEMENTS.get_or_init(|| Statements::new(Self::HEAD, Self::TAIL, 5))
    }

    fn values(&self) -> [&dyn ToSql; 5] {
        [
            &self.seq,
            &self.entry.account,
            &self.body,
            &self.entry.hash,
            &self.prior,
        ]
    }

    fn name(&self) -> String {
        format!("journal entry {}", self.seq)
    }
}

/// A transaction as its row; written again, it replaces the row (a purchase's refunded
/// units).
pub(super) struct TransactionRow<'t> {
    /// The transaction.
    pub transaction: &'t StoredTransaction,
    /// Its stored text.
    pub body: &'t str,
}

impl Row<3> for TransactionRow<'_> {
    const HEAD: &'static str = "INSERT INTO transactions (id, account, body) VALUES";
    const TAIL: &'static str = " ON CONFLICT (id) DO UPDATE \
         SET account = excluded.account, body = excluded.body";

    fn statements() -> &'static Statements {
        static STATEMENTS: OnceLock<Statements> = OnceLock::new();
        STATEMENTS.get_or_init(|| Statements::new(Self::HEAD, Self::TAIL, 3))
    }

    fn values(&self) -> [&dyn ToSql; 3] {
        [&self.transaction.id, &self.transaction.account, &self.body]
    }

    fn name(&self) -> String {
        format!("transaction {}", self.transaction.id)
    }
}

/// An event of the outbox as its row.
pub(super) struct EventRow<'e> {
    /// Its position in the outbox.
    pub seq: i64,
    /// The account it concerns.
    pub account: &'e str,
    /// Its stored text.
    pub body: &'e str,
}

impl Row<3> for EventRow<'_> {
    const HEAD: &'static str = "INSERT INTO outbox (seq, account, body) VALUES";
    const TAIL: &'static str = "";

    fn statements() -> &'static Statements {
        static STATEMENTS: OnceLock<Statements> = OnceLock::new();
        STATEMENTS.get_or_init(|| Statements::new(Self::HEAD, Self::TAIL, 3))
    }

    fn values(&self) -> [&dyn ToSql; 3] {
        [&self.seq, &self.account, &self.body]
    }

    fn name(&self) -> String {
        format!("outbox event {}", self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_insert_numbers_every_value_once_in_order() {
        assert_eq!(
            insert_of(JournalRow::HEAD, JournalRow::TAIL, 5, 2),
            "INSERT INTO journal (seq, account, body, hash, prior) \
             VALUES (?1, ?2, ?3, ?4, ?5), (?6, ?7, ?8, ?9, ?10)"
        );
        assert_eq!(
            insert_of(TransactionRow::HEAD, TransactionRow::TAIL, 3, 1),
            "INSERT INTO transactions (id, account, body) VALUES (?1, ?2, ?3) \
             ON CONFLICT (id) DO UPDATE SET account = excluded.account, body = excluded.body"
        );
    }
}
