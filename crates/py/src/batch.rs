//! Tables of basket lines (one row per line, keyed by `transaction_id`) read as transactions:
//! `Program.evaluate_batch` decides them on every core and gives a table with one row per
//! transaction back (points in all and per rule or promotion, discounts, redemption);
//! `puntos.simulate(history=...)` replays them, account by account, through the ledger.
//!
//! The table's columns are read in place (Arrow), the contexts built directly, and the
//! decisions are the core's: nothing here decides anything. Transactions are decided in chunks,
//! so memory holds one chunk of contexts and decisions however long the table.

use arrow_array::builder::{Decimal128Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use puntos::eval::{
    parse_duration, AccountView, Context, Customer, Decision, Effect, EvalError, EvalOptions,
    HeldTier, Line, Transaction,
};
use puntos::fast_hash::{HashMap, HashSet};
use puntos::ledger::Incoming;
use puntos::program::Duration;
use puntos::Program;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::PyErr;
use rayon::prelude::*;
use rust_decimal::Decimal;
use std::sync::Arc;

use crate::columns::{Column, Kind};

/// Transactions decided together (in parallel), then written out and dropped.
const CHUNK: usize = 8_192;

/// What to do with a transaction the evaluator refuses.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Raise `EvalError` for the first one, naming its rows and field.
    Raise,
    /// Write the error's text in the `error` column and go on.
    Column,
}

/// What a table is read for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Deciding each transaction on its own: the account's state is given in columns.
    Evaluate,
    /// Replaying a history through a ledger: each row names its `account` (and a refund its
    /// `refund_of`); the ledger keeps the accounts' state, so state columns are refused.
    History,
}

/// A column read once per transaction (from its first row; every row must agree).
#[derive(Clone, Copy)]
enum PerTransaction {
    Kind,
    Channel,
    Currency,
    StoreId,
    StoreRegion,
    StoreCity,
    StoreFormat,
    StorePartner,
    Redeem,
    Coupon,
    CustomerId,
    CustomerStatus,
    BirthDate,
    EnrolledAt,
    Available,
    Pending,
    Tier,
    TierUntil,
    LastPurchase,
    Spend(Duration),
    Visits(Duration),
}

impl PerTransaction {
    /// Whether the column gives the account's state, which a history's ledger keeps itself.
    fn is_account_state(self) -> bool {
        matches!(
            self,
            PerTransaction::Available
                | PerTransaction::Pending
                | PerTransaction::Tier
                | PerTransaction::TierUntil
                | PerTransaction::LastPurchase
                | PerTransaction::Spend(_)
                | PerTransaction::Visits(_)
        )
    }
}

/// The error for an account-state column in a history.
fn state_in_history(column: &str) -> PyErr {
    PyValueError::new_err(format!(
        "column {column}: a history is replayed through a ledger, which keeps each account's \
         points, tier and spend itself; leave the column out"
    ))
}

/// The columns per transaction, with the kind each is read as.
const PER_TRANSACTION: &[(&str, PerTransaction, Kind)] = &[
    ("kind", PerTransaction::Kind, Kind::Text),
    ("channel", PerTransaction::Channel, Kind::Text),
    ("currency", PerTransaction::Currency, Kind::Text),
    ("store_id", PerTransaction::StoreId, Kind::Text),
    ("store_region", PerTransaction::StoreRegion, Kind::Text),
    ("store_city", PerTransaction::StoreCity, Kind::Text),
    ("store_format", PerTransaction::StoreFormat, Kind::Text),
    ("store_partner", PerTransaction::StorePartner, Kind::Text),
    ("redeem", PerTransaction::Redeem, Kind::Decimal),
    ("coupon", PerTransaction::Coupon, Kind::Text),
    ("customer_id", PerTransaction::CustomerId, Kind::Text),
    (
        "customer_status",
        PerTransaction::CustomerStatus,
        Kind::Text,
    ),
    ("birth_date", PerTransaction::BirthDate, Kind::Date),
    ("enrolled_at", PerTransaction::EnrolledAt, Kind::Date),
    ("available", PerTransaction::Available, Kind::Decimal),
    ("pending", PerTransaction::Pending, Kind::Decimal),
    ("tier", PerTransaction::Tier, Kind::Text),
    ("tier_until", PerTransaction::TierUntil, Kind::Date),
    ("last_purchase", PerTransaction::LastPurchase, Kind::Date),
];

/// The columns per basket line.
const PER_LINE: &[&str] = &[
    "sku",
    "name",
    "category",
    "brand",
    "unit_price",
    "quantity",
    "amount",
];

/// The columns of one table, by role.
struct Layout {
    id: Column,
    time: Column,
    /// History: the account of each transaction, and the purchase a refund returns.
    account: Option<Column>,
    refund_of: Option<Column>,
    original_line: Option<Column>,
    per_transaction: Vec<(PerTransaction, Column)>,
    sku: Option<Column>,
    name: Option<Column>,
    category: Option<Column>,
    brand: Option<Column>,
    unit_price: Option<Column>,
    quantity: Option<Column>,
    amount: Option<Column>,
}

impl Layout {
    /// Sorts the table's columns into their roles; a column of no role is an error unless
    /// `ignore` names it.
    fn new(batch: &RecordBatch, ignore: &[String], mode: Mode) -> PyResult<Layout> {
        let schema = batch.schema();
        let mut by_name: HashMap<&str, &ArrayRef> = HashMap::default();
        for (field, array) in schema.fields().iter().zip(batch.columns()) {
            if ignore.iter().any(|i| i == field.name()) {
                continue;
            }
            if by_name.insert(field.name(), array).is_some() {
                return Err(PyValueError::new_err(format!(
                    "column {} appears twice",
                    field.name()
                )));
            }
        }
        let mut take = |name: &str, kind: Kind| -> PyResult<Option<Column>> {
            by_name
                .remove(name)
                .map(|array| Column::new(name, array, kind))
                .transpose()
        };
        let required = |column: Option<Column>, name: &str| {
            column.ok_or_else(|| {
                PyValueError::new_err(format!(
                    "column {name} is missing: a batch needs transaction_id, time and, for \
                     baskets, unit_price (one row per basket line)"
                ))
            })
        };
        let id = required(take("transaction_id", Kind::Text)?, "transaction_id")?;
        let time = required(take("time", Kind::Instant)?, "time")?;
        let (account, refund_of, original_line) = match mode {
            Mode::Evaluate => (None, None, None),
            Mode::History => (
                Some(required(take("account", Kind::Text)?, "account")?),
                take("refund_of", Kind::Text)?,
                take("original_line", Kind::Decimal)?,
            ),
        };
        let mut per_transaction = Vec::new();
        for (name, role, kind) in PER_TRANSACTION {
            if let Some(column) = take(name, *kind)? {
                if mode == Mode::History && role.is_account_state() {
                    return Err(state_in_history(name));
                }
                per_transaction.push((*role, column));
            }
        }
        let sku = take("sku", Kind::Text)?;
        let name = take("name", Kind::Text)?;
        let category = take("category", Kind::Text)?;
        let brand = take("brand", Kind::Text)?;
        let unit_price = take("unit_price", Kind::Decimal)?;
        let quantity = take("quantity", Kind::Decimal)?;
        let amount = take("amount", Kind::Decimal)?;
        // History windows: spend_12_months is account.spend["12 months"].
        let mut rest: Vec<&str> = by_name.keys().copied().collect();
        rest.sort_unstable();
        let mut unknown = Vec::new();
        for column in rest {
            let window = |prefix: &str| {
                column
                    .strip_prefix(prefix)
                    .and_then(|w| parse_duration(&w.replace('_', " ")).ok())
            };
            let role = if let Some(d) = window("spend_") {
                PerTransaction::Spend(d)
            } else if let Some(d) = window("visits_") {
                PerTransaction::Visits(d)
            } else {
                unknown.push(column);
                continue;
            };
            if mode == Mode::History {
                return Err(state_in_history(column));
            }
            if let Some(array) = by_name.get(column) {
                per_transaction.push((role, Column::new(column, array, Kind::Decimal)?));
            }
        }
        if !unknown.is_empty() {
            let known: Vec<&str> = match mode {
                Mode::Evaluate => ["transaction_id", "time"]
                    .into_iter()
                    .chain(PER_TRANSACTION.iter().map(|(n, _, _)| *n))
                    .chain(PER_LINE.iter().copied())
                    .chain(["spend_<window>", "visits_<window>"])
                    .collect(),
                Mode::History => ["transaction_id", "time", "account", "refund_of"]
                    .into_iter()
                    .chain(
                        PER_TRANSACTION
                            .iter()
                            .filter(|(_, role, _)| !role.is_account_state())
                            .map(|(n, _, _)| *n),
                    )
                    .chain(PER_LINE.iter().copied())
                    .chain(["original_line"])
                    .collect(),
            };
            return Err(PyValueError::new_err(format!(
                "column{} {} {} not read {}; leave {} out with ignore=[...]. The columns read \
                 are: {}",
                if unknown.len() == 1 { "" } else { "s" },
                unknown.join(", "),
                if unknown.len() == 1 { "is" } else { "are" },
                match mode {
                    Mode::Evaluate => "by evaluate_batch",
                    Mode::History => "in a history",
                },
                if unknown.len() == 1 { "it" } else { "them" },
                known.join(", ")
            )));
        }
        Ok(Layout {
            id,
            time,
            account,
            refund_of,
            original_line,
            per_transaction,
            sku,
            name,
            category,
            brand,
            unit_price,
            quantity,
            amount,
        })
    }

    /// The context of the transaction starting at `row`, without its lines.
    fn context(&self, row: usize, id: &str) -> PyResult<Context> {
        let time = self.time.instant(row)?.ok_or_else(|| {
            PyValueError::new_err(format!(
                "row {row}, column time: empty; give every row a time"
            ))
        })?;
        let mut tx = Transaction {
            id: Arc::from(id),
            time,
            ..Transaction::default()
        };
        let mut customer = Customer::default();
        let mut account = AccountView::default();
        let text = |c: &Column| c.text(row).map(str::to_string);
        let name = |c: &Column| c.text(row).map(Arc::from).unwrap_or_default();
        for (role, column) in &self.per_transaction {
            match role {
                PerTransaction::Kind => {
                    if let Some(kind) = column.text(row) {
                        tx.kind = Arc::from(kind);
                    }
                }
                PerTransaction::Channel => tx.channel = text(column).unwrap_or_default(),
                PerTransaction::Currency => tx.currency = text(column),
                PerTransaction::StoreId => tx.store.id = name(column),
                PerTransaction::StoreRegion => tx.store.region = name(column),
                PerTransaction::StoreCity => tx.store.city = name(column),
                PerTransaction::StoreFormat => tx.store.format = name(column),
                PerTransaction::StorePartner => {
                    tx.store.partner = name(column);
                }
                PerTransaction::Redeem => tx.redeem = column.decimal(row)?,
                PerTransaction::Coupon => tx.coupons = text(column).into_iter().collect(),
                PerTransaction::CustomerId => customer.id = text(column).unwrap_or_default(),
                PerTransaction::CustomerStatus => {
                    customer.status = text(column).unwrap_or_default();
                }
                PerTransaction::BirthDate => customer.birth_date = column.date(row)?,
                PerTransaction::EnrolledAt => customer.enrolled_at = column.date(row)?,
                PerTransaction::Available => {
                    account.available = column.decimal(row)?.unwrap_or_default();
                }
                PerTransaction::Pending => {
                    account.pending = column.decimal(row)?.unwrap_or_default();
                }
                PerTransaction::Tier => {
                    account.tier = text(column).map(|name| HeldTier { name, until: None });
                }
                PerTransaction::TierUntil => {
                    // Read after `tier` (the order of PER_TRANSACTION).
                    let until = column.date(row)?;
                    match account.tier.as_mut() {
                        Some(tier) => tier.until = until,
                        None if until.is_some() => {
                            return Err(PyValueError::new_err(format!(
                                "row {row}, column tier_until: a date without a tier; give the \
                                 tier column too"
                            )))
                        }
                        None => {}
                    }
                }
                PerTransaction::LastPurchase => account.last_purchase = column.date(row)?,
                PerTransaction::Spend(window) => {
                    if let Some(v) = column.decimal(row)? {
                        account.spend.push((*window, v));
                    }
                }
                PerTransaction::Visits(window) => {
                    if let Some(v) = column.decimal(row)? {
                        account.visits.push((*window, v));
                    }
                }
            }
        }
        Ok(Context {
            transaction: tx,
            customer,
            account,
            as_of: None,
        })
    }

    /// The basket line of `row`, if the row carries one (a row without a unit price is the
    /// transaction alone: a signup, a birthday).
    fn line(&self, row: usize) -> PyResult<Option<Line>> {
        let Some(unit_price) = self
            .unit_price
            .as_ref()
            .map(|c| c.decimal(row))
            .transpose()?
            .flatten()
        else {
            return Ok(None);
        };
        let text = |c: &Option<Column>| {
            c.as_ref()
                .and_then(|c| c.text(row))
                .map(Arc::from)
                .unwrap_or_default()
        };
        let number = |c: &Option<Column>| c.as_ref().map(|c| c.decimal(row)).transpose();
        Ok(Some(Line {
            sku: text(&self.sku),
            name: text(&self.name),
            category: text(&self.category),
            brand: text(&self.brand),
            unit_price,
            quantity: number(&self.quantity)?.flatten().unwrap_or(Decimal::ONE),
            amount: number(&self.amount)?.flatten(),
            original_line: number(&self.original_line)?
                .flatten()
                .map(|i| {
                    usize::try_from(i.trunc().mantissa())
                        .ok()
                        .filter(|_| i.fract().is_zero())
                        .ok_or_else(|| {
                            PyValueError::new_err(format!(
                                "row {row}, column original_line: {i} is not a line index"
                            ))
                        })
                })
                .transpose()?,
        }))
    }

    /// The column per transaction on which `row` disagrees with the transaction's first row.
    fn disagreement(&self, first: usize, row: usize) -> Option<&str> {
        std::iter::once(&self.time)
            .chain(self.per_transaction.iter().map(|(_, c)| c))
            .find(|c| !c.same(first, row))
            .map(Column::name)
    }

    /// The transaction of `span`, read from its rows, which must agree on its own columns.
    fn read(&self, span: Span) -> PyResult<Context> {
        let id = self.id.text(span.first).unwrap_or_default();
        let mut context = self.context(span.first, id)?;
        context.transaction.lines.reserve_exact(span.rows);
        for row in span.first..=span.last() {
            if row > span.first {
                if let Some(column) = self.disagreement(span.first, row) {
                    return Err(PyValueError::new_err(format!(
                        "row {row}, column {column}: differs from row {} of the same \
                         transaction {id}; a transaction's own columns must agree on all its \
                         rows",
                        span.first
                    )));
                }
            }
            if let Some(line) = self.line(row)? {
                context.transaction.lines.push(line);
            }
        }
        Ok(context)
    }

    /// The row of line `index` of the transaction of `span`.
    fn row_of_line(&self, span: Span, index: usize) -> Option<usize> {
        let price = self.unit_price.as_ref()?;
        (span.first..=span.last())
            .filter(|&r| price.decimal(r).ok().flatten().is_some())
            .nth(index)
    }
}

/// The rows of one transaction: they are together, from `first` on.
#[derive(Clone, Copy)]
struct Span {
    first: usize,
    rows: usize,
}

impl Span {
    fn last(self) -> usize {
        self.first + self.rows - 1
    }
}

/// Decides every transaction of `batch` (all rows of the table) and returns the output table's
/// batches and schema. Transactions are read from their rows and decided on every core, a
/// chunk at a time; their rows are written out in order.
pub fn evaluate(
    py: Python<'_>,
    program: &Arc<Program>,
    batch: &RecordBatch,
    ignore: &[String],
    on_error: OnError,
) -> PyResult<(Vec<RecordBatch>, SchemaRef)> {
    let layout = Layout::new(batch, ignore, Mode::Evaluate)?;
    let spans = spans(&layout, batch.num_rows())?;
    let mut output = Output::new(program, on_error)?;
    let mut batches = Vec::new();
    let options = EvalOptions::default();
    for chunk in spans.chunks(CHUNK) {
        // Read, decided and reduced to the row's figures on the cores; only appending the rows
        // is left to this thread.
        let reading = &output.reading;
        let decided: Vec<PyResult<Result<Figures, EvalError>>> = py.detach(|| {
            chunk
                .par_iter()
                .map(
                    |&span| match program.evaluate_with(&layout.read(span)?, &options) {
                        Ok(decision) => Ok(Ok(reading.figures(&decision)?)),
                        Err(error) => Ok(Err(error)),
                    },
                )
                .collect()
        });
        // In row order: the first unreadable row, or refused transaction, is the one reported.
        for (&span, decided) in chunk.iter().zip(decided) {
            let id = layout.id.text(span.first).unwrap_or_default();
            match decided? {
                Ok(figures) => output.push(id, &figures),
                Err(error) => {
                    let place = place(&layout, span, id, &error);
                    match output.on_error {
                        OnError::Column => output.push_error(id, &format!("{place}: {error}")),
                        OnError::Raise => {
                            let raised = crate::errors::eval_error(py, &error);
                            let value = raised.value(py);
                            value.setattr("row", place.row)?;
                            value.setattr("transaction", id)?;
                            value.setattr("args", (format!("{place}: {error}"),))?;
                            return Err(raised);
                        }
                    }
                }
            }
        }
        batches.push(output.finish()?);
    }
    if batches.is_empty() {
        batches.push(output.finish()?);
    }
    Ok((batches, output.schema))
}

/// Reads every transaction of `batch` as a history row for the ledger: the account, the
/// transaction, a refund's purchase, and on a signup the customer's profile.
pub fn history(batch: &RecordBatch, ignore: &[String]) -> PyResult<Vec<Incoming>> {
    let layout = Layout::new(batch, ignore, Mode::History)?;
    let mut history = Vec::new();
    for span in spans(&layout, batch.num_rows())? {
        let row = span.first;
        let account = layout
            .account
            .as_ref()
            .and_then(|c| c.text(row))
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "row {row}, column account: empty; every transaction names its account"
                ))
            })?;
        let context = layout.read(span)?;
        let signup = &*context.transaction.kind == "signup";
        history.push(Incoming {
            account: account.to_string(),
            refund_of: layout
                .refund_of
                .as_ref()
                .and_then(|c| c.text(row))
                .map(str::to_string),
            customer: signup.then_some(context.customer),
            transaction: context.transaction,
        });
    }
    Ok(history)
}

/// The rows of each transaction, in order: a transaction's rows must be together.
fn spans(layout: &Layout, rows: usize) -> PyResult<Vec<Span>> {
    let mut spans: Vec<Span> = Vec::new();
    // Room for a transaction every two rows (a usual basket has more lines), so the set seldom
    // grows while it is filled.
    let mut seen: HashSet<&str> = HashSet::with_capacity_and_hasher(rows / 2, Default::default());
    for row in 0..rows {
        let id = layout.id.text(row).ok_or_else(|| {
            PyValueError::new_err(format!(
                "row {row}, column transaction_id: empty; every row names its transaction"
            ))
        })?;
        if let Some(open) = spans
            .last_mut()
            .filter(|s| layout.id.text(s.first) == Some(id))
        {
            open.rows += 1;
            continue;
        }
        if !seen.insert(id) {
            return Err(PyValueError::new_err(format!(
                "row {row}: transaction {id} appeared before, not on the row just above; a \
                 transaction's rows must be together (sort by transaction_id with a stable \
                 sort first)"
            )));
        }
        spans.push(Span {
            first: row,
            rows: 1,
        });
    }
    Ok(spans)
}

/// Where in the table an error lies: the row of the line it names, or the transaction's first.
struct Place<'a> {
    row: usize,
    span: Span,
    transaction: &'a str,
}

impl std::fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (first, last) = (self.span.first, self.span.last());
        if first == last {
            write!(f, "row {first} (transaction {})", self.transaction)
        } else if self.row != first {
            write!(
                f,
                "row {} (transaction {}, rows {first}-{last})",
                self.row, self.transaction
            )
        } else {
            write!(f, "rows {first}-{last} (transaction {})", self.transaction)
        }
    }
}

fn place<'a>(layout: &Layout, span: Span, transaction: &'a str, error: &EvalError) -> Place<'a> {
    let line = error
        .field()
        .and_then(|f| f.strip_prefix("transaction.lines["))
        .and_then(|rest| rest.split(']').next())
        .and_then(|i| i.parse::<usize>().ok());
    let row = line
        .and_then(|i| layout.row_of_line(span, i))
        .unwrap_or(span.first);
    Place {
        row,
        span,
        transaction,
    }
}

/// How a decision becomes its row's figures, in the output's scales.
struct Reading {
    points_scale: u32,
    money_scale: u32,
    /// The column of each rule and promotion, by name.
    source_column: HashMap<Arc<str>, usize>,
}

/// A decided transaction's row: its figures as whole units of their columns' scales.
struct Figures {
    points: i128,
    by_source: Vec<i128>,
    discount: i128,
    redeemed: i128,
    redeemed_value: i128,
}

impl Reading {
    /// The figures of `decision`'s row.
    fn figures(&self, decision: &Decision) -> PyResult<Figures> {
        let mut per_source = vec![Decimal::ZERO; self.source_column.len()];
        let (mut value, mut redeemed) = (Decimal::ZERO, Decimal::ZERO);
        for effect in &decision.effects {
            let (name, points) = match effect {
                Effect::Earn { source, points, .. } => (source.name(), *points),
                Effect::ReverseEarn { source, points, .. } => (source.name(), -*points),
                Effect::Redeem {
                    points, value: v, ..
                } => {
                    redeemed += *points;
                    value += *v;
                    continue;
                }
                Effect::ReturnRedeemed {
                    points, value: v, ..
                } => {
                    redeemed -= *points;
                    value -= *v;
                    continue;
                }
                _ => continue,
            };
            if let Some(slot) = self
                .source_column
                .get(name)
                .and_then(|&i| per_source.get_mut(i))
            {
                *slot += points;
            }
        }
        let (ps, ms) = (self.points_scale, self.money_scale);
        Ok(Figures {
            points: units(decision.points_earned(), ps, "points")?,
            by_source: per_source
                .into_iter()
                .map(|points| units(points, ps, "points"))
                .collect::<PyResult<_>>()?,
            discount: units(decision.discount_total(), ms, "discount")?,
            redeemed: units(redeemed, ps, "redeemed")?,
            redeemed_value: units(value, ms, "redeemed_value")?,
        })
    }
}

/// The output table: one row per transaction.
struct Output {
    schema: SchemaRef,
    on_error: OnError,
    reading: Reading,
    ids: StringBuilder,
    points: Decimal128Builder,
    by_source: Vec<Decimal128Builder>,
    discount: Decimal128Builder,
    redeemed: Decimal128Builder,
    redeemed_value: Decimal128Builder,
    error: StringBuilder,
}

impl Output {
    fn new(program: &Program, on_error: OnError) -> PyResult<Output> {
        let points_scale = program.points.precision;
        let money_scale = puntos::schema::currency_decimals(&program.currency);
        let decimal = |scale: u32| {
            i8::try_from(scale)
                .map(|s| DataType::Decimal128(38, s))
                .map_err(|_| PyValueError::new_err("a scale beyond 127"))
        };
        let sources: Vec<Arc<str>> = program
            .rules
            .iter()
            .chain(program.promotions.iter().map(|p| &p.accrual))
            .map(|a| Arc::clone(&a.name))
            .collect();
        let mut fields = vec![
            Field::new("transaction_id", DataType::Utf8, false),
            Field::new("points", decimal(points_scale)?, true),
        ];
        for name in &sources {
            fields.push(Field::new(
                format!("points_{name}"),
                decimal(points_scale)?,
                true,
            ));
        }
        fields.push(Field::new("discount", decimal(money_scale)?, true));
        fields.push(Field::new("redeemed", decimal(points_scale)?, true));
        fields.push(Field::new("redeemed_value", decimal(money_scale)?, true));
        if on_error == OnError::Column {
            fields.push(Field::new("error", DataType::Utf8, true));
        }
        let builder = |scale: u32| -> PyResult<Decimal128Builder> {
            Decimal128Builder::new()
                .with_precision_and_scale(38, i8::try_from(scale).unwrap_or(0))
                .map_err(|e| PyValueError::new_err(e.to_string()))
        };
        Ok(Output {
            schema: Arc::new(Schema::new(fields)),
            on_error,
            reading: Reading {
                points_scale,
                money_scale,
                source_column: sources
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (Arc::clone(n), i))
                    .collect(),
            },
            ids: StringBuilder::new(),
            points: builder(points_scale)?,
            by_source: sources
                .iter()
                .map(|_| builder(points_scale))
                .collect::<PyResult<_>>()?,
            discount: builder(money_scale)?,
            redeemed: builder(points_scale)?,
            redeemed_value: builder(money_scale)?,
            error: StringBuilder::new(),
        })
    }

    /// Writes a decided transaction's row.
    fn push(&mut self, id: &str, figures: &Figures) {
        self.ids.append_value(id);
        self.points.append_value(figures.points);
        for (builder, &points) in self.by_source.iter_mut().zip(&figures.by_source) {
            builder.append_value(points);
        }
        self.discount.append_value(figures.discount);
        self.redeemed.append_value(figures.redeemed);
        self.redeemed_value.append_value(figures.redeemed_value);
        if self.on_error == OnError::Column {
            self.error.append_null();
        }
    }

    /// Writes a refused transaction's row: its id and the error, no figures.
    fn push_error(&mut self, id: &str, message: &str) {
        self.ids.append_value(id);
        self.points.append_null();
        for builder in &mut self.by_source {
            builder.append_null();
        }
        self.discount.append_null();
        self.redeemed.append_null();
        self.redeemed_value.append_null();
        self.error.append_value(message);
    }

    /// The rows written since the last call, as one batch.
    fn finish(&mut self) -> PyResult<RecordBatch> {
        let mut columns: Vec<ArrayRef> =
            vec![Arc::new(self.ids.finish()), Arc::new(self.points.finish())];
        for builder in &mut self.by_source {
            columns.push(Arc::new(builder.finish()));
        }
        columns.push(Arc::new(self.discount.finish()));
        columns.push(Arc::new(self.redeemed.finish()));
        columns.push(Arc::new(self.redeemed_value.finish()));
        if self.on_error == OnError::Column {
            columns.push(Arc::new(self.error.finish()));
        }
        RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .map_err(|e| PyValueError::new_err(format!("the result table: {e}")))
    }
}

/// `value` as whole units of `scale` decimal places, for a decimal128 column.
fn units(value: Decimal, scale: u32, column: &str) -> PyResult<i128> {
    // Already at the scale, or below it (the mantissa widened): no decimal arithmetic.
    if let Some(widen) = scale.checked_sub(value.scale()) {
        if let Some(units) = 10i128
            .checked_pow(widen)
            .and_then(|power| value.mantissa().checked_mul(power))
        {
            return Ok(units);
        }
    }
    let mut scaled = value;
    scaled.rescale(scale);
    if scaled.scale() != scale || scaled != value {
        return Err(PyValueError::new_err(format!(
            "{column}: {value} does not fit {scale} decimal places"
        )));
    }
    Ok(scaled.mantissa())
}
