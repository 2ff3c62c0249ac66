//! The points ledger: the only place where state changes. It reads an account from a
//! [`Store`], decides a transaction with the evaluator, turns the decision into journal
//! entries, lots, counters and events, and writes them back in one atomic unit.
//!
//! - Idempotent: a transaction id seen before with the same payload returns the stored
//!   decision and changes nothing; with another payload it is a [`LedgerError::Conflict`]. A
//!   refusal is remembered too: the same payload is refused again with the same reason (so a
//!   resumed or concurrent run ends as an uninterrupted one), while corrected content under the
//!   refused id is decided afresh.
//! - Time moves forward: pending lots activate and lots expire as of each transaction's time,
//!   or on [`Ledger::advance`]; expiries are journal entries.
//! - A `signup` with a customer profile opens the account; other transactions need one.
//! - Refunds name their purchase (`refund_of`); the ledger passes its stored decision to the
//!   evaluator and records the units returned. Corrections are new entries, never edits.
//! - The balance is the sum of lot remainders; it goes below zero only through a reversal of
//!   points already spent, and the journal entry says so.
//! - The journal is a hash chain; [`Ledger::verify`] finds an edited or removed entry.

mod background;
mod batch;
mod chain;
mod codec;
mod direct;
mod fingerprint;
pub mod model;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod pack;
mod pipeline;
mod post;
#[cfg(feature = "postgres")]
pub mod postgres;
mod recorder;
pub mod replay;
mod sealer;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod store;
mod unit;
mod view;

#[cfg(feature = "postgres")]
pub use self::postgres::PgStore;
pub use chain::Broken;
pub use direct::DirectLedger;
pub use model::{
    AccountState, Card, CardStatus, EntryKind, Event, JournalEntry, Lot, OutboxEvent,
    StoredTransaction,
};
pub use replay::{audit, replay, Audit, ReplayedAccount, ReplayedLot};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use store::{MemoryStore, Session, Store, StoreError, Upcoming};

use crate::eval::{Context, Decision, EvalError, EvalOptions, Now, Parts, RefundOf, Transaction};
use crate::versions::Versions;
use chrono::{DateTime, FixedOffset};
use post::{advance, post, Posting, Postings};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use unit::{Lookups, Unit};

/// A transaction for the ledger: the account it belongs to and, for a refund, the purchase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incoming {
    /// The account: its id, a card number or another alias.
    pub account: String,
    /// For a refund: the id of the purchase it returns goods from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_of: Option<String>,
    /// For a signup: the new customer's profile; the account is opened with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<crate::eval::Customer>,
    /// The transaction (without `refund`: the ledger fills it from `refund_of`).
    pub transaction: Transaction,
}

/// What [`Ledger::open_migrated`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Opened {
    /// Accounts opened.
    pub opened: u64,
    /// Accounts already there with the same state, left as they were.
    pub unchanged: u64,
}

/// What [`Ledger::advance_all`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advanced {
    /// Accounts visited.
    pub accounts: u64,
    /// Pending lots that became available.
    pub activated: u64,
    /// Points that expired.
    pub expired: rust_decimal::Decimal,
    /// Expiry notices written to the outbox.
    pub notices: u64,
}

/// Accounts brought up to date per atomic unit by [`Ledger::advance_all`].
const ADVANCE_PAGE: usize = 500;

/// What [`Ledger::apply`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// The transaction was decided and recorded.
    New(Decision),
    /// The same transaction was applied before: its decision, nothing changed.
    Duplicate(Decision),
}

impl Applied {
    /// The decision, new or stored.
    pub fn decision(&self) -> &Decision {
        match self {
            Applied::New(d) | Applied::Duplicate(d) => d,
        }
    }
}

/// Why the ledger refused a transaction; nothing of it was recorded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LedgerError {
    /// The evaluator refused it (bad input, a redemption not allowed...).
    #[error(transparent)]
    Eval(#[from] EvalError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No account has this id or alias.
    #[error("account {0}: no account has this id, card number or alias")]
    UnknownAccount(String),
    /// The account exists already.
    #[error("account {0} exists already")]
    AccountExists(String),
    /// A refund names a purchase the ledger has not seen.
    #[error("refund_of {0}: no purchase with this id was applied")]
    UnknownOriginal(String),
    /// The same transaction was refused before (the reason then); it is refused again.
    #[error("{0}")]
    Refused(String),
    /// The id was used before for a different transaction.
    #[error(
        "transaction {0} was applied before with different content; give the new one its own id"
    )]
    Conflict(String),
    /// A new card's number already leads to an account.
    #[error("card {card}: the number already leads to account {account}")]
    CardTaken {
        /// The number.
        card: String,
        /// The account it leads to.
        account: String,
    },
    /// No card has this number.
    #[error("card {0}: no account has a card with this number")]
    UnknownCard(String),
    /// The transaction presents a card that may not be used.
    #[error("card {card} is {}: transactions with it are refused; the account's other cards and its id still work", .status.as_str())]
    CardNotUsable {
        /// The card's number.
        card: String,
        /// Its status.
        status: CardStatus,
    },
}

/// Settings of a ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerOptions {
    /// How long before expiry a customer is told points are expiring.
    pub expiry_notice: chrono::TimeDelta,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        LedgerOptions {
            expiry_notice: chrono::TimeDelta::days(30),
        }
    }
}

/// The ledger over a store.
pub struct Ledger<S: Store> {
    store: S,
    versions: Versions,
    options: LedgerOptions,
}

impl<S: Store> Ledger<S> {
    /// A ledger applying `versions` of a program to `store`.
    pub fn new(store: S, versions: Versions) -> Ledger<S> {
        Ledger {
            store,
            versions,
            options: LedgerOptions::default(),
        }
    }

    /// The same ledger with other settings.
    pub fn with_options(mut self, options: LedgerOptions) -> Ledger<S> {
        self.options = options;
        self
    }

    /// The store, for reads.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Opens an account, each of its cards becoming an alias; an id or alias already taken is an
    /// error.
    pub fn open_account(&mut self, mut account: AccountState) -> Result<(), LedgerError> {
        alias_cards(&mut account);
        self.store.atomically(|session| {
            if session.account(&account.id)?.is_some() {
                return Err(LedgerError::AccountExists(account.id.clone()));
            }
            session.put_account(&account)?;
            Ok(())
        })
    }

    /// Opens accounts carried over from a legacy system, all in one unit: each lot is journaled
    /// as an opening balance of its remaining points (so the journal explains every balance),
    /// each card becomes an alias. An account already there with the very same state is left
    /// as it is, so loading a migration twice changes nothing; one there with another state,
    /// or an alias leading elsewhere, is refused and the unit writes nothing.
    pub fn open_migrated(
        &mut self,
        accounts: &[AccountState],
        at: DateTime<FixedOffset>,
    ) -> Result<Opened, LedgerError> {
        self.store.atomically(|session| {
            let mut opened = Opened::default();
            let mut entries = Vec::new();
            for given in accounts {
                let mut account = given.clone();
                alias_cards(&mut account);
                // A new account's keys are all free (asked at once); otherwise each is read.
                let keys: Vec<&str> = std::iter::once(account.id.as_str())
                    .chain(account.aliases.iter().map(String::as_str))
                    .collect();
                if !session.keys_free(&keys)? {
                    match session.account(&account.id)? {
                        Some(stored) if stored == account => {
                            opened.unchanged += 1;
                            continue;
                        }
                        Some(_) => return Err(LedgerError::AccountExists(account.id.clone())),
                        None => {}
                    }
                    for alias in &account.aliases {
                        if let Some(owner) = session.account(alias)? {
                            return Err(LedgerError::CardTaken {
                                card: alias.clone(),
                                account: owner.id,
                            });
                        }
                    }
                }
                opening_entries(&account, at, &mut entries);
                session.put_account(&account)?;
                opened.opened += 1;
            }
            let head = session.journal_head()?;
            let bodies = chain::seal_encoded(&mut entries, head);
            session.append_journal_encoded(&entries, &bodies)?;
            Ok(opened)
        })
    }

    /// Adds a store (shop, branch, merchant) to the registry, or replaces it: transactions that
    /// name only its id are decided with its region, city, format and partner.
    pub fn register_shop(&mut self, shop: &crate::eval::Store) -> Result<(), LedgerError> {
        self.register_shops(std::slice::from_ref(shop))
    }

    /// Registers many stores in one atomic unit (a chain's whole list): all or none. A store
    /// without an id is an error naming its place in the list.
    pub fn register_shops(&mut self, shops: &[crate::eval::Store]) -> Result<(), LedgerError> {
        if let Some(i) = shops.iter().position(|s| s.id.trim().is_empty()) {
            return Err(EvalError::input(format!("stores[{i}].id"), "a store needs an id").into());
        }
        Ok(self
            .store
            .atomically(|session| shops.iter().try_for_each(|s| session.put_shop(s)))?)
    }

    /// The store with this id in the registry.
    pub fn shop(&mut self, id: &str) -> Result<Option<crate::eval::Store>, LedgerError> {
        Ok(self.store.atomically(|session| session.shop(id))?)
    }

    /// Issues `card` to the account `id_or_alias` names: its number becomes one of the account's
    /// aliases. A number already leading to an account is an error.
    pub fn issue_card(
        &mut self,
        id_or_alias: &str,
        card: Card,
    ) -> Result<AccountState, LedgerError> {
        self.store.atomically(|session| {
            if let Some(holder) = session.account(&card.number)? {
                return Err(LedgerError::CardTaken {
                    card: card.number.clone(),
                    account: holder.id,
                });
            }
            let mut state = session
                .account(id_or_alias)?
                .ok_or_else(|| LedgerError::UnknownAccount(id_or_alias.to_string()))?;
            state.aliases.push(card.number.clone());
            state.cards.push(card);
            session.put_account(&state)?;
            Ok(state)
        })
    }

    /// Sets the status of the card numbered `number` (blocked, reported lost, or active again).
    pub fn set_card_status(
        &mut self,
        number: &str,
        status: CardStatus,
    ) -> Result<AccountState, LedgerError> {
        self.store.atomically(|session| {
            let mut state = session
                .account(number)?
                .ok_or_else(|| LedgerError::UnknownCard(number.to_string()))?;
            let card = state
                .cards
                .iter_mut()
                .find(|c| c.number == number)
                .ok_or_else(|| LedgerError::UnknownCard(number.to_string()))?;
            card.status = status;
            session.put_account(&state)?;
            Ok(state)
        })
    }

    /// The account with this id or alias.
    pub fn account(&mut self, id_or_alias: &str) -> Result<Option<AccountState>, LedgerError> {
        self.store
            .atomically(|session| Ok(session.account(id_or_alias)?))
    }

    /// Decides `incoming` and records it, atomically; see the module docs. A refusal is
    /// recorded too (its unit commits), so it is remembered.
    pub fn apply(&mut self, incoming: &Incoming) -> Result<Applied, LedgerError> {
        self.apply_batch(std::slice::from_ref(incoming))?
            .pop()
            .unwrap_or_else(|| Err(StoreError("the store returned no result".to_string()).into()))
    }

    /// Applies many transactions in order in one atomic unit of the store (one commit: much
    /// faster on a database). Each transaction succeeds or is refused on its own — a refused one
    /// writes only the record of its refusal — and the results come back in order; only a
    /// failure of the store itself undoes the whole batch.
    pub fn apply_batch(
        &mut self,
        batch: &[Incoming],
    ) -> Result<Vec<Result<Applied, LedgerError>>, StoreError> {
        let versions = &self.versions;
        let notice = self.options.expiry_notice;
        self.store
            .atomically(|session| apply_batch_in(session, versions, notice, batch))
    }

    /// Applies a stream of batches in order, each as [`Ledger::apply_batch`] would (one atomic
    /// unit per batch), handing each batch's results to `done` with the batch's `tag` once
    /// its unit has committed. A store that can tell when someone else wrote
    /// ([`Store::tells_if_disturbed`]) has the next batch decided on another thread while it
    /// writes the one before ([`pipeline`]); the results are the same either way. Stops at
    /// the first error of the store or of `done`: every batch handed to `done` before it is
    /// committed, the rest are not.
    pub fn apply_batches<T, E: From<StoreError>>(
        &mut self,
        batches: impl IntoIterator<Item = (Vec<Incoming>, T)>,
        mut done: impl FnMut(T, Vec<Result<Applied, LedgerError>>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut batches = batches.into_iter();
        let notice = self.options.expiry_notice;
        if self.store.tells_if_disturbed() {
            pipeline::apply(
                &mut self.store,
                &self.versions,
                notice,
                &mut batches,
                &mut done,
            )
        } else {
            pipeline::apply_serially(
                &mut self.store,
                &self.versions,
                notice,
                &mut batches,
                &mut done,
            )
        }
    }

    /// The most points `incoming` could pay with on its account as it stands at the
    /// transaction's time (points that became available by then count, expired ones do not):
    /// what a till can offer before asking, and what a customer who spends all they may asks
    /// for. Its own `redeem` is ignored; nothing is recorded.
    pub fn redeemable(
        &mut self,
        incoming: &Incoming,
    ) -> Result<rust_decimal::Decimal, LedgerError> {
        let versions = &self.versions;
        let notice = self.options.expiry_notice;
        self.store.atomically(|session| {
            let mut state = session
                .account(&incoming.account)?
                .ok_or_else(|| LedgerError::UnknownAccount(incoming.account.clone()))?;
            // Brought to the transaction's time on a copy: nothing is recorded.
            advance(
                &mut state,
                incoming.transaction.time,
                notice,
                &mut Postings::bare(),
            );
            redeemable_on(session, versions, incoming, &mut state)
        })
    }

    /// Brings an account to `as_of`: pending points activate, points expire, expiry notices go
    /// out, all recorded.
    pub fn advance(
        &mut self,
        id_or_alias: &str,
        as_of: DateTime<FixedOffset>,
    ) -> Result<AccountState, LedgerError> {
        let notice = self.options.expiry_notice;
        self.store.atomically(|session| {
            let mut state = session
                .account(id_or_alias)?
                .ok_or_else(|| LedgerError::UnknownAccount(id_or_alias.to_string()))?;
            let mut out = Postings::default();
            advance(&mut state, as_of, notice, &mut out);
            record(session, &state, out)?;
            Ok(state)
        })
    }

    /// Brings every account to `as_of`: pending lots activate, lots expire (with their journal
    /// entries), expiry notices go to the outbox. The nightly job of a CRM. Accounts are visited
    /// in id order, a page per atomic unit, so an interruption leaves whole pages done and a
    /// rerun finishes the rest (an account already brought to `as_of` does not change again).
    pub fn advance_all(&mut self, as_of: DateTime<FixedOffset>) -> Result<Advanced, LedgerError> {
        let notice = self.options.expiry_notice;
        let mut done = Advanced::default();
        let mut after = String::new();
        loop {
            let page = self.store.atomically(|session| {
                let ids = session.account_ids(&after, ADVANCE_PAGE)?;
                for id in &ids {
                    let Some(mut state) = session.account(id)? else {
                        continue;
                    };
                    let mut out = Postings::default();
                    advance(&mut state, as_of, notice, &mut out);
                    done.accounts += 1;
                    done.notices += out.events.len() as u64;
                    for entry in &out.entries {
                        match entry.kind {
                            EntryKind::Activate => done.activated += 1,
                            EntryKind::Expire => done.expired -= entry.points,
                            _ => {}
                        }
                    }
                    record(session, &state, out)?;
                }
                Ok::<_, LedgerError>(ids)
            })?;
            match page.last() {
                Some(last) => after.clone_from(last),
                None => return Ok(done),
            }
        }
    }

    /// Erases a customer's personal data for privacy law: name, phones, e-mail, birth date,
    /// consents, attributes and card numbers go; the account keeps its pseudonymous id, lots,
    /// journal and transactions, so totals and audits stay intact. The store then purges what
    /// it deleted from its files.
    pub fn erase(&mut self, id_or_alias: &str) -> Result<AccountState, LedgerError> {
        let state = self.store.atomically(|session| {
            let mut state = session
                .account(id_or_alias)?
                .ok_or_else(|| LedgerError::UnknownAccount(id_or_alias.to_string()))?;
            let customer = &mut state.customer;
            *customer = crate::eval::Customer {
                id: customer.id.clone(),
                enrolled_at: customer.enrolled_at,
                status: "erased".to_string(),
                ..crate::eval::Customer::default()
            };
            state.aliases.clear();
            state.cards.clear();
            session.put_account(&state)?;
            Ok::<_, LedgerError>(state)
        })?;
        self.store.purge()?;
        Ok(state)
    }

    /// Checks the whole journal's hash chain and the store's lists of each account's entries
    /// ([`verify`]); returns the number of entries checked.
    pub fn verify(&mut self) -> Result<Result<u64, Broken>, LedgerError> {
        Ok(verify(&mut self.store)?)
    }
}

/// Decides and records `batch` in the unit of work `session`: see [`Ledger::apply_batch`].
fn apply_batch_in(
    session: &mut dyn Session,
    versions: &Versions,
    notice: chrono::TimeDelta,
    batch: &[Incoming],
) -> Result<Vec<Result<Applied, LedgerError>>, StoreError> {
    // The unit lives inside the scope: its sealing thread must stop before the scope ends,
    // whether the batch is finished or fails.
    std::thread::scope(|scope| {
        let mut unit = batch::Batch::new(session, batch.len());
        unit.read_ahead(&upcoming(batch));
        if batch.len() >= background::WORTH_A_THREAD {
            unit.seal_ahead(scope)?;
        }
        let mut fingerprints = fingerprint::Fingerprints::start(scope, batch);
        let mut results = Vec::with_capacity(batch.len());
        for incoming in batch {
            let fingerprint = fingerprints.next(incoming);
            match apply_in(&mut unit, versions, notice, incoming, fingerprint) {
                Err(LedgerError::Store(e)) => return Err(e),
                result => results.push(result),
            }
        }
        unit.finish()?;
        Ok(results)
    })
}

/// What applying `batch` reads, in order: for each transaction, its own record (is it a
/// retry?), its account, and the purchase it refunds.
fn upcoming(batch: &[Incoming]) -> Vec<Upcoming<'_>> {
    let mut upcoming = Vec::with_capacity(2 * batch.len());
    for incoming in batch {
        upcoming.push(Upcoming::Transaction(&incoming.transaction.id));
        upcoming.push(Upcoming::Account(&incoming.account));
        if let Some(original) = &incoming.refund_of {
            upcoming.push(Upcoming::Transaction(original));
        }
    }
    upcoming
}

/// Decides and records one transaction inside a unit of work. Every check and the decision
/// come before the first write, so a refused transaction writes nothing but its refusal.
fn apply_in<U: Unit + ?Sized>(
    session: &mut U,
    versions: &Versions,
    notice: chrono::TimeDelta,
    incoming: &Incoming,
    fingerprint: String,
) -> Result<Applied, LedgerError> {
    let tx = &incoming.transaction;
    if tx.id.trim().is_empty() {
        return Err(EvalError::input(
            "transaction.id",
            "the ledger needs an id per transaction, to apply each exactly once",
        )
        .into());
    }
    if tx.refund.is_some() {
        return Err(EvalError::input(
            "transaction.refund",
            "give the purchase's id as `refund_of`; the ledger has its decision",
        )
        .into());
    }
    if let Some(stored) = session.transaction(&tx.id)? {
        match (stored.fingerprint == fingerprint, stored.refused) {
            (true, None) => return Ok(Applied::Duplicate(stored.decision)),
            (true, Some(reason)) => return Err(LedgerError::Refused(reason)),
            (false, None) => return Err(LedgerError::Conflict(tx.id.to_string())),
            // A refused transaction never took effect: its id may carry corrected content.
            (false, Some(_)) => {}
        }
    }
    match decide(session, versions, notice, incoming, &fingerprint) {
        Err(
            refusal @ (LedgerError::Eval(_)
            | LedgerError::UnknownAccount(_)
            | LedgerError::UnknownOriginal(_)
            | LedgerError::CardNotUsable { .. }),
        ) => {
            // Remembered, so the same row applied again (a resumed or concurrent run) is
            // refused again rather than decided against a later state of the account.
            if !session.keeps_record(&tx.id) {
                return Err(refusal);
            }
            session.keep_transaction(StoredTransaction {
                id: tx.id.to_string(),
                account: incoming.account.clone(),
                fingerprint,
                decision: Decision {
                    transaction: tx.id.clone(),
                    kind: tx.kind.clone(),
                    program: "".into(),
                    currency: "".into(),
                    lines: Vec::new(),
                    effects: Vec::new(),
                    refused_coupons: Vec::new(),
                    trace: None,
                },
                refused: Some(refusal.to_string()),
                refunded: Vec::new(),
                consumed: Vec::new(),
                returned: rust_decimal::Decimal::ZERO,
                time: tx.time,
            });
            Err(refusal)
        }
        other => other,
    }
}

/// Decides a new transaction and writes its effects; every check comes before the first write.
fn decide<U: Unit + ?Sized>(
    session: &mut U,
    versions: &Versions,
    notice: chrono::TimeDelta,
    incoming: &Incoming,
    fingerprint: &str,
) -> Result<Applied, LedgerError> {
    let tx = &incoming.transaction;
    let mut state = match (session.take_account(&incoming.account)?, &incoming.customer) {
        (Some(state), _) => state,
        (None, Some(customer)) if *tx.kind == *"signup" => AccountState {
            id: incoming.account.clone(),
            customer: customer.clone(),
            ..AccountState::default()
        },
        (None, _) => return Err(LedgerError::UnknownAccount(incoming.account.clone())),
    };
    if let Some(card) = state.cards.iter().find(|c| c.number == incoming.account) {
        if card.status != CardStatus::Active {
            let refusal = LedgerError::CardNotUsable {
                card: card.number.clone(),
                status: card.status,
            };
            session.release_account(state);
            return Err(refusal);
        }
    }
    // Deciding changes the state as it goes (time passes first); a refusal must leave the
    // account as the unit holds it, which for an account changed earlier in the unit is that
    // state.
    let before = session.changed_in_unit(&state.id).then(|| state.clone());
    let mut out = session.postings();
    match decide_for(session, versions, notice, incoming, &mut state, &mut out) {
        Ok((decision, original, consumed)) => {
            let account = state.id.clone();
            session.record(out)?;
            session.keep_account(state)?;
            if let Some(original) = original {
                session.keep_transaction(*original);
            }
            if session.keeps_record(&tx.id) {
                session.keep_transaction(StoredTransaction {
                    id: tx.id.to_string(),
                    account,
                    fingerprint: fingerprint.to_string(),
                    decision: decision.clone(),
                    refused: None,
                    refunded: Vec::new(),
                    consumed,
                    returned: rust_decimal::Decimal::ZERO,
                    time: tx.time,
                });
            }
            Ok(Applied::New(decision))
        }
        Err(LedgerError::Store(e)) => Err(e.into()),
        Err(e) => {
            session.give_back_refused(state, before, out)?;
            Err(e)
        }
    }
}

/// What deciding a transaction for an account produced besides its entries and events: the
/// decision, the refunded purchase updated (boxed: only refunds have one, and every decision
/// is passed back through this), and the lots a redemption spent.
type Decided = (
    Decision,
    Option<Box<StoredTransaction>>,
    Vec<(String, rust_decimal::Decimal)>,
);

/// Decides a new transaction against `state` and applies its effects to it, its entries and
/// events added to `out` (those of time passing first, kept even when the transaction is
/// refused); writes nothing but budgets (after every check).
fn decide_for<U: Unit + ?Sized>(
    session: &mut U,
    versions: &Versions,
    notice: chrono::TimeDelta,
    incoming: &Incoming,
    state: &mut AccountState,
    out: &mut Postings,
) -> Result<Decided, LedgerError> {
    let tx = &incoming.transaction;
    let program = version_at(versions, tx.time)?;
    advance(state, tx.time, notice, out);
    let mut original = match &incoming.refund_of {
        Some(id) => Some(Box::new(
            session
                .transaction(id)?
                .filter(|o| o.refused.is_none())
                .ok_or_else(|| LedgerError::UnknownOriginal(id.clone()))?,
        )),
        None => None,
    };
    // Decided as given, unless the registry completes its store or it refunds a purchase:
    // then a copy carries those.
    let store = filled_store(session, &tx.store)?;
    let transaction = if store.is_none() && original.is_none() {
        Cow::Borrowed(tx)
    } else {
        let mut copy = tx.clone();
        if let Some(store) = store {
            copy.store = store;
        }
        copy.refund = original.as_ref().map(|o| RefundOf {
            original: o.decision.clone(),
            refunded_before: o.refunded.clone(),
        });
        Cow::Owned(copy)
    };
    // The transaction's time in the program's zone, read once for the view, the evaluation
    // and posting.
    let now = Now::new(program.timezone, tx.time);
    let mut account = view::account_view(program, state, &now, session)?;
    // The codes held are lent to the evaluation and given back whatever it decides.
    account.coupons = std::mem::take(&mut state.coupons);
    let parts = Parts {
        transaction: &transaction,
        customer: &state.customer,
        account: &account,
        as_of: None,
        now: Some(now),
    };
    let decided = program.evaluate_parts(parts, &EvalOptions::default());
    state.coupons = account.coupons;
    let decision = decided?;
    let mut posting = Posting {
        program,
        date: now.date(),
        transaction: &transaction,
        decision: &decision,
        original: original.as_deref_mut(),
        consumed: Vec::new(),
    };
    post(state, &mut posting, session, out)?;
    let consumed = posting.consumed;
    Ok((decision, original, consumed))
}

/// The most points `incoming` could pay with on `state`, already brought to the transaction's
/// time (see [`Ledger::redeemable`]). The customer and the codes held are lent to the
/// evaluation and given back.
fn redeemable_on<L: Lookups + ?Sized>(
    session: &mut L,
    versions: &Versions,
    incoming: &Incoming,
    state: &mut AccountState,
) -> Result<rust_decimal::Decimal, LedgerError> {
    let tx = &incoming.transaction;
    let program = version_at(versions, tx.time)?;
    let mut transaction = tx.clone();
    transaction.redeem = None;
    if let Some(store) = filled_store(session, &tx.store)? {
        transaction.store = store;
    }
    let mut context = Context {
        account: view::account_view(
            program,
            state,
            &Now::new(program.timezone, tx.time),
            session,
        )?,
        customer: std::mem::take(&mut state.customer),
        transaction,
        as_of: None,
    };
    context.account.coupons = std::mem::take(&mut state.coupons);
    let redeemable = program.redeemable(&context);
    state.customer = context.customer;
    state.coupons = context.account.coupons;
    Ok(redeemable?)
}

/// Makes each of the account's cards one of its aliases, so every card finds it.
fn alias_cards(account: &mut AccountState) {
    for card in &account.cards {
        if !account.aliases.contains(&card.number) {
            account.aliases.push(card.number.clone());
        }
    }
}

/// The journal entries opening a carried-over account at `at`: each lot's remaining points as
/// an opening balance, so the journal explains every balance.
fn opening_entries(account: &AccountState, at: DateTime<FixedOffset>, out: &mut Vec<JournalEntry>) {
    out.extend(account.lots.iter().map(|lot| JournalEntry {
        seq: 0,
        account: account.id.clone(),
        at,
        transaction: None,
        kind: EntryKind::Opening,
        lot: Some(lot.id.clone()),
        points: lot.remaining,
        note: format!("opening balance: {}", lot.source),
        previous: String::new(),
        hash: String::new(),
    }));
}

/// Checks a store's whole journal hash chain, then the store's own lists of each account's
/// entries ([`Session::check_account_lists`]); returns the number of entries checked, or where
/// the chain or a list breaks.
pub fn verify<S: Store>(store: &mut S) -> Result<Result<u64, Broken>, StoreError> {
    store.atomically(|session| {
        let (mut seq, mut previous) = (0u64, chain::GENESIS.to_string());
        loop {
            let page = session.journal(None, seq, 1000)?;
            if page.is_empty() {
                return Ok(match session.check_account_lists()? {
                    Some(broken) => Err(broken),
                    None => Ok(seq),
                });
            }
            match chain::check(&page, seq, previous) {
                Ok((s, p)) => (seq, previous) = (s, p),
                Err(broken) => return Ok(Err(broken)),
            }
        }
    })
}

/// A store named by id alone takes its region, city, format and partner from the registry (a
/// till sends its store's id; the program may read the rest): the store so completed, or `None`
/// when it stays as given (complete already, without an id, or not registered). Fields the
/// transaction gives are kept.
fn filled_store<L: Lookups + ?Sized>(
    session: &mut L,
    store: &crate::eval::Store,
) -> Result<Option<crate::eval::Store>, StoreError> {
    let complete = [&store.region, &store.city, &store.format, &store.partner]
        .iter()
        .all(|field| !field.is_empty());
    if store.id.is_empty() || complete {
        return Ok(None);
    }
    let Some(known) = session.shop(&store.id)? else {
        return Ok(None);
    };
    let mut filled = store.clone();
    for (field, from) in [
        (&mut filled.region, known.region),
        (&mut filled.city, known.city),
        (&mut filled.format, known.format),
        (&mut filled.partner, known.partner),
    ] {
        if field.is_empty() {
            *field = from;
        }
    }
    Ok(Some(filled))
}

/// Events as outbox records, numbered on from the outbox's last sequence number.
fn numbered(events: Vec<(String, DateTime<FixedOffset>, Event)>, mut seq: u64) -> Vec<OutboxEvent> {
    events
        .into_iter()
        .map(|(account, at, event)| {
            seq += 1;
            OutboxEvent {
                seq,
                account,
                at,
                event,
            }
        })
        .collect()
}

/// The version of the program in effect at `time`, or the error that names the field.
fn version_at(
    versions: &Versions,
    time: DateTime<FixedOffset>,
) -> Result<&crate::program::Program, EvalError> {
    versions.at(time).ok_or_else(|| {
        EvalError::input(
            "transaction.time",
            "no version of the program is in effect at this time",
        )
    })
}

/// Writes an account's new state with its sealed journal entries and its events.
fn record(
    session: &mut dyn Session,
    state: &AccountState,
    mut out: Postings,
) -> Result<(), StoreError> {
    let head = session.journal_head()?;
    let bodies = chain::seal_encoded(&mut out.entries, head);
    session.append_journal_encoded(&out.entries, &bodies)?;
    let events = numbered(out.events, session.outbox_head()?);
    session.push_events(&events)?;
    session.put_account(state)
}
