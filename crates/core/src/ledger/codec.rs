//! How the database stores keep records: JSON text for the ledger's types, signed 64-bit
//! integers for sequence numbers. Shared so SQLite and PostgreSQL files read the same.

use super::store::StoreError;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A record as the JSON kept in the database.
pub(crate) fn encode<T: Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError(format!("encoding {what}: {e}")))
}

/// A record from the JSON kept in the database.
pub(crate) fn decode<T: DeserializeOwned>(what: &str, json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError(format!("the stored {what} cannot be read: {e}")))
}

/// A sequence number as the database's 64-bit integer.
pub(crate) fn to_seq(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError(format!("sequence number {seq} is too large")))
}

/// A sequence number from the database's 64-bit integer.
pub(crate) fn from_seq(seq: i64) -> Result<u64, StoreError> {
    u64::try_from(seq).map_err(|_| StoreError(format!("stored sequence number {seq} is negative")))
}
