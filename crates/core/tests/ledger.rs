//! The ledger over the memory store: lots, pending points, expiry, redemption, refunds,
//! idempotency, the hash chain and the outbox, on the pharmacy program.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use puntos::eval::{from_json, Customer};
use puntos::ledger::{
    AccountState, Applied, EntryKind, Event, Incoming, Ledger, LedgerError, MemoryStore, Session,
    Store,
};
use puntos::Versions;
use rust_decimal::Decimal;
use serde_json::json;

fn ledger() -> Ledger<MemoryStore> {
    let versions = Versions::new(vec![common::pharmacy().clone()]).unwrap();
    let mut ledger = Ledger::new(MemoryStore::new(), versions);
    ledger
        .open_account(AccountState {
            id: "C-1".to_string(),
            customer: Customer {
                id: "C-1".to_string(),
                birth_date: chrono::NaiveDate::from_ymd_opt(1985, 4, 12),
                ..Customer::default()
            },
            aliases: vec!["2770000000017".to_string()],
            ..AccountState::default()
        })
        .unwrap();
    ledger
}

fn incoming(value: serde_json::Value) -> Incoming {
    from_json(&value.to_string()).unwrap()
}

fn purchase(id: &str, time: &str, price: &str) -> Incoming {
    incoming(json!({"account": "2770000000017", "transaction": {
        "id": id, "time": time,
        "lines": [{"sku": "A", "category": "otc", "unit_price": price, "quantity": 2}]
    }}))
}

/// A ledger over the memory store on the program `text`, with account C-1 (card
/// 2770000000017).
fn ledger_on(name: &str, text: &str) -> Ledger<MemoryStore> {
    let program = puntos::compile(&puntos_dsl::SourceFile::new(name, text))
        .program
        .unwrap();
    let mut ledger = Ledger::new(MemoryStore::new(), Versions::new(vec![program]).unwrap());
    ledger
        .open_account(AccountState {
            id: "C-1".to_string(),
            aliases: vec!["2770000000017".to_string()],
            ..AccountState::default()
        })
        .unwrap();
    ledger
}

/// The points a transaction applied for the first time earned.
fn earned(applied: Applied) -> Decimal {
    match applied {
        Applied::New(decision) => decision.points_earned(),
        Applied::Duplicate(_) => panic!("not a new transaction"),
    }
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn journal(ledger: &mut Ledger<MemoryStore>) -> Vec<puntos::ledger::JournalEntry> {
    ledger
        .store_mut()
        .atomically(|s: &mut dyn Session| s.journal(None, 0, 10_000))
        .unwrap()
}

#[test]
fn points_wait_while_pending_then_can_be_spent_and_refunds_take_them_back() {
    let mut ledger = ledger();
    // 2 x 1000 RUB: 200 points, pending 14 days.
    let first = ledger
        .apply(&purchase("T-1", "2026-02-10T12:00:00+03:00", "1000"))
        .unwrap();
    assert_eq!(first.decision().points_earned(), d("200"));
    let account = ledger.account("C-1").unwrap().unwrap();
    assert_eq!((account.available(), account.pending()), (d("0"), d("200")));

    // Too early to spend.
    let early = incoming(json!({"account": "C-1", "transaction": {
        "id": "T-2", "time": "2026-02-20T12:00:00+03:00", "redeem": 150,
        "lines": [{"category": "otc", "unit_price": 1000}]}}));
    assert!(matches!(ledger.apply(&early), Err(LedgerError::Eval(_))));

    // After the 14 days the lot is available; 150 points pay part of a basket.
    let later = incoming(json!({"account": "C-1", "transaction": {
        "id": "T-3", "time": "2026-02-25T12:00:00+03:00", "redeem": 150,
        "lines": [{"category": "otc", "unit_price": 1000}]}}));
    let decision = ledger.apply(&later).unwrap();
    assert_eq!(decision.decision().points_redeemed(), d("150"));
    let account = ledger.account("C-1").unwrap().unwrap();
    assert_eq!(account.available(), d("50"));
    assert_eq!(account.pending(), d("100"));

    // Refunding one unit of T-1 takes back 100 of its points: 50 remain on the lot, which
    // goes to -50 (a debt recorded in the journal).
    let refund = incoming(
        json!({"account": "C-1", "refund_of": "T-1", "transaction": {
        "id": "R-1", "kind": "refund", "time": "2026-02-26T12:00:00+03:00",
        "lines": [{"original_line": 0, "unit_price": 1000, "quantity": 1}]}}),
    );
    let refunded = ledger.apply(&refund).unwrap();
    assert_eq!(refunded.decision().points_earned(), d("-100"));
    let account = ledger.account("C-1").unwrap().unwrap();
    assert_eq!(account.available(), d("-50"));
    let entries = journal(&mut ledger);
    let reversal = entries
        .iter()
        .find(|e| e.kind == EntryKind::Reverse)
        .unwrap();
    assert!(reversal.note.contains("owed"), "{}", reversal.note);
    // The balance is always what the journal says.
    let journal_sum: Decimal = entries.iter().map(|e| e.points).sum();
    assert_eq!(journal_sum, account.balance());
    assert_eq!(ledger.verify().unwrap(), Ok(entries.len() as u64));
}

#[test]
fn the_same_transaction_twice_changes_nothing_and_a_reused_id_is_a_conflict() {
    let mut ledger = ledger();
    let t = purchase("T-1", "2026-02-10T12:00:00+03:00", "1000");
    assert!(matches!(ledger.apply(&t).unwrap(), Applied::New(_)));
    let before = journal(&mut ledger).len();
    assert!(matches!(ledger.apply(&t).unwrap(), Applied::Duplicate(_)));
    assert_eq!(journal(&mut ledger).len(), before);
    let other = purchase("T-1", "2026-02-10T12:00:00+03:00", "999");
    assert_eq!(
        ledger.apply(&other),
        Err(LedgerError::Conflict("T-1".to_string()))
    );
}

#[test]
fn lots_expire_with_an_entry_and_a_notice_first() {
    let mut ledger = ledger();
    ledger
        .apply(&purchase("T-1", "2026-02-10T12:00:00+03:00", "1000"))
        .unwrap();
    // 335 days later: within 30 days of the expiry (365 days): a notice.
    let soon = chrono::DateTime::parse_from_rfc3339("2027-01-11T12:00:00+03:00").unwrap();
    ledger.advance("C-1", soon).unwrap();
    let events = ledger
        .store_mut()
        .atomically(|s: &mut dyn Session| s.pending_events(100))
        .unwrap();
    assert!(events
        .iter()
        .any(|e| matches!(e.event, Event::PointsExpiring { points, .. } if points == d("200"))));
    let gone = chrono::DateTime::parse_from_rfc3339("2027-02-11T12:00:00+03:00").unwrap();
    let account = ledger.advance("C-1", gone).unwrap();
    assert_eq!(account.balance(), d("0"));
    let entries = journal(&mut ledger);
    assert!(entries
        .iter()
        .any(|e| e.kind == EntryKind::Expire && e.points == d("-200")));
}

#[test]
fn unknown_accounts_and_purchases_are_refused_and_nothing_is_recorded() {
    let mut ledger = ledger();
    let stranger = incoming(json!({"account": "nobody", "transaction": {
        "id": "T-9", "time": "2026-02-10T12:00:00+03:00"}}));
    assert_eq!(
        ledger.apply(&stranger),
        Err(LedgerError::UnknownAccount("nobody".to_string()))
    );
    let refund = incoming(
        json!({"account": "C-1", "refund_of": "T-404", "transaction": {
        "id": "R-9", "kind": "refund", "time": "2026-02-10T12:00:00+03:00",
        "lines": [{"original_line": 0, "unit_price": 1}]}}),
    );
    assert_eq!(
        ledger.apply(&refund),
        Err(LedgerError::UnknownOriginal("T-404".to_string()))
    );
    assert!(journal(&mut ledger).is_empty());
}

mod invariants {
    use super::*;
    use proptest::prelude::*;

    /// A step of a generated history.
    #[derive(Debug, Clone)]
    enum Step {
        Buy { price: u32, quantity: u8 },
        Redeem { points: u32 },
        Refund { purchase: usize, quantity: u8 },
        Wait { days: u8 },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => (100u32..5000, 1u8..4).prop_map(|(price, quantity)| Step::Buy { price, quantity }),
            2 => (100u32..600).prop_map(|points| Step::Redeem { points }),
            2 => (0usize..8, 1u8..3).prop_map(|(purchase, quantity)| Step::Refund { purchase, quantity }),
            2 => (1u8..120).prop_map(|days| Step::Wait { days }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever happens, the balance is the sum of lot remainders and equals the sum of the
        /// journal, every lot rebuilt from the journal alone is the stored lot, every refused
        /// step changes nothing, and the chain verifies.
        #[test]
        fn the_journal_explains_the_balance(steps in proptest::collection::vec(step(), 1..30)) {
            let mut ledger = ledger();
            let mut time = chrono::DateTime::parse_from_rfc3339("2026-01-05T12:00:00+03:00").unwrap();
            let mut purchases: Vec<(String, u8)> = Vec::new();
            for (n, step) in steps.iter().enumerate() {
                time += chrono::TimeDelta::hours(5);
                let id = format!("S-{n}");
                let at = time.to_rfc3339();
                let before = journal(&mut ledger).len();
                let incoming = match step {
                    Step::Buy { price, quantity } => incoming(json!({"account": "C-1", "transaction": {
                        "id": id, "time": at,
                        "lines": [{"category": "otc", "unit_price": price, "quantity": quantity}]}})),
                    Step::Redeem { points } => incoming(json!({"account": "C-1", "transaction": {
                        "id": id, "time": at, "redeem": points,
                        "lines": [{"category": "otc", "unit_price": 5000}]}})),
                    Step::Refund { purchase, quantity } => {
                        let Some((original, _)) = purchases.get(*purchase) else { continue };
                        incoming(json!({"account": "C-1", "refund_of": original, "transaction": {
                            "id": id, "kind": "refund", "time": at,
                            "lines": [{"original_line": 0, "unit_price": 1, "quantity": quantity}]}}))
                    }
                    Step::Wait { days } => {
                        time += chrono::TimeDelta::days(i64::from(*days));
                        ledger.advance("C-1", time).unwrap();
                        continue;
                    }
                };
                match ledger.apply(&incoming) {
                    Ok(_) => {
                        if let Step::Buy { quantity, .. } = step {
                            purchases.push((id, *quantity));
                        }
                    }
                    Err(_) => prop_assert_eq!(journal(&mut ledger).len(), before),
                }
                let account = ledger.account("C-1").unwrap().unwrap();
                let lots: Decimal = account.lots.iter().map(|l| l.remaining).sum();
                prop_assert_eq!(account.balance(), lots);
                let entries = journal(&mut ledger);
                let journal_sum: Decimal = entries.iter().map(|e| e.points).sum();
                prop_assert_eq!(journal_sum, account.balance());
                // Rebuilt from the journal alone, every lot holds what the account says.
                let rebuilt = puntos::ledger::replay(&entries).remove("C-1").unwrap_or_default();
                prop_assert_eq!(rebuilt.differences(&account), Vec::<String>::new());
                prop_assert_eq!(rebuilt.balance(), account.balance());
            }
            let checked = ledger.verify().unwrap();
            prop_assert!(checked.is_ok(), "{:?}", checked);
        }
    }
}

#[test]
fn a_signup_opens_the_account_and_issues_the_welcome_coupon() {
    let mut ledger = ledger();
    let signup = incoming(
        json!({"account": "C-2", "customer": {"id": "C-2"}, "transaction": {
        "id": "U-1", "kind": "signup", "time": "2026-03-01T10:00:00+03:00"}}),
    );
    ledger.apply(&signup).unwrap();
    let account = ledger.account("C-2").unwrap().unwrap();
    let coupon = &account.coupons[0];
    assert_eq!(coupon.coupon, "WELCOME10");
    assert!(
        coupon.code.starts_with("W-") && coupon.code.len() == 10,
        "{}",
        coupon.code
    );
    // The code works at the till.
    let purchase = incoming(json!({"account": "C-2", "transaction": {
        "id": "T-1", "time": "2026-03-05T10:00:00+03:00", "coupons": [coupon.code],
        "lines": [{"category": "otc", "unit_price": 1000}]}}));
    let decision = ledger.apply(&purchase).unwrap();
    assert_eq!(decision.decision().discount_total(), d("100.00"));
    // Without a profile, an unknown account is refused.
    let stranger = incoming(json!({"account": "C-3", "transaction": {
        "id": "U-2", "kind": "signup", "time": "2026-03-01T10:00:00+03:00"}}));
    assert!(matches!(
        ledger.apply(&stranger),
        Err(LedgerError::UnknownAccount(_))
    ));
}

#[cfg(feature = "sqlite")]
#[test]
fn erasing_a_customer_leaves_no_personal_value_in_the_database_file() {
    use puntos::ledger::SqliteStore;
    let dir = std::env::temp_dir().join(format!("puntos-erase-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ledger.db");
    let _ = std::fs::remove_file(&path);
    let versions = Versions::new(vec![common::pharmacy().clone()]).unwrap();
    let mut ledger = Ledger::new(SqliteStore::open(&path).unwrap(), versions);
    let signup = incoming(json!({"account": "C-7", "customer": {
        "id": "C-7", "name": "Zinaida Prokofyevna", "phones": ["+79161234567"],
        "email": "zina.prok@example.org", "birth_date": "1951-07-23",
        "attributes": {"card_type": "gold-plastic-zx"},
        "consents": {"sms": {"granted": true, "at": "2026-03-01T10:00:00+03:00"}}
    }, "transaction": {"id": "U-7", "kind": "signup", "time": "2026-03-01T10:00:00+03:00"}}));
    ledger.apply(&signup).unwrap();
    let mut account = ledger.account("C-7").unwrap().unwrap();
    account.aliases.push("2779999999991".to_string());
    ledger
        .store_mut()
        .atomically(|s: &mut dyn Session| s.put_account(&account))
        .unwrap();
    ledger
        .apply(&incoming(
            json!({"account": "2779999999991", "transaction": {
            "id": "T-7", "time": "2026-03-02T10:00:00+03:00",
            "lines": [{"category": "otc", "unit_price": 1000}]}}),
        ))
        .unwrap();

    let erased = ledger.erase("C-7").unwrap();
    assert_eq!(erased.customer.status, "erased");
    assert_eq!(erased.balance(), d("100"));
    assert_eq!(ledger.verify().unwrap(), Ok(1));

    // Read the files while the database is still open: the write-ahead log too.
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let text = String::from_utf8_lossy(&bytes);
    for personal in [
        "Zinaida",
        "Prokofyevna",
        "+79161234567",
        "79161234567",
        "zina.prok@example.org",
        "1951-07-23",
        "gold-plastic-zx",
        "2779999999991",
    ] {
        assert!(
            !text.contains(personal),
            "{personal} is still in the database files"
        );
    }
    drop(ledger);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_batch_applies_in_order_refuses_each_bad_transaction_alone_and_matches_one_by_one() {
    let rows = vec![
        purchase("T-1", "2026-02-10T12:00:00+03:00", "1000"),
        incoming(json!({"account": "nobody", "transaction": {
            "id": "T-2", "time": "2026-02-11T12:00:00+03:00"}})),
        purchase("T-3", "2026-02-12T12:00:00+03:00", "500"),
        purchase("T-1", "2026-02-10T12:00:00+03:00", "1000"),
    ];
    let mut batched = ledger();
    let results = batched.apply_batch(&rows).unwrap();
    assert!(matches!(results[0], Ok(Applied::New(_))));
    assert!(matches!(results[1], Err(LedgerError::UnknownAccount(_))));
    assert!(matches!(results[2], Ok(Applied::New(_))));
    assert!(matches!(results[3], Ok(Applied::Duplicate(_))));
    let mut single = ledger();
    for row in &rows {
        let _ = single.apply(row);
    }
    assert_eq!(
        batched.account("C-1").unwrap(),
        single.account("C-1").unwrap()
    );
    assert_eq!(journal(&mut batched), journal(&mut single));
}

#[test]
fn a_refusal_is_remembered_for_the_same_payload_and_corrected_content_is_decided_afresh() {
    let mut ledger = ledger();
    let greedy = |points: u32| {
        incoming(json!({"account": "C-1", "transaction": {
            "id": "T-9", "time": "2026-03-20T12:00:00+03:00", "redeem": points,
            "lines": [{"category": "otc", "unit_price": 1000}]}}))
    };
    let first = ledger.apply(&greedy(500)).unwrap_err();
    ledger
        .apply(&purchase("T-1", "2026-02-10T12:00:00+03:00", "1000"))
        .unwrap();
    // The account could now pay 200 points, yet the same row is refused as it was.
    let again = ledger.apply(&greedy(500)).unwrap_err();
    assert_eq!(again.to_string(), first.to_string());
    // Corrected content under the refused id is decided.
    let fixed = ledger.apply(&greedy(0)).unwrap();
    assert!(matches!(fixed, Applied::New(_)));
}

#[test]
fn an_account_edited_behind_the_journals_back_is_found_by_the_audit() {
    let mut ledger = ledger();
    ledger
        .apply(&purchase("T-1", "2026-03-02T10:00:00+03:00", "1000"))
        .unwrap();
    let clean = puntos::ledger::audit(ledger.store_mut()).unwrap();
    assert_eq!(clean.accounts, 1);
    assert!(clean.differences.is_empty(), "{:?}", clean.differences);

    // Someone adds points to a lot directly in the store: the chain is intact, the audit is not.
    let mut account = ledger.account("C-1").unwrap().unwrap();
    account.lots[0].remaining += d("500");
    ledger
        .store_mut()
        .atomically(|s: &mut dyn Session| s.put_account(&account))
        .unwrap();
    assert_eq!(
        ledger.verify().unwrap(),
        Ok(journal(&mut ledger).len() as u64)
    );
    let tampered = puntos::ledger::audit(ledger.store_mut()).unwrap();
    assert_eq!(tampered.differences.len(), 1, "{:?}", tampered.differences);
    let (id, what) = &tampered.differences[0];
    assert_eq!(id, "C-1");
    assert!(what.starts_with("lot T-1#0: journal"), "{what}");
}

/// A card refused in a batch after its account changed earlier in the same batch: the
/// account keeps that earlier change (the refusal gives back the state the batch holds).
#[test]
fn a_blocked_card_refused_in_a_batch_keeps_what_the_batch_did_before() {
    use puntos::ledger::{Card, CardStatus};
    let mut ledger = ledger();
    let card = Card {
        number: "2770000000055".to_string(),
        status: CardStatus::Active,
        issued: None,
    };
    ledger.issue_card("C-1", card).unwrap();
    ledger
        .set_card_status("2770000000055", CardStatus::Blocked)
        .unwrap();
    let batch = [
        purchase("T-1", "2026-03-02T10:00:00+03:00", "1000"),
        incoming(json!({"account": "2770000000055", "transaction": {
            "id": "T-2", "time": "2026-03-02T11:00:00+03:00",
            "lines": [{"category": "otc", "unit_price": 1000}]}})),
    ];
    let results = ledger.apply_batch(&batch).unwrap();
    assert!(matches!(results[0], Ok(Applied::New(_))), "{results:?}");
    assert!(
        matches!(results[1], Err(LedgerError::CardNotUsable { .. })),
        "{results:?}"
    );
    let account = ledger.account("C-1").unwrap().unwrap();
    assert_eq!(account.pending(), d("200"), "T-1's points are kept");
}

#[test]
fn a_lost_or_blocked_card_is_refused_while_the_account_stays_reachable() {
    use puntos::ledger::{Card, CardStatus};
    let mut ledger = ledger();
    let card = |number: &str| Card {
        number: number.to_string(),
        status: CardStatus::Active,
        issued: chrono::NaiveDate::from_ymd_opt(2026, 1, 10),
    };
    ledger.issue_card("C-1", card("2770000000055")).unwrap();
    let buy = |id: &str, presented: &str| {
        incoming(json!({"account": presented, "transaction": {
            "id": id, "time": "2026-03-02T10:00:00+03:00",
            "lines": [{"category": "otc", "unit_price": 1000}]}}))
    };
    assert!(matches!(
        ledger.apply(&buy("T-1", "2770000000055")),
        Ok(Applied::New(_))
    ));

    ledger
        .set_card_status("2770000000055", CardStatus::Lost)
        .unwrap();
    let refused = ledger.apply(&buy("T-2", "2770000000055")).unwrap_err();
    assert!(
        matches!(&refused, LedgerError::CardNotUsable { card, status: CardStatus::Lost } if card == "2770000000055"),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("is lost"), "{refused}");
    // The points stay; the account's id and other aliases still work.
    assert!(matches!(
        ledger.apply(&buy("T-3", "C-1")),
        Ok(Applied::New(_))
    ));
    assert!(matches!(
        ledger.apply(&buy("T-4", "2770000000017")),
        Ok(Applied::New(_))
    ));

    ledger
        .set_card_status("2770000000055", CardStatus::Active)
        .unwrap();
    assert!(matches!(
        ledger.apply(&buy("T-5", "2770000000055")),
        Ok(Applied::New(_))
    ));
    let account = ledger.account("2770000000055").unwrap().unwrap();
    assert_eq!(account.cards, [card("2770000000055")]);

    // A number already leading to an account, and a number no card has, are errors.
    assert!(matches!(
        ledger.issue_card("C-1", card("2770000000017")),
        Err(LedgerError::CardTaken { .. })
    ));
    assert!(matches!(
        ledger.set_card_status("2770000009999", CardStatus::Blocked),
        Err(LedgerError::UnknownCard(_))
    ));
}

#[test]
fn advancing_every_account_activates_and_expires_like_advancing_each() {
    let mut all = ledger();
    let mut each = ledger();
    for ledger in [&mut all, &mut each] {
        ledger
            .open_account(AccountState {
                id: "C-2".to_string(),
                ..AccountState::default()
            })
            .unwrap();
        ledger
            .apply(&purchase("T-1", "2026-03-02T10:00:00+03:00", "1000"))
            .unwrap();
        ledger
            .apply(&incoming(json!({"account": "C-2", "transaction": {
                "id": "T-2", "time": "2026-03-05T10:00:00+03:00",
                "lines": [{"category": "otc", "unit_price": 500}]}})))
            .unwrap();
    }
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
    // Past the pending period: both lots become available.
    let first = all.advance_all(at("2026-04-01T00:00:00+03:00")).unwrap();
    assert_eq!((first.accounts, first.activated), (2, 2));
    assert_eq!(first.expired, Decimal::ZERO);
    // Past their lifetime: everything expires, once.
    let second = all.advance_all(at("2027-06-01T00:00:00+03:00")).unwrap();
    let before = first.accounts;
    assert_eq!(second.accounts, before);
    assert!(second.expired > Decimal::ZERO);
    let again = all.advance_all(at("2027-06-01T00:00:00+03:00")).unwrap();
    assert_eq!((again.activated, again.expired), (0, Decimal::ZERO));

    for id in ["C-1", "C-2"] {
        each.advance(id, at("2026-04-01T00:00:00+03:00")).unwrap();
        each.advance(id, at("2027-06-01T00:00:00+03:00")).unwrap();
    }
    let expired_each: Decimal = journal(&mut each)
        .iter()
        .filter(|e| e.kind == EntryKind::Expire)
        .map(|e| -e.points)
        .sum();
    assert_eq!(second.expired, expired_each);
    for id in ["C-1", "C-2"] {
        let a = all.account(id).unwrap().unwrap();
        let b = each.account(id).unwrap().unwrap();
        assert_eq!(a.lots, b.lots, "{id}");
        assert_eq!(a.balance(), Decimal::ZERO, "{id}");
    }
}

#[test]
fn a_store_named_by_id_is_decided_with_what_the_registry_knows_of_it() {
    let mut ledger = ledger_on(
        "regional.pts",
        r#"
program "Regional" { currency RUB  timezone "Europe/Moscow" }
rule moscow { on purchase  when store.region = "Moscow" and store.format = "pharmacy"  earn 10 points }
"#,
    );
    ledger
        .register_shop(&puntos::eval::Store {
            id: "S-1".into(),
            region: "Moscow".into(),
            city: "Moscow".into(),
            format: "pharmacy".into(),
            partner: "".into(),
        })
        .unwrap();
    let at = |id: &str, store: serde_json::Value| {
        incoming(json!({"account": "C-1", "transaction": {
            "id": id, "time": "2026-03-02T10:00:00+03:00", "store": store,
            "lines": [{"unit_price": 100}]}}))
    };
    // The till sends the id only: region and format come from the registry.
    assert_eq!(
        earned(ledger.apply(&at("T-1", json!({"id": "S-1"}))).unwrap()),
        d("10")
    );
    // A store the registry does not know stays as given.
    assert_eq!(
        earned(ledger.apply(&at("T-2", json!({"id": "S-9"}))).unwrap()),
        d("0")
    );
    // What the transaction gives wins over the registry.
    assert_eq!(
        earned(
            ledger
                .apply(&at("T-3", json!({"id": "S-1", "region": "Tver"})))
                .unwrap()
        ),
        d("0")
    );
    assert!(ledger
        .register_shop(&puntos::eval::Store::default())
        .is_err());
}

#[test]
fn days_since_the_last_purchase_are_read_from_the_accounts_history() {
    let text = r#"
program "Winback" {
  currency RUB
  timezone "Europe/Moscow"
}

rule welcome_back {
  on purchase
  when days_since_last_purchase() >= 30
  earn 100 points
}
"#;
    let mut ledger = ledger_on("winback.pts", text);
    // The first purchase has none before it; the second is 10 days later, the third 31.
    for (id, time, points) in [
        ("P-1", "2026-03-01T12:00:00+03:00", "0"),
        ("P-2", "2026-03-11T12:00:00+03:00", "0"),
        ("P-3", "2026-04-11T12:00:00+03:00", "100"),
    ] {
        let applied = ledger.apply(&purchase(id, time, "100.00")).unwrap();
        assert_eq!(earned(applied), d(points), "{id}");
    }
}

#[test]
fn a_late_purchase_counts_in_the_windows_of_its_own_time_not_of_its_arrival() {
    let text = r#"
program "Regulars" {
  currency RUB
  timezone "Europe/Moscow"
}

rule regular {
  on purchase
  when spend(last 30 days) >= 300 RUB
  earn 100 points
}
"#;
    // P-0 arrives after P-1 but happened ten days before it: its window (to 10 March) holds
    // nothing, P-2's (from 23 February) holds both, P-3's (from 13 March) P-1 and P-2 only.
    let purchases = [
        ("P-1", "2026-03-20T12:00:00+03:00", "100.00", "0"),
        ("P-0", "2026-03-10T12:00:00+03:00", "100.00", "0"),
        ("P-2", "2026-03-25T12:00:00+03:00", "10.00", "100"),
        ("P-3", "2026-04-12T12:00:00+03:00", "10.00", "0"),
    ];
    // The stored ledger reads the account back from its store; the direct one keeps it.
    let mut ledger = ledger_on("regulars.pts", text);
    let program = puntos::compile(&puntos_dsl::SourceFile::new("regulars.pts", text));
    let versions = Versions::new(vec![program.program.unwrap()]).unwrap();
    let mut direct = puntos::ledger::DirectLedger::new(&versions);
    let card = vec!["2770000000017".to_string()];
    let account = AccountState {
        id: "C-1".to_string(),
        aliases: card,
        ..AccountState::default()
    };
    let opened = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00+03:00").unwrap();
    direct.open([account], opened).unwrap();
    for (id, time, price, points) in purchases {
        let incoming = purchase(id, time, price);
        assert_eq!(earned(ledger.apply(&incoming).unwrap()), d(points), "{id}");
        assert_eq!(
            earned(direct.apply(&incoming).unwrap()),
            d(points),
            "{id}, direct"
        );
    }
    let history = &direct.accounts().next().unwrap().history;
    assert!(history.windows(2).all(|w| w[0].0 <= w[1].0), "{history:?}");
}
