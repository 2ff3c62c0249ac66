//! Tables of rows, the shape in which the core hands over figures people read in bulk: the
//! command line writes them as CSV files, the Python binding as DataFrames, from one layout.

use rust_decimal::Decimal;

/// One value of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Text: a month, a program's side, a name, an account.
    Text(String),
    /// An exact number of points or money.
    Number(Decimal),
    /// A count.
    Count(u64),
    /// No value.
    Empty,
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Text(t) => f.write_str(t),
            Cell::Number(n) => write!(f, "{n}"),
            Cell::Count(n) => write!(f, "{n}"),
            Cell::Empty => Ok(()),
        }
    }
}

/// A table: its name (the CSV file's stem), column names and rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// What it holds, such as `months` or `reconciliation`.
    pub name: &'static str,
    /// The column names.
    pub columns: Vec<&'static str>,
    /// The rows, each as long as `columns`.
    pub rows: Vec<Vec<Cell>>,
}
