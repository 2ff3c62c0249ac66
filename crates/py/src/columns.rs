//! Arrow columns read as the core's values: text, exact decimals, instants with their offsets
//! and dates. Each column is checked once for its type, so a float column where money is
//! expected is refused by name before any row is read, and values are then read row by row
//! without conversion through Python objects.

use arrow_array::cast::AsArray;
use arrow_array::timezone::Tz;
use arrow_array::types::{Date32Type, Decimal128Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, PrimitiveArray, StringArray};
use arrow_schema::{DataType, TimeUnit};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::PyResult;
use rust_decimal::Decimal;
use std::str::FromStr;
use std::sync::Arc;

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text (identifiers, categories, names).
    Text,
    /// An exact decimal: money, points, quantities.
    Decimal,
    /// An instant with its offset (`2026-03-14T12:30:00+03:00`).
    Instant,
    /// A calendar date.
    Date,
}

/// One column, cast to the one Arrow type its kind is read from.
pub struct Column {
    name: Arc<str>,
    values: Values,
}

enum Values {
    /// A column of nulls only (pandas and polars type an all-empty column so).
    Null,
    Text(StringArray),
    /// Decimal128 values and their scale.
    Decimal(PrimitiveArray<Decimal128Type>, u32),
    Whole(PrimitiveArray<Int64Type>),
    Instant(PrimitiveArray<TimestampMicrosecondType>, Tz),
    Date(PrimitiveArray<Date32Type>),
}

impl Column {
    /// Reads `array`, the column `name`, as `kind`; a type that cannot hold it is an error that
    /// names the column and says what to pass.
    pub fn new(name: &str, array: &ArrayRef, kind: Kind) -> PyResult<Column> {
        let data_type = array.data_type();
        let refuse = |expected: &str| {
            PyTypeError::new_err(format!(
                "column {name}: {data_type} where {expected} is expected"
            ))
        };
        let values = match kind {
            _ if *data_type == DataType::Null => Values::Null,
            Kind::Text => match data_type {
                DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Dictionary(_, _) => Values::Text(text(name, array)?),
                _ => return Err(refuse("text")),
            },
            Kind::Decimal => match data_type {
                DataType::Float16 | DataType::Float32 | DataType::Float64 => {
                    return Err(PyTypeError::new_err(format!(
                        "column {name}: {data_type}, and money, points and quantities are never \
                         floats; pass exact values: decimal.Decimal objects or a nullable \
                         \"Int64\" column (pandas), pl.Decimal or integer columns (polars, such \
                         as pl.col(\"{name}\").cast(pl.Decimal(scale=2))), decimal128 or integer \
                         columns (pyarrow), or text"
                    )))
                }
                DataType::Decimal32(_, scale)
                | DataType::Decimal64(_, scale)
                | DataType::Decimal128(_, scale)
                | DataType::Decimal256(_, scale) => {
                    let scale = u32::try_from(*scale)
                        .ok()
                        .filter(|s| *s <= 28)
                        .ok_or_else(|| refuse("a decimal of scale 0 to 28"))?;
                    let target = DataType::Decimal128(38, *array_scale(data_type));
                    let cast = cast(name, array, &target)?;
                    let values = cast
                        .as_primitive_opt::<Decimal128Type>()
                        .ok_or_else(|| refuse("a decimal"))?
                        .clone();
                    Values::Decimal(values, scale)
                }
                DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::UInt8
                | DataType::UInt16
                | DataType::UInt32
                | DataType::UInt64 => {
                    let cast = cast(name, array, &DataType::Int64)?;
                    Values::Whole(
                        cast.as_primitive_opt::<Int64Type>()
                            .ok_or_else(|| refuse("whole numbers"))?
                            .clone(),
                    )
                }
                DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Dictionary(_, _) => Values::Text(text(name, array)?),
                _ => return Err(refuse("an exact decimal")),
            },
            Kind::Instant => match data_type {
                DataType::Timestamp(_, Some(zone)) => {
                    let tz = Tz::from_str(zone).map_err(|e| {
                        PyValueError::new_err(format!("column {name}: time zone {zone}: {e}"))
                    })?;
                    let target = DataType::Timestamp(TimeUnit::Microsecond, Some(zone.clone()));
                    let cast = cast(name, array, &target)?;
                    Values::Instant(
                        cast.as_primitive_opt::<TimestampMicrosecondType>()
                            .ok_or_else(|| refuse("a timestamp"))?
                            .clone(),
                        tz,
                    )
                }
                DataType::Timestamp(_, None) => {
                    return Err(PyValueError::new_err(format!(
                        "column {name}: timestamps without a time zone; localize them (pandas: \
                         .dt.tz_localize(\"Europe/Moscow\"), polars: \
                         .dt.replace_time_zone(\"Europe/Moscow\")) or pass text with the offset, \
                         such as 2026-03-14T12:30:00+03:00"
                    )))
                }
                DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Dictionary(_, _) => Values::Text(text(name, array)?),
                _ => return Err(refuse("a timestamp with a time zone, or text")),
            },
            Kind::Date => match data_type {
                DataType::Date32 | DataType::Date64 => {
                    let cast = cast(name, array, &DataType::Date32)?;
                    Values::Date(
                        cast.as_primitive_opt::<Date32Type>()
                            .ok_or_else(|| refuse("a date"))?
                            .clone(),
                    )
                }
                DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Dictionary(_, _) => Values::Text(text(name, array)?),
                _ => return Err(refuse("a date, or text such as 2026-03-14")),
            },
        };
        Ok(Column {
            name: Arc::from(name),
            values,
        })
    }

    /// The column's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The text at `row`; None when null (or when the column is not text).
    pub fn text(&self, row: usize) -> Option<&str> {
        match &self.values {
            Values::Text(a) if a.is_valid(row) => Some(a.value(row)),
            _ => None,
        }
    }

    /// The exact number at `row`; None when null.
    pub fn decimal(&self, row: usize) -> PyResult<Option<Decimal>> {
        match &self.values {
            Values::Decimal(a, scale) if a.is_valid(row) => {
                Decimal::try_from_i128_with_scale(a.value(row), *scale)
                    .map(Some)
                    .map_err(|_| self.bad(row, "does not fit in 28 digits"))
            }
            Values::Whole(a) if a.is_valid(row) => Ok(Some(Decimal::from(a.value(row)))),
            Values::Text(a) if a.is_valid(row) => Decimal::from_str_exact(a.value(row).trim())
                .map(Some)
                .map_err(|_| self.bad(row, &format!("{:?} is not a number", a.value(row)))),
            _ => Ok(None),
        }
    }

    /// The instant at `row` with the offset of its zone; None when null.
    pub fn instant(&self, row: usize) -> PyResult<Option<DateTime<FixedOffset>>> {
        match &self.values {
            Values::Instant(a, tz) if a.is_valid(row) => {
                let micros = a.value(row);
                let at = tz
                    .timestamp_micros(micros)
                    .single()
                    .ok_or_else(|| self.bad(row, "is out of the calendar's range"))?;
                Ok(Some(at.fixed_offset()))
            }
            Values::Text(a) if a.is_valid(row) => puntos::eval::parse_instant(a.value(row))
                .map(Some)
                .map_err(|message| self.bad(row, &message)),
            _ => Ok(None),
        }
    }

    /// The date at `row`; None when null.
    pub fn date(&self, row: usize) -> PyResult<Option<NaiveDate>> {
        match &self.values {
            Values::Date(a) if a.is_valid(row) => {
                arrow_array::temporal_conversions::date32_to_datetime(a.value(row))
                    .map(|d| Some(d.date()))
                    .ok_or_else(|| self.bad(row, "is out of the calendar's range"))
            }
            Values::Text(a) if a.is_valid(row) => {
                NaiveDate::parse_from_str(a.value(row).trim(), "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| {
                        self.bad(
                            row,
                            &format!("{:?} is not a date such as 2026-03-14", a.value(row)),
                        )
                    })
            }
            _ => Ok(None),
        }
    }

    /// Whether rows `a` and `b` hold the same value (both null counts as the same).
    pub fn same(&self, a: usize, b: usize) -> bool {
        fn eq<T: PartialEq>(valid: (bool, bool), x: impl Fn() -> T, y: impl Fn() -> T) -> bool {
            match valid {
                (false, false) => true,
                (true, true) => x() == y(),
                _ => false,
            }
        }
        match &self.values {
            Values::Null => true,
            Values::Text(v) => eq((v.is_valid(a), v.is_valid(b)), || v.value(a), || v.value(b)),
            Values::Decimal(v, _) => {
                eq((v.is_valid(a), v.is_valid(b)), || v.value(a), || v.value(b))
            }
            Values::Whole(v) => eq((v.is_valid(a), v.is_valid(b)), || v.value(a), || v.value(b)),
            Values::Instant(v, _) => {
                eq((v.is_valid(a), v.is_valid(b)), || v.value(a), || v.value(b))
            }
            Values::Date(v) => eq((v.is_valid(a), v.is_valid(b)), || v.value(a), || v.value(b)),
        }
    }

    /// A value error at `row` of this column.
    fn bad(&self, row: usize, message: &str) -> pyo3::PyErr {
        PyValueError::new_err(format!("row {row}, column {}: {message}", self.name))
    }
}

/// The scale of a decimal type (0 for any other).
fn array_scale(data_type: &DataType) -> &i8 {
    match data_type {
        DataType::Decimal32(_, s)
        | DataType::Decimal64(_, s)
        | DataType::Decimal128(_, s)
        | DataType::Decimal256(_, s) => s,
        _ => &0,
    }
}

/// A text column of any Arrow string type (plain, large, view or dictionary-encoded), as plain
/// UTF-8.
fn text(name: &str, array: &ArrayRef) -> PyResult<StringArray> {
    let cast = cast(name, array, &DataType::Utf8)?;
    cast.as_string_opt::<i32>()
        .cloned()
        .ok_or_else(|| PyTypeError::new_err(format!("column {name}: cannot be read as text")))
}

fn cast(name: &str, array: &ArrayRef, to: &DataType) -> PyResult<ArrayRef> {
    arrow_cast::cast(array, to).map_err(|e| {
        PyTypeError::new_err(format!(
            "column {name}: cannot read {} as {to}: {e}",
            array.data_type()
        ))
    })
}
