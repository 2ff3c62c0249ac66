//! Values across the boundary: JavaScript objects in through JSON text to the core's checked
//! readers (numbers with a fraction refused: decimals are strings), the core's results out as
//! JSON-shaped objects, and errors as `Error`s carrying the field or place at fault.

use serde_json::Value;
use wasm_bindgen::prelude::*;

/// The deepest nesting of an input accepted; deeper is an error, not a stack overflow.
const MAX_DEPTH: usize = 32;

/// Reads `value` (at `root`, such as `transaction`) as the core's input type `T`: its JSON text,
/// screened for numbers with a fraction, read in one pass by the core's checked reader.
pub fn read<T: serde::de::DeserializeOwned>(value: &JsValue, root: &str) -> Result<T, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Err(error(&format!("{root}: missing"), Some(root)).into());
    }
    let text: String = js_sys::JSON::stringify(value)
        .map_err(|_| {
            error(
                &format!("{root}: cannot be read as JSON (a cycle?)"),
                Some(root),
            )
        })?
        .into();
    if has_fraction(&text) {
        // Rare: walk the value to name the number's place.
        let parsed: Value =
            serde_json::from_str(&text).map_err(|e| error(&format!("{root}: {e}"), Some(root)))?;
        exact_numbers(&parsed, root, 0)?;
    }
    puntos::eval::from_json_at(&text, root).map_err(|e| eval_error(&e).into())
}

/// Whether JSON `text` holds a number with a fraction or an exponent (outside strings).
fn has_fraction(text: &str) -> bool {
    let mut in_string = false;
    let mut escaped = false;
    let mut in_number = false;
    for byte in text.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => {
                in_string = true;
                in_number = false;
            }
            b'-' | b'0'..=b'9' => in_number = true,
            b'.' | b'e' | b'E' if in_number => return true,
            _ => in_number = false,
        }
    }
    false
}

/// Refuses numbers with a fraction or an exponent (JavaScript floats) anywhere in `value`,
/// naming the first one's place.
fn exact_numbers(value: &Value, path: &str, depth: usize) -> Result<(), JsValue> {
    if depth > MAX_DEPTH {
        return Err(error(
            &format!("{path}: nested more than {MAX_DEPTH} levels deep"),
            Some(path),
        )
        .into());
    }
    match value {
        Value::Number(n) => {
            let text = n.to_string();
            if text.contains(['.', 'e', 'E']) {
                return Err(error(
                    &format!(
                        "{path}: {text} is a JavaScript number with a fraction, which is a binary \
                         float; pass decimals as strings, such as \"{text}\""
                    ),
                    Some(path),
                )
                .into());
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| exact_numbers(item, &format!("{path}[{i}]"), depth + 1)),
        Value::Object(fields) => fields
            .iter()
            .try_for_each(|(key, item)| exact_numbers(item, &format!("{path}.{key}"), depth + 1)),
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
    }
}

/// `value` as a JavaScript object of the same JSON shape (decimals as strings).
pub fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value)
        .map_err(|e| JsValue::from(error(&format!("writing the result: {e}"), None)))?;
    js_sys::JSON::parse(&text)
}

/// A decision as `puntos eval --format json` writes it.
pub fn decision_value(decision: &puntos::Decision) -> Result<JsValue, JsValue> {
    to_js(decision)
}

/// An `Error` with `message`, and `field` when an input's field is at fault.
pub fn error(message: &str, field: Option<&str>) -> js_sys::Error {
    let thrown = js_sys::Error::new(message);
    if let Some(field) = field {
        let _ = js_sys::Reflect::set(
            &thrown,
            &JsValue::from_str("field"),
            &JsValue::from_str(field),
        );
    }
    thrown
}

/// The `Error` of an evaluator's refusal: `field` for an input, `line` and `column` for a
/// computation that failed in the program.
pub fn eval_error(refused: &puntos::EvalError) -> js_sys::Error {
    let thrown = error(&refused.to_string(), refused.field());
    if let puntos::EvalError::Computation { at, .. } = refused {
        let _ = js_sys::Reflect::set(&thrown, &"line".into(), &JsValue::from(at.line));
        let _ = js_sys::Reflect::set(&thrown, &"column".into(), &JsValue::from(at.column));
    }
    thrown
}
