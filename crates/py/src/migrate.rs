//! `puntos.migrate`: the migration balance reconciler of `puntos migrate run` on a legacy
//! export (MIGRATION.md): profile, identity plan, reconciliation and cutover, the invariants and
//! quality gates checked, the row-level results as DataFrames, and, when asked and everything
//! passes, the accounts loaded into a SQLite ledger.

use puntos::ledger::{Ledger, SqliteStore};
use puntos::migrate::load::ACCOUNTS_PER_PART;
use puntos::migrate::placement::Placement;
use puntos::migrate::run::{self, RunSettings, Summary};
use puntos::table::Table;
use puntos::Versions;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use std::path::PathBuf;

use crate::frames::Flavour;

/// Accounts opened in one unit of work of a SQLite load.
const ACCOUNTS_PER_UNIT: usize = 10_000;

/// Runs every migration step on the legacy export in `export`. `settings` is a mapping in the
/// shape of `puntos migrate run`'s settings file (`region`, `phone_conflict`, `expiry_months`,
/// `rounding_tolerance`, `gates`). With `load`, the path of a SQLite ledger, the accounts are
/// loaded into it when every invariant and gate passes (a rerun resumes an interrupted load).
#[pyfunction]
#[pyo3(signature = (export, *, settings = None, load = None, frames = "pandas"))]
pub fn migrate(
    py: Python<'_>,
    export: PathBuf,
    settings: Option<&Bound<'_, PyAny>>,
    load: Option<PathBuf>,
    frames: &str,
) -> PyResult<Migration> {
    let flavour = Flavour::named(frames)?;
    let settings = match settings {
        Some(s) if !s.is_none() => RunSettings::from_value(crate::input::to_json(s, "settings")?)
            .map_err(PyValueError::new_err)?,
        _ => RunSettings::default(),
    };
    let settings = RunSettings {
        load_parts: load.as_ref().map(|_| ACCOUNTS_PER_PART),
        ..settings
    };
    let region = settings.region;
    let done = py
        .detach(|| run::run(&export, &settings, &mut |_, _, _| {}))
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let own_placement;
    let placement = match &done.staging {
        Some(staging) => staging.placement(),
        None => {
            own_placement = Placement::of(&done.plan);
            &own_placement
        }
    };
    let tables = done.tables(placement);
    let report = puntos::migrate::report::html(&done);
    let passed = done.summary.passed();
    let mut loaded = None;
    let run::Run {
        plan,
        cutover,
        summary,
        staging,
        ..
    } = done;
    if let (Some(db), true, Some(staging)) = (load, passed, staging) {
        let at = cutover.moment.ok_or_else(|| {
            PyValueError::new_err("the export has no moment to open the accounts at")
        })?;
        let counts = py.detach(|| -> Result<(u64, u64), String> {
            let store = SqliteStore::open(&db).map_err(|e| e.to_string())?;
            let versions = Versions::new(Vec::new()).map_err(|e| e.to_string())?;
            let mut ledger = Ledger::new(store, versions);
            let (mut opened, mut unchanged) = (0, 0);
            let mut refused = None;
            let built = puntos::migrate::load::in_parts(
                &export,
                region,
                plan,
                cutover,
                staging,
                at,
                &mut |_| Ok(()),
                &mut |part| {
                    for chunk in part.chunks(ACCOUNTS_PER_UNIT) {
                        match ledger.open_migrated(chunk, at) {
                            Ok(done) => {
                                opened += done.opened;
                                unchanged += done.unchanged;
                            }
                            Err(e) => {
                                refused =
                                    Some(format!("{e}; {opened} accounts were opened before it"));
                                return Err(puntos::migrate::MigrateError::Stopped);
                            }
                        }
                    }
                    Ok(())
                },
            );
            match (refused, built) {
                (Some(why), _) => Err(why),
                (None, Err(e)) => Err(e.to_string()),
                (None, Ok(())) => Ok((opened, unchanged)),
            }
        });
        loaded = Some(counts.map_err(PyRuntimeError::new_err)?);
    }
    Ok(Migration {
        summary,
        tables,
        report,
        loaded,
        flavour,
    })
}

/// What a migration run found: whether it may load (`passed`), the summary with its
/// invariants and gates, and per-row results as DataFrames.
#[pyclass(module = "puntos", frozen)]
pub struct Migration {
    summary: Summary,
    tables: [Table; 5],
    report: String,
    loaded: Option<(u64, u64)>,
    flavour: Flavour,
}

impl Migration {
    fn table<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        let table = self
            .tables
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| PyValueError::new_err(format!("no table {name}")))?;
        self.flavour.table(py, table)
    }
}

#[pymethods]
impl Migration {
    /// Whether every invariant holds and every quality gate passes: the run may load.
    #[getter]
    fn passed(&self) -> bool {
        self.summary.passed()
    }

    /// Accounts opened and accounts found already loaded unchanged, when loaded; else None.
    #[getter]
    fn loaded(&self) -> Option<(u64, u64)> {
        self.loaded
    }

    /// The invariants and quality gates: name, holds, detail.
    #[getter]
    fn checks(&self) -> Vec<(String, bool, String)> {
        self.summary
            .invariants
            .iter()
            .chain(&self.summary.gates)
            .map(|c| (c.name.clone(), c.holds, c.detail.clone()))
            .collect()
    }

    /// Per legacy customer and card: the identity group, the new account, the action and why.
    #[getter]
    fn identity<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.table(py, "identity")
    }

    /// Per card: legacy and recomputed balance, the difference, its class and explanation.
    #[getter]
    fn reconciliation<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.table(py, "reconciliation")
    }

    /// Per new account: its cards and their legacy and recomputed sums.
    #[getter]
    fn accounts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.table(py, "accounts")
    }

    /// Per card at the cutover: snapshot, what came after it, final and legacy balance.
    #[getter]
    fn cutover<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.table(py, "cutover")
    }

    /// Every input row left out: file, line, column, reason.
    #[getter]
    fn rejects<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.table(py, "rejects")
    }

    /// The summary `puntos migrate run` prints.
    fn summary(&self) -> String {
        self.summary.to_text()
    }

    /// The report page `puntos migrate run` writes as report.html.
    fn to_html(&self) -> String {
        self.report.clone()
    }

    /// The summary as JSON, as `puntos migrate run` writes summary.json.
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string_pretty(&self.summary)
            .map_err(|e| PyValueError::new_err(format!("the summary as JSON: {e}")))
    }

    fn __repr__(&self) -> String {
        let rows = |name: &str| {
            self.tables
                .iter()
                .find(|t| t.name == name)
                .map_or(0, |t| t.rows.len())
        };
        format!(
            "<Migration {}: {} cards and {} accounts reconciled, {} rows rejected>",
            if self.summary.passed() {
                "passed"
            } else {
                "FAILED"
            },
            rows("reconciliation"),
            rows("accounts"),
            rows("rejects")
        )
    }
}
