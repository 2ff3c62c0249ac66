//! The journal read back: every lot's points rebuilt from the entries alone, for audits that
//! must not trust the stored account state (after a restore, a migration, a suspected bug):
//! what the journal says each lot holds must be what the account says it holds.
//!
//! Each entry changes the lot it names: `earn` and `opening` create it, `redeem`, `expire`,
//! `reverse` and `adjust` take from or add to its remainder (an expiry and a reversal also
//! count what they took), `return` puts redeemed points back, and `activate` only marks pending
//! points available. A reversal naming a lot the journal never created is a debt lot (a refund
//! of a purchase older than this ledger). Entries without a lot change the account's balance
//! outside any lot.

use super::model::{AccountState, EntryKind, JournalEntry, Lot};
use super::store::{Store, StoreError};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// One lot as the journal tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedLot {
    /// The lot's id.
    pub id: String,
    /// Points it was created with (negative for a debt).
    pub points: Decimal,
    /// Points left.
    pub remaining: Decimal,
    /// Points that expired from it.
    pub expired: Decimal,
    /// Points taken back from it by refunds.
    pub reversed: Decimal,
}

impl ReplayedLot {
    /// The same figures of a stored lot, to compare with.
    pub fn of(lot: &Lot) -> ReplayedLot {
        ReplayedLot {
            id: lot.id.clone(),
            points: lot.points,
            remaining: lot.remaining,
            expired: lot.expired,
            reversed: lot.reversed,
        }
    }
}

/// One account as the journal tells it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplayedAccount {
    /// Its lots, in the order they were created.
    pub lots: Vec<ReplayedLot>,
    /// Points of entries that name no lot.
    pub outside_lots: Decimal,
}

impl ReplayedAccount {
    /// The balance the journal gives: lot remainders and points outside lots.
    pub fn balance(&self) -> Decimal {
        self.lots.iter().map(|l| l.remaining).sum::<Decimal>() + self.outside_lots
    }

    /// The differences between what the journal says and what `state` holds, in words; empty
    /// when they agree lot by lot.
    pub fn differences(&self, state: &AccountState) -> Vec<String> {
        let mut found = Vec::new();
        let stored: Vec<ReplayedLot> = state.lots.iter().map(ReplayedLot::of).collect();
        for lot in &self.lots {
            match stored.iter().find(|s| s.id == lot.id) {
                None => found.push(format!("lot {} is in the journal only", lot.id)),
                Some(s) if s != lot => {
                    found.push(format!("lot {}: journal {lot:?}, stored {s:?}", lot.id));
                }
                Some(_) => {}
            }
        }
        for lot in &stored {
            if !self.lots.iter().any(|l| l.id == lot.id) {
                found.push(format!("lot {} is in the account only", lot.id));
            }
        }
        if !self.outside_lots.is_zero() {
            found.push(format!(
                "{} points in entries that name no lot",
                self.outside_lots
            ));
        }
        found
    }
}

/// Rebuilds every account the entries concern, by account id. Entries must be in journal order.
pub fn replay(entries: &[JournalEntry]) -> BTreeMap<String, ReplayedAccount> {
    let mut accounts = BTreeMap::new();
    entries.iter().for_each(|e| add(&mut accounts, e));
    accounts
}

/// Applies one entry to the accounts rebuilt so far.
fn add(accounts: &mut BTreeMap<String, ReplayedAccount>, entry: &JournalEntry) {
    let account = accounts.entry(entry.account.clone()).or_default();
    let Some(lot_id) = &entry.lot else {
        account.outside_lots += entry.points;
        return;
    };
    let position = account.lots.iter().position(|l| l.id == *lot_id);
    let lot = match (position, entry.kind) {
        (Some(i), _) => account.lots.get_mut(i),
        (None, EntryKind::Earn | EntryKind::Opening | EntryKind::Reverse) => {
            // A reversal creating its lot is a debt: the lot's own (negative) points.
            account.lots.push(ReplayedLot {
                id: lot_id.clone(),
                points: entry.points,
                remaining: entry.points,
                expired: Decimal::ZERO,
                reversed: Decimal::ZERO,
            });
            return;
        }
        (None, _) => {
            account.outside_lots += entry.points;
            return;
        }
    };
    let Some(lot) = lot else { return };
    lot.remaining += entry.points;
    match entry.kind {
        EntryKind::Expire => lot.expired -= entry.points,
        EntryKind::Reverse => lot.reversed -= entry.points,
        _ => {}
    }
}

/// What [`audit`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Audit {
    /// Accounts rebuilt from the journal and compared.
    pub accounts: usize,
    /// Each difference: the account and what differs.
    pub differences: Vec<(String, String)>,
}

/// Journal entries read per page.
const PAGE: usize = 1000;

/// Rebuilds every account of a store from its whole journal and compares each with the stored
/// state, lot by lot. The rebuilt lots are held in memory (a few hundred bytes per lot).
pub fn audit<S: Store>(store: &mut S) -> Result<Audit, StoreError> {
    store.atomically(|session| {
        let mut accounts = BTreeMap::new();
        let mut after = 0u64;
        loop {
            let page = session.journal(None, after, PAGE)?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            page.iter().for_each(|e| add(&mut accounts, e));
        }
        let mut audit = Audit {
            accounts: accounts.len(),
            differences: Vec::new(),
        };
        for (id, rebuilt) in accounts {
            match session.account(&id)? {
                Some(state) => audit.differences.extend(
                    rebuilt
                        .differences(&state)
                        .into_iter()
                        .map(|d| (id.clone(), d)),
                ),
                None => audit.differences.push((
                    id,
                    "the journal names it; the store has no such account".into(),
                )),
            }
        }
        Ok(audit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: EntryKind, lot: Option<&str>, points: i64) -> JournalEntry {
        JournalEntry {
            seq: 0,
            account: "A".to_string(),
            at: chrono::DateTime::parse_from_rfc3339("2026-03-01T10:00:00+03:00").unwrap(),
            transaction: None,
            kind,
            lot: lot.map(str::to_string),
            points: Decimal::from(points),
            note: String::new(),
            previous: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn each_kind_of_entry_changes_its_lot() {
        let entries = [
            entry(EntryKind::Earn, Some("T-1#0"), 100),
            entry(EntryKind::Activate, Some("T-1#0"), 0),
            entry(EntryKind::Redeem, Some("T-1#0"), -30),
            entry(EntryKind::Return, Some("T-1#0"), 10),
            entry(EntryKind::Reverse, Some("T-1#0"), -20),
            entry(EntryKind::Expire, Some("T-1#0"), -60),
            entry(EntryKind::Reverse, Some("R-9#reversal-1"), -15),
        ];
        let accounts = replay(&entries);
        let account = accounts.get("A").unwrap();
        assert_eq!(
            account.lots,
            [
                ReplayedLot {
                    id: "T-1#0".to_string(),
                    points: Decimal::from(100),
                    remaining: Decimal::ZERO,
                    expired: Decimal::from(60),
                    reversed: Decimal::from(20),
                },
                ReplayedLot {
                    id: "R-9#reversal-1".to_string(),
                    points: Decimal::from(-15),
                    remaining: Decimal::from(-15),
                    expired: Decimal::ZERO,
                    reversed: Decimal::ZERO,
                },
            ]
        );
        assert_eq!(account.balance(), Decimal::from(-15));
    }

    #[test]
    fn a_stored_lot_that_disagrees_is_named() {
        let accounts = replay(&[entry(EntryKind::Earn, Some("T-1#0"), 100)]);
        let mut state = AccountState::default();
        let replayed = accounts.get("A").unwrap();
        assert_eq!(
            replayed.differences(&state),
            ["lot T-1#0 is in the journal only"]
        );
        state.lots.push(Lot {
            id: "T-1#0".to_string(),
            source: String::new(),
            points: Decimal::from(100),
            remaining: Decimal::from(90),
            earned_at: chrono::DateTime::parse_from_rfc3339("2026-03-01T10:00:00+03:00").unwrap(),
            available_at: None,
            expires_at: None,
            expired: Decimal::ZERO,
            reversed: Decimal::ZERO,
            pending: false,
            expiry_notified: false,
        });
        let differences = replayed.differences(&state);
        assert_eq!(differences.len(), 1);
        assert!(
            differences[0].starts_with("lot T-1#0: journal"),
            "{differences:?}"
        );
    }
}
