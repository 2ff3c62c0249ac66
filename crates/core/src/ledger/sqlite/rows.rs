//! Appending a batch's journal entries to the `journal` table, many rows to an `INSERT`.
//!
//! A statement's own work (starting, opening the table, finishing) was paid once per entry,
//! two or three entries per applied transaction; an `INSERT` of
//! [`ROWS_PER_INSERT`] rows pays it once for them all, and the rows left over go one by one.

use super::super::model::JournalEntry;
use super::super::store::StoreError;
use rusqlite::{ToSql, Transaction};
use std::sync::OnceLock;

/// Rows one `INSERT` writes when that many are left. 32 rows of 5 values stay far below
/// SQLite's limit of 32,766 parameters.
const ROWS_PER_INSERT: usize = 32;

/// The `journal` columns each row fills, in the order of [`JournalRow::values`].
const COLUMNS: &str = "seq, account, body, hash, prior";

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

impl JournalRow<'_> {
    /// The row's values, in the order of [`COLUMNS`].
    fn values(&self) -> [&dyn ToSql; 5] {
        [
            &self.seq,
            &self.entry.account,
            &self.body,
            &self.entry.hash,
            &self.prior,
        ]
    }
}

/// Inserts `rows` into the journal, in order.
pub(super) fn insert(tx: &Transaction<'_>, rows: &[JournalRow<'_>]) -> Result<(), StoreError> {
    let mut groups = rows.chunks_exact(ROWS_PER_INSERT);
    for group in &mut groups {
        let values: Vec<&dyn ToSql> = group.iter().flat_map(JournalRow::values).collect();
        tx.prepare_cached(insert_of_many())
            .and_then(|mut insert| insert.execute(values.as_slice()))
            .map_err(|e| {
                let (first, last) = (group[0].seq, group[group.len() - 1].seq);
                StoreError(format!("appending journal entries {first} to {last}: {e}"))
            })?;
    }
    for row in groups.remainder() {
        tx.prepare_cached(insert_of_one())
            .and_then(|mut insert| insert.execute(row.values().as_slice()))
            .map_err(|e| StoreError(format!("appending journal entry {}: {e}", row.seq)))?;
    }
    Ok(())
}

/// The `INSERT` of one row.
fn insert_of_one() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| insert_of(1))
}

/// The `INSERT` of [`ROWS_PER_INSERT`] rows.
fn insert_of_many() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| insert_of(ROWS_PER_INSERT))
}

/// The `INSERT` of `rows` rows, their values numbered in order.
fn insert_of(rows: usize) -> String {
    let width = COLUMNS.split(',').count();
    let tuples: Vec<String> = (0..rows)
        .map(|row| {
            let numbers: Vec<String> = (1..=width)
                .map(|k| format!("?{}", row * width + k))
                .collect();
            format!("({})", numbers.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO journal ({COLUMNS}) VALUES {}",
        tuples.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_insert_numbers_every_value_once_in_order() {
        assert_eq!(
            insert_of(2),
            "INSERT INTO journal (seq, account, body, hash, prior) \
             VALUES (?1, ?2, ?3, ?4, ?5), (?6, ?7, ?8, ?9, ?10)"
        );
    }
}
