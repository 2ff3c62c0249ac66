//! Where the identity plan puts each card, looked up by number: its new account, numbered in
//! order of first appearance in the plan. Built once from the plan and shared by whatever needs
//! a card's account: the machine files (a card's account key), the cutover sorting the purchase
//! history out to the load's parts, and the load itself.

use super::identity::{IdentityPlan, Party};
use crate::fast_hash::{HashMap, Hasher};
use crate::program::Name;
use indexmap::IndexSet;

/// The plan's accounts and each placed card's account.
#[derive(Debug, Default)]
pub struct Placement {
    /// The accounts' keys, in order of first appearance in the plan's rows (customers in file
    /// order, then cards): an account's number is its place here.
    accounts: IndexSet<Name, Hasher>,
    /// Each placed card's account number.
    cards: HashMap<Name, u32>,
}

impl Placement {
    /// Numbers the plan's accounts and places its cards.
    pub fn of(plan: &IdentityPlan) -> Placement {
        // Sized once: at millions of entries, growing them holds the old and new tables.
        let cards = plan.rows.iter().filter(|r| r.party == Party::Card).count();
        let accounts = usize::try_from(plan.accounts).unwrap_or(0);
        let mut placement = Placement {
            accounts: IndexSet::with_capacity_and_hasher(accounts, Hasher::default()),
            cards: HashMap::with_capacity_and_hasher(cards, Hasher::default()),
        };
        for row in &plan.rows {
            let (number, _) = placement.accounts.insert_full(Name::clone(&row.account));
            if row.party == Party::Card {
                placement
                    .cards
                    .insert(Name::clone(&row.legacy_id), number as u32);
            }
        }
        placement
    }

    /// The key of the account `card` lands in; `None` for a card the plan did not place.
    pub fn account_of(&self, card: &str) -> Option<&Name> {
        self.accounts.get_index(self.card_account(card)? as usize)
    }

    /// The number of the account `card` lands in.
    pub(super) fn card_account(&self, card: &str) -> Option<u32> {
        self.cards.get(card).copied()
    }

    /// The number of the account keyed `key`.
    pub(super) fn account_number(&self, key: &str) -> Option<u32> {
        self.accounts.get_index_of(key).map(|n| n as u32)
    }

    /// The accounts' keys, by number.
    pub(super) fn accounts(&self) -> &IndexSet<Name, Hasher> {
        &self.accounts
    }

    /// The accounts.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// Whether the plan has no account.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }
}
