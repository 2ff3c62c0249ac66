//! The thread that reads ahead for a unit of work: the accounts and transactions a batch will
//! ask for, read and unpacked on a connection of its own while the writer decides the
//! transactions before them, so the writer's thread (the one the ledger's throughput waits
//! on) finds them ready.
//!
//! Why what it reads is what the writer would read: the unit of work holds the database's
//! write lock from its start (`BEGIN IMMEDIATE`) to its commit, and the read ahead starts
//! inside the unit, so the reader's snapshot is the one the unit started from; nobody else can
//! commit meanwhile. What the unit itself writes, the reader does not see: the session forgets
//! what it read ahead of a record as soon as it writes that record ([`Reading::forget`],
//! [`Reading::forget_accounts`]), and asks its own connection again.

use super::super::model::{AccountState, StoredTransaction};
use super::super::store::{StoreError, Upcoming};
use super::{read_account, read_transaction, BUSY_TIMEOUT, CACHE_SIZE};
use crate::fast_hash::{HashMap, HashSet};
use rusqlite::Connection;
use std::path::Path;
use std::sync::mpsc::{channel, Receiver, Sender};

/// Fewer records than this are read by the writer itself: handing them to a thread would cost
/// more than reading them.
const WORTH_READING_AHEAD: usize = 8;

/// A record to read ahead (an owned [`Upcoming`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Transaction(String),
}

/// A record read ahead.
enum Fetched {
    /// An account's state and its newest journal entry (see [`read_account`]).
    Account(Option<(AccountState, Option<i64>)>),
    Transaction(Option<StoredTransaction>),
}

/// The records of one unit to read, and where to send them.
struct Job {
    keys: Vec<Key>,
    results: Sender<(Key, Fetched)>,
}

/// The reading thread, with its own connection to the database file.
#[derive(Debug)]
pub(super) struct Reader {
    /// Jobs for the thread; closed to stop it.
    jobs: Option<Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Reader {
    /// Starts the thread on a new connection to `path`; `None` if it cannot connect (the
    /// writer then reads everything itself).
    pub(super) fn start(path: &Path) -> Option<Reader> {
        let mut connection = Connection::open(path).ok()?;
        connection.busy_timeout(BUSY_TIMEOUT).ok()?;
        // The writer's page cache size: the pages above the accounts, read for every one,
        // stay cached here too.
        connection
            .pragma_update(None, "cache_size", CACHE_SIZE.to_string())
            .ok()?;
        let (jobs, received) = channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("puntos-sqlite-read-ahead".to_string())
            .spawn(move || {
                while let Ok(job) = received.recv() {
                    // A failed read ends the job: the writer reads that record and the rest
                    // itself, and reports the error if it has it too.
                    let _ = read(&mut connection, job);
                }
            })
            .ok()?;
        Some(Reader {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Starts reading `upcoming` (each record once); `None` when there are too few to be
    /// worth it or the thread is gone.
    pub(super) fn read(&self, upcoming: &[Upcoming<'_>]) -> Option<Reading> {
        if upcoming.len() < WORTH_READING_AHEAD {
            return None;
        }
        let mut pending = HashSet::with_capacity_and_hasher(upcoming.len(), Default::default());
        let mut keys = Vec::with_capacity(upcoming.len());
        for record in upcoming {
            let key = match record {
                Upcoming::Account(key) => Key::Account(key.to_string()),
                Upcoming::Transaction(id) => Key::Transaction(id.to_string()),
            };
            if pending.insert(key.clone()) {
                keys.push(key);
            }
        }
        let (results, received) = channel();
        self.jobs.as_ref()?.send(Job { keys, results }).ok()?;
        Some(Reading {
            received,
            pending,
            ready: HashMap::default(),
        })
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads a job's records in one read transaction (one snapshot) and sends each as it is read;
/// stops when the unit no longer wants them (its [`Reading`] dropped).
fn read(connection: &mut Connection, job: Job) -> Result<(), StoreError> {
    let snapshot = connection
        .transaction()
        .map_err(|e| StoreError(format!("starting to read ahead: {e}")))?;
    for key in job.keys {
        let fetched = match &key {
            Key::Account(key) => Fetched::Account(read_account(&snapshot, key)?),
            Key::Transaction(id) => Fetched::Transaction(read_transaction(&snapshot, id)?),
        };
        if job.results.send((key, fetched)).is_err() {
            break;
        }
    }
    // Dropping the transaction rolls it back: it only read.
    Ok(())
}

/// What a unit of work has had read ahead; answers its reads in place of its connection.
pub(super) struct Reading {
    received: Receiver<(Key, Fetched)>,
    /// Records asked for and not yet received (nor forgotten).
    pending: HashSet<Key>,
    /// Records received before the unit asked for them.
    ready: HashMap<Key, Fetched>,
}

impl Reading {
    /// The account `key` (an id or an alias) with its newest journal entry, if it was read
    /// ahead (waiting for the reader when it is still coming); `None`: read it yourself.
    pub(super) fn account(&mut self, key: &str) -> Option<Option<(AccountState, Option<i64>)>> {
        match self.take(Key::Account(key.to_string()))? {
            Fetched::Account(account) => Some(account),
            Fetched::Transaction(_) => None,
        }
    }

    /// The transaction `id`, if it was read ahead; `None`: read it yourself.
    pub(super) fn transaction(&mut self, id: &str) -> Option<Option<StoredTransaction>> {
        match self.take(Key::Transaction(id.to_string()))? {
            Fetched::Transaction(transaction) => Some(transaction),
            Fetched::Account(_) => None,
        }
    }

    /// Forgets what was (or will be) read ahead of transaction `id`: the unit wrote it.
    pub(super) fn forget_transaction(&mut self, id: &str) {
        let key = Key::Transaction(id.to_string());
        self.pending.remove(&key);
        self.ready.remove(&key);
    }

    /// Forgets every account read (or to be read) ahead: the unit wrote accounts, which may
    /// change what an id or alias leads to.
    pub(super) fn forget_accounts(&mut self) {
        self.pending.retain(|key| !matches!(key, Key::Account(_)));
        self.ready.retain(|key, _| !matches!(key, Key::Account(_)));
    }

    /// The record `key`: received already, or awaited if it is still coming.
    fn take(&mut self, key: Key) -> Option<Fetched> {
        if let Some(fetched) = self.ready.remove(&key) {
            return Some(fetched);
        }
        if !self.pending.contains(&key) {
            return None;
        }
        // The reader sends in the order the unit asks, so what it sends first is usually
        // what is wanted; what it sends meanwhile is kept until asked for.
        while let Ok((received, fetched)) = self.received.recv() {
            if !self.pending.remove(&received) {
                // Forgotten while on its way.
                continue;
            }
            if received == key {
                return Some(fetched);
            }
            self.ready.insert(received, fetched);
        }
        // The reader stopped (a failed read): the rest is read by the unit itself.
        self.pending.clear();
        None
    }
}
