//! What an evaluation reads: the transaction, the customer, the account's state and history.
//!
//! Every type here deserializes from JSON (and from scenario files) with unknown fields refused,
//! so a misspelt field is an error rather than a silently missing value. Money and points are
//! [`Decimal`]s, read from JSON numbers or strings exactly, never through a binary float.

use crate::program::{Duration, Name, Program};
use chrono::{DateTime, FixedOffset, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::sync::LazyLock;

use super::calendar::moment_start;
use super::decision::Decision;

/// Everything one evaluation reads.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// The transaction being decided.
    pub transaction: Transaction,
    /// Who made it.
    #[serde(default)]
    pub customer: Customer,
    /// The account's state before the transaction.
    #[serde(default)]
    pub account: AccountView,
    /// When the decision is made; the transaction's time when absent. A transaction dated
    /// after it is refused: a till whose clock runs ahead must not earn tomorrow's promotions.
    #[serde(
        default,
        deserialize_with = "optional_instant",
        serialize_with = "optional_instant_out",
        skip_serializing_if = "Option::is_none"
    )]
    pub as_of: Option<DateTime<FixedOffset>>,
}

/// A context by reference, as the evaluator reads it: each part borrowed, so a caller that
/// holds the parts apart (the ledger: the transaction as given, the customer in the account's
/// state) decides without gathering copies of them into a [`Context`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parts<'a> {
    pub transaction: &'a Transaction,
    pub customer: &'a Customer,
    pub account: &'a AccountView,
    pub as_of: Option<DateTime<FixedOffset>>,
    /// The transaction's time already read in the program's zone by the caller (the ledger
    /// reads it for the account view), so the evaluation does not search the zone's table
    /// again; used only if it reads that very time in that zone.
    pub now: Option<super::calendar::Now>,
}

impl Context {
    /// The context's parts, borrowed.
    pub(crate) fn parts(&self) -> Parts<'_> {
        Parts {
            transaction: &self.transaction,
            customer: &self.customer,
            account: &self.account,
            as_of: self.as_of,
            now: None,
        }
    }
}

/// A transaction: a purchase, a refund, a signup or any event the program names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transaction {
    /// Its identifier, as the caller knows it.
    #[serde(default = "no_id")]
    pub id: Name,
    /// The event: `purchase`, `refund`, `signup`, `referral`, `birthday` or a declared event.
    #[serde(default = "purchase")]
    pub kind: Name,
    /// When it happened, with its UTC offset (`2026-03-14T12:30:00+03:00`).
    #[serde(deserialize_with = "instant", serialize_with = "instant_out")]
    pub time: DateTime<FixedOffset>,
    /// The currency of its amounts; when given it must be the program's.
    #[serde(default)]
    pub currency: Option<String>,
    /// Where it happened: `store`, `online`, `app`...
    #[serde(default)]
    pub channel: String,
    /// The store or merchant.
    #[serde(default)]
    pub store: Store,
    /// The amount paid; the basket total after item offers when absent.
    #[serde(default)]
    pub amount: Option<Decimal>,
    /// The basket lines (purchases and refunds).
    #[serde(default)]
    pub lines: Vec<Line>,
    /// Coupon codes presented.
    #[serde(default)]
    pub coupons: Vec<String>,
    /// Points the customer asks to pay with.
    #[serde(default)]
    pub redeem: Option<Decimal>,
    /// For a refund: the purchase being refunded.
    #[serde(default)]
    pub refund: Option<RefundOf>,
}

/// The default event (one name shared by every transaction that takes it).
fn purchase() -> Name {
    static PURCHASE: LazyLock<Name> = LazyLock::new(|| Name::from("purchase"));
    Name::clone(&PURCHASE)
}

/// No identifier given.
fn no_id() -> Name {
    static NONE: LazyLock<Name> = LazyLock::new(|| Name::from(""));
    Name::clone(&NONE)
}

impl Default for Transaction {
    fn default() -> Self {
        Transaction {
            id: no_id(),
            kind: purchase(),
            time: DateTime::UNIX_EPOCH.fixed_offset(),
            currency: None,
            channel: String::new(),
            store: Store::default(),
            amount: None,
            lines: Vec::new(),
            coupons: Vec::new(),
            redeem: None,
            refund: None,
        }
    }
}

/// A store or merchant. Absent text fields read as empty text.
///
/// The texts are shared names: a history names a few hundred stores over millions of
/// transactions, so a caller building many (a history reader, the synthetic population) clones
/// one name per store rather than copying its text into every transaction.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Store {
    /// Its identifier.
    pub id: Name,
    /// Its region.
    pub region: Name,
    /// Its city.
    pub city: Name,
    /// Its format (`pharmacy`, `kiosk`, `online`...).
    pub format: Name,
    /// The partner brand of the merchant, if any.
    pub partner: Name,
}

/// A basket line. Absent text fields read as empty text.
///
/// The texts are shared names (see [`Store`]): a catalogue's products recur across baskets, so
/// a caller building many lines clones each product's names instead of copying their text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// The product code.
    #[serde(default)]
    pub sku: Name,
    /// The product name.
    #[serde(default)]
    pub name: Name,
    /// The product category.
    #[serde(default)]
    pub category: Name,
    /// The brand.
    #[serde(default)]
    pub brand: Name,
    /// The price of one unit.
    pub unit_price: Decimal,
    /// How many units (fractions for goods sold by weight).
    #[serde(default = "one")]
    pub quantity: Decimal,
    /// The line amount; `unit_price * quantity` when absent.
    #[serde(default)]
    pub amount: Option<Decimal>,
    /// For a refund: the index of the refunded line in the original purchase.
    #[serde(default)]
    pub original_line: Option<usize>,
}

fn one() -> Decimal {
    Decimal::ONE
}

/// The purchase a refund returns goods from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundOf {
    /// The purchase's decision, as it was made under the program of that day.
    pub original: Decision,
    /// Units of each original line refunded by earlier refunds.
    #[serde(default)]
    pub refunded_before: Vec<RefundedUnits>,
}

/// Units of one original line already refunded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundedUnits {
    /// The original line's index.
    pub line: usize,
    /// How many units.
    pub quantity: Decimal,
}

/// The customer's profile.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Customer {
    /// Their identifier.
    pub id: String,
    /// Their name.
    pub name: String,
    /// Their phone numbers, in E.164 form (`+79161234567`). Read with their country codes in
    /// any spelling (`+7 916 123-45-67`) and kept in E.164; a number that is not valid in its
    /// country's numbering plan is an input error.
    #[serde(deserialize_with = "e164_list")]
    pub phones: Vec<String>,
    /// Their e-mail address.
    pub email: String,
    /// What they agreed to, and when (`sms`, `email`...).
    pub consents: BTreeMap<String, Consent>,
    /// Their birth date, if known.
    pub birth_date: Option<NaiveDate>,
    /// When they joined the program, if known.
    pub enrolled_at: Option<NaiveDate>,
    /// Their status (`active`, `blocked`...).
    pub status: String,
    /// Further text attributes of the profile (card type, preferred store...), read with
    /// `attribute("name")`; an attribute not given is unknown.
    pub attributes: BTreeMap<String, String>,
}

/// A consent given or withdrawn, with its moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    /// Given (true) or withdrawn.
    pub granted: bool,
    /// When.
    #[serde(deserialize_with = "instant", serialize_with = "instant_out")]
    pub at: DateTime<FixedOffset>,
}

/// The account's state before the transaction, as the ledger (or a simulation) knows it.
///
/// Counters are what was used *in the current period* of the cap or limit they serve (the
/// period that contains the transaction, in the program's time zone); absent counters are zero.
/// History windows the program reads ([`crate::program::Requirements`]) must be present.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountView {
    /// Points the customer can spend.
    pub available: Decimal,
    /// Points earned but still pending.
    pub pending: Decimal,
    /// The tier held, if any.
    pub tier: Option<HeldTier>,
    /// Money spent on purchases before this transaction, per window (`"12 months": 35000`).
    #[serde(deserialize_with = "windows", serialize_with = "windows_out")]
    pub spend: Vec<(Duration, Decimal)>,
    /// Purchases before this transaction, per window.
    #[serde(deserialize_with = "windows", serialize_with = "windows_out")]
    pub visits: Vec<(Duration, Decimal)>,
    /// The local date of the last purchase before this transaction.
    pub last_purchase: Option<NaiveDate>,
    /// Points each rule or promotion earned in the current period of its cap.
    pub earned: BTreeMap<Name, Decimal>,
    /// Times each promotion, offer or coupon applied in the current period of its limit
    /// (coupons: over the customer's whole life).
    pub uses: BTreeMap<Name, u32>,
    /// Budget each promotion has spent so far, across all customers.
    pub budget_used: BTreeMap<Name, Decimal>,
    /// Personal coupons the customer holds.
    pub coupons: Vec<HeldCoupon>,
}

/// A tier the account holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeldTier {
    /// The tier's name.
    pub name: String,
    /// The last day it is kept (inclusive); absent: kept until the ledger changes it. Only
    /// tiers with `keep` are held; a tier without it lasts while its condition holds.
    #[serde(default)]
    pub until: Option<NaiveDate>,
}

/// A personal coupon code the customer holds, with the code's own record.
///
/// A code is honoured under its coupon's declaration (its window or `valid N days` after issue,
/// `uses N per customer`) *and* under its own record: a code migrated from a legacy CRM or
/// issued by a CRM campaign carries its own window and its own number of uses ("valid until
/// 2026-12-31, 3 uses"), which a declaration cannot say. A field left out means the code has
/// none of its own (only the program's rules apply) and is not written out either, so records
/// without them read and print as before.
///
/// Uses are an allowance and a count ([`max_uses`](Self::max_uses), [`used`](Self::used))
/// rather than a single "uses left": both are facts a CRM already holds (the campaign's terms,
/// the tills' reports), neither has to be recomputed from the other when one is corrected, and
/// the count means something for codes without an allowance too. What is left is
/// [`uses_left`](Self::uses_left).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeldCoupon {
    /// The code.
    pub code: String,
    /// The coupon it belongs to.
    pub coupon: String,
    /// When it was issued.
    #[serde(deserialize_with = "instant", serialize_with = "instant_out")]
    pub issued_at: DateTime<FixedOffset>,
    /// The first moment the code may be used; absent: from its issue, within the coupon's
    /// window.
    #[serde(
        default,
        deserialize_with = "optional_instant",
        serialize_with = "optional_instant_out",
        skip_serializing_if = "Option::is_none"
    )]
    pub valid_from: Option<DateTime<FixedOffset>>,
    /// The last moment the code may be used (inclusive); absent: as long as the coupon's
    /// declaration allows. The ledger records here the moment its declaration ends the code.
    #[serde(
        default,
        deserialize_with = "optional_instant",
        serialize_with = "optional_instant_out",
        skip_serializing_if = "Option::is_none"
    )]
    pub valid_until: Option<DateTime<FixedOffset>>,
    /// How many times the code may be used in all; absent: as often as the program allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u32>,
    /// How many times the code has been used; the ledger counts every use. Refunds do not give
    /// uses back, as they do not give back the coupon's discount.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub used: u32,
}

impl HeldCoupon {
    /// The record of `code`, a code of `coupon` issued at `issued_at` under `program`, with
    /// the last valid moment the decision gave it ([`Effect::IssueCoupon`]): valid from the
    /// start of the coupon's window when that is later than the issue (a code handed out ahead
    /// of its campaign), until `valid_until`; unused, without an allowance of its own.
    ///
    /// [`Effect::IssueCoupon`]: super::Effect::IssueCoupon
    pub fn issued(
        program: &Program,
        coupon: &str,
        code: String,
        issued_at: DateTime<FixedOffset>,
        valid_until: Option<DateTime<FixedOffset>>,
    ) -> HeldCoupon {
        let valid_from = program
            .coupons
            .iter()
            .find(|c| &*c.name == coupon)
            .and_then(|c| c.valid.from)
            .and_then(|from| moment_start(from, program.timezone))
            .filter(|start| *start > issued_at);
        HeldCoupon {
            code,
            coupon: coupon.to_string(),
            issued_at,
            valid_from,
            valid_until,
            max_uses: None,
            used: 0,
        }
    }

    /// Uses left under the code's own allowance; `None` when it has none (only the program's
    /// `uses N per customer` limits it).
    pub fn uses_left(&self) -> Option<u32> {
        self.max_uses.map(|max| max.saturating_sub(self.used))
    }

    /// Counts a use of `code` of `coupon` against the held code it names, if the customer holds
    /// it (a program's fixed code is not held, and has no record to count in).
    pub fn count_use(held: &mut [HeldCoupon], coupon: &str, code: &str) {
        if let Some(h) = held
            .iter_mut()
            .find(|h| h.code == code && h.coupon == coupon)
        {
            h.used = h.used.saturating_add(1);
        }
    }
}

/// Whether a count is zero: a code never used is written without `used`.
fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Reads an RFC 3339 instant and refuses one without a UTC offset, naming the fix.
fn instant<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<FixedOffset>, D::Error> {
    let text = String::deserialize(d)?;
    parse_instant(&text).map_err(serde::de::Error::custom)
}

fn optional_instant<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
    instant(d).map(Some)
}

fn optional_instant_out<S: Serializer>(
    t: &Option<DateTime<FixedOffset>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => instant_out(t, s),
        None => s.serialize_none(),
    }
}

fn instant_out<S: Serializer>(t: &DateTime<FixedOffset>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339())
}

/// Parses `2026-03-14T12:30:00+03:00` (or `Z`); explains what is missing otherwise.
pub fn parse_instant(text: &str) -> Result<DateTime<FixedOffset>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(t);
    }
    let local = chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S"))
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%dT%H:%M"));
    Err(match local {
        Ok(_) => format!(
            "`{text}` has no UTC offset, so the moment is ambiguous; add one, such as `{text}+03:00` or `{text}Z`"
        ),
        Err(_) => format!(
            "`{text}` is not a date-time with an offset, such as `2026-03-14T12:30:00+03:00`"
        ),
    })
}

/// Reads `{"12 months": 35000, "30 days": 4}` into durations and amounts.
fn windows<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(Duration, Decimal)>, D::Error> {
    let map = BTreeMap::<String, Decimal>::deserialize(d)?;
    map.into_iter()
        .map(|(key, value)| {
            parse_duration(&key)
                .map(|duration| (duration, value))
                .map_err(serde::de::Error::custom)
        })
        .collect()
}

fn windows_out<S: Serializer>(w: &[(Duration, Decimal)], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(w.len()))?;
    for (duration, value) in w {
        map.serialize_entry(&duration.to_string(), value)?;
    }
    map.end()
}

/// Parses a window such as `12 months`, `1 year` or `30 days`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    use puntos_dsl::ast::DurationUnit as U;
    let mut parts = text.split_whitespace();
    let (Some(amount), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!(
            "`{text}` is not a window; write a number and a unit, such as `12 months`"
        ));
    };
    let amount: Decimal = amount
        .parse()
        .map_err(|_| format!("`{amount}` in `{text}` is not a number"))?;
    let unit = match unit.trim_end_matches('s') {
        "minute" => U::Minute,
        "hour" => U::Hour,
        "day" => U::Day,
        "week" => U::Week,
        "month" => U::Month,
        "year" => U::Year,
        _ => {
            return Err(format!(
            "`{unit}` in `{text}` is not a unit; use minutes, hours, days, weeks, months or years"
        ))
        }
    };
    Ok(Duration { amount, unit })
}

impl std::fmt::Display for Duration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = if self.amount == Decimal::ONE {
            self.unit.singular()
        } else {
            self.unit.plural()
        };
        write!(f, "{} {unit}", self.amount)
    }
}

/// Deserializes a list of phone numbers written with their country codes, as E.164; an invalid
/// one is an error naming its place in the list.
fn e164_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let texts = Vec::<String>::deserialize(d)?;
    texts
        .iter()
        .enumerate()
        .map(|(i, text)| e164(text).map_err(|e| serde::de::Error::custom(format!("[{i}]: {e}"))))
        .collect()
}

/// A phone number in any international spelling, as E.164, validated against its country's
/// numbering plan.
#[cfg(feature = "phones")]
fn e164(text: &str) -> Result<String, String> {
    crate::phone::to_e164(text, None).map_err(|e| e.to_string())
}

/// A phone number that must already be in E.164 (`+` and 8 to 15 digits): a build without the
/// numbering plans (WebAssembly) cannot read other spellings, and says so.
#[cfg(not(feature = "phones"))]
fn e164(text: &str) -> Result<String, String> {
    let digits = text.strip_prefix('+').unwrap_or_default();
    if (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(text.to_string())
    } else {
        Err(format!(
            "{text:?} is not in E.164 (+79161234567); this build reads phone numbers only in that form"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_without_offset_is_refused_with_the_fix() {
        let err = parse_instant("2026-03-14T12:30:00").unwrap_err();
        assert!(err.contains("no UTC offset"), "{err}");
        assert!(err.contains("2026-03-14T12:30:00+03:00"), "{err}");
        assert!(parse_instant("2026-03-14T12:30:00Z").is_ok());
    }

    #[test]
    fn windows_parse_singular_and_plural() {
        let d = parse_duration("1 year").unwrap();
        assert_eq!(d.to_string(), "1 year");
        assert_eq!(
            parse_duration("12 months").unwrap().to_string(),
            "12 months"
        );
        assert!(parse_duration("12 moons").is_err());
    }

    #[test]
    fn json_numbers_are_read_exactly() {
        let line: Line = serde_json::from_str(r#"{"unit_price": 0.1, "quantity": 3}"#).unwrap();
        assert_eq!(line.unit_price * line.quantity, Decimal::new(3, 1));
    }
}
