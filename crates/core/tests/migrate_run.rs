//! `migrate run` on the hand-made legacy export `tests/legacy/small`: every invariant holds,
//! and the quality gates pass or fail by the figures counted by hand in the other migrate
//! tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::legacy_small as folder;
use puntos::migrate::run::{run, RunSettings};

#[test]
fn every_invariant_holds_on_the_fixture() {
    let settings = RunSettings::from_toml("expiry_months = 12\n").unwrap();
    let result = run(&folder(), &settings, &mut |_, _, _| {}).unwrap();
    for check in &result.summary.invariants {
        assert!(check.holds, "{}: {}", check.name, check.detail);
    }
    assert_eq!(result.summary.invariants.len(), 8);
    assert!(result.summary.gates.is_empty());
    assert!(result.summary.passed());
    // Each rejected row once, though several steps read its file: 5 customers, 3 cards,
    // 4 balances, 5 transactions (C999's rows: not in cards.csv), 1 delta row.
    assert_eq!(result.rejects.len(), 18);
    let lines: Vec<(&str, u64)> = result
        .rejects
        .iter()
        .map(|r| (r.file.as_str(), r.line))
        .collect();
    let mut sorted = lines.clone();
    sorted.dedup();
    assert_eq!(lines, sorted);
}

#[test]
fn a_run_staged_for_a_load_finds_what_one_without_finds_and_places_every_card() {
    let plain = RunSettings::from_toml("expiry_months = 12\n").unwrap();
    let staged = RunSettings {
        load_parts: Some(2),
        ..plain.clone()
    };
    let without = run(&folder(), &plain, &mut |_, _, _| {}).unwrap();
    let with = run(&folder(), &staged, &mut |_, _, _| {}).unwrap();
    assert!(without.staging.is_none());
    assert_eq!(with.summary, without.summary);
    assert_eq!(with.rejects, without.rejects);
    assert_eq!(with.reconciliation, without.reconciliation);
    assert_eq!(with.cutover, without.cutover);
    // The staging knows each card's account as the plan says it.
    let placement = with.staging.as_ref().unwrap().placement();
    let cards = with
        .plan
        .rows
        .iter()
        .filter(|r| r.party == puntos::migrate::identity::Party::Card);
    for row in cards {
        assert_eq!(placement.account_of(&row.legacy_id), Some(&row.account));
    }
    assert_eq!(placement.len() as u64, with.plan.accounts);
    assert_eq!(placement.account_of("C999"), None);
}

#[test]
fn a_missing_file_is_the_error_whichever_half_of_the_run_reads_it() {
    for (missing, staged) in [
        ("customers.csv", Some(2)),
        ("customers.csv", None),
        ("transactions.csv", Some(2)),
        ("transactions.csv", None),
    ] {
        let dir = std::env::temp_dir().join(format!(
            "puntos-run-missing-{}-{}-{}",
            missing,
            staged.is_some(),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("delta")).unwrap();
        for entry in std::fs::read_dir(folder()).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if path.is_file() && name != missing {
                std::fs::copy(&path, dir.join(&name)).unwrap();
            }
        }
        for entry in std::fs::read_dir(folder().join("delta")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.join("delta").join(path.file_name().unwrap())).unwrap();
        }
        let settings = RunSettings {
            load_parts: staged,
            ..RunSettings::default()
        };
        let error = run(&dir, &settings, &mut |_, _, _| {})
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(missing),
            "{missing}, staged {staged:?}: {error}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Name, verdict and figures of each check.
fn checks(list: &[puntos::migrate::run::Check]) -> Vec<(&str, bool, &str)> {
    list.iter()
        .map(|g| (g.name.as_str(), g.holds, g.detail.as_str()))
        .collect()
}

#[test]
fn gates_pass_or_fail_on_the_figures() {
    let passing = RunSettings::from_toml(
        "expiry_months = 12\n[gates]\nmax_invalid_phones_percent = 20\nmax_unexplained_points = 27\n",
    )
    .unwrap();
    let summary = run(&folder(), &passing, &mut |_, _, _| {}).unwrap().summary;
    let gates = checks(&summary.gates);
    assert_eq!(
        gates,
        vec![
            (
                "invalid phones",
                true,
                "15.38% (2 of 13 customers), at most 20%"
            ),
            ("unexplained points", true, "17, at most 27"),
        ]
    );
    assert!(summary.passed());

    let failing = RunSettings::from_toml(
        "[gates]\nmax_conflicting_duplicates = 0\nmax_rejected_rows_percent = 5.5\n",
    )
    .unwrap();
    let summary = run(&folder(), &failing, &mut |_, _, _| {}).unwrap().summary;
    let gates = checks(&summary.gates);
    assert_eq!(
        gates,
        vec![
            ("conflicting duplicate keys", false, "5, at most 0"),
            ("rejected rows", false, "20% (18 of 90 rows), at most 5.5%"),
        ]
    );
    assert!(!summary.passed());
}

#[test]
fn a_bad_settings_file_names_the_field() {
    let err = RunSettings::from_toml("[gates]\nmax_unexplained = 3\n").unwrap_err();
    assert!(err.contains("unknown field `max_unexplained`"), "{err}");
    let err = RunSettings::from_toml("phone_conflict = \"random\"\n").unwrap_err();
    assert_eq!(
        err,
        "phone_conflict: `random` is not earliest-registered or most-cards"
    );
    let err = RunSettings::from_toml("region = \"XX\"\n").unwrap_err();
    assert!(err.starts_with("region: "), "{err}");
}

#[test]
fn every_step_reports_its_progress_through_every_file() {
    let settings = RunSettings::default();
    let mut ends: Vec<String> = Vec::new();
    let mut last: std::collections::HashMap<String, (u64, u64)> = Default::default();
    run(&folder(), &settings, &mut |what, read, total| {
        let previous = last.insert(what.to_string(), (read, total));
        assert!(previous.is_none_or(|(r, _)| r <= read), "{what} went back");
        assert!(read <= total, "{what}: {read} of {total}");
        if read == total {
            ends.push(what.to_string());
        }
    })
    .unwrap();
    // The two halves of a run go side by side: each half's files in order, the halves
    // interleaved as they come. The second half first finds the transaction ids that may
    // repeat, which the profile waits for; the reconciliation and the cutover share one
    // reading of the snapshot and one of the history (reported as the reconciliation's). Each file's keys are screened by a pass of their own (`ids in`).
    let half = |steps: &[&str]| -> Vec<&str> {
        ends.iter()
            .map(String::as_str)
            .filter(|e| steps.iter().any(|s| e.starts_with(s)))
            .collect()
    };
    assert_eq!(
        half(&["plan", "profile"]),
        vec![
            "plan ids in customers.csv",
            "plan customers.csv",
            "plan ids in cards.csv",
            "plan cards.csv",
            "profile ids in customers.csv",
            "profile customers.csv",
            "profile ids in cards.csv",
            "profile cards.csv",
            "profile ids in balances.csv",
            "profile balances.csv",
            "profile transactions.csv",
            "profile delta/transactions.csv",
            "profile ids in delta/balances.csv",
            "profile delta/balances.csv",
        ]
    );
    assert_eq!(
        half(&["scan", "reconcile", "cutover"]),
        vec![
            "scan ids in transactions.csv",
            "scan ids in delta/transactions.csv",
            "reconcile ids in balances.csv",
            "reconcile balances.csv",
            "reconcile transactions.csv",
            "cutover delta/transactions.csv",
            "cutover ids in delta/balances.csv",
            "cutover delta/balances.csv",
        ]
    );
    assert_eq!(ends.len(), 22);
}
