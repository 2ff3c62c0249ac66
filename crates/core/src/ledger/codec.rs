//! How the database stores keep records: accounts' states in the compact binary form of
//! [`super::pack`], JSON text for the ledger's other types, signed 64-bit integers for sequence
//! numbers. Shared so SQLite and PostgreSQL files read the same.

#[cfg(any(feature = "sqlite", feature = "postgres"))]
use super::model::AccountState;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use super::pack::{pack_account, unpack_account};
use super::store::StoreError;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Display;

/// A record as the JSON kept in the database; `what` names it in an error (and is formatted
/// only then: pass `format_args!`, not `format!`).
pub(crate) fn encode<T: Serialize>(what: impl Display, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError(format!("encoding {what}: {e}")))
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// A record from the JSON kept in the database; `what` names it in an error.
pub(crate) fn decode<T: DeserializeOwned>(what: impl Display, json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError(format!("the stored {what} cannot be read: {e}")))
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// A sequence number as the database's 64-bit integer.
pub(crate) fn to_seq(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError(format!("sequence number {seq} is too large")))
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// A sequence number from the database's 64-bit integer.
pub(crate) fn from_seq(seq: i64) -> Result<u64, StoreError> {
    u64::try_from(seq).map_err(|_| StoreError(format!("stored sequence number {seq} is negative")))
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// An account's state as the bytes kept in the database.
pub(crate) fn encode_account(account: &AccountState) -> Vec<u8> {
    pack_account(account)
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// An account's state from the bytes kept in the database.
pub(crate) fn decode_account(what: impl Display, bytes: &[u8]) -> Result<AccountState, StoreError> {
    unpack_account(bytes).map_err(|e| StoreError(format!("the stored {what} cannot be read: {e}")))
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// Checks that accounts came with one packed state each.
pub(crate) fn check_packed(
    accounts: &[&AccountState],
    packed: &[Vec<u8>],
) -> Result<(), StoreError> {
    if accounts.len() != packed.len() {
        return Err(StoreError(format!(
            "{} accounts came with {} packed states",
            accounts.len(),
            packed.len()
        )));
    }
    Ok(())
}
