//! Phone numbers. Every phone puntos keeps is in E.164 form (`+79161234567`): one spelling per
//! number worldwide, so a customer found by phone in two systems (a legacy CRM and this one)
//! matches whatever way each wrote it. Parsing and validation use rlibphonenumber, a port of
//! Google's libphonenumber with its numbering-plan metadata: a number is accepted only if it is
//! a valid number of its country, not merely a string of digits.

use rlibphonenumber::enums::PhoneNumberType;
/// A region of the numbering plan (ISO 3166 two-letter code); read one with [`region`].
pub use rlibphonenumber::enums::Region;
use rlibphonenumber::{PhoneNumberFormat, PHONE_NUMBER_UTIL};
use serde::Serialize;

/// The longest text read as a phone number; longer input is refused before parsing.
pub const MAX_PHONE_TEXT: usize = 64;

/// A text that is not a valid phone number, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a valid phone number: {reason}")]
pub struct PhoneError {
    /// The text as given.
    pub text: String,
    /// What is wrong, in words.
    pub reason: String,
}

/// Reads `text` as a phone number and writes it in E.164. A number written with `+` and its
/// country code (`+7 916 123-45-67`) needs no region; a national one (`8 (916) 123-45-67`) is
/// read in `region`, a two-letter ISO 3166 code such as `RU`.
pub fn to_e164(text: &str, region: Option<&str>) -> Result<String, PhoneError> {
    let refuse = |reason: String| PhoneError {
        text: text.chars().take(MAX_PHONE_TEXT).collect(),
        reason,
    };
    if text.len() > MAX_PHONE_TEXT {
        return Err(refuse(format!("longer than {MAX_PHONE_TEXT} characters")));
    }
    let parsed_region = match region {
        Some(code) => Some(
            Region::from_code(code)
                .map_err(|_| refuse(format!("{code:?} is not a region code")))?,
        ),
        None => None,
    };
    let number = PHONE_NUMBER_UTIL.parse(text, parsed_region).map_err(|e| {
        refuse(match (e, region) {
            (rlibphonenumber::ParseError::InvalidCountryCode, None) => {
                "write it with + and the country code, such as +79161234567".to_string()
            }
            (rlibphonenumber::ParseError::InvalidCountryCode, Some(code)) => {
                format!("no country code, and region {code:?} has no numbering plan")
            }
            (e, _) => e.to_string().to_lowercase(),
        })
    })?;
    if !number.is_valid() {
        return Err(refuse(
            "no such number in its country's numbering plan".to_string(),
        ));
    }
    Ok(number.format_as(PhoneNumberFormat::E164).to_string())
}

/// What a phone field of a legacy export holds: whether it can key an account, and why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneClass {
    /// Nothing, or a placeholder people type for nothing (`n/a`, `-`, `none`).
    Blank,
    /// Not a phone number at all (letters, too few or too many digits).
    Unparseable,
    /// Shaped like a number but not one of its country's numbering plan.
    Invalid,
    /// A valid number of the default region that is not a mobile one (a landline, a toll-free
    /// `8 800` line): it cannot receive the SMS a phone-keyed account is verified by.
    NotMobile,
    /// A valid mobile number of the default region.
    Mobile,
    /// A valid number of another country.
    Foreign,
}

impl PhoneClass {
    /// The class as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            PhoneClass::Blank => "blank",
            PhoneClass::Unparseable => "unparseable",
            PhoneClass::Invalid => "invalid",
            PhoneClass::NotMobile => "not_mobile",
            PhoneClass::Mobile => "mobile",
            PhoneClass::Foreign => "foreign",
        }
    }
}

/// A legacy phone field read: its class and, for a valid number, its E.164 form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassifiedPhone {
    /// What the field holds.
    pub class: PhoneClass,
    /// The number in E.164, when it is a valid one (mobile, not mobile or foreign).
    pub e164: Option<String>,
}

/// Texts people type into a phone field to say there is none.
const NO_PHONE: [&str; 8] = ["", "-", "n/a", "na", "none", "null", "нет", "0"];

/// Reads a phone field as people typed it (`8 (912) 345-67-89`, `+7 912 3456789`,
/// `9123456789`, `n/a`), a national number in `region` (a two-letter ISO 3166 code such as
/// `RU`). Fixed-line-or-mobile numbers (regions whose plan does not tell them apart) count as
/// mobile.
pub fn classify(text: &str, region: Region) -> ClassifiedPhone {
    let trimmed = text.trim();
    let unusable = |class| ClassifiedPhone { class, e164: None };
    if NO_PHONE.iter().any(|p| trimmed.eq_ignore_ascii_case(p)) {
        return unusable(PhoneClass::Blank);
    }
    if trimmed.len() > MAX_PHONE_TEXT {
        return unusable(PhoneClass::Unparseable);
    }
    let Ok(number) = PHONE_NUMBER_UTIL.parse(trimmed, Some(region)) else {
        return unusable(PhoneClass::Unparseable);
    };
    if !number.is_valid() {
        return unusable(PhoneClass::Invalid);
    }
    let class = if number.get_region_code() != Some(region) {
        PhoneClass::Foreign
    } else if matches!(
        number.get_type(),
        PhoneNumberType::Mobile | PhoneNumberType::FixedLineOrMobile
    ) {
        PhoneClass::Mobile
    } else {
        PhoneClass::NotMobile
    };
    ClassifiedPhone {
        class,
        e164: Some(number.format_as(PhoneNumberFormat::E164).to_string()),
    }
}

/// The region of a two-letter ISO 3166 code (`RU`), or why it is not one.
pub fn region(code: &str) -> Result<Region, String> {
    let refuse = || format!("{code:?} is not a region code with a numbering plan, such as RU");
    let region = Region::from_code(code).map_err(|_| refuse())?;
    PHONE_NUMBER_UTIL
        .get_country_code_for_region(region)
        .map(|_| region)
        .ok_or_else(refuse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn international_spellings_become_e164() {
        for text in ["+7 916 123-45-67", "+79161234567", "+7 (916) 123 45 67"] {
            assert_eq!(to_e164(text, None).unwrap(), "+79161234567", "{text}");
        }
        assert_eq!(to_e164("+44 20 7183 8750", None).unwrap(), "+442071838750");
    }

    #[test]
    fn national_spellings_need_their_region() {
        assert_eq!(
            to_e164("8 (916) 123-45-67", Some("RU")).unwrap(),
            "+79161234567"
        );
        let err = to_e164("8 (916) 123-45-67", None).unwrap_err();
        assert!(err.reason.contains("country code"), "{err}");
    }

    #[test]
    fn invalid_numbers_and_regions_are_refused_with_a_reason() {
        assert!(to_e164("+7 000", None).is_err());
        assert!(to_e164("garbage", None).is_err());
        assert!(to_e164("", None).is_err());
        let err = to_e164("9161234567", Some("XX")).unwrap_err();
        assert!(err.reason.contains("region"), "{err}");
        let long = "+7".to_string() + &"9".repeat(100);
        let err = to_e164(&long, None).unwrap_err();
        assert!(err.reason.contains("longer"), "{err}");
    }

    /// The spellings MIGRATION.md asks fixtures for: `8` / `+7` / no prefix, 8xx area codes,
    /// 9-, 10- and 11-digit inputs and `n/a`.
    #[test]
    fn legacy_phone_fields_are_classified() {
        let ru = region("RU").unwrap();
        let cases = [
            (
                "8 (912) 345-67-89",
                PhoneClass::Mobile,
                Some("+79123456789"),
            ),
            ("+7 912 3456789", PhoneClass::Mobile, Some("+79123456789")),
            ("9123456789", PhoneClass::Mobile, Some("+79123456789")),
            ("89123456789", PhoneClass::Mobile, Some("+79123456789")),
            (
                "+7 812 345 67 89",
                PhoneClass::NotMobile,
                Some("+78123456789"),
            ),
            (
                "8 800 555 35 35",
                PhoneClass::NotMobile,
                Some("+78005553535"),
            ),
            ("912345678", PhoneClass::Invalid, None),
            (
                "+44 7911 123456",
                PhoneClass::Foreign,
                Some("+447911123456"),
            ),
            ("n/a", PhoneClass::Blank, None),
            ("  ", PhoneClass::Blank, None),
            ("call me", PhoneClass::Unparseable, None),
        ];
        for (text, class, e164) in cases {
            let got = classify(text, ru);
            assert_eq!(got.class, class, "{text}");
            assert_eq!(got.e164.as_deref(), e164, "{text}");
        }
        assert!(region("XX").is_err());
        assert!(region("russia").is_err());
    }
}
