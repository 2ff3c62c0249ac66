//! Reading a scenario file: TOML with exact decimals, defaults merged into each scenario.

use super::expect::Expect;
use super::{Scenario, ScenarioStep};
use serde::Deserialize;
use serde_json::Value;

/// A parsed scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioFile {
    /// The program files (relative to the scenario file), one per version.
    pub programs: Vec<String>,
    /// The scenarios, in file order.
    pub scenarios: Vec<Scenario>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    program: OneOrMany,
    #[serde(default)]
    customer: Option<Value>,
    #[serde(default)]
    account: Option<Value>,
    #[serde(default)]
    scenario: Vec<ScenarioSpec>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioSpec {
    name: String,
    #[serde(default)]
    customer: Option<Value>,
    #[serde(default)]
    account: Option<Value>,
    step: Vec<StepSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepSpec {
    transaction: Value,
    #[serde(default)]
    account: Option<Value>,
    #[serde(default)]
    refund_of: Option<usize>,
    #[serde(default)]
    expect: Expect,
}

/// Parses a scenario file. Errors name the place: the TOML line and column, or the path of the
/// field (`scenario[2].step[0].expect.earn`).
pub fn parse(text: &str) -> Result<ScenarioFile, String> {
    let spec: FileSpec = crate::toml_exact::from_str(text)?;
    let programs = match spec.program {
        OneOrMany::One(p) => vec![p],
        OneOrMany::Many(list) => list,
    };
    let base_customer = spec.customer.unwrap_or_else(empty);
    let base_account = spec.account.unwrap_or_else(empty);
    let scenarios = spec
        .scenario
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            if s.step.is_empty() {
                return Err(format!("scenario[{i}] `{}`: has no step", s.name));
            }
            let mut customer = base_customer.clone();
            if let Some(c) = &s.customer {
                merge(&mut customer, c);
            }
            let mut account = base_account.clone();
            if let Some(a) = &s.account {
                merge(&mut account, a);
            }
            Ok(Scenario {
                name: s.name,
                customer,
                account,
                steps: s
                    .step
                    .into_iter()
                    .map(|st| ScenarioStep {
                        transaction: st.transaction,
                        account: st.account,
                        refund_of: st.refund_of,
                        expect: st.expect,
                    })
                    .collect(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    if scenarios.is_empty() {
        return Err("the file has no `[[scenario]]`".to_string());
    }
    Ok(ScenarioFile {
        programs,
        scenarios,
    })
}

fn empty() -> Value {
    Value::Object(serde_json::Map::new())
}

/// Merges `over` into `base`: tables field by field, anything else replaced.
pub(super) fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (key, value) in o {
                match b.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        b.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_keep_their_decimal_text() {
        let file = parse(
            r#"
program = "p.pts"
[[scenario]]
name = "x"
[[scenario.step]]
transaction = { time = 2026-01-01T10:00:00+03:00, lines = [{ unit_price = 0.1, quantity = 3 }] }
"#,
        )
        .unwrap();
        let step = &file.scenarios[0].steps[0];
        assert_eq!(
            step.transaction["lines"][0]["unit_price"],
            Value::from("0.1")
        );
        assert_eq!(
            step.transaction["time"],
            Value::from("2026-01-01T10:00:00+03:00")
        );
    }

    #[test]
    fn a_misspelt_key_is_named_with_its_path() {
        let err = parse(
            r#"
program = "p.pts"
[[scenario]]
name = "x"
[[scenario.step]]
transaction = { time = 2026-01-01T10:00:00+03:00 }
expect = { pionts = 3 }
"#,
        )
        .unwrap_err();
        assert!(err.contains("scenario[0].step[0].expect"), "{err}");
        assert!(err.contains("pionts"), "{err}");
    }
}
