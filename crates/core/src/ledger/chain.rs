//! The journal's hash chain: each entry's hash covers the previous entry's hash and the entry's
//! own content, so editing or removing any entry breaks every hash after it.

use super::model::{EntryKind, JournalEntry};
use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An entry as hashed: its fields, in their order, borrowed, with `previous` given and `hash`
/// blank. Serialized, it is the JSON of the [`JournalEntry`] so changed, byte for byte.
#[derive(Serialize)]
struct Hashed<'a> {
    seq: u64,
    account: &'a str,
    at: &'a DateTime<FixedOffset>,
    transaction: &'a Option<String>,
    kind: EntryKind,
    lot: &'a Option<String>,
    points: &'a Decimal,
    note: &'a str,
    previous: &'a str,
    hash: &'a str,
}

/// The hash of `entry` chained to `previous` (hex), computed over its content (as JSON) with
/// `previous` set and `hash` blanked.
pub fn hash(entry: &JournalEntry, previous: &str) -> String {
    hex(&Sha256::digest(hashed_text(entry, previous, "")))
}

/// Bytes in lowercase hexadecimal.
pub(super) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            out.push(char::from(
                DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    out
}

/// How the JSON of an entry as hashed ends: its blank `hash`, the last field.
const BLANK_HASH_END: &[u8] = br#","hash":""}"#;

/// Numbers entries on from `head` and sets their `previous` and `hash` ([`seal_numbered`]);
/// returns each entry's JSON.
pub fn seal_encoded(entries: &mut [JournalEntry], head: Option<(u64, String)>) -> Vec<String> {
    let previous = number(entries, head);
    seal_numbered(entries, previous)
}

/// Numbers entries on from `head`; returns the hash they chain on from.
fn number(entries: &mut [JournalEntry], head: Option<(u64, String)>) -> String {
    let (mut seq, previous) = head.unwrap_or((0, GENESIS.to_string()));
    for entry in entries.iter_mut() {
        seq += 1;
        entry.seq = seq;
    }
    previous
}

/// Sets `previous` and `hash` on each entry (numbered already), chaining on from the hash
/// `previous`, and returns each entry's JSON (what [`super::codec::encode`] writes for it): the
/// text hashed, with the hash filled in, so an entry is written once, not once to hash it and
/// again to store it. Sealing entries again with the same `previous` gives the same result.
pub fn seal_numbered(entries: &mut [JournalEntry], mut previous: String) -> Vec<String> {
    let mut bodies = Vec::with_capacity(entries.len());
    for entry in entries {
        let mut text = hashed_text(entry, &previous, "");
        entry.hash = hex(&Sha256::digest(&text));
        entry.previous = std::mem::replace(&mut previous, entry.hash.clone());
        let body = if text.ends_with(BLANK_HASH_END) {
            // `"}` off the end, then the hash (hexadecimal: nothing to escape) and `"}` again.
            text.truncate(text.len() - 2);
            text.extend_from_slice(entry.hash.as_bytes());
            text.extend_from_slice(b"\"}");
            String::from_utf8(text).ok()
        } else {
            None
        };
        // Serializing these types cannot fail; were it to, the entry is written afresh.
        bodies.push(body.unwrap_or_else(|| {
            String::from_utf8(hashed_text(entry, &entry.previous, &entry.hash)).unwrap_or_default()
        }));
    }
    bodies
}

/// The JSON of `entry` chained to `previous` with `hash`: with `hash` blank, the text [`hash`]
/// covers.
fn hashed_text(entry: &JournalEntry, previous: &str, hash: &str) -> Vec<u8> {
    let mut text = Vec::with_capacity(256 + entry.note.len());
    // Writing to a vector cannot fail, nor can serializing these types.
    let _ = serde_json::to_writer(&mut text, &hashed(entry, previous, hash));
    text
}

/// `entry` as hashed, chained to `previous`, with `hash`.
fn hashed<'a>(entry: &'a JournalEntry, previous: &'a str, hash: &'a str) -> Hashed<'a> {
    let JournalEntry {
        seq,
        account,
        at,
        transaction,
        kind,
        lot,
        points,
        note,
        previous: _,
        hash: _,
    } = entry;
    Hashed {
        seq: *seq,
        account,
        at,
        transaction,
        kind: *kind,
        lot,
        points,
        note,
        previous,
        hash,
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
    /// The store's list of an account's entries (the SQLite store links them) does not hold
    /// exactly that account's entries of the journal, so its history would be shown wrong.
    #[error("the list of account {account}'s journal entries is broken at entry {seq}: {why}")]
    Unlinked {
        /// The account.
        account: String,
        /// The entry where the list departs from the journal.
        seq: u64,
        /// How.
        why: String,
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

/// Journal entries as the JSON texts the database stores keep (and the chain hashes).
pub(crate) fn encode_entries(
    entries: &[JournalEntry],
) -> Result<Vec<String>, super::store::StoreError> {
    entries
        .iter()
        .map(|entry| {
            serde_json::to_string(entry).map_err(|e| {
                super::store::StoreError(format!("encoding journal entry {}: {e}", entry.seq))
            })
        })
        .collect()
}

/// Checks that journal entries came with one text each.
pub(crate) fn check_texts(
    entries: &[JournalEntry],
    texts: &[String],
) -> Result<(), super::store::StoreError> {
    if texts.len() != entries.len() {
        return Err(super::store::StoreError(format!(
            "{} journal entries came with {} texts",
            entries.len(),
            texts.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash as first defined: the entry's JSON with `previous` set and `hash` blank.
    fn reference(entry: &JournalEntry, previous: &str) -> String {
        let mut content = entry.clone();
        content.hash = String::new();
        content.previous = previous.to_string();
        let text = serde_json::to_string(&content).unwrap();
        Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn hashes_are_those_of_the_entries_json() {
        let mut entry = JournalEntry {
            seq: 7,
            account: "C-\"1\"\u{e9}".to_string(),
            at: DateTime::parse_from_rfc3339("2026-03-14T12:00:00.123456789+03:00").unwrap(),
            transaction: Some("T-1".to_string()),
            kind: EntryKind::Redeem,
            lot: None,
            points: "-12.50".parse().unwrap(),
            note: "a note\nwith \t escapes".to_string(),
            previous: "stale".to_string(),
            hash: "stale".to_string(),
        };
        assert_eq!(hash(&entry, GENESIS), reference(&entry, GENESIS));
        entry.transaction = None;
        entry.lot = Some("T-1#0".to_string());
        entry.points = "-0".parse().unwrap();
        assert_eq!(hash(&entry, "abc"), reference(&entry, "abc"));
        let mut entries = vec![entry.clone(), entry];
        seal_encoded(&mut entries, None);
        assert_eq!(entries[0].previous, GENESIS);
        assert_eq!(entries[1].previous, entries[0].hash);
        assert_eq!(
            check(&entries, 0, GENESIS.to_string()),
            Ok((2, entries[1].hash.clone()))
        );
        let mut encoded = entries.clone();
        encoded[1].note = "\u{1f}\"\\".to_string();
        let bodies = seal_encoded(&mut encoded, Some((4, "abc".to_string())));
        assert_eq!(encoded[0].previous, "abc");
        assert_eq!(encoded[1].seq, 6);
        for (entry, body) in encoded.iter().zip(&bodies) {
            assert_eq!(body, &serde_json::to_string(entry).unwrap());
            assert_eq!(entry.hash, reference(entry, &entry.previous));
        }
    }
}
