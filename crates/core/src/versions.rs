//! Effective-dated program versions: each transaction is decided by the version in effect at
//! its time, so a rule change on 1 July does not rewrite June's points.

use crate::eval::{Context, Decision, EvalError, EvalOptions};
use crate::program::Program;
use chrono::{DateTime, FixedOffset};

/// A program's versions, ordered by when each takes effect.
#[derive(Debug, Clone)]
pub struct Versions {
    /// `(takes effect, program)`, earliest first; a version without `effective from` is in
    /// effect from the beginning of time.
    versions: Vec<(Option<DateTime<FixedOffset>>, Program)>,
}

impl Versions {
    /// Orders `programs` by `effective from`. Two versions taking effect at the same moment are
    /// an error naming both.
    pub fn new(programs: Vec<Program>) -> Result<Versions, String> {
        let mut versions: Vec<(Option<DateTime<FixedOffset>>, Program)> = programs
            .into_iter()
            .map(|p| {
                let start = p
                    .effective_from
                    .and_then(|m| crate::eval::moment_start_of(m, p.timezone));
                (start, p)
            })
            .collect();
        versions.sort_by_key(|v| v.0);
        for pair in versions.windows(2) {
            if let [(a, pa), (b, pb)] = pair {
                if a == b {
                    return Err(format!(
                        "`{}` and `{}` take effect at the same moment; give them different `effective from` dates",
                        pa.name, pb.name
                    ));
                }
            }
        }
        Ok(Versions { versions })
    }

    /// The version in effect at `time`.
    pub fn at(&self, time: DateTime<FixedOffset>) -> Option<&Program> {
        self.versions
            .iter()
            .rev()
            .find(|(start, _)| start.is_none_or(|s| s <= time))
            .map(|(_, p)| p)
    }

    /// Every version, earliest first.
    pub fn programs(&self) -> impl Iterator<Item = &Program> {
        self.versions.iter().map(|(_, p)| p)
    }

    /// Decides `context` with the version in effect at the transaction's time.
    pub fn evaluate_with(
        &self,
        context: &Context,
        options: &EvalOptions,
    ) -> Result<Decision, EvalError> {
        let time = context.transaction.time;
        let program = self.at(time).ok_or_else(|| {
            let first = self
                .versions
                .first()
                .and_then(|(s, _)| *s)
                .map_or_else(String::new, |s| {
                    format!(" (the first takes effect {})", s.to_rfc3339())
                });
            EvalError::input(
                "transaction.time",
                format!(
                    "no version of the program is in effect at {}{first}",
                    time.to_rfc3339()
                ),
            )
        })?;
        program.evaluate_with(context, options)
    }
}
