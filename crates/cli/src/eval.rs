//! `puntos eval`: decide one transaction and print the decision.

use crate::programs::load_versions;
use crate::Format;
use puntos::eval::{from_json, AccountView, Context, Customer, EvalOptions, Transaction};
use std::path::{Path, PathBuf};

/// What `puntos eval` was asked.
pub struct Request<'a> {
    /// Program files or folders (several: effective-dated versions).
    pub programs: &'a [PathBuf],
    /// The transaction's JSON file.
    pub tx: &'a Path,
    /// The customer's JSON file.
    pub customer: Option<&'a Path>,
    /// The account's JSON file.
    pub account: Option<&'a Path>,
    /// Record the trace.
    pub trace: bool,
    /// Output format.
    pub format: Format,
}

/// Runs the command; returns the exit code (0 decided, 1 refused by an error, 2 bad usage).
pub fn run(request: &Request<'_>) -> u8 {
    let versions = match load_versions(request.programs) {
        Ok(v) => v,
        Err(failed) => return failed.exit,
    };
    let context = match read_context(request) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("error: {message}");
            return 2;
        }
    };
    let options = EvalOptions {
        trace: request.trace,
        ..EvalOptions::default()
    };
    match versions.evaluate_with(&context, &options) {
        Ok(decision) => {
            match request.format {
                Format::Human => out!("{}", decision.explain()),
                Format::Json => match serde_json::to_string_pretty(&decision) {
                    Ok(json) => outln!("{json}"),
                    Err(e) => {
                        eprintln!("error: cannot write the decision as JSON: {e}");
                        return 2;
                    }
                },
            }
            0
        }
        Err(error) => {
            match request.format {
                Format::Human => eprintln!("error: {error}"),
                Format::Json => outln!(
                    "{}",
                    serde_json::json!({ "error": error.to_string(), "field": error.field() })
                ),
            }
            1
        }
    }
}

fn read_context(request: &Request<'_>) -> Result<Context, String> {
    let transaction: Transaction = read(request.tx)?;
    let customer: Customer = request.customer.map(read).transpose()?.unwrap_or_default();
    let account: AccountView = request.account.map(read).transpose()?.unwrap_or_default();
    Ok(Context {
        transaction,
        customer,
        account,
        as_of: None,
    })
}

fn read<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}
