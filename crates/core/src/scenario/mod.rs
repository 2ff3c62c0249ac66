//! Scenario files: a marketer's tests for a program, in TOML.
//!
//! A file names the program (a path relative to the file, or a list of versions), gives the
//! customer and account every scenario starts from, and lists scenarios. Each scenario has one
//! or more steps; each step is a transaction and what the decision must show. Between steps the
//! account is carried forward ([`carry`]): points earned become available when their pending
//! period ends, points spent leave, counters, budgets, history, tier and coupons follow. A step
//! may set `account` fields to override the carried state.
//!
//! Numbers are read exactly: `199.90` in a scenario is the decimal 199.90, never a float.

mod carry;
mod expect;
mod parse;

pub use expect::{mentioned, Expect, TierExpect};
pub use parse::{parse, ScenarioFile};

use crate::eval::{Context, Decision, EvalError, EvalOptions, Step};
use crate::versions::Versions;
use carry::Carry;
use serde_json::Value;

/// One scenario: a name and its steps.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Its name, as the runner prints it.
    pub name: String,
    /// The customer profile (file defaults merged with the scenario's own fields).
    pub customer: Value,
    /// The account before the first step (file defaults merged with the scenario's).
    pub account: Value,
    /// The transactions, in order.
    pub steps: Vec<ScenarioStep>,
}

/// One transaction of a scenario and what its decision must show.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioStep {
    /// The transaction, as JSON-like data.
    pub transaction: Value,
    /// Account fields to set before this step, over the carried state.
    pub account: Option<Value>,
    /// For a refund: the 1-based number of the earlier step that was the purchase.
    pub refund_of: Option<usize>,
    /// What the decision must show.
    pub expect: Expect,
}

/// The outcome of running one scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The scenario's name.
    pub name: String,
    /// What did not match, each naming its step; empty when the scenario passed.
    pub failures: Vec<String>,
    /// The trace of the first failing step, for the report.
    pub trace: Vec<Step>,
}

impl Outcome {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs `scenario` against `versions`: every step is evaluated with the trace on, checked, and
/// carried into the account for the next step.
pub fn run(versions: &Versions, scenario: &Scenario) -> Outcome {
    run_recorded(versions, scenario, &mut |_, _| {})
}

/// [`run`], handing `record` each step's context and what the evaluator made of it (the
/// decision, with its trace, or the refusal): what another build of the core (WebAssembly) must
/// reproduce exactly.
pub fn run_recorded(
    versions: &Versions,
    scenario: &Scenario,
    record: &mut dyn FnMut(&Context, &Result<Decision, EvalError>),
) -> Outcome {
    let mut outcome = Outcome {
        name: scenario.name.clone(),
        failures: Vec::new(),
        trace: Vec::new(),
    };
    let mut carry = match Carry::new(&scenario.account) {
        Ok(c) => c,
        Err(e) => {
            outcome.failures.push(format!("account: {e}"));
            return outcome;
        }
    };
    for (index, step) in scenario.steps.iter().enumerate() {
        let number = index + 1;
        let result = context_for(versions, scenario, step, &carry).and_then(|ctx| {
            let options = EvalOptions {
                trace: true,
                ..EvalOptions::default()
            };
            let decided = versions.evaluate_with(&ctx, &options);
            record(&ctx, &decided);
            decided.map(|d| (ctx, d))
        });
        let failures = step.expect.check(result.as_ref().map(|(_, d)| d));
        if !failures.is_empty() {
            outcome
                .failures
                .extend(failures.into_iter().map(|f| format!("step {number}: {f}")));
            if outcome.trace.is_empty() {
                if let Ok((_, d)) = &result {
                    outcome.trace = d.trace.clone().unwrap_or_default();
                }
            }
            return outcome;
        }
        if let Ok((ctx, decision)) = result {
            carry.record(step.refund_of, ctx, decision);
        }
    }
    outcome
}

/// Builds the evaluation context of a step from the scenario and the carried account.
fn context_for(
    versions: &Versions,
    scenario: &Scenario,
    step: &ScenarioStep,
    carry: &Carry,
) -> Result<Context, EvalError> {
    let mut transaction: crate::eval::Transaction =
        from_value(step.transaction.clone(), "transaction")?;
    if let Some(n) = step.refund_of {
        transaction.refund = Some(carry.refund_of(n)?);
    }
    let customer = from_value(scenario.customer.clone(), "customer")?;
    let program = versions.at(transaction.time);
    let mut account = carry.view(program, transaction.time);
    if let Some(over) = &step.account {
        let mut merged = serde_json::to_value(&account)
            .map_err(|e| EvalError::input("account", e.to_string()))?;
        parse::merge(&mut merged, over);
        account = from_value(merged, "account")?;
    }
    Ok(Context {
        transaction,
        customer,
        account,
        as_of: None,
    })
}

/// Reads a typed value from scenario data; errors name the path under `root`.
fn from_value<T: serde::de::DeserializeOwned>(value: Value, root: &str) -> Result<T, EvalError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = crate::eval::field_path(&e.path().to_string(), "");
        let field = if path.is_empty() {
            root.to_string()
        } else {
            format!("{root}.{path}")
        };
        EvalError::input(field, e.into_inner().to_string())
    })
}

/// The decision or error a step produced, as the expectations see it.
pub type StepResult<'a> = Result<&'a Decision, &'a EvalError>;
