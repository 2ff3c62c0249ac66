//! Phone numbers. Every phone puntos keeps is in E.164 form (`+79161234567`): one spelling per
//! number worldwide, so a customer found by phone in two systems (a legacy CRM and this one)
//! matches whatever way each wrote it. Parsing and validation use rlibphonenumber, a port of
//! Google's libphonenumber with its numbering-plan metadata: a number is accepted only if it is
//! a valid number of its country, not merely a string of digits.

use rlibphonenumber::enums::Region;
use rlibphonenumber::{PhoneNumberFormat, PHONE_NUMBER_UTIL};
use serde::{Deserialize, Deserializer};

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

/// Deserializes a list of phone numbers written with their country codes, as E.164; an invalid
/// one is an error naming its place in the list.
pub(crate) fn e164_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let texts = Vec::<String>::deserialize(d)?;
    texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            to_e164(text, None).map_err(|e| serde::de::Error::custom(format!("[{i}]: {e}")))
        })
        .collect()
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
}
