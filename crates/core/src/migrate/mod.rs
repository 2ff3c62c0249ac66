//! Moving a live program from a legacy CRM (MIGRATION.md): the legacy export read row by row,
//! every row accounted for (accepted, or rejected with its file, line, column and reason).
//!
//! The steps, each a function the CLI (`puntos migrate …`) and the bindings call:
//!
//! 1. [`profile::profile`]: the data-quality profile before anything moves — rows, blanks,
//!    malformed rows, duplicate keys, orphans, phone classes, date ranges, balance sums.
//!
//! Identity resolution, balance reconciliation and the cutover build on the same reader
//! ([`export`]) and typed rows ([`rows`]).

pub mod cutover;
pub mod export;
pub mod generate;
pub mod identity;
pub mod load;
pub mod parallel;
pub mod placement;
pub mod profile;
pub mod reconcile;
mod repeats;
pub mod report;
pub mod rows;
pub mod run;
pub mod sample;
mod scan;
pub mod tables;

use std::path::PathBuf;

/// What a step tells its caller as it reads: each rejected row, and how far it is. Any closure
/// taking a [`export::Reject`] is one (and ignores progress).
pub trait Observer {
    /// A row left out. An error stops the step (the caller could not record the row).
    fn reject(&mut self, reject: export::Reject) -> Result<(), MigrateError>;

    /// `read` of the `total` bytes of `file` are read: told as a file starts, every few thousand
    /// rows, and at its end, for progress bars.
    fn progress(&mut self, file: &str, read: u64, total: u64) {
        let _ = (file, read, total);
    }
}

impl<F: FnMut(export::Reject) -> Result<(), MigrateError>> Observer for F {
    fn reject(&mut self, reject: export::Reject) -> Result<(), MigrateError> {
        self(reject)
    }
}

/// Why a migration step could not run at all. Bad rows are never errors: they are
/// [`export::Reject`]s, and the step goes on.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// A file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The CSV reader stopped (an I/O error in the middle of a file).
    #[error("{file}: {message}")]
    Csv {
        /// The file, as named in the export.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// A file lacks one of its columns, so none of its rows can be read.
    #[error("{file} has no column `{column}` (its header: {found})")]
    MissingColumn {
        /// The file.
        file: String,
        /// The missing column.
        column: &'static str,
        /// The header as found.
        found: String,
    },
    /// A setting is not usable (a region code, a folder).
    #[error("{0}")]
    Settings(String),
    /// One half of a run stopped because the other failed first (whose error says why).
    #[error("a step of the run stopped because another one failed")]
    Stopped,
}

/// How a summary says whether points add up.
fn conserved_word(conserved: bool) -> &'static str {
    if conserved {
        "conserved"
    } else {
        "NOT CONSERVED"
    }
}
