//! The legacy export as files of rows (MIGRATION.md): which files, which columns, and a
//! streaming reader that hands each row over with its line number, or a [`Reject`] naming the
//! file, line, column and reason. The reader never stops at a bad row: a row that cannot be
//! read is rejected and the next one read.
//!
//! CSV is read with the `csv` crate (RFC 4180 quoting, quoted newlines, CRLF line ends, a
//! UTF-8 byte-order mark). Columns are found by their header names, in any order; a file
//! without one of its columns cannot be read at all ([`MigrateError::MissingColumn`]).

use super::MigrateError;
use csv::{ByteRecord, StringRecord};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// The export's files as rejections name them, in the order every step reads them.
pub const EXPORT_FILES: [&str; 6] = [
    "customers.csv",
    "cards.csv",
    "balances.csv",
    "transactions.csv",
    "delta/transactions.csv",
    "delta/balances.csv",
];

/// The longest row accepted, in bytes: far above any real row; a quote left open swallows the
/// rest of its file into one row, which is then rejected whole instead of read as data.
pub const MAX_ROW_BYTES: usize = 64 * 1024;

/// One file of the legacy export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExportFile {
    /// `customers.csv`: the people.
    Customers,
    /// `cards.csv`: loyalty cards and their owners.
    Cards,
    /// `balances.csv`: the balance snapshot, keyed by card.
    Balances,
    /// `transactions.csv`: the points history.
    Transactions,
}

impl ExportFile {
    /// The file's name in the export folder.
    pub fn file_name(self) -> &'static str {
        match self {
            ExportFile::Customers => "customers.csv",
            ExportFile::Cards => "cards.csv",
            ExportFile::Balances => "balances.csv",
            ExportFile::Transactions => "transactions.csv",
        }
    }

    /// Its columns, in the order MIGRATION.md lists them (the first is the row's key).
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            ExportFile::Customers => &[
                "customer_id",
                "full_name",
                "birth_date",
                "phone",
                "email",
                "sms_opt_in",
                "email_opt_in",
                "created_at",
                "status",
            ],
            ExportFile::Cards => &["card_no", "customer_id", "status", "issued_at"],
            ExportFile::Balances => &["card_no", "balance", "as_of"],
            ExportFile::Transactions => &[
                "tx_id",
                "card_no",
                "occurred_at",
                "store_id",
                "kind",
                "amount",
                "points_earned",
                "points_redeemed",
                "original_tx_id",
            ],
        }
    }
}

/// A row left out, and why: where it is (file, line, column when one field is at fault) and
/// what is wrong, in words a person fixing the export can act on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Reject {
    /// The file, as a path inside the export folder (`delta/transactions.csv`).
    pub file: String,
    /// The line the row starts on (1 is the header).
    pub line: u64,
    /// The column at fault, if one is.
    pub column: Option<&'static str>,
    /// What is wrong.
    pub reason: String,
}

/// What reading the next row gave.
pub enum Next<'r> {
    /// A row whose fields are text and as many as the header's.
    Row(Row<'r>),
    /// A row that could not be read.
    Reject(Reject),
    /// The end of the file.
    End,
}

/// A row of a legacy file: its fields by the export's column names.
pub struct Row<'r> {
    /// The line the row starts on.
    pub line: u64,
    record: &'r StringRecord,
    positions: &'r [usize],
    file: &'r str,
}

impl<'r> Row<'r> {
    /// Column `column` of the file's [`columns`](ExportFile::columns), trimmed of surrounding
    /// spaces.
    pub fn get(&self, column: usize) -> &'r str {
        self.positions
            .get(column)
            .and_then(|&at| self.record.get(at))
            .map_or("", str::trim)
    }

    /// The file, as rejections name it.
    pub fn file(&self) -> &'r str {
        self.file
    }

    /// A rejection of this row.
    pub fn reject(&self, column: Option<&'static str>, reason: impl Into<String>) -> Reject {
        Reject {
            file: self.file.to_string(),
            line: self.line,
            column,
            reason: reason.into(),
        }
    }

    /// The row's fields, for telling exact duplicates from conflicting ones.
    pub fn fields(&self) -> impl Iterator<Item = &'r str> + '_ {
        (0..self.positions.len()).map(|c| self.get(c))
    }
}

/// Reads one legacy file row by row, in constant memory.
pub struct ExportReader {
    file: ExportFile,
    label: String,
    csv: csv::Reader<Box<dyn Read + Send>>,
    /// Where each of the file's columns is in the header.
    positions: Vec<usize>,
    /// Header fields that are none of the file's columns (reported, otherwise ignored).
    unknown_columns: Vec<String>,
    width: usize,
    bytes: ByteRecord,
    text: StringRecord,
    /// Whether `text` holds the buffers of the last row (lent to it from `bytes`).
    lent: bool,
}

impl ExportReader {
    /// Opens `file` in `folder`; `label` is how rejections name it (`delta/transactions.csv`).
    pub fn open(
        folder: &Path,
        file: ExportFile,
        label: &str,
    ) -> Result<ExportReader, MigrateError> {
        let path: PathBuf = folder.join(file.file_name());
        let handle = File::open(&path).map_err(|source| MigrateError::Io {
            path: path.clone(),
            source,
        })?;
        ExportReader::from_reader(
            Box::new(BufReader::with_capacity(1 << 16, handle)),
            file,
            label,
        )
    }

    /// Reads `file`'s rows from `input` (a file, or text in tests).
    pub fn from_reader(
        input: Box<dyn Read + Send>,
        file: ExportFile,
        label: &str,
    ) -> Result<ExportReader, MigrateError> {
        // Records end at `\n` only, so line numbers count every line (with CRLF ends the `csv`
        // crate numbers a record by the line before it); the `\r` left on a last field goes
        // with the trimming every field gets.
        let mut csv = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(input);
        let header = csv.byte_headers().map_err(|e| MigrateError::Csv {
            file: label.to_string(),
            message: e.to_string(),
        })?;
        let names: Vec<String> = header
            .iter()
            .map(|name| String::from_utf8_lossy(name).trim().to_ascii_lowercase())
            .collect();
        let positions = file
            .columns()
            .iter()
            .map(|column| {
                names.iter().position(|name| name == column).ok_or_else(|| {
                    MigrateError::MissingColumn {
                        file: label.to_string(),
                        column,
                        found: names.join(", "),
                    }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let unknown_columns = names
            .iter()
            .filter(|name| !file.columns().contains(&name.as_str()))
            .cloned()
            .collect();
        Ok(ExportReader {
            file,
            label: label.to_string(),
            csv,
            positions,
            unknown_columns,
            width: names.len(),
            bytes: ByteRecord::new(),
            text: StringRecord::new(),
            lent: false,
        })
    }

    /// The file being read.
    pub fn file(&self) -> ExportFile {
        self.file
    }

    /// How rejections name the file.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Bytes of the file read so far (the end of the last row read).
    pub fn bytes_read(&self) -> u64 {
        self.csv.position().byte()
    }

    /// Header fields that are none of the file's columns.
    pub fn unknown_columns(&self) -> &[String] {
        &self.unknown_columns
    }

    /// The next row, a rejection, or the end. An error only when the file cannot be read on.
    pub fn next_row(&mut self) -> Result<Next<'_>, MigrateError> {
        // The last row's buffers come back, so reading allocates nothing per row.
        if self.lent {
            self.bytes = std::mem::take(&mut self.text).into_byte_record();
            self.lent = false;
        }
        loop {
            let more =
                self.csv
                    .read_byte_record(&mut self.bytes)
                    .map_err(|e| MigrateError::Csv {
                        file: self.label.clone(),
                        message: e.to_string(),
                    })?;
            if !more {
                return Ok(Next::End);
            }
            // A blank line (CRLF ends leave a lone `\r`) is no row.
            let blank =
                self.bytes.len() == 1 && self.bytes.iter().all(|f| f.trim_ascii().is_empty());
            if !blank {
                break;
            }
        }
        let line = self.bytes.position().map_or(0, csv::Position::line);
        let reject = |column: Option<&'static str>, reason: String| {
            Next::Reject(Reject {
                file: self.label.clone(),
                line,
                column,
                reason,
            })
        };
        let size = self.bytes.as_slice().len();
        if size > MAX_ROW_BYTES {
            return Ok(reject(
                None,
                format!(
                    "the row is {size} bytes, over the limit of {MAX_ROW_BYTES} (a quote never closed?)"
                ),
            ));
        }
        if self.bytes.len() != self.width {
            return Ok(reject(
                None,
                format!(
                    "{} fields where the header has {}",
                    self.bytes.len(),
                    self.width
                ),
            ));
        }
        let bytes = std::mem::take(&mut self.bytes);
        match StringRecord::from_byte_record(bytes) {
            Ok(text) => {
                self.text = text;
                self.lent = true;
                Ok(Next::Row(Row {
                    line,
                    record: &self.text,
                    positions: &self.positions,
                    file: &self.label,
                }))
            }
            Err(e) => {
                let field = e.utf8_error().field();
                let column = self
                    .positions
                    .iter()
                    .position(|&at| at == field)
                    .and_then(|c| self.file.columns().get(c).copied());
                self.bytes = e.into_byte_record();
                Ok(reject(column, "not UTF-8 text".to_string()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(text: &'static str) -> ExportReader {
        ExportReader::from_reader(Box::new(text.as_bytes()), ExportFile::Cards, "cards.csv")
            .unwrap()
    }

    /// Lines of rows and rejections, with the key column of rows.
    fn read_all(mut r: ExportReader) -> Vec<(u64, Result<String, String>)> {
        let mut out = Vec::new();
        loop {
            match r.next_row().unwrap() {
                Next::Row(row) => out.push((row.line, Ok(row.get(0).to_string()))),
                Next::Reject(rej) => out.push((rej.line, Err(rej.reason))),
                Next::End => return out,
            }
        }
    }

    #[test]
    fn quoting_crlf_and_a_byte_order_mark_are_read() {
        let text = "\u{feff}status,card_no,issued_at,customer_id,extra\r\n\
                    active,C1,2020-01-01T00:00:00+03:00,P1,x\r\n\
                    \"lost\",\"C2\nsecond line\",,P2,y\r\n\
                    \r\n\
                    active,C3,,P3,z\r\n";
        let r = reader(text);
        assert_eq!(r.unknown_columns(), ["extra"]);
        let rows = read_all(r);
        assert_eq!(
            rows,
            vec![
                (2, Ok("C1".to_string())),
                (3, Ok("C2\nsecond line".to_string())),
                (6, Ok("C3".to_string())),
            ]
        );
    }

    #[test]
    fn a_wrong_field_count_is_rejected_and_reading_goes_on() {
        let rows = read_all(reader(
            "card_no,customer_id,status,issued_at\nC1,P1,active\nC2,P2,active,\n",
        ));
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0],
            (2, Err("3 fields where the header has 4".to_string()))
        );
        assert_eq!(rows[1], (3, Ok("C2".to_string())));
    }

    #[test]
    fn bytes_that_are_not_utf8_name_their_column() {
        let text: &'static [u8] =
            b"card_no,customer_id,status,issued_at\nC1,P\xff1,active,\nC2,P2,active,\n";
        let mut r =
            ExportReader::from_reader(Box::new(text), ExportFile::Cards, "cards.csv").unwrap();
        match r.next_row().unwrap() {
            Next::Reject(rej) => {
                assert_eq!((rej.line, rej.column), (2, Some("customer_id")));
            }
            _ => panic!("expected a rejection"),
        }
        assert!(matches!(r.next_row().unwrap(), Next::Row(row) if row.get(0) == "C2"));
    }

    #[test]
    fn a_quote_left_open_is_one_rejected_row_not_data() {
        let text = format!(
            "card_no,customer_id,status,issued_at\nC1,P1,active,\nC2,\"P2,active,\n{}\n",
            "C3,P3,active,\n".repeat(10_000)
        );
        let text: &'static str = Box::leak(text.into_boxed_str());
        let rows = read_all(reader(text));
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0], (2, Ok("C1".to_string())));
        let (line, reason) = (&rows[1].0, rows[1].1.as_ref().unwrap_err());
        assert_eq!(*line, 3);
        assert!(reason.contains("over the limit of 65536"), "{reason}");
    }

    #[test]
    fn a_missing_column_names_the_file_and_what_it_has() {
        let err = ExportReader::from_reader(
            Box::new("card_no,status\n".as_bytes()),
            ExportFile::Cards,
            "cards.csv",
        )
        .err()
        .unwrap();
        assert_eq!(
            err.to_string(),
            "cards.csv has no column `customer_id` (its header: card_no, status)"
        );
    }
}
