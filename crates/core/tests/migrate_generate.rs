//! The synthetic legacy export generator against the migration steps: what the generator
//! plants (a purchase counted twice, old points expired without a row, a manual adjustment left
//! out, a rounding, an unexplained gap; duplicate, conflicting and malformed rows; orphan
//! cards; a delta with a few disagreeing cutover balances) is exactly what the steps find.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use puntos::migrate::cutover::cutover;
use puntos::migrate::export::EXPORT_FILES;
use puntos::migrate::generate::{generate, GenerateSettings, Planted};
use puntos::migrate::profile::{profile, ProfileSettings};
use puntos::migrate::reconcile::{reconcile, DifferenceClass, ReconcileSettings};
use puntos::phone::region;
use puntos::Decimal;
use std::path::{Path, PathBuf};

fn export(name: &str, seed: u64) -> (PathBuf, Planted) {
    let dir = std::env::temp_dir().join(format!("puntos-generate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let planted = generate(
        &dir,
        &GenerateSettings {
            customers: 3000,
            transactions_per_card: 8,
            seed,
        },
    )
    .unwrap();
    (dir, planted)
}

fn read(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap()
}

#[test]
fn the_steps_find_what_was_planted() {
    let (dir, planted) = export("find", 7);
    assert!(planted.classes.iter().all(|n| *n > 0), "{planted:?}");
    assert!(
        planted.exact_duplicates > 0 && planted.conflicting_duplicates > 0 && planted.malformed > 0
    );

    let settings = ReconcileSettings {
        expiry_months: Some(12),
        rounding_tolerance: Decimal::ONE,
    };
    let mut rejected = Vec::new();
    let r = reconcile(&dir, &settings, &mut |j| {
        rejected.push(j);
        Ok(())
    })
    .unwrap();
    assert!(r.conserved());
    use DifferenceClass::*;
    let found: Vec<u64> = [
        Match,
        DuplicateTransaction,
        ExpiryNotBooked,
        ManualAdjustment,
        Rounding,
        Unexplained,
    ]
    .iter()
    .map(|c| r.classes.get(c).map_or(0, |t| t.cards))
    .collect();
    assert_eq!(found, planted.classes.to_vec());
    let transactions = &r.files[1];
    assert_eq!(transactions.rows, planted.transaction_rows);
    assert_eq!(transactions.exact_duplicates, planted.exact_duplicates);
    assert_eq!(
        transactions.rejected,
        planted.conflicting_duplicates + planted.malformed
    );

    let p = profile(
        &dir,
        &ProfileSettings {
            region: region("RU").unwrap(),
        },
        &mut |_| Ok(()),
    )
    .unwrap();
    assert_eq!(p.files[0].rows, planted.customers);
    assert_eq!(p.files[1].rows, planted.cards);
    assert_eq!(
        p.orphans.cards_without_customer,
        planted.cards_without_customer
    );
    assert_eq!(
        p.orphans.cards_of_unknown_customer,
        planted.cards_of_unknown_customer
    );
    assert_eq!(p.rejected(), planted.malformed);

    let c = cutover(&dir, &mut |_| Ok(())).unwrap();
    assert!(c.conserved());
    assert_eq!(c.applied.0, planted.delta_rows);
    assert_eq!(c.compared.1, planted.cutover_mismatches);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_same_seed_writes_the_same_files() {
    let (a, planted_a) = export("same-a", 11);
    let (b, planted_b) = export("same-b", 11);
    assert_eq!(planted_a, planted_b);
    for file in EXPORT_FILES {
        assert!(read(&a, file) == read(&b, file), "{file} differs");
    }
    let (c, _) = export("same-c", 12);
    assert!(read(&a, "transactions.csv") != read(&c, "transactions.csv"));
    for dir in [a, b, c] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn a_sample_keeps_the_same_customers_with_all_their_cards_and_rows() {
    use puntos::migrate::run::{run, RunSettings};
    use puntos::migrate::sample::{write_sample, Share};
    let (dir, _) = export("sample", 3);
    let share = Share::parse("10%").unwrap();
    let first = dir.with_extension("sample1");
    let second = dir.with_extension("sample2");
    let counts = write_sample(&dir, &first, share).unwrap();
    write_sample(&dir, &second, share).unwrap();
    for file in EXPORT_FILES {
        assert!(
            read(&first, file) == read(&second, file),
            "{file} differs between runs"
        );
    }
    let (_, read_customers, kept_customers) = counts.files[0].clone();
    assert_eq!(read_customers, 3000);
    assert!(
        (200..400).contains(&kept_customers),
        "{kept_customers} of 3,000 at 10%"
    );

    // Every kept card belongs to a kept customer (or to none known), and every kept
    // transaction to a kept card; every transaction of a kept card was kept.
    let text = |dir: &Path, file: &str| String::from_utf8(read(dir, file)).unwrap();
    let kept_customers: std::collections::HashSet<String> = text(&first, "customers.csv")
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    let kept_cards: std::collections::HashSet<String> = text(&first, "cards.csv")
        .lines()
        .skip(1)
        .map(|l| {
            let mut f = l.split(',');
            let card = f.next().unwrap().to_string();
            let owner = f.next().unwrap();
            assert!(
                owner.is_empty() || owner.starts_with('X') || kept_customers.contains(owner),
                "{l}"
            );
            card
        })
        .collect();
    let card_of = |l: &str| l.split(',').nth(1).unwrap().to_string();
    let all: Vec<String> = text(&dir, "transactions.csv")
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect();
    let kept: Vec<String> = text(&first, "transactions.csv")
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect();
    let expected: Vec<String> = all
        .into_iter()
        .filter(|l| kept_cards.contains(&card_of(l)))
        .collect();
    assert_eq!(kept, expected);

    let settings = RunSettings::from_toml("expiry_months = 12\n").unwrap();
    let summary = run(&first, &settings, &mut |_, _, _| {}).unwrap().summary;
    assert!(summary.invariants.iter().all(|c| c.holds));
    for d in [dir, first, second] {
        let _ = std::fs::remove_dir_all(d);
    }
}
