//! The unit of work of a batch: a [`Session`] over the store's session that spares the store
//! what a batch would otherwise ask of it again and again.
//!
//! - The journal's and the outbox's heads are read once per batch, not once per transaction;
//!   journal entries and events are handed to the store together at the end (one statement
//!   for them all, on a server). Entries are numbered when kept and sealed into the hash chain
//!   on a thread of their own while the ledger goes on deciding ([`Batch::seal_ahead`]), or,
//!   without it, at the end on another thread while the store writes the events.
//! - Promotion budgets are read once per batch and their totals written once, at the end.
//! - A registered store (shop) is read once per batch, however many transactions name it.
//! - Transactions are recorded at the end ([`Batch::keep_transaction`]), their JSON written
//!   on another thread while the store writes the rest; read again within the unit (a retry,
//!   a refund's purchase), they come from what the unit holds. Likewise the accounts' states
//!   are packed on another thread for a store that keeps them packed.
//! - An account is read from the store once per batch, handed over by value rather than copied
//!   ([`Batch::take_account`], [`Batch::keep_account`]), and written once, at the end, after
//!   the journal (so a store can record its newest entry in the same write). Kept with the
//!   aliases the store holds for it, it is updated in place ([`Session::update_accounts`])
//!   rather than rewritten with its aliases.
//!
//! Inside one unit of work nobody else writes (the store holds its write lock, or its row
//! locks, from the first read to the commit), so what was read stays true until the end.

use super::background::{Background, WORTH_A_THREAD};
use super::chain;
use super::codec::encode;
use super::model::{AccountState, JournalEntry, OutboxEvent, StoredTransaction};
use super::sealer::Sealer;
use super::store::{Session, StoreError};
use crate::fast_hash::{HashMap, IndexMap};
use rust_decimal::Decimal;
use std::sync::{Mutex, MutexGuard};

/// Where a taken account came from.
struct Taken {
    /// The aliases the store holds for it (`None`: the store does not have it).
    stored_aliases: Option<Vec<String>>,
    /// Whether it was changed earlier in this unit (and so must be written even if given back
    /// unchanged).
    pending: bool,
}

/// Where [`Batch::find`] found an account.
enum Found {
    /// Among the accounts kept, under this id.
    Kept(String),
    /// In the store (boxed: a state is large, and most lookups find one).
    Stored(Box<AccountState>),
    /// Nowhere.
    Nowhere,
}

/// A promotion's budget as read, and what this unit adds to it.
struct Budget {
    used: Decimal,
    added: Decimal,
}

/// Entries handed to the sealing thread at a time: one hand-over (and one wake-up of the
/// thread) per transaction cost more than the sealing saved.
const SEAL_GROUP: usize = 256;

/// The unit of work of a batch; [`Batch::finish`] hands the store what it holds.
pub(super) struct Batch<'s> {
    inner: &'s mut dyn Session,
    /// Accounts taken and not yet given back, by id.
    taken: HashMap<String, Taken>,
    /// Accounts changed in this unit and not yet written, by id, with the aliases the store
    /// holds for them (`None`: the store does not have the account).
    kept: IndexMap<String, (AccountState, Option<Vec<String>>)>,
    /// The aliases of the accounts in `kept`, to their account's id.
    kept_aliases: HashMap<String, String>,
    /// Budgets read, in the order they were first read.
    budgets: IndexMap<String, Budget>,
    /// Registered stores read, by id (`None`: not registered).
    shops: HashMap<String, Option<crate::eval::Store>>,
    /// Transactions recorded in this unit and not yet written, by id.
    transactions: IndexMap<String, StoredTransaction>,
    /// The last entry of the hash chain so far (the store's, or the last of `journal`), once
    /// read.
    chain_head: Option<Option<(u64, String)>>,
    /// Sealed entries not yet written.
    journal: Vec<JournalEntry>,
    /// The JSON of each entry of `journal`, in the same order.
    journal_bodies: Vec<String>,
    /// Entries numbered on from `chain_head` but not yet sealed: they follow `journal` (and
    /// whatever `sealer` holds).
    unsealed: Vec<JournalEntry>,
    /// The thread sealing entries as they are kept (a group of [`SEAL_GROUP`] at a time), if
    /// one was started.
    sealer: Option<Sealer>,
    /// The sequence number given to the last entry kept, once any was.
    numbered_to: Option<u64>,
    outbox_head: Option<u64>,
    outbox: Vec<OutboxEvent>,
}

impl<'s> Batch<'s> {
    /// A unit over `inner`'s, for about `transactions` transactions: its maps and lists are
    /// sized for them at once rather than grown (and copied) as they fill.
    pub fn new(inner: &'s mut dyn Session, transactions: usize) -> Batch<'s> {
        // An applied transaction writes about two journal entries.
        let entries = 2 * transactions;
        Batch {
            inner,
            taken: HashMap::with_capacity_and_hasher(transactions, Default::default()),
            kept: IndexMap::with_capacity_and_hasher(transactions, Default::default()),
            kept_aliases: HashMap::default(),
            budgets: IndexMap::default(),
            shops: HashMap::default(),
            transactions: IndexMap::with_capacity_and_hasher(transactions, Default::default()),
            chain_head: None,
            journal: Vec::with_capacity(entries),
            journal_bodies: Vec::with_capacity(entries),
            unsealed: Vec::new(),
            sealer: None,
            numbered_to: None,
            outbox_head: None,
            outbox: Vec::new(),
        }
    }

    /// Hands the store every write held.
    pub fn finish(mut self) -> Result<(), StoreError> {
        self.flush()
    }

    /// Seals the entries kept from now on, on a thread of `scope`, as they are kept. The unit
    /// must be finished (or dropped) before the scope ends, which joins the thread.
    pub fn seal_ahead<'scope>(
        &mut self,
        scope: &'scope std::thread::Scope<'scope, '_>,
    ) -> Result<(), StoreError> {
        if self.sealer.is_none() && self.unsealed.is_empty() {
            let previous = self
                .chain_head()?
                .map_or(chain::GENESIS.to_string(), |(_, h)| h);
            self.sealer = Sealer::start(scope, previous);
        }
        Ok(())
    }

    /// Takes back what the sealing thread sealed, in order, and stops it: the entries join the
    /// sealed ones.
    fn collect_sealed(&mut self) -> Result<(), StoreError> {
        let Some(sealer) = self.sealer.take() else {
            return Ok(());
        };
        for (entries, bodies) in sealer.finish()? {
            if let Some(last) = entries.last() {
                self.chain_head = Some(Some((last.seq, last.hash.clone())));
            }
            self.journal.extend(entries);
            self.journal_bodies.extend(bodies);
        }
        Ok(())
    }

    /// Writes what is held to the store (which keeps it until its unit commits or fails). The
    /// work that needs no store (sealing the journal, packing accounts, writing the
    /// transactions' JSON) is done on other threads meanwhile, each result handed over when the
    /// store is ready for it.
    fn flush(&mut self) -> Result<(), StoreError> {
        self.collect_sealed()?;
        let transactions: Vec<StoredTransaction> = std::mem::take(&mut self.transactions)
            .into_values()
            .collect();
        let previous = self
            .chain_head()?
            .map_or(chain::GENESIS.to_string(), |(_, h)| h);
        let unsealed = Mutex::new(std::mem::take(&mut self.unsealed));
        let unsealed_count = lock(&unsealed).len();
        self.kept_aliases.clear();
        let packer = self.inner.account_packer();
        let kept = std::mem::take(&mut self.kept);
        // A store that does not pack states (the memory store) is handed the changed states
        // once the rest is written, without a copy.
        let (kept, handed) = if packer.is_some() {
            (kept, Vec::new())
        } else {
            let (same, rewritten): (Vec<_>, Vec<_>) = kept
                .into_iter()
                .partition(|(_, (state, stored))| stored.as_ref() == Some(&state.aliases));
            let handed = same.into_iter().map(|(_, (state, _))| state).collect();
            (rewritten.into_iter().collect::<IndexMap<_, _>>(), handed)
        };
        let (same, rewritten): (Vec<_>, Vec<_>) = kept
            .values()
            .partition(|(state, stored)| stored.as_ref() == Some(&state.aliases));
        let same: Vec<&AccountState> = same.iter().map(|(state, _)| state).collect();
        let keeps_json = self.inner.keeps_json();

        let seal = || chain::seal_numbered(&mut lock(&unsealed), previous.clone());
        let pack = || packer.map(|pack| same.iter().map(|state| pack(state)).collect::<Vec<_>>());
        let encode_all = || -> Result<Vec<String>, StoreError> {
            transactions
                .iter()
                .map(|t| encode(format_args!("transaction {}", t.id), t))
                .collect()
        };
        std::thread::scope(|scope| -> Result<(), StoreError> {
            let worth = |n: usize| n >= WORTH_A_THREAD;
            let sealing = Background::start_if(worth(unsealed_count), scope, "puntos-seal", &seal);
            let packing = Background::start_if(
                packer.is_some() && worth(same.len()),
                scope,
                "puntos-pack",
                &pack,
            );
            let encoding = Background::start_if(
                keeps_json && worth(transactions.len()),
                scope,
                "puntos-encode",
                &encode_all,
            );
            self.write_budgets()?;
            if !self.outbox.is_empty() {
                self.inner.push_events(&self.outbox)?;
                self.outbox.clear();
            }
            if !self.journal.is_empty() {
                self.inner.hand_over_journal(
                    std::mem::take(&mut self.journal),
                    std::mem::take(&mut self.journal_bodies),
                )?;
            }
            if unsealed_count > 0 {
                let bodies = sealing.result();
                let entries = std::mem::take(&mut *lock(&unsealed));
                let last = entries.last().map(|last| (last.seq, last.hash.clone()));
                self.inner.hand_over_journal(entries, bodies)?;
                if let Some(last) = last {
                    self.chain_head = Some(Some(last));
                }
            }
            if !same.is_empty() {
                match packing.result() {
                    Some(packed) => self.inner.update_accounts_packed(&same, &packed)?,
                    None => self.inner.update_accounts(&same)?,
                }
            }
            for (state, _) in rewritten {
                self.inner.put_account(state)?;
            }
            if !transactions.is_empty() && keeps_json {
                for (transaction, body) in transactions.iter().zip(encoding.result()?) {
                    self.inner.hand_over_transaction(transaction, body)?;
                }
            } else {
                for transaction in &transactions {
                    self.inner.put_transaction(transaction)?;
                }
            }
            Ok(())
        })?;
        if !handed.is_empty() {
            self.inner.hand_over_accounts(handed)?;
        }
        self.inner
            .written_states(kept.into_values().map(|(state, _)| state).collect());
        self.inner.written_transactions(transactions);
        Ok(())
    }

    /// Writes what this unit added to promotion budgets.
    fn write_budgets(&mut self) -> Result<(), StoreError> {
        for (promotion, budget) in &mut self.budgets {
            if !budget.added.is_zero() {
                self.inner.add_budget_used(promotion, budget.added)?;
                budget.used += budget.added;
                budget.added = Decimal::ZERO;
            }
        }
        Ok(())
    }

    /// The last entry of the hash chain, with the entries kept sealed.
    fn chain_head(&mut self) -> Result<Option<(u64, String)>, StoreError> {
        if let Some(head) = &self.chain_head {
            return Ok(head.clone());
        }
        let head = self.inner.journal_head()?;
        self.chain_head = Some(head.clone());
        Ok(head)
    }

    /// Seals the entries kept unsealed, here and now: for a caller that needs the chain's head,
    /// or appends entries it sealed itself.
    fn seal_unsealed(&mut self) -> Result<(), StoreError> {
        self.collect_sealed()?;
        if self.unsealed.is_empty() {
            return Ok(());
        }
        let previous = self
            .chain_head()?
            .map_or(chain::GENESIS.to_string(), |(_, h)| h);
        let mut entries = std::mem::take(&mut self.unsealed);
        let bodies = chain::seal_numbered(&mut entries, previous);
        if let Some(last) = entries.last() {
            self.chain_head = Some(Some((last.seq, last.hash.clone())));
        }
        self.journal.extend(entries);
        self.journal_bodies.extend(bodies);
        Ok(())
    }

    /// Takes `id` out of the accounts kept, if it is there (and its aliases out of their index).
    fn unkeep(&mut self, id: &str) -> Option<(AccountState, Option<Vec<String>>)> {
        let kept = self.kept.swap_remove(id)?;
        for alias in &kept.0.aliases {
            self.kept_aliases.remove(alias);
        }
        Some(kept)
    }

    /// The account `id_or_alias` leads to, among those kept or else in the store; `None` also
    /// for an alias the store still gives to an account kept without it.
    fn find(&mut self, id_or_alias: &str) -> Result<Found, StoreError> {
        let id = self
            .kept_aliases
            .get(id_or_alias)
            .map_or(id_or_alias, String::as_str);
        if self.kept.contains_key(id) {
            return Ok(Found::Kept(id.to_string()));
        }
        Ok(match self.inner.account(id_or_alias)? {
            Some(stored) if self.kept.contains_key(&stored.id) => Found::Nowhere,
            Some(stored) => Found::Stored(Box::new(stored)),
            None => Found::Nowhere,
        })
    }

    /// The account `id_or_alias` leads to, for the ledger to change and give back with
    /// [`Batch::keep_account`], or to give back unchanged with [`Batch::release_account`].
    pub fn take_account(&mut self, id_or_alias: &str) -> Result<Option<AccountState>, StoreError> {
        Ok(match self.find(id_or_alias)? {
            Found::Kept(id) => self.unkeep(&id).map(|(state, stored_aliases)| {
                self.taken.insert(
                    id,
                    Taken {
                        stored_aliases,
                        pending: true,
                    },
                );
                state
            }),
            Found::Stored(state) => {
                self.taken.insert(
                    state.id.clone(),
                    Taken {
                        stored_aliases: Some(state.aliases.clone()),
                        pending: false,
                    },
                );
                Some(*state)
            }
            Found::Nowhere => None,
        })
    }

    /// Whether the account `id`, taken, was changed earlier in this unit: giving it back
    /// unchanged ([`Batch::release_account`]) then means giving back that earlier state.
    pub fn changed_in_unit(&self, id: &str) -> bool {
        self.taken.get(id).is_some_and(|taken| taken.pending)
    }

    /// Gives back an account taken with [`Batch::take_account`] and not changed.
    pub fn release_account(&mut self, account: AccountState) {
        if let Some(taken) = self.taken.remove(&account.id) {
            if taken.pending {
                self.keep(account, taken.stored_aliases);
            }
        }
    }

    /// Holds the new state of an account (taken, or new) until the unit ends.
    pub fn keep_account(&mut self, account: AccountState) -> Result<(), StoreError> {
        let stored_aliases = match self.taken.remove(&account.id) {
            Some(taken) => taken.stored_aliases,
            // Not taken: a new account, or one written over without reading it.
            None => self.unkeep(&account.id).and_then(|(_, stored)| stored),
        };
        self.keep(account, stored_aliases);
        Ok(())
    }

    fn keep(&mut self, account: AccountState, stored_aliases: Option<Vec<String>>) {
        for alias in &account.aliases {
            self.kept_aliases.insert(alias.clone(), account.id.clone());
        }
        self.kept
            .insert(account.id.clone(), (account, stored_aliases));
    }

    /// Records a transaction (or replaces its record) when the unit ends.
    pub fn keep_transaction(&mut self, transaction: StoredTransaction) {
        match self.transactions.get_mut(&transaction.id) {
            Some(kept) => *kept = transaction,
            None => {
                self.transactions
                    .insert(transaction.id.clone(), transaction);
            }
        }
    }

    /// Appends sealed journal entries (their `seq` continue the head's), with their JSON
    /// (as [`super::chain::seal_encoded`] gives it).
    pub fn keep_encoded_entries(
        &mut self,
        entries: Vec<JournalEntry>,
        bodies: Vec<String>,
    ) -> Result<(), StoreError> {
        chain::check_texts(&entries, &bodies)?;
        let Some(last) = entries.last() else {
            return Ok(());
        };
        self.seal_unsealed()?;
        let mut head = self.chain_head()?.map_or(0, |(seq, _)| seq);
        for entry in &entries {
            if entry.seq <= head {
                return Err(StoreError(format!(
                    "journal entry {} does not follow the journal's last entry {head}",
                    entry.seq
                )));
            }
            head = entry.seq;
        }
        self.chain_head = Some(Some((last.seq, last.hash.clone())));
        self.numbered_to = Some(last.seq);
        self.journal.extend(entries);
        self.journal_bodies.extend(bodies);
        Ok(())
    }

    /// Appends journal entries, numbering them on from the journal's last entry; they are
    /// sealed into the hash chain by the sealing thread ([`Batch::seal_ahead`]), or else when
    /// the unit ends (or when the chain's head is asked for).
    pub fn keep_entries(&mut self, mut entries: Vec<JournalEntry>) -> Result<(), StoreError> {
        let mut seq = match self.numbered_to {
            Some(seq) => seq,
            None => self.chain_head()?.map_or(0, |(seq, _)| seq),
        };
        for entry in &mut entries {
            seq += 1;
            entry.seq = seq;
        }
        self.numbered_to = Some(seq);
        self.unsealed.extend(entries);
        if let Some(sealer) = self.sealer.as_mut() {
            if self.unsealed.len() >= SEAL_GROUP {
                let group = std::mem::take(&mut self.unsealed);
                // The thread is gone: the unit fails when it is asked for what it held.
                if let Err(group) = sealer.seal(group) {
                    self.unsealed = group;
                }
            }
        }
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
    fn read_ahead(&mut self, upcoming: &[super::store::Upcoming<'_>]) {
        self.inner.read_ahead(upcoming);
    }

    fn keeps_json(&self) -> bool {
        self.inner.keeps_json()
    }

    fn shop(&mut self, id: &str) -> Result<Option<crate::eval::Store>, StoreError> {
        if let Some(known) = self.shops.get(id) {
            return Ok(known.clone());
        }
        let read = self.inner.shop(id)?;
        self.shops.insert(id.to_string(), read.clone());
        Ok(read)
    }

    fn put_shop(&mut self, shop: &crate::eval::Store) -> Result<(), StoreError> {
        self.shops.remove(&*shop.id);
        self.inner.put_shop(shop)
    }

    fn account_ids(&mut self, after: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        self.inner.account_ids(after, limit)
    }

    fn account(&mut self, id_or_alias: &str) -> Result<Option<AccountState>, StoreError> {
        Ok(match self.find(id_or_alias)? {
            Found::Kept(id) => self.kept.get(&id).map(|(state, _)| state.clone()),
            Found::Stored(state) => Some(*state),
            Found::Nowhere => None,
        })
    }

    fn put_account(&mut self, account: &AccountState) -> Result<(), StoreError> {
        self.taken.remove(&account.id);
        self.unkeep(&account.id);
        self.inner.put_account(account)
    }

    fn update_accounts(&mut self, accounts: &[&AccountState]) -> Result<(), StoreError> {
        for account in accounts {
            self.taken.remove(&account.id);
            self.unkeep(&account.id);
        }
        self.inner.update_accounts(accounts)
    }

    fn transaction(&mut self, id: &str) -> Result<Option<StoredTransaction>, StoreError> {
        match self.transactions.get(id) {
            Some(kept) => Ok(Some(kept.clone())),
            None => self.inner.transaction(id),
        }
    }

    fn put_transaction(&mut self, transaction: &StoredTransaction) -> Result<(), StoreError> {
        self.keep_transaction(transaction.clone());
        Ok(())
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
        self.seal_unsealed()?;
        self.chain_head()
    }

    fn append_journal(&mut self, entries: &[JournalEntry]) -> Result<(), StoreError> {
        let bodies = chain::encode_entries(entries)?;
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

/// The guarded value, also after a thread that held the lock panicked (the value is then
/// sealed again from scratch, which gives the same result).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
