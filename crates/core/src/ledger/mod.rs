//! The points ledger: the only place where state changes. It reads an account from a
//! [`Store`], decides a transaction with the evaluator, turns the decision into journal
//! entries, lots, counters and events, and writes them back in one atomic unit.

pub mod model;
pub mod store;

pub use model::{
    AccountState, EntryKind, Event, JournalEntry, Lot, OutboxEvent, StoredTransaction,
};
pub use store::{MemoryStore, Session, Store, StoreError};
