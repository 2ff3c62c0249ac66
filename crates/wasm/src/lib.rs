//! The puntos core in WebAssembly, for POS terminals and web UIs: compile a program, evaluate
//! a transaction, preview a basket the way a till shows it, format a program. Every decision is
//! the core's, with exactly its arithmetic; this crate only carries values across the boundary.
//!
//! Values cross as JSON-shaped JavaScript objects, and **decimals cross as strings** (`"899.50"`)
//! both ways: a JavaScript number is a binary float, so a money or points amount given as a
//! number with a fraction is refused with an error naming the field. Whole numbers are exact and
//! accepted. Errors are thrown as `Error`s with a `field` (an input's path) or `diagnostics`
//! (a program's problems with their spans).

mod convert;

use convert::{decision_value, error, read, to_js};
use puntos::eval::{AccountView, Context, Customer, EvalOptions, Transaction};
use puntos_dsl::SourceFile;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = include_str!("types.d.ts");

#[wasm_bindgen]
extern "C" {
    /// A customer's profile (TypeScript `Customer`).
    #[wasm_bindgen(typescript_type = "Customer")]
    pub type CustomerInput;
    /// An account's state (TypeScript `Account`).
    #[wasm_bindgen(typescript_type = "Account")]
    pub type AccountInput;
    /// Options of `evaluate` (TypeScript `EvaluateOptions`).
    #[wasm_bindgen(typescript_type = "EvaluateOptions")]
    pub type EvaluateOptions;
}

/// A compiled program, reused for any number of evaluations.
#[wasm_bindgen]
pub struct Program {
    program: puntos::Program,
}

/// Compiles a program's source. Returns `{ ok, program, diagnostics }`: `program` when it
/// compiles (warnings may come with it), and every diagnostic with its code, message, severity
/// and labelled spans (byte offsets and one-based lines and columns).
#[wasm_bindgen(unchecked_return_type = "CompileResult")]
pub fn compile(source: &str, filename: Option<String>) -> Result<JsValue, JsValue> {
    let file = SourceFile::new(filename.as_deref().unwrap_or("program.pts"), source);
    let compiled = puntos::compile(&file);
    let diagnostics = to_js(&puntos_dsl::render::to_json(&file, &compiled.diagnostics))?;
    let result = js_sys::Object::new();
    let ok = compiled.program.is_some() && !compiled.has_errors();
    set(&result, "ok", &JsValue::from_bool(ok))?;
    set(&result, "diagnostics", &diagnostics)?;
    if let (true, Some(program)) = (ok, compiled.program) {
        set(&result, "program", &JsValue::from(Program { program }))?;
    }
    Ok(result.into())
}

/// Formats a program's source the way `puntos fmt` does; throws an `Error` with `diagnostics`
/// when the text has syntax errors.
#[wasm_bindgen]
pub fn format(source: &str) -> Result<String, JsValue> {
    let file = SourceFile::new("program.pts", source);
    let parsed = puntos_dsl::parse(file.text());
    if parsed.diagnostics.is_empty() {
        return Ok(puntos_dsl::format(&parsed.file));
    }
    let thrown = error("the program has syntax errors; nothing was formatted", None);
    let diagnostics = to_js(&puntos_dsl::render::to_json(&file, &parsed.diagnostics))?;
    set(&thrown, "diagnostics", &diagnostics)?;
    Err(thrown.into())
}

/// The example programs of the repository, for a playground: `[{ name, source }]`.
#[wasm_bindgen(unchecked_return_type = "Example[]")]
pub fn examples() -> Result<JsValue, JsValue> {
    let list = [
        (
            "pharmacy",
            include_str!("../../../examples/pharmacy/program.pts"),
        ),
        (
            "pharmacy-2027",
            include_str!("../../../examples/pharmacy/program-2027.pts"),
        ),
        ("bank", include_str!("../../../examples/bank/program.pts")),
    ];
    let array = js_sys::Array::new();
    for (name, source) in list {
        let example = js_sys::Object::new();
        set(&example, "name", &JsValue::from_str(name))?;
        set(&example, "source", &JsValue::from_str(source))?;
        array.push(&example);
    }
    Ok(array.into())
}

#[wasm_bindgen]
impl Program {
    /// The program's name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.program.name.to_string()
    }

    /// The currency of its amounts.
    #[wasm_bindgen(getter)]
    pub fn currency(&self) -> String {
        self.program.currency.to_string()
    }

    /// Its time zone.
    #[wasm_bindgen(getter)]
    pub fn timezone(&self) -> String {
        self.program.timezone.name().to_string()
    }

    /// Decides one transaction: the decision as `puntos eval --format json` writes it, with
    /// the trace when `options.trace` is true. Throws an `Error` with `field` for a refused
    /// input.
    #[wasm_bindgen(unchecked_return_type = "Decision")]
    pub fn evaluate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Transaction")] transaction: JsValue,
        customer: Option<CustomerInput>,
        account: Option<AccountInput>,
        options: Option<EvaluateOptions>,
    ) -> Result<JsValue, JsValue> {
        let context = context(&transaction, customer, account)?;
        let decision = self
            .program
            .evaluate_with(&context, &eval_options(options))
            .map_err(|e| convert::eval_error(&e))?;
        decision_value(&decision)
    }

    /// Decides one transaction given as JSON text, the context `puntos eval` reads
    /// (`{"transaction": ..., "customer": ..., "account": ...}`), and returns the decision as
    /// compact JSON text, as `puntos eval --format json` writes it. For a caller that already
    /// holds the text (from its backend or its storage): nothing is built as objects either
    /// way. Numbers in the text are read as the decimals they spell (`899.50` is exact here,
    /// unlike a JavaScript number). Throws an `Error` with `field`
    /// (`transaction.lines[0].quantity`, as `evaluate` names it) for a refused input.
    #[wasm_bindgen(js_name = evaluateJson)]
    pub fn evaluate_json(
        &self,
        context: &str,
        options: Option<EvaluateOptions>,
    ) -> Result<String, JsValue> {
        let context = Context::from_json(context).map_err(|e| convert::eval_error(&e))?;
        let decision = self
            .program
            .evaluate_with(&context, &eval_options(options))
            .map_err(|e| convert::eval_error(&e))?;
        serde_json::to_string(&decision)
            .map_err(|e| error(&format!("writing the decision: {e}"), None).into())
    }

    /// The most points the transaction could pay with, as a decimal string.
    pub fn redeemable(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Transaction")] transaction: JsValue,
        customer: Option<CustomerInput>,
        account: Option<AccountInput>,
    ) -> Result<String, JsValue> {
        let context = context(&transaction, customer, account)?;
        self.program
            .redeemable(&context)
            .map(|points| points.to_string())
            .map_err(|e| convert::eval_error(&e).into())
    }

    /// Decides the same transaction `times` times and returns the last decision: the cost of
    /// the core's decision in this build without the boundary (inputs read once, one decision
    /// handed back), for benchmarks comparing it with the native build.
    #[wasm_bindgen(js_name = evaluateRepeatedly, unchecked_return_type = "Decision")]
    pub fn evaluate_repeatedly(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Transaction")] transaction: JsValue,
        customer: Option<CustomerInput>,
        account: Option<AccountInput>,
        times: u32,
    ) -> Result<JsValue, JsValue> {
        let context = context(&transaction, customer, account)?;
        let mut last = self.decide(&context)?;
        for _ in 1..times {
            last = self.decide(&context)?;
        }
        decision_value(&last)
    }

    /// What a till shows before the customer pays: points earned, money off, the most points
    /// the basket could be paid with, the explanation lines, and the decision itself.
    #[wasm_bindgen(js_name = previewBasket, unchecked_return_type = "Preview")]
    pub fn preview_basket(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Transaction")] transaction: JsValue,
        customer: Option<CustomerInput>,
        account: Option<AccountInput>,
    ) -> Result<JsValue, JsValue> {
        let context = context(&transaction, customer, account)?;
        let decision = self.decide(&context)?;
        let redeemable = self
            .program
            .redeemable(&context)
            .map_err(|e| convert::eval_error(&e))?;
        let preview = js_sys::Object::new();
        let text = |v: puntos::Decimal| JsValue::from_str(&v.to_string());
        set(&preview, "points", &text(decision.points_earned()))?;
        set(&preview, "redeemed", &text(decision.points_redeemed()))?;
        set(&preview, "discount", &text(decision.discount_total()))?;
        set(&preview, "redeemable", &text(redeemable))?;
        set(&preview, "currency", &JsValue::from_str(&decision.currency))?;
        let lines = js_sys::Array::new();
        for line in decision.explain().lines() {
            lines.push(&JsValue::from_str(line.trim_start()));
        }
        set(&preview, "lines", &lines)?;
        set(&preview, "decision", &decision_value(&decision)?)?;
        Ok(preview.into())
    }
}

impl Program {
    /// The decision on `context` without a trace; a refusal as the `Error` to throw.
    fn decide(&self, context: &Context) -> Result<puntos::Decision, JsValue> {
        self.program
            .evaluate(context)
            .map_err(|e| convert::eval_error(&e).into())
    }
}

/// The evaluation context of JavaScript inputs, each part's errors named from its root.
fn context(
    transaction: &JsValue,
    customer: Option<CustomerInput>,
    account: Option<AccountInput>,
) -> Result<Context, JsValue> {
    let (customer, account): (Option<JsValue>, Option<JsValue>) =
        (customer.map(Into::into), account.map(Into::into));
    let given = |v: &Option<JsValue>| {
        v.as_ref()
            .filter(|v| !v.is_undefined() && !v.is_null())
            .cloned()
    };
    let transaction: Transaction = read(transaction, "transaction")?;
    let customer: Customer = match given(&customer) {
        Some(c) => read(&c, "customer")?,
        None => Customer::default(),
    };
    let account: AccountView = match given(&account) {
        Some(a) => read(&a, "account")?,
        None => AccountView::default(),
    };
    Ok(Context {
        transaction,
        customer,
        account,
        as_of: None,
    })
}

/// The evaluator's options from `evaluate`'s: the trace when `options.trace` is true.
fn eval_options(options: Option<EvaluateOptions>) -> EvalOptions {
    let trace = options
        .and_then(|o| js_sys::Reflect::get(&o, &JsValue::from_str("trace")).ok())
        .and_then(|t| t.as_bool())
        .unwrap_or(false);
    EvalOptions {
        trace,
        ..EvalOptions::default()
    }
}

/// Sets `object[key] = value`.
fn set(object: &js_sys::Object, key: &str, value: &JsValue) -> Result<(), JsValue> {
    js_sys::Reflect::set(object, &JsValue::from_str(key), value).map(|_| ())
}
