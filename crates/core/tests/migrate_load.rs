//! Loading the migrated accounts of `tests/legacy/small` into a ledger: every account of the
//! identity plan (and the card with a balance but no card row) opened with one opening lot
//! holding its cards' final balances, journaled; a second load changes nothing. Balances were
//! worked out by hand from the cutover's figures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use chrono::DateTime;
use common::dec;
use puntos::ledger::{Ledger, MemoryStore, Session, SqliteStore, Store};
use puntos::{Decimal, Versions};

fn migrated() -> Vec<puntos::ledger::AccountState> {
    common::migrated_small().1
}

#[test]
fn accounts_built_a_few_at_a_time_are_the_accounts_built_at_once() {
    let at_once = migrated();
    for per_part in [1, 3, 5, 14, 1000] {
        let (folder, ru, plan, cut, staging, at) = common::small_load_inputs(per_part);
        let mut parts: Vec<usize> = Vec::new();
        let mut in_parts = Vec::new();
        let mut progress = Heard::default();
        puntos::migrate::load::in_parts(
            &folder,
            ru,
            plan,
            cut,
            staging,
            at,
            &mut progress,
            &mut |part| {
                parts.push(part.len());
                in_parts.extend(part);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(in_parts, at_once, "{per_part} accounts a part");
        let expected = at_once.len().div_ceil(per_part);
        assert_eq!(parts.len(), expected, "{per_part} accounts a part");
        assert!(parts.iter().all(|n| *n <= per_part && *n > 0));
        // Every pass is heard to its end, each file once whatever the parts; the
        // transactions not at all (the cutover sorted their history out).
        for (file, passes) in [
            ("transactions.csv", 0),
            ("customers.csv", 1),
            ("cards.csv", 1),
        ] {
            let heard = progress
                .ended
                .iter()
                .filter(|e| **e == format!("load {file}"));
            assert_eq!(heard.count(), passes, "{file}: {:?}", progress.ended);
        }
    }
}

#[test]
fn a_run_staged_for_the_load_gives_the_accounts_the_cutover_does() {
    let (folder, ru, _, _, _, at) = common::small_load_inputs(usize::MAX);
    let settings = puntos::migrate::run::RunSettings {
        load_parts: Some(usize::MAX),
        ..puntos::migrate::run::RunSettings::default()
    };
    let run = puntos::migrate::run::run(&folder, &settings, &mut |_, _, _| {}).unwrap();
    let staging = run.staging.unwrap();
    let accounts =
        puntos::migrate::load::accounts(&folder, ru, &run.plan, &run.cutover, staging, at).unwrap();
    assert_eq!(accounts, migrated());
    assert!(accounts.iter().any(|a| !a.history.is_empty()));
}

#[test]
fn each_profile_keeps_its_customers_phone_whether_or_not_it_keys_the_account() {
    let accounts = migrated();
    let profile = |name: &str| {
        let account = accounts.iter().find(|a| a.customer.name == name).unwrap();
        (account.id.as_str(), account.customer.phones.clone())
    };
    // A mobile phone keys its holder's account.
    assert_eq!(
        profile("Sergey Volkov"),
        ("+79161234567", vec!["+79161234567".to_string()])
    );
    // A landline keys nothing but stays the customer's; so does a shared phone another keeps.
    let (key, phones) = profile("Elena Morozova");
    assert!(key.starts_with("card:"), "{key}");
    assert_eq!(phones, vec!["+78123456789".to_string()]);
    let (key, phones) = profile("Maria Volkova");
    assert!(key.starts_with("card:"), "{key}");
    assert_eq!(phones, vec!["+79161234567".to_string()]);
    // No phone, no phones.
    assert_eq!(profile("Nina Kuznetsova").1, Vec::<String>::new());
}

/// The passes an observer heard the end of.
#[derive(Default)]
struct Heard {
    ended: Vec<String>,
}

impl puntos::migrate::Observer for Heard {
    fn reject(
        &mut self,
        _: puntos::migrate::export::Reject,
    ) -> Result<(), puntos::migrate::MigrateError> {
        Ok(())
    }

    fn progress(&mut self, file: &str, read: u64, total: u64) {
        if read == total {
            self.ended.push(file.to_string());
        }
    }
}

#[test]
fn each_account_opens_with_its_cards_final_balances() {
    let accounts = migrated();
    let balances: Vec<(&str, Decimal)> = accounts
        .iter()
        .map(|a| (a.id.as_str(), a.balance()))
        .collect();
    assert_eq!(
        balances,
        vec![
            ("+79123456789", dec("140")),
            ("card:C003", dec("0")),
            ("card:C004", dec("100")),
            ("card:C005", dec("20")),
            ("+79161234567", dec("85")),
            ("card:C007", dec("15")),
            ("+79261112233", dec("100")),
            ("card:C010", dec("-5")),
            ("card:C011", dec("0")),
            ("+447911123456", dec("0")),
            ("card:C013", dec("33")),
            ("+79031234567", dec("0")),
            ("card:C015", dec("300")),
            ("card:C016", dec("0")),
        ]
    );
    let total: Decimal = accounts.iter().map(|a| a.balance()).sum();
    assert_eq!(total, dec("788"), "the cutover's final total");
    let master = accounts.iter().find(|a| a.id == "+79261112233").unwrap();
    assert_eq!(master.customer.name, "Dmitry Lebedev");
    assert_eq!(master.aliases, vec!["legacy:P007", "legacy:P008"]);
    let cards: Vec<&str> = master.cards.iter().map(|c| c.number.as_str()).collect();
    assert_eq!(cards, vec!["C008", "C009"]);
    assert_eq!(master.customer.phones, vec!["+79261112233"]);
    let p001 = accounts.iter().find(|a| a.id == "+79123456789").unwrap();
    assert_eq!(
        p001.history
            .iter()
            .map(|(_, amount)| *amount)
            .collect::<Vec<_>>(),
        vec![dec("1500.00"), dec("355.00"), dec("-500.00"), dec("200.00")],
        "T001, T003 (card C002), the refund T004, then the delta's T101"
    );
    assert!(p001.customer.consents["sms"].granted);
}

fn load_twice<S: Store>(store: S) {
    let versions = Versions::new(vec![common::pharmacy().clone()]).unwrap();
    let mut ledger = Ledger::new(store, versions);
    let accounts = migrated();
    let at = DateTime::parse_from_rfc3339("2025-02-05T00:00:00+03:00").unwrap();
    let first = ledger.open_migrated(&accounts, at).unwrap();
    assert_eq!((first.opened, first.unchanged), (14, 0));
    assert_eq!(
        ledger.verify().unwrap(),
        Ok(9),
        "one opening entry per non-zero balance"
    );
    let by_card = ledger.account("C009").unwrap().unwrap();
    assert_eq!(
        (by_card.id.as_str(), by_card.balance()),
        ("+79261112233", dec("100"))
    );
    let by_legacy_id = ledger.account("legacy:P008").unwrap().unwrap();
    assert_eq!(by_legacy_id.id, "+79261112233");

    let second = ledger.open_migrated(&accounts, at).unwrap();
    assert_eq!((second.opened, second.unchanged), (0, 14));
    let journal = ledger
        .store_mut()
        .atomically(|s: &mut dyn Session| s.journal(None, 0, 1000))
        .unwrap();
    assert_eq!(journal.len(), 9, "a second load journals nothing");
    let audit = puntos::ledger::audit(ledger.store_mut()).unwrap();
    assert!(audit.differences.is_empty(), "{:?}", audit.differences);

    // The same id with another state is refused, and the unit writes nothing.
    let mut changed = accounts.clone();
    changed[0].lots[0].remaining = dec("1");
    changed[0].lots[0].points = dec("1");
    assert!(ledger.open_migrated(&changed, at).is_err());
}

#[test]
fn loading_twice_changes_nothing_in_memory() {
    load_twice(MemoryStore::new());
}

#[test]
fn loading_twice_changes_nothing_in_sqlite() {
    let path = std::env::temp_dir().join(format!("puntos-migrate-load-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    load_twice(SqliteStore::open(&path).unwrap());
    let _ = std::fs::remove_file(&path);
}
