//! TOML read exactly: floats reach `Decimal` as their source text, date-times as RFC 3339 text,
//! and errors name the line and column or the path of the field. Scenario files and migration
//! settings are read this way.

use serde::de::DeserializeOwned;
use toml_edit::visit_mut::{self, VisitMut};

/// Deserializes `text`; an error names the place (`scenario[2].step[0].expect.earn: ...`).
pub(crate) fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let mut document: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| e.to_string())?;
    ExactValues.visit_document_mut(&mut document);
    let deserializer = toml_edit::de::Deserializer::from(document);
    serde_path_to_error::deserialize(deserializer)
        .map_err(|e| format!("{}: {}", e.path(), e.inner().message()))
}

/// Rewrites TOML floats as their source text and date-times as RFC 3339 text, so amounts reach
/// `Decimal` exactly and instants reach the evaluator's own parser (which names a missing
/// offset).
struct ExactValues;

impl VisitMut for ExactValues {
    fn visit_value_mut(&mut self, node: &mut toml_edit::Value) {
        let replacement = match node {
            toml_edit::Value::Float(f) => Some(
                f.as_repr()
                    .and_then(|r| r.as_raw().as_str())
                    .map(|s| s.trim().replace('_', ""))
                    .unwrap_or_else(|| f.value().to_string()),
            ),
            toml_edit::Value::Datetime(d) => Some(d.value().to_string()),
            _ => None,
        };
        match replacement {
            Some(text) => *node = toml_edit::Value::from(text),
            None => visit_mut::visit_value_mut(self, node),
        }
    }
}
