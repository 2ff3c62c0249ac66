//! `migrate run`: every step in one go (profile, identity plan, reconciliation, cutover), the
//! invariants checked and the quality gates applied before anything is loaded. Settings and
//! gates come from a small TOML file:
//!
//! ```toml
//! region = "RU"
//! phone_conflict = "earliest-registered"   # or "most-cards"
//! expiry_months = 12
//! rounding_tolerance = 1
//!
//! [gates]
//! max_invalid_phones_percent = 5      # unparseable or invalid phones, of all customers
//! max_conflicting_duplicates = 0      # keys repeated with other fields, in every file
//! max_unexplained_points = 100        # the absolute sum of unexplained differences
//! max_rejected_rows_percent = 1       # rejected rows, of all rows read
//! ```
//!
//! Every step is pure and every load idempotent, so a run interrupted while loading is resumed
//! by running it again: the accounts already loaded are found unchanged.

use super::cutover::{Applying, Cutover};
use super::export::{Reject, EXPORT_FILES};
use super::identity::{plan, IdentityPlan, Party, PhonePolicy, PlanSettings};
use super::load::Staging;
use super::profile::{profile_with, Profile, ProfileSettings};
use super::reconcile::{DifferenceClass, ReconcileSettings, Reconciliation, Reconciling};
use super::repeats::Repeats;
use super::scan::{read_history, Basis, Keys, KnownCards};
use super::{MigrateError, Observer};
use crate::phone::PhoneClass;
use indexmap::IndexMap;
use rlibphonenumber::enums::Region;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Limits that fail a run before anything is loaded; an absent limit is not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Gates {
    /// The most customers with an unparseable or invalid phone, in percent of all customers.
    pub max_invalid_phones_percent: Option<Decimal>,
    /// The most keys repeated with other fields, over every file.
    pub max_conflicting_duplicates: Option<u64>,
    /// The most unexplained points (the absolute sum of unexplained differences).
    pub max_unexplained_points: Option<Decimal>,
    /// The most rejected rows, in percent of all rows read.
    pub max_rejected_rows_percent: Option<Decimal>,
}

/// The settings file of a run, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    #[serde(default = "default_region")]
    region: String,
    #[serde(default)]
    phone_conflict: Option<String>,
    #[serde(default)]
    expiry_months: Option<u32>,
    #[serde(default)]
    rounding_tolerance: Option<Decimal>,
    #[serde(default)]
    gates: Gates,
}

fn default_region() -> String {
    "RU".to_string()
}

/// How a run reads the export and what it refuses to load.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// The region national phone numbers are read in.
    pub region: Region,
    /// Who keeps a shared phone.
    pub phone_policy: PhonePolicy,
    /// The legacy points lifetime in months, if points expired.
    pub expiry_months: Option<u32>,
    /// Differences under this are rounding.
    pub rounding_tolerance: Decimal,
    /// The quality gates.
    pub gates: Gates,
    /// Accounts per part of the load that follows the run, if one does: the run then sorts the
    /// purchase history out to the load's parts as it reads the transactions
    /// ([`Run::staging`]), so that the load need not read them again. Not read from the
    /// settings file.
    pub load_parts: Option<usize>,
}

impl Default for RunSettings {
    fn default() -> Self {
        RunSettings {
            region: Region::RU,
            phone_policy: PhonePolicy::EarliestRegistered,
            expiry_months: None,
            rounding_tolerance: Decimal::ONE,
            gates: Gates::default(),
            load_parts: None,
        }
    }
}

impl RunSettings {
    /// Reads a settings file; an error names the line or field.
    pub fn from_toml(text: &str) -> Result<RunSettings, String> {
        RunSettings::from_file(crate::toml_exact::from_str(text)?)
    }

    /// Reads settings given as a JSON value of the settings file's shape (the bindings'
    /// mappings); an error names the field.
    pub fn from_value(value: serde_json::Value) -> Result<RunSettings, String> {
        let file: SettingsFile =
            crate::eval::from_value(value, "settings").map_err(|e| e.to_string())?;
        RunSettings::from_file(file)
    }

    fn from_file(file: SettingsFile) -> Result<RunSettings, String> {
        let phone_policy = match file.phone_conflict.as_deref() {
            None | Some("earliest-registered") => PhonePolicy::EarliestRegistered,
            Some("most-cards") => PhonePolicy::MostCards,
            Some(other) => {
                return Err(format!(
                    "phone_conflict: `{other}` is not earliest-registered or most-cards"
                ))
            }
        };
        Ok(RunSettings {
            region: crate::phone::region(&file.region).map_err(|e| format!("region: {e}"))?,
            phone_policy,
            expiry_months: file.expiry_months,
            rounding_tolerance: file.rounding_tolerance.unwrap_or(Decimal::ONE),
            gates: file.gates,
            load_parts: None,
        })
    }
}

/// A check that must hold, and whether it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What is checked.
    pub name: String,
    /// Whether it holds.
    pub holds: bool,
    /// The figures behind it.
    pub detail: String,
}

/// The machine-readable summary of a run (`summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The data-quality profile.
    pub profile: Profile,
    /// Customers and cards per identity group.
    pub identity: IndexMap<String, (u64, u64)>,
    /// New accounts.
    pub accounts: u64,
    /// Cards and points per difference class.
    pub differences: IndexMap<String, (u64, Decimal)>,
    /// Legacy, recomputed and final totals.
    pub totals: IndexMap<String, Decimal>,
    /// The invariants.
    pub invariants: Vec<Check>,
    /// The quality gates.
    pub gates: Vec<Check>,
}

impl Summary {
    /// Whether every invariant holds and every gate passes: the run may load.
    pub fn passed(&self) -> bool {
        self.invariants.iter().chain(&self.gates).all(|c| c.holds)
    }

    /// The summary for a person.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(out, "Migration run\n");
        let _ = writeln!(out, "identity groups (customers, cards):");
        for (group, (customers, cards)) in &self.identity {
            let _ = writeln!(out, "  {group:<22} {customers:>8} {cards:>8}");
        }
        let _ = writeln!(out, "  new accounts: {}", self.accounts);
        let _ = writeln!(out, "differences (cards, points):");
        for (class, (cards, points)) in &self.differences {
            let _ = writeln!(out, "  {class:<22} {cards:>8} {points:>12}");
        }
        for (name, value) in &self.totals {
            let _ = writeln!(out, "{name}: {value}");
        }
        for (title, checks) in [
            ("invariants", &self.invariants),
            ("quality gates", &self.gates),
        ] {
            let _ = writeln!(out, "{title}:");
            if checks.is_empty() {
                let _ = writeln!(out, "  none set");
            }
            for c in checks {
                let mark = if c.holds { "ok    " } else { "FAILED" };
                let _ = writeln!(out, "  {mark} {}: {}", c.name, c.detail);
            }
        }
        out
    }
}

/// Everything a run made.
#[derive(Debug)]
pub struct Run {
    /// The summary, with invariants and gates.
    pub summary: Summary,
    /// The identity plan.
    pub plan: IdentityPlan,
    /// The reconciliation.
    pub reconciliation: Reconciliation,
    /// The cutover.
    pub cutover: Cutover,
    /// Every rejected row once, in file order then line order.
    pub rejects: Vec<Reject>,
    /// What the load needs ready, with the purchase history sorted out to its parts, when the
    /// settings asked for it ([`RunSettings::load_parts`]).
    pub staging: Option<Staging>,
}

/// Rejected rows, each `(file, line)` once (the steps read the same files).
type RejectSet = BTreeMap<(usize, u64), Reject>;

/// A progress report: what (step and file), bytes read, bytes in all.
type Report = (String, u64, u64);

/// What the steps on one thread of a run tell: rejected rows, and progress, sent with the
/// step's name to the thread that reports it.
struct Collect {
    rejects: RejectSet,
    step: &'static str,
    progress: std::sync::mpsc::Sender<Report>,
}

impl Collect {
    fn new(step: &'static str, progress: std::sync::mpsc::Sender<Report>) -> Collect {
        Collect {
            rejects: RejectSet::new(),
            step,
            progress,
        }
    }
}

impl Observer for Collect {
    fn reject(&mut self, r: Reject) -> Result<(), MigrateError> {
        let file = EXPORT_FILES
            .iter()
            .position(|f| *f == r.file)
            .unwrap_or(EXPORT_FILES.len());
        self.rejects.entry((file, r.line)).or_insert(r);
        Ok(())
    }

    fn progress(&mut self, file: &str, read: u64, total: u64) {
        // The receiver is gone only once the run is over: nothing is left to report.
        let _ = self
            .progress
            .send((format!("{} {file}", self.step), read, total));
    }
}

/// The error of a run whose other half stopped without saying why (it panicked).
fn stopped_early() -> MigrateError {
    MigrateError::Settings("a step of the run stopped unexpectedly".to_string())
}

/// Percent `part` is of `whole`, to two places.
fn percent(part: u64, whole: u64) -> Decimal {
    if whole == 0 {
        return Decimal::ZERO;
    }
    (Decimal::from(part) * Decimal::ONE_HUNDRED / Decimal::from(whole)).round_dp(2)
}

/// Runs every step on the export in `folder`; `progress` hears how far each step is in each
/// file (`"reconcile transactions.csv"`, bytes read, bytes in all).
pub fn run(
    folder: &Path,
    settings: &RunSettings,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> Result<Run, MigrateError> {
    let profile_settings = ProfileSettings {
        region: settings.region,
    };
    let plan_settings = PlanSettings {
        region: settings.region,
        phone_policy: settings.phone_policy,
    };
    let reconcile_settings = ReconcileSettings {
        expiry_months: settings.expiry_months,
        rounding_tolerance: settings.rounding_tolerance,
    };
    // Two independent halves on two threads: the profile and the identity plan; the
    // reconciliation and the cutover. This thread reports their progress as it comes.
    let (sender, receiver) = std::sync::mpsc::channel::<Report>();
    // The transaction ids that may repeat are found first, beside the plan, and shared.
    let (identities, balances) = std::thread::scope(|scope| {
        let (ids_sender, ids) = std::sync::mpsc::channel::<Arc<Repeats>>();
        let (staging_sender, staged) = std::sync::mpsc::channel::<Option<Staging>>();
        let first = Collect::new("plan", sender.clone());
        let second = Collect::new("scan", sender);
        let identities = scope.spawn(move || {
            let mut seen = first;
            let plan = plan(folder, &plan_settings, &mut seen)?;
            let staging = settings
                .load_parts
                .map(|per_part| Staging::new(&plan, per_part))
                .transpose()?;
            // The other half is gone only if it failed, and reports why itself.
            let _ = staging_sender.send(staging);
            seen.step = "profile";
            let profile = profile_with(folder, &profile_settings, &mut seen, |_| {
                ids.recv().map_err(|_| MigrateError::Stopped)
            })?;
            Ok::<_, MigrateError>((profile, plan, seen.rejects))
        });
        let balances = scope.spawn(move || {
            let mut seen = second;
            let repeats = Arc::new(Repeats::transactions(folder, &mut seen)?);
            let _ = ids_sender.send(Arc::clone(&repeats));
            seen.step = "reconcile";
            // Waits for the plan only when a load is staged.
            let mut staging = match settings.load_parts {
                Some(_) => staged.recv().map_err(|_| MigrateError::Stopped)?,
                None => None,
            };
            let cards = match &staging {
                Some(staging) => KnownCards::Placed(staging.shared_placement()),
                None => KnownCards::read(folder)?,
            };
            let basis = Basis::read(folder, cards, &mut seen)?;
            // The keys hold the screen from here on: it goes with them, after the delta.
            let mut ids = Keys::screened(&repeats);
            drop(repeats);
            // The reconciliation and the cutover read the history in one pass, which also
            // sorts the purchase history out for the load.
            let mut reconciling = Reconciling::new(&basis, &reconcile_settings);
            let mut applying = Applying::new(&basis);
            let history = read_history(folder, &basis, &mut ids, &mut seen, |t, card| {
                reconciling.row(t, card);
                applying.history_row(t, card);
                if let Some(staging) = staging.as_mut().filter(|_| card.first) {
                    staging.history(t, card.account);
                }
            })?;
            // The cutover first: its end frees the screen and its own per-card state before
            // the reconciliation's cards are made.
            seen.step = "cutover";
            let cutover =
                applying.finish(folder, history.clone(), ids, staging.as_mut(), &mut seen)?;
            let reconciliation = reconciling.finish(history);
            Ok::<_, MigrateError>((reconciliation, cutover, staging, seen.rejects))
        });
        // Ends when both halves are done and their senders dropped.
        for (what, read, total) in receiver {
            progress(&what, read, total);
        }
        (identities.join(), balances.join())
    });
    // Each half waits for something of the other's; when one fails, the other stops for want
    // of it, and the one that failed says why.
    let halves = (
        identities.map_err(|_| stopped_early())?,
        balances.map_err(|_| stopped_early())?,
    );
    let ((profile, plan, mut rejects), (reconciliation, cutover, staging, more)) = match halves {
        (Ok(first), Ok(second)) => (first, second),
        (Err(MigrateError::Stopped), Err(e)) | (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    // The first half's reasons are kept where both halves reject a row, whatever the timing.
    for (at, r) in more {
        rejects.entry(at).or_insert(r);
    }
    let rejects: Vec<Reject> = rejects.into_values().collect();

    let mut invariants = Vec::new();
    for (file, party) in plan.files.iter().zip([Party::Customer, Party::Card]) {
        let placed = plan.rows.iter().filter(|r| r.party == party).count() as u64;
        invariants.push(Check {
            name: format!("every row of {} accounted for once", file.file),
            holds: placed == file.kept()
                && file.rows == placed + file.exact_duplicates + file.rejected,
            detail: file.accounting("placed"),
        });
    }
    // The cutover lists the snapshot and the history too (the reconciliation accounts for them):
    // its own files are the delta's.
    let delta_files = cutover
        .files
        .iter()
        .filter(|f| !reconciliation.files.iter().any(|r| r.file == f.file));
    for file in reconciliation.files.iter().chain(delta_files) {
        let reported = rejects.iter().filter(|r| r.file == file.file).count() as u64;
        invariants.push(Check {
            name: format!("every row of {} accounted for once", file.file),
            holds: reported >= file.rejected
                && file.rows == file.kept() + file.exact_duplicates + file.rejected,
            detail: file.accounting("kept"),
        });
    }
    let classified = reconciliation.legacy_total - reconciliation.recomputed_total;
    invariants.push(Check {
        name: "points conserved".to_string(),
        holds: reconciliation.conserved(),
        detail: format!(
            "legacy {} = recomputed {} + classified differences {classified}",
            reconciliation.legacy_total, reconciliation.recomputed_total
        ),
    });
    invariants.push(Check {
        name: "cutover adds up".to_string(),
        holds: cutover.conserved(),
        detail: format!(
            "snapshot {} + after it {} = final {}",
            cutover.snapshot_total, cutover.applied.1, cutover.final_total
        ),
    });

    let gates = gate_checks(&settings.gates, &profile, &reconciliation, &rejects);
    let summary = Summary {
        identity: plan
            .groups
            .iter()
            .map(|(g, c)| (g.as_str().to_string(), (c.customers, c.cards)))
            .collect(),
        accounts: plan.accounts,
        differences: reconciliation
            .classes
            .iter()
            .map(|(c, t)| (c.as_str().to_string(), (t.cards, t.points)))
            .collect(),
        totals: [
            ("legacy balances", reconciliation.legacy_total),
            ("recomputed balances", reconciliation.recomputed_total),
            ("final balances at cutover", cutover.final_total),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        profile,
        invariants,
        gates,
    };
    Ok(Run {
        summary,
        plan,
        reconciliation,
        cutover,
        rejects,
        staging,
    })
}

/// The gates that are set, checked.
fn gate_checks(
    gates: &Gates,
    profile: &Profile,
    reconciliation: &Reconciliation,
    rejects: &[Reject],
) -> Vec<Check> {
    let mut checks = Vec::new();
    if let Some(limit) = gates.max_invalid_phones_percent {
        let customers: u64 = profile.phones.values().sum();
        let invalid: u64 = [PhoneClass::Unparseable, PhoneClass::Invalid]
            .iter()
            .filter_map(|c| profile.phones.get(c))
            .sum();
        let share = percent(invalid, customers);
        checks.push(Check {
            name: "invalid phones".to_string(),
            holds: share <= limit,
            detail: format!("{share}% ({invalid} of {customers} customers), at most {limit}%"),
        });
    }
    if let Some(limit) = gates.max_conflicting_duplicates {
        let conflicts: u64 = profile.files.iter().map(|f| f.conflicting_duplicates).sum();
        checks.push(Check {
            name: "conflicting duplicate keys".to_string(),
            holds: conflicts <= limit,
            detail: format!("{conflicts}, at most {limit}"),
        });
    }
    if let Some(limit) = gates.max_unexplained_points {
        let unexplained = reconciliation
            .cards
            .iter()
            .filter(|c| c.class == DifferenceClass::Unexplained)
            .map(|c| c.difference().abs())
            .sum::<Decimal>();
        checks.push(Check {
            name: "unexplained points".to_string(),
            holds: unexplained <= limit,
            detail: format!("{unexplained}, at most {limit}"),
        });
    }
    if let Some(limit) = gates.max_rejected_rows_percent {
        let rows: u64 = profile.files.iter().map(|f| f.rows).sum();
        let share = percent(rejects.len() as u64, rows);
        checks.push(Check {
            name: "rejected rows".to_string(),
            holds: share <= limit,
            detail: format!(
                "{share}% ({} of {rows} rows), at most {limit}%",
                rejects.len()
            ),
        });
    }
    checks
}
