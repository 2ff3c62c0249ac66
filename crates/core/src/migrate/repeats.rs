//! Which keys (transaction ids above all, but also customer ids and card numbers) may occur on
//! more than one row, found by one cheap pass over their files before the steps read them.
//!
//! Telling an exact duplicate row from the same key with other fields needs, for every key
//! seen, where it was first seen and a hash of that row: at 100 million transaction rows that
//! is several GiB. Almost every key occurs once, so the steps keep that record only for keys
//! this pass marks as possibly repeated, and treat every other key as a first occurrence
//! without storing it.
//!
//! The pass reads only each row's id and keeps a 48-bit fingerprint of it, four bytes a row:
//! the top 16 bits choose one of 65,536 partitions, which hold the other 32. Sorted, a
//! partition shows its fingerprints seen more than once. Two different ids may share a
//! fingerprint (at 100 million ids, some 20,000 pairs): both are then merely candidates, and
//! the steps' exact keys tell them apart, so no verdict rests on a fingerprint.
//!
//! Only some of the profile's counts rest on fingerprints: refunds whose original purchase is
//! in no transaction file (an original id that is missing but shares a fingerprint with a
//! present one, odds about one in 2.8 million per refund at 100 million ids, is counted as
//! present), and, through [`Fingerprints`], orphans and phones shared by several customers.

use super::export::ExportFile;
use super::scan::{read_file, ProgressOnly};
use super::{MigrateError, Observer};
use crate::fast_hash::HashSet;
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};

/// Partitions of the fingerprints: 2^16, chosen by their top 16 bits.
const PARTITION_BITS: u32 = 16;

/// The fingerprint of an id: the top 48 bits of its [`Fingerprints::of`], the same in every
/// run.
fn fingerprint(id: &str) -> u64 {
    Fingerprints::of(id) >> PARTITION_BITS
}

/// A fingerprint's partition and the 32 bits the partition holds of it.
fn split(fingerprint: u64) -> (usize, u32) {
    ((fingerprint >> 32) as usize, fingerprint as u32)
}

/// Pushes `x`, growing `partition` by a quarter when full rather than doubling it: the
/// partitions hold four bytes per row of a hundred million, and doubling would leave up to
/// as much again unused.
fn push_sparingly(partition: &mut Vec<u32>, x: u32) {
    if partition.len() == partition.capacity() {
        partition.reserve_exact((partition.len() / 4).max(64));
    }
    partition.push(x);
}

/// The transaction files of an export, in the order the steps read them: the history, then
/// the delta when there is one.
pub(super) fn transaction_files(folder: &Path) -> Vec<(PathBuf, &'static str)> {
    let mut files = vec![(folder.to_path_buf(), "transactions.csv")];
    let delta = folder.join("delta");
    if delta.join(ExportFile::Transactions.file_name()).is_file() {
        files.push((delta, "delta/transactions.csv"));
    }
    files
}

/// A set of keys held as 64-bit fingerprints, sorted: eight bytes a key. For the profile's
/// counts (orphans, shared phones), where a missing key taken for present has odds of about
/// one in 30,000 over a whole run of 100 million lookups against 6 million keys; no row's fate
/// rests on it. A lookup searches only the fingerprints that share its top 16 bits (found by
/// an index of where each such run starts), not all of them: at millions of keys, a search of
/// the whole list cost a cache miss a step, a hundred million times.
pub(super) struct Fingerprints {
    /// The fingerprints, sorted, without repeats.
    sorted: Vec<u64>,
    /// Where the fingerprints of each top-16-bit value start in `sorted` (and, last, its end).
    starts: Vec<usize>,
}

/// The runs a [`Fingerprints`] set is cut into: one per value of a fingerprint's top 16 bits.
const RUNS: usize = 1 << 16;

/// The run of a fingerprint.
fn run_of(fingerprint: u64) -> usize {
    (fingerprint >> 48) as usize
}

impl Fingerprints {
    /// The fingerprint of a key: a fixed-seed 64-bit hash.
    pub(super) fn of(key: &str) -> u64 {
        foldhash::quality::FixedState::with_seed(0x6b65_7973).hash_one(key)
    }

    /// The set of `fingerprints`.
    pub(super) fn new(mut fingerprints: Vec<u64>) -> Fingerprints {
        fingerprints.sort_unstable();
        fingerprints.dedup();
        let mut starts = Vec::with_capacity(RUNS + 1);
        let mut at = 0;
        for run in 0..RUNS {
            starts.push(at);
            while fingerprints.get(at).is_some_and(|f| run_of(*f) == run) {
                at += 1;
            }
        }
        starts.push(at);
        Fingerprints {
            sorted: fingerprints,
            starts,
        }
    }

    /// Whether `key` is in the set (or shares a fingerprint with a key that is).
    pub(super) fn contains(&self, key: &str) -> bool {
        self.has(Fingerprints::of(key))
    }

    /// Whether `fingerprint` is in the set.
    fn has(&self, fingerprint: u64) -> bool {
        let run = run_of(fingerprint);
        let (Some(&from), Some(&to)) = (self.starts.get(run), self.starts.get(run + 1)) else {
            return false;
        };
        self.sorted
            .get(from..to)
            .is_some_and(|run| run.binary_search(&fingerprint).is_ok())
    }
}

/// The keys of a file (or of the history and the delta) that may be repeated, and, of the
/// transaction files, the refunds' original ids that are in no transaction file.
#[derive(Debug, Default)]
pub(super) struct Repeats {
    /// Fingerprints seen on more than one row.
    repeated: HashSet<u64>,
    /// Fingerprints of refunds' original ids that no row has.
    missing_originals: HashSet<u64>,
}

impl Repeats {
    /// Reads the transaction files of the export in `folder`, the history then the delta
    /// (telling `observer` how far it is; their rejected rows are the steps' to report).
    pub(super) fn transactions(
        folder: &Path,
        observer: &mut dyn Observer,
    ) -> Result<Repeats, MigrateError> {
        Repeats::scan(
            &transaction_files(folder),
            ExportFile::Transactions,
            true,
            observer,
        )
    }

    /// Reads the keys (the first column) of one file of the export in `dir`, named `label`.
    pub(super) fn of(
        dir: &Path,
        file: ExportFile,
        label: &str,
        observer: &mut dyn Observer,
    ) -> Result<Repeats, MigrateError> {
        Repeats::scan(&[(dir.to_path_buf(), label)], file, false, observer)
    }

    /// Reads the first column of `file` in each of `files`, and with `originals` the original
    /// ids of refunds.
    fn scan(
        files: &[(PathBuf, &str)],
        file: ExportFile,
        originals: bool,
        observer: &mut dyn Observer,
    ) -> Result<Repeats, MigrateError> {
        let mut partitions: Vec<Vec<u32>> = vec![Vec::new(); 1 << PARTITION_BITS];
        let mut refunded: Vec<u64> = Vec::new();
        let mut progress = ProgressOnly::new(observer, "ids in ");
        for (dir, label) in files {
            read_file(dir, file, label, &mut progress, |row, _| {
                let id = row.get(0);
                if !id.is_empty() {
                    let (partition, rest) = split(fingerprint(id));
                    if let Some(p) = partitions.get_mut(partition) {
                        push_sparingly(p, rest);
                    }
                }
                let original = row.get(8);
                if originals && !original.is_empty() && row.get(4).eq_ignore_ascii_case("refund") {
                    refunded.push(fingerprint(original));
                }
                Ok(())
            })?;
        }
        let mut repeats = Repeats::default();
        for (at, partition) in partitions.iter_mut().enumerate() {
            partition.sort_unstable();
            let whole = |rest: u32| ((at as u64) << 32) | u64::from(rest);
            repeats
                .repeated
                .extend(partition.windows(2).filter_map(|pair| match pair {
                    [a, b] if a == b => Some(whole(*a)),
                    _ => None,
                }));
        }
        repeats.missing_originals = refunded
            .into_iter()
            .filter(|&f| {
                let (partition, rest) = split(f);
                partitions
                    .get(partition)
                    .is_none_or(|p| p.binary_search(&rest).is_err())
            })
            .collect();
        Ok(repeats)
    }

    /// Whether `id` may occur on more than one row (if not, it certainly does not).
    pub(super) fn may_repeat(&self, id: &str) -> bool {
        self.repeated.contains(&fingerprint(id))
    }

    /// Whether `original`, a refund's original id, is on no row of the transaction files.
    pub(super) fn original_missing(&self, original: &str) -> bool {
        self.missing_originals.contains(&fingerprint(original))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const HEADER: &str =
        "tx_id,card_no,occurred_at,store_id,kind,amount,points_earned,points_redeemed,original_tx_id\n";

    #[test]
    fn a_fingerprint_set_finds_what_it_holds_in_every_run_and_nothing_else() {
        let held = [
            0,
            1,
            1 << 48,
            (1 << 48) + 7,
            0x8000_0000_0000_0000,
            u64::MAX - 1,
            u64::MAX,
        ];
        let set = Fingerprints::new(held.iter().rev().copied().chain(held).collect());
        for f in held {
            assert!(set.has(f), "{f:#x}");
        }
        for f in [
            2,
            (1 << 48) - 1,
            (1 << 48) + 6,
            0x7fff_ffff_ffff_ffff,
            u64::MAX - 2,
        ] {
            assert!(!set.has(f), "{f:#x}");
        }
        assert!(!Fingerprints::new(Vec::new()).has(0));
        let keys = Fingerprints::new(vec![Fingerprints::of("C001")]);
        assert!(keys.contains("C001") && !keys.contains("C002"));
    }

    /// An export folder holding only `transactions` (and `delta`, when given).
    fn export(name: &str, transactions: &str, delta: Option<&str>) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("puntos-repeats-{name}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("delta")).unwrap();
        std::fs::write(
            dir.join("transactions.csv"),
            format!("{HEADER}{transactions}"),
        )
        .unwrap();
        if let Some(delta) = delta {
            std::fs::write(
                dir.join("delta/transactions.csv"),
                format!("{HEADER}{delta}"),
            )
            .unwrap();
        }
        dir
    }

    #[test]
    fn ids_on_several_rows_may_repeat_and_the_rest_do_not() {
        let dir = export(
            "ids",
            "A,C1,2024-01-01T00:00:00Z,S,purchase,10,1,0,\n\
             B,C1,2024-01-02T00:00:00Z,S,purchase,10,1,0,\n\
             A,C1,2024-01-01T00:00:00Z,S,purchase,10,2,0,\n\
             not,a,row\n",
            Some("D,C1,2025-01-01T00:00:00Z,S,purchase,10,1,0,\nB,C1,2024-01-02T00:00:00Z,S,purchase,10,1,0,\n"),
        );
        let repeats = Repeats::transactions(&dir, &mut |_| Ok(())).unwrap();
        // A twice in the history, B in the history and the delta.
        assert!(repeats.may_repeat("A"));
        assert!(repeats.may_repeat("B"));
        assert!(!repeats.may_repeat("D"));
        assert!(!repeats.may_repeat("E"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_refund_of_an_id_no_row_has_is_missing_its_original() {
        let dir = export(
            "originals",
            "P1,C1,2024-01-01T00:00:00Z,S,purchase,10,1,0,\n\
             R1,C1,2024-01-02T00:00:00Z,S,Refund,10,-1,0,P1\n\
             R2,C1,2024-01-03T00:00:00Z,S,refund,10,-1,0,P9\n\
             X1,C1,2024-01-03T00:00:00Z,S,purchase,10,1,0,P8\n",
            None,
        );
        let repeats = Repeats::transactions(&dir, &mut |_| Ok(())).unwrap();
        assert!(!repeats.original_missing("P1"));
        assert!(repeats.original_missing("P9"));
        // Only refunds' originals are looked for.
        assert!(!repeats.original_missing("P8"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
