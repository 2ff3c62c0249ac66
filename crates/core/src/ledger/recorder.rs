//! The decider's side of a pipelined apply ([`super::pipeline`]): a [`Session`] with no store
//! behind it. Its reads were made beforehand by the store's unit of work ([`Prefetch::read`]),
//! then brought up to date with what the batch before wrote ([`Prefetch::patch`]); its writes
//! are recorded ([`Recorded`]) for the store's next unit to make ([`Recorded::write`]).
//!
//! Why the reads are right: the unit that reads them for batch N+1 reads before it writes batch
//! N (the decider was still deciding N when the unit began), and everything before N is
//! committed, so they miss only what batch N writes, which the decider has and patches in; the
//! unit that writes batch N+1 trusts them only if nobody else has written since
//! ([`Session::undisturbed`]).

use super::codec::encode;
use super::model::{AccountState, JournalEntry, OutboxEvent, StoredTransaction};
use super::store::{Session, StoreError, Upcoming};
use super::{upcoming, Incoming};
use crate::fast_hash::HashMap;
use rust_decimal::Decimal;

/// Everything deciding a batch reads, read by the store's unit of work before the decider
/// needs it.
#[derive(Debug, Default)]
pub(super) struct Prefetch {
    /// By the key (id or alias) the batch asks for them by.
    accounts: HashMap<String, Option<AccountState>>,
    transactions: HashMap<String, Option<StoredTransaction>>,
    shops: HashMap<String, Option<crate::eval::Store>>,
    budgets: HashMap<String, Decimal>,
    journal_head: Option<(u64, String)>,
    outbox_head: u64,
}

impl Prefetch {
    /// Reads from `session` what deciding `batch` asks for: each transaction's record (is it
    /// a retry?), its account, the purchase it refunds, its registered store, the budgets of
    /// `budgets` (every budgeted promotion of the programs), and the heads of the journal and
    /// the outbox.
    pub(super) fn read(
        session: &mut dyn Session,
        batch: &[Incoming],
        budgets: &[String],
    ) -> Result<Prefetch, StoreError> {
        let mut wanted = upcoming(batch);
        // Accounts first: most come at once from the store's memory, while its reader (if it
        // has one) fetches the transactions.
        wanted.sort_by_key(|record| matches!(record, Upcoming::Transaction(_)));
        session.read_ahead(&wanted);
        let mut read = Prefetch {
            accounts: HashMap::with_capacity_and_hasher(batch.len(), Default::default()),
            transactions: HashMap::with_capacity_and_hasher(batch.len(), Default::default()),
            ..Prefetch::default()
        };
        for record in wanted {
            match record {
                Upcoming::Account(key) => {
                    if !read.accounts.contains_key(key) {
                        let account = session.account(key)?;
                        read.accounts.insert(key.to_string(), account);
                    }
                }
                Upcoming::Transaction(id) => {
                    if !read.transactions.contains_key(id) {
                        let transaction = session.transaction(id)?;
                        read.transactions.insert(id.to_string(), transaction);
                    }
                }
            }
        }
        for incoming in batch {
            let shop = &incoming.transaction.store.id;
            if !shop.is_empty() && !read.shops.contains_key(&**shop) {
                let known = session.shop(shop)?;
                read.shops.insert(shop.to_string(), known);
            }
        }
        for promotion in budgets {
            let used = session.budget_used(promotion)?;
            read.budgets.insert(promotion.clone(), used);
        }
        read.journal_head = session.journal_head()?;
        read.outbox_head = session.outbox_head()?;
        Ok(read)
    }

    /// Brings the reads up to date with `before`, the batch decided before this one and not
    /// yet written when they were read: its accounts, transactions, budgets and heads replace
    /// what was read of them.
    pub(super) fn patch(&mut self, before: &Recorded) {
        let mut by_key: HashMap<&str, &AccountState> = HashMap::default();
        for state in before.states.iter().chain(&before.rewritten) {
            by_key.insert(&state.id, state);
            for alias in &state.aliases {
                by_key.insert(alias, state);
            }
        }
        for (key, read) in &mut self.accounts {
            // An account the batch before wrote, asked for by its id or an alias, or one the
            // key led to when it was read.
            let written = by_key.get(key.as_str()).or_else(|| {
                read.as_ref()
                    .and_then(|state| by_key.get(state.id.as_str()))
            });
            if let Some(state) = written {
                *read = Some((*state).clone());
            }
        }
        let recorded: HashMap<&str, &StoredTransaction> = before
            .transactions
            .iter()
            .map(|t| (t.id.as_str(), t))
            .collect();
        for (id, read) in &mut self.transactions {
            if let Some(transaction) = recorded.get(id.as_str()) {
                *read = Some((*transaction).clone());
            }
        }
        for (promotion, added) in &before.budgets {
            *self.budgets.entry(promotion.clone()).or_default() += *added;
        }
        if let Some(last) = before.journal.last() {
            self.journal_head = Some((last.seq, last.hash.clone()));
        }
        for event in &before.events {
            self.outbox_head = self.outbox_head.max(event.seq);
        }
    }
}

/// A batch's writes, as the decider made them, for the store's unit of work to make.
#[derive(Debug, Default)]
pub(super) struct Recorded {
    /// What each promotion's budget spent, in the order they were written.
    budgets: Vec<(String, Decimal)>,
    events: Vec<OutboxEvent>,
    /// The JSON of each event, if the store keeps JSON.
    event_bodies: Option<Vec<String>>,
    /// Sealed journal entries, with their JSON.
    journal: Vec<JournalEntry>,
    journal_bodies: Vec<String>,
    /// Accounts whose state alone changed, by id, packed if the store packs.
    updated: Vec<(String, Option<Vec<u8>>)>,
    /// Accounts written whole (new, or with new aliases).
    rewritten: Vec<AccountState>,
    /// Every state written (`updated`'s among them), as handed over.
    states: Vec<AccountState>,
    /// The JSON of each transaction recorded, if the store keeps JSON (`None`: written whole).
    transaction_bodies: Vec<Option<String>>,
    /// The transactions recorded, as handed over (in `transaction_bodies`' order).
    transactions: Vec<StoredTransaction>,
}

impl Recorded {
    /// Makes the recorded writes in `session`, as the batch would have made them itself. The
    /// states go to the store ([`Session::written_states`]); the rest stays, for the decider,
    /// whose thread made it, to drop (another thread's memory is slower to free, and the
    /// writer is the busier thread).
    pub(super) fn write(&mut self, session: &mut dyn Session) -> Result<(), StoreError> {
        for (promotion, added) in &self.budgets {
            session.add_budget_used(promotion, *added)?;
        }
        if !self.events.is_empty() {
            match &self.event_bodies {
                Some(bodies) => session.push_events_encoded(&self.events, bodies)?,
                None => session.push_events(&self.events)?,
            }
        }
        if !self.journal.is_empty() {
            session.append_journal_encoded(&self.journal, &self.journal_bodies)?;
        }
        if !self.updated.is_empty() {
            let by_id: HashMap<&str, &AccountState> =
                self.states.iter().map(|s| (s.id.as_str(), s)).collect();
            let mut accounts = Vec::with_capacity(self.updated.len());
            let mut packed = Vec::with_capacity(self.updated.len());
            for (id, bytes) in &mut self.updated {
                let state = by_id.get(id.as_str()).ok_or_else(|| {
                    StoreError(format!("account {id} was updated but not handed over"))
                })?;
                accounts.push(*state);
                packed.extend(bytes.take());
            }
            if packed.len() == accounts.len() {
                session.update_accounts_packed(&accounts, &packed)?;
            } else {
                session.update_accounts(&accounts)?;
            }
        }
        for account in &self.rewritten {
            session.put_account(account)?;
        }
        if self.transactions.len() != self.transaction_bodies.len() {
            return Err(StoreError(format!(
                "{} transactions were recorded but {} handed over",
                self.transaction_bodies.len(),
                self.transactions.len()
            )));
        }
        // Runs of transactions whose JSON was written go together; the others one by one.
        let mut encoded: Vec<(&StoredTransaction, &str)> =
            Vec::with_capacity(self.transactions.len());
        for (transaction, body) in self.transactions.iter().zip(&self.transaction_bodies) {
            match body {
                Some(body) => encoded.push((transaction, body)),
                None => {
                    session.put_transactions_encoded(&encoded)?;
                    encoded.clear();
                    session.put_transaction(transaction)?;
                }
            }
        }
        session.put_transactions_encoded(&encoded)?;
        session.written_states(std::mem::take(&mut self.states));
        Ok(())
    }
}

/// What the store can do, as the decider's session must say it: whether it packs states and
/// keeps transactions' JSON (a batch prepares them so on its threads).
#[derive(Debug, Clone, Copy)]
pub(super) struct Abilities {
    pub packer: Option<fn(&AccountState) -> Vec<u8>>,
    pub keeps_json: bool,
}

impl Abilities {
    /// The abilities of the store behind `session`.
    pub(super) fn of(session: &dyn Session) -> Abilities {
        Abilities {
            packer: session.account_packer(),
            keeps_json: session.keeps_json(),
        }
    }
}

/// The decider's session: reads from a [`Prefetch`], writes into a [`Recorded`].
pub(super) struct Recorder {
    read: Prefetch,
    /// How many more times the batch may ask for each account key: an account is handed
    /// over by value when it will not be asked for again, and copied while it may (a batch
    /// asks again for an account it gave back unchanged, after a refusal).
    asks_left: HashMap<String, usize>,
    abilities: Abilities,
    recorded: Recorded,
}

impl Recorder {
    /// A session answering from `read` for deciding `batch`, for a store with `abilities`.
    pub(super) fn new(read: Prefetch, batch: &[Incoming], abilities: Abilities) -> Recorder {
        let mut asks_left: HashMap<String, usize> =
            HashMap::with_capacity_and_hasher(batch.len(), Default::default());
        for incoming in batch {
            *asks_left.entry(incoming.account.clone()).or_default() += 1;
        }
        Recorder {
            read,
            asks_left,
            abilities,
            recorded: Recorded::default(),
        }
    }

    /// The writes made.
    pub(super) fn into_recorded(self) -> Recorded {
        self.recorded
    }
}

/// The error for a read that was not made beforehand: a bug in [`Prefetch::read`], which must
/// read all the ledger asks for; the batch fails rather than be decided without it.
fn unread(what: std::fmt::Arguments<'_>) -> StoreError {
    StoreError(format!("{what} was not read ahead of deciding the batch"))
}

/// The error for what the decider never does (reading beyond its batch, or writing outside
/// one).
fn unsupported(what: &str) -> StoreError {
    StoreError(format!("the pipeline's decider cannot {what}"))
}

impl Session for Recorder {
    fn account(&mut self, id_or_alias: &str) -> Result<Option<AccountState>, StoreError> {
        let last_ask = match self.asks_left.get_mut(id_or_alias) {
            Some(left) if *left > 1 => {
                *left -= 1;
                false
            }
            _ => true,
        };
        let read = if last_ask {
            self.read.accounts.remove(id_or_alias)
        } else {
            self.read.accounts.get(id_or_alias).cloned()
        };
        read.ok_or_else(|| unread(format_args!("account {id_or_alias}")))
    }

    fn account_ids(&mut self, _after: &str, _limit: usize) -> Result<Vec<String>, StoreError> {
        Err(unsupported("list accounts"))
    }

    fn put_account(&mut self, account: &AccountState) -> Result<(), StoreError> {
        self.recorded.rewritten.push(account.clone());
        Ok(())
    }

    fn account_packer(&self) -> Option<fn(&AccountState) -> Vec<u8>> {
        self.abilities.packer
    }

    fn update_accounts_packed(
        &mut self,
        accounts: &[&AccountState],
        packed: &[Vec<u8>],
    ) -> Result<(), StoreError> {
        if accounts.len() != packed.len() {
            return Err(StoreError(format!(
                "{} accounts to update, {} packed",
                accounts.len(),
                packed.len()
            )));
        }
        for (account, bytes) in accounts.iter().zip(packed) {
            self.recorded
                .updated
                .push((account.id.clone(), Some(bytes.clone())));
        }
        Ok(())
    }

    fn update_accounts(&mut self, accounts: &[&AccountState]) -> Result<(), StoreError> {
        match self.abilities.packer {
            Some(pack) => {
                let packed: Vec<Vec<u8>> = accounts.iter().map(|a| pack(a)).collect();
                self.update_accounts_packed(accounts, &packed)
            }
            None => {
                for account in accounts {
                    self.recorded.updated.push((account.id.clone(), None));
                }
                Ok(())
            }
        }
    }

    fn written_states(&mut self, states: Vec<AccountState>) {
        self.recorded.states.extend(states);
    }

    fn written_transactions(&mut self, transactions: Vec<StoredTransaction>) {
        self.recorded.transactions.extend(transactions);
    }

    fn shop(&mut self, id: &str) -> Result<Option<crate::eval::Store>, StoreError> {
        self.read
            .shops
            .get(id)
            .cloned()
            .ok_or_else(|| unread(format_args!("store {id}")))
    }

    fn put_shop(&mut self, _shop: &crate::eval::Store) -> Result<(), StoreError> {
        Err(unsupported("register a store"))
    }

    fn transaction(&mut self, id: &str) -> Result<Option<StoredTransaction>, StoreError> {
        self.read
            .transactions
            .get(id)
            .cloned()
            .ok_or_else(|| unread(format_args!("transaction {id}")))
    }

    fn put_transaction(&mut self, _transaction: &StoredTransaction) -> Result<(), StoreError> {
        self.recorded.transaction_bodies.push(None);
        Ok(())
    }

    fn keeps_json(&self) -> bool {
        self.abilities.keeps_json
    }

    fn put_transaction_encoded(
        &mut self,
        _transaction: &StoredTransaction,
        body: &str,
    ) -> Result<(), StoreError> {
        self.recorded
            .transaction_bodies
            .push(Some(body.to_string()));
        Ok(())
    }

    fn hand_over_transaction(
        &mut self,
        _transaction: &StoredTransaction,
        body: String,
    ) -> Result<(), StoreError> {
        self.recorded.transaction_bodies.push(Some(body));
        Ok(())
    }

    fn budget_used(&mut self, promotion: &str) -> Result<Decimal, StoreError> {
        self.read
            .budgets
            .get(promotion)
            .copied()
            .ok_or_else(|| unread(format_args!("the budget of {promotion}")))
    }

    fn add_budget_used(&mut self, promotion: &str, amount: Decimal) -> Result<(), StoreError> {
        self.recorded.budgets.push((promotion.to_string(), amount));
        Ok(())
    }

    fn journal_head(&mut self) -> Result<Option<(u64, String)>, StoreError> {
        Ok(self.read.journal_head.clone())
    }

    fn append_journal(&mut self, _entries: &[JournalEntry]) -> Result<(), StoreError> {
        // A batch hands its entries over with their JSON, as it sealed them.
        Err(unsupported("append entries without their JSON"))
    }

    fn append_journal_encoded(
        &mut self,
        entries: &[JournalEntry],
        bodies: &[String],
    ) -> Result<(), StoreError> {
        self.recorded.journal.extend_from_slice(entries);
        self.recorded.journal_bodies.extend_from_slice(bodies);
        Ok(())
    }

    fn hand_over_journal(
        &mut self,
        entries: Vec<JournalEntry>,
        bodies: Vec<String>,
    ) -> Result<(), StoreError> {
        if self.recorded.journal.is_empty() {
            self.recorded.journal = entries;
            self.recorded.journal_bodies = bodies;
        } else {
            self.recorded.journal.extend(entries);
            self.recorded.journal_bodies.extend(bodies);
        }
        Ok(())
    }

    fn journal(
        &mut self,
        _account: Option<&str>,
        _after: u64,
        _limit: usize,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        Err(unsupported("read the journal"))
    }

    fn outbox_head(&mut self) -> Result<u64, StoreError> {
        Ok(self.read.outbox_head)
    }

    fn push_events(&mut self, events: &[OutboxEvent]) -> Result<(), StoreError> {
        if self.abilities.keeps_json {
            let bodies = self.recorded.event_bodies.get_or_insert_with(Vec::new);
            for event in events {
                bodies.push(encode(format_args!("outbox event {}", event.seq), event)?);
            }
        }
        self.recorded.events.extend_from_slice(events);
        Ok(())
    }

    fn pending_events(&mut self, _limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        Err(unsupported("read the outbox"))
    }

    fn acknowledge(&mut self, _seq: u64) -> Result<(), StoreError> {
        Err(unsupported("acknowledge events"))
    }
}
