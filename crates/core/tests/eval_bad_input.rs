//! Bad input to the evaluator: every case ends in a clear error that names the field at fault
//! (or, for a program's arithmetic, the declaration and the spot in the source), or in a
//! decision that says what it refused; never in a panic.

// Test code may panic on a broken expectation, helpers included (clippy.toml only covers
// `#[test]` functions themselves).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{bank, pharmacy, program};
use proptest::prelude::*;
use puntos::eval::{parse_duration, AccountView, Line, Transaction};
use puntos::{Context, Decision, EvalError, Program};
use rust_decimal::Decimal;
use std::time::{Duration, Instant};

// ------------------------------------------------------------------ helpers

/// The pharmacy's account part: the spend window its tiers read, and `available` points.
fn account(available: u32) -> String {
    format!(r#""account": {{"available": {available}, "spend": {{"12 months": 0}}}}"#)
}

/// A pharmacy purchase context with the given transaction fields after `time`.
fn purchase(rest: &str) -> String {
    format!(
        r#"{{"transaction": {{"time": "2026-02-10T12:00:00+03:00"{rest}}}, {}}}"#,
        account(0)
    )
}

fn context(json: &str) -> Context {
    match Context::from_json(json) {
        Ok(c) => c,
        Err(e) => panic!("the context should read: {e}\n{json}"),
    }
}

/// Evaluates `json` on `p`, expecting an input error; returns (field, message).
fn input_error(p: &Program, json: &str) -> (String, String) {
    match p.evaluate(&context(json)) {
        Err(EvalError::Input { field, message }) => (field, message),
        other => panic!("expected an input error, got {other:#?}\nfor {json}"),
    }
}

/// Reads `json`, expecting the reading to fail; returns (field, message).
fn read_error(json: &str) -> (String, String) {
    match Context::from_json(json) {
        Err(EvalError::Input { field, message }) => (field, message),
        Err(other) => panic!("expected an input error, got {other:#?}"),
        Ok(c) => panic!("expected a reading error, got {c:#?}"),
    }
}

fn assert_mentions(message: &str, words: &[&str]) {
    for word in words {
        assert!(
            message.contains(word),
            "the message does not mention `{word}`: {message}"
        );
    }
}

fn decide(p: &Program, json: &str) -> Decision {
    match p.evaluate(&context(json)) {
        Ok(d) => d,
        Err(e) => panic!("expected a decision, got {e}\nfor {json}"),
    }
}

fn line(price: Decimal, quantity: i64) -> Line {
    Line {
        sku: "A".into(),
        name: "".into(),
        category: "otc".into(),
        brand: "".into(),
        unit_price: price,
        quantity: Decimal::from(quantity),
        amount: None,
        original_line: None,
    }
}

// ------------------------------------------------------------------ coupons

#[test]
fn an_unknown_coupon_code_is_refused_with_its_reason_not_an_error() {
    let d = decide(
        pharmacy(),
        &purchase(
            r#", "coupons": ["NOSUCHCODE"], "lines": [{"category": "otc", "unit_price": 1000}]"#,
        ),
    );
    assert_eq!(d.refused_coupons.len(), 1, "{d:#?}");
    assert_eq!(d.refused_coupons[0].code, "NOSUCHCODE");
    assert_eq!(d.refused_coupons[0].reason, "unknown code");
    assert_eq!(d.discount_total(), Decimal::ZERO);
    // The purchase still earns.
    assert_eq!(d.points_earned(), Decimal::from(100));
}

#[test]
fn a_personal_code_not_held_is_refused_as_not_issued() {
    let d = decide(
        pharmacy(),
        &purchase(
            r#", "coupons": ["W-ZZZZ9999"], "lines": [{"category": "otc", "unit_price": 1000}]"#,
        ),
    );
    assert_eq!(d.refused_coupons.len(), 1, "{d:#?}");
    assert_eq!(d.refused_coupons[0].code, "W-ZZZZ9999");
    assert_mentions(&d.refused_coupons[0].reason, &["not issued"]);
    assert_eq!(d.discount_total(), Decimal::ZERO);
}

#[test]
fn too_many_coupon_codes_are_refused_by_the_limit() {
    let codes: Vec<String> = (0..25).map(|i| format!("\"C{i}\"")).collect();
    let (field, message) = input_error(
        pharmacy(),
        &purchase(&format!(
            r#", "coupons": [{}], "lines": [{{"unit_price": 10}}]"#,
            codes.join(",")
        )),
    );
    assert_eq!(field, "transaction.coupons");
    assert_mentions(&message, &["25", "limit"]);
}

// ------------------------------------------------------------------ redemption

fn redeem(p: &Program, available: u32, redeem: &str, lines: &str, spend: &str) -> (String, String) {
    input_error(
        p,
        &format!(
            r#"{{"transaction": {{"time": "2026-02-10T12:00:00+03:00", "redeem": {redeem}, "lines": [{lines}]}},
                "account": {{"available": {available}, "spend": {{"12 months": {spend}, "90 days": {spend}}}}}}}"#
        ),
    )
}

#[test]
fn a_redemption_above_the_balance_names_the_available_balance() {
    let (field, message) = redeem(pharmacy(), 200, "250", r#"{"unit_price": 5000}"#, "0");
    assert_eq!(field, "transaction.redeem");
    assert_mentions(&message, &["250", "200 available"]);
}

#[test]
fn a_redemption_off_the_step_is_refused_with_a_suggestion() {
    // Pharmacy: steps of 1 point.
    let (field, message) = redeem(pharmacy(), 500, "10.5", r#"{"unit_price": 5000}"#, "0");
    assert_eq!(field, "transaction.redeem");
    assert_mentions(&message, &["10.5"]);
    assert!(
        message.contains("steps of 1") || message.contains("decimal places"),
        "{message}"
    );
    // Bank: steps of 100 points.
    let (field, message) = redeem(bank(), 10_000, "2550", r#"{"unit_price": 500}"#, "0");
    assert_eq!(field, "transaction.redeem");
    assert_mentions(&message, &["steps of 100", "2550", "try 2500"]);
}

#[test]
fn a_redemption_above_the_share_of_the_basket_is_refused() {
    // 30% of 1000 RUB is 300 RUB: 301 points are too many, 300 are fine.
    let (field, message) = redeem(pharmacy(), 1000, "301", r#"{"unit_price": 1000}"#, "0");
    assert_eq!(field, "transaction.redeem");
    assert_mentions(&message, &["301", "30% of basket.total", "300"]);
    let d = decide(
        pharmacy(),
        r#"{"transaction": {"time": "2026-02-10T12:00:00+03:00", "redeem": 300,
             "lines": [{"unit_price": 1000}]},
            "account": {"available": 1000, "spend": {"12 months": 0}}}"#,
    );
    assert_eq!(d.points_redeemed(), Decimal::from(300));
}

#[test]
fn a_redemption_below_the_minimum_balance_or_negative_is_refused() {
    let (field, message) = redeem(pharmacy(), 99, "50", r#"{"unit_price": 1000}"#, "0");
    assert_eq!(field, "transaction.redeem");
    assert_mentions(&message, &["100", "99"]);
    let (field, message) = redeem(pharmacy(), 500, "-5", r#"{"unit_price": 1000}"#, "0");
    assert_eq!(field, "transaction.redeem");
    assert_mentions(&message, &["negative"]);
}

#[test]
fn a_redemption_on_a_signup_is_refused() {
    let (field, message) = input_error(
        pharmacy(),
        &format!(
            r#"{{"transaction": {{"kind": "signup", "time": "2026-02-10T12:00:00+03:00", "redeem": 100}}, {}}}"#,
            account(500)
        ),
    );
    assert_eq!(field, "transaction.redeem");
    assert_mentions(&message, &["signup"]);
}

// ------------------------------------------------------------------ lines

#[test]
fn a_negative_quantity_names_the_line() {
    let (field, message) = input_error(
        pharmacy(),
        &purchase(r#", "lines": [{"unit_price": 100, "quantity": -1}]"#),
    );
    assert_eq!(field, "transaction.lines[0].quantity");
    assert_mentions(&message, &["-1", "more than 0", "refund"]);
}

#[test]
fn a_zero_quantity_names_the_line() {
    let (field, message) = input_error(
        pharmacy(),
        &purchase(r#", "lines": [{"unit_price": 100}, {"unit_price": 100, "quantity": 0}]"#),
    );
    assert_eq!(field, "transaction.lines[1].quantity");
    assert_mentions(&message, &["0 units", "more than 0"]);
}

#[test]
fn a_negative_unit_price_names_the_line() {
    let (field, message) = input_error(
        pharmacy(),
        &purchase(r#", "lines": [{"unit_price": 100}, {"unit_price": -19.99}]"#),
    );
    assert_eq!(field, "transaction.lines[1].unit_price");
    assert_mentions(&message, &["-19.99", "price", "negative"]);
}

#[test]
fn a_negative_line_amount_or_transaction_amount_is_refused() {
    let (field, message) = input_error(
        pharmacy(),
        &purchase(r#", "lines": [{"unit_price": 100, "amount": -1}]"#),
    );
    assert_eq!(field, "transaction.lines[0].amount");
    assert_mentions(&message, &["-1"]);
    let (field, message) = input_error(
        pharmacy(),
        &purchase(r#", "amount": -5, "lines": [{"unit_price": 100}]"#),
    );
    assert_eq!(field, "transaction.amount");
    assert_mentions(&message, &["-5"]);
}

#[test]
fn huge_amounts_are_refused_with_the_field_named() {
    for price in ["1e20", "100000000000000000000", "\"100000000000000000000\""] {
        let json = purchase(&format!(
            r#", "lines": [{{"unit_price": 10}}, {{"unit_price": {price}}}]"#
        ));
        // Either reading or deciding refuses it; both name the price.
        let (field, message) = match Context::from_json(&json) {
            Ok(ctx) => match pharmacy().evaluate(&ctx) {
                Err(EvalError::Input { field, message }) => (field, message),
                other => panic!("{price}: expected an input error, got {other:#?}"),
            },
            Err(EvalError::Input { field, message }) => (field, message),
            Err(other) => panic!("{price}: {other:#?}"),
        };
        assert_eq!(
            field, "transaction.lines[1].unit_price",
            "{price}: {message}"
        );
        assert!(!message.is_empty());
    }
    // A price within bounds times a huge quantity: the line amount is refused.
    let (field, message) = input_error(
        pharmacy(),
        &purchase(r#", "lines": [{"unit_price": 999999999999999, "quantity": 1000000000}]"#),
    );
    assert!(
        field.starts_with("transaction.lines[0]."),
        "{field}: {message}"
    );
    // Too many units.
    let (field, _) = input_error(
        pharmacy(),
        &purchase(r#", "lines": [{"unit_price": 1, "quantity": 10000000000}]"#),
    );
    assert_eq!(field, "transaction.lines[0].quantity");
}

#[test]
fn a_currency_mismatch_is_refused() {
    let (field, message) = input_error(
        pharmacy(),
        &purchase(r#", "currency": "USD", "lines": [{"unit_price": 100}]"#),
    );
    assert_eq!(field, "transaction.currency");
    assert_mentions(&message, &["USD", "RUB"]);
    // The program's own currency, in any case, is fine.
    decide(
        pharmacy(),
        &purchase(r#", "currency": "rub", "lines": [{"unit_price": 100}]"#),
    );
}

// ------------------------------------------------------------------ reading JSON

#[test]
fn a_timestamp_without_offset_is_refused_when_read() {
    let (field, message) = read_error(&format!(
        r#"{{"transaction": {{"time": "2026-03-14T12:30:00"}}, {}}}"#,
        account(0)
    ));
    assert_eq!(field, "transaction.time");
    assert_mentions(&message, &["no UTC offset", "2026-03-14T12:30:00+03:00"]);
    let (field, message) = read_error(r#"{"transaction": {"time": "yesterday"}}"#);
    assert_eq!(field, "transaction.time");
    assert_mentions(&message, &["yesterday"]);
}

#[test]
fn text_that_is_no_json_names_the_field_around_it_and_its_place() {
    let (field, message) = read_error("{");
    assert_eq!(field, "input");
    assert_mentions(&message, &["EOF", "line 1 column 1"]);
    let (field, message) = read_error(r#"{"transaction": {"time": "2026-03-14T12:30:00+03:00",}}"#);
    assert_eq!(field, "transaction");
    assert_mentions(&message, &["trailing comma", "line 1"]);
}

#[test]
fn a_held_codes_own_record_is_read_strictly_and_optional() {
    let with_code = |record: &str| {
        format!(
            r#"{{"transaction": {{"time": "2026-02-10T12:00:00+03:00"}}, "account": {{"coupons": [
                {{"code": "W-1", "coupon": "WELCOME10", "issued_at": "2026-02-01T10:00:00+03:00"}},
                {{"code": "W-2", "coupon": "WELCOME10", "issued_at": "2026-02-01T10:00:00+03:00"{record}}}
            ]}}}}"#
        )
    };
    let (field, message) = read_error(&with_code(r#", "valid_until": "2026-12-31T23:59:59""#));
    assert_eq!(field, "account.coupons[1].valid_until");
    assert_mentions(&message, &["no UTC offset", "2026-12-31T23:59:59+03:00"]);
    let (field, message) = read_error(&with_code(r#", "valid_from": "soon""#));
    assert_eq!(field, "account.coupons[1].valid_from");
    assert_mentions(&message, &["soon"]);
    let (field, _) = read_error(&with_code(r#", "max_uses": -1"#));
    assert_eq!(field, "account.coupons[1].max_uses");
    let (field, message) = read_error(&with_code(r#", "uses_left": 2"#));
    assert!(field.starts_with("account.coupons[1]"), "{field}");
    assert_mentions(&message, &["uses_left"]);
    // Given, the record is kept; absent, it is none and is not written out.
    let read = context(&with_code(
        r#", "valid_from": "2026-02-05T00:00:00+03:00", "valid_until": "2026-12-31T23:59:59Z", "max_uses": 3, "used": 1"#,
    ));
    let (plain, own) = (&read.account.coupons[0], &read.account.coupons[1]);
    assert_eq!(
        (
            plain.valid_from,
            plain.valid_until,
            plain.max_uses,
            plain.used
        ),
        (None, None, None, 0)
    );
    assert_eq!(own.uses_left(), Some(2));
    assert_eq!(
        own.valid_until.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-12-31T23:59:59+00:00")
    );
    let written = serde_json::to_value(&read.account.coupons).unwrap();
    assert_eq!(
        written[0],
        serde_json::json!({"code": "W-1", "coupon": "WELCOME10", "issued_at": "2026-02-01T10:00:00+03:00"})
    );
    assert_eq!(written[1]["max_uses"], 3);
    assert_eq!(written[1]["used"], 1);
}

#[test]
fn an_invalid_phone_is_named_and_valid_ones_are_kept_in_e164() {
    let with_phones = |phones: &str| {
        format!(
            r#"{{"transaction": {{"time": "2026-02-10T12:00:00+03:00"}}, "customer": {{"id": "C-1", "phones": {phones}}}}}"#
        )
    };
    let (field, message) = read_error(&with_phones(r#"["+7 916 123-45-67", "8 (916) 000"]"#));
    assert_eq!(field, "customer.phones");
    assert_mentions(&message, &["[1]", "8 (916) 000", "country code"]);
    let read = context(&with_phones(
        r#"["+7 (916) 123-45-67", "+44 20 7183 8750"]"#,
    ));
    assert_eq!(read.customer.phones, ["+79161234567", "+442071838750"]);
}

#[test]
fn a_misspelt_field_is_named() {
    let (field, message) = read_error(&purchase(r#", "lines": [{"unit_prise": 100}]"#));
    assert!(
        field.starts_with("transaction.lines[0]"),
        "{field}: {message}"
    );
    assert_mentions(&message, &["unit_prise"]);
    let (field, message) =
        read_error(r#"{"transaction": {"time": "2026-02-10T12:00:00+03:00"}, "acount": {}}"#);
    assert_mentions(&format!("{field} {message}"), &["acount"]);
}

#[test]
fn a_number_given_as_text_that_is_not_a_number_is_named() {
    let (field, message) = read_error(&purchase(r#", "lines": [{"unit_price": "twelve"}]"#));
    assert_eq!(field, "transaction.lines[0].unit_price", "{message}");
    let (field, _) = read_error(&purchase(
        r#", "lines": [{"unit_price": 1}, {"unit_price": 1, "quantity": "2 pcs"}]"#,
    ));
    assert_eq!(field, "transaction.lines[1].quantity");
    // A number as text that is a number reads exactly.
    let ctx = context(&purchase(r#", "lines": [{"unit_price": "199.90"}]"#));
    assert_eq!(ctx.transaction.lines[0].unit_price, Decimal::new(19990, 2));
}

#[test]
fn malformed_json_and_bad_windows_are_named() {
    let (field, _) = read_error(r#"{"transaction": {"time": "2026-02-10T12:00:00+03:00""#);
    assert!(!field.is_empty());
    let (field, _) = read_error(r#"{"transaction": {"time": "2026-02-10T12:00:00+03:00"}} x"#);
    assert!(!field.is_empty());
    let (field, message) = read_error(
        r#"{"transaction": {"time": "2026-02-10T12:00:00+03:00"}, "account": {"spend": {"12 moons": 5}}}"#,
    );
    assert!(field.starts_with("account.spend"), "{field}: {message}");
    assert_mentions(&message, &["moons"]);
    let (field, _) = read_error(r#"{"customer": {"id": "C"}}"#);
    assert!(field == "transaction" || field == "input", "{field}");
}

#[test]
fn a_million_line_basket_is_refused_quickly() {
    let started = Instant::now();
    let ctx = Context {
        transaction: Transaction {
            time: chrono::DateTime::parse_from_rfc3339("2026-02-10T12:00:00+03:00").unwrap(),
            lines: vec![line(Decimal::new(1999, 2), 1); 1_000_000],
            ..Transaction::default()
        },
        account: AccountView {
            spend: vec![(parse_duration("12 months").unwrap(), Decimal::ZERO)],
            ..AccountView::default()
        },
        ..Context::default()
    };
    match pharmacy().evaluate(&ctx) {
        Err(EvalError::Input { field, message }) => {
            assert_eq!(field, "transaction.lines");
            assert_mentions(&message, &["1000000", "limit", "10000"]);
        }
        other => panic!(
            "expected the line limit, got {:?}",
            other.map(|d| d.effects.len())
        ),
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_basket_just_over_the_limit_read_from_json_is_refused() {
    let mut json =
        String::from(r#"{"transaction": {"time": "2026-02-10T12:00:00+03:00", "lines": ["#);
    for i in 0..10_001 {
        if i > 0 {
            json.push(',');
        }
        json.push_str(r#"{"unit_price": 1.5}"#);
    }
    json.push_str(r#"]}, "account": {"spend": {"12 months": 0}}}"#);
    let (field, message) = input_error(pharmacy(), &json);
    assert_eq!(field, "transaction.lines");
    assert_mentions(&message, &["10001", "limit"]);
}

// ------------------------------------------------------------------ events

#[test]
fn an_unknown_event_kind_lists_the_known_ones() {
    let (field, message) = input_error(
        pharmacy(),
        &format!(
            r#"{{"transaction": {{"kind": "teleport", "time": "2026-02-10T12:00:00+03:00"}}, {}}}"#,
            account(0)
        ),
    );
    assert_eq!(field, "transaction.kind");
    assert_mentions(&message, &["teleport", "purchase", "refund"]);
}

#[test]
fn lines_on_a_signup_are_refused() {
    let (field, message) = input_error(
        pharmacy(),
        &format!(
            r#"{{"transaction": {{"kind": "signup", "time": "2026-02-10T12:00:00+03:00", "lines": [{{"unit_price": 100}}]}}, {}}}"#,
            account(0)
        ),
    );
    assert_eq!(field, "transaction.lines");
    assert_mentions(&message, &["signup", "no basket"]);
}

// ------------------------------------------------------------------ refunds

/// The decision of a pharmacy purchase of two lines (2 and 1 units), as JSON.
fn original() -> String {
    let d = decide(
        pharmacy(),
        &purchase(
            r#", "id": "T-1", "lines": [{"category": "otc", "unit_price": 500, "quantity": 2}, {"category": "vitamins", "unit_price": 300}]"#,
        ),
    );
    assert_eq!(d.points_earned(), Decimal::from(130));
    serde_json::to_string(&d).unwrap()
}

fn refund_of(lines: &str, before: &str) -> String {
    format!(
        r#"{{"transaction": {{"kind": "refund", "time": "2026-02-12T12:00:00+03:00", "lines": [{lines}],
              "refund": {{"original": {}, "refunded_before": [{before}]}}}}, {}}}"#,
        original(),
        account(0)
    )
}

#[test]
fn a_refund_without_its_original_is_refused() {
    let (field, message) = input_error(
        pharmacy(),
        &format!(
            r#"{{"transaction": {{"kind": "refund", "time": "2026-02-12T12:00:00+03:00", "lines": [{{"unit_price": 500, "original_line": 0}}]}}, {}}}"#,
            account(0)
        ),
    );
    assert_eq!(field, "transaction.refund");
    assert_mentions(&message, &["original"]);
}

#[test]
fn an_original_on_a_purchase_is_refused() {
    let json = format!(
        r#"{{"transaction": {{"time": "2026-02-12T12:00:00+03:00", "lines": [{{"unit_price": 500}}],
              "refund": {{"original": {}}}}}, {}}}"#,
        original(),
        account(0)
    );
    let (field, message) = input_error(pharmacy(), &json);
    assert_eq!(field, "transaction.refund");
    assert_mentions(&message, &["purchase"]);
}

#[test]
fn a_refund_line_out_of_range_is_refused() {
    let (field, message) = input_error(
        pharmacy(),
        &refund_of(r#"{"unit_price": 500, "original_line": 2}"#, ""),
    );
    assert_eq!(field, "transaction.lines[0].original_line");
    assert_mentions(&message, &["line 2", "2 lines"]);
}

#[test]
fn a_refund_line_without_its_original_line_is_refused() {
    let (field, message) = input_error(
        pharmacy(),
        &refund_of(
            r#"{"unit_price": 500, "original_line": 0}, {"unit_price": 300}"#,
            "",
        ),
    );
    assert_eq!(field, "transaction.lines[1].original_line");
    assert_mentions(&message, &["original purchase"]);
}

#[test]
fn refunding_more_units_than_bought_is_refused() {
    let (field, message) = input_error(
        pharmacy(),
        &refund_of(
            r#"{"unit_price": 500, "quantity": 3, "original_line": 0}"#,
            "",
        ),
    );
    assert_eq!(field, "transaction.lines[0].quantity");
    assert_mentions(&message, &["3 units", "had 2"]);
    // Split over two lines of the same refund.
    let (field, _) = input_error(
        pharmacy(),
        &refund_of(
            r#"{"unit_price": 300, "original_line": 1}, {"unit_price": 300, "original_line": 1}"#,
            "",
        ),
    );
    assert_eq!(field, "transaction.lines[1].quantity");
    // Units returned by an earlier refund count.
    let (field, message) = input_error(
        pharmacy(),
        &refund_of(
            r#"{"unit_price": 500, "quantity": 2, "original_line": 0}"#,
            r#"{"line": 0, "quantity": 1}"#,
        ),
    );
    assert_eq!(field, "transaction.lines[0].quantity");
    assert_mentions(&message, &["1 returned before"]);
    // What is left can still be returned.
    let d = decide(
        pharmacy(),
        &refund_of(
            r#"{"unit_price": 500, "original_line": 0}"#,
            r#"{"line": 0, "quantity": 1}"#,
        ),
    );
    assert_eq!(d.points_earned(), Decimal::from(-50));
}

#[test]
fn a_refund_with_a_bad_original_decision_is_named() {
    let (field, _) = read_error(
        r#"{"transaction": {"kind": "refund", "time": "2026-02-12T12:00:00+03:00",
              "refund": {"original": {"transaction": "T-1"}}}}"#,
    );
    assert!(field.starts_with("transaction.refund.original"), "{field}");
}

// ------------------------------------------------------------------ account and program

#[test]
fn an_account_without_the_spend_window_is_refused() {
    let (field, message) = input_error(
        pharmacy(),
        r#"{"transaction": {"time": "2026-02-10T12:00:00+03:00", "lines": [{"unit_price": 100}]},
            "account": {"spend": {"30 days": 0}}}"#,
    );
    assert_eq!(field, "account.spend");
    assert_mentions(&message, &["12 months"]);
    let (field, _) = input_error(
        pharmacy(),
        r#"{"transaction": {"time": "2026-02-10T12:00:00+03:00", "lines": [{"unit_price": 100}]}}"#,
    );
    assert_eq!(field, "account.spend");
}

#[test]
fn an_unknown_held_tier_lists_the_tiers() {
    let (field, message) = input_error(
        pharmacy(),
        r#"{"transaction": {"time": "2026-02-10T12:00:00+03:00", "lines": [{"unit_price": 100}]},
            "account": {"spend": {"12 months": 0}, "tier": {"name": "Diamond"}}}"#,
    );
    assert_eq!(field, "account.tier.name");
    assert_mentions(&message, &["Diamond", "Silver", "Gold", "Platinum"]);
}

#[test]
fn a_negative_balance_is_refused() {
    let (field, message) = input_error(
        pharmacy(),
        r#"{"transaction": {"time": "2026-02-10T12:00:00+03:00", "lines": [{"unit_price": 100}]},
            "account": {"spend": {"12 months": 0}, "available": -3}}"#,
    );
    assert_eq!(field, "account.available");
    assert_mentions(&message, &["-3"]);
}

#[test]
fn a_transaction_before_the_program_takes_effect_is_refused() {
    // 23:59 on 31 December in Moscow: still before 2026-01-01 there.
    let (field, message) = input_error(
        pharmacy(),
        &format!(
            r#"{{"transaction": {{"time": "2025-12-31T23:59:00+03:00", "lines": [{{"unit_price": 100}}]}}, {}}}"#,
            account(0)
        ),
    );
    assert_eq!(field, "transaction.time");
    assert_mentions(&message, &["before", "2026-01-01", "Vita Club"]);
    // The same instant written in UTC: 20:59Z is 23:59 in Moscow.
    let (field, _) = input_error(
        pharmacy(),
        &format!(
            r#"{{"transaction": {{"time": "2025-12-31T20:59:00Z", "lines": [{{"unit_price": 100}}]}}, {}}}"#,
            account(0)
        ),
    );
    assert_eq!(field, "transaction.time");
    // 21:00Z is midnight in Moscow: in effect.
    decide(
        pharmacy(),
        &format!(
            r#"{{"transaction": {{"time": "2025-12-31T21:00:00Z", "lines": [{{"unit_price": 100}}]}}, {}}}"#,
            account(0)
        ),
    );
}

#[test]
fn a_number_too_large_for_a_decimal_names_the_field() {
    let (field, message) = read_error(&purchase(r#", "lines": [{"unit_price": 1e40}]"#));
    assert_eq!(field, "transaction.lines[0].unit_price", "{message}");
    let (field, message) = read_error(&purchase(
        r#", "redeem": 100000000000000000000000000000000000000, "lines": [{"unit_price": 1}]"#,
    ));
    assert_eq!(field, "transaction.redeem", "{message}");
}

#[test]
fn a_huge_spend_history_is_refused_not_a_panic() {
    let json = r#"{"transaction": {"time": "2026-02-10T12:00:00+03:00", "lines": [{"unit_price": 100}]},
        "account": {"spend": {"12 months": 79228162514264337593543950335}}}"#;
    let ctx = context(json);
    let outcome = std::panic::catch_unwind(|| pharmacy().evaluate(&ctx));
    match outcome {
        Ok(Err(EvalError::Input { field, .. })) => assert_eq!(field, "account.spend.12 months"),
        Ok(other) => panic!("expected an input error on account.spend, got {other:#?}"),
        Err(_) => panic!("the evaluator panicked"),
    }
}

#[test]
fn a_huge_negative_counter_is_refused_not_a_panic() {
    let json = r#"{"transaction": {"time": "2026-03-10T12:00:00+03:00", "lines": [{"category": "vitamins", "unit_price": 100}]},
        "account": {"spend": {"12 months": 0}, "earned": {"vitamin_month": -79228162514264337593543950335}}}"#;
    let ctx = context(json);
    let outcome = std::panic::catch_unwind(|| pharmacy().evaluate(&ctx));
    match outcome {
        Ok(Err(EvalError::Input { field, .. })) => {
            assert!(field.starts_with("account.earned"), "{field}");
        }
        Ok(other) => panic!("expected an input error on account.earned, got {other:#?}"),
        Err(_) => panic!("the evaluator panicked"),
    }
}

const CAPPED: &str = r#"program "Capped" {
  currency RUB
  timezone "Europe/Moscow"
}

rule base {
  on purchase
  earn floor(item.amount / 10 RUB) points for each item
  cap 100 points per month
}

promotion promo {
  on purchase
  earn 50 points
  budget 500 points
}
"#;

#[test]
fn negative_counters_are_refused() {
    let p = program("capped.pts", CAPPED);
    let earned = r#"{"transaction": {"time": "2026-03-10T12:00:00+03:00", "lines": [{"unit_price": 5000}]},
        "account": {"earned": {"base": -1000}}}"#;
    let outcome = p.evaluate(&context(earned));
    match &outcome {
        Err(EvalError::Input { field, message }) => {
            assert!(field.starts_with("account.earned"), "{field}: {message}");
            assert_mentions(message, &["-1000"]);
        }
        Ok(d) => panic!(
            "accepted, and the monthly cap of 100 let {} points through",
            d.points_earned()
        ),
        Err(e) => panic!("{e}"),
    }
    let budget = r#"{"transaction": {"time": "2026-03-10T12:00:00+03:00", "lines": [{"unit_price": 5000}]},
        "account": {"budget_used": {"promo": -1000}}}"#;
    match p.evaluate(&context(budget)) {
        Err(EvalError::Input { field, .. }) => {
            assert!(field.starts_with("account.budget_used"), "{field}")
        }
        other => panic!("expected an input error on account.budget_used, got {other:#?}"),
    }
}

#[test]
fn a_full_refund_of_goods_sold_by_weight_reverses_exactly() {
    // Two thirds of a kilo, as a scale computes it to the last digit a decimal holds.
    for (quantity, price) in [
        ("0.666666666666666666666666667", "1875"),
        ("0.333333333333333333333333333", "1234.5"),
        ("0.0784597895571124230", "343957285654552"),
    ] {
        let json = purchase(&format!(
            r#", "id": "T-9", "lines": [{{"category": "otc", "unit_price": {price}, "quantity": {quantity}}}]"#
        ));
        let bought = decide(pharmacy(), &json);
        assert!(bought.points_earned() > Decimal::ZERO);
        let refund = format!(
            r#"{{"transaction": {{"kind": "refund", "time": "2026-02-12T12:00:00+03:00",
                  "lines": [{{"unit_price": {price}, "quantity": {quantity}, "original_line": 0}}],
                  "refund": {{"original": {}}}}}, {}}}"#,
            serde_json::to_string(&bought).unwrap(),
            account(0)
        );
        let back = decide(pharmacy(), &refund);
        assert_eq!(
            back.points_earned(),
            -bought.points_earned(),
            "{quantity} units at {price}: earned {}, reversed {}",
            bought.points_earned(),
            -back.points_earned()
        );
    }
}

// ------------------------------------------------------------------ program arithmetic

const DIVIDES: &str = r#"program "Average" {
  currency RUB
  timezone "Europe/Moscow"
}

rule average {
  on purchase
  earn floor(basket.total / basket.quantity / 10 RUB) points
}
"#;

#[test]
fn a_division_by_zero_names_the_declaration_and_the_spot() {
    let p = program("average.pts", DIVIDES);
    let json = r#"{"transaction": {"time": "2026-02-10T12:00:00+03:00"}}"#;
    match p.evaluate(&context(json)) {
        Err(e @ EvalError::Computation { .. }) => {
            let EvalError::Computation {
                declaration,
                at,
                message,
                span,
            } = &e
            else {
                unreachable!()
            };
            assert_eq!(declaration, "rule average");
            assert_eq!(at.line, 8, "{e}");
            assert!(at.column > 1, "{e}");
            assert_mentions(message, &["division by zero"]);
            assert!(span.end <= DIVIDES.len());
            assert!(e.field().is_none());
            // The display names all of it.
            assert_mentions(
                &e.to_string(),
                &["rule average", "at 8:", "division by zero"],
            );
        }
        other => panic!("expected a computation error, got {other:#?}"),
    }
    // With goods in the basket it earns.
    let d = decide(
        &p,
        r#"{"transaction": {"time": "2026-02-10T12:00:00+03:00", "lines": [{"unit_price": 250, "quantity": 2}]}}"#,
    );
    assert_eq!(d.points_earned(), Decimal::from(25));
}

// ------------------------------------------------------------------ no panics

/// Extreme values the validation accepts: quantities up to a billion with many decimals,
/// prices up to a quadrillion, redemption of any size, every event.
fn extreme_line() -> impl Strategy<Value = Line> {
    (
        prop_oneof![
            Just(Decimal::ZERO),
            Just(Decimal::new(1, 2)),
            (0i64..=999_999_999_999_999).prop_map(Decimal::from),
            (0i64..=i64::MAX, 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s)),
        ],
        prop_oneof![
            Just(Decimal::ONE),
            (1i64..=1_000_000_000).prop_map(Decimal::from),
            (1i64..=i64::MAX, 9u32..=28).prop_map(|(m, s)| Decimal::new(m, s)),
        ],
        proptest::sample::select(
            &[
                "vitamins",
                "otc",
                "cosmetics",
                "baby_care",
                "travel",
                "fuel",
                "utilities",
                "dining",
            ][..],
        ),
        proptest::sample::select(&["La Roche-Posay", "Vichy", ""][..]),
        proptest::option::weighted(
            0.2,
            prop_oneof![
                (0i64..=999_999_999_999_999).prop_map(Decimal::from),
                (0i64..=i64::MAX, 4u32..=28).prop_map(|(m, s)| Decimal::new(m, s)),
            ],
        ),
    )
        .prop_map(|(price, quantity, category, brand, amount)| Line {
            category: category.into(),
            brand: brand.into(),
            quantity,
            amount,
            ..line(price, 1)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn extreme_values_give_a_decision_or_an_error_never_a_panic(
        lines in proptest::collection::vec(extreme_line(), 0..6),
        day in 0u32..365,
        redeem in proptest::option::of(prop_oneof![
            (0i64..=i64::MAX).prop_map(Decimal::from),
            (0i64..=i64::MAX, 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s)),
        ]),
        available in prop_oneof![Just(Decimal::MAX), (0i64..=i64::MAX).prop_map(Decimal::from)],
        earned in prop_oneof![Just(Decimal::MAX), (0i64..=i64::MAX).prop_map(Decimal::from)],
        spend in (0i64..=i64::MAX).prop_map(Decimal::from),
        use_bank in any::<bool>(),
        refund_it in any::<bool>(),
        kind in proptest::sample::select(&["purchase", "purchase", "purchase", "signup", "referral", "birthday", "paperless_enrolled"][..]),
        amount in proptest::option::weighted(0.2, (0i64..=999_999_999_999_999).prop_map(Decimal::from)),
        coupons in proptest::collection::vec(proptest::sample::select(&["W-ABCDEFGH", "X", "w-abcdefgh"][..]), 0..3),
    ) {
        let p = if use_bank { bank() } else { pharmacy() };
        let date = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
            .unwrap()
            .checked_add_days(chrono::Days::new(u64::from(day)))
            .unwrap();
        let time = date
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc()
            .fixed_offset();
        let mut account = AccountView {
            available,
            spend: vec![
                (parse_duration("12 months").unwrap(), spend),
                (parse_duration("90 days").unwrap(), spend),
            ],
            ..AccountView::default()
        };
        for name in ["vitamin_month", "everyday_bonus", "base", "airline_x_summer", "travel_week"] {
            account.earned.insert(name.into(), earned);
            account.budget_used.insert(name.into(), earned);
        }
        account.coupons.push(puntos::eval::HeldCoupon {
            code: "W-ABCDEFGH".to_string(),
            coupon: "WELCOME10".to_string(),
            issued_at: time,
            valid_from: None,
            valid_until: None,
            max_uses: None,
            used: 0,
        });
        let purchase = kind == "purchase";
        let ctx = Context {
            transaction: Transaction {
                id: "T-1".into(),
                kind: kind.into(),
                time,
                lines: if purchase { lines.clone() } else { Vec::new() },
                redeem,
                amount,
                coupons: coupons.into_iter().map(str::to_string).collect(),
                ..Transaction::default()
            },
            account,
            ..Context::default()
        };
        let outcome = p.evaluate_traced(&ctx);
        if let Err(EvalError::Input { field, message }) = &outcome {
            prop_assert!(!field.is_empty() && !message.is_empty());
        }
        if let (Ok(decision), true) = (&outcome, refund_it && purchase) {
            let refund = Context {
                transaction: Transaction {
                    id: "R-1".into(),
                    kind: "refund".into(),
                    time,
                    lines: lines
                        .iter()
                        .enumerate()
                        .map(|(i, l)| Line { original_line: Some(i), ..l.clone() })
                        .collect(),
                    refund: Some(puntos::eval::RefundOf {
                        original: decision.clone(),
                        refunded_before: Vec::new(),
                    }),
                    ..Transaction::default()
                },
                ..ctx.clone()
            };
            let back = p.evaluate_traced(&refund);
            // Exactness on such numbers is `a_full_refund_of_goods_sold_by_weight_reverses_exactly`'s
            // business; here the customer must at least keep nothing.
            if let Ok(back) = back {
                prop_assert!(-back.points_earned() >= decision.points_earned());
            }
        }
    }
}
