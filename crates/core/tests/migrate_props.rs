//! Properties of the migration steps over generated legacy exports: every row is accounted for
//! exactly once (kept, merged as an exact duplicate, or rejected on its own line), points are
//! conserved, every customer and card is placed once, and a recomputed balance is the sum of
//! its card's history.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use proptest::prelude::*;
use puntos::migrate::export::Reject;
use puntos::migrate::identity::{plan, Party, PhonePolicy, PlanSettings};
use puntos::migrate::reconcile::{reconcile, ReconcileSettings};
use puntos::phone::region;
use puntos::Decimal;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

const AS_OF: &str = "2025-01-31T23:59:59+03:00";
const PHONES: [&str; 6] = [
    "+79160000001",
    "89160000001",
    "",
    "n/a",
    "12345",
    "+79160000002",
];
const NAMES: [&str; 3] = ["Ann Lee", "Bob Roe", "ann  LEE"];
const KINDS: [&str; 5] = ["purchase", "refund", "redemption", "adjustment", "expiry"];
const DATES: [&str; 4] = [
    "2023-03-01T10:00:00+03:00",
    "2024-06-01T10:00:00+03:00",
    "2025-01-15T10:00:00+03:00",
    "2025-02-15T10:00:00+03:00",
];

/// How a generated row is written.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// As generated.
    Fresh,
    /// A copy of the previous row of the file.
    Repeat,
    /// The previous row's key with other fields.
    Conflict,
    /// A row with a field that cannot be read.
    Broken,
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        6 => Just(Shape::Fresh),
        1 => Just(Shape::Repeat),
        1 => Just(Shape::Conflict),
        1 => Just(Shape::Broken),
    ]
}

/// What a file should show: rows, exact duplicates, and the lines of rejected rows.
type Counts = (u64, u64, Vec<u64>);

/// A generated export: the files' text and what each row is.
#[derive(Debug)]
struct Export {
    files: HashMap<&'static str, String>,
    /// Per file: rows, exact duplicates, rejected lines.
    expected: HashMap<&'static str, Counts>,
    /// Net points of each card's first-occurrence history up to the snapshot.
    history: HashMap<String, Decimal>,
    /// Legacy balance per card (first occurrences).
    balances: HashMap<String, Decimal>,
}

/// Writes `rows` (each a key and its other fields) under `header`, shaped; returns the text and
/// the kept rows' fields, with the counts the file should show.
fn render(
    header: &str,
    rows: &[(String, Vec<String>, Shape)],
    cards: Option<(&HashSet<String>, usize)>,
) -> (String, Vec<Vec<String>>, Counts) {
    let mut text = format!("{header}\n");
    let mut kept: Vec<Vec<String>> = Vec::new();
    let mut seen: HashMap<String, Vec<String>> = HashMap::new();
    let (mut count, mut exact, mut rejected) = (0u64, 0u64, Vec::new());
    let mut previous: Option<Vec<String>> = None;
    for (key, fields, shape) in rows {
        let mut row: Vec<String> = std::iter::once(key.clone()).chain(fields.clone()).collect();
        let mut broken = false;
        match (shape, &previous) {
            (Shape::Repeat, Some(p)) => row = p.clone(),
            (Shape::Conflict, Some(p)) => {
                row = p.clone();
                let last = row.len() - 1;
                row[last] = format!("{}x", row[last]);
            }
            (Shape::Broken, _) => {
                row.pop();
                broken = true;
            }
            _ => {}
        }
        count += 1;
        let line = count + 1;
        text.push_str(&row.join(","));
        text.push('\n');
        if broken {
            rejected.push(line);
            continue;
        }
        // A balance or transaction of a card cards.csv does not have is rejected.
        if cards.is_some_and(|(known, at)| !known.contains(&row[at])) {
            rejected.push(line);
            previous = Some(row);
            continue;
        }
        match seen.get(&row[0]) {
            Some(first) if *first == row => exact += 1,
            Some(_) => rejected.push(line),
            None => {
                seen.insert(row[0].clone(), row.clone());
                kept.push(row.clone());
            }
        }
        previous = Some(row);
    }
    (text, kept, (count, exact, rejected))
}

fn export() -> impl Strategy<Value = Export> {
    let customers = prop::collection::vec((0..6usize, 0..3usize, 0..2u32, shape()), 0..6);
    let cards = prop::collection::vec((0..8usize, shape()), 0..8);
    let balances = prop::collection::vec((0..9usize, -50i64..500, shape()), 0..8);
    let txs = prop::collection::vec(
        (
            0..9usize,
            0..5usize,
            0..4usize,
            0i64..300,
            0i64..100,
            shape(),
        ),
        0..25,
    );
    (customers, cards, balances, txs).prop_map(|(customers, cards, balances, txs)| {
        let mut files = HashMap::new();
        let mut expected = HashMap::new();
        let customer_rows: Vec<(String, Vec<String>, Shape)> = customers
            .iter()
            .enumerate()
            .map(|(i, (phone, name, birth, shape))| {
                (
                    format!("P{i}"),
                    vec![
                        NAMES[*name].to_string(),
                        format!("198{birth}-01-01"),
                        PHONES[*phone].to_string(),
                        String::new(),
                        "1".to_string(),
                        "0".to_string(),
                        format!("201{i}-01-01T00:00:00+03:00"),
                        "active".to_string(),
                    ],
                    *shape,
                )
            })
            .collect();
        let (text, _, counts) = render(
            "customer_id,full_name,birth_date,phone,email,sms_opt_in,email_opt_in,created_at,status",
            &customer_rows,
            None,
        );
        files.insert("customers.csv", text);
        expected.insert("customers.csv", counts);
        let card_rows: Vec<(String, Vec<String>, Shape)> = cards
            .iter()
            .enumerate()
            .map(|(i, (owner, shape))| {
                (
                    format!("C{i}"),
                    vec![format!("P{owner}"), "active".to_string(), String::new()],
                    *shape,
                )
            })
            .collect();
        let (text, kept_cards, counts) =
            render("card_no,customer_id,status,issued_at", &card_rows, None);
        let known: HashSet<String> = kept_cards.iter().map(|r| r[0].clone()).collect();
        files.insert("cards.csv", text);
        expected.insert("cards.csv", counts);
        let balance_rows: Vec<(String, Vec<String>, Shape)> = balances
            .iter()
            .map(|(card, points, shape)| {
                (
                    format!("C{card}"),
                    vec![Decimal::new(*points, 1).to_string(), AS_OF.to_string()],
                    *shape,
                )
            })
            .collect();
        // The conflicting copy changes `as_of`'s text, which must stay a timestamp: conflict
        // on the balance instead by putting it last.
        let balance_rows: Vec<(String, Vec<String>, Shape)> = balance_rows
            .into_iter()
            .map(|(k, f, s)| (k, vec![f[1].clone(), f[0].clone()], s))
            .collect();
        let (text, kept, counts) = render("card_no,as_of,balance", &balance_rows, Some((&known, 0)));
        files.insert("balances.csv", text);
        expected.insert("balances.csv", counts);
        let balances: HashMap<String, Decimal> = kept
            .iter()
            .map(|r| (r[0].clone(), r[2].trim_end_matches('x').parse().unwrap()))
            .collect();
        let tx_rows: Vec<(String, Vec<String>, Shape)> = txs
            .iter()
            .enumerate()
            .map(|(i, (card, kind, date, earned, redeemed, shape))| {
                let earned = if KINDS[*kind] == "adjustment" { earned - 150 } else { *earned };
                (
                    format!("T{i}"),
                    vec![
                        format!("C{card}"),
                        DATES[*date].to_string(),
                        "S1".to_string(),
                        KINDS[*kind].to_string(),
                        String::new(),
                        Decimal::new(earned, 1).to_string(),
                        String::new(),
                        Decimal::new(*redeemed, 1).to_string(),
                    ],
                    *shape,
                )
            })
            .collect();
        // Columns reordered so the last (changed by a conflict) is points_redeemed, a number.
        let (text, kept, counts) = render(
            "tx_id,card_no,occurred_at,store_id,kind,amount,points_earned,original_tx_id,points_redeemed",
            &tx_rows,
            Some((&known, 1)),
        );
        files.insert("transactions.csv", text);
        expected.insert("transactions.csv", counts);
        let mut history: HashMap<String, Decimal> = HashMap::new();
        for r in &kept {
            // Rows after the snapshot are left to the cutover; with no balance row there is no
            // snapshot, and all rows count.
            if !balances.is_empty() && r[2].as_str() > "2025-02" {
                continue;
            }
            let earned: Decimal = r[6].parse().unwrap();
            let redeemed: Decimal = r[8].parse().unwrap();
            *history.entry(r[1].clone()).or_default() += earned - redeemed;
        }
        Export {
            files,
            expected,
            history,
            balances,
        }
    })
}

fn write(export: &Export, dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in &export.files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

fn scratch() -> PathBuf {
    std::env::temp_dir().join(format!("puntos-migrate-props-{}", std::process::id()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_row_once_and_points_conserved(export in export()) {
        let dir = scratch();
        write(&export, &dir);
        let mut rejects: Vec<Reject> = Vec::new();
        let settings = ReconcileSettings { expiry_months: Some(12), rounding_tolerance: Decimal::ONE };
        let result = reconcile(&dir, &settings, &mut |r| { rejects.push(r); Ok(()) }).unwrap();
        prop_assert!(result.conserved());
        for f in &result.files {
            let (rows, exact, rejected) = &export.expected[f.file.as_str()];
            prop_assert_eq!((f.rows, f.exact_duplicates, f.rejected), (*rows, *exact, rejected.len() as u64), "{}", f.file);
            let lines: Vec<u64> = rejects.iter().filter(|r| r.file == f.file).map(|r| r.line).collect();
            prop_assert_eq!(&lines, rejected, "{}", f.file);
        }
        // Every kept balance row and every card with history has one reconciled row, whose
        // recomputed balance is the sum of its history.
        let reconciled: HashMap<&str, (Decimal, Decimal)> = result
            .cards
            .iter()
            .map(|c| (&*c.card_no, (c.legacy, c.recomputed)))
            .collect();
        prop_assert_eq!(reconciled.len(), result.cards.len());
        for (card, balance) in &export.balances {
            prop_assert_eq!(reconciled.get(card.as_str()).map(|r| r.0), Some(*balance));
        }
        for (card, net) in &export.history {
            prop_assert_eq!(reconciled.get(card.as_str()).map(|r| r.1), Some(*net), "{}", card);
        }
    }

    #[test]
    fn every_customer_and_card_is_placed_once(export in export(), most_cards in any::<bool>()) {
        let dir = scratch().with_extension("plan");
        write(&export, &dir);
        let settings = PlanSettings {
            region: region("RU").unwrap(),
            phone_policy: if most_cards { PhonePolicy::MostCards } else { PhonePolicy::EarliestRegistered },
        };
        let mut rejects: Vec<Reject> = Vec::new();
        let result = plan(&dir, &settings, &mut |r| { rejects.push(r); Ok(()) }).unwrap();
        for (f, party) in result.files.iter().zip([Party::Customer, Party::Card]) {
            let (rows, exact, rejected) = &export.expected[f.file.as_str()];
            let placed = result.rows.iter().filter(|r| r.party == party).count() as u64;
            prop_assert_eq!(placed + exact + rejected.len() as u64, *rows, "{}", f.file);
        }
        let mut ids = HashSet::new();
        let accounts: HashMap<&str, &str> = result
            .rows
            .iter()
            .filter(|r| r.party == Party::Customer)
            .map(|r| (&*r.legacy_id, &*r.account))
            .collect();
        for r in &result.rows {
            prop_assert!(ids.insert((r.party, r.legacy_id.clone())), "{} placed twice", r.legacy_id);
            prop_assert!(!r.account.is_empty());
        }
        // A card lands in its owner's account, or keys its own.
        let text = &export.files["cards.csv"];
        for r in result.rows.iter().filter(|r| r.party == Party::Card) {
            let owner = text
                .lines()
                .find(|l| l.starts_with(&format!("{},", r.legacy_id)))
                .and_then(|l| l.split(',').nth(1))
                .unwrap_or_default();
            match accounts.get(owner) {
                Some(account) => prop_assert_eq!(&*r.account, *account),
                None => prop_assert_eq!(r.account.to_string(), format!("card:{}", r.legacy_id)),
            }
        }
    }
}
