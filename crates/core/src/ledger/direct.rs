//! A ledger without a store: accounts live in memory and every change is final at once.
//!
//! It decides and posts with the same code as [`Ledger`](super::Ledger) (time passing, the
//! evaluator, lots, counters, budgets, coupons, tiers, refunds), for a caller that replays a
//! history and ends the whole run on any failure: a simulation. What a store's units of work
//! pay for and such a caller never needs is left out:
//!
//! - nothing is undone: an account is taken out of its map, changed and put back, never copied
//!   (a refused transaction gives its account back brought to its time, the entries of that
//!   recorded; a store's unit drops both);
//! - the journal is numbered, without the hash chain, and handed out as it is written
//!   ([`DirectLedger::take_written`]); events (the outbox) are not kept;
//! - a transaction's record is kept only when asked for ([`DirectLedger::keep_records_of`]: the
//!   purchases a refund in the history names), so a repeated id is decided again: give each
//!   transaction once;
//! - no shops are registered: a transaction's store is read as given.

use super::model::{AccountState, JournalEntry, StoredTransaction};
use super::post::{advance, Postings};
use super::store::StoreError;
use super::unit::{Lookups, Unit};
use super::{
    alias_cards, apply_in, opening_entries, redeemable_on, Applied, Incoming, LedgerError,
    LedgerOptions,
};
use crate::fast_hash::{HashMap, HashSet};
use crate::versions::Versions;
use chrono::{DateTime, FixedOffset, TimeDelta};
use rust_decimal::Decimal;

/// A ledger whose accounts live in memory, for replaying a history (see the
/// [module](self)).
pub struct DirectLedger {
    versions: Versions,
    notice: TimeDelta,
    book: Book,
}

/// The accounts, and what posting reads and writes besides them.
#[derive(Default)]
struct Book {
    /// Accounts by id. A taken account leaves an empty state in its place until it is given
    /// back, so the id is not allocated again.
    accounts: HashMap<String, AccountState>,
    /// Each alias (card number) to its account's id.
    aliases: HashMap<String, String>,
    budgets: HashMap<String, Decimal>,
    /// The transactions whose record is kept once applied.
    kept_ids: HashSet<String>,
    /// Their records.
    records: HashMap<String, StoredTransaction>,
    /// Journal entries written and not yet taken.
    written: Vec<JournalEntry>,
    /// The number of the last journal entry written.
    seq: u64,
}

impl DirectLedger {
    /// An empty ledger deciding with `versions`, with the default options.
    pub fn new(versions: Versions) -> DirectLedger {
        DirectLedger {
            versions,
            notice: LedgerOptions::default().expiry_notice,
            book: Book::default(),
        }
    }

    /// The same ledger with `options`.
    pub fn with_options(mut self, options: LedgerOptions) -> DirectLedger {
        self.notice = options.expiry_notice;
        self
    }

    /// Keeps the records of transactions `ids` once applied (for a refund that names one);
    /// others are forgotten as soon as they are applied.
    pub fn keep_records_of(&mut self, ids: impl IntoIterator<Item = String>) {
        self.book.kept_ids.extend(ids);
    }

    /// Opens accounts carried over from elsewhere at `at`, as
    /// [`Ledger::open_migrated`](super::Ledger::open_migrated) does: each lot journaled as an
    /// opening balance, each card made an alias. An id or alias already taken is an error, and
    /// the accounts before it stay open.
    pub fn open(
        &mut self,
        accounts: impl IntoIterator<Item = AccountState>,
        at: DateTime<FixedOffset>,
    ) -> Result<(), LedgerError> {
        let mut entries = Vec::new();
        for mut account in accounts {
            alias_cards(&mut account);
            if self.book.accounts.contains_key(&account.id) {
                return Err(LedgerError::AccountExists(account.id));
            }
            if let Some((card, owner)) = account
                .aliases
                .iter()
                .find_map(|alias| Some((alias, self.book.aliases.get(alias)?)))
            {
                return Err(LedgerError::CardTaken {
                    card: card.clone(),
                    account: owner.clone(),
                });
            }
            opening_entries(&account, at, &mut entries);
            for alias in &account.aliases {
                self.book.aliases.insert(alias.clone(), account.id.clone());
            }
            self.book.accounts.insert(account.id.clone(), account);
        }
        self.book.write(entries);
        Ok(())
    }

    /// Decides `incoming` and posts it, as [`Ledger::apply`](super::Ledger::apply) does.
    pub fn apply(&mut self, incoming: &Incoming) -> Result<Applied, LedgerError> {
        apply_in(
            &mut self.book,
            &self.versions,
            self.notice,
            incoming,
            String::new(),
        )
    }

    /// The most points `incoming` could pay with, as
    /// [`Ledger::redeemable`](super::Ledger::redeemable) says; the account is brought to the
    /// transaction's time first (and what that takes is recorded, as applying it would).
    pub fn redeemable(&mut self, incoming: &Incoming) -> Result<Decimal, LedgerError> {
        let book = &mut self.book;
        let mut state = book
            .take_account(&incoming.account)?
            .ok_or_else(|| LedgerError::UnknownAccount(incoming.account.clone()))?;
        let mut out = Postings::default();
        advance(&mut state, incoming.transaction.time, self.notice, &mut out);
        book.record(out)?;
        let redeemable = redeemable_on(book, &self.versions, incoming, &mut state);
        book.release_account(state);
        redeemable
    }

    /// Brings every account to `as_of` (activations, expiries), in id order, as
    /// [`Ledger::advance_all`](super::Ledger::advance_all) does.
    pub fn advance_all(&mut self, as_of: DateTime<FixedOffset>) {
        let mut states: Vec<&mut AccountState> = self.book.accounts.values_mut().collect();
        states.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        let mut out = Postings::default();
        for state in states {
            advance(state, as_of, self.notice, &mut out);
        }
        self.book.write(out.entries);
    }

    /// Takes out the journal entries written since the last call, in order: the caller reads
    /// each once and the memory comes back.
    pub fn take_written(&mut self) -> Vec<JournalEntry> {
        std::mem::take(&mut self.book.written)
    }

    /// Every account's state, in no particular order.
    pub fn accounts(&self) -> impl Iterator<Item = &AccountState> {
        self.book.accounts.values()
    }
}

impl Book {
    /// Numbers `entries` on from the last one and adds them to those written.
    fn write(&mut self, entries: Vec<JournalEntry>) {
        for mut entry in entries {
            self.seq += 1;
            entry.seq = self.seq;
            self.written.push(entry);
        }
    }
}

impl Lookups for Book {
    fn shop(&mut self, _id: &str) -> Result<Option<crate::eval::Store>, StoreError> {
        Ok(None)
    }

    fn transaction(&mut self, id: &str) -> Result<Option<StoredTransaction>, StoreError> {
        Ok(self.records.get(id).cloned())
    }

    fn budget_used(&mut self, promotion: &str) -> Result<Decimal, StoreError> {
        Ok(self.budgets.get(promotion).copied().unwrap_or_default())
    }

    fn add_budget_used(&mut self, promotion: &str, amount: Decimal) -> Result<(), StoreError> {
        *self.budgets.entry(promotion.to_string()).or_default() += amount;
        Ok(())
    }
}

impl Unit for Book {
    fn take_account(&mut self, id_or_alias: &str) -> Result<Option<AccountState>, StoreError> {
        let id = self
            .aliases
            .get(id_or_alias)
            .map_or(id_or_alias, String::as_str);
        Ok(self
            .accounts
            .get_mut(id)
            .filter(|state| !state.id.is_empty())
            .map(std::mem::take))
    }

    fn changed_in_unit(&self, _id: &str) -> bool {
        // Every change is final at once: there is no earlier state to go back to.
        false
    }

    fn release_account(&mut self, account: AccountState) {
        match self.accounts.get_mut(&account.id) {
            Some(slot) => *slot = account,
            None => {
                self.accounts.insert(account.id.clone(), account);
            }
        }
    }

    fn keep_account(&mut self, account: AccountState) -> Result<(), StoreError> {
        self.release_account(account);
        Ok(())
    }

    fn give_back_refused(
        &mut self,
        advanced: AccountState,
        _before: Option<AccountState>,
        advancing: Postings,
    ) -> Result<(), StoreError> {
        self.record(advancing)?;
        self.release_account(advanced);
        Ok(())
    }

    fn keeps_record(&self, id: &str) -> bool {
        self.kept_ids.contains(id)
    }

    fn keep_transaction(&mut self, transaction: StoredTransaction) {
        if self.kept_ids.contains(&transaction.id) {
            self.records.insert(transaction.id.clone(), transaction);
        }
    }

    fn record(&mut self, out: Postings) -> Result<(), StoreError> {
        self.write(out.entries);
        Ok(())
    }
}
