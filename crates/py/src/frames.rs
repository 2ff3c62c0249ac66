//! DataFrames in and out: a pandas or polars DataFrame or an Arrow table becomes an Arrow table
//! for the core's readers, and a result table goes back as the library the caller uses. Tables
//! of the core's figures ([`puntos::simulate::tables::Table`]) become Arrow tables here, money
//! and points as decimal128.

use arrow_array::builder::{Decimal128Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use puntos::simulate::tables::{Cell, Table};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3_arrow::PyTable;
use rust_decimal::Decimal;
use std::sync::Arc;

/// The DataFrame library a table came from, so the result goes back in the same one.
#[derive(Clone, Copy)]
pub enum Flavour {
    /// pandas (results with Arrow-backed columns).
    Pandas,
    /// polars.
    Polars,
    /// pyarrow, or any table with the Arrow PyCapsule interface (results as pyarrow).
    Arrow,
}

impl Flavour {
    /// The library of `frame`.
    pub fn of(frame: &Bound<'_, PyAny>) -> PyResult<Flavour> {
        let module = frame.get_type().module()?.to_cow()?.into_owned();
        let root = module.split('.').next().unwrap_or_default();
        Ok(match root {
            "pandas" => Flavour::Pandas,
            "polars" => Flavour::Polars,
            _ if frame.hasattr("__arrow_c_stream__")? => Flavour::Arrow,
            _ => {
                return Err(PyTypeError::new_err(format!(
                    "evaluate_batch reads a pandas or polars DataFrame or an Arrow table, not a \
                     {module}.{}",
                    frame.get_type().name()?
                )))
            }
        })
    }

    /// The frame as an Arrow table (pandas: without its index; a column of `Decimal` objects
    /// becomes decimal128).
    pub fn to_arrow<'py>(
        self,
        py: Python<'py>,
        frame: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Flavour::Pandas => {
                let kwargs = pyo3::types::PyDict::new(py);
                kwargs.set_item("preserve_index", false)?;
                py.import("pyarrow")?.getattr("Table")?.call_method(
                    "from_pandas",
                    (frame,),
                    Some(&kwargs),
                )
            }
            Flavour::Polars => frame.call_method0("to_arrow"),
            Flavour::Arrow => Ok(frame.clone()),
        }
    }

    /// The result, a pyarrow table, in the caller's library (pandas keeps decimal128 columns
    /// as Arrow-backed columns).
    pub fn back<'py>(
        self,
        py: Python<'py>,
        table: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Flavour::Pandas => {
                let kwargs = pyo3::types::PyDict::new(py);
                kwargs.set_item("types_mapper", py.import("pandas")?.getattr("ArrowDtype")?)?;
                table.call_method("to_pandas", (), Some(&kwargs))
            }
            Flavour::Polars => py.import("polars")?.call_method1("from_arrow", (table,)),
            Flavour::Arrow => Ok(table),
        }
    }
}

impl Flavour {
    /// The library named `name` (`pandas`, `polars` or `arrow`).
    pub fn named(name: &str) -> PyResult<Flavour> {
        match name {
            "pandas" => Ok(Flavour::Pandas),
            "polars" => Ok(Flavour::Polars),
            "arrow" | "pyarrow" => Ok(Flavour::Arrow),
            other => Err(PyValueError::new_err(format!(
                "frames: {other:?}; pass \"pandas\", \"polars\" or \"arrow\""
            ))),
        }
    }

    /// `table` as a DataFrame of this library: text columns as text, counts as int64, numbers
    /// as decimal128 at the largest scale in the column.
    pub fn table<'py>(self, py: Python<'py>, table: &Table) -> PyResult<Bound<'py, PyAny>> {
        let mut fields = Vec::new();
        let mut columns: Vec<ArrayRef> = Vec::new();
        for (i, name) in table.columns.iter().enumerate() {
            let cells = || table.rows.iter().filter_map(move |row| row.get(i));
            let given = || cells().filter(|c| **c != Cell::Empty);
            let (data_type, column) = if given().all(|c| matches!(c, Cell::Text(_))) {
                let mut b = StringBuilder::new();
                for cell in cells() {
                    match cell {
                        Cell::Empty => b.append_null(),
                        other => b.append_value(other.to_string()),
                    }
                }
                (DataType::Utf8, Arc::new(b.finish()) as ArrayRef)
            } else if given().all(|c| matches!(c, Cell::Count(_))) {
                let mut b = Int64Builder::new();
                for cell in cells() {
                    match cell {
                        Cell::Count(n) => b.append_value(i64::try_from(*n).unwrap_or(i64::MAX)),
                        _ => b.append_null(),
                    }
                }
                (DataType::Int64, Arc::new(b.finish()) as ArrayRef)
            } else {
                let number = |c: &Cell| match c {
                    Cell::Number(n) => Some(*n),
                    Cell::Count(n) => Some(Decimal::from(*n)),
                    Cell::Text(_) | Cell::Empty => None,
                };
                let scale = cells()
                    .filter_map(number)
                    .map(|n| n.scale())
                    .max()
                    .unwrap_or(0);
                let arrow_scale = i8::try_from(scale).unwrap_or(0);
                let mut b = Decimal128Builder::new()
                    .with_precision_and_scale(38, arrow_scale)
                    .map_err(|e| PyValueError::new_err(e.to_string()))?;
                for cell in cells() {
                    match number(cell) {
                        Some(mut n) => {
                            n.rescale(scale);
                            b.append_value(n.mantissa());
                        }
                        None => b.append_null(),
                    }
                }
                (
                    DataType::Decimal128(38, arrow_scale),
                    Arc::new(b.finish()) as ArrayRef,
                )
            };
            fields.push(Field::new(*name, data_type, true));
            columns.push(column);
        }
        let schema = Arc::new(Schema::new(fields));
        let batch = RecordBatch::try_new(Arc::clone(&schema), columns)
            .map_err(|e| PyValueError::new_err(format!("table {}: {e}", table.name)))?;
        let arrow = PyTable::try_new(vec![batch], schema)?.into_pyarrow(py)?;
        self.back(py, arrow)
    }
}

/// A table's batches as one (the readers index rows across the whole table); a single batch,
/// the usual case, is taken as it is rather than copied.
pub fn one_batch(
    schema: &arrow_schema::SchemaRef,
    mut batches: Vec<RecordBatch>,
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    if batches.len() == 1 {
        if let Some(only) = batches.pop() {
            return Ok(only);
        }
    }
    arrow_select::concat::concat_batches(schema, &batches)
}
