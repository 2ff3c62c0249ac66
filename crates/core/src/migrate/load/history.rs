//! The legacy purchases and refunds sorted out to the parts of a load: one pass over the
//! transaction files writes each row's account, moment and signed amount (36 bytes) to the
//! temporary file of the account's part, and each part reads back only its own. The files
//! live in a folder of their own under the system's temporary folder, removed when the load
//! is done (or fails).

use super::Index;
use crate::migrate::export::ExportFile;
use crate::migrate::repeats::transaction_files;
use crate::migrate::rows::{TxKind, TxRow};
use crate::migrate::scan::{keep_first, read_file, Keys};
use crate::migrate::{MigrateError, Observer};
use chrono::{DateTime, FixedOffset, TimeZone};
use rust_decimal::Decimal;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes a history entry takes: account (4), seconds (8), nanoseconds (4), offset (4), amount
/// (16).
const RECORD: usize = 36;

/// Spills made by this process so far, to name each one's folder apart.
static SPILLS: AtomicU64 = AtomicU64::new(0);

/// One history entry: the moment and the signed amount (a refund negative).
pub(super) type Entry = (DateTime<FixedOffset>, Decimal);

/// The history of every part, written out.
pub(super) struct HistorySpill {
    dir: PathBuf,
}

impl Drop for HistorySpill {
    fn drop(&mut self) {
        // Temporary files only: nothing is lost if they cannot be removed.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The error of a temporary file that cannot be written.
fn cannot_write(path: &Path) -> impl FnOnce(std::io::Error) -> MigrateError + '_ {
    move |source| MigrateError::Write {
        path: path.to_path_buf(),
        source,
    }
}

impl HistorySpill {
    /// Reads the transaction files of the export in `folder` (history then delta, each id once)
    /// and writes every purchase and refund of a placed card to its account's part: accounts
    /// `0..per_part` are part 0, and so on, over `parts` parts.
    pub(super) fn write(
        folder: &Path,
        index: &Index<'_>,
        per_part: usize,
        parts: usize,
        progress: &mut dyn Observer,
    ) -> Result<HistorySpill, MigrateError> {
        let dir = std::env::temp_dir().join(format!(
            "puntos-load-{}-{}",
            std::process::id(),
            SPILLS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(cannot_write(&dir))?;
        let spill = HistorySpill { dir };
        let mut writers = Vec::with_capacity(parts);
        for part in 0..parts {
            let path = spill.path(part);
            writers.push(BufWriter::new(
                File::create(&path).map_err(cannot_write(&path))?,
            ));
        }
        let mut failed: Option<(usize, std::io::Error)> = None;
        let mut ids = Keys::of_transactions(folder, progress)?;
        for (source, label) in transaction_files(folder) {
            read_file(
                &source,
                ExportFile::Transactions,
                label,
                progress,
                |row, p| {
                    let t = TxRow::read(row)?;
                    if !keep_first(&mut ids, "tx_id", t.tx_id, row, p)? {
                        return Ok(());
                    }
                    let sign = match t.kind {
                        TxKind::Purchase => Decimal::ONE,
                        TxKind::Refund => Decimal::NEGATIVE_ONE,
                        _ => return Ok(()),
                    };
                    let (Some(&account), Some(amount)) =
                        (index.card_account.get(t.card_no), t.amount)
                    else {
                        return Ok(());
                    };
                    let part = account as usize / per_part;
                    let written = match writers.get_mut(part) {
                        Some(w) if failed.is_none() => {
                            w.write_all(&encode(account, (t.occurred_at, sign * amount)))
                        }
                        _ => Ok(()),
                    };
                    if let Err(e) = written {
                        failed = Some((part, e));
                    }
                    Ok(())
                },
            )?;
        }
        if let Some((part, e)) = failed {
            return Err(cannot_write(&spill.path(part))(e));
        }
        for (part, mut w) in writers.into_iter().enumerate() {
            w.flush().map_err(cannot_write(&spill.path(part)))?;
        }
        Ok(spill)
    }

    /// The file of `part`.
    fn path(&self, part: usize) -> PathBuf {
        self.dir.join(format!("part-{part}.bin"))
    }

    /// Hands each entry of `part` to `each` with its account, in the order they were read.
    pub(super) fn read(
        &self,
        part: usize,
        mut each: impl FnMut(u32, Entry),
    ) -> Result<(), MigrateError> {
        let path = self.path(part);
        let bytes = std::fs::read(&path).map_err(|source| MigrateError::Io {
            path: path.clone(),
            source,
        })?;
        for record in bytes.chunks_exact(RECORD) {
            let Some((account, entry)) = decode(record) else {
                return Err(MigrateError::Settings(format!(
                    "{} is damaged: a history entry cannot be read back",
                    path.display()
                )));
            };
            each(account, entry);
        }
        Ok(())
    }
}

/// An entry as written.
fn encode(account: u32, (at, amount): Entry) -> [u8; RECORD] {
    let mut out = [0u8; RECORD];
    let fields: [&[u8]; 5] = [
        &account.to_le_bytes(),
        &at.timestamp().to_le_bytes(),
        &at.timestamp_subsec_nanos().to_le_bytes(),
        &at.offset().local_minus_utc().to_le_bytes(),
        &amount.serialize(),
    ];
    let mut at = 0;
    for field in fields {
        if let Some(slot) = out.get_mut(at..at + field.len()) {
            slot.copy_from_slice(field);
        }
        at += field.len();
    }
    out
}

/// An entry read back; `None` if the bytes are not one [`encode`] wrote.
fn decode(record: &[u8]) -> Option<(u32, Entry)> {
    fn take<const N: usize>(record: &[u8], at: usize) -> Option<[u8; N]> {
        record.get(at..at + N)?.try_into().ok()
    }
    let account = u32::from_le_bytes(take(record, 0)?);
    let seconds = i64::from_le_bytes(take(record, 4)?);
    let nanos = u32::from_le_bytes(take(record, 12)?);
    let offset = FixedOffset::east_opt(i32::from_le_bytes(take(record, 16)?))?;
    let at = offset.timestamp_opt(seconds, nanos).single()?;
    let amount = Decimal::deserialize(take(record, 20)?);
    Some((account, (at, amount)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_entry_reads_back_as_written() {
        let at = DateTime::parse_from_rfc3339("2024-11-02T10:15:00.25+03:00").unwrap();
        let amount: Decimal = "-1234.56".parse().unwrap();
        let record = encode(7, (at, amount));
        let (account, (read_at, read_amount)) = decode(&record).unwrap();
        assert_eq!(account, 7);
        assert_eq!(read_at, at);
        assert_eq!(read_at.offset(), at.offset());
        assert_eq!(read_amount, amount);
        assert_eq!(read_amount.scale(), 2);
    }

    #[test]
    fn bytes_that_are_no_entry_are_refused() {
        let mut record = encode(1, (DateTime::UNIX_EPOCH.fixed_offset(), Decimal::ONE));
        // An offset of a day and more is no offset.
        record[16..20].copy_from_slice(&100_000i32.to_le_bytes());
        assert!(decode(&record).is_none());
        assert!(decode(&record[..10]).is_none());
    }
}
