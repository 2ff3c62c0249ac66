//! Programs the evaluator's integration tests share, compiled once per test binary.

#![allow(dead_code, clippy::panic)]

use puntos::{compile, Program};
use puntos_dsl::SourceFile;
use std::sync::OnceLock;

/// Compiles `text`, failing the test with the diagnostics if it has errors.
pub fn program(name: &str, text: &str) -> Program {
    let compiled = compile(&SourceFile::new(name, text));
    match compiled.program {
        Some(p) => p,
        None => panic!("{name} does not compile: {:#?}", compiled.diagnostics),
    }
}

/// The pharmacy example.
pub fn pharmacy() -> &'static Program {
    static P: OnceLock<Program> = OnceLock::new();
    P.get_or_init(|| {
        program(
            "pharmacy.pts",
            include_str!("../../../../examples/pharmacy/program.pts"),
        )
    })
}

/// The bank example.
pub fn bank() -> &'static Program {
    static P: OnceLock<Program> = OnceLock::new();
    P.get_or_init(|| {
        program(
            "bank.pts",
            include_str!("../../../../examples/bank/program.pts"),
        )
    })
}

/// The hand-made legacy export with every case of MIGRATION.md planted (`tests/legacy/small`).
pub fn legacy_small() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/legacy/small")
}

/// Where a migration step hands the rows it rejects.
pub type RejectSink<'a> = &'a mut dyn puntos::migrate::Observer;

/// Runs a migration step, collecting the rows it rejects; a step that cannot run fails the test.
pub fn collecting<T>(
    step: impl FnOnce(RejectSink<'_>) -> Result<T, puntos::migrate::MigrateError>,
) -> (T, Vec<puntos::migrate::export::Reject>) {
    let mut rejects = Vec::new();
    let result = step(&mut |r| {
        rejects.push(r);
        Ok(())
    });
    match result {
        Ok(value) => (value, rejects),
        Err(e) => panic!("the step did not run: {e}"),
    }
}

/// A decimal written in a test.
pub fn dec(text: &str) -> puntos::Decimal {
    match text.parse() {
        Ok(x) => x,
        Err(e) => panic!("{text}: {e}"),
    }
}

/// Where each rejected row is: file, line and column.
pub fn places(
    rejects: &[puntos::migrate::export::Reject],
) -> Vec<(&str, u64, Option<&'static str>)> {
    rejects
        .iter()
        .map(|r| (r.file.as_str(), r.line, r.column))
        .collect()
}

/// What loading the small legacy export `per_part` accounts at a time stands on: its folder,
/// the region, the identity plan, the cutover, the load's staging (the purchase history sorted
/// out by the cutover) and the moment the accounts open (2025-02-05, the fixture's cutover).
pub fn small_load_inputs(
    per_part: usize,
) -> (
    std::path::PathBuf,
    puntos::phone::Region,
    puntos::migrate::identity::IdentityPlan,
    puntos::migrate::cutover::Cutover,
    puntos::migrate::load::Staging,
    chrono::DateTime<chrono::FixedOffset>,
) {
    use puntos::migrate::identity::{plan, PhonePolicy, PlanSettings};
    let folder = legacy_small();
    let Ok(ru) = puntos::phone::region("RU") else {
        panic!("RU is a region")
    };
    let settings = PlanSettings {
        region: ru,
        phone_policy: PhonePolicy::EarliestRegistered,
    };
    let (identities, _) = collecting(|r| plan(&folder, &settings, r));
    let mut staging = match puntos::migrate::load::Staging::new(&identities, per_part) {
        Ok(staging) => staging,
        Err(e) => panic!("the load's staging: {e}"),
    };
    let (cut, _) =
        collecting(|r| puntos::migrate::cutover::cutover_staged(&folder, &mut staging, r));
    let Ok(at) = chrono::DateTime::parse_from_rfc3339("2025-02-05T00:00:00+03:00") else {
        panic!("a valid moment")
    };
    (folder, ru, identities, cut, staging, at)
}

/// The identity plan and the migrated accounts of the small legacy export, opened at
/// 2025-02-05 (the fixture's cutover).
pub fn migrated_small() -> (
    puntos::migrate::identity::IdentityPlan,
    Vec<puntos::ledger::AccountState>,
) {
    let (folder, ru, identities, cut, staging, at) = small_load_inputs(usize::MAX);
    match puntos::migrate::load::accounts(&folder, ru, &identities, &cut, staging, at) {
        Ok(accounts) => (identities, accounts),
        Err(e) => panic!("the accounts: {e}"),
    }
}
