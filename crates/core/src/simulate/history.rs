//! A transaction history in puntos JSON Lines: one [`Incoming`] a line (the ledger's own input:
//! the account, the transaction, a signup's profile, a refund's purchase), as `puntos apply`
//! reads it. Blank lines are skipped; a bad line is an error naming the file, the line and the
//! field, and stops the reading (a simulation of part of a history would mislead).

use super::SimulateError;
use crate::ledger::Incoming;
use std::io::BufRead;
use std::path::Path;

/// The longest line accepted (a transaction with a large basket is a few hundred kilobytes).
const MAX_LINE: usize = 16 * 1024 * 1024;

/// Reads the JSON Lines history at `path`.
pub fn read_jsonl(path: &Path) -> Result<Vec<Incoming>, SimulateError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| SimulateError::Input {
        place: name.clone(),
        message: e.to_string(),
    })?;
    read_lines(std::io::BufReader::new(file), &name)
}

/// Reads a JSON Lines history from `reader`; `name` is what errors call it.
pub fn read_lines(reader: impl BufRead, name: &str) -> Result<Vec<Incoming>, SimulateError> {
    let mut history = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let place = format!("{name}:{}", i + 1);
        let line = line.map_err(|e| SimulateError::Input {
            place: place.clone(),
            message: e.to_string(),
        })?;
        if line.trim().is_empty() {
            continue;
        }
        if line.len() > MAX_LINE {
            return Err(SimulateError::Input {
                place,
                message: format!(
                    "a line of {} bytes, more than the limit of {MAX_LINE}",
                    line.len()
                ),
            });
        }
        let incoming: Incoming =
            crate::eval::from_json(&line).map_err(|e| SimulateError::Input {
                place,
                message: e.to_string(),
            })?;
        history.push(incoming);
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_bad_line_is_named_by_its_number_and_field() {
        let text = "\n{\"account\": \"C-1\", \"transaction\": {\"id\": \"T-1\", \"kind\": \"purchase\", \"time\": \"2026-03-01T10:00:00+03:00\"}}\n\
                    {\"account\": \"C-1\", \"transaction\": {\"id\": \"T-2\", \"time\": \"2026-03-01\"}}\n";
        let err = read_lines(text.as_bytes(), "history.jsonl")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("history.jsonl:3: "), "{err}");
        assert!(err.contains("transaction.time"), "{err}");
    }

    #[test]
    fn blank_lines_are_skipped() {
        let text = "{\"account\": \"C-1\", \"transaction\": {\"id\": \"T-1\", \"time\": \"2026-03-01T10:00:00+03:00\"}}\n\n";
        let history = read_lines(text.as_bytes(), "h").unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(&*history[0].transaction.id, "T-1");
    }
}
