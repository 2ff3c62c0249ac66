//! What a load sorts out to its parts through temporary files, so that building one part
//! reads only that part's share and each legacy file is read once: the purchase history (36
//! bytes an entry: account, moment, signed amount; written as the cutover reads the
//! transactions), the customers' profiles and the cards (a line of JSON each). The files live in a folder of their own under the system's temporary
//! folder, removed when the load is done or fails.

use crate::migrate::MigrateError;
use chrono::{DateTime, FixedOffset, TimeZone};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Serialize;
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

/// What is spilled: each kind has a file per part.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    /// Purchases and refunds.
    History,
    /// Customers' profiles.
    Profiles,
    /// Cards.
    Cards,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::History => "history",
            Kind::Profiles => "profiles",
            Kind::Cards => "cards",
        }
    }
}

/// The temporary files of one load.
#[derive(Debug)]
pub(super) struct Spill {
    dir: PathBuf,
    parts: usize,
}

impl Drop for Spill {
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

/// The files of one kind being written, a part each; the first write that fails is kept and
/// reported by [`PartWriters::finish`] (the rows' reading goes on meanwhile).
#[derive(Debug)]
pub(super) struct PartWriters {
    files: Vec<(PathBuf, BufWriter<File>)>,
    failed: Option<(PathBuf, std::io::Error)>,
}

impl PartWriters {
    fn write(&mut self, part: usize, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        if let Some((path, w)) = self.files.get_mut(part) {
            if let Err(e) = w.write_all(bytes) {
                self.failed = Some((path.clone(), e));
            }
        }
    }

    /// Writes a history entry of `account`.
    pub(super) fn write_entry(&mut self, part: usize, account: u32, entry: Entry) {
        self.write(part, &encode(account, entry));
    }

    /// Writes a value as a line of JSON.
    fn write_json(&mut self, part: usize, value: &impl Serialize) {
        match serde_json::to_vec(value) {
            Ok(mut line) => {
                line.push(b'\n');
                self.write(part, &line);
            }
            Err(e) => {
                if self.failed.is_none() {
                    let path = self
                        .files
                        .get(part)
                        .map(|f| f.0.clone())
                        .unwrap_or_default();
                    self.failed = Some((path, std::io::Error::other(e)));
                }
            }
        }
    }

    /// Writes out what is buffered; the first write that failed is the error.
    pub(super) fn finish(self) -> Result<(), MigrateError> {
        if let Some((path, e)) = self.failed {
            return Err(cannot_write(&path)(e));
        }
        for (path, mut w) in self.files {
            w.flush().map_err(cannot_write(&path))?;
        }
        Ok(())
    }
}

impl Spill {
    /// A folder for the files of `parts` parts.
    pub(super) fn new(parts: usize) -> Result<Spill, MigrateError> {
        let dir = std::env::temp_dir().join(format!(
            "puntos-load-{}-{}",
            std::process::id(),
            SPILLS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(cannot_write(&dir))?;
        Ok(Spill { dir, parts })
    }

    /// The file of `kind` for `part`.
    fn path(&self, kind: Kind, part: usize) -> PathBuf {
        self.dir.join(format!("{}-{part}", kind.name()))
    }

    /// The files of `kind`, created empty.
    pub(super) fn writers(&self, kind: Kind) -> Result<PartWriters, MigrateError> {
        let mut files = Vec::with_capacity(self.parts);
        for part in 0..self.parts {
            let path = self.path(kind, part);
            let file = File::create(&path).map_err(cannot_write(&path))?;
            files.push((path, BufWriter::new(file)));
        }
        Ok(PartWriters {
            files,
            failed: None,
        })
    }

    /// The bytes of `kind` for `part`.
    fn bytes(&self, kind: Kind, part: usize) -> Result<(PathBuf, Vec<u8>), MigrateError> {
        let path = self.path(kind, part);
        let bytes = std::fs::read(&path).map_err(|source| MigrateError::Io {
            path: path.clone(),
            source,
        })?;
        Ok((path, bytes))
    }

    /// Writes `(account, value)` pairs of `kind`, each to its account's part, as `each` finds
    /// them.
    pub(super) fn values<T: Serialize>(
        &self,
        kind: Kind,
        part_of: impl Fn(u32) -> usize,
        each: impl FnOnce(&mut dyn FnMut(u32, &T)) -> Result<(), MigrateError>,
    ) -> Result<(), MigrateError> {
        let mut writers = self.writers(kind)?;
        each(&mut |account, value| writers.write_json(part_of(account), &(account, value)))?;
        writers.finish()
    }

    /// Hands each history entry of `part` to `each` with its account, in the order written.
    pub(super) fn read_history(
        &self,
        part: usize,
        mut each: impl FnMut(u32, Entry),
    ) -> Result<(), MigrateError> {
        let (path, bytes) = self.bytes(Kind::History, part)?;
        for record in bytes.chunks_exact(RECORD) {
            let (account, entry) = decode(record).ok_or_else(|| damaged(&path))?;
            each(account, entry);
        }
        Ok(())
    }

    /// Hands each value of `kind` in `part` to `each` with its account, in the order written.
    pub(super) fn read_values<T: DeserializeOwned>(
        &self,
        kind: Kind,
        part: usize,
        mut each: impl FnMut(u32, T),
    ) -> Result<(), MigrateError> {
        let (path, bytes) = self.bytes(kind, part)?;
        for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let (account, value) =
                serde_json::from_slice::<(u32, T)>(line).map_err(|_| damaged(&path))?;
            each(account, value);
        }
        Ok(())
    }
}

/// The error of a temporary file that does not read back as written.
fn damaged(path: &Path) -> MigrateError {
    MigrateError::Settings(format!(
        "{} is damaged: what the load wrote there cannot be read back",
        path.display()
    ))
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
