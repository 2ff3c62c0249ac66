//! Where the ledger's state lives. One trait, [`Store`], whose only job is atomic persistence:
//! every rule is applied by the ledger before a store sees anything, so each backend (memory,
//! SQLite, PostgreSQL) implements the same small set of reads and writes, and one conformance
//! suite checks them all.

use super::model::{AccountState, JournalEntry, OutboxEvent, StoredTransaction};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// A failure of the storage itself (I/O, a constraint, a lost connection).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(pub String);

/// A record a unit of work is about to read, announced with [`Session::read_ahead`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Upcoming<'a> {
    /// The account with this id or alias, as [`Session::account`] reads it.
    Account(&'a str),
    /// The transaction with this id, as [`Session::transaction`] reads it.
    Transaction(&'a str),
}

/// The reads and writes of one atomic unit of work.
pub trait Session {
    /// Announces records the unit is about to read, in the order it will read them, so a
    /// store can read them ahead (the SQLite store does so on a thread of its own, while the
    /// ledger decides the transactions before them). A hint: what is read afterwards is the
    /// same with or without it, and a store may ignore it (the default does).
    fn read_ahead(&mut self, upcoming: &[Upcoming<'_>]) {
        let _ = upcoming;
    }
    /// The account with this id, or holding this alias (a card number, a legacy id).
    fn account(&mut self, id_or_alias: &str) -> Result<Option<AccountState>, StoreError>;
    /// Whether no account has any of `keys` as its id or alias, each key locked as
    /// [`Session::account`] locks it, so that a `true` holds until the unit ends (but for the
    /// unit's own writes). For a migration's millions of new accounts: a store on a server
    /// answers for all of an account's keys at once (two round trips, not four a key); the
    /// default asks [`Session::account`] key by key.
    fn keys_free(&mut self, keys: &[&str]) -> Result<bool, StoreError> {
        for key in keys {
            if self.account(key)?.is_some() {
                return Ok(false);
            }
        }
        Ok(true)
    }
    /// Ids of accounts after `after` (exclusive; empty for the first), in id order, at most
    /// `limit`: every account, page by page, for jobs that visit them all.
    fn account_ids(&mut self, after: &str, limit: usize) -> Result<Vec<String>, StoreError>;
    /// Creates or replaces an account (and its aliases).
    fn put_account(&mut self, account: &AccountState) -> Result<(), StoreError>;
    /// Writes new states of accounts the store holds, each listing exactly the aliases the
    /// store holds for it: only their states change. A store may do it in fewer statements
    /// than [`Session::put_account`] for each; one that packs states
    /// ([`Session::account_packer`]) gets them packed, in [`Session::update_accounts_packed`].
    fn update_accounts(&mut self, accounts: &[&AccountState]) -> Result<(), StoreError> {
        match self.account_packer() {
            Some(pack) => {
                let packed: Vec<Vec<u8>> = accounts.iter().map(|a| pack(a)).collect();
                self.update_accounts_packed(accounts, &packed)
            }
            None => accounts.iter().try_for_each(|a| self.put_account(a)),
        }
    }
    /// As [`Session::update_accounts`] and then [`Session::written_states`], the states handed
    /// over: a store that keeps states in memory takes them without a copy (the memory
    /// store); the default writes them and hands them on.
    fn hand_over_accounts(&mut self, accounts: Vec<AccountState>) -> Result<(), StoreError> {
        let refs: Vec<&AccountState> = accounts.iter().collect();
        self.update_accounts(&refs)?;
        self.written_states(accounts);
        Ok(())
    }
    /// How the store packs an account's state, if it keeps states packed: a batch then packs
    /// the states it writes on another thread and hands them over
    /// ([`Session::update_accounts_packed`]).
    fn account_packer(&self) -> Option<fn(&AccountState) -> Vec<u8>> {
        None
    }
    /// As [`Session::update_accounts`], each state already packed by
    /// [`Session::account_packer`] (`packed[i]` is `accounts[i]`'s). The default, for a store
    /// that does not pack, writes each with [`Session::put_account`].
    fn update_accounts_packed(
        &mut self,
        accounts: &[&AccountState],
        packed: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        let _ = packed;
        accounts.iter().try_for_each(|a| self.put_account(a))
    }
    /// Checks the store's own lists of each account's journal entries, if it keeps any (the
    /// SQLite store links them): `Some` says where one departs from the journal. Part of
    /// [`super::verify`], with the hash chain, since a broken list shows an account's history
    /// wrong while the chain itself is intact.
    fn check_account_lists(&mut self) -> Result<Option<super::chain::Broken>, StoreError> {
        Ok(None)
    }
    /// Hands over the states of accounts this unit has just written (with
    /// [`Session::update_accounts`] or [`Session::put_account`]), for a store that keeps states
    /// in memory between units (the SQLite store does); the default drops them.
    fn written_states(&mut self, states: Vec<AccountState>) {
        drop(states);
    }
    /// Hands over the transactions this unit has just recorded (with
    /// [`Session::put_transaction`] or [`Session::put_transaction_encoded`], in the same
    /// order), for a session that keeps them rather than writing them (the pipeline's
    /// decider, `super::recorder`); the default drops them.
    fn written_transactions(&mut self, transactions: Vec<StoredTransaction>) {
        drop(transactions);
    }
    /// Whether nothing but this store's own units of work has changed its data since its last
    /// unit committed, so what that unit read is still true. A store that cannot tell says no
    /// (the default); see [`Store::tells_if_disturbed`].
    fn undisturbed(&self) -> bool {
        false
    }
    /// A store (shop, branch, merchant) of the registry, by its id.
    fn shop(&mut self, id: &str) -> Result<Option<crate::eval::Store>, StoreError>;
    /// Adds a store to the registry, or replaces it.
    fn put_shop(&mut self, shop: &crate::eval::Store) -> Result<(), StoreError>;
    /// A transaction applied before.
    fn transaction(&mut self, id: &str) -> Result<Option<StoredTransaction>, StoreError>;
    /// Records a transaction (or replaces it, to record refunded units).
    fn put_transaction(&mut self, transaction: &StoredTransaction) -> Result<(), StoreError>;
    /// Whether the store keeps transactions as JSON text: a batch then writes the text on
    /// another thread and hands it over ([`Session::put_transaction_encoded`]).
    fn keeps_json(&self) -> bool {
        false
    }
    /// Records a transaction whose JSON is already written: `body` is `transaction` as the
    /// JSON [`Session::put_transaction`] would store (a batch writes it on another thread). A
    /// store that keeps the JSON stores this text rather than writing it again.
    fn put_transaction_encoded(
        &mut self,
        transaction: &StoredTransaction,
        body: &str,
    ) -> Result<(), StoreError> {
        let _ = body;
        self.put_transaction(transaction)
    }
    /// Records transactions whose JSON is already written, in order, as
    /// [`Session::put_transaction_encoded`] records each: a store that can write many rows at
    /// once does.
    fn put_transactions_encoded(
        &mut self,
        transactions: &[(&StoredTransaction, &str)],
    ) -> Result<(), StoreError> {
        for (transaction, body) in transactions {
            self.put_transaction_encoded(transaction, body)?;
        }
        Ok(())
    }
    /// As [`Session::put_transaction_encoded`], handing the JSON over (the caller is done with
    /// it): a session that keeps it (the pipeline's decider) takes it without a copy.
    fn hand_over_transaction(
        &mut self,
        transaction: &StoredTransaction,
        body: String,
    ) -> Result<(), StoreError> {
        self.put_transaction_encoded(transaction, &body)
    }
    /// What a promotion's shared budget has spent.
    fn budget_used(&mut self, promotion: &str) -> Result<Decimal, StoreError>;
    /// Adds to a promotion's spent budget.
    fn add_budget_used(&mut self, promotion: &str, amount: Decimal) -> Result<(), StoreError>;
    /// The last journal entry's sequence number and hash.
    fn journal_head(&mut self) -> Result<Option<(u64, String)>, StoreError>;
    /// Appends journal entries (their `seq` continue the head's).
    fn append_journal(&mut self, entries: &[JournalEntry]) -> Result<(), StoreError>;
    /// Appends journal entries whose JSON is already written: `bodies[i]` is `entries[i]` as
    /// the JSON [`Session::append_journal`] would store (sealing an entry writes it, to hash
    /// it). A store that keeps the JSON stores these texts rather than writing them again.
    fn append_journal_encoded(
        &mut self,
        entries: &[JournalEntry],
        bodies: &[String],
    ) -> Result<(), StoreError> {
        let _ = bodies;
        self.append_journal(entries)
    }
    /// As [`Session::append_journal_encoded`], handing the entries and their texts over (the
    /// caller is done with them): a session that keeps them rather than writing them (the
    /// pipeline's decider) takes them without a copy.
    fn hand_over_journal(
        &mut self,
        entries: Vec<JournalEntry>,
        bodies: Vec<String>,
    ) -> Result<(), StoreError> {
        self.append_journal_encoded(&entries, &bodies)
    }
    /// Journal entries from `after` (exclusive), at most `limit`, in order; of one account if
    /// given.
    fn journal(
        &mut self,
        account: Option<&str>,
        after: u64,
        limit: usize,
    ) -> Result<Vec<JournalEntry>, StoreError>;
    /// The last outbox sequence number.
    fn outbox_head(&mut self) -> Result<u64, StoreError>;
    /// Appends events to the outbox.
    fn push_events(&mut self, events: &[OutboxEvent]) -> Result<(), StoreError>;
    /// Appends events whose JSON is already written: `bodies[i]` is `events[i]` as the JSON
    /// [`Session::push_events`] would store (the pipeline's decider writes it, off the
    /// writer's thread). A store that keeps the JSON stores these texts rather than writing
    /// them again.
    fn push_events_encoded(
        &mut self,
        events: &[OutboxEvent],
        bodies: &[String],
    ) -> Result<(), StoreError> {
        let _ = bodies;
        self.push_events(events)
    }
    /// Events not yet acknowledged, oldest first, at most `limit`.
    fn pending_events(&mut self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError>;
    /// Acknowledges events up to and including `seq`.
    fn acknowledge(&mut self, seq: u64) -> Result<(), StoreError>;
}

/// A store: runs work atomically.
pub trait Store {
    /// Runs `work` as one atomic unit: all its writes happen, or none (when it returns an error
    /// or the store fails).
    fn atomically<R, E: From<StoreError>>(
        &mut self,
        work: impl FnOnce(&mut dyn Session) -> Result<R, E>,
    ) -> Result<R, E>;

    /// Makes deleted data unrecoverable from the store's files (after an erasure): a store
    /// that keeps old pages or logs clears them. Nothing to do in memory.
    fn purge(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Whether its sessions can tell that someone else wrote between two units of work
    /// ([`Session::undisturbed`]): the ledger then decides a batch while the store writes the
    /// one before (`Ledger::apply_batches`), reading in one unit what it writes in the next.
    fn tells_if_disturbed(&self) -> bool {
        false
    }
}

/// Everything a memory store holds.
#[derive(Debug, Clone, Default)]
struct Tables {
    accounts: BTreeMap<String, AccountState>,
    aliases: BTreeMap<String, String>,
    transactions: BTreeMap<String, StoredTransaction>,
    budgets: BTreeMap<String, Decimal>,
    shops: BTreeMap<String, crate::eval::Store>,
    journal: Vec<JournalEntry>,
    outbox: Vec<OutboxEvent>,
    acknowledged: u64,
}

/// The store for tests and short-lived ledgers: everything in memory. Writes of a unit of work are
/// buffered and merged only when it succeeds, so a failed unit leaves nothing behind.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    tables: Tables,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

/// The writes of one unit of work over a memory store.
struct Overlay<'s> {
    base: &'s Tables,
    accounts: BTreeMap<String, AccountState>,
    /// Alias changes: `Some(account)` given, `None` taken away.
    aliases: BTreeMap<String, Option<String>>,
    transactions: BTreeMap<String, StoredTransaction>,
    budgets: BTreeMap<String, Decimal>,
    shops: BTreeMap<String, crate::eval::Store>,
    journal: Vec<JournalEntry>,
    outbox: Vec<OutboxEvent>,
    acknowledged: Option<u64>,
}

impl Overlay<'_> {
    /// Whether the account `id` exists, with this unit's changes.
    fn holds(&self, id: &str) -> bool {
        self.accounts.contains_key(id) || self.base.accounts.contains_key(id)
    }

    /// The account an alias leads to, with this unit's changes.
    fn alias_owner(&self, alias: &str) -> Option<&str> {
        match self.aliases.get(alias) {
            Some(change) => change.as_deref(),
            None => self.base.aliases.get(alias).map(String::as_str),
        }
    }
}

impl Store for MemoryStore {
    fn atomically<R, E: From<StoreError>>(
        &mut self,
        work: impl FnOnce(&mut dyn Session) -> Result<R, E>,
    ) -> Result<R, E> {
        let mut overlay = Overlay {
            base: &self.tables,
            accounts: BTreeMap::new(),
            aliases: BTreeMap::new(),
            transactions: BTreeMap::new(),
            budgets: BTreeMap::new(),
            shops: BTreeMap::new(),
            journal: Vec::new(),
            outbox: Vec::new(),
            acknowledged: None,
        };
        let result = work(&mut overlay)?;
        let Overlay {
            accounts,
            aliases,
            transactions,
            budgets,
            shops,
            journal,
            outbox,
            acknowledged,
            ..
        } = overlay;
        let tables = &mut self.tables;
        tables.accounts.extend(accounts);
        for (alias, owner) in aliases {
            match owner {
                Some(account) => tables.aliases.insert(alias, account),
                None => tables.aliases.remove(&alias),
            };
        }
        tables.transactions.extend(transactions);
        tables.budgets.extend(budgets);
        tables.shops.extend(shops);
        tables.journal.extend(journal);
        tables.outbox.extend(outbox);
        if let Some(seq) = acknowledged {
            tables.acknowledged = tables.acknowledged.max(seq);
        }
        Ok(result)
    }

    fn tells_if_disturbed(&self) -> bool {
        // Nobody else can reach its tables.
        true
    }
}

impl Session for Overlay<'_> {
    fn undisturbed(&self) -> bool {
        true
    }

    fn shop(&mut self, id: &str) -> Result<Option<crate::eval::Store>, StoreError> {
        Ok(self
            .shops
            .get(id)
            .or_else(|| self.base.shops.get(id))
            .cloned())
    }

    fn put_shop(&mut self, shop: &crate::eval::Store) -> Result<(), StoreError> {
        self.shops.insert(shop.id.to_string(), shop.clone());
        Ok(())
    }

    fn account_ids(&mut self, after: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        use std::ops::Bound::{Excluded, Unbounded};
        let range = (Excluded(after), Unbounded);
        let ids: std::collections::BTreeSet<&str> = self
            .base
            .accounts
            .range::<str, _>(range)
            .map(|(id, _)| id.as_str())
            .take(limit)
            .chain(
                self.accounts
                    .range::<str, _>(range)
                    .map(|(id, _)| id.as_str())
                    .take(limit),
            )
            .collect();
        Ok(ids.into_iter().take(limit).map(str::to_string).collect())
    }

    fn account(&mut self, id_or_alias: &str) -> Result<Option<AccountState>, StoreError> {
        let id = self.alias_owner(id_or_alias).unwrap_or(id_or_alias);
        Ok(self
            .accounts
            .get(id)
            .or_else(|| self.base.accounts.get(id))
            .cloned())
    }

    fn update_accounts(&mut self, accounts: &[&AccountState]) -> Result<(), StoreError> {
        for account in accounts {
            if self.holds(&account.id) {
                // It lists the aliases the store holds for it: only its state changes.
                self.accounts.insert(account.id.clone(), (*account).clone());
            } else {
                self.put_account(account)?;
            }
        }
        Ok(())
    }

    fn hand_over_accounts(&mut self, accounts: Vec<AccountState>) -> Result<(), StoreError> {
        for account in accounts {
            if self.holds(&account.id) {
                self.accounts.insert(account.id.clone(), account);
            } else {
                self.put_account(&account)?;
            }
        }
        Ok(())
    }

    fn put_account(&mut self, account: &AccountState) -> Result<(), StoreError> {
        for alias in &account.aliases {
            if self.alias_owner(alias).is_some_and(|o| o != account.id) {
                return Err(StoreError(format!(
                    "alias {alias} already belongs to another account"
                )));
            }
        }
        // The account's aliases become exactly the ones it lists.
        let previous = self
            .accounts
            .get(&account.id)
            .or_else(|| self.base.accounts.get(&account.id))
            .map(|a| a.aliases.clone())
            .unwrap_or_default();
        for alias in previous {
            if !account.aliases.contains(&alias) {
                self.aliases.insert(alias, None);
            }
        }
        for alias in &account.aliases {
            self.aliases.insert(alias.clone(), Some(account.id.clone()));
        }
        self.accounts.insert(account.id.clone(), account.clone());
        Ok(())
    }

    fn transaction(&mut self, id: &str) -> Result<Option<StoredTransaction>, StoreError> {
        Ok(self
            .transactions
            .get(id)
            .or_else(|| self.base.transactions.get(id))
            .cloned())
    }

    fn put_transaction(&mut self, transaction: &StoredTransaction) -> Result<(), StoreError> {
        self.transactions
            .insert(transaction.id.clone(), transaction.clone());
        Ok(())
    }

    fn budget_used(&mut self, promotion: &str) -> Result<Decimal, StoreError> {
        Ok(self
            .budgets
            .get(promotion)
            .or_else(|| self.base.budgets.get(promotion))
            .copied()
            .unwrap_or_default())
    }

    fn add_budget_used(&mut self, promotion: &str, amount: Decimal) -> Result<(), StoreError> {
        let used = self.budget_used(promotion)?;
        let total = used
            .checked_add(amount)
            .ok_or_else(|| StoreError(format!("the budget of {promotion} overflowed")))?;
        self.budgets.insert(promotion.to_string(), total);
        Ok(())
    }

    fn journal_head(&mut self) -> Result<Option<(u64, String)>, StoreError> {
        Ok(self
            .journal
            .last()
            .or_else(|| self.base.journal.last())
            .map(|e| (e.seq, e.hash.clone())))
    }

    fn append_journal(&mut self, entries: &[JournalEntry]) -> Result<(), StoreError> {
        self.journal.extend_from_slice(entries);
        Ok(())
    }

    fn journal(
        &mut self,
        account: Option<&str>,
        after: u64,
        limit: usize,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        Ok(self
            .base
            .journal
            .iter()
            .chain(&self.journal)
            .filter(|e| e.seq > after && account.is_none_or(|a| e.account == a))
            .take(limit)
            .cloned()
            .collect())
    }

    fn outbox_head(&mut self) -> Result<u64, StoreError> {
        Ok(self
            .outbox
            .last()
            .or_else(|| self.base.outbox.last())
            .map_or(0, |e| e.seq))
    }

    fn push_events(&mut self, events: &[OutboxEvent]) -> Result<(), StoreError> {
        self.outbox.extend_from_slice(events);
        Ok(())
    }

    fn pending_events(&mut self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        let acknowledged = self.acknowledged.unwrap_or(0).max(self.base.acknowledged);
        Ok(self
            .base
            .outbox
            .iter()
            .chain(&self.outbox)
            .filter(|e| e.seq > acknowledged)
            .take(limit)
            .cloned()
            .collect())
    }

    fn acknowledge(&mut self, seq: u64) -> Result<(), StoreError> {
        self.acknowledged = Some(self.acknowledged.unwrap_or(0).max(seq));
        Ok(())
    }
}
