//! Batches decide exactly as one transaction at a time: a generated history applied in batches
//! of random sizes to a SQLite file (where a batch's accounts and transactions are read ahead
//! on another thread and its fingerprints computed on another) gives the same results, the
//! same accounts and the same journal as the memory store applying it row by row. So does the
//! same history streamed through the pipeline (`Ledger::apply_batches`: each batch decided on
//! another thread from what the unit before read, while that unit writes the batch before), on
//! the memory store and on a SQLite file that another connection writes to between batches.
//! The histories mix what makes reading ahead delicate: a transaction repeated or its id reused
//! within a batch or across two, a refund of a purchase made earlier in the same batch or the
//! one before, a signup followed by purchases (and a refused signup, which opens nothing),
//! accounts reached by id and by card, unknown accounts. The direct ledger (the simulation's: accounts in memory, no store) decides the
//! same history, each transaction given once, as the store's ledger does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use proptest::prelude::*;
use puntos::eval::{from_json, Customer};
use puntos::ledger::{
    AccountState, DirectLedger, Incoming, JournalEntry, Ledger, MemoryStore, Session, SqliteStore,
    Store,
};
use puntos::Versions;
use serde_json::json;

/// A row of a generated history.
#[derive(Debug, Clone)]
enum Row {
    /// A purchase by an account (0, 1: existing; 2: signed up by the history) or a card.
    Buy { who: usize, price: u32 },
    /// A redemption of points.
    Redeem { who: usize, points: u32 },
    /// A refund of the `purchase`-th purchase so far, one unit.
    Refund { purchase: usize },
    /// The `row`-th row so far again: a retry.
    Again { row: usize },
    /// The `row`-th row's id with other content: a conflict.
    Reuse { row: usize, price: u32 },
    /// The signup of account C-3.
    Signup,
    /// A signup of account C-3 asking to redeem points: refused, so C-3 is not opened by it.
    RefusedSignup,
}

fn row() -> impl Strategy<Value = Row> {
    prop_oneof![
        6 => (0usize..5, 100u32..3000).prop_map(|(who, price)| Row::Buy { who, price }),
        1 => (0usize..5, 1u32..400).prop_map(|(who, points)| Row::Redeem { who, points }),
        2 => (0usize..10).prop_map(|purchase| Row::Refund { purchase }),
        2 => (0usize..30).prop_map(|row| Row::Again { row }),
        1 => (0usize..30, 100u32..3000).prop_map(|(row, price)| Row::Reuse { row, price }),
        1 => Just(Row::Signup),
        1 => Just(Row::RefusedSignup),
    ]
}

/// Who a purchase names: two accounts by id, one by card, the signed-up one, and nobody.
const WHO: [&str; 5] = ["C-1", "C-2", "2770000000024", "C-3", "nobody"];

fn incoming(value: serde_json::Value) -> Incoming {
    from_json(&value.to_string()).unwrap()
}

/// The history's rows as incoming transactions, an hour apart.
fn history(rows: &[Row]) -> Vec<Incoming> {
    let mut out: Vec<Incoming> = Vec::new();
    let mut purchases: Vec<String> = Vec::new();
    for (n, row) in rows.iter().enumerate() {
        let time = chrono::DateTime::parse_from_rfc3339("2026-02-02T09:00:00+03:00").unwrap()
            + chrono::TimeDelta::hours(n as i64);
        let (id, at) = (format!("T-{n}"), time.to_rfc3339());
        let buy = |id: &str, who: &str, price: u32| {
            incoming(json!({"account": who, "transaction": {"id": id, "time": at,
                "lines": [{"category": "otc", "unit_price": price, "quantity": 2}]}}))
        };
        let next = match row {
            Row::Buy { who, price } => {
                purchases.push(id.clone());
                buy(&id, WHO[*who], *price)
            }
            Row::Redeem { who, points } => incoming(
                json!({"account": WHO[*who], "transaction": {"id": id, "time": at,
                    "redeem": points, "lines": [{"category": "otc", "unit_price": 2000}]}}),
            ),
            Row::Refund { purchase } => {
                let Some(original) = purchases.get(*purchase) else {
                    continue;
                };
                incoming(
                    json!({"account": "C-1", "refund_of": original, "transaction": {
                    "id": id, "kind": "refund", "time": at,
                    "lines": [{"original_line": 0, "unit_price": 1, "quantity": 1}]}}),
                )
            }
            Row::Again { row } => match out.get(*row) {
                Some(earlier) => earlier.clone(),
                None => continue,
            },
            Row::Reuse { row, price } => match out.get(*row) {
                Some(earlier) => buy(&earlier.transaction.id.clone(), "C-1", *price),
                None => continue,
            },
            Row::Signup => incoming(json!({"account": "C-3", "customer": {"id": "C-3"},
                "transaction": {"id": id, "kind": "signup", "time": at}})),
            Row::RefusedSignup => incoming(json!({"account": "C-3", "customer": {"id": "C-3"},
                "transaction": {"id": id, "kind": "signup", "time": at, "redeem": 10}})),
        };
        out.push(next);
    }
    out
}

/// A ledger over `store` on the pharmacy program, with accounts C-1 and C-2 (C-2 holding a
/// card).
fn ledger<S: Store>(store: S) -> Ledger<S> {
    let versions = Versions::new(vec![common::pharmacy().clone()]).unwrap();
    let mut ledger = Ledger::new(store, versions);
    open(&mut ledger, "C-1", &[]);
    open(&mut ledger, "C-2", &["2770000000024"]);
    ledger
}

/// Opens account `id` holding `aliases`.
fn open<S: Store>(ledger: &mut Ledger<S>, id: &str, aliases: &[&str]) {
    ledger.open_account(account(id, aliases)).unwrap();
}

/// A new account `id` holding `aliases`, its customer of the same id.
fn account(id: &str, aliases: &[&str]) -> AccountState {
    AccountState {
        id: id.to_string(),
        customer: Customer {
            id: id.to_string(),
            ..Customer::default()
        },
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        ..AccountState::default()
    }
}

/// `rows` cut into batches of the sizes `sizes` gives, in turn.
fn cut(rows: &[Incoming], sizes: &[usize]) -> Vec<Vec<Incoming>> {
    let mut batches = Vec::new();
    let (mut start, mut size) = (0, sizes.iter().cycle());
    while start < rows.len() {
        let end = (start + size.next().copied().unwrap_or(1)).min(rows.len());
        batches.push(rows[start..end].to_vec());
        start = end;
    }
    batches
}

/// A purchase by C-1 that another writer applies after batch `after`, an hour after the
/// batch's last transaction.
fn interloper(after: usize, batch: &[Incoming]) -> Incoming {
    let time = batch
        .last()
        .map(|last| last.transaction.time + chrono::TimeDelta::minutes(30))
        .unwrap();
    incoming(
        json!({"account": "C-1", "transaction": {"id": format!("X-{after}"),
        "time": time.to_rfc3339(),
        "lines": [{"category": "otc", "unit_price": 1500, "quantity": 1}]}}),
    )
}

/// A fresh SQLite file for a test, in a folder of its own.
fn fresh_file(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("puntos-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ledger.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    (dir, path)
}

/// Checks that two ledgers hold the same accounts and the same journal.
fn same_ledgers<A: Store, B: Store>(
    ledger: &mut Ledger<A>,
    expected: &mut Ledger<B>,
) -> Result<(), TestCaseError> {
    for id in ["C-1", "C-2", "C-3"] {
        prop_assert_eq!(ledger.account(id).unwrap(), expected.account(id).unwrap());
    }
    prop_assert_eq!(journal(ledger), journal(expected));
    Ok(())
}

fn journal<S: Store>(ledger: &mut Ledger<S>) -> Vec<puntos::ledger::JournalEntry> {
    ledger
        .store_mut()
        .atomically(|s: &mut dyn Session| s.journal(None, 0, 100_000))
        .unwrap()
}

/// The history with each transaction id once (its first row), as a simulation replays it, the
/// rows `apart` hours apart (days apart, pending points activate between them).
fn once(rows: &[Incoming], apart: i64) -> Vec<Incoming> {
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<Incoming> = rows
        .iter()
        .filter(|r| seen.insert(r.transaction.id.to_string()))
        .cloned()
        .collect();
    let start = chrono::DateTime::parse_from_rfc3339("2026-02-02T09:00:00+03:00").unwrap();
    for (n, row) in kept.iter_mut().enumerate() {
        row.transaction.time = start + chrono::TimeDelta::hours(apart * n as i64);
    }
    kept
}

/// A direct ledger on `versions` with the accounts of [`ledger`], keeping the
/// records of every transaction of `rows` (any may be refunded).
fn direct<'v>(versions: &'v Versions, rows: &[Incoming], notes: bool) -> DirectLedger<'v> {
    let mut direct = DirectLedger::new(versions);
    if !notes {
        direct = direct.without_notes();
    }
    direct.keep_records_of(rows.iter().map(|r| r.transaction.id.to_string()));
    let at = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00+03:00").unwrap();
    direct
        .open(
            [account("C-1", &[]), account("C-2", &["2770000000024"])],
            at,
        )
        .unwrap();
    direct
}

/// Journal entries without their place in a chain (numbers, hashes), in a fixed order: the
/// direct ledger records the time a refused transaction's account was brought to, which a
/// store's unit drops and records with the account's next transaction.
fn unchained(entries: Vec<JournalEntry>) -> Vec<String> {
    let mut texts: Vec<String> = entries
        .into_iter()
        .map(|mut e| {
            (e.seq, e.previous, e.hash) = (0, String::new(), String::new());
            format!("{e:?}")
        })
        .collect();
    texts.sort();
    texts
}

/// An account with its lots' expiry notices cleared, and the lots that had one. A refused
/// transaction brings the direct ledger's account to its time and keeps that (see its module);
/// a store's unit drops it. So the direct ledger may have noticed a lot's coming expiry that the
/// store, reaching the account next only once the lot had expired, never noticed; never the
/// other way round.
fn notices_apart(state: Option<AccountState>) -> (Option<AccountState>, Vec<String>) {
    let mut state = state;
    let mut noticed = Vec::new();
    for lot in state.iter_mut().flat_map(|s| s.lots.iter_mut()) {
        if lot.expiry_notified {
            noticed.push(lot.id.clone());
        }
        lot.expiry_notified = false;
    }
    (state, noticed)
}

/// [`unchained`] with the notes left out too.
fn unworded(mut entries: Vec<JournalEntry>) -> Vec<String> {
    for e in &mut entries {
        e.note = String::new();
    }
    unchained(entries)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn the_direct_ledger_decides_a_history_given_once_as_the_store_ledger(
        rows in proptest::collection::vec(row(), 1..60),
        apart in prop_oneof![Just(1i64), Just(50), Just(200)],
    ) {
        let rows = once(&history(&rows), apart);
        let mut stored = ledger(MemoryStore::new());
        let versions = Versions::new(vec![common::pharmacy().clone()]).unwrap();
        let mut direct_ledger = direct(&versions, &rows, true);
        // Without notes, as a simulation replays: the same but for the journal's words.
        let mut unworded_ledger = direct(&versions, &rows, false);
        for row in &rows {
            let expected = format!("{:?}", stored.apply(row));
            prop_assert_eq!(format!("{:?}", direct_ledger.apply(row)), expected.clone());
            prop_assert_eq!(format!("{:?}", unworded_ledger.apply(row)), expected);
        }
        // Brought to a year after the last row: every activation and expiry recorded by both.
        let last = rows.last().map(|r| r.transaction.time);
        let end = last.unwrap_or_default() + chrono::TimeDelta::days(400);
        stored.advance_all(end).unwrap();
        direct_ledger.advance_all(end);
        unworded_ledger.advance_all(end);
        for id in ["C-1", "C-2", "C-3"] {
            let (held, held_noticed) = notices_apart(stored.account(id).unwrap());
            for direct in [&direct_ledger, &unworded_ledger] {
                let (state, noticed) = notices_apart(direct.accounts().find(|a| a.id == id).cloned());
                prop_assert_eq!(state, held.clone());
                prop_assert!(
                    held_noticed.iter().all(|lot| noticed.contains(lot)),
                    "{id}: the store noticed {held_noticed:?}, the direct ledger {noticed:?}"
                );
            }
        }
        let journal = journal(&mut stored);
        let unworded_journal = unworded_ledger.take_written();
        prop_assert!(unworded_journal.iter().all(|e| e.note.is_empty()));
        prop_assert_eq!(unworded(unworded_journal), unworded(journal.clone()));
        prop_assert_eq!(unchained(direct_ledger.take_written()), unchained(journal));
    }

    #[test]
    fn batches_on_sqlite_decide_as_rows_one_by_one_in_memory(
        rows in proptest::collection::vec(row(), 1..60),
        sizes in proptest::collection::vec(1usize..40, 1..10),
    ) {
        let rows = history(&rows);
        let mut single = ledger(MemoryStore::new());
        let expected: Vec<String> = rows.iter().map(|r| format!("{:?}", single.apply(r))).collect();

        let dir = std::env::temp_dir().join(format!("puntos-batches-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ledger.db");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let mut batched = ledger(SqliteStore::open(&path).unwrap());
        let mut results = Vec::new();
        let (mut start, mut size) = (0, sizes.iter().cycle());
        while start < rows.len() {
            let end = (start + size.next().copied().unwrap_or(1)).min(rows.len());
            for result in batched.apply_batch(&rows[start..end]).unwrap() {
                results.push(format!("{result:?}"));
            }
            start = end;
        }
        prop_assert_eq!(results, expected);
        same_ledgers(&mut batched, &mut single)?;
        drop(batched);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn pipelined_batches_decide_as_rows_one_by_one(
        rows in proptest::collection::vec(row(), 1..60),
        sizes in proptest::collection::vec(1usize..25, 1..10),
        disturbed in proptest::collection::vec(any::<bool>(), 1..8),
    ) {
        let rows = history(&rows);
        let batches = cut(&rows, &sizes);
        // Another writer applies a purchase after some batches (those `disturbed` marks).
        let disturbs = |after: usize| disturbed[after % disturbed.len()];

        let mut single = ledger(MemoryStore::new());
        let mut expected: Vec<String> = Vec::new();
        for (after, batch) in batches.iter().enumerate() {
            expected.extend(batch.iter().map(|r| format!("{:?}", single.apply(r))));
            if disturbs(after) {
                expected.push(format!("{:?}", single.apply(&interloper(after, batch))));
            }
        }

        // In memory nobody else can write: every batch goes through the pipeline, and the
        // results are those of the rows one by one.
        let mut plain = ledger(MemoryStore::new());
        let plain_expected: Vec<String> = rows.iter().map(|r| format!("{:?}", plain.apply(r))).collect();
        let mut in_memory = ledger(MemoryStore::new());
        let mut results: Vec<String> = Vec::new();
        in_memory
            .apply_batches(batches.iter().cloned().map(|b| (b, ())), |(), batch_results| {
                results.extend(batch_results.iter().map(|r| format!("{r:?}")));
                Ok::<_, puntos::ledger::StoreError>(())
            })
            .unwrap();
        prop_assert_eq!(results, plain_expected);
        same_ledgers(&mut in_memory, &mut plain)?;

        // On a file another connection writes to between batches: the batch decided against
        // what it read before that write is decided again.
        let (dir, path) = fresh_file("pipeline");
        let mut piped = ledger(SqliteStore::open(&path).unwrap());
        let versions = Versions::new(vec![common::pharmacy().clone()]).unwrap();
        let mut other = Ledger::new(SqliteStore::open(&path).unwrap(), versions);
        let mut results: Vec<String> = Vec::new();
        let tagged = batches.iter().cloned().enumerate().map(|(i, b)| (b, i));
        piped
            .apply_batches(tagged, |after, batch_results| {
                results.extend(batch_results.iter().map(|r| format!("{r:?}")));
                if disturbs(after) {
                    let interloping = interloper(after, &batches[after]);
                    results.push(format!("{:?}", other.apply(&interloping)));
                }
                Ok::<_, puntos::ledger::StoreError>(())
            })
            .unwrap();
        prop_assert_eq!(results, expected);
        same_ledgers(&mut piped, &mut single)?;
        // The hash chain, and the file's list of each account's entries, hold.
        prop_assert!(piped.verify().unwrap().is_ok());
        drop((piped, other));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A stream of batches stops at the first error of its caller's `done`: the batches handed to
/// `done` are committed, the batch the decider had is not, and neither is any after it.
#[test]
fn a_stream_stops_at_its_callers_first_error_keeping_what_was_handed_over() {
    let buy = |n: usize| {
        incoming(
            json!({"account": "C-1", "transaction": {"id": format!("T-{n}"),
            "time": format!("2026-02-02T{:02}:00:00+03:00", 9 + n),
            "lines": [{"category": "otc", "unit_price": 1000, "quantity": 1}]}}),
        )
    };
    let (dir, path) = fresh_file("stream-stop");
    let mut piped = ledger(SqliteStore::open(&path).unwrap());
    let batches = (0..4).map(|b| (vec![buy(2 * b), buy(2 * b + 1)], b));
    let mut handed = Vec::new();
    let stopped = piped.apply_batches(batches, |b, results| {
        handed.push(b);
        assert!(results.iter().all(Result::is_ok));
        if b == 1 {
            return Err(puntos::ledger::StoreError("the caller stops".to_string()));
        }
        Ok(())
    });
    assert_eq!(
        stopped,
        Err(puntos::ledger::StoreError("the caller stops".to_string()))
    );
    assert_eq!(handed, vec![0, 1]);
    let applied: Vec<Option<String>> = journal(&mut piped)
        .into_iter()
        .map(|entry| entry.transaction)
        .collect();
    let kept: Vec<Option<String>> = (0..4).map(|n| Some(format!("T-{n}"))).collect();
    assert_eq!(applied, kept, "batches 0 and 1 earned, 2 and 3 did not");
    drop(piped);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A promotion whose shared budget runs out across batches of a stream: each batch is decided
/// before the one before is written, yet sees what that batch spent, as one by one.
#[test]
fn a_budget_spent_by_the_batch_before_is_seen_by_the_next() {
    const BUDGETED: &str = r#"
program "Budgeted" {
  currency RUB
  timezone "Europe/Moscow"
  points { precision 0 rounding down per rule }
}

promotion promo {
  valid 2026-01-01 .. 2027-12-31
  on purchase
  earn floor(basket.total / 10 RUB) points
  budget 250 points
}
"#;
    fn make<S: Store>(store: S) -> Ledger<S> {
        let program = common::program("budgeted.pts", BUDGETED);
        let mut ledger = Ledger::new(store, Versions::new(vec![program]).unwrap());
        for id in ["C-1", "C-2", "C-3"] {
            open(&mut ledger, id, &[]);
        }
        ledger
    }
    // Each purchase would earn 100 points: the budget pays two and a half of them.
    let rows: Vec<Incoming> = (0..6)
        .map(|n| {
            incoming(
                json!({"account": format!("C-{}", 1 + n % 3), "transaction": {
                "id": format!("T-{n}"), "time": format!("2026-02-02T{:02}:00:00+03:00", 9 + n),
                "lines": [{"category": "otc", "unit_price": 1000, "quantity": 1}]}}),
            )
        })
        .collect();
    let mut single = make(MemoryStore::new());
    let expected: Vec<String> = rows
        .iter()
        .map(|r| format!("{:?}", single.apply(r)))
        .collect();

    let (dir, path) = fresh_file("budget-stream");
    let mut piped = make(SqliteStore::open(&path).unwrap());
    let mut results = Vec::new();
    let batches = rows.chunks(1).map(|chunk| (chunk.to_vec(), ()));
    piped
        .apply_batches(batches, |(), batch_results| {
            results.extend(batch_results.iter().map(|r| format!("{r:?}")));
            Ok::<_, puntos::ledger::StoreError>(())
        })
        .unwrap();
    assert_eq!(results, expected);
    let earned: rust_decimal::Decimal = ["C-1", "C-2", "C-3"]
        .iter()
        .flat_map(|id| piped.account(id).unwrap().unwrap().lots)
        .map(|lot| lot.remaining)
        .sum();
    assert_eq!(
        earned,
        rust_decimal::Decimal::from(250),
        "the budget, no more"
    );
    let used = piped
        .store_mut()
        .atomically(|s: &mut dyn Session| s.budget_used("promo"))
        .unwrap();
    assert_eq!(used, rust_decimal::Decimal::from(250));
    drop(piped);
    let _ = std::fs::remove_dir_all(&dir);
}
