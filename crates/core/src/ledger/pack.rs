//! The compact binary form in which the database stores keep an account's state: read and
//! written once per transaction, it is the ledger's hottest record, and JSON (dates as text,
//! decimals as text, every field named) made it the most expensive one.
//!
//! The form: a format byte ([`FORMAT`]), then every field of [`AccountState`] in declaration
//! order. Unsigned integers are LEB128 varints, signed ones zigzag varints; text is its length
//! then its UTF-8 bytes; a sequence or map is its length then its items; an option is a byte
//! (0 absent, 1 present) then the value. A decimal is one byte (its scale, the sign in the high
//! bit) then its mantissa's magnitude as a varint, so it comes back exactly (scale and the sign
//! of a zero included); an instant is its Unix seconds, nanoseconds and UTC offset in seconds,
//! so it comes back with the offset it was written with; a date is its day number from the
//! common era. A change of layout takes a new format byte; accounts in the older formats are
//! still read (each missing field as its default), and a schema migration may rewrite them.
//!
//! Formats: 1 the first; 2 added the cards, after `as_of`; 3 added each held coupon's own
//! record after its `issued_at` (its window, its allowance and its uses: `valid_from`,
//! `valid_until`, `max_uses` as options, `used` as a varint).
//!
//! Every field is written and read by name (struct literals), so a field added to the model
//! does not compile until it has its place here.

use super::model::{AccountState, Card, CardStatus, Lot};
use crate::eval::{Consent, Customer, HeldCoupon, HeldTier};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// The format byte of the current layout (see the module's documentation for what each format
/// added). Format 1 accounts (no cards) and format 2 accounts (coupons without their own
/// records) are still read.
pub(crate) const FORMAT: u8 = 3;

/// `account` in the compact form.
pub(crate) fn pack_account(account: &AccountState) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(256 + 96 * account.lots.len()));
    w.byte(FORMAT);
    let AccountState {
        id,
        customer,
        aliases,
        lots,
        tier,
        history,
        earned,
        uses,
        coupons,
        as_of,
        cards,
    } = account;
    w.text(id);
    w.customer(customer);
    w.len(aliases.len());
    aliases.iter().for_each(|a| w.text(a));
    w.len(lots.len());
    lots.iter().for_each(|l| w.lot(l));
    match tier {
        None => w.byte(0),
        Some(HeldTier { name, until }) => {
            w.byte(1);
            w.text(name);
            w.opt_date(until.as_ref());
        }
    }
    w.len(history.len());
    for (at, amount) in history {
        w.instant(at);
        w.decimal(amount);
    }
    w.len(earned.len());
    for (name, periods) in earned {
        w.text(name);
        w.len(periods.len());
        for (start, points) in periods {
            w.date(start);
            w.decimal(points);
        }
    }
    w.len(uses.len());
    for (name, periods) in uses {
        w.text(name);
        w.len(periods.len());
        for (start, count) in periods {
            w.date(start);
            w.count(*count);
        }
    }
    w.len(coupons.len());
    for HeldCoupon {
        code,
        coupon,
        issued_at,
        valid_from,
        valid_until,
        max_uses,
        used,
    } in coupons
    {
        w.text(code);
        w.text(coupon);
        w.instant(issued_at);
        w.opt_instant(valid_from.as_ref());
        w.opt_instant(valid_until.as_ref());
        match max_uses {
            None => w.byte(0),
            Some(max) => {
                w.byte(1);
                w.count(*max);
            }
        }
        w.count(*used);
    }
    w.opt_instant(as_of.as_ref());
    w.len(cards.len());
    for Card {
        number,
        status,
        issued,
    } in cards
    {
        w.text(number);
        w.byte(match status {
            CardStatus::Active => 0,
            CardStatus::Blocked => 1,
            CardStatus::Lost => 2,
        });
        w.opt_date(issued.as_ref());
    }
    w.0
}

/// An account from its compact form; the error says what could not be read.
pub(crate) fn unpack_account(bytes: &[u8]) -> Result<AccountState, String> {
    let mut r = Reader(bytes);
    let format = r.byte()?;
    if !(1..=FORMAT).contains(&format) {
        return Err(format!(
            "unknown account format {format} (this puntos writes format {FORMAT})"
        ));
    }
    let id = r.text()?;
    let customer = r.customer()?;
    let aliases = r.many(Reader::text)?;
    let lots = r.many(Reader::lot)?;
    let tier = r.option(|r| {
        Ok(HeldTier {
            name: r.text()?,
            until: r.option(Reader::date)?,
        })
    })?;
    let mut history = r.many(|r| Ok((r.instant()?, r.decimal()?)))?;
    super::model::in_time_order(&mut history);
    let earned = r.map(|r| Ok((r.text()?, r.map(|r| Ok((r.date()?, r.decimal()?)))?)))?;
    let uses = r.map(|r| {
        let name = r.text()?;
        let periods = r.map(|r| Ok((r.date()?, r.count()?)))?;
        Ok((name, periods))
    })?;
    let coupons = r.many(|r| {
        let (code, coupon, issued_at) = (r.text()?, r.text()?, r.instant()?);
        // Format 2 codes have no record of their own.
        let (valid_from, valid_until, max_uses, used) = if format >= 3 {
            (
                r.option(Reader::instant)?,
                r.option(Reader::instant)?,
                r.option(Reader::count)?,
                r.count()?,
            )
        } else {
            (None, None, None, 0)
        };
        Ok(HeldCoupon {
            code,
            coupon,
            issued_at,
            valid_from,
            valid_until,
            max_uses,
            used,
        })
    })?;
    let as_of = r.option(Reader::instant)?;
    let cards = if format >= 2 {
        r.many(|r| {
            Ok(Card {
                number: r.text()?,
                status: match r.byte()? {
                    0 => CardStatus::Active,
                    1 => CardStatus::Blocked,
                    2 => CardStatus::Lost,
                    other => return Err(format!("unknown card status {other}")),
                },
                issued: r.option(Reader::date)?,
            })
        })?
    } else {
        Vec::new()
    };
    if !r.0.is_empty() {
        return Err(format!("{} bytes follow the account", r.0.len()));
    }
    Ok(AccountState {
        id,
        customer,
        aliases,
        lots,
        tier,
        history,
        earned,
        uses,
        coupons,
        as_of,
        cards,
    })
}

/// Appends the compact form's items to a buffer.
struct Writer(Vec<u8>);

impl Writer {
    fn byte(&mut self, b: u8) {
        self.0.push(b);
    }

    fn varint(&mut self, mut n: u128) {
        while n >= 0x80 {
            self.0.push((n & 0x7f) as u8 | 0x80);
            n >>= 7;
        }
        self.0.push(n as u8);
    }

    /// A count of uses.
    fn count(&mut self, n: u32) {
        self.varint(u128::from(n));
    }

    fn signed(&mut self, n: i64) {
        self.varint(u128::from(((n << 1) ^ (n >> 63)) as u64));
    }

    fn len(&mut self, n: usize) {
        self.varint(n as u128);
    }

    fn text(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }

    fn bool(&mut self, b: bool) {
        self.byte(u8::from(b));
    }

    fn decimal(&mut self, d: &Decimal) {
        // The scale is at most 28: it fits below the sign bit.
        let scale = (d.scale() & 0x7f) as u8;
        self.byte(scale | if d.is_sign_negative() { 0x80 } else { 0 });
        self.varint(d.mantissa().unsigned_abs());
    }

    fn instant(&mut self, t: &DateTime<FixedOffset>) {
        self.signed(t.timestamp());
        self.varint(u128::from(t.timestamp_subsec_nanos()));
        self.signed(i64::from(t.offset().local_minus_utc()));
    }

    fn opt_instant(&mut self, t: Option<&DateTime<FixedOffset>>) {
        match t {
            None => self.byte(0),
            Some(t) => {
                self.byte(1);
                self.instant(t);
            }
        }
    }

    fn date(&mut self, d: &NaiveDate) {
        self.signed(i64::from(d.num_days_from_ce()));
    }

    fn opt_date(&mut self, d: Option<&NaiveDate>) {
        match d {
            None => self.byte(0),
            Some(d) => {
                self.byte(1);
                self.date(d);
            }
        }
    }

    fn customer(&mut self, c: &Customer) {
        let Customer {
            id,
            name,
            phones,
            email,
            consents,
            birth_date,
            enrolled_at,
            status,
            attributes,
        } = c;
        self.text(id);
        self.text(name);
        self.len(phones.len());
        phones.iter().for_each(|p| self.text(p));
        self.text(email);
        self.len(consents.len());
        for (what, Consent { granted, at }) in consents {
            self.text(what);
            self.bool(*granted);
            self.instant(at);
        }
        self.opt_date(birth_date.as_ref());
        self.opt_date(enrolled_at.as_ref());
        self.text(status);
        self.len(attributes.len());
        for (key, value) in attributes {
            self.text(key);
            self.text(value);
        }
    }

    fn lot(&mut self, lot: &Lot) {
        let Lot {
            id,
            source,
            points,
            remaining,
            earned_at,
            available_at,
            expires_at,
            expired,
            reversed,
            pending,
            expiry_notified,
        } = lot;
        self.text(id);
        self.text(source);
        self.decimal(points);
        self.decimal(remaining);
        self.instant(earned_at);
        self.opt_instant(available_at.as_ref());
        self.opt_instant(expires_at.as_ref());
        self.decimal(expired);
        self.decimal(reversed);
        self.bool(*pending);
        self.bool(*expiry_notified);
    }
}

/// Reads the compact form's items from the front of a slice.
struct Reader<'a>(&'a [u8]);

/// The most bytes a varint of a 96-bit mantissa (or anything smaller) takes.
const MAX_VARINT: u32 = 19;

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let (first, rest) = self
            .0
            .split_first()
            .ok_or("the account's record ends too early")?;
        self.0 = rest;
        Ok(*first)
    }

    fn varint(&mut self) -> Result<u128, String> {
        let mut n = 0u128;
        for i in 0..MAX_VARINT {
            let b = self.byte()?;
            n |= u128::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err("a number in the account's record is too long".to_string())
    }

    fn signed(&mut self) -> Result<i64, String> {
        let z = u64::try_from(self.varint()?).map_err(|_| "a number is too large")?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    /// A count of uses.
    fn count(&mut self) -> Result<u32, String> {
        u32::try_from(self.varint()?).map_err(|_| "a use count is too large".to_string())
    }

    fn len(&mut self) -> Result<usize, String> {
        let n = usize::try_from(self.varint()?).map_err(|_| "a length is too large")?;
        // Every item takes a byte at least: a longer length is a damaged record (and must not
        // reserve memory for it).
        if n > self.0.len() {
            return Err(format!("a length of {n} exceeds the record"));
        }
        Ok(n)
    }

    fn text(&mut self) -> Result<String, String> {
        let n = self.len()?;
        let (bytes, rest) = self.0.split_at_checked(n).ok_or("a text ends too early")?;
        self.0 = rest;
        String::from_utf8(bytes.to_vec()).map_err(|e| format!("a text is not UTF-8: {e}"))
    }

    fn bool(&mut self) -> Result<bool, String> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(format!("{other} is not a flag")),
        }
    }

    fn decimal(&mut self) -> Result<Decimal, String> {
        let head = self.byte()?;
        let magnitude = i128::try_from(self.varint()?).map_err(|_| "a decimal is too large")?;
        let mut d = Decimal::try_from_i128_with_scale(magnitude, u32::from(head & 0x7f))
            .map_err(|e| format!("a decimal cannot be read: {e}"))?;
        d.set_sign_negative(head & 0x80 != 0);
        Ok(d)
    }

    fn instant(&mut self) -> Result<DateTime<FixedOffset>, String> {
        let seconds = self.signed()?;
        let nanos = u32::try_from(self.varint()?).map_err(|_| "nanoseconds out of range")?;
        let offset = i32::try_from(self.signed()?).map_err(|_| "a UTC offset out of range")?;
        let offset = FixedOffset::east_opt(offset).ok_or("a UTC offset out of range")?;
        DateTime::from_timestamp(seconds, nanos)
            .map(|t| t.with_timezone(&offset))
            .ok_or_else(|| "an instant out of range".to_string())
    }

    fn date(&mut self) -> Result<NaiveDate, String> {
        let days = i32::try_from(self.signed()?).map_err(|_| "a date out of range")?;
        NaiveDate::from_num_days_from_ce_opt(days).ok_or_else(|| "a date out of range".to_string())
    }

    fn option<T>(
        &mut self,
        item: impl FnOnce(&mut Self) -> Result<T, String>,
    ) -> Result<Option<T>, String> {
        match self.byte()? {
            0 => Ok(None),
            1 => item(self).map(Some),
            other => Err(format!("{other} is not an option's mark")),
        }
    }

    fn many<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        let n = self.len()?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(item(self)?);
        }
        Ok(out)
    }

    fn map<K: Ord, V>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<(K, V), String>,
    ) -> Result<BTreeMap<K, V>, String>
    where
        Self: Sized,
    {
        let n = self.len()?;
        let mut out = BTreeMap::new();
        for _ in 0..n {
            let (k, v) = item(self)?;
            out.insert(k, v);
        }
        Ok(out)
    }

    fn customer(&mut self) -> Result<Customer, String> {
        Ok(Customer {
            id: self.text()?,
            name: self.text()?,
            phones: self.many(Reader::text)?,
            email: self.text()?,
            consents: self.map(|r| {
                Ok((
                    r.text()?,
                    Consent {
                        granted: r.bool()?,
                        at: r.instant()?,
                    },
                ))
            })?,
            birth_date: self.option(Reader::date)?,
            enrolled_at: self.option(Reader::date)?,
            status: self.text()?,
            attributes: self.map(|r| Ok((r.text()?, r.text()?)))?,
        })
    }

    fn lot(&mut self) -> Result<Lot, String> {
        Ok(Lot {
            id: self.text()?,
            source: self.text()?,
            points: self.decimal()?,
            remaining: self.decimal()?,
            earned_at: self.instant()?,
            available_at: self.option(Reader::instant)?,
            expires_at: self.option(Reader::instant)?,
            expired: self.decimal()?,
            reversed: self.decimal()?,
            pending: self.bool()?,
            expiry_notified: self.bool()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_come_back_exactly() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap();
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let lot = Lot {
            id: "T-1#0".to_string(),
            source: "rule base".to_string(),
            points: d("79228162514264337593543950335"),
            remaining: d("-0.0000000000000000000000000001"),
            earned_at: at("1969-12-31T23:59:59.999999999-12:00"),
            available_at: None,
            expires_at: Some(at("2027-03-14T00:00:00+14:00")),
            expired: d("-0"),
            reversed: d("12.500"),
            pending: true,
            expiry_notified: false,
        };
        let mut account = AccountState {
            id: "C-\u{e9}".to_string(),
            aliases: vec!["card".to_string(), String::new()],
            lots: vec![lot.clone(), lot],
            tier: Some(HeldTier {
                name: "gold".to_string(),
                until: NaiveDate::from_ymd_opt(2027, 1, 31),
            }),
            history: vec![(at("2026-03-14T12:00:00+03:00"), d("-1.5"))],
            coupons: vec![
                HeldCoupon {
                    code: "W-ABC".to_string(),
                    coupon: "welcome".to_string(),
                    issued_at: at("2026-03-14T12:00:00Z"),
                    valid_from: None,
                    valid_until: None,
                    max_uses: None,
                    used: 0,
                },
                HeldCoupon {
                    code: "CRM-2026-XYZ".to_string(),
                    coupon: "autumn".to_string(),
                    issued_at: at("2025-11-01T09:00:00+03:00"),
                    valid_from: Some(at("2026-01-01T00:00:00.5+05:30")),
                    valid_until: Some(at("2026-12-31T23:59:59-08:00")),
                    max_uses: Some(u32::MAX),
                    used: u32::MAX,
                },
                HeldCoupon {
                    code: "M-1".to_string(),
                    coupon: "autumn".to_string(),
                    issued_at: at("2025-11-01T09:00:00+03:00"),
                    valid_from: None,
                    valid_until: Some(at("2026-12-31T23:59:59+03:00")),
                    max_uses: Some(0),
                    used: 2,
                },
            ],
            as_of: Some(at("2026-03-15T00:00:00+03:00")),
            cards: vec![
                Card {
                    number: "2770000000017".to_string(),
                    status: CardStatus::Lost,
                    issued: NaiveDate::from_ymd_opt(2019, 2, 1),
                },
                Card {
                    number: "2770000000024".to_string(),
                    status: CardStatus::Active,
                    issued: None,
                },
            ],
            ..AccountState::default()
        };
        account.customer.name = "Ana".to_string();
        account.customer.phones = vec!["+79161234567".to_string()];
        account.customer.birth_date = NaiveDate::from_ymd_opt(-44, 3, 15);
        account.customer.consents.insert(
            "sms".to_string(),
            Consent {
                granted: true,
                at: at("2026-01-01T00:00:00+03:00"),
            },
        );
        account
            .customer
            .attributes
            .insert("k".to_string(), "v".to_string());
        account
            .earned
            .entry("base".to_string())
            .or_default()
            .insert(NaiveDate::MIN, d("3"));
        account
            .uses
            .entry("w".to_string())
            .or_default()
            .insert(NaiveDate::MAX, u32::MAX);
        let back = unpack_account(&pack_account(&account)).unwrap();
        assert_eq!(back, account);
        // Equal as values is not enough: the text (scale, sign of zero, offsets) is kept too.
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            serde_json::to_string(&account).unwrap()
        );
        let empty = AccountState::default();
        assert_eq!(unpack_account(&pack_account(&empty)).unwrap(), empty);
    }

    #[test]
    fn format_1_accounts_are_read_without_cards() {
        let account = AccountState {
            id: "C-1".to_string(),
            aliases: vec!["2770000000017".to_string()],
            ..AccountState::default()
        };
        let mut bytes = pack_account(&account);
        // Without coupons, format 1 is format 3 without the trailing card count.
        assert_eq!(bytes.pop(), Some(0));
        bytes[0] = 1;
        assert_eq!(unpack_account(&bytes).unwrap(), account);
    }

    /// An account holding one code, `W-ABC` of `welcome` issued 2026-03-14 12:00 Moscow time,
    /// as format 2 wrote it (before codes had records of their own): the format byte, the id
    /// `C-1`, an empty profile and empty lots, tier, history and counters, the code, no `as_of`
    /// and no cards.
    const FORMAT_2_WITH_A_CODE: &str = "0203432d310000000000000000000000000000000105572d41424307\
                                        77656c636f6d65a08ea99b0d00e0a8010000";

    #[test]
    fn format_2_accounts_are_read_with_codes_without_their_own_records() {
        let bytes: Vec<u8> = (0..FORMAT_2_WITH_A_CODE.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&FORMAT_2_WITH_A_CODE[i..i + 2], 16).unwrap())
            .collect();
        let account = unpack_account(&bytes).unwrap();
        assert_eq!(account.id, "C-1");
        let issued_at = DateTime::parse_from_rfc3339("2026-03-14T12:00:00+03:00").unwrap();
        assert_eq!(
            account.coupons,
            vec![HeldCoupon {
                code: "W-ABC".to_string(),
                coupon: "welcome".to_string(),
                issued_at,
                valid_from: None,
                valid_until: None,
                max_uses: None,
                used: 0,
            }]
        );
        // Written again, it is format 3, and reads back the same.
        let again = pack_account(&account);
        assert_eq!(again.first(), Some(&FORMAT));
        assert_eq!(unpack_account(&again).unwrap(), account);
    }

    proptest::proptest! {
        /// Any number is written as LEB128 (seven bits a byte, lowest first, the high bit
        /// saying more follow) and read back the same.
        #[test]
        fn varints_are_leb128_and_come_back(
            n in proptest::prop_oneof![
                proptest::strategy::Strategy::prop_map(proptest::num::u128::ANY, |n| n >> 32),
                proptest::strategy::Strategy::prop_map(proptest::num::u64::ANY, u128::from),
                (0u128..300),
            ],
        ) {
            let mut expected = Vec::new();
            let mut rest = n;
            loop {
                let low = (rest & 0x7f) as u8;
                rest >>= 7;
                if rest == 0 {
                    expected.push(low);
                    break;
                }
                expected.push(low | 0x80);
            }
            let mut w = Writer(Vec::new());
            w.varint(n);
            proptest::prop_assert_eq!(&w.0, &expected);
            let mut r = Reader(&w.0);
            proptest::prop_assert_eq!(r.varint(), Ok(n));
            proptest::prop_assert!(r.0.is_empty());
        }

        #[test]
        fn held_codes_come_back_exactly(
            seconds in -62_135_596_800i64..253_402_300_799,
            nanos in 0u32..1_000_000_000,
            offset in -86_399i32..86_400,
            from in proptest::option::of(-62_135_596_800i64..253_402_300_799),
            until in proptest::option::of(-62_135_596_800i64..253_402_300_799),
            max_uses in proptest::option::of(proptest::num::u32::ANY),
            used in proptest::num::u32::ANY,
            code in "\\PC{0,12}",
        ) {
            let offset = FixedOffset::east_opt(offset).unwrap();
            let at = |s: i64| DateTime::from_timestamp(s, nanos).unwrap().with_timezone(&offset);
            let account = AccountState {
                coupons: vec![HeldCoupon {
                    code,
                    coupon: "c".to_string(),
                    issued_at: at(seconds),
                    valid_from: from.map(at),
                    valid_until: until.map(at),
                    max_uses,
                    used,
                }],
                ..AccountState::default()
            };
            let back = unpack_account(&pack_account(&account)).unwrap();
            proptest::prop_assert_eq!(&back, &account);
            proptest::prop_assert_eq!(
                serde_json::to_string(&back).unwrap(),
                serde_json::to_string(&account).unwrap()
            );
        }
    }

    #[test]
    fn damaged_records_are_errors() {
        let at = DateTime::parse_from_rfc3339("2026-03-14T12:00:00+03:00").unwrap();
        let bytes = pack_account(&AccountState::default());
        let with_code = pack_account(&AccountState {
            coupons: vec![HeldCoupon {
                code: "C".to_string(),
                coupon: "c".to_string(),
                issued_at: at,
                valid_from: Some(at),
                valid_until: Some(at),
                max_uses: Some(3),
                used: 1,
            }],
            ..AccountState::default()
        });
        for whole in [&bytes, &with_code] {
            for end in 0..whole.len() {
                assert!(unpack_account(whole.get(..end).unwrap()).is_err(), "{end}");
            }
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(unpack_account(&longer).is_err());
        assert!(unpack_account(b"{\"id\":\"A\"}").is_err());
        assert!(unpack_account(&[FORMAT, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
    }
}
