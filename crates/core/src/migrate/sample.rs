//! A trial on a subset, as migration practice asks: a deterministic sample of the customers,
//! chosen by a hash of the customer id (so the same customers every time, whatever the order
//! of the files), written as an export of its own with all their cards and every balance and
//! transaction of those cards. Cards without a known owner are sampled by a hash of their
//! number. Rows are copied field for field, malformed ones included, so the trial meets the
//! same defects as the whole.

use super::export::ExportFile;
use super::MigrateError;
use csv::ByteRecord;
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::path::Path;

/// Rows copied into a sample, per file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SampleCounts {
    /// `(file, rows read, rows kept)`, in reading order.
    pub files: Vec<(String, u64, u64)>,
}

/// The sample's share, in hundredths of a percent (`1%` is 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share(u32);

impl Share {
    /// Reads a share written as a percentage (`1%`, `0.5%`, `25`).
    pub fn parse(text: &str) -> Result<Share, String> {
        let number = text.trim().trim_end_matches('%');
        let percent: Decimal = number
            .parse()
            .map_err(|_| format!("`{text}` is not a percentage such as 1%"))?;
        let hundredths = (percent * Decimal::ONE_HUNDRED).round();
        if percent <= Decimal::ZERO || percent > Decimal::ONE_HUNDRED || hundredths.is_zero() {
            return Err(format!(
                "`{text}`: a sample is more than 0% and at most 100% (steps of 0.01%)"
            ));
        }
        u32::try_from(hundredths.mantissa())
            .map(Share)
            .map_err(|_| format!("`{text}` is not a percentage such as 1%"))
    }

    /// Whether `key` falls in the sample: the first eight bytes of its SHA-256, modulo 10,000,
    /// below the share. SHA-256 is the same everywhere and in every version.
    fn takes(self, key: &str) -> bool {
        let digest = Sha256::digest(key.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
        u64::from_be_bytes(first) % 10_000 < u64::from(self.0)
    }
}

/// Copies the rows of `file` (in `from`, written to `to`) for which `keep` says yes, given the
/// row's fields of `columns` (blank where a row lacks one); returns rows read and kept.
fn copy(
    from: &Path,
    to: &Path,
    file: ExportFile,
    columns: &[&str],
    mut keep: impl FnMut(&[String]) -> bool,
) -> Result<(u64, u64), MigrateError> {
    let source = from.join(file.file_name());
    let target = to.join(file.file_name());
    let read_error = |e: csv::Error| MigrateError::Csv {
        file: source.display().to_string(),
        message: e.to_string(),
    };
    let write_error = |e: csv::Error| MigrateError::Write {
        path: target.clone(),
        source: std::io::Error::other(e.to_string()),
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(&source)
        .map_err(read_error)?;
    let header = reader.byte_headers().map_err(read_error)?.clone();
    let names: Vec<String> = header
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim()
                .trim_start_matches('\u{feff}')
                .to_ascii_lowercase()
        })
        .collect();
    let positions: Vec<Option<usize>> = columns
        .iter()
        .map(|c| names.iter().position(|n| n == c))
        .collect();
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_path(&target)
        .map_err(write_error)?;
    writer.write_byte_record(&header).map_err(write_error)?;
    let (mut read, mut kept) = (0, 0);
    let mut record = ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(read_error)? {
        read += 1;
        let keys: Vec<String> = positions
            .iter()
            .map(|at| {
                at.and_then(|i| record.get(i))
                    .map(|k| String::from_utf8_lossy(k).trim().to_string())
                    .unwrap_or_default()
            })
            .collect();
        if keep(&keys) {
            writer.write_byte_record(&record).map_err(write_error)?;
            kept += 1;
        }
    }
    writer.flush().map_err(|source| MigrateError::Write {
        path: target.clone(),
        source,
    })?;
    Ok((read, kept))
}

/// Writes the sample of the export in `from` into `to` (created if needed).
pub fn write_sample(from: &Path, to: &Path, share: Share) -> Result<SampleCounts, MigrateError> {
    for folder in [to.to_path_buf(), to.join("delta")] {
        std::fs::create_dir_all(&folder).map_err(|source| MigrateError::Write {
            path: folder.clone(),
            source,
        })?;
    }
    let mut counts = SampleCounts::default();
    let mut customers: HashSet<String> = HashSet::new();
    let mut all_customers: HashSet<String> = HashSet::new();
    let (read, kept) = copy(from, to, ExportFile::Customers, &["customer_id"], |keys| {
        let id = keys.first().map_or("", String::as_str);
        all_customers.insert(id.to_string());
        let take = share.takes(id);
        if take {
            customers.insert(id.to_string());
        }
        take
    })?;
    counts.files.push(("customers.csv".to_string(), read, kept));
    let mut cards: HashSet<String> = HashSet::new();
    let columns = ["card_no", "customer_id"];
    let (read, kept) = copy(from, to, ExportFile::Cards, &columns, |keys| {
        let (number, owner) = match keys {
            [number, owner] => (number.as_str(), owner.as_str()),
            _ => ("", ""),
        };
        // A card of a known customer goes with its owner; any other by its own number.
        let take = if all_customers.contains(owner) {
            customers.contains(owner)
        } else {
            share.takes(number)
        };
        if take {
            cards.insert(number.to_string());
        }
        take
    })?;
    counts.files.push(("cards.csv".to_string(), read, kept));
    let delta_from = from.join("delta");
    let delta_to = to.join("delta");
    for (folder, target, file, label) in [
        (from, to, ExportFile::Balances, "balances.csv"),
        (from, to, ExportFile::Transactions, "transactions.csv"),
        (
            &*delta_from,
            &*delta_to,
            ExportFile::Transactions,
            "delta/transactions.csv",
        ),
        (
            &*delta_from,
            &*delta_to,
            ExportFile::Balances,
            "delta/balances.csv",
        ),
    ] {
        if !folder.join(file.file_name()).is_file() {
            continue;
        }
        let (read, kept) = copy(folder, target, file, &["card_no"], |keys| {
            keys.first().is_some_and(|card| cards.contains(card))
        })?;
        counts.files.push((label.to_string(), read, kept));
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_read_as_percentages() {
        assert_eq!(Share::parse("1%"), Ok(Share(100)));
        assert_eq!(Share::parse("0.5%"), Ok(Share(50)));
        assert_eq!(Share::parse("100"), Ok(Share(10_000)));
        assert!(Share::parse("0%").is_err());
        assert!(Share::parse("150%").is_err());
        assert!(Share::parse("0.001%").is_err());
        assert!(Share::parse("lots").is_err());
    }

    #[test]
    fn the_whole_takes_everything_and_a_share_takes_about_its_share() {
        assert!((0..1000).all(|i| Share(10_000).takes(&format!("P{i}"))));
        let taken = (0..10_000)
            .filter(|i| Share(1000).takes(&format!("P{i}")))
            .count();
        assert!((800..1200).contains(&taken), "{taken} of 10,000 at 10%");
    }
}
