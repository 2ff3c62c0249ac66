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
//!   ([`DirectLedger::take_written`], [`DirectLedger::drain_written`]); events (the outbox)
//!   are not kept;
//! - a transaction's record is kept only when asked for ([`DirectLedger::keep_records_of`]: the
//!   purchases a refund in the history names), so a repeated id is decided again: give each
//!   transaction once;
//! - no shops are registered: a transaction's store is read as given;
//! - on request, journal entries go without their notes ([`DirectLedger::without_notes`]).

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
pub struct DirectLedger<'v> {
    versions: &'v Versions,
    notice: TimeDelta,
    book: Book,
}

/// The accounts, and what posting reads and writes besides them.
#[derive(Default)]
struct Book {
    /// Accounts by id. A taken account leaves `None` in its place until it is given back: the
    /// id is not allocated again, and no empty state is made and dropped in its place.
    accounts: HashMap<String, Option<AccountState>>,
    /// Each alias (card number) to its account's id.
    aliases: HashMap<String, String>,
    budgets: HashMap<String, Decimal>,
    /// The transactions whose record is kept once applied.
    kept_ids: HashSet<String>,
    /// Their records.
    records: HashMap<String, StoredTransaction>,
    /// Journal entries written and not yet taken.
    written: Vec<JournalEntry>,
    /// Whether entries are written without their notes ([`DirectLedger::without_notes`]).
    bare: bool,
    /// The number of the last journal entry written.
    seq: u64,
}

impl<'v> DirectLedger<'v> {
    /// An empty ledger deciding with `versions`, with the default options (the expiry notice
    /// marks lots as announced; the events themselves are not kept).
    pub fn new(versions: &'v Versions) -> DirectLedger<'v> {
        DirectLedger {
            versions,
            notice: LedgerOptions::default().expiry_notice,
            book: Book::default(),
        }
    }

    /// This ledger, writing journal entries without their notes (empty): for a caller that
    /// counts the journal's points and never shows its words (a simulation), which cost more
    /// to write than the points.
    pub fn without_notes(mut self) -> DirectLedger<'v> {
        self.book.bare = true;
        self
    }

    /// Keeps the records of transactions `ids` once applied (for a refund that names one);
    /// others are forgotten as soon as they are applied.
    pub fn keep_records_of(&mut self, ids: impl IntoIterator<Item = String>) {
        self.book.kept_ids.extend(ids);
    }

    /// Opens accounts carried over from elsewhere at `at`, as
    /// [`Ledger::open_migrated`](super::Ledger::open_migrated) does: each lot journaled as an
    /// opening balance, each card made an alias; an account already open with the very same
    /// state is left as it is. An id or card that would lead to another account (as an id or
    /// as a card) is an error; the accounts before it stay open, with their opening entries.
    pub fn open(
        &mut self,
        accounts: impl IntoIterator<Item = AccountState>,
        at: DateTime<FixedOffset>,
    ) -> Result<(), LedgerError> {
        for mut account in accounts {
            alias_cards(&mut account);
            let book = &mut self.book;
            match book.accounts.get(&account.id) {
                Some(Some(held)) if *held == account => continue,
                Some(_) => return Err(LedgerError::AccountExists(account.id)),
                None if book.aliases.contains_key(&account.id) => {
                    return Err(LedgerError::AccountExists(account.id))
                }
                None => {}
            }
            for card in &account.aliases {
                let owner = book
                    .aliases
                    .get(card)
                    .or_else(|| book.accounts.get_key_value(card.as_str()).map(|(id, _)| id));
                if let Some(owner) = owner {
                    return Err(LedgerError::CardTaken {
                        card: card.clone(),
                        account: owner.clone(),
                    });
                }
            }
            let mut entries = Vec::new();
            opening_entries(&account, at, &mut entries);
            book.write(entries);
            for alias in &account.aliases {
                book.aliases.insert(alias.clone(), account.id.clone());
            }
            book.accounts.insert(account.id.clone(), Some(account));
        }
        Ok(())
    }

    /// Decides `incoming` and posts it, as [`Ledger::apply`](super::Ledger::apply) does.
    pub fn apply(&mut self, incoming: &Incoming) -> Result<Applied, LedgerError> {
        apply_in(
            &mut self.book,
            self.versions,
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
        let mut out = book.postings();
        advance(&mut state, incoming.transaction.time, self.notice, &mut out);
        book.write(out.entries);
        let redeemable = redeemable_on(book, self.versions, incoming, &mut state);
        book.release_account(state);
        redeemable
    }

    /// Brings every account to `as_of` (activations, expiries), in id order, as
    /// [`Ledger::advance_all`](super::Ledger::advance_all) does.
    pub fn advance_all(&mut self, as_of: DateTime<FixedOffset>) {
        let mut out = self.book.postings();
        let mut states: Vec<&mut AccountState> =
            self.book.accounts.values_mut().flatten().collect();
        states.sort_unstable_by(|a, b| a.id.cmp(&b.id));
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

    /// [`take_written`](Self::take_written) as a drain: the entries are handed over one by one
    /// and the list keeps its room for those written next, so a caller that counts the journal
    /// as it goes grows no list again.
    pub fn drain_written(&mut self) -> std::vec::Drain<'_, JournalEntry> {
        self.book.written.drain(..)
    }

    /// Every account's state, in no particular order.
    pub fn accounts(&self) -> impl Iterator<Item = &AccountState> {
        self.book.accounts.values().flatten()
    }
}

impl Book {
    /// Numbers `entries` on from the last one and adds them to those written (in place, then
    /// moved over together rather than one by one).
    fn write(&mut self, mut entries: Vec<JournalEntry>) {
        for entry in &mut entries {
            self.seq += 1;
            entry.seq = self.seq;
        }
        self.written.append(&mut entries);
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
        // An account's id is never another's alias (opening refuses it, and a signup under a
        // card's number reaches the card's account), so the id, the usual key, is looked up
        // first.
        if let Some(slot) = self.accounts.get_mut(id_or_alias) {
            return Ok(slot.take());
        }
        let Some(id) = self.aliases.get(id_or_alias) else {
            return Ok(None);
        };
        Ok(self.accounts.get_mut(id).and_then(Option::take))
    }

    fn changed_in_unit(&self, _id: &str) -> bool {
        // Every change is final at once: there is no earlier state to go back to.
        false
    }

    /// Puts a taken account back in its place; an account never taken (a refused signup's
    /// new one) is not opened.
    fn release_account(&mut self, account: AccountState) {
        if let Some(slot) = self.accounts.get_mut(&account.id) {
            *slot = Some(account);
        }
    }

    fn keep_account(&mut self, account: AccountState) -> Result<(), StoreError> {
        match self.accounts.get_mut(&account.id) {
            Some(slot) => *slot = Some(account),
            None => {
                self.accounts.insert(account.id.clone(), Some(account));
            }
        }
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

    fn postings(&self) -> Postings {
        if self.bare {
            Postings::bare()
        } else {
            Postings::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, aliases: &[&str]) -> AccountState {
        AccountState::reached_by(id, aliases)
    }

    /// A program that earns nothing: what is checked here is opening accounts.
    fn versions() -> Versions {
        let text = "program \"Club\" { currency RUB  timezone \"Europe/Moscow\" }";
        let source = puntos_dsl::SourceFile::new("club.pts", text);
        Versions::new(vec![crate::compile(&source).program.unwrap()]).unwrap()
    }

    fn at() -> DateTime<FixedOffset> {
        DateTime::<FixedOffset>::MIN_UTC.fixed_offset()
    }

    #[test]
    fn an_id_or_a_card_leading_to_another_account_is_refused_either_way() {
        let versions = versions();
        let mut direct = DirectLedger::new(&versions);
        direct.open([account("A", &["111"])], at()).unwrap();
        assert!(matches!(
            direct.open([account("111", &[])], at()),
            Err(LedgerError::AccountExists(id)) if id == "111"
        ));
        assert!(matches!(
            direct.open([account("B", &["A"])], at()),
            Err(LedgerError::CardTaken { card, account }) if card == "A" && account == "A"
        ));
        assert!(matches!(
            direct.open([account("C", &["111"])], at()),
            Err(LedgerError::CardTaken { account, .. }) if account == "A"
        ));
        assert_eq!(direct.accounts().count(), 1);
    }

    #[test]
    fn a_transaction_finds_its_account_by_id_or_by_card() {
        let versions = versions();
        let mut direct = DirectLedger::new(&versions);
        direct.open([account("A", &["111"])], at()).unwrap();
        let purchase = |account: &str, id: &str| Incoming {
            account: account.to_string(),
            refund_of: None,
            customer: None,
            transaction: crate::eval::Transaction {
                id: id.into(),
                time: chrono::DateTime::parse_from_rfc3339("2026-03-14T12:00:00+03:00").unwrap(),
                ..crate::eval::Transaction::default()
            },
        };
        for (account, id) in [("A", "T-1"), ("111", "T-2")] {
            let applied = direct.apply(&purchase(account, id));
            assert!(matches!(applied, Ok(Applied::New(_))), "{account}");
        }
        assert!(matches!(
            direct.apply(&purchase("222", "T-3")),
            Err(LedgerError::UnknownAccount(card)) if card == "222"
        ));
        assert_eq!(direct.accounts().count(), 1);
    }

    #[test]
    fn the_very_same_account_opened_twice_is_opened_once() {
        let versions = versions();
        let mut direct = DirectLedger::new(&versions);
        let mut held = account("A", &[]);
        held.lots.push(crate::ledger::Lot::settled(
            "L-1".to_string(),
            "migrated".to_string(),
            Decimal::from(50),
            at(),
        ));
        direct.open([held.clone(), held.clone()], at()).unwrap();
        assert_eq!(direct.accounts().count(), 1);
        assert_eq!(direct.take_written().len(), 1, "one opening entry");
        held.customer.id = "changed".to_string();
        assert!(matches!(
            direct.open([held], at()),
            Err(LedgerError::AccountExists(_))
        ));
    }
}
