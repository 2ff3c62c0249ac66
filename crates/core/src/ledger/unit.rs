//! What deciding and posting one transaction asks of the unit of work it runs in: the same
//! decide-and-post code runs in a store's unit of work ([`Batch`]) and in the
//! [`DirectLedger`](super::DirectLedger), whose accounts live in memory and whose changes are
//! final at once.

use super::batch::Batch;
use super::model::{AccountState, StoredTransaction};
use super::post::Postings;
use super::store::{Session, StoreError};
use rust_decimal::Decimal;

/// The reads (and the one counter written) that deciding and posting a transaction make
/// besides its account: registered shops, stored transactions (a retry, a refund's purchase)
/// and promotion budgets. Every [`Session`] answers them.
pub(super) trait Lookups {
    /// The registered store (shop) `id`, if any.
    fn shop(&mut self, id: &str) -> Result<Option<crate::eval::Store>, StoreError>;
    /// The record of transaction `id`, if it was kept.
    fn transaction(&mut self, id: &str) -> Result<Option<StoredTransaction>, StoreError>;
    /// What promotion `promotion` has granted so far from its budget.
    fn budget_used(&mut self, promotion: &str) -> Result<Decimal, StoreError>;
    /// Adds `amount` to what promotion `promotion` has granted.
    fn add_budget_used(&mut self, promotion: &str, amount: Decimal) -> Result<(), StoreError>;
}

impl<S: Session + ?Sized> Lookups for S {
    fn shop(&mut self, id: &str) -> Result<Option<crate::eval::Store>, StoreError> {
        Session::shop(self, id)
    }

    fn transaction(&mut self, id: &str) -> Result<Option<StoredTransaction>, StoreError> {
        Session::transaction(self, id)
    }

    fn budget_used(&mut self, promotion: &str) -> Result<Decimal, StoreError> {
        Session::budget_used(self, promotion)
    }

    fn add_budget_used(&mut self, promotion: &str, amount: Decimal) -> Result<(), StoreError> {
        Session::add_budget_used(self, promotion, amount)
    }
}

/// Where a transaction's account comes from and its results go.
pub(super) trait Unit: Lookups {
    /// The account `id_or_alias` leads to, taken to be changed and given back with
    /// [`Unit::keep_account`] or [`Unit::release_account`].
    fn take_account(&mut self, id_or_alias: &str) -> Result<Option<AccountState>, StoreError>;
    /// Whether the account `id` was changed earlier in this unit, so that giving it back
    /// unchanged means giving back a state the store does not hold (the caller keeps a copy).
    fn changed_in_unit(&self, id: &str) -> bool;
    /// Gives back a taken account, unchanged.
    fn release_account(&mut self, account: AccountState);
    /// Holds the new state of an account (taken, or new).
    fn keep_account(&mut self, account: AccountState) -> Result<(), StoreError>;
    /// Gives back the account of a refused transaction: `advanced` is its state brought to the
    /// transaction's time (with `advancing`, the entries and events that took), `before` the
    /// state it was taken in when [`Unit::changed_in_unit`] asked for a copy.
    fn give_back_refused(
        &mut self,
        advanced: AccountState,
        before: Option<AccountState>,
        advancing: Postings,
    ) -> Result<(), StoreError>;
    /// Whether the record of transaction `id` is kept once it is applied (it costs a copy of
    /// the decision).
    fn keeps_record(&self, id: &str) -> bool;
    /// Records a transaction (or replaces its record).
    fn keep_transaction(&mut self, transaction: StoredTransaction);
    /// Keeps the journal entries and events of a transaction.
    fn record(&mut self, out: Postings) -> Result<(), StoreError>;
    /// Where a transaction's entries and events are gathered: in full, unless this unit keeps
    /// no notes nor events ([`Postings::bare`]).
    fn postings(&self) -> Postings {
        Postings::default()
    }
}

impl Unit for Batch<'_> {
    fn take_account(&mut self, id_or_alias: &str) -> Result<Option<AccountState>, StoreError> {
        Batch::take_account(self, id_or_alias)
    }

    fn changed_in_unit(&self, id: &str) -> bool {
        Batch::changed_in_unit(self, id)
    }

    fn release_account(&mut self, account: AccountState) {
        Batch::release_account(self, account);
    }

    fn keep_account(&mut self, account: AccountState) -> Result<(), StoreError> {
        Batch::keep_account(self, account)
    }

    /// The unit is undone as a whole or not at all, so a refusal leaves the account as it was
    /// taken: what advancing it wrote is dropped with it.
    fn give_back_refused(
        &mut self,
        advanced: AccountState,
        before: Option<AccountState>,
        _advancing: Postings,
    ) -> Result<(), StoreError> {
        Batch::release_account(self, before.unwrap_or(advanced));
        Ok(())
    }

    fn keeps_record(&self, _id: &str) -> bool {
        true
    }

    fn keep_transaction(&mut self, transaction: StoredTransaction) {
        Batch::keep_transaction(self, transaction);
    }

    fn record(&mut self, out: Postings) -> Result<(), StoreError> {
        self.keep_entries(out.entries)?;
        let events = super::numbered(out.events, Session::outbox_head(self)?);
        self.keep_events(events)
    }
}
