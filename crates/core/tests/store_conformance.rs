//! The store conformance suite: every behaviour the ledger relies on, written once as a generic
//! function over [`Store`] and run against each backend — the memory store, SQLite in memory and
//! SQLite in a file, PostgreSQL — plus what only a file or a server can show (reopening, schema
//! versions, concurrent writers).
//!
//! The PostgreSQL tests need a server: `PUNTOS_TEST_POSTGRES` holds its URL (`./scripts/test`
//! starts one on loopback and sets it); each test works in a schema of its own, dropped at its
//! end. Without the variable they fail, unless `PUNTOS_SKIP_POSTGRES=1` skips them knowingly.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use puntos::eval::{Decision, Effect, Source};
use puntos::ledger::{
    AccountState, EntryKind, Event, JournalEntry, Lot, OutboxEvent, Session, Store, StoreError,
    StoredTransaction, Upcoming,
};
use rust_decimal::Decimal;
use serde_json::json;
use std::str::FromStr;

type Result<T> = std::result::Result<T, StoreError>;

// ---------------------------------------------------------------------------------------------
// Records.

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn lot(id: &str, remaining: &str) -> Lot {
    serde_json::from_value(json!({
        "id": id,
        "source": "rule base",
        "points": remaining,
        "remaining": remaining,
        "earned_at": "2026-03-14T12:00:00+03:00",
        "available_at": null,
        "expires_at": "2027-03-14T00:00:00+03:00",
        "pending": false,
    }))
    .unwrap()
}

fn account(id: &str, aliases: &[&str]) -> AccountState {
    AccountState {
        id: id.to_string(),
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        lots: vec![lot(&format!("{id}-1#0"), "100")],
        ..AccountState::default()
    }
}

fn transaction(id: &str, account: &str, points: &str) -> StoredTransaction {
    let decision = Decision {
        transaction: id.into(),
        kind: "purchase".into(),
        program: "P".into(),
        currency: "RUB".into(),
        lines: Vec::new(),
        effects: vec![Effect::Earn {
            source: Source::Rule("base".into()),
            points: dec(points),
            available_at: None,
            expires_at: None,
            lines: Default::default(),
        }],
        refused_coupons: Vec::new(),
        trace: None,
    };
    serde_json::from_value(json!({
        "id": id,
        "account": account,
        "fingerprint": format!("fp-{id}"),
        "decision": decision,
        "time": "2026-03-14T12:00:00+03:00",
    }))
    .unwrap()
}

fn entry(seq: u64, account: &str, points: &str) -> JournalEntry {
    JournalEntry {
        seq,
        account: account.to_string(),
        at: "2026-03-14T12:00:00+03:00".parse().unwrap(),
        transaction: Some(format!("T-{seq}")),
        kind: EntryKind::Earn,
        lot: Some(format!("T-{seq}#0")),
        points: dec(points),
        note: format!("entry {seq}"),
        previous: format!("h{}", seq - 1),
        hash: format!("h{seq}"),
    }
}

fn event(seq: u64, account: &str, points: &str) -> OutboxEvent {
    OutboxEvent {
        seq,
        account: account.to_string(),
        at: "2026-03-14T12:00:00+03:00".parse().unwrap(),
        event: Event::PointsEarned {
            points: dec(points),
            transaction: format!("T-{seq}"),
        },
    }
}

/// Runs one unit of work that must succeed.
fn run<S: Store, T>(store: &mut S, work: impl FnOnce(&mut dyn Session) -> Result<T>) -> T {
    store.atomically(work).unwrap()
}

fn seqs<T>(items: &[T], seq: impl Fn(&T) -> u64) -> Vec<u64> {
    items.iter().map(seq).collect()
}

// ---------------------------------------------------------------------------------------------
// Behaviours every store has.

fn accounts_by_id_and_alias<S: Store>(make: impl Fn() -> S) {
    let mut store = make();
    let a = account("A", &["card-1", "legacy-7"]);
    run(&mut store, |s| {
        assert_eq!(s.account("A")?, None);
        s.put_account(&a)?;
        s.put_account(&account("B", &[]))
    });
    run(&mut store, |s| {
        assert_eq!(s.account("A")?, Some(a.clone()));
        assert_eq!(s.account("card-1")?, Some(a.clone()));
        assert_eq!(s.account("legacy-7")?, Some(a.clone()));
        assert_eq!(s.account("B")?.map(|b| b.id), Some("B".to_string()));
        assert_eq!(s.account("card-2")?, None);
        Ok(())
    });
}

fn keys_are_free_until_an_account_has_one_as_id_or_alias<S: Store>(make: impl Fn() -> S) {
    let mut store = make();
    run(&mut store, |s| s.put_account(&account("A", &["card-1"])));
    run(&mut store, |s| {
        assert!(s.keys_free(&["B", "card-2", "legacy-9"])?);
        assert!(!s.keys_free(&["B", "card-1"])?, "card-1 is A's alias");
        assert!(!s.keys_free(&["A"])?, "A is an account");
        assert!(
            !s.keys_free(&["card-2", "A"])?,
            "an alias of one may be another's id"
        );
        assert!(s.keys_free(&[])?);
        // Found free, written by this unit: the account and its aliases are there after.
        assert!(s.keys_free(&["B", "card-2"])?);
        s.put_account(&account("B", &["card-2"]))?;
        assert!(!s.keys_free(&["card-2"])?);
        Ok(())
    });
    run(&mut store, |s| {
        assert_eq!(s.account("card-2")?.map(|a| a.id), Some("B".to_string()));
        Ok(())
    });
    // A free id whose account would take another's alias is still refused.
    let refused = store.atomically(|s| {
        assert!(s.keys_free(&["C"])?);
        s.put_account(&account("C", &["card-1"]))
    });
    assert!(refused.is_err(), "card-1 is A's");
}

fn alias_conflict_is_an_error<S: Store>(make: impl Fn() -> S) {
    let mut store = make();
    run(&mut store, |s| s.put_account(&account("A", &["card-1"])));
    let err = store
        .atomically(|s| s.put_account(&account("B", &["card-2", "card-1"])))
        .unwrap_err();
    assert!(err.0.contains("card-1"), "{err}");
    run(&mut store, |s| {
        assert_eq!(s.account("card-1")?.map(|a| a.id), Some("A".to_string()));
        assert_eq!(s.account("B")?, None, "the failed unit wrote nothing");
        Ok(())
    });
}

fn replacing_an_account<S: Store>(make: impl Fn() -> S) {
    let mut store = make();
    run(&mut store, |s| s.put_account(&account("A", &["card-1"])));
    let mut changed = account("A", &["card-1", "card-2"]);
    changed.lots.push(lot("A-2#0", "-5.5"));
    changed.customer.status = "blocked".to_string();
    run(&mut store, |s| s.put_account(&changed));
    run(&mut store, |s| {
        assert_eq!(s.account("A")?, Some(changed.clone()));
        assert_eq!(s.account("card-1")?, Some(changed.clone()));
        assert_eq!(s.account("card-2")?, Some(changed.clone()));
        Ok(())
    });
}

/// Updating accounts the store holds (aliases unchanged) changes only their states.
fn updating_accounts<S: Store>(make: impl Fn() -> S) {
    let mut store = make();
    run(&mut store, |s| {
        s.put_account(&account("A", &["card-1"]))?;
        s.put_account(&account("B", &[]))
    });
    let mut a = account("A", &["card-1"]);
    a.lots.push(lot("A-2#0", "-5.5"));
    let mut b = account("B", &[]);
    b.customer.status = "blocked".to_string();
    run(&mut store, |s| {
        s.update_accounts(&[&a, &b])?;
        assert_eq!(
            s.account("card-1")?,
            Some(a.clone()),
            "read in the same unit"
        );
        Ok(())
    });
    run(&mut store, |s| {
        assert_eq!(s.account("card-1")?, Some(a.clone()));
        assert_eq!(s.account("B")?, Some(b.clone()));
        Ok(())
    });
}

/// Updating many accounts at once (more than a store may write with one statement), one of
/// them not held after all: the held ones change state, the other is written whole, aliases
/// included.
fn updating_many_accounts_one_not_held<S: Store>(make: impl Fn() -> S) {
    many_accounts_one_not_held(make, |s, updated| {
        s.update_accounts(&updated.iter().collect::<Vec<_>>())
    });
}

/// The same, the states handed over ([`Session::hand_over_accounts`]); and a unit that hands
/// states over and then fails leaves them unwritten.
fn handing_over_many_accounts_one_not_held<S: Store>(make: impl Fn() -> S) {
    let mut store =
        many_accounts_one_not_held(make, |s, updated| s.hand_over_accounts(updated.to_vec()));
    let before = run(&mut store, |s| s.account("A0"));
    let outcome: Result<()> = store.atomically(|s| {
        let mut changed = before.clone().unwrap();
        changed.lots.clear();
        s.hand_over_accounts(vec![changed, account("M", &["card-M"])])?;
        Err(StoreError("the ledger gave up".to_string()))
    });
    assert!(outcome.is_err());
    run(&mut store, |s| {
        assert_eq!(s.account("A0")?, before);
        assert_eq!(s.account("M")?, None);
        assert_eq!(s.account("card-M")?, None);
        Ok(())
    });
}

/// Forty held accounts and a new one written by `write` in one unit; each then reads back as
/// written, by id and by alias. Returns the store.
fn many_accounts_one_not_held<S: Store>(
    make: impl Fn() -> S,
    write: impl FnOnce(&mut dyn Session, &[AccountState]) -> Result<()>,
) -> S {
    let mut store = make();
    let held: Vec<_> = (0..40)
        .map(|i| account(&format!("A{i}"), &[&format!("card-{i}")]))
        .collect();
    run(&mut store, |s| {
        for a in &held {
            s.put_account(a)?;
        }
        Ok(())
    });
    let mut updated: Vec<_> = held
        .iter()
        .map(|a| {
            let mut a = a.clone();
            a.lots.push(lot(&format!("{}-2#0", a.id), "7"));
            a
        })
        .collect();
    updated.insert(5, account("N", &["card-N"]));
    run(&mut store, |s| write(s, &updated));
    run(&mut store, |s| {
        for a in &updated {
            assert_eq!(s.account(&a.id)?, Some(a.clone()), "{}", a.id);
            assert_eq!(
                s.account(&a.aliases[0])?,
                Some(a.clone()),
                "{}",
                a.aliases[0]
            );
        }
        Ok(())
    });
    store
}

/// Replacing an account with fewer aliases frees the ones it dropped.
fn dropped_alias_is_freed<S: Store>(make: impl Fn() -> S) {
    let mut store = make();
    run(&mut store, |s| {
        s.put_account(&account("A", &["card-1", "card-2"]))
    });
    run(&mut store, |s| s.put_account(&account("A", &["card-2"])));
    run(&mut store, |s| {
        assert_eq!(s.account("card-1")?, None);
        s.put_account(&account("B", &["card-1"]))
    });
    run(&mut store, |s| {
        assert_eq!(s.account("card-1")?.map(|a| a.id), Some("B".to_string()));
        assert_eq!(s.account("card-2")?.map(|a| a.id), Some("A".to_string()));
        Ok(())
    });
}

fn transactions_put_and_get<S: Store>(make: impl Fn() -> S) {
    let mut store = make();
    let t1 = transaction("T-1", "A", "10");
    let t2 = transaction("T-2", "B", "20");
    run(&mut store, |s| {
        assert_eq!(s.transaction("T-1")?, None);
        s.put_transaction(&t1)?;
        s.put_transaction(&t2)
    });
    run(&mut store, |s| {
        assert_eq!(s.transaction("T-1")?, Some(t1.clone()));
        assert_eq!(s.transaction("T-2")?, Some(t2.clone()));
        assert_eq!(s.transaction("T-3")?, None);
        Ok(())
    });
    // Replacing records refunded units.
    let mut refunded = t1.clone();
    refunded.refunded = serde_json::from_value(json!([{"line": 0, "quantity": "1.5"}])).unwrap();
    run(&mut store, |s| s.put_transaction(&refunded));
    run(&mut store, |s| {
        assert_eq!(s.transaction("T-1")?, Some(refunded.clone()));
        Ok(())
    });
}

fn budgets_add_up<S: Store>(make: impl Fn() -> S) {
    let mut store = make();
    run(&mut store, |s| {
        assert_eq!(s.budget_used("spring")?, Decimal::ZERO);
        s.add_budget_used("spring", dec("100.5"))?;
        s.add_budget_used("spring", dec("0.25"))?;
        s.add_budget_used("summer", dec("7"))
    });
    run(&mut store, |s| s.add_budget_used("spring", dec("-20")));
    run(&mut store, |s| {
        assert_eq!(s.budget_used("spring")?, dec("80.75"));
        assert_eq!(s.budget_used("summer")?, dec("7"));
        assert_eq!(s.budget_used("autumn")?, Decimal::ZERO);
        Ok(())
    });
}

fn journal_append_and_read<S: Store>(make: impl Fn() -> S) {
    let mut store = make();
    run(&mut store, |s| {
        assert_eq!(s.journal_head()?, None);
        assert_eq!(s.journal(None, 0, 10)?, Vec::new());
        s.append_journal(&[entry(1, "A", "10"), entry(2, "B", "20")])?;
        s.append_journal(&[])
    });
    run(&mut store, |s| {
        s.append_journal(&[entry(3, "A", "-3"), entry(4, "A", "4"), entry(5, "B", "5")])
    });
    run(&mut store, |s| {
        assert_eq!(s.journal_head()?, Some((5, "h5".to_string())));
        let all = s.journal(None, 0, 100)?;
        assert_eq!(seqs(&all, |e| e.seq), [1, 2, 3, 4, 5]);
        assert_eq!(all[2], entry(3, "A", "-3"));
        let of_a = s.journal(Some("A"), 0, 100)?;
        assert_eq!(seqs(&of_a, |e| e.seq), [1, 3, 4]);
        assert_eq!(seqs(&s.journal(Some("A"), 1, 100)?, |e| e.seq), [3, 4]);
        assert_eq!(seqs(&s.journal(Some("A"), 1, 1)?, |e| e.seq), [3]);
        assert_eq!(seqs(&s.journal(Some("B"), 0, 100)?, |e| e.seq), [2, 5]);
        assert_eq!(seqs(&s.journal(None, 2, 2)?, |e| e.seq), [3, 4]);
        assert_eq!(s.journal(None, 5, 10)?, Vec::new());
        assert_eq!(s.journal(None, u64::MAX, 10)?, Vec::new());
        assert_eq!(s.journal(None, 0, 0)?, Vec::new());
        assert_eq!(s.journal(Some("C"), 0, 10)?, Vec::new());
        assert_eq!(s.journal(None, 0, usize::MAX)?.len(), 5);
        Ok(())
    });
}

/// Entries handed over with their JSON already written read back as the entries, and a
/// mismatch of entries and texts (or an entry out of order) is refused.
fn journal_append_encoded<S: Store>(make: impl Fn() -> S) {
    let mut store = make();
    let entries = [entry(1, "A", "10"), entry(2, "B", "-2.50")];
    let bodies: Vec<String> = entries
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    run(&mut store, |s| s.append_journal_encoded(&entries, &bodies));
    run(&mut store, |s| {
        s.append_journal_encoded(&[], &[])?;
        assert_eq!(s.journal_head()?, Some((2, "h2".to_string())));
        assert_eq!(s.journal(None, 0, 10)?, entries.to_vec());
        assert_eq!(s.journal(Some("B"), 0, 10)?, entries[1..].to_vec());
        Ok(())
    });
    let more = [entry(3, "A", "3"), entry(4, "A", "4")];
    let failed: Result<()> = store.atomically(|s| s.append_journal_encoded(&more, &bodies[..1]));
    if failed.is_ok() {
        // The memory store keeps entries, not texts: nothing to mismatch.
        return;
    }
    run(&mut store, |s| {
        assert_eq!(s.journal(None, 0, 10)?, entries.to_vec());
        Ok(())
    });
}

fn outbox_push_pending_acknowledge<S: Store>(make: impl Fn() -> S) {
    let mut store = make();
    run(&mut store, |s| {
        assert_eq!(s.outbox_head()?, 0);
        assert_eq!(s.pending_events(10)?, Vec::new());
        s.push_events(&[event(1, "A", "1"), event(2, "B", "2")])
    });
    run(&mut store, |s| s.push_events(&[event(3, "A", "3")]));
    run(&mut store, |s| {
        assert_eq!(s.outbox_head()?, 3);
        let pending = s.pending_events(10)?;
        assert_eq!(
            pending,
            [event(1, "A", "1"), event(2, "B", "2"), event(3, "A", "3")]
        );
        assert_eq!(seqs(&s.pending_events(2)?, |e| e.seq), [1, 2]);
        Ok(())
    });
    run(&mut store, |s| s.acknowledge(2));
    run(&mut store, |s| {
        assert_eq!(seqs(&s.pending_events(10)?, |e| e.seq), [3]);
        // Acknowledging never goes back.
        s.acknowledge(1)
    });
    run(&mut store, |s| {
        assert_eq!(seqs(&s.pending_events(10)?, |e| e.seq), [3]);
        assert_eq!(
            s.outbox_head()?,
            3,
            "acknowledged events keep their numbers"
        );
        s.acknowledge(3)
    });
    run(&mut store, |s| {
        assert_eq!(s.pending_events(10)?, Vec::new());
        s.push_events(&[event(4, "B", "4")])
    });
    run(&mut store, |s| {
        assert_eq!(seqs(&s.pending_events(10)?, |e| e.seq), [4]);
        Ok(())
    });
}

/// A unit of work that fails leaves nothing behind.
fn failed_unit_leaves_nothing<S: Store>(make: impl Fn() -> S) {
    let mut store = make();
    let a = account("A", &["card-1"]);
    run(&mut store, |s| {
        s.put_account(&a)?;
        s.put_transaction(&transaction("T-1", "A", "1"))?;
        s.add_budget_used("spring", dec("1"))?;
        s.append_journal(&[entry(1, "A", "1")])?;
        s.push_events(&[event(1, "A", "1"), event(2, "A", "2")])
    });
    let outcome: Result<()> = store.atomically(|s| {
        let mut changed = account("A", &["card-1", "card-2"]);
        changed.lots.clear();
        s.put_account(&changed)?;
        s.put_account(&account("B", &["card-3"]))?;
        s.put_transaction(&transaction("T-1", "A", "999"))?;
        s.put_transaction(&transaction("T-2", "B", "2"))?;
        s.add_budget_used("spring", dec("5"))?;
        s.add_budget_used("summer", dec("5"))?;
        s.append_journal(&[entry(2, "A", "2")])?;
        s.push_events(&[event(3, "B", "3")])?;
        s.acknowledge(2)?;
        Err(StoreError("the ledger gave up".to_string()))
    });
    assert_eq!(outcome, Err(StoreError("the ledger gave up".to_string())));
    run(&mut store, |s| {
        assert_eq!(s.account("A")?, Some(a.clone()));
        assert_eq!(s.account("card-2")?, None);
        assert_eq!(s.account("B")?, None);
        assert_eq!(s.account("card-3")?, None);
        assert_eq!(s.transaction("T-1")?, Some(transaction("T-1", "A", "1")));
        assert_eq!(s.transaction("T-2")?, None);
        assert_eq!(s.budget_used("spring")?, dec("1"));
        assert_eq!(s.budget_used("summer")?, Decimal::ZERO);
        assert_eq!(s.journal_head()?, Some((1, "h1".to_string())));
        assert_eq!(s.journal(None, 0, 10)?.len(), 1);
        assert_eq!(s.outbox_head()?, 2);
        assert_eq!(seqs(&s.pending_events(10)?, |e| e.seq), [1, 2]);
        Ok(())
    });
    // The store still works after the failure.
    run(&mut store, |s| s.append_journal(&[entry(2, "A", "2")]));
    run(&mut store, |s| {
        assert_eq!(s.journal_head()?, Some((2, "h2".to_string())));
        Ok(())
    });
}

/// Errors of the caller's own type pass through `atomically` unchanged.
fn caller_errors_pass_through<S: Store>(make: impl Fn() -> S) {
    #[derive(Debug, PartialEq)]
    enum LedgerError {
        Store(StoreError),
        Refused(&'static str),
    }
    impl From<StoreError> for LedgerError {
        fn from(e: StoreError) -> Self {
            LedgerError::Store(e)
        }
    }
    let mut store = make();
    let outcome: std::result::Result<(), LedgerError> = store.atomically(|s| {
        s.put_account(&account("A", &[]))?;
        Err(LedgerError::Refused("no"))
    });
    assert_eq!(outcome, Err(LedgerError::Refused("no")));
    let found = store.atomically(|s| s.account("A")).unwrap();
    assert_eq!(found, None);
    let value: std::result::Result<u32, LedgerError> = store.atomically(|_| Ok(42));
    assert_eq!(value, Ok(42));
}

fn reads_see_own_writes<S: Store>(make: impl Fn() -> S) {
    let mut store = make();
    run(&mut store, |s| {
        s.append_journal(&[entry(1, "A", "1")])?;
        s.push_events(&[event(1, "A", "1")])?;
        s.add_budget_used("spring", dec("1"))
    });
    run(&mut store, |s| {
        let a = account("A", &["card-1"]);
        s.put_account(&a)?;
        assert_eq!(s.account("card-1")?, Some(a.clone()));
        let mut changed = a.clone();
        changed.lots.push(lot("A-2#0", "2"));
        s.put_account(&changed)?;
        assert_eq!(s.account("A")?, Some(changed));

        let t = transaction("T-1", "A", "1");
        s.put_transaction(&t)?;
        assert_eq!(s.transaction("T-1")?, Some(t));

        s.add_budget_used("spring", dec("2"))?;
        s.add_budget_used("spring", dec("3"))?;
        assert_eq!(s.budget_used("spring")?, dec("6"));

        s.append_journal(&[entry(2, "A", "2")])?;
        assert_eq!(s.journal_head()?, Some((2, "h2".to_string())));
        assert_eq!(seqs(&s.journal(Some("A"), 0, 10)?, |e| e.seq), [1, 2]);

        s.push_events(&[event(2, "A", "2")])?;
        assert_eq!(s.outbox_head()?, 2);
        assert_eq!(seqs(&s.pending_events(10)?, |e| e.seq), [1, 2]);
        s.acknowledge(1)?;
        assert_eq!(seqs(&s.pending_events(10)?, |e| e.seq), [2]);
        Ok(())
    });
}

/// Records announced to be read ahead come back as the unit last wrote them, never as they
/// were when it started: an account replaced (and its alias moved to another), a transaction
/// written, after the announcement.
fn read_ahead_never_hides_own_writes<S: Store>(make: impl Fn() -> S) {
    let mut store = make();
    run(&mut store, |s| {
        s.put_account(&account("A", &["card-1"]))?;
        s.put_account(&account("B", &[]))?;
        s.put_transaction(&transaction("T-1", "A", "1"))
    });
    run(&mut store, |s| {
        let ids: Vec<String> = (0..8).map(|n| format!("T-{n}")).collect();
        let mut upcoming = vec![
            Upcoming::Account("A"),
            Upcoming::Account("card-1"),
            Upcoming::Account("B"),
        ];
        upcoming.extend(ids.iter().map(|id| Upcoming::Transaction(id)));
        s.read_ahead(&upcoming);
        let mut changed = account("A", &[]);
        changed.lots.push(lot("A-2#0", "2"));
        s.put_account(&changed)?;
        let b = account("B", &["card-1"]);
        s.put_account(&b)?;
        let t1 = transaction("T-1", "B", "5");
        s.put_transaction(&t1)?;
        let t2 = transaction("T-2", "A", "2");
        s.put_transaction(&t2)?;
        assert_eq!(s.account("A")?, Some(changed));
        assert_eq!(s.account("card-1")?, Some(b.clone()));
        assert_eq!(s.account("B")?, Some(b));
        assert_eq!(s.transaction("T-1")?, Some(t1));
        assert_eq!(s.transaction("T-2")?, Some(t2));
        assert_eq!(s.transaction("T-3")?, None);
        Ok(())
    });
}

/// Decimals come back exactly, scale included: no floating point on the way.
fn decimals_round_trip<S: Store>(make: impl Fn() -> S) {
    let texts = [
        "0.1",
        "0.10",
        "12345678901234.56",
        "-0.0001",
        "-7.25",
        "0.3333333333333333333333333333",
        "79228162514264337593543950335",
        "-79228162514264337593543950335",
        "0",
    ];
    let mut store = make();
    let mut a = account("A", &[]);
    a.lots = texts
        .iter()
        .enumerate()
        .map(|(i, t)| lot(&format!("A#{i}"), t))
        .collect();
    a.history = texts
        .iter()
        .map(|t| ("2026-03-14T12:00:00+03:00".parse().unwrap(), dec(t)))
        .collect();
    let entries: Vec<_> = texts
        .iter()
        .zip(1..)
        .map(|(t, seq)| entry(seq, "A", t))
        .collect();
    let events: Vec<_> = texts
        .iter()
        .zip(1..)
        .map(|(t, seq)| event(seq, "A", t))
        .collect();
    run(&mut store, |s| {
        s.put_account(&a)?;
        s.put_transaction(&transaction("T-1", "A", "12345678901234.56"))?;
        s.append_journal(&entries)?;
        s.push_events(&events)?;
        s.add_budget_used("tenths", dec("0.1"))?;
        s.add_budget_used("tenths", dec("0.2"))?;
        s.add_budget_used("big", dec("12345678901234.56"))?;
        s.add_budget_used("negative", dec("-0.0001"))
    });
    run(&mut store, |s| {
        let back = s.account("A")?.unwrap();
        let remaining: Vec<String> = back.lots.iter().map(|l| l.remaining.to_string()).collect();
        assert_eq!(remaining, texts);
        assert_eq!(back, a.clone());
        let t = s.transaction("T-1")?.unwrap();
        assert_eq!(t.decision.points_earned().to_string(), "12345678901234.56");
        let points: Vec<String> = s
            .journal(None, 0, 100)?
            .iter()
            .map(|e| e.points.to_string())
            .collect();
        assert_eq!(points, texts);
        assert_eq!(s.pending_events(100)?, events.clone());
        assert_eq!(s.budget_used("tenths")?.to_string(), "0.3");
        assert_eq!(s.budget_used("big")?.to_string(), "12345678901234.56");
        assert_eq!(s.budget_used("negative")?.to_string(), "-0.0001");
        Ok(())
    });
}

fn shops_put_and_get<S: Store>(make: impl Fn() -> S) {
    let mut store = make();
    let shop = |id: &str, city: &str| puntos::eval::Store {
        id: id.into(),
        region: "Moscow".into(),
        city: city.into(),
        format: "pharmacy".into(),
        partner: "".into(),
    };
    run(&mut store, |s| {
        assert_eq!(s.shop("S-1")?, None);
        s.put_shop(&shop("S-1", "Moscow"))?;
        // Seen within the unit that wrote it.
        assert_eq!(s.shop("S-1")?, Some(shop("S-1", "Moscow")));
        Ok(())
    });
    run(&mut store, |s| {
        s.put_shop(&shop("S-1", "Zelenograd"))?;
        s.put_shop(&shop("S-2", "Khimki"))
    });
    run(&mut store, |s| {
        assert_eq!(s.shop("S-1")?, Some(shop("S-1", "Zelenograd")));
        assert_eq!(s.shop("S-2")?, Some(shop("S-2", "Khimki")));
        assert_eq!(s.shop("S-3")?, None);
        Ok(())
    });
}

fn accounts_listed_page_by_page<S: Store>(make: impl Fn() -> S) {
    let mut store = make();
    // Ids whose byte order differs from a language's collation order (`B` < `a`, `a-1` < `a1`).
    let ids = ["a1", "B", "a-1", "C-10", "C-9", "Ž"];
    run(&mut store, |s| {
        for id in &ids[..3] {
            s.put_account(&account(id, &[]))?;
        }
        Ok(())
    });
    let mut sorted: Vec<&str> = ids.to_vec();
    sorted.sort_unstable();
    let listed = run(&mut store, |s| {
        // Accounts written in the same unit are listed too.
        for id in &ids[3..] {
            let alias = format!("alias-of-{id}");
            s.put_account(&account(id, &[alias.as_str()]))?;
        }
        let mut listed = Vec::new();
        let mut after = String::new();
        loop {
            let page = s.account_ids(&after, 2)?;
            assert!(page.len() <= 2);
            let Some(last) = page.last() else { break };
            after = last.clone();
            listed.extend(page);
        }
        Ok(listed)
    });
    assert_eq!(listed, sorted);
    run(&mut store, |s| {
        assert_eq!(s.account_ids("", 0)?, Vec::<String>::new());
        assert_eq!(s.account_ids("Ž", 10)?, Vec::<String>::new());
        Ok(())
    });
}

macro_rules! conformance {
    ($($behaviour:ident),* $(,)?) => {
        mod memory {
            use puntos::ledger::MemoryStore;
            $(#[test] fn $behaviour() { super::$behaviour(MemoryStore::new); })*
        }
        #[cfg(feature = "sqlite")]
        mod sqlite_memory {
            use puntos::ledger::SqliteStore;
            $(#[test] fn $behaviour() {
                super::$behaviour(|| SqliteStore::in_memory().unwrap());
            })*
        }
        #[cfg(feature = "sqlite")]
        mod sqlite_file {
            use puntos::ledger::SqliteStore;
            $(#[test] fn $behaviour() {
                let dir = super::sqlite::TempDir::new(stringify!($behaviour));
                let path = dir.file();
                super::$behaviour(|| SqliteStore::open(&path).unwrap());
            })*
        }
        #[cfg(feature = "postgres")]
        mod postgres_schema {
            $(#[test] fn $behaviour() {
                let Some(schema) = super::pg::TestSchema::new(stringify!($behaviour)) else {
                    return;
                };
                super::$behaviour(|| schema.store());
            })*
        }
    };
}

conformance!(
    read_ahead_never_hides_own_writes,
    accounts_by_id_and_alias,
    keys_are_free_until_an_account_has_one_as_id_or_alias,
    alias_conflict_is_an_error,
    replacing_an_account,
    transactions_put_and_get,
    budgets_add_up,
    journal_append_and_read,
    journal_append_encoded,
    outbox_push_pending_acknowledge,
    failed_unit_leaves_nothing,
    caller_errors_pass_through,
    reads_see_own_writes,
    decimals_round_trip,
    dropped_alias_is_freed,
    updating_accounts,
    updating_many_accounts_one_not_held,
    handing_over_many_accounts_one_not_held,
    accounts_listed_page_by_page,
    shops_put_and_get,
);

// ---------------------------------------------------------------------------------------------
// What only an SQLite file shows.

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::{account, dec, entry, run};
    use puntos::ledger::{SqliteStore, Store};
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};

    /// A directory of its own under the system's temporary directory, removed when dropped.
    pub struct TempDir(PathBuf);

    impl TempDir {
        pub fn new(name: &str) -> TempDir {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let path = std::env::temp_dir().join(format!(
                "puntos-store-{}-{}-{name}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }

        pub fn file(&self) -> PathBuf {
            self.0.join("ledger.db")
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn migrations_recorded(path: &Path) -> Vec<i64> {
        let connection = rusqlite::Connection::open(path).unwrap();
        let mut statement = connection
            .prepare("SELECT version FROM schema_version ORDER BY version")
            .unwrap();
        let versions = statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<Vec<i64>, _>>()
            .unwrap();
        versions
    }

    #[test]
    fn data_persists_after_reopening() {
        let dir = TempDir::new("persists");
        let a = account("A", &["card-1"]);
        {
            let mut store = SqliteStore::open(dir.file()).unwrap();
            run(&mut store, |s| {
                s.put_account(&a)?;
                s.add_budget_used("spring", dec("0.1"))?;
                s.append_journal(&[entry(1, "A", "12345678901234.56")])
            });
        }
        let mut store = SqliteStore::open(dir.file()).unwrap();
        run(&mut store, |s| {
            assert_eq!(s.account("card-1")?, Some(a.clone()));
            assert_eq!(s.budget_used("spring")?, dec("0.1"));
            assert_eq!(
                s.journal(None, 0, 10)?,
                [entry(1, "A", "12345678901234.56")]
            );
            Ok(())
        });
    }

    #[test]
    fn reopening_applies_no_migration_twice() {
        let dir = TempDir::new("migrations");
        let latest = SqliteStore::SCHEMA_VERSION;
        assert!(latest >= 1);
        for _ in 0..3 {
            let store = SqliteStore::open(dir.file()).unwrap();
            assert_eq!(store.schema_version().unwrap(), latest);
        }
        let expected: Vec<i64> = (1..=i64::from(latest)).collect();
        assert_eq!(migrations_recorded(&dir.file()), expected);
        assert_eq!(
            SqliteStore::in_memory().unwrap().schema_version().unwrap(),
            latest
        );
    }

    /// The schema of version 1, as released: accounts' states were JSON.
    pub const VERSION_1: &str = "CREATE TABLE accounts (
             id TEXT PRIMARY KEY NOT NULL,
             state TEXT NOT NULL
         ) STRICT;
         CREATE TABLE aliases (
             alias TEXT PRIMARY KEY NOT NULL,
             account TEXT NOT NULL REFERENCES accounts (id)
         ) STRICT;
         CREATE INDEX aliases_account ON aliases (account);
         CREATE TABLE transactions (
             id TEXT PRIMARY KEY NOT NULL,
             account TEXT NOT NULL,
             body TEXT NOT NULL
         ) STRICT;
         CREATE INDEX transactions_account ON transactions (account);
         CREATE TABLE budgets (
             promotion TEXT PRIMARY KEY NOT NULL,
             used TEXT NOT NULL
         ) STRICT;
         CREATE TABLE journal (
             seq INTEGER PRIMARY KEY NOT NULL CHECK (seq > 0),
             account TEXT NOT NULL,
             body TEXT NOT NULL,
             hash TEXT NOT NULL
         ) STRICT;
         CREATE INDEX journal_account ON journal (account, seq);
         CREATE TABLE outbox (
             seq INTEGER PRIMARY KEY NOT NULL CHECK (seq > 0),
             account TEXT NOT NULL,
             body TEXT NOT NULL
         ) STRICT;
         CREATE TABLE outbox_ack (
             id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
             acknowledged INTEGER NOT NULL
         ) STRICT;
         INSERT INTO outbox_ack (id, acknowledged) VALUES (1, 0);
         CREATE TABLE schema_version (
             version INTEGER PRIMARY KEY NOT NULL,
             applied_at TEXT NOT NULL
         ) STRICT;
         INSERT INTO schema_version (version, applied_at) VALUES (1, 'then');";

    /// A database of version 1 (accounts as JSON) is brought up to date when opened: every
    /// account, alias and record reads back as it was, and the store works on.
    #[test]
    fn a_version_1_database_is_migrated() {
        let dir = TempDir::new("version1");
        let mut a = account("A", &["card-1", "legacy-7"]);
        a.lots.push(super::lot("A-2#0", "-0.0001"));
        a.lots
            .push(super::lot("A-3#0", "79228162514264337593543950335"));
        a.history = vec![(
            "2026-03-14T12:00:00.5-04:30".parse().unwrap(),
            dec("-12.50"),
        )];
        a.customer.name = "Ana \"Ñ\" Pérez".to_string();
        a.customer.birth_date = chrono::NaiveDate::from_ymd_opt(1985, 4, 12);
        a.customer
            .attributes
            .insert("card".to_string(), "gold".to_string());
        a.earned.entry("base".to_string()).or_default().insert(
            chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            dec("150.5"),
        );
        a.uses
            .entry("welcome".to_string())
            .or_default()
            .insert(chrono::NaiveDate::MIN, 2);
        a.as_of = Some("2026-03-14T12:00:00+03:00".parse().unwrap());
        let b = account("B", &[]);
        {
            let connection = rusqlite::Connection::open(dir.file()).unwrap();
            connection.execute_batch(VERSION_1).unwrap();
            for (account, aliases) in [(&a, vec!["card-1", "legacy-7"]), (&b, vec![])] {
                connection
                    .execute(
                        "INSERT INTO accounts (id, state) VALUES (?1, ?2)",
                        (&account.id, serde_json::to_string(account).unwrap()),
                    )
                    .unwrap();
                for alias in aliases {
                    connection
                        .execute(
                            "INSERT INTO aliases (alias, account) VALUES (?1, ?2)",
                            (alias, &account.id),
                        )
                        .unwrap();
                }
            }
            // Entries of A and B interleaved, and of Z, which has no account.
            for (seq, owner) in [(1, "A"), (2, "B"), (3, "A"), (4, "Z"), (5, "A")] {
                let entry = entry(seq, owner, "1");
                connection
                    .execute(
                        "INSERT INTO journal (seq, account, body, hash) VALUES (?1, ?2, ?3, ?4)",
                        (
                            i64::try_from(seq).unwrap(),
                            owner,
                            serde_json::to_string(&entry).unwrap(),
                            &entry.hash,
                        ),
                    )
                    .unwrap();
            }
        }
        let mut store = SqliteStore::open(dir.file()).unwrap();
        assert_eq!(store.schema_version().unwrap(), SqliteStore::SCHEMA_VERSION);
        run(&mut store, |s| {
            assert_eq!(s.account("legacy-7")?, Some(a.clone()));
            assert_eq!(s.account("B")?, Some(b.clone()));
            assert_eq!(s.journal(Some("A"), 0, 10)?[0], entry(1, "A", "1"));
            // Each account's entries, as the journal held them, and new ones after them.
            s.append_journal(&[entry(6, "Z", "1"), entry(7, "A", "1")])?;
            assert_eq!(
                super::seqs(&s.journal(Some("A"), 0, 10)?, |e| e.seq),
                [1, 3, 5, 7]
            );
            assert_eq!(
                super::seqs(&s.journal(Some("A"), 3, 10)?, |e| e.seq),
                [5, 7]
            );
            assert_eq!(super::seqs(&s.journal(Some("B"), 0, 10)?, |e| e.seq), [2]);
            assert_eq!(
                super::seqs(&s.journal(Some("Z"), 0, 10)?, |e| e.seq),
                [4, 6]
            );
            let mut changed = a.clone();
            changed.lots[0].remaining = dec("99");
            s.put_account(&changed)
        });
        run(&mut store, |s| {
            assert_eq!(s.account("card-1")?.unwrap().lots[0].remaining, dec("99"));
            Ok(())
        });
        drop(store);
        let expected: Vec<i64> = (1..=i64::from(SqliteStore::SCHEMA_VERSION)).collect();
        assert_eq!(migrations_recorded(&dir.file()), expected);
    }

    /// An account's entries are a list linked through the journal's rows: a link changed in
    /// the file is reported, never followed into another account's entries.
    #[test]
    fn a_broken_journal_link_is_an_error() {
        let dir = TempDir::new("links");
        let mut store = SqliteStore::open(dir.file()).unwrap();
        run(&mut store, |s| {
            s.append_journal(&[entry(1, "A", "1"), entry(2, "B", "2"), entry(3, "A", "3")])
        });
        drop(store);
        rusqlite::Connection::open(dir.file())
            .unwrap()
            .execute("UPDATE journal SET prior = 2 WHERE seq = 3", [])
            .unwrap();
        let mut store = SqliteStore::open(dir.file()).unwrap();
        let read: super::Result<Vec<_>> = store.atomically(|s| s.journal(Some("A"), 0, 10));
        let error = read.unwrap_err().to_string();
        assert!(
            error.contains("links for account A are broken at entry 2"),
            "{error}"
        );
    }

    /// States a store wrote are kept in memory between units; another connection's commit, a
    /// unit that fails, or an alias moved to another account never lets a kept state be read
    /// in place of the file's.
    #[test]
    fn kept_states_never_hide_the_files() {
        let dir = TempDir::new("cache");
        let mut mine = SqliteStore::open(dir.file()).unwrap();
        run(&mut mine, |s| s.put_account(&account("A", &["card-1"])));
        // Read by its alias, written back, handed over: kept once the unit commits.
        let write_lot = |store: &mut SqliteStore, key: &str, remaining: &str| {
            run(store, |s| {
                let mut a = s.account(key)?.unwrap();
                a.lots[0].remaining = dec(remaining);
                s.update_accounts(&[&a])?;
                s.written_states(vec![a]);
                Ok(())
            })
        };
        let remaining = |store: &mut SqliteStore, key: &str| {
            run(store, |s| Ok(s.account(key)?.map(|a| a.lots[0].remaining)))
        };
        write_lot(&mut mine, "card-1", "11");
        assert_eq!(remaining(&mut mine, "card-1"), Some(dec("11")));
        write_lot(&mut mine, "card-1", "12");

        // Another connection writes the account: the kept state is dropped.
        let mut theirs = SqliteStore::open(dir.file()).unwrap();
        write_lot(&mut theirs, "A", "20");
        assert_eq!(remaining(&mut mine, "card-1"), Some(dec("20")));

        // A unit that fails after changing the kept state leaves the file's.
        write_lot(&mut mine, "card-1", "13");
        let failed: super::Result<()> = mine.atomically(|s| {
            let mut a = s.account("card-1")?.unwrap();
            a.lots[0].remaining = dec("99");
            s.update_accounts(&[&a])?;
            s.written_states(vec![a]);
            Err(puntos::ledger::StoreError("the unit fails".to_string()))
        });
        assert!(failed.is_err());
        assert_eq!(remaining(&mut mine, "card-1"), Some(dec("13")));

        // The alias moves to another account: it leads there, not to the kept state.
        write_lot(&mut mine, "card-1", "14");
        run(&mut mine, |s| {
            s.put_account(&account("A", &[]))?;
            s.put_account(&account("B", &["card-1"]))
        });
        let b = run(&mut mine, |s| s.account("card-1")).unwrap();
        assert_eq!(b.id, "B");
        assert_eq!(
            remaining(&mut mine, "A"),
            Some(account("A", &[]).lots[0].remaining)
        );
    }

    /// `verify` checks the lists as well as the chain: a link or a list's start changed in the
    /// file leaves the hash chain intact, yet would show an account's history wrong.
    #[test]
    fn verify_finds_a_list_that_departs_from_the_journal() {
        use puntos::ledger::{AccountState, Broken, Incoming, Ledger};
        let dir = TempDir::new("verify-links");
        let versions = puntos::Versions::new(vec![super::common::pharmacy().clone()]).unwrap();
        let purchase = |id: &str, account: &str, day: u32| -> Incoming {
            puntos::eval::from_json(
                &serde_json::json!({"account": account, "transaction": {
                    "id": id, "time": format!("2026-03-{day:02}T12:00:00+03:00"),
                    "lines": [{"sku": "A", "category": "otc", "unit_price": "500", "quantity": 2}]
                }})
                .to_string(),
            )
            .unwrap()
        };
        let mut ledger = Ledger::new(SqliteStore::open(dir.file()).unwrap(), versions.clone());
        for id in ["A", "B"] {
            ledger
                .open_account(AccountState {
                    id: id.to_string(),
                    customer: puntos::eval::Customer {
                        id: id.to_string(),
                        ..Default::default()
                    },
                    ..AccountState::default()
                })
                .unwrap();
        }
        let batch: Vec<Incoming> = (1..=6)
            .map(|i| purchase(&format!("T-{i}"), ["A", "B"][i as usize % 2], i))
            .collect();
        for result in ledger.apply_batch(&batch).unwrap() {
            result.unwrap();
        }
        let entries = ledger.verify().unwrap().unwrap();
        assert!(entries >= 6, "{entries}");
        drop(ledger);
        let last_of = |account: &str| -> (i64, Option<i64>) {
            rusqlite::Connection::open(dir.file())
                .unwrap()
                .query_row(
                    "SELECT seq, prior FROM journal WHERE account = ?1 ORDER BY seq DESC LIMIT 1",
                    [account],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap()
        };
        let (a_last, a_prior) = last_of("A");
        let verify_after = |change: &str| -> Broken {
            let copy = TempDir::new("verify-links-copy");
            std::fs::copy(dir.file(), copy.file()).unwrap();
            rusqlite::Connection::open(copy.file())
                .unwrap()
                .execute_batch(change)
                .unwrap();
            let mut ledger = Ledger::new(SqliteStore::open(copy.file()).unwrap(), versions.clone());
            ledger.verify().unwrap().unwrap_err()
        };
        // An entry that skips the account's entry before it.
        let skipped = verify_after(&format!(
            "UPDATE journal SET prior = NULL WHERE seq = {a_last}"
        ));
        assert!(
            matches!(&skipped, Broken::Unlinked { account, seq, .. }
                if account == "A" && *seq == a_last as u64),
            "{skipped}"
        );
        assert!(
            skipped.to_string().contains("links to nothing"),
            "{skipped}"
        );
        // An account's list that starts at an older entry, hiding the newest.
        let hidden = verify_after(&format!(
            "UPDATE accounts SET last_entry = {} WHERE id = 'A'",
            a_prior.unwrap()
        ));
        assert!(
            hidden.to_string().contains(&format!(
                "list starts at entry {}, the account's last entry is {a_last}",
                a_prior.unwrap()
            )),
            "{hidden}"
        );
        // An entry no list leads to: its account's row is gone.
        let orphan = verify_after(
            "DELETE FROM aliases WHERE account = 'B'; DELETE FROM accounts WHERE id = 'B'",
        );
        assert!(
            matches!(&orphan, Broken::Unlinked { account, .. } if account == "B"),
            "{orphan}"
        );
        assert!(
            orphan
                .to_string()
                .contains("no list of the account leads to it"),
            "{orphan}"
        );
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = TempDir::new("newer");
        drop(SqliteStore::open(dir.file()).unwrap());
        let newer = SqliteStore::SCHEMA_VERSION + 1;
        rusqlite::Connection::open(dir.file())
            .unwrap()
            .execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?1, 'later')",
                [newer],
            )
            .unwrap();
        let err = SqliteStore::open(dir.file()).unwrap_err();
        assert!(
            err.0.contains(&format!("schema version {newer}")) && err.0.contains("newer"),
            "{err}"
        );
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused() {
        let dir = TempDir::new("garbage");
        std::fs::write(dir.file(), vec![b'x'; 4096]).unwrap();
        let err = SqliteStore::open(dir.file()).unwrap_err();
        assert!(err.0.contains("ledger.db"), "{err}");
    }

    /// Two writers on one file, each with its own connection, incrementing one counter (a lot's
    /// remainder) and appending to the journal: every increment and every entry is kept.
    #[test]
    fn concurrent_writers_lose_no_update() {
        const UNITS: u64 = 200;
        let dir = TempDir::new("concurrent");
        let start = Arc::new(Barrier::new(2));
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let path = dir.file();
                let start = Arc::clone(&start);
                std::thread::spawn(move || {
                    start.wait();
                    // Both open (and migrate) the new file at the same time.
                    let mut store = SqliteStore::open(&path).unwrap();
                    for _ in 0..UNITS {
                        run(&mut store, |s| {
                            let mut counter = match s.account("counter")? {
                                Some(a) => a,
                                None => {
                                    let mut a = account("counter", &[]);
                                    a.lots[0].remaining = dec("0");
                                    a
                                }
                            };
                            counter.lots[0].remaining += dec("1");
                            s.put_account(&counter)?;
                            let seq = s.journal_head()?.map_or(0, |(seq, _)| seq) + 1;
                            s.append_journal(&[entry(seq, "counter", "1")])
                        });
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let mut store = SqliteStore::open(dir.file()).unwrap();
        run(&mut store, |s| {
            let counter = s.account("counter")?.unwrap();
            assert_eq!(counter.lots[0].remaining, dec(&(2 * UNITS).to_string()));
            assert_eq!(s.journal_head()?.map(|(seq, _)| seq), Some(2 * UNITS));
            Ok(())
        });
        assert_eq!(
            store
                .atomically(|s| s.journal(None, 0, 1000))
                .unwrap()
                .len(),
            400
        );
    }
}

// ---------------------------------------------------------------------------------------------
// What only a PostgreSQL server shows.

#[cfg(feature = "postgres")]
#[allow(clippy::panic)]
mod pg {
    use super::{account, dec, entry, event, run};
    use puntos::ledger::{PgStore, Session, Store};
    use rust_decimal::Decimal;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};

    /// The server's URL, from `PUNTOS_TEST_POSTGRES`; `None` when the PostgreSQL tests are
    /// skipped on purpose. Fails the test when the server is not configured.
    pub fn url() -> Option<String> {
        match std::env::var("PUNTOS_TEST_POSTGRES") {
            Ok(url) if !url.trim().is_empty() => Some(url),
            _ if std::env::var("PUNTOS_SKIP_POSTGRES").is_ok_and(|v| v == "1") => {
                eprintln!("PUNTOS_SKIP_POSTGRES=1: the PostgreSQL store is not tested");
                None
            }
            _ => panic!(
                "PUNTOS_TEST_POSTGRES is not set, so the PostgreSQL store cannot be tested: run \
                 ./scripts/test (it starts PostgreSQL on loopback and sets it), or set \
                 PUNTOS_TEST_POSTGRES to the URL of a server where tests may create and drop \
                 schemas (postgres://user@127.0.0.1:5432/database); to skip these tests \
                 knowingly, set PUNTOS_SKIP_POSTGRES=1"
            ),
        }
    }

    /// A schema of its own for one test, dropped (with its tables) when the test ends, passed or
    /// failed.
    pub struct TestSchema {
        url: String,
        name: String,
    }

    impl TestSchema {
        /// A new, empty schema; `None` when the PostgreSQL tests are skipped.
        pub fn new(test: &str) -> Option<TestSchema> {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let url = url()?;
            let mut name = format!(
                "puntos_test_{}_{}_{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed),
                test.to_ascii_lowercase()
            );
            name.truncate(63);
            let schema = TestSchema { url, name };
            // A schema of the same name left by a killed run of the same process id.
            schema.drop_schema();
            Some(schema)
        }

        /// A store in this schema (a new connection each time).
        pub fn store(&self) -> PgStore {
            PgStore::connect_in(&self.url, &self.name).unwrap()
        }

        /// A plain client on the server, with `search_path` set to this schema.
        pub fn client(&self) -> postgres::Client {
            let mut client = postgres::Client::connect(&self.url, postgres::NoTls).unwrap();
            client
                .batch_execute(&format!("SET search_path TO \"{}\"", self.name))
                .unwrap();
            client
        }

        fn drop_schema(&self) {
            let mut client = postgres::Client::connect(&self.url, postgres::NoTls)
                .unwrap_or_else(|e| panic!("connecting to PUNTOS_TEST_POSTGRES: {e}"));
            client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name))
                .unwrap();
        }
    }

    impl Drop for TestSchema {
        fn drop(&mut self) {
            // Never a second panic while a failed test unwinds.
            if let Ok(mut client) = postgres::Client::connect(&self.url, postgres::NoTls) {
                let _ = client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name));
            }
        }
    }

    fn migrations_recorded(schema: &TestSchema) -> Vec<i32> {
        schema
            .client()
            .query("SELECT version FROM schema_version ORDER BY version", &[])
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect()
    }

    #[test]
    fn data_persists_after_reconnecting() {
        let Some(schema) = TestSchema::new("persists") else {
            return;
        };
        let a = account("A", &["card-1"]);
        {
            let mut store = schema.store();
            run(&mut store, |s| {
                s.put_account(&a)?;
                s.add_budget_used("spring", dec("0.1"))?;
                s.append_journal(&[entry(1, "A", "12345678901234.56")])
            });
        }
        let mut store = schema.store();
        run(&mut store, |s| {
            assert_eq!(s.account("card-1")?, Some(a.clone()));
            assert_eq!(s.budget_used("spring")?, dec("0.1"));
            assert_eq!(
                s.journal(None, 0, 10)?,
                [entry(1, "A", "12345678901234.56")]
            );
            Ok(())
        });
    }

    #[test]
    fn reconnecting_applies_no_migration_twice() {
        let Some(schema) = TestSchema::new("migrations") else {
            return;
        };
        let latest = PgStore::SCHEMA_VERSION;
        assert!(latest >= 1);
        for _ in 0..3 {
            let mut store = schema.store();
            assert_eq!(store.schema(), schema.name);
            assert_eq!(store.schema_version().unwrap(), latest);
        }
        let expected: Vec<i32> = (1..=i32::try_from(latest).unwrap()).collect();
        assert_eq!(migrations_recorded(&schema), expected);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let Some(schema) = TestSchema::new("newer") else {
            return;
        };
        drop(schema.store());
        let newer = i32::try_from(PgStore::SCHEMA_VERSION + 1).unwrap();
        schema
            .client()
            .execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[&newer],
            )
            .unwrap();
        let err = PgStore::connect_in(&schema.url, &schema.name).unwrap_err();
        assert!(
            err.0.contains(&format!("schema version {newer}")) && err.0.contains("newer"),
            "{err}"
        );
    }

    /// A schema of version 1 (accounts as JSON) is brought up to date when a store connects:
    /// every account reads back as it was, and the store works on.
    #[test]
    fn a_version_1_schema_is_migrated() {
        let Some(schema) = TestSchema::new("version1") else {
            return;
        };
        let mut a = account("A", &["card-1"]);
        a.lots.push(super::lot("A-2#0", "-0.0001"));
        a.customer.name = "Ana Pérez".to_string();
        let b = account("B", &[]);
        {
            let mut client = postgres::Client::connect(&schema.url, postgres::NoTls).unwrap();
            client
                .batch_execute(&format!(
                    "CREATE SCHEMA \"{0}\"; SET search_path TO \"{0}\";",
                    schema.name
                ))
                .unwrap();
            client
                .batch_execute(
                    "CREATE TABLE schema_version (
                         version INTEGER PRIMARY KEY NOT NULL,
                         applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                     );
                     INSERT INTO schema_version (version) VALUES (1);
                     CREATE TABLE accounts (id TEXT PRIMARY KEY NOT NULL, state TEXT NOT NULL);
                     CREATE TABLE aliases (
                         alias TEXT PRIMARY KEY NOT NULL,
                         account TEXT NOT NULL REFERENCES accounts (id)
                     );
                     CREATE INDEX aliases_account ON aliases (account);
                     CREATE TABLE transactions (
                         id TEXT PRIMARY KEY NOT NULL,
                         account TEXT NOT NULL,
                         body TEXT NOT NULL
                     );
                     CREATE INDEX transactions_account ON transactions (account);
                     CREATE TABLE budgets (promotion TEXT PRIMARY KEY NOT NULL, used NUMERIC NOT NULL);
                     CREATE TABLE journal (
                         seq BIGINT PRIMARY KEY NOT NULL CHECK (seq > 0),
                         account TEXT NOT NULL,
                         body TEXT NOT NULL,
                         hash TEXT NOT NULL
                     );
                     CREATE INDEX journal_account ON journal (account, seq);
                     CREATE TABLE journal_head (
                         id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
                         seq BIGINT NOT NULL CHECK (seq >= 0),
                         hash TEXT
                     );
                     INSERT INTO journal_head (id, seq, hash) VALUES (1, 0, NULL);
                     CREATE TABLE outbox (
                         seq BIGINT PRIMARY KEY NOT NULL CHECK (seq > 0),
                         account TEXT NOT NULL,
                         body TEXT NOT NULL
                     );
                     CREATE TABLE outbox_head (
                         id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
                         seq BIGINT NOT NULL CHECK (seq >= 0)
                     );
                     INSERT INTO outbox_head (id, seq) VALUES (1, 0);
                     CREATE TABLE outbox_ack (
                         id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
                         acknowledged BIGINT NOT NULL
                     );
                     INSERT INTO outbox_ack (id, acknowledged) VALUES (1, 0);",
                )
                .unwrap();
            for account in [&a, &b] {
                client
                    .execute(
                        "INSERT INTO accounts (id, state) VALUES ($1, $2)",
                        &[&account.id, &serde_json::to_string(account).unwrap()],
                    )
                    .unwrap();
            }
            client
                .execute(
                    "INSERT INTO aliases (alias, account) VALUES ('card-1', 'A')",
                    &[],
                )
                .unwrap();
        }
        let mut store = schema.store();
        assert_eq!(store.schema_version().unwrap(), PgStore::SCHEMA_VERSION);
        run(&mut store, |s| {
            assert_eq!(s.account("card-1")?, Some(a.clone()));
            assert_eq!(s.account("B")?, Some(b.clone()));
            let mut changed = a.clone();
            changed.lots[0].remaining = dec("99");
            s.put_account(&changed)
        });
        run(&mut store, |s| {
            assert_eq!(s.account("A")?.unwrap().lots[0].remaining, dec("99"));
            Ok(())
        });
        let expected: Vec<i32> = (1..=i32::try_from(PgStore::SCHEMA_VERSION).unwrap()).collect();
        assert_eq!(migrations_recorded(&schema), expected);
    }

    #[test]
    fn schemas_are_separate_ledgers() {
        let (Some(one), Some(two)) = (TestSchema::new("one"), TestSchema::new("two")) else {
            return;
        };
        let (mut first, mut second) = (one.store(), two.store());
        run(&mut first, |s| {
            s.put_account(&account("A", &["card-1"]))?;
            s.append_journal(&[entry(1, "A", "1")])
        });
        run(&mut second, |s| {
            assert_eq!(s.account("card-1")?, None);
            assert_eq!(s.journal_head()?, None);
            s.put_account(&account("B", &["card-1"]))
        });
    }

    #[test]
    fn bad_schema_names_and_urls_are_refused() {
        let Some(url) = url() else {
            return;
        };
        for name in [
            "",
            "Upper",
            "1st",
            "pg_catalog",
            "a-b",
            "a\"; DROP",
            &"x".repeat(64),
        ] {
            let err = PgStore::connect_in(&url, name).unwrap_err();
            assert!(err.0.contains("schema name"), "{name}: {err}");
        }
        let err = PgStore::connect("postgres://127.0.0.1:1/none?connect_timeout=2").unwrap_err();
        assert!(err.0.contains("connecting to PostgreSQL"), "{err}");
        let err = PgStore::connect("not a url = =").unwrap_err();
        assert!(err.0.contains("URL"), "{err}");
    }

    /// A unit whose work goes on after a failed statement (and returns `Ok`) is not committed
    /// in part.
    #[test]
    fn work_that_ignores_a_failed_statement_writes_nothing() {
        let Some(schema) = TestSchema::new("ignored") else {
            return;
        };
        let mut store = schema.store();
        run(&mut store, |s| s.append_journal(&[entry(1, "A", "1")]));
        let outcome = store.atomically(|s| {
            s.put_account(&account("A", &[]))?;
            // A duplicate sequence number: PostgreSQL aborts the transaction here.
            let _ignored = s.push_events(&[event(2, "A", "2"), event(2, "A", "2")]);
            Ok::<_, puntos::ledger::StoreError>(())
        });
        let err = outcome.unwrap_err();
        assert!(err.0.contains("nothing of it was written"), "{err}");
        run(&mut store, |s| {
            assert_eq!(s.account("A")?, None);
            assert_eq!(s.journal_head()?, Some((1, "h1".to_string())));
            assert_eq!(s.outbox_head()?, 0);
            assert_eq!(s.pending_events(10)?, Vec::new());
            Ok(())
        });
    }

    #[test]
    fn purge_keeps_the_data() {
        let Some(schema) = TestSchema::new("purge") else {
            return;
        };
        let mut store = schema.store();
        let a = account("A", &["card-2"]);
        run(&mut store, |s| s.put_account(&account("A", &["card-1"])));
        run(&mut store, |s| s.put_account(&a));
        store.purge().unwrap();
        run(&mut store, |s| {
            assert_eq!(s.account("card-2")?, Some(a.clone()));
            assert_eq!(s.account("card-1")?, None);
            Ok(())
        });
    }

    /// A connection the server ends (a restart, an administrator) fails the unit that finds it
    /// gone; the next unit runs on a new connection.
    #[test]
    fn a_lost_connection_is_replaced() {
        let Some(schema) = TestSchema::new("reconnect") else {
            return;
        };
        let app = format!("puntos_reconnect_{}", std::process::id());
        let separator = if schema.url.contains('?') { '&' } else { '?' };
        let url = format!("{}{separator}application_name={app}", schema.url);
        let mut store = PgStore::connect_in(&url, &schema.name).unwrap();
        run(&mut store, |s| s.put_account(&account("A", &[])));
        let mut admin = schema.client();
        let pids: Vec<i32> = admin
            .query(
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
                &[&app],
            )
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert_eq!(pids.len(), 1);
        let ended: bool = admin
            .query_one("SELECT pg_terminate_backend($1, 5000)", &[&pids[0]])
            .unwrap()
            .get(0);
        assert!(ended);
        let _gone = store.atomically(|s| s.account("A"));
        run(&mut store, |s| {
            assert_eq!(s.account("A")?.map(|a| a.id), Some("A".to_string()));
            Ok(())
        });
    }

    /// The counter account, created on first use with a zero remainder.
    fn counter(s: &mut dyn Session) -> puntos::ledger::AccountState {
        s.account("counter").unwrap().unwrap_or_else(|| {
            let mut a = account("counter", &["counter-card"]);
            a.lots[0].remaining = Decimal::ZERO;
            a
        })
    }

    /// Two writers, each with its own connection, doing 200 units each that read, increment and
    /// write one account's counter (a lot's remainder), spend one point of one budget and append
    /// to the journal: every increment, every point and every entry is kept, and the journal's
    /// sequence numbers neither fork nor skip. Both connect (and migrate) the new schema at once,
    /// and their first units race to create the account and the budget.
    #[test]
    fn concurrent_writers_lose_no_update() {
        const UNITS: u64 = 200;
        let Some(schema) = TestSchema::new("concurrent") else {
            return;
        };
        let schema = Arc::new(schema);
        let start = Arc::new(Barrier::new(2));
        let writers: Vec<_> = (0..2)
            .map(|writer| {
                let schema = Arc::clone(&schema);
                let start = Arc::clone(&start);
                std::thread::spawn(move || {
                    start.wait();
                    let mut store = schema.store();
                    for _ in 0..UNITS {
                        run(&mut store, |s| {
                            // One writer finds the account by its id, the other by its alias.
                            let mut counter = if writer == 0 {
                                counter(s)
                            } else {
                                s.account("counter-card")?.unwrap_or_else(|| counter(s))
                            };
                            counter.lots[0].remaining += dec("1");
                            let used = s.budget_used("spring")?;
                            s.add_budget_used("spring", dec("1"))?;
                            assert_eq!(s.budget_used("spring")?, used + dec("1"));
                            s.put_account(&counter)?;
                            let seq = s.journal_head()?.map_or(0, |(seq, _)| seq) + 1;
                            s.append_journal(&[entry(seq, "counter", "1")])
                        });
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let total = dec(&(2 * UNITS).to_string());
        let mut store = schema.store();
        run(&mut store, |s| {
            let counter = s.account("counter")?.unwrap();
            assert_eq!(counter.lots[0].remaining, total);
            assert_eq!(s.budget_used("spring")?, total);
            assert_eq!(s.journal_head()?.map(|(seq, _)| seq), Some(2 * UNITS));
            let journal = s.journal(None, 0, 1000)?;
            let seqs: Vec<u64> = journal.iter().map(|e| e.seq).collect();
            assert_eq!(seqs, (1..=2 * UNITS).collect::<Vec<_>>());
            Ok(())
        });
    }

    /// Two checkouts race to use a customer's one-use coupon, many times over: two ledgers on
    /// two connections, deciding at once; exactly one gets the discount each time, and the
    /// other is told the coupon is used up.
    #[test]
    fn the_last_use_of_a_coupon_goes_once() {
        use puntos::eval::from_json;
        use puntos::ledger::{Applied, Incoming, Ledger};
        const ROUNDS: usize = 12;
        let Some(schema) = TestSchema::new("last_coupon") else {
            return;
        };
        let versions = || puntos::Versions::new(vec![super::common::pharmacy().clone()]).unwrap();
        let incoming =
            |value: serde_json::Value| -> Incoming { from_json(&value.to_string()).unwrap() };
        // Customers, each with the welcome code their signup issued.
        let mut codes = Vec::new();
        {
            let mut ledger = Ledger::new(schema.store(), versions());
            for round in 0..ROUNDS {
                let id = format!("C-{round}");
                ledger
                    .apply(&incoming(
                        serde_json::json!({"account": id, "customer": {"id": id},
                        "transaction": {"id": format!("U-{round}"), "kind": "signup",
                        "time": "2026-03-01T10:00:00+03:00"}}),
                    ))
                    .unwrap();
                let account = ledger.account(&id).unwrap().unwrap();
                codes.push(account.coupons[0].code.clone());
            }
        }
        let (schema, codes) = (Arc::new(schema), Arc::new(codes));
        let start = Arc::new(Barrier::new(2));
        let racers: Vec<_> = (0..2)
            .map(|racer| {
                let (schema, codes, start) =
                    (Arc::clone(&schema), Arc::clone(&codes), Arc::clone(&start));
                std::thread::spawn(move || {
                    let mut ledger = Ledger::new(schema.store(), versions());
                    let mut used = Vec::new();
                    for (round, code) in codes.iter().enumerate() {
                        let checkout =
                            incoming(serde_json::json!({"account": format!("C-{round}"),
                            "transaction": {"id": format!("P-{round}-{racer}"),
                            "time": "2026-03-02T10:00:00+03:00", "coupons": [code],
                            "lines": [{"category": "otc", "unit_price": 1000}]}}));
                        start.wait();
                        let Applied::New(decision) = ledger.apply(&checkout).unwrap() else {
                            panic!("round {round}: not a new transaction");
                        };
                        let consumed = decision
                            .effects
                            .iter()
                            .any(|e| matches!(e, puntos::eval::Effect::ConsumeCoupon { .. }));
                        assert!(consumed || !decision.refused_coupons.is_empty());
                        used.push(consumed);
                    }
                    used
                })
            })
            .collect();
        let used: Vec<Vec<bool>> = racers.into_iter().map(|r| r.join().unwrap()).collect();
        for round in 0..ROUNDS {
            assert_eq!(
                u8::from(used[0][round]) + u8::from(used[1][round]),
                1,
                "round {round}: {used:?}"
            );
        }
    }

    /// Two writers race for the last point of a budget, many times over (on a budget never used
    /// before, and on one with a point left): exactly one of them gets it each time.
    #[test]
    fn the_last_point_of_a_budget_goes_once() {
        const ROUNDS: usize = 40;
        let Some(schema) = TestSchema::new("last_point") else {
            return;
        };
        let cap = dec("10");
        {
            let mut store = schema.store();
            run(&mut store, |s| {
                for round in (0..ROUNDS).filter(|r| r % 2 == 1) {
                    s.add_budget_used(&format!("promo-{round}"), cap - dec("1"))?;
                }
                Ok(())
            });
        }
        let schema = Arc::new(schema);
        let start = Arc::new(Barrier::new(2));
        let racers: Vec<_> = (0..2)
            .map(|_| {
                let schema = Arc::clone(&schema);
                let start = Arc::clone(&start);
                std::thread::spawn(move || {
                    let mut store = schema.store();
                    let mut won = Vec::new();
                    for round in 0..ROUNDS {
                        let promotion = format!("promo-{round}");
                        let limit = if round % 2 == 1 { cap } else { dec("1") };
                        start.wait();
                        won.push(run(&mut store, |s| {
                            let used = s.budget_used(&promotion)?;
                            if used >= limit {
                                return Ok(false);
                            }
                            // Widen the window between the read and the write.
                            std::thread::sleep(std::time::Duration::from_millis(2));
                            s.add_budget_used(&promotion, dec("1"))?;
                            Ok(true)
                        }));
                    }
                    won
                })
            })
            .collect();
        let results: Vec<Vec<bool>> = racers.into_iter().map(|r| r.join().unwrap()).collect();
        let mut store = schema.store();
        for (round, (first, second)) in results[0].iter().zip(&results[1]).enumerate() {
            assert!(first ^ second, "round {round}: {first} and {second}");
            let limit = if round % 2 == 1 { cap } else { dec("1") };
            let used = store
                .atomically(|s| s.budget_used(&format!("promo-{round}")))
                .unwrap();
            assert_eq!(used, limit, "round {round}");
        }
    }
}
