//! The migrated accounts, built from the identity plan and the cutover, and loaded into a
//! ledger: one account per new key, with its customer's profile (the master's, for a person
//! registered twice), every card as a card, every legacy customer id as an alias
//! (`legacy:P001`), one opening lot holding its cards' final balances, and the legacy purchases
//! and refunds as its purchase history (so spend windows and tiers read them from day one).

use super::cutover::Cutover;
use super::export::{ExportFile, Reject};
use super::identity::{Action, IdentityPlan, Party};
use super::repeats::Repeats;
use super::rows::{CardRow, CardStatus, CustomerRow};
use super::scan::{keep_first, read_file, Keys, ProgressOnly};
use super::{MigrateError, Observer};
use crate::eval::{Consent, Customer};
use crate::fast_hash::HashMap;
use crate::ledger::{AccountState, Card, Lot};
use crate::phone::{classify, PhoneClass};
use chrono::{DateTime, FixedOffset};
use history::HistorySpill;
use rlibphonenumber::enums::Region;
use rust_decimal::Decimal;
use std::path::Path;
use std::sync::Arc;

mod history;

/// The alias a legacy customer id becomes (a namespace of its own, apart from card numbers).
pub fn legacy_alias(customer_id: &str) -> String {
    format!("legacy:{customer_id}")
}

/// Accounts built and handed over at a time by [`in_parts`] when loading a whole program: at
/// about a kilobyte each with their purchase history, a quarter of a million is some 250 MiB.
pub const ACCOUNTS_PER_PART: usize = 250_000;

/// Builds the migrated accounts of the export in `folder`, all at once: `plan` says which
/// account each customer and card lands in, `cutover` each card's final balance; `at` is the
/// cutover moment (the opening lots' date). For a small export or a sample; a whole program
/// goes through [`in_parts`].
pub fn accounts(
    folder: &Path,
    region: Region,
    plan: &IdentityPlan,
    cutover: &Cutover,
    at: DateTime<FixedOffset>,
) -> Result<Vec<AccountState>, MigrateError> {
    let mut all = Vec::new();
    let mut quiet = |_: Reject| Ok(());
    in_parts(
        folder,
        region,
        plan,
        cutover,
        at,
        usize::MAX,
        &mut quiet,
        &mut |part| {
            all.extend(part);
            Ok(())
        },
    )?;
    Ok(all)
}

/// Builds the migrated accounts as [`accounts`] does, but `per_part` accounts at a time (in the
/// plan's order), handing each part to `each` before building the next, so memory holds one
/// part whatever the program's size. The purchase history is sorted out to the parts in one
/// pass over the transactions, through a temporary file per part; the customers and cards are
/// read again for each part. `observer` hears how far each pass is (`load transactions.csv`,
/// `load part 2 of 24: cards.csv`); the rows' rejections are the steps' to report, not the
/// load's.
#[allow(clippy::too_many_arguments)]
pub fn in_parts(
    folder: &Path,
    region: Region,
    plan: &IdentityPlan,
    cutover: &Cutover,
    at: DateTime<FixedOffset>,
    per_part: usize,
    observer: &mut dyn Observer,
    each: &mut dyn FnMut(Vec<AccountState>) -> Result<(), MigrateError>,
) -> Result<(), MigrateError> {
    let index = Index::new(plan, cutover);
    let per_part = per_part.max(1);
    let parts = index.keys.len().div_ceil(per_part);
    let mut progress = ProgressOnly::new(observer, "load ");
    let history = HistorySpill::write(folder, &index, per_part, parts, &mut progress)?;
    let customers = Arc::new(Repeats::of(
        folder,
        ExportFile::Customers,
        "customers.csv",
        &mut progress,
    )?);
    let cards = Arc::new(Repeats::of(
        folder,
        ExportFile::Cards,
        "cards.csv",
        &mut progress,
    )?);
    for part in 0..parts {
        let mut progress =
            ProgressOnly::new(&mut progress, format!("part {} of {parts}: ", part + 1));
        let lo = part * per_part;
        let hi = (lo + per_part).min(index.keys.len());
        let mut accounts: Vec<AccountState> = index
            .keys
            .iter()
            .skip(lo)
            .take(hi - lo)
            .map(|key| AccountState {
                id: key.to_string(),
                customer: Customer {
                    id: key.to_string(),
                    ..Customer::default()
                },
                as_of: Some(at),
                ..AccountState::default()
            })
            .collect();
        let in_part = |account: u32| (account as usize).checked_sub(lo).filter(|i| *i < hi - lo);
        for (row, &account) in plan.rows.iter().zip(&index.row_account) {
            if let (Party::Customer, Some(i)) = (row.party, in_part(account)) {
                if let Some(a) = accounts.get_mut(i) {
                    a.aliases.push(legacy_alias(&row.legacy_id));
                }
            }
        }
        let mut reading = Reading {
            folder,
            index: &index,
            in_part: &in_part,
            progress: &mut progress,
        };
        reading.add_profiles(region, at, &customers, &mut accounts)?;
        reading.add_cards(&cards, &mut accounts)?;
        for (a, balance) in accounts.iter_mut().zip(index.balances.iter().skip(lo)) {
            if !balance.is_zero() {
                a.lots.push(Lot::settled(
                    format!("{}#opening", a.id),
                    "legacy balance at cutover".to_string(),
                    *balance,
                    at,
                ));
            }
        }
        history.read(part, |account, entry| {
            if let Some(a) = in_part(account).and_then(|i| accounts.get_mut(i)) {
                a.history.push(entry);
            }
        })?;
        for a in &mut accounts {
            a.history.sort_by_key(|(t, _)| *t);
        }
        each(accounts)?;
    }
    Ok(())
}

/// Where the plan puts everything, by account number (the order of first appearance).
struct Index<'p> {
    /// The accounts' keys.
    keys: indexmap::IndexSet<&'p str, crate::fast_hash::Hasher>,
    /// Each plan row's account.
    row_account: Vec<u32>,
    /// Each placed card's account.
    card_account: HashMap<&'p str, u32>,
    /// The customer whose profile each account takes (its first customer not merged into
    /// another), by customer id.
    profile_account: HashMap<&'p str, u32>,
    /// Each account's final balance: the sum of its cards' at cutover.
    balances: Vec<Decimal>,
}

impl<'p> Index<'p> {
    fn new(plan: &'p IdentityPlan, cutover: &Cutover) -> Index<'p> {
        let mut keys = indexmap::IndexSet::with_hasher(crate::fast_hash::Hasher::default());
        let mut row_account = Vec::with_capacity(plan.rows.len());
        let mut card_account = HashMap::default();
        let mut profile_account = HashMap::default();
        let mut has_profile: Vec<bool> = Vec::new();
        for row in &plan.rows {
            let (at, new) = keys.insert_full(&*row.account);
            if new {
                has_profile.push(false);
            }
            let account = at as u32;
            row_account.push(account);
            match row.party {
                Party::Customer if !matches!(row.action, Action::MergedInto(_)) => {
                    if let Some(has) = has_profile.get_mut(at).filter(|has| !**has) {
                        *has = true;
                        profile_account.insert(&*row.legacy_id, account);
                    }
                }
                Party::Customer => {}
                Party::Card => {
                    card_account.insert(&*row.legacy_id, account);
                }
            }
        }
        // Every card of the cutover is one the plan placed (a card cards.csv lacks is
        // rejected there).
        let mut balances = vec![Decimal::ZERO; keys.len()];
        for card in &cutover.cards {
            let account = card_account.get(&*card.card_no).copied();
            if let Some(b) = account.and_then(|a| balances.get_mut(a as usize)) {
                *b += card.final_balance;
            }
        }
        Index {
            keys,
            row_account,
            card_account,
            profile_account,
            balances,
        }
    }
}

/// One part's reading of the customers and cards: the export, where the plan puts them, which
/// accounts are the part's (their place in it), and who hears the progress.
struct Reading<'r> {
    folder: &'r Path,
    index: &'r Index<'r>,
    in_part: &'r dyn Fn(u32) -> Option<usize>,
    progress: &'r mut dyn Observer,
}

impl Reading<'_> {
    /// Fills in the profile of each account of the part from its customer's row.
    fn add_profiles(
        &mut self,
        region: Region,
        at: DateTime<FixedOffset>,
        repeats: &Arc<Repeats>,
        accounts: &mut [AccountState],
    ) -> Result<(), MigrateError> {
        let (index, in_part) = (self.index, self.in_part);
        let mut keys = Keys::screened(repeats);
        read_file(
            self.folder,
            ExportFile::Customers,
            "customers.csv",
            self.progress,
            |row, p| {
                let c = CustomerRow::read(row)?;
                if !keep_first(&mut keys, "customer_id", c.customer_id, row, p)? {
                    return Ok(());
                }
                let Some(account) = index
                    .profile_account
                    .get(c.customer_id)
                    .and_then(|a| in_part(*a))
                    .and_then(|i| accounts.get_mut(i))
                else {
                    return Ok(());
                };
                let phone = classify(c.phone, region);
                let mut consents = std::collections::BTreeMap::new();
                let given = c.created_at.unwrap_or(at);
                for (channel, flag) in [("sms", c.sms_opt_in), ("email", c.email_opt_in)] {
                    if let Some(granted) = flag {
                        consents.insert(channel.to_string(), Consent { granted, at: given });
                    }
                }
                account.customer = Customer {
                    id: account.id.clone(),
                    name: c.full_name.to_string(),
                    phones: match (phone.class, phone.e164) {
                        (
                            PhoneClass::Mobile | PhoneClass::Foreign | PhoneClass::NotMobile,
                            Some(e164),
                        ) => {
                            vec![e164]
                        }
                        _ => Vec::new(),
                    },
                    email: c.email.to_string(),
                    consents,
                    birth_date: c.birth_date,
                    enrolled_at: c.created_at.map(|t| t.date_naive()),
                    status: c.status.to_string(),
                    attributes: std::collections::BTreeMap::new(),
                };
                Ok(())
            },
        )?;
        Ok(())
    }

    /// Adds each card of the part's accounts, in the order of `cards.csv`.
    fn add_cards(
        &mut self,
        repeats: &Arc<Repeats>,
        accounts: &mut [AccountState],
    ) -> Result<(), MigrateError> {
        let (index, in_part) = (self.index, self.in_part);
        let mut keys = Keys::screened(repeats);
        read_file(
            self.folder,
            ExportFile::Cards,
            "cards.csv",
            self.progress,
            |row, p| {
                let c = CardRow::read(row)?;
                if !keep_first(&mut keys, "card_no", c.card_no, row, p)? {
                    return Ok(());
                }
                if let Some(account) = index
                    .card_account
                    .get(c.card_no)
                    .and_then(|a| in_part(*a))
                    .and_then(|i| accounts.get_mut(i))
                {
                    account.cards.push(Card {
                        number: c.card_no.to_string(),
                        status: match c.status {
                            CardStatus::Active => crate::ledger::CardStatus::Active,
                            CardStatus::Blocked => crate::ledger::CardStatus::Blocked,
                            CardStatus::Lost => crate::ledger::CardStatus::Lost,
                        },
                        issued: c.issued_at.map(|t| t.date_naive()),
                    });
                }
                Ok(())
            },
        )?;
        Ok(())
    }
}
