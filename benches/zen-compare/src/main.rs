//! puntos against gorules zen-engine on the shared loyalty decision.
//!
//! Reads `loyalty.json` (the zen decision graph), `inputs.json` (10,000 baskets) and
//! `rust_results.json` (the expected `{base, tierBonus, promo, points}` per basket) from the
//! folder given as the first argument, checks that both engines compute exactly the expected
//! points on every basket, then times them in the same process, on one thread, over all the
//! baskets for several rounds and prints the median nanoseconds per evaluation.
//!
//! Usage: `puntos-zen-compare [DIR] [ROUNDS]` (defaults: `../shared/bench/zen-loyalty` beside the
//! workspace, 7 rounds).

use chrono::{Datelike, NaiveDate, Weekday};
use puntos::eval::{AccountView, Customer, Effect, HeldTier, Line, Source, Transaction};
use puntos::{Context, Program};
use puntos_dsl::SourceFile;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use zen_engine::model::DecisionContent;
use zen_engine::{DecisionEngine, EvaluationOptions, Variable};

/// One basket of `inputs.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    customer: CustomerIn,
    transaction: TransactionIn,
    basket: BasketIn,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerIn {
    tier: String,
    age: i32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TransactionIn {
    weekday: String,
    date: NaiveDate,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BasketIn {
    lines: Vec<LineIn>,
    total: Decimal,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineIn {
    category: String,
    amount: Decimal,
}

/// The decision's output, as `rust_results.json` and zen give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Points {
    base: Decimal,
    tier_bonus: Decimal,
    promo: Decimal,
    points: Decimal,
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench/zen-loyalty")
}

fn read(dir: &Path, name: &str) -> Result<String, String> {
    let path = dir.join(name);
    std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn run() -> Result<bool, String> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().map_or_else(default_dir, PathBuf::from);
    let rounds: usize = match args.next() {
        Some(r) => r
            .parse()
            .ok()
            .filter(|&r| r > 0)
            .ok_or("ROUNDS must be a positive whole number")?,
        None => 7,
    };

    // Inputs: typed for puntos, as JSON values for zen.
    let inputs_text = read(&dir, "inputs.json")?;
    let inputs: Vec<Input> =
        serde_json::from_str(&inputs_text).map_err(|e| format!("inputs.json: {e}"))?;
    let values: Vec<serde_json::Value> =
        serde_json::from_str(&inputs_text).map_err(|e| format!("inputs.json: {e}"))?;
    let expected: Vec<Points> = serde_json::from_str(&read(&dir, "rust_results.json")?)
        .map_err(|e| format!("rust_results.json: {e}"))?;
    if inputs.len() != expected.len() {
        return Err(format!(
            "{} inputs but {} expected results",
            inputs.len(),
            expected.len()
        ));
    }
    let n = inputs.len();

    // puntos: the program compiled once, a context per basket built before any timing.
    let program = compile_puntos()?;
    let contexts = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| context(input).map_err(|e| format!("input {i}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;

    // zen: the decision compiled once, each input converted to a zen Variable before timing.
    let content: DecisionContent = serde_json::from_str(&read(&dir, "loyalty.json")?)
        .map_err(|e| format!("loyalty.json: {e}"))?;
    let engine = DecisionEngine::default();
    let mut decision = engine
        .create_decision(content.into())
        .map_err(|e| format!("loyalty.json: {e:?}"))?;
    decision.compile();
    let variables: Vec<Variable> = values.iter().cloned().map(Variable::from).collect();
    let traced = EvaluationOptions {
        trace: true,
        ..EvaluationOptions::default()
    };

    // Equality on every basket: puntos (plain and traced) and zen against rust_results.json.
    let mut mismatches = 0usize;
    let mut promo_fired = 0usize;
    for (i, ((ctx, var), want)) in contexts.iter().zip(&variables).zip(&expected).enumerate() {
        let plain = program
            .evaluate(ctx)
            .map_err(|e| format!("puntos, input {i}: {e}"))?;
        let with_trace = program
            .evaluate_traced(ctx)
            .map_err(|e| format!("puntos traced, input {i}: {e}"))?;
        let zen = pollster::block_on(decision.evaluate(var.clone()))
            .map_err(|e| format!("zen, input {i}: {e:?}"))?;
        let zen_points: Points = serde_json::from_value(zen.result.to_value())
            .map_err(|e| format!("zen output, input {i}: {e}"))?;
        let got = [
            ("puntos", puntos_points(&plain)?),
            ("puntos traced", puntos_points(&with_trace)?),
            ("zen", zen_points),
        ];
        if want.promo != Decimal::ZERO {
            promo_fired += 1;
        }
        for (engine_name, points) in got {
            if points != *want {
                mismatches += 1;
                if mismatches <= 5 {
                    println!(
                        "MISMATCH {engine_name} on input {i}: got {points:?}, expected {want:?}\n  input: {}",
                        values.get(i).map(ToString::to_string).unwrap_or_default()
                    );
                }
            }
        }
    }
    // zen must not have changed its inputs (they are reused by every round).
    for (i, (var, value)) in variables.iter().zip(&values).enumerate() {
        if var.to_value() != Variable::from(value.clone()).to_value() {
            return Err(format!("zen changed input {i} in place"));
        }
    }
    if mismatches > 0 {
        println!("equality: FAILED, {mismatches} mismatching results (engine x input)");
        return Ok(false);
    }
    println!(
        "equality: puntos (trace off and on) and zen equal rust_results.json on all {n} inputs \
         (base, tierBonus, promo, points; promo fires on {promo_fired})"
    );

    // Timing: every round runs each engine over all inputs, one after the other.
    println!("timing: {rounds} rounds of {n} evaluations per engine, one thread");
    let mut zen_plain = Vec::new();
    let mut zen_traced = Vec::new();
    let mut puntos_plain = Vec::new();
    let mut puntos_traced = Vec::new();
    for round in 0..=rounds {
        let z = time_per_eval(n, || {
            let mut ok = 0usize;
            for var in &variables {
                let r = pollster::block_on(decision.evaluate(black_box(var).clone()));
                ok += usize::from(black_box(r).is_ok());
            }
            ok
        })?;
        let p = time_per_eval(n, || {
            let mut ok = 0usize;
            for ctx in &contexts {
                ok += usize::from(black_box(program.evaluate(black_box(ctx))).is_ok());
            }
            ok
        })?;
        let pt = time_per_eval(n, || {
            let mut ok = 0usize;
            for ctx in &contexts {
                ok += usize::from(black_box(program.evaluate_traced(black_box(ctx))).is_ok());
            }
            ok
        })?;
        let zt = time_per_eval(n, || {
            let mut ok = 0usize;
            for var in &variables {
                let r =
                    pollster::block_on(decision.evaluate_with_opts(black_box(var).clone(), traced));
                ok += usize::from(black_box(r).is_ok());
            }
            ok
        })?;
        if round == 0 {
            println!(
                "  warm-up: zen {z} ns, puntos {p} ns, puntos traced {pt} ns, zen traced {zt} ns"
            );
            continue;
        }
        println!(
            "  round {round}: zen {z} ns, puntos {p} ns, puntos traced {pt} ns, zen traced {zt} ns"
        );
        zen_plain.push(z);
        puntos_plain.push(p);
        puntos_traced.push(pt);
        zen_traced.push(zt);
    }
    let z = median(&mut zen_plain);
    let zt = median(&mut zen_traced);
    let p = median(&mut puntos_plain);
    let pt = median(&mut puntos_traced);
    println!("median ns per evaluation over {rounds} rounds:");
    println!("  zen-engine 2.1.6, compiled, trace off: {z}");
    println!("  zen-engine 2.1.6, compiled, trace on:  {zt}");
    println!("  puntos, trace off:                     {p}");
    println!("  puntos, trace on:                      {pt}");
    println!(
        "ratio zen / puntos: trace off {}x, trace on {}x",
        ratio(z, p),
        ratio(zt, pt)
    );
    Ok(true)
}

fn compile_puntos() -> Result<Program, String> {
    let source = SourceFile::new("loyalty.pts", include_str!("../loyalty.pts"));
    let compiled = puntos::compile(&source);
    compiled
        .program
        .ok_or_else(|| format!("loyalty.pts does not compile: {:?}", compiled.diagnostics))
}

/// The puntos context of one basket: the tier held open-ended, a birth date `age` years before
/// the purchase date (the birthday is that day, so the age is exactly `age`), noon UTC.
fn context(input: &Input) -> Result<Context, String> {
    let date = input.transaction.date;
    let weekday = match date.weekday() {
        Weekday::Mon => "Mon",
        Weekday::Tue => "Tue",
        Weekday::Wed => "Wed",
        Weekday::Thu => "Thu",
        Weekday::Fri => "Fri",
        Weekday::Sat => "Sat",
        Weekday::Sun => "Sun",
    };
    if weekday != input.transaction.weekday {
        return Err(format!(
            "{date} is a {weekday}, the input says {}",
            input.transaction.weekday
        ));
    }
    let birth_date = date
        .with_year(date.year() - input.customer.age)
        .ok_or_else(|| format!("no birth date {} years before {date}", input.customer.age))?;
    let time = date
        .and_hms_opt(12, 0, 0)
        .ok_or("noon does not exist")?
        .and_utc()
        .fixed_offset();
    let lines: Vec<Line> = input
        .basket
        .lines
        .iter()
        .map(|l| Line {
            sku: "".into(),
            name: "".into(),
            category: l.category.as_str().into(),
            brand: "".into(),
            unit_price: l.amount,
            quantity: Decimal::ONE,
            amount: Some(l.amount),
            original_line: None,
        })
        .collect();
    // puntos computes basket.total from the lines; zen reads the input's total.
    let sum: Decimal = input.basket.lines.iter().map(|l| l.amount).sum();
    if sum != input.basket.total {
        return Err(format!(
            "the lines sum to {sum}, the basket total is {}",
            input.basket.total
        ));
    }
    let tier = match input.customer.tier.as_str() {
        "Basic" => None,
        name => Some(HeldTier {
            name: name.to_string(),
            until: None,
        }),
    };
    Ok(Context {
        transaction: Transaction {
            time,
            lines,
            ..Transaction::default()
        },
        customer: Customer {
            birth_date: Some(birth_date),
            ..Customer::default()
        },
        account: AccountView {
            tier,
            ..AccountView::default()
        },
        // Decided as of the transaction's own time.
        ..Context::default()
    })
}

/// The decision's points, rule by rule, in the shape of `rust_results.json`.
fn puntos_points(decision: &puntos::Decision) -> Result<Points, String> {
    let mut p = Points {
        base: Decimal::ZERO,
        tier_bonus: Decimal::ZERO,
        promo: Decimal::ZERO,
        points: decision.points_earned(),
    };
    for effect in &decision.effects {
        if let Effect::Earn { source, points, .. } = effect {
            match (source, source.name()) {
                (Source::Rule(_), "base") => p.base += points,
                (Source::Rule(_), "silver_bonus" | "gold_bonus") => p.tier_bonus += points,
                (Source::Promotion(_), "senior_weekend") => p.promo += points,
                (other, _) => return Err(format!("unexpected points from {other}")),
            }
        }
    }
    if p.base + p.tier_bonus + p.promo != p.points {
        return Err(format!("the rules' points do not add up: {p:?}"));
    }
    Ok(p)
}

/// Runs `f` (which evaluates all `n` inputs and returns how many succeeded) and returns the
/// whole nanoseconds per evaluation.
fn time_per_eval(n: usize, f: impl FnOnce() -> usize) -> Result<u128, String> {
    let start = Instant::now();
    let ok = f();
    let elapsed = start.elapsed().as_nanos();
    if ok != n {
        return Err(format!("{} of {n} evaluations failed while timing", n - ok));
    }
    Ok(elapsed / n.max(1) as u128)
}

fn median(xs: &mut [u128]) -> u128 {
    xs.sort_unstable();
    xs.get(xs.len() / 2).copied().unwrap_or_default()
}

/// `a / b` to two decimal places, in exact decimals.
fn ratio(a: u128, b: u128) -> String {
    match (Decimal::from_i128_with_scale(a as i128, 0), b) {
        (_, 0) => "n/a".to_string(),
        (a, b) => (a / Decimal::from_i128_with_scale(b as i128, 0))
            .round_dp(2)
            .to_string(),
    }
}
