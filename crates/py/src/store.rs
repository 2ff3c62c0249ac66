//! `puntos.Store`: a SQLite ledger (the file `puntos demo`, `puntos apply` and
//! `puntos.migrate(load=...)` write) for reads and applies from Python: accounts with their
//! balances, tiers and lots, the journal as a DataFrame, transactions applied with the ledger's
//! full semantics, accounts brought to a date.

use chrono::{DateTime, FixedOffset};
use puntos::eval::{Customer, Transaction};
use puntos::ledger::{AccountState, Incoming, Ledger, LedgerError, SqliteStore, Store as _};
use puntos::table::{Cell, Table};
use puntos::Versions;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use rust_decimal::Decimal;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::decision::Decision;
use crate::frames::Flavour;
use crate::input::read;
use crate::program::Program;

/// A ledger in a SQLite file. Transactions are applied under `programs` (one program, or its
/// effective-dated versions); a store opened without programs reads only.
#[pyclass(module = "puntos", frozen)]
pub struct Store {
    ledger: Mutex<Ledger<SqliteStore>>,
    path: PathBuf,
}

impl Store {
    /// Runs `work` on the ledger, the GIL released; a ledger's refusal is an `EvalError` (the
    /// evaluator's) or a `RuntimeError` (the store's).
    fn with<R: Send>(
        &self,
        py: Python<'_>,
        work: impl FnOnce(&mut Ledger<SqliteStore>) -> Result<R, LedgerError> + Send,
    ) -> PyResult<R> {
        let result = py.detach(|| {
            let mut ledger = self.ledger.lock().map_err(|_| {
                LedgerError::Store(puntos::ledger::StoreError(
                    "a previous call failed midway".to_string(),
                ))
            })?;
            work(&mut ledger)
        });
        result.map_err(|e| match e {
            LedgerError::Eval(error) => crate::errors::eval_error(py, &error),
            other => PyRuntimeError::new_err(other.to_string()),
        })
    }
}

#[pymethods]
impl Store {
    /// Opens (creating or upgrading) the SQLite ledger at `path`.
    #[staticmethod]
    #[pyo3(signature = (path, programs = None))]
    fn open(py: Python<'_>, path: PathBuf, programs: Option<&Bound<'_, PyAny>>) -> PyResult<Store> {
        let programs: Vec<puntos::Program> = match programs {
            None => Vec::new(),
            Some(p) => match p.cast::<Program>() {
                Ok(one) => vec![(**one.get().core()).clone()],
                Err(_) => p
                    .try_iter()?
                    .map(|item| Ok((**item?.cast::<Program>()?.get().core()).clone()))
                    .collect::<PyResult<_>>()?,
            },
        };
        let versions = Versions::new(programs).map_err(|e| PyValueError::new_err(e.to_string()))?;
        let store = py
            .detach(|| SqliteStore::open(&path))
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        Ok(Store {
            ledger: Mutex::new(Ledger::new(store, versions)),
            path,
        })
    }

    /// Opens an account with `id` and the customer's profile (a mapping, as `evaluate` reads).
    #[pyo3(signature = (id, customer = None))]
    fn open_account(
        &self,
        py: Python<'_>,
        id: &str,
        customer: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Account> {
        let customer: Customer = match customer {
            Some(c) => read(py, c, "customer")?,
            None => Customer {
                id: id.to_string(),
                ..Customer::default()
            },
        };
        let state = AccountState {
            id: id.to_string(),
            customer,
            ..AccountState::default()
        };
        self.with(py, |ledger| {
            ledger.open_account(state)?;
            ledger.account(id)
        })?
        .map(Account::from)
        .ok_or_else(|| PyRuntimeError::new_err(format!("account {id} was not opened")))
    }

    /// The account with this id, card number or alias; None when there is none.
    fn account(&self, py: Python<'_>, id: &str) -> PyResult<Option<Account>> {
        Ok(self
            .with(py, |ledger| ledger.account(id))?
            .map(Account::from))
    }

    /// Decides a transaction on `account`'s state and records it: lots, counters, tier,
    /// coupons, the journal. A refund names its purchase in `refund_of`; a signup brings the
    /// customer's profile. Applying the same transaction again returns its first decision.
    #[pyo3(signature = (transaction, *, account, refund_of = None, customer = None))]
    fn apply(
        &self,
        py: Python<'_>,
        transaction: &Bound<'_, PyAny>,
        account: &str,
        refund_of: Option<String>,
        customer: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Decision> {
        let incoming = incoming(py, transaction, account, refund_of, customer)?;
        let applied = self.with(py, |ledger| ledger.apply(&incoming))?;
        Ok(Decision::new(applied.decision().clone()))
    }

    /// The most points the transaction could pay with on the account as it stands.
    #[pyo3(signature = (transaction, *, account))]
    fn redeemable(
        &self,
        py: Python<'_>,
        transaction: &Bound<'_, PyAny>,
        account: &str,
    ) -> PyResult<Decimal> {
        let incoming = incoming(py, transaction, account, None, None)?;
        self.with(py, |ledger| ledger.redeemable(&incoming))
    }

    /// Brings one account (or, without `account`, every account) to `as_of`: pending points
    /// activate, points expire, all recorded. Returns the accounts visited.
    #[pyo3(signature = (as_of, *, account = None))]
    fn advance(
        &self,
        py: Python<'_>,
        as_of: DateTime<FixedOffset>,
        account: Option<String>,
    ) -> PyResult<u64> {
        self.with(py, |ledger| match &account {
            Some(id) => ledger.advance(id, as_of).map(|_| 1),
            None => ledger.advance_all(as_of).map(|done| done.accounts),
        })
    }

    /// The journal (of one account, or all), oldest first: seq, at, account, transaction,
    /// kind, lot, points, note.
    #[pyo3(signature = (account = None, *, frames = "pandas"))]
    fn journal<'py>(
        &self,
        py: Python<'py>,
        account: Option<String>,
        frames: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let flavour = Flavour::named(frames)?;
        let entries = self.with(py, |ledger| {
            let id = match &account {
                Some(a) => match ledger.account(a)? {
                    Some(state) => Some(state.id),
                    None => return Err(LedgerError::UnknownAccount(a.clone())),
                },
                None => None,
            };
            Ok(ledger
                .store_mut()
                .atomically(|session| session.journal(id.as_deref(), 0, usize::MAX))?)
        })?;
        let text = |t: &str| Cell::Text(t.to_string());
        let table = Table {
            name: "journal",
            columns: vec![
                "seq",
                "at",
                "account",
                "transaction",
                "kind",
                "lot",
                "points",
                "note",
            ],
            rows: entries
                .iter()
                .map(|e| {
                    vec![
                        Cell::Count(e.seq),
                        Cell::Text(e.at.to_rfc3339()),
                        text(&e.account),
                        e.transaction.as_deref().map_or(Cell::Empty, text),
                        Cell::Text(format!("{:?}", e.kind).to_lowercase()),
                        e.lot.as_deref().map_or(Cell::Empty, text),
                        Cell::Number(e.points),
                        text(&e.note),
                    ]
                })
                .collect(),
        };
        flavour.table(py, &table)
    }

    /// Checks the journal's hash chain; returns the entries verified, raises RuntimeError
    /// naming the first broken entry.
    fn verify(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, |ledger| ledger.verify())?
            .map_err(|broken| PyRuntimeError::new_err(format!("journal broken: {broken}")))
    }

    fn __repr__(&self) -> String {
        format!("<Store {}>", self.path.display())
    }
}

/// A ledger row of Python inputs.
fn incoming(
    py: Python<'_>,
    transaction: &Bound<'_, PyAny>,
    account: &str,
    refund_of: Option<String>,
    customer: Option<&Bound<'_, PyAny>>,
) -> PyResult<Incoming> {
    let transaction: Transaction = read(py, transaction, "transaction")?;
    let customer: Option<Customer> = customer
        .filter(|c| !c.is_none())
        .map(|c| read(py, c, "customer"))
        .transpose()?;
    Ok(Incoming {
        account: account.to_string(),
        refund_of,
        customer,
        transaction,
    })
}

/// An account as the ledger holds it.
#[pyclass(module = "puntos", frozen)]
pub struct Account {
    state: AccountState,
}

impl From<AccountState> for Account {
    fn from(state: AccountState) -> Account {
        Account { state }
    }
}

#[pymethods]
impl Account {
    /// Its id.
    #[getter]
    fn id(&self) -> String {
        self.state.id.clone()
    }

    /// Points held: available and pending.
    #[getter]
    fn balance(&self) -> Decimal {
        self.state.balance()
    }

    /// Points the customer can spend.
    #[getter]
    fn available(&self) -> Decimal {
        self.state.available()
    }

    /// Points earned and not yet spendable.
    #[getter]
    fn pending(&self) -> Decimal {
        self.state.pending()
    }

    /// The tier held, if any.
    #[getter]
    fn tier(&self) -> Option<String> {
        self.state.tier.as_ref().map(|t| t.name.clone())
    }

    /// The last day the tier is kept, if limited.
    #[getter]
    fn tier_until(&self) -> Option<chrono::NaiveDate> {
        self.state.tier.as_ref().and_then(|t| t.until)
    }

    /// Card numbers and other aliases the account is found by.
    #[getter]
    fn aliases(&self) -> Vec<String> {
        self.state.aliases.clone()
    }

    /// Its lots: (id, source, points, remaining, earned_at, available_at, expires_at).
    #[getter]
    #[allow(clippy::type_complexity)]
    fn lots(
        &self,
    ) -> Vec<(
        String,
        String,
        Decimal,
        Decimal,
        DateTime<FixedOffset>,
        Option<DateTime<FixedOffset>>,
        Option<DateTime<FixedOffset>>,
    )> {
        self.state
            .lots
            .iter()
            .map(|l| {
                (
                    l.id.clone(),
                    l.source.clone(),
                    l.points,
                    l.remaining,
                    l.earned_at,
                    l.available_at,
                    l.expires_at,
                )
            })
            .collect()
    }

    /// The whole state as JSON, as the ledger stores it.
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string_pretty(&self.state)
            .map_err(|e| PyValueError::new_err(format!("the account as JSON: {e}")))
    }

    fn __repr__(&self) -> String {
        format!(
            "<Account {}: {} points ({} available, {} pending){}>",
            self.state.id,
            self.state.balance(),
            self.state.available(),
            self.state.pending(),
            self.state
                .tier
                .as_ref()
                .map_or(String::new(), |t| format!(", tier {}", t.name))
        )
    }
}
