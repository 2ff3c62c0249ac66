//! `puntos.simulate`: a history (a DataFrame of basket lines with their accounts) or a synthetic
//! `Population` replayed under programs A and B through the core's simulation harness, with
//! the outcome as DataFrames, a text summary and the HTML report of `puntos simulate`.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone};
use puntos::simulate::{self as core, History, Input, Redemptions, Settings};
use puntos::synth;
use puntos::Versions;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3_arrow::PyTable;
use rust_decimal::Decimal;

use crate::batch;
use crate::frames::Flavour;
use crate::program::Program;

/// A synthetic population: `customers` customers of the example pharmacy chain over `months`
/// calendar months from `start`, drawn from `seed` (the same seed gives the same people).
/// `visits` and `prices` scale how often they come and what they pay, in percent of the
/// chain's own; `mix` weights the categories (a mapping of category to weight); `seasonal`
/// turns the winter and summer swings on or off.
#[pyclass(module = "puntos", frozen)]
#[derive(Clone)]
pub struct Population {
    settings: synth::Settings,
}

#[pymethods]
impl Population {
    #[new]
    #[pyo3(signature = (customers, *, months = 12, start = None, seed = 42, visits = 100, prices = 100, mix = None, seasonal = true))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        customers: usize,
        months: u32,
        start: Option<NaiveDate>,
        seed: u64,
        visits: u32,
        prices: u32,
        mix: Option<std::collections::BTreeMap<String, u32>>,
        seasonal: bool,
    ) -> PyResult<Population> {
        let mut settings = synth::Settings {
            customers,
            months,
            seed,
            ..synth::Settings::default()
        };
        if let Some(start) = start {
            settings.start = start;
        }
        settings.mix.visits_percent = visits;
        settings.mix.prices_percent = prices;
        settings.mix.seasonal = seasonal;
        if let Some(mix) = mix {
            let mut weights = [0u32; synth::CATEGORIES.len()];
            for (category, weight) in mix {
                let slot = synth::CATEGORIES
                    .iter()
                    .position(|c| *c == category)
                    .and_then(|i| weights.get_mut(i))
                    .ok_or_else(|| {
                        PyValueError::new_err(format!(
                            "mix: {category:?} is not a category; the categories are {}",
                            synth::CATEGORIES.join(", ")
                        ))
                    })?;
                *slot = weight;
            }
            if weights.iter().all(|w| *w == 0) {
                return Err(PyValueError::new_err(
                    "mix: every weight is 0; give at least one category a weight",
                ));
            }
            settings.mix.categories = weights;
        }
        if customers == 0 || months == 0 {
            return Err(PyValueError::new_err(
                "a population needs at least one customer and one month",
            ));
        }
        Ok(Population { settings })
    }

    /// The population's transactions, in `program`'s currency and time zone, as a table in
    /// the shape `simulate(history=...)` reads: one row per basket line, with `account` and
    /// `transaction_id` (a signup's row carries the customer's profile).
    #[pyo3(signature = (program, *, frames = "pandas"))]
    fn history<'py>(
        &self,
        py: Python<'py>,
        program: &Program,
        frames: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let flavour = Flavour::named(frames)?;
        let (currency, zone) = (&program.core().currency, program.core().timezone);
        let generated = synth::generate(&self.settings, currency, zone);
        flavour.table(
            py,
            &puntos::simulate::tables::history_table(&generated.transactions),
        )
    }

    fn __repr__(&self) -> String {
        let s = &self.settings;
        format!(
            "Population({} customers, {} months from {}, seed {})",
            s.customers, s.months, s.start, s.seed
        )
    }
}

/// Replays a history or a population under programs `a` and `b` (each in effect throughout,
/// whatever its `effective from`), with full ledger semantics, and compares them.
#[pyfunction]
#[pyo3(signature = (a, b, *, history = None, population = None, since = None, until = None, top = 10, redeem_share = None, redeem_seed = 1, ignore = Vec::new(), frames = "pandas"))]
#[allow(clippy::too_many_arguments)]
pub fn simulate(
    py: Python<'_>,
    a: &Program,
    b: &Program,
    history: Option<&Bound<'_, PyAny>>,
    population: Option<&Population>,
    since: Option<&Bound<'_, PyAny>>,
    until: Option<&Bound<'_, PyAny>>,
    top: usize,
    redeem_share: Option<&Bound<'_, PyAny>>,
    redeem_seed: u64,
    ignore: Vec<String>,
    frames: &str,
) -> PyResult<Simulation> {
    let flavour = Flavour::named(frames)?;
    let redeem_share = redeem_share
        .map(|s| crate::input::decimal_argument(s, "redeem_share"))
        .transpose()?;
    let redemptions = match redeem_share {
        None => Redemptions::AsInHistory,
        Some(share) if share >= Decimal::ZERO && share <= Decimal::ONE => Redemptions::Propensity {
            share,
            seed: redeem_seed,
        },
        Some(share) => {
            return Err(PyValueError::new_err(format!(
                "redeem_share: {share} is not a share between 0 and 1"
            )))
        }
    };
    let zone = a.core().timezone;
    let settings = Settings {
        from: since.map(|t| moment(t, zone, "since")).transpose()?,
        to: until.map(|t| moment(t, zone, "until")).transpose()?,
        top,
        redemptions,
        ..Settings::default()
    };
    let (a_versions, b_versions) = (throughout(a)?, throughout(b)?);
    let read = match (history, population) {
        (Some(frame), None) => {
            let table: PyTable = Flavour::of(frame)?.to_arrow(py, frame)?.extract()?;
            let (batches, schema) = table.into_inner();
            let whole = crate::frames::one_batch(&schema, batches)
                .map_err(|e| PyValueError::new_err(format!("the history: {e}")))?;
            Some(History::opening_accounts(batch::history(&whole, &ignore)?))
        }
        (None, Some(_)) => None,
        _ => {
            return Err(PyValueError::new_err(
                "pass either history= (a table of basket lines with their accounts) or \
                 population= (a puntos.Population), not both or neither",
            ))
        }
    };
    let currency = a.core().currency.to_string();
    let input = match (&read, population) {
        (Some(history), _) => Input::History(history),
        (None, Some(p)) => Input::Synthetic {
            population: &p.settings,
            currency: &currency,
            timezone: zone,
        },
        (None, None) => return Err(PyValueError::new_err("nothing to simulate")),
    };
    let run = py
        .detach(|| core::simulate(&a_versions, &b_versions, input, &settings, &|_| {}))
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(Simulation {
        run,
        currency,
        flavour,
    })
}

/// A side's program in effect throughout the history: a candidate for next year is simulated
/// on this year's customers, which is the question asked.
fn throughout(program: &Program) -> PyResult<Versions> {
    let mut program = (**program.core()).clone();
    program.effective_from = None;
    Versions::new(vec![program]).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// `since` or `until`: an aware datetime, text with an offset, or a date meaning the start of
/// that day in the program's time zone.
fn moment(
    value: &Bound<'_, PyAny>,
    zone: chrono_tz::Tz,
    name: &str,
) -> PyResult<DateTime<FixedOffset>> {
    let text = match crate::input::to_json(value, name)? {
        serde_json::Value::String(text) => text,
        other => other.to_string(),
    };
    if let Ok(day) = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        return zone
            .from_local_datetime(&day.and_time(NaiveTime::MIN))
            .earliest()
            .map(|t| t.fixed_offset())
            .ok_or_else(|| {
                PyValueError::new_err(format!("{name}: {day} has no midnight in {zone}"))
            });
    }
    puntos::eval::parse_instant(&text).map_err(|e| PyValueError::new_err(format!("{name}: {e}")))
}

/// The outcome of a simulation: totals, month-by-month flows, the cohort triangle, points per
/// rule and promotion and per customer under A and B, as DataFrames; `summary()` as text and
/// `to_html()` as the self-contained report page.
#[pyclass(module = "puntos", frozen)]
pub struct Simulation {
    run: core::Simulation,
    currency: String,
    flavour: Flavour,
}

#[pymethods]
impl Simulation {
    /// Transactions replayed (under each program).
    #[getter]
    fn transactions(&self) -> u64 {
        self.run.transactions
    }

    /// The moment every account was brought to.
    #[getter]
    fn horizon(&self) -> DateTime<FixedOffset> {
        self.run.horizon
    }

    /// Customers who earn more points under B, fewer, and as many.
    #[getter]
    fn gainers(&self) -> u64 {
        self.run.comparison.gain
    }

    /// Customers who earn fewer points under B.
    #[getter]
    fn losers(&self) -> u64 {
        self.run.comparison.lose
    }

    /// Customers who earn as many points under B.
    #[getter]
    fn unchanged(&self) -> u64 {
        self.run.comparison.same
    }

    /// Totals under A and B and their difference, one row per measure.
    #[getter]
    fn totals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.flavour.table(py, &self.run.totals_table())
    }

    /// Per month and program: points earned, taken back, spent, expired, outstanding.
    #[getter]
    fn months<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.flavour.table(py, &self.run.months_table())
    }

    /// The cohort triangle: per month of issue, program and age in months.
    #[getter]
    fn cohorts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.flavour.table(py, &self.run.cohorts_table())
    }

    /// Points issued per rule and promotion under A and B.
    #[getter]
    fn sources<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.flavour.table(py, &self.run.sources_table())
    }

    /// Per account: points issued and outstanding and the tier under A and B.
    #[getter]
    fn customers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.flavour.table(py, &self.run.customers_table())
    }

    /// The summary `puntos simulate` prints.
    fn summary(&self) -> String {
        self.run.summary(&self.currency)
    }

    /// The report page `puntos simulate` writes as report.html: self-contained, no script.
    fn to_html(&self) -> String {
        core::report::html(&self.run, &self.currency)
    }

    /// Every figure as JSON, as `puntos simulate` writes summary.json.
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string_pretty(&self.run)
            .map_err(|e| PyValueError::new_err(format!("the simulation as JSON: {e}")))
    }

    fn __repr__(&self) -> String {
        format!(
            "<Simulation {} against {}: {} transactions, {} customers gain, {} lose>",
            self.run.a.program,
            self.run.b.program,
            self.run.transactions,
            self.run.comparison.gain,
            self.run.comparison.lose
        )
    }
}
