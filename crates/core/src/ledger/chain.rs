//! The journal's hash chain: each entry's hash covers the previous entry's hash and the entry's
//! own content, so editing or removing any entry breaks every hash after it.

use super::model::JournalEntry;
use sha2::{Digest, Sha256};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of `entry` chained to `previous` (hex), computed over its content with `hash`
/// blanked.
pub fn hash(entry: &JournalEntry, previous: &str) -> String {
    let mut content = entry.clone();
    content.hash = String::new();
    content.previous = previous.to_string();
    let text = serde_json::to_string(&content).unwrap_or_default();
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sets `previous` and `hash` on each entry, continuing from `head`.
pub fn seal(entries: &mut [JournalEntry], head: Option<(u64, String)>) {
    let (mut seq, mut previous) = head.unwrap_or((0, GENESIS.to_string()));
    for entry in entries {
        seq += 1;
        entry.seq = seq;
        entry.previous = previous.clone();
        entry.hash = hash(entry, &previous);
        previous = entry.hash.clone();
    }
}

/// Why a journal does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Broken {
    /// An entry is missing: the sequence jumps.
    #[error("entry {expected} is missing (the next is {found})")]
    Missing {
        /// The sequence number expected.
        expected: u64,
        /// The one found.
        found: u64,
    },
    /// An entry's content or link does not match its hash.
    #[error("entry {seq} was changed: its hash does not match its content or its predecessor")]
    Changed {
        /// The entry.
        seq: u64,
    },
}

/// Checks entries that continue a chain at (`seq`, `previous`); returns the new head.
pub fn check(
    entries: &[JournalEntry],
    mut seq: u64,
    mut previous: String,
) -> Result<(u64, String), Broken> {
    for entry in entries {
        if entry.seq != seq + 1 {
            return Err(Broken::Missing {
                expected: seq + 1,
                found: entry.seq,
            });
        }
        if entry.previous != previous || entry.hash != hash(entry, &previous) {
            return Err(Broken::Changed { seq: entry.seq });
        }
        seq = entry.seq;
        previous = entry.hash.clone();
    }
    Ok((seq, previous))
}
