//! Python values in: mappings, lists, text, whole numbers, `decimal.Decimal`, dates and
//! datetimes become JSON for the core's own readers, which check every field and name it on
//! error. A float is refused wherever it appears: money and points are exact decimals.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyDate, PyDateTime, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType,
};
use serde_json::{Map, Number, Value};

use crate::decision::Decision;

/// The deepest nesting accepted: inputs are a few levels deep, and a cycle must end in an error.
const MAX_DEPTH: usize = 32;

/// Reads `value` as the core's input type `T` found at `root` (`transaction`, `customer`...):
/// through JSON and the core's checked reader, so a refusal is an `EvalError` naming the field.
pub fn read<T: serde::de::DeserializeOwned>(
    py: Python<'_>,
    value: &Bound<'_, PyAny>,
    root: &str,
) -> PyResult<T> {
    puntos::eval::from_value(to_json(value, root)?, root)
        .map_err(|e| crate::errors::eval_error(py, &e))
}

/// Reads `value` (found at `path`, such as `transaction`) as JSON.
pub fn to_json(value: &Bound<'_, PyAny>, path: &str) -> PyResult<Value> {
    walk(value, path, 0)
}

fn walk(value: &Bound<'_, PyAny>, path: &str, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "{path}: nested more than {MAX_DEPTH} levels deep"
        )));
    }
    if value.is_none() {
        return Ok(Value::Null);
    }
    // `bool` is a subclass of `int`: test it first.
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if value.is_instance_of::<PyFloat>() {
        return Err(PyTypeError::new_err(format!(
            "{path}: a float ({}) where an exact number is expected; pass decimal.Decimal(\"{}\") \
             or the text \"{}\" (money and points are never floats)",
            value.repr()?,
            value.str()?,
            value.str()?
        )));
    }
    if value.is_instance_of::<PyInt>() {
        return number(&value.str()?.to_cow()?, path);
    }
    // A refund's original purchase, passed as the decision it was.
    if let Ok(decision) = value.cast::<Decision>() {
        return serde_json::to_value(decision.get().core())
            .map_err(|e| PyValueError::new_err(format!("{path}: {e}")));
    }
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(Value::String(text.to_cow()?.into_owned()));
    }
    if is_decimal(value)? {
        return decimal(value, path);
    }
    // `datetime` is a subclass of `date`: test it first.
    if value.is_instance_of::<PyDateTime>() {
        if value.getattr("utcoffset")?.call0()?.is_none() {
            return Err(PyValueError::new_err(format!(
                "{path}: a datetime without a time zone ({}); give it a tzinfo, since its offset \
                 decides the local day and hour the program sees",
                value.str()?
            )));
        }
        return Ok(Value::String(
            value.call_method0("isoformat")?.extract::<String>()?,
        ));
    }
    if value.is_instance_of::<PyDate>() {
        return Ok(Value::String(
            value.call_method0("isoformat")?.extract::<String>()?,
        ));
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        let mut map = Map::new();
        for (key, item) in dict.iter() {
            let Ok(key) = key.cast::<PyString>() else {
                return Err(PyTypeError::new_err(format!(
                    "{path}: a key {} that is not text; field names are text",
                    key.repr()?
                )));
            };
            let key = key.to_cow()?.into_owned();
            let inner = format!("{path}.{key}");
            map.insert(key, walk(&item, &inner, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (i, item) in value.try_iter()?.enumerate() {
            items.push(walk(&item?, &format!("{path}[{i}]"), depth + 1)?);
        }
        return Ok(Value::Array(items));
    }
    // Other mappings (such as a pandas row's `dict()`-able objects) are read through `items()`.
    if value.hasattr("items")? && value.hasattr("keys")? {
        let dict = PyDict::new(value.py());
        for pair in value.call_method0("items")?.try_iter()? {
            let (key, item): (Bound<'_, PyAny>, Bound<'_, PyAny>) = pair?.extract()?;
            dict.set_item(key, item)?;
        }
        return walk(dict.as_any(), path, depth);
    }
    Err(PyTypeError::new_err(format!(
        "{path}: cannot read a {} here; pass a dict, a list, text, an int, a decimal.Decimal, \
         a date or a datetime with a time zone",
        value.get_type().name()?
    )))
}

/// Whether `value` is a `decimal.Decimal` (the type looked up once per process).
fn is_decimal(value: &Bound<'_, PyAny>) -> PyResult<bool> {
    static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let decimal = DECIMAL.import(value.py(), "decimal", "Decimal")?;
    value.is_instance(decimal)
}

/// A `decimal.Decimal` as an exact JSON number; NaN and infinities are refused.
fn decimal(value: &Bound<'_, PyAny>, path: &str) -> PyResult<Value> {
    if !value.call_method0("is_finite")?.extract::<bool>()? {
        return Err(PyValueError::new_err(format!(
            "{path}: {} is not a finite number",
            value.repr()?
        )));
    }
    number(&value.str()?.to_cow()?, path)
}

/// Text in JSON number syntax (Python writes `1E+3` and `-0.00` that way too) as an exact
/// number: with serde_json's arbitrary precision the digits are kept as written.
fn number(text: &str, path: &str) -> PyResult<Value> {
    serde_json::from_str::<Number>(text)
        .map(Value::Number)
        .map_err(|_| PyValueError::new_err(format!("{path}: {text} is not a number")))
}

/// An exact number passed as an argument (`name`): a `decimal.Decimal`, an int or text; a float
/// is refused like anywhere else.
pub fn decimal_argument(value: &Bound<'_, PyAny>, name: &str) -> PyResult<rust_decimal::Decimal> {
    let text = match to_json(value, name)? {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s,
        other => {
            return Err(PyTypeError::new_err(format!(
                "{name}: {other} is not a number; pass a decimal.Decimal"
            )))
        }
    };
    rust_decimal::Decimal::from_str_exact(text.trim())
        .or_else(|_| rust_decimal::Decimal::from_scientific(text.trim()))
        .map_err(|_| PyValueError::new_err(format!("{name}: {text} is not a number")))
}
