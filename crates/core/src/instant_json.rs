//! Instants written to JSON exactly as chrono's own `Serialize` writes them (RFC 3339, seconds
//! with the fraction only when there is one, `Z` for UTC: `2026-03-14T12:30:00+03:00`), but
//! formatted in one piece and then written as one string.
//!
//! chrono hands its text to the serializer piece by piece (`collect_str`), and serde_json
//! escapes every character in a call of its own: about 2,600 instructions an instant, for the
//! six or seven instants each applied transaction writes (its stored record, journal entries,
//! events), a few percent of the ledger's whole time (`ledger_scale`, callgrind). Stored text
//! and fingerprints stay byte for byte the same; a test checks the two agree.
//!
//! Use with `#[serde(serialize_with = "crate::instant_json::write")]` (or `write_option` on an
//! `Option`); reading stays chrono's.

use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde::Serializer;

/// Writes `instant` as chrono's `Serialize` would.
pub(crate) fn write<S: Serializer>(
    instant: &DateTime<FixedOffset>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&instant.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// Writes an optional instant as chrono's `Serialize` would (`null` when absent).
pub(crate) fn write_option<S: Serializer>(
    instant: &Option<DateTime<FixedOffset>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match instant {
        Some(instant) => write(instant, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(serde::Serialize)]
    struct Ours(#[serde(serialize_with = "write")] DateTime<FixedOffset>);

    proptest! {
        /// Any instant, any offset, with or without a fraction of a second: the same text as
        /// chrono's own serialization.
        #[test]
        fn instants_are_written_as_chrono_writes_them(
            seconds in -62_000_000_000i64..250_000_000_000,
            nanos in prop_oneof![Just(0u32), 0u32..1_000_000_000, (0u32..1000).prop_map(|m| m * 1_000_000)],
            offset_minutes in -(23 * 60 + 59)..(23 * 60 + 59),
        ) {
            let offset = FixedOffset::east_opt(offset_minutes * 60).unwrap();
            let instant = DateTime::from_timestamp(seconds, nanos).unwrap().with_timezone(&offset);
            prop_assert_eq!(
                serde_json::to_string(&Ours(instant)).unwrap(),
                serde_json::to_string(&instant).unwrap()
            );
        }
    }
}
