//! Account states kept in memory between units of work, so an account seen again in a later
//! batch is not read back from the file and unpacked (at 100,000 customers that reading was
//! about a fifth of the process's work, BENCHMARKS.md).
//!
//! Only states this store wrote and committed are kept, and only while no other connection has
//! written the file: each unit of work compares SQLite's `data_version` (which moves when
//! another connection commits) with the one the states were kept under, and starts again empty
//! when it moved. Within a unit, a state is taken out when it is read and forgotten when it is
//! written; what the unit wrote joins the cache only once it commits, so a unit that fails
//! leaves nothing but states it never touched.
//!
//! A state is found by the keys the store itself resolved to it (its id, its aliases, as the
//! unit asked for it), never guessed from the state: an alias and an id may be spelled alike,
//! and only the store's lookup says which wins. Writing an account forgets every key that may
//! now lead elsewhere: the account's own, and its aliases.

use super::super::model::AccountState;
use crate::fast_hash::HashMap;

/// Accounts kept at most; past it the cache starts again empty (about 2 KB an account, so at
/// most some hundreds of megabytes; a program with more active accounts reads the rest from the
/// file, as without a cache).
const CAPACITY: usize = 200_000;

/// An account's state as last committed, with its newest journal entry and the keys found it.
#[derive(Debug)]
struct Kept {
    state: AccountState,
    newest: Option<i64>,
    keys: Vec<String>,
}

/// Account states kept between units of work (see the [module](self)).
#[derive(Debug, Default)]
pub(super) struct AccountCache {
    /// By account id.
    accounts: HashMap<String, Kept>,
    /// Each key (id or alias) the store resolved to a kept account, to the account's id.
    keys: HashMap<String, String>,
    /// SQLite's `data_version` the states were kept under.
    version: Option<i64>,
}

impl AccountCache {
    /// Starts a unit of work on a file whose `data_version` is `version`: everything is dropped
    /// if another connection has committed since the states were kept. Says whether nobody
    /// had (false for the first unit, which has nothing to compare with).
    pub(super) fn check(&mut self, version: i64) -> bool {
        if self.version == Some(version) {
            return true;
        }
        self.clear();
        self.version = Some(version);
        false
    }

    /// Whether `key` leads to a kept state.
    pub(super) fn contains(&self, key: &str) -> bool {
        self.keys.contains_key(key)
    }

    /// Takes out the state `key` leads to, with its newest journal entry and the keys that
    /// lead to it.
    pub(super) fn take(&mut self, key: &str) -> Option<(AccountState, Option<i64>, Vec<String>)> {
        let id = self.keys.get(key)?.clone();
        self.remove(&id)
    }

    /// Forgets what a write of `account` may have made untrue: its state, and its aliases as
    /// keys of any other account.
    pub(super) fn forget(&mut self, account: &AccountState) {
        self.remove(&account.id);
        for alias in &account.aliases {
            self.keys.remove(alias);
        }
    }

    /// Keeps a committed state, found by `keys`, with its newest journal entry.
    pub(super) fn keep(&mut self, state: AccountState, newest: Option<i64>, keys: Vec<String>) {
        if keys.is_empty() {
            return;
        }
        if self.accounts.len() >= CAPACITY {
            self.clear();
        }
        self.remove(&state.id);
        for key in &keys {
            if let Some(previous) = self.keys.insert(key.clone(), state.id.clone()) {
                if previous != state.id {
                    // The key led to another account once; it leads here now.
                    self.remove(&previous);
                }
            }
        }
        let id = state.id.clone();
        self.accounts.insert(
            id,
            Kept {
                state,
                newest,
                keys,
            },
        );
    }

    /// Drops everything (the file changed under the cache, or was rebuilt).
    pub(super) fn clear(&mut self) {
        self.accounts.clear();
        self.keys.clear();
    }

    fn remove(&mut self, id: &str) -> Option<(AccountState, Option<i64>, Vec<String>)> {
        let kept = self.accounts.remove(id)?;
        for key in &kept.keys {
            if self.keys.get(key).is_some_and(|owner| owner == id) {
                self.keys.remove(key);
            }
        }
        Some((kept.state, kept.newest, kept.keys))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, aliases: &[&str]) -> AccountState {
        AccountState::reached_by(id, aliases)
    }

    fn keys(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|k| k.to_string()).collect()
    }

    #[test]
    fn a_state_is_found_by_the_keys_that_found_it_and_taken_out() {
        let mut cache = AccountCache::default();
        cache.check(1);
        cache.keep(account("A", &["card-1"]), Some(7), keys(&["card-1"]));
        assert!(cache.contains("card-1"));
        // Never by a key the store did not resolve: its id might be another account's alias.
        assert!(!cache.contains("A"));
        let (state, newest, found_by) = cache.take("card-1").unwrap();
        assert_eq!(
            (state.id.as_str(), newest, found_by),
            ("A", Some(7), keys(&["card-1"]))
        );
        assert!(!cache.contains("card-1"));
    }

    #[test]
    fn writing_an_account_forgets_its_aliases_as_keys_of_others() {
        let mut cache = AccountCache::default();
        cache.check(1);
        cache.keep(account("A", &[]), None, keys(&["A", "X"]));
        cache.keep(account("B", &[]), None, keys(&["B"]));
        // B now holds the alias X: X may lead to B.
        cache.forget(&account("B", &["X"]));
        assert!(!cache.contains("X") && !cache.contains("B"));
        assert!(cache.contains("A"));
        // A key kept for a new account takes it from the old one, whose state goes.
        cache.keep(account("C", &[]), None, keys(&["A"]));
        assert_eq!(cache.take("A").unwrap().0.id, "C");
        assert!(cache.accounts.is_empty() && cache.keys.is_empty());
    }

    #[test]
    fn another_connections_commit_drops_everything() {
        let mut cache = AccountCache::default();
        cache.check(1);
        cache.keep(account("A", &[]), None, keys(&["A"]));
        cache.check(1);
        assert!(cache.contains("A"));
        cache.check(2);
        assert!(!cache.contains("A"));
    }
}
