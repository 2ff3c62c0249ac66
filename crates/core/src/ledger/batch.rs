//! The unit of work of a batch: a [`Session`] over the store's session that spares the store
//! what a batch would otherwise ask of it again and again.
//!
//! - The journal's and the outbox's heads are read once per batch, not once per transaction;
//!   journal entries and events are handed to the store together at the end (one statement
//!   for them all, on a server).
//! - Promotion budgets are read once per batch and their totals written once, at the end.
//! - A registered store (shop) is read once per batch, however many transactions name it.
//! - An account is read once per transaction and handed over by value, not copied
//!   ([`Batch::take_account`], [`Batch::keep_account`]); written back with the aliases the
//!   store holds for it, it is updated in place ([`Session::update_accounts`]) rather than
//!   rewritten with its aliases.
//!
//! Inside one unit of work nobody else writes (the store holds its write lock, or its row
//! locks, from the first read to the commit), so what was read stays true until the end.

use super::model::{AccountState, JournalEntry, OutboxEvent, StoredTransaction};
use super::store::{Session, StoreError};
use indexmap::IndexMap;
use rust_decimal::Decimal;
use std::collections::HashMap;

/// A promotion's budget as read, and what this unit adds to it.
struct Budget {
    used: Decimal,
    added: Decimal,
}

/// The unit of work of a batch; [`Batch::finish`] hands the store what it holds.
pub(super) struct Batch<'s> {
    inner: &'s mut dyn Session,
    /// Accounts taken, by id, with the aliases the store holds for them.
    taken: HashMap<String, Vec<String>>,
    /// Budgets read, in the order they were first read.
    budgets: IndexMap<String, Budget>,
    /// Registered stores read, by id (`None`: not registered).
    shops: HashMap<String, Option<crate::eval::Store>>,
    journal_head: Option<Option<(u64, String)>>,
    journal: Vec<JournalEntry>,
    /// The JSON of each entry of `journal`, in the same order.
    journal_bodies: Vec<String>,
    outbox_head: Option<u64>,
    outbox: Vec<OutboxEvent>,
}

impl<'s> Batch<'s> {
    /// A unit over `inner`'s.
    pub fn new(inner: &'s mut dyn Session) -> Batch<'s> {
        Batch {
            inner,
            taken: HashMap::new(),
            budgets: IndexMap::new(),
            shops: HashMap::new(),
            journal_head: None,
            journal: Vec::new(),
            journal_bodies: Vec::new(),
            outbox_head: None,
            outbox: Vec::new(),
        }
    }

    /// Hands the store every write held.
    pub fn finish(mut self) -> Result<(), StoreError> {
        self.flush()
    }

    /// Writes what is held to the store (which keeps it until its unit commits or fails).
    fn flush(&mut self) -> Result<(), StoreError> {
        for (promotion, budget) in &mut self.budgets {
            if !budget.added.is_zero() {
                self.inner.add_budget_used(promotion, budget.added)?;
                budget.used += budget.added;
                budget.added = Decimal::ZERO;
            }
        }
        if !self.journal.is_empty() {
            self.inner
                .append_journal_encoded(&self.journal, &self.journal_bodies)?;
            self.journal.clear();
            self.journal_bodies.clear();
        }
        if !self.outbox.is_empty() {
            self.inner.push_events(&self.outbox)?;
            self.outbox.clear();
        }
        Ok(())
    }

    /// The account `id_or_alias` leads to, for the ledger to change and give back with
    /// [`Batch::keep_account`], or to drop (and [`Batch::release_account`]) unchanged.
    pub fn take_account(&mut self, id_or_alias: &str) -> Result<Option<AccountState>, StoreError> {
        let account = self.inner.account(id_or_alias)?;
        if let Some(account) = &account {
            self.taken
                .insert(account.id.clone(), account.aliases.clone());
        }
        Ok(account)
    }

    /// Forgets an account taken with [`Batch::take_account`] and not changed.
    pub fn release_account(&mut self, id: &str) {
        self.taken.remove(id);
    }

    /// Writes the new state of an account (taken, or new).
    pub fn keep_account(&mut self, account: AccountState) -> Result<(), StoreError> {
        match self.taken.remove(&account.id) {
            // The store has it, with these aliases: only its state changes.
            Some(aliases) if aliases == account.aliases => self.inner.update_accounts(&[&account]),
            _ => self.inner.put_account(&account),
        }
    }

    /// Appends sealed journal entries (their `seq` continue the head's), with their JSON
    /// (as [`super::chain::seal_encoded`] gives it).
    pub fn keep_encoded_entries(
        &mut self,
        entries: Vec<JournalEntry>,
        bodies: Vec<String>,
    ) -> Result<(), StoreError> {
        super::chain::check_texts(&entries, &bodies)?;
        let Some(last) = entries.last() else {
            return Ok(());
        };
        let mut head = self.journal_head()?.map_or(0, |(seq, _)| seq);
        for entry in &entries {
            if entry.seq <= head {
                return Err(StoreError(format!(
                    "journal entry {} does not follow the journal's last entry {head}",
                    entry.seq
                )));
            }
            head = entry.seq;
        }
        self.journal_head = Some(Some((last.seq, last.hash.clone())));
        self.journal.extend(entries);
        self.journal_bodies.extend(bodies);
        Ok(())
    }

    /// Appends events to the outbox.
    pub fn keep_events(&mut self, events: Vec<OutboxEvent>) -> Result<(), StoreError> {
        let mut head = self.outbox_head()?;
        for event in &events {
            head = head.max(event.seq);
        }
        self.outbox_head = Some(head);
        self.outbox.extend(events);
        Ok(())
    }
}

impl Session for Batch<'_> {
    fn shop(&mut self, id: &str) -> Result<Option<crate::eval::Store>, StoreError> {
        if let Some(known) = self.shops.get(id) {
            return Ok(known.clone());
        }
        let read = self.inner.shop(id)?;
        self.shops.insert(id.to_string(), read.clone());
        Ok(read)
    }

    fn put_shop(&mut self, shop: &crate::eval::Store) -> Result<(), StoreError> {
        self.shops.remove(&shop.id);
        self.inner.put_shop(shop)
    }

    fn account_ids(&mut self, after: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        self.inner.account_ids(after, limit)
    }

    fn account(&mut self, id_or_alias: &str) -> Result<Option<AccountState>, StoreError> {
        self.inner.account(id_or_alias)
    }

    fn put_account(&mut self, account: &AccountState) -> Result<(), StoreError> {
        self.taken.remove(&account.id);
        self.inner.put_account(account)
    }

    fn update_accounts(&mut self, accounts: &[&AccountState]) -> Result<(), StoreError> {
        for account in accounts {
            self.taken.remove(&account.id);
        }
        self.inner.update_accounts(accounts)
    }

    fn transaction(&mut self, id: &str) -> Result<Option<StoredTransaction>, StoreError> {
        self.inner.transaction(id)
    }

    fn put_transaction(&mut self, transaction: &StoredTransaction) -> Result<(), StoreError> {
        self.inner.put_transaction(transaction)
    }

    fn budget_used(&mut self, promotion: &str) -> Result<Decimal, StoreError> {
        if let Some(budget) = self.budgets.get(promotion) {
            return Ok(budget.used + budget.added);
        }
        let used = self.inner.budget_used(promotion)?;
        self.budgets.insert(
            promotion.to_string(),
            Budget {
                used,
                added: Decimal::ZERO,
            },
        );
        Ok(used)
    }

    fn add_budget_used(&mut self, promotion: &str, amount: Decimal) -> Result<(), StoreError> {
        let used = self.budget_used(promotion)?;
        let budget = self
            .budgets
            .get_mut(promotion)
            .ok_or_else(|| StoreError(format!("the budget of {promotion} was not read")))?;
        let (Some(_), Some(added)) = (used.checked_add(amount), budget.added.checked_add(amount))
        else {
            return Err(StoreError(format!(
                "the budget of {promotion} overflows ({used} + {amount})"
            )));
        };
        budget.added = added;
        Ok(())
    }

    fn journal_head(&mut self) -> Result<Option<(u64, String)>, StoreError> {
        if let Some(head) = &self.journal_head {
            return Ok(head.clone());
        }
        let head = self.inner.journal_head()?;
        self.journal_head = Some(head.clone());
        Ok(head)
    }

    fn append_journal(&mut self, entries: &[JournalEntry]) -> Result<(), StoreError> {
        let bodies = super::chain::encode_entries(entries)?;
        self.keep_encoded_entries(entries.to_vec(), bodies)
    }

    fn append_journal_encoded(
        &mut self,
        entries: &[JournalEntry],
        bodies: &[String],
    ) -> Result<(), StoreError> {
        self.keep_encoded_entries(entries.to_vec(), bodies.to_vec())
    }

    fn journal(
        &mut self,
        account: Option<&str>,
        after: u64,
        limit: usize,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        self.flush()?;
        self.inner.journal(account, after, limit)
    }

    fn outbox_head(&mut self) -> Result<u64, StoreError> {
        if let Some(head) = self.outbox_head {
            return Ok(head);
        }
        let head = self.inner.outbox_head()?;
        self.outbox_head = Some(head);
        Ok(head)
    }

    fn push_events(&mut self, events: &[OutboxEvent]) -> Result<(), StoreError> {
        self.keep_events(events.to_vec())
    }

    fn pending_events(&mut self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        self.flush()?;
        self.inner.pending_events(limit)
    }

    fn acknowledge(&mut self, seq: u64) -> Result<(), StoreError> {
        self.flush()?;
        self.inner.acknowledge(seq)
    }
}
