//! `puntos.compile` and the compiled `Program`: evaluate one transaction, or ask how many points
//! it could pay with. The inputs are Python mappings read by the core's own readers.

use puntos::eval::{AccountView, Context, Customer, EvalOptions, Transaction};
use puntos_dsl::SourceFile;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3_arrow::PyTable;
use rust_decimal::Decimal;
use std::sync::Arc;

use crate::batch::{self, OnError};
use crate::decision::Decision;
use crate::errors::{compile_error, eval_error, Diagnostic};
use crate::frames::Flavour;
use crate::input::{read, to_json};

/// A compiled loyalty program: immutable, safe to share between threads, and reused for any
/// number of evaluations.
#[pyclass(module = "puntos", frozen)]
pub struct Program {
    program: Arc<puntos::Program>,
    warnings: Vec<Diagnostic>,
}

impl Program {
    /// The core's program.
    pub fn core(&self) -> &Arc<puntos::Program> {
        &self.program
    }
}

/// Compiles a program's source text. Raises `CompileError` with every error, its code, line
/// and column; warnings are kept on the program (`Program.warnings`).
#[pyfunction]
#[pyo3(signature = (source, filename = None))]
pub fn compile(py: Python<'_>, source: &str, filename: Option<&str>) -> PyResult<Program> {
    let file = SourceFile::new(filename.unwrap_or("program.pts"), source);
    let compiled = puntos::compile(&file);
    match compiled.program {
        Some(program) if !compiled.has_errors() => Ok(Program {
            program: Arc::new(program),
            warnings: compiled
                .diagnostics
                .iter()
                .map(|d| Diagnostic::of(&file, d))
                .collect(),
        }),
        _ => Err(compile_error(py, &file, &compiled.diagnostics)),
    }
}

#[pymethods]
impl Program {
    /// The program's name, as its `program "..."` block gives it.
    #[getter]
    fn name(&self) -> String {
        self.program.name.to_string()
    }

    /// The currency of its amounts, such as `RUB`.
    #[getter]
    fn currency(&self) -> String {
        self.program.currency.to_string()
    }

    /// Its time zone, such as `Europe/Moscow`.
    #[getter]
    fn timezone(&self) -> String {
        self.program.timezone.name().to_string()
    }

    /// Warnings the compiler gave: the program compiles, but something is probably not what
    /// its author meant.
    #[getter]
    fn warnings(&self) -> Vec<Diagnostic> {
        self.warnings.clone()
    }

    /// Decides one transaction. `transaction`, `customer` and `account` are mappings in the
    /// shape of the JSON `puntos eval` reads; money and points are `decimal.Decimal`, int or
    /// text, never float. Raises `EvalError` naming the field at fault.
    #[pyo3(signature = (transaction, customer = None, account = None, *, trace = false, as_of = None))]
    fn evaluate(
        &self,
        py: Python<'_>,
        transaction: &Bound<'_, PyAny>,
        customer: Option<&Bound<'_, PyAny>>,
        account: Option<&Bound<'_, PyAny>>,
        trace: bool,
        as_of: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Decision> {
        let context = context(py, transaction, customer, account, as_of)?;
        let options = EvalOptions {
            trace,
            ..EvalOptions::default()
        };
        let program = Arc::clone(&self.program);
        py.detach(move || program.evaluate_with(&context, &options))
            .map(Decision::new)
            .map_err(|e| eval_error(py, &e))
    }

    /// The most points the transaction could pay with: what a till offers before asking. Zero
    /// when the program has no redemption or the account is below its minimum balance.
    #[pyo3(signature = (transaction, customer = None, account = None, *, as_of = None))]
    fn redeemable(
        &self,
        py: Python<'_>,
        transaction: &Bound<'_, PyAny>,
        customer: Option<&Bound<'_, PyAny>>,
        account: Option<&Bound<'_, PyAny>>,
        as_of: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Decimal> {
        let context = context(py, transaction, customer, account, as_of)?;
        self.program
            .redeemable(&context)
            .map_err(|e| eval_error(py, &e))
    }

    /// Decides a table of transactions: a pandas or polars DataFrame, or any Arrow table, with
    /// one row per basket line keyed by `transaction_id` (README: "Batches of transactions").
    /// Returns a table of the same library with one row per transaction: `points`, a
    /// `points_<name>` column per rule and promotion, `discount`, `redeemed` and
    /// `redeemed_value`, all decimal128. `errors="raise"` raises `EvalError` for the first
    /// refused transaction, naming its row and field; `errors="column"` writes each refusal in
    /// an `error` column instead. Columns named in `ignore` are not read.
    #[pyo3(signature = (frame, *, errors = "raise", ignore = Vec::new()))]
    fn evaluate_batch<'py>(
        &self,
        py: Python<'py>,
        frame: &Bound<'py, PyAny>,
        errors: &str,
        ignore: Vec<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let on_error = match errors {
            "raise" => OnError::Raise,
            "column" => OnError::Column,
            other => {
                return Err(PyValueError::new_err(format!(
                    "errors: {other:?}; pass \"raise\" or \"column\""
                )))
            }
        };
        let flavour = Flavour::of(frame)?;
        let table: PyTable = flavour.to_arrow(py, frame)?.extract()?;
        let (batches, schema) = table.into_inner();
        let whole = crate::frames::one_batch(&schema, batches)
            .map_err(|e| PyValueError::new_err(format!("the table: {e}")))?;
        let (out, out_schema) = batch::evaluate(py, &self.program, &whole, &ignore, on_error)?;
        let result = PyTable::try_new(out, out_schema)?.into_pyarrow(py)?;
        flavour.back(py, result)
    }

    fn __repr__(&self) -> String {
        format!(
            "<Program {:?} ({}, {})>",
            self.program.name.as_ref() as &str,
            self.program.currency,
            self.program.timezone.name()
        )
    }
}

/// The evaluation context of Python inputs; each part's errors are named from its root
/// (`transaction.lines[0].unit_price`, `account.spend`).
fn context(
    py: Python<'_>,
    transaction: &Bound<'_, PyAny>,
    customer: Option<&Bound<'_, PyAny>>,
    account: Option<&Bound<'_, PyAny>>,
    as_of: Option<&Bound<'_, PyAny>>,
) -> PyResult<Context> {
    let transaction: Transaction = read(py, transaction, "transaction")?;
    let customer: Customer = match customer {
        Some(c) if !c.is_none() => read(py, c, "customer")?,
        _ => Customer::default(),
    };
    let account: AccountView = match account {
        Some(a) if !a.is_none() => read(py, a, "account")?,
        _ => AccountView::default(),
    };
    let as_of = match as_of {
        Some(at) if !at.is_none() => {
            let text = match to_json(at, "as_of")? {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            };
            let at = puntos::eval::parse_instant(&text)
                .map_err(|message| eval_error(py, &puntos::EvalError::input("as_of", message)))?;
            Some(at)
        }
        _ => None,
    };
    Ok(Context {
        transaction,
        customer,
        account,
        as_of,
    })
}
