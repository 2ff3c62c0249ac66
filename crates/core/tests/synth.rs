//! The synthetic population: deterministic from its seed, well formed, and accepted by the
//! ledger on the pharmacy program.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use chrono::{Datelike, NaiveDate, Weekday};
use puntos::eval::EvalError;
use puntos::ledger::{EntryKind, Ledger, LedgerError, MemoryStore, Session, Store};
use puntos::synth::{generate, Population, Settings};
use puntos::Versions;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

const MOSCOW: chrono_tz::Tz = chrono_tz::Europe::Moscow;

fn settings(customers: usize, months: u32, seed: u64) -> Settings {
    Settings {
        customers,
        start: NaiveDate::from_ymd_opt(2026, 2, 1).unwrap(),
        months,
        seed,
        ..Settings::default()
    }
}

fn population(settings: &Settings) -> Population {
    generate(settings, "RUB", MOSCOW)
}

#[test]
fn the_same_seed_gives_the_same_population_and_another_seed_another() {
    let a = population(&settings(60, 4, 7));
    let b = population(&settings(60, 4, 7));
    assert_eq!(a, b);
    assert_eq!(
        serde_json::to_string(&a.transactions).unwrap(),
        serde_json::to_string(&b.transactions).unwrap()
    );
    let c = population(&settings(60, 4, 8));
    assert_ne!(a.transactions, c.transactions);
    // One random stream per customer: more customers keep the first ones as they were.
    let more = population(&settings(80, 4, 7));
    assert_eq!(more.customers[..60], a.customers[..]);
}

#[test]
fn ids_are_unique_times_ordered_and_every_account_opens_with_a_signup() {
    let s = settings(150, 4, 42);
    let p = population(&s);
    assert_eq!(p.customers.len(), 150);
    assert_eq!(p.customers[0].id, "C-000001");
    let ids: BTreeSet<&str> = p.transactions.iter().map(|t| &*t.transaction.id).collect();
    assert_eq!(
        ids.len(),
        p.transactions.len(),
        "transaction ids are unique"
    );
    for pair in p.transactions.windows(2) {
        assert!(pair[0].transaction.time <= pair[1].transaction.time);
    }
    let end = s.end_instant(MOSCOW);
    let mut opened = BTreeSet::new();
    for t in &p.transactions {
        let tx = &t.transaction;
        assert_eq!(tx.time.offset().local_minus_utc(), 3 * 3600, "{}", tx.time);
        assert!(tx.time >= s.start.and_hms_opt(0, 0, 0).unwrap().and_utc() && tx.time < end);
        assert_eq!(tx.currency.as_deref(), Some("RUB"));
        if &*tx.kind == "signup" {
            let customer = t.customer.as_ref().expect("a signup carries the profile");
            assert_eq!(customer.id, t.account);
            assert!(opened.insert(t.account.clone()), "one signup per account");
            assert_eq!(customer.enrolled_at, Some(tx.time.date_naive()));
        } else {
            assert!(opened.contains(&t.account), "{} before its signup", tx.id);
            assert!(t.customer.is_none());
        }
    }
    assert_eq!(opened.len(), 150);
    let profiles: Vec<_> = p
        .transactions
        .iter()
        .filter_map(|t| t.customer.clone())
        .collect();
    let mut sorted = profiles.clone();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(sorted, p.customers);
}

#[test]
fn refunds_name_an_earlier_purchase_of_the_same_account_and_return_no_more_than_bought() {
    let p = population(&settings(300, 4, 3));
    let mut purchases = BTreeMap::new();
    let mut returned: BTreeMap<(String, usize), Decimal> = BTreeMap::new();
    let mut refunds = 0;
    for t in &p.transactions {
        let tx = &t.transaction;
        match &*tx.kind {
            "purchase" => {
                assert!(t.refund_of.is_none());
                assert!((1..=6).contains(&tx.lines.len()), "{}", tx.id);
                purchases.insert(tx.id.clone(), t.clone());
            }
            "refund" => {
                refunds += 1;
                let of = t.refund_of.as_ref().expect("a refund names its purchase");
                let original = purchases.get(of.as_str()).expect("the purchase came first");
                assert_eq!(original.account, t.account);
                assert!(original.transaction.time < tx.time);
                assert!(!tx.lines.is_empty());
                for line in &tx.lines {
                    let index = line.original_line.expect("refund lines name their line");
                    let bought = &original.transaction.lines[index];
                    assert_eq!(
                        (&bought.sku, bought.unit_price),
                        (&line.sku, line.unit_price)
                    );
                    let total = returned.entry((of.clone(), index)).or_default();
                    *total += line.quantity;
                    assert!(line.quantity > Decimal::ZERO && *total <= bought.quantity);
                }
            }
            "signup" | "referral" => assert!(tx.lines.is_empty() && t.refund_of.is_none()),
            other => panic!("unexpected kind {other}"),
        }
    }
    assert!(refunds > 10, "{refunds} refunds");
}

#[test]
fn amounts_are_exact_decimals_from_kopecks_never_floats() {
    let p = population(&settings(100, 4, 42));
    let mut redemptions = 0;
    for t in &p.transactions {
        let tx = &t.transaction;
        for line in &tx.lines {
            assert_eq!(line.unit_price.scale(), 2, "{}", line.unit_price);
            assert!(line.unit_price > Decimal::ZERO);
            assert_eq!(line.quantity.fract(), Decimal::ZERO);
            assert!(line.amount.is_none());
        }
        if let Some(points) = tx.redeem {
            redemptions += 1;
            assert!(points >= Decimal::ONE && points.fract().is_zero());
            let total: Decimal = tx.lines.iter().map(|l| l.unit_price * l.quantity).sum();
            assert!(points <= total * Decimal::new(20, 2), "{}", tx.id);
        }
    }
    assert!(redemptions > 5, "{redemptions} redemptions");
    // Serialized, every number is plain decimal text: no exponent, no binary-float noise.
    let json = serde_json::to_value(&p.transactions).unwrap();
    let mut numbers = Vec::new();
    collect_numbers(&json, &mut numbers);
    assert!(!numbers.is_empty());
    for n in numbers {
        assert!(
            n.chars().all(|c| c.is_ascii_digit() || c == '.')
                && n.split('.').nth(1).is_none_or(|f| f.len() <= 2),
            "{n}"
        );
    }
}

fn collect_numbers(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Number(n) => out.push(n.to_string()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_numbers(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| collect_numbers(v, out)),
        _ => {}
    }
}

#[test]
fn the_population_looks_like_a_pharmacys_customers() {
    let p = population(&settings(200, 4, 42));
    let seniors = p
        .customers
        .iter()
        .filter(|c| c.birth_date.unwrap() <= NaiveDate::from_ymd_opt(1966, 2, 1).unwrap())
        .count();
    assert!((40..=120).contains(&seniors), "{seniors} seniors");
    let years: BTreeSet<i32> = p
        .customers
        .iter()
        .map(|c| c.birth_date.unwrap().year())
        .collect();
    assert!(*years.first().unwrap() >= 1940 && *years.last().unwrap() <= 2006);
    let cards = p
        .customers
        .iter()
        .filter(|c| c.attributes.contains_key("card_type"))
        .count();
    assert!(cards > 50 && cards < 200, "{cards} with a card type");
    let lines = || p.transactions.iter().flat_map(|t| &t.transaction.lines);
    let categories: BTreeSet<&str> = lines().map(|l| &*l.category).collect();
    for c in puntos::synth::CATEGORIES {
        assert!(categories.contains(c), "no {c}");
    }
    assert!(lines().any(|l| &*l.brand == "La Roche-Posay"));
    let kinds = |k: &str| {
        p.transactions
            .iter()
            .filter(|t| &*t.transaction.kind == k)
            .count()
    };
    assert_eq!(kinds("signup"), 200);
    assert!(kinds("purchase") > 1000 && kinds("referral") > 5 && kinds("refund") > 10);
    let weekend = p
        .transactions
        .iter()
        .filter(|t| matches!(t.transaction.time.weekday(), Weekday::Sat | Weekday::Sun))
        .count();
    assert!(weekend > p.transactions.len() / 5, "{weekend} on weekends");
}

#[test]
fn the_ledger_applies_or_refuses_every_transaction_and_the_books_balance() {
    let s = settings(60, 4, 42);
    let p = population(&s);
    let versions = Versions::new(vec![common::pharmacy().clone()]).unwrap();
    let mut ledger = Ledger::new(MemoryStore::new(), versions);
    let (mut applied, mut refused) = (0, 0);
    for incoming in &p.transactions {
        match ledger.apply(incoming) {
            Ok(_) => applied += 1,
            // Only impatient customers' redemptions may be refused, on the redemption itself.
            Err(LedgerError::Eval(EvalError::Input { field, message })) => {
                assert_eq!(field, "transaction.redeem", "{message}");
                assert!(incoming.transaction.redeem.is_some());
                refused += 1;
            }
            Err(other) => panic!("{}: {other}", incoming.transaction.id),
        }
    }
    assert_eq!(applied + refused, p.transactions.len());
    assert!(
        refused * 20 < applied,
        "{refused} refused of {}",
        p.transactions.len()
    );

    let end = s.end_instant(MOSCOW);
    let entries = ledger
        .store_mut()
        .atomically(|s: &mut dyn Session| s.journal(None, 0, 1_000_000))
        .unwrap();
    let mut by_account: BTreeMap<&str, Decimal> = BTreeMap::new();
    for e in &entries {
        *by_account.entry(&e.account).or_default() += e.points;
    }
    assert!(entries.iter().any(|e| e.kind == EntryKind::Redeem));
    assert!(entries.iter().any(|e| e.kind == EntryKind::Reverse));
    let mut accounts = Vec::new();
    for customer in &p.customers {
        accounts.push(ledger.advance(&customer.id, end).unwrap());
    }
    let after = ledger
        .store_mut()
        .atomically(|s: &mut dyn Session| s.journal(None, 0, 1_000_000))
        .unwrap();
    assert_eq!(ledger.verify().unwrap(), Ok(after.len() as u64));
    for account in &accounts {
        let lots: Decimal = account.lots.iter().map(|l| l.remaining).sum();
        assert_eq!(account.balance(), lots);
        assert_eq!(account.balance(), account.available() + account.pending());
        let journal: Decimal = after
            .iter()
            .filter(|e| e.account == account.id)
            .map(|e| e.points)
            .sum();
        assert_eq!(journal, account.balance(), "{}", account.id);
    }
    // Before advancing, each account's journal already added up to its lots at that time.
    assert!(by_account.len() > p.customers.len() / 2);
}

#[test]
fn the_mix_scales_visits_prices_and_categories_and_turns_seasons_off() {
    use puntos::synth::{Mix, CATEGORIES};
    let base = settings(300, 4, 11);
    let with = |mix: Mix| population(&Settings { mix, ..base });
    let purchases = |p: &Population| {
        p.transactions
            .iter()
            .filter(|t| &*t.transaction.kind == "purchase")
            .count()
    };
    let usual = population(&base);
    assert_eq!(with(Mix::default()), usual);
    let busier = with(Mix {
        visits_percent: 200,
        ..Mix::default()
    });
    // Twice the purchase days (the purchase right after signing up is not scaled).
    let ratio = purchases(&busier) * 100 / purchases(&usual);
    assert!((170..=210).contains(&ratio), "{ratio}");
    // Dearer: every price doubled.
    let dearer = with(Mix {
        prices_percent: 200,
        ..Mix::default()
    });
    let first_line = |p: &Population| {
        p.transactions
            .iter()
            .find_map(|t| t.transaction.lines.first().cloned())
            .unwrap()
    };
    assert_eq!(
        first_line(&dearer).unit_price,
        first_line(&usual).unit_price * Decimal::from(2)
    );
    // No tobacco at all.
    let mut categories = [100; 8];
    let tobacco = CATEGORIES.iter().position(|c| *c == "tobacco").unwrap();
    categories[tobacco] = 0;
    let smoke_free = with(Mix {
        categories,
        ..Mix::default()
    });
    let lines_of = |p: &Population, category: &str| {
        p.transactions
            .iter()
            .flat_map(|t| &t.transaction.lines)
            .filter(|l| &*l.category == category)
            .count()
    };
    assert!(lines_of(&usual, "tobacco") > 0);
    assert_eq!(lines_of(&smoke_free, "tobacco"), 0);
    // Without seasons, March sells no more vitamins than February (per line bought).
    let march_share = |p: &Population| {
        let in_month = |month: u32| {
            p.transactions
                .iter()
                .filter(move |t| t.transaction.time.month() == month)
                .flat_map(|t| &t.transaction.lines)
        };
        let vitamins = in_month(3).filter(|l| &*l.category == "vitamins").count();
        vitamins * 1000 / in_month(3).count().max(1)
    };
    let flat = with(Mix {
        seasonal: false,
        ..Mix::default()
    });
    assert!(march_share(&flat) < march_share(&usual));
}

#[test]
fn a_slice_of_the_population_holds_its_customers_exactly_as_the_whole_does() {
    let whole = population(&settings(50, 3, 5));
    let slice = puntos::synth::generate_slice(&settings(50, 3, 5), 20..35, "RUB", MOSCOW);
    assert_eq!(slice.customers, whole.customers[20..35]);
    // The same transactions, but for their ids (numbered within the slice).
    let strip = |p: &Population, keep: &dyn Fn(&str) -> bool| {
        p.transactions
            .iter()
            .filter(|t| keep(&t.account))
            .map(|t| {
                let mut t = t.clone();
                t.transaction.id = "".into();
                t.refund_of = t.refund_of.as_ref().map(|_| String::new());
                t
            })
            .collect::<Vec<_>>()
    };
    let in_slice = |account: &str| slice.customers.iter().any(|c| c.id == account);
    assert_eq!(strip(&slice, &|_| true), strip(&whole, &in_slice));
}
