//! The evaluator: a compiled [`Program`] and a [`Context`] in, a [`Decision`] out.
//!
//! Evaluation is pure: no I/O, no clock, no randomness; the same program and context give the
//! same decision, byte for byte once serialized. Stages run in a fixed order (see
//! [`engine`](self) docs in the source): item offers, coupons, accrual, redemption, refund
//! reversal, coupon issue, tier change. The README's language reference states every rule of
//! the semantics.
//!
//! ```
//! use puntos::compile;
//! use puntos::eval::Context;
//! use puntos_dsl::SourceFile;
//!
//! let source = SourceFile::new("club.pts", r#"
//! program "Club" { currency RUB  timezone "Europe/Moscow" }
//! rule base { on purchase  earn floor(item.amount / 10 RUB) points for each item }
//! "#);
//! let program = compile(&source).program.unwrap();
//! let context = Context::from_json(r#"{"transaction": {
//!     "time": "2026-03-14T12:30:00+03:00",
//!     "lines": [{"sku": "A1", "unit_price": 199.90, "quantity": 2}]
//! }}"#).unwrap();
//! let decision = program.evaluate(&context).unwrap();
//! assert_eq!(decision.points_earned().to_string(), "39");
//! ```

mod accrual;
mod calendar;
mod context;
mod coupons;
mod decision;
mod engine;
mod error;
mod explain;
mod expr;
pub(crate) mod fixed;
mod offers;
mod plan;
mod redemption;
mod refund;
mod rounding;
mod spread;
mod tiers;
mod trace;
mod validate;

pub use calendar::period_start;
pub(crate) use calendar::{HistoryWindow, Now};
pub(crate) use context::Parts;
pub use context::{
    parse_duration, parse_instant, AccountView, Consent, Context, Customer, HeldCoupon, HeldTier,
    Line, RefundOf, RefundedUnits, Store, Transaction,
};
pub use decision::{
    DecidedLine, Decision, Effect, Fact, RefusedCoupon, Share, Shares, Source, Step,
};
pub use error::EvalError;
pub(crate) use plan::{leaves, Leaf, Plan};

/// The instant a program moment starts: a date is the start of that day in `tz`.
pub(crate) fn moment_start_of(
    moment: crate::program::Moment,
    tz: chrono_tz::Tz,
) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    calendar::moment_start(moment, tz)
}

use crate::program::Program;
use engine::Engine;
use trace::{Recording, Silent};

/// Limits and switches for one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalOptions {
    /// Record a trace of every rule, promotion, coupon and offer.
    pub trace: bool,
    /// The most basket lines accepted.
    pub max_lines: usize,
    /// The most coupon codes accepted on one transaction.
    pub max_coupons: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            trace: false,
            max_lines: 10_000,
            max_coupons: 20,
        }
    }
}

impl Program {
    /// Decides `context` without a trace.
    pub fn evaluate(&self, context: &Context) -> Result<Decision, EvalError> {
        Engine::run(self, context.parts(), &EvalOptions::default(), Silent)
    }

    /// Decides `context` and records why, step by step.
    pub fn evaluate_traced(&self, context: &Context) -> Result<Decision, EvalError> {
        Engine::run(
            self,
            context.parts(),
            &EvalOptions::default(),
            Recording::default(),
        )
    }

    /// The most points `context`'s transaction could pay with: what a till can offer the
    /// customer before asking, and what a request for as much as allowed asks for. Zero when
    /// the program has no redemption, the transaction is no purchase, or the account is below
    /// the minimum balance. A bad input is the error [`Program::evaluate`] would give.
    pub fn redeemable(&self, context: &Context) -> Result<rust_decimal::Decimal, EvalError> {
        Engine::redeemable_points(self, context.parts(), &EvalOptions::default(), Silent)
    }

    /// Decides `context` under `options`.
    pub fn evaluate_with(
        &self,
        context: &Context,
        options: &EvalOptions,
    ) -> Result<Decision, EvalError> {
        self.evaluate_parts(context.parts(), options)
    }

    /// Decides a context given by its parts under `options`.
    pub(crate) fn evaluate_parts(
        &self,
        parts: Parts<'_>,
        options: &EvalOptions,
    ) -> Result<Decision, EvalError> {
        if options.trace {
            Engine::run(self, parts, options, Recording::default())
        } else {
            Engine::run(self, parts, options, Silent)
        }
    }
}

impl Context {
    /// Reads a context from JSON; an error names the path of the field at fault, such as
    /// `transaction.lines[2].quantity`.
    pub fn from_json(text: &str) -> Result<Context, EvalError> {
        from_json(text)
    }
}

/// A deserialization path as a field name: `root` for the whole input, the enclosing field for
/// text that is no JSON, and without the internal segment serde_json adds inside exact numbers.
pub(crate) fn field_path(path: &str, root: &str) -> String {
    // `?` is a place the reader could not name (text that is no JSON): its parent is named.
    let path = path
        .trim_end_matches(".$serde_json::private::Number")
        .trim_end_matches(".?");
    if path == "." || path == "?" {
        root.to_string()
    } else {
        path.to_string()
    }
}

/// Reads any input type from a JSON value found at `root` (such as `transaction`), naming the
/// path of the field at fault on error (`transaction.lines[2].quantity`): the reader of the
/// bindings, which build the value from their own language's objects.
pub fn from_value<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    root: &str,
) -> Result<T, EvalError> {
    // Read untracked first: tracking the path costs on every field, and only an error needs it.
    if let Ok(read) = <T as serde::Deserialize>::deserialize(&value) {
        return Ok(read);
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        EvalError::input(
            under(root, &e.path().to_string()),
            e.into_inner().to_string(),
        )
    })
}

/// Reads any input type from JSON text found at `root`, naming fields as
/// [`from_value`] does; one pass over the text, for callers that hold it as text (WebAssembly).
pub fn from_json_at<T: serde::de::DeserializeOwned>(
    text: &str,
    root: &str,
) -> Result<T, EvalError> {
    read_text(text, root, |path| under(root, path))
}

/// Reads `T` from JSON `text`: once by serde_json alone, and only when that refuses the text,
/// again with the path tracked, to name the field at fault (`field` turns the tracked path
/// into its name; `root` names the whole input). Tracking costs on every field (a captured
/// key, a path segment), so a valid input is read without it: the same reader, the same value.
fn read_text<T: serde::de::DeserializeOwned>(
    text: &str,
    root: &str,
    field: impl Fn(&str) -> String,
) -> Result<T, EvalError> {
    if let Ok(read) = serde_json::from_str(text) {
        return Ok(read);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| EvalError::input(field(&e.path().to_string()), e.into_inner().to_string()))?;
    de.end()
        .map_err(|e| EvalError::input(root, e.to_string()))?;
    Ok(value)
}

/// A deserialization path under `root`: `transaction.lines[2].quantity`, or `root` itself.
fn under(root: &str, path: &str) -> String {
    match field_path(path, "") {
        inner if inner.is_empty() => root.to_string(),
        inner if inner.starts_with('[') => format!("{root}{inner}"),
        inner => format!("{root}.{inner}"),
    }
}

/// Reads any input type from JSON, naming the path of the field at fault on error.
pub fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, EvalError> {
    read_text(text, "input", |path| field_path(path, "input"))
}
