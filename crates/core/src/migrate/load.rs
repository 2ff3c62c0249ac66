//! The migrated accounts, built from the identity plan and the cutover, and loaded into a
//! ledger: one account per new key, with its customer's profile (the master's, for a person
//! registered twice), every card as a card, every legacy customer id as an alias
//! (`legacy:P001`), one opening lot holding its cards' final balances, and the legacy purchases
//! and refunds as its purchase history (so spend windows and tiers read them from day one).

use super::cutover::Cutover;
use super::export::{ExportFile, Reject};
use super::identity::{Action, IdentityPlan, Party};
use super::rows::{CardRow, CardStatus, CustomerRow};
use super::scan::{keep_first, read_file, Keys, ProgressOnly};
use super::{MigrateError, Observer};
use crate::eval::{Consent, Customer};
use crate::fast_hash::HashMap;
use crate::ledger::{AccountState, Card, Lot};
use crate::phone::{classify, PhoneClass};
use crate::program::Name;
use chrono::{DateTime, FixedOffset};
use rlibphonenumber::enums::Region;
use rust_decimal::Decimal;
use spill::{Kind, Spill};
use std::path::Path;

mod spill;

/// The alias a legacy customer id becomes (a namespace of its own, apart from card numbers).
pub fn legacy_alias(customer_id: &str) -> String {
    format!("legacy:{customer_id}")
}

/// Accounts built and handed over at a time by [`in_parts`] when loading a whole program: at
/// about a kilobyte and a half each with their purchase history, some 150 MiB. Smaller parts
/// cost little more: every file is read once whatever their number.
pub const ACCOUNTS_PER_PART: usize = 100_000;

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
    let index = Index::new(plan, cutover, usize::MAX);
    let mut all = Vec::new();
    let mut quiet = |_: Reject| Ok(());
    build(folder, region, index, at, &mut quiet, &mut |part| {
        all.extend(part);
        Ok(())
    })?;
    Ok(all)
}

/// Builds the migrated accounts as [`accounts`] does, but `per_part` accounts at a time (in the
/// plan's order), handing each part to `each` before building the next, so memory holds one
/// part whatever the program's size. Each legacy file is read once: what each account needs
/// of it (purchase history, profile, cards) is sorted out to the parts through temporary
/// files, and each part reads back only its own. `observer` hears how far each pass is
/// (`load transactions.csv`); the rows' rejections are the steps' to report, not the load's.
/// The plan and the cutover are taken and freed once what the load needs of them is drawn
/// out (at 6 million cards they hold some 1.5 GB).
#[allow(clippy::too_many_arguments)]
pub fn in_parts(
    folder: &Path,
    region: Region,
    plan: IdentityPlan,
    cutover: Cutover,
    at: DateTime<FixedOffset>,
    per_part: usize,
    observer: &mut dyn Observer,
    each: &mut dyn FnMut(Vec<AccountState>) -> Result<(), MigrateError>,
) -> Result<(), MigrateError> {
    let index = Index::new(&plan, &cutover, per_part);
    drop((plan, cutover));
    build(folder, region, index, at, observer, each)
}

/// Builds the accounts `index` describes, a part at a time (see [`in_parts`]).
fn build(
    folder: &Path,
    region: Region,
    index: Index,
    at: DateTime<FixedOffset>,
    observer: &mut dyn Observer,
    each: &mut dyn FnMut(Vec<AccountState>) -> Result<(), MigrateError>,
) -> Result<(), MigrateError> {
    let (per_part, parts) = (index.per_part, index.parts());
    let part_of = |account: u32| account as usize / per_part;
    let mut progress = ProgressOnly::new(observer, "load ");
    let spill = Spill::new(parts)?;
    spill.history(folder, &index, part_of, &mut progress)?;
    spill.values(Kind::Profiles, part_of, |put| {
        profiles(folder, region, at, &index, &mut progress, put)
    })?;
    spill.values(Kind::Cards, part_of, |put| {
        cards(folder, &index, &mut progress, put)
    })?;
    // The next part is built on the second core while `each` writes the current one; at most
    // one finished part waits. If `each` fails, the builder stops at its next hand-over.
    std::thread::scope(|scope| {
        let (parts_out, parts_in) = std::sync::mpsc::sync_channel(1);
        let (spill, index) = (&spill, &index);
        scope.spawn(move || {
            for part in 0..parts {
                let built = build_part(spill, index, part, at);
                let failed = built.is_err();
                if parts_out.send(built).is_err() || failed {
                    break;
                }
            }
        });
        for built in parts_in {
            each(built?)?;
        }
        Ok(())
    })
}

/// Builds the accounts of `part` from the index and what the spill holds for it.
fn build_part(
    spill: &Spill,
    index: &Index,
    part: usize,
    at: DateTime<FixedOffset>,
) -> Result<Vec<AccountState>, MigrateError> {
    let lo = part * index.per_part;
    let hi = (lo + index.per_part).min(index.keys.len());
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
    let slot = |account: u32| (account as usize).checked_sub(lo).filter(|i| *i < hi - lo);
    for (account, customer) in index.aliases.get(part).into_iter().flatten() {
        if let Some(a) = slot(*account).and_then(|i| accounts.get_mut(i)) {
            a.aliases.push(legacy_alias(customer));
        }
    }
    spill.read_values(Kind::Profiles, part, |account, mut customer: Customer| {
        if let Some(a) = slot(account).and_then(|i| accounts.get_mut(i)) {
            customer.id = a.id.clone();
            a.customer = customer;
        }
    })?;
    spill.read_values(Kind::Cards, part, |account, card: Card| {
        if let Some(a) = slot(account).and_then(|i| accounts.get_mut(i)) {
            a.cards.push(card);
        }
    })?;
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
    spill.read_history(part, |account, entry| {
        if let Some(a) = slot(account).and_then(|i| accounts.get_mut(i)) {
            a.history.push(entry);
        }
    })?;
    for a in &mut accounts {
        a.history.sort_by_key(|(t, _)| *t);
    }
    Ok(accounts)
}

/// Where the plan puts everything, by account number (the order of first appearance): what a
/// load needs of the plan and the cutover, which can then be freed.
struct Index {
    /// The accounts' keys.
    keys: indexmap::IndexSet<Name, crate::fast_hash::Hasher>,
    /// Accounts a part holds.
    per_part: usize,
    /// Each part's legacy customers, with their accounts, in the plan's order.
    aliases: Vec<Vec<(u32, Name)>>,
    /// Each placed card's account.
    card_account: HashMap<Name, u32>,
    /// The customer whose profile each account takes (its first customer not merged into
    /// another), by customer id.
    profile_account: HashMap<Name, u32>,
    /// Each account's final balance: the sum of its cards' at cutover.
    balances: Vec<Decimal>,
}

impl Index {
    /// The parts the accounts fall into (each has its list of aliases, empty or not).
    fn parts(&self) -> usize {
        self.aliases.len()
    }

    fn new(plan: &IdentityPlan, cutover: &Cutover, per_part: usize) -> Index {
        let per_part = per_part.max(1);
        let mut keys = indexmap::IndexSet::with_hasher(crate::fast_hash::Hasher::default());
        let mut customers: Vec<(u32, Name)> = Vec::new();
        let mut card_account = HashMap::default();
        let mut profile_account = HashMap::default();
        let mut has_profile: Vec<bool> = Vec::new();
        for row in &plan.rows {
            let (at, new) = keys.insert_full(Name::clone(&row.account));
            if new {
                has_profile.push(false);
            }
            let account = at as u32;
            match row.party {
                Party::Customer => {
                    customers.push((account, Name::clone(&row.legacy_id)));
                    let merged = matches!(row.action, Action::MergedInto(_));
                    if let Some(has) = has_profile.get_mut(at).filter(|has| !**has && !merged) {
                        *has = true;
                        profile_account.insert(Name::clone(&row.legacy_id), account);
                    }
                }
                Party::Card => {
                    card_account.insert(Name::clone(&row.legacy_id), account);
                }
            }
        }
        let mut aliases: Vec<Vec<(u32, Name)>> = (0..keys.len().div_ceil(per_part))
            .map(|_| Vec::new())
            .collect();
        for (account, customer) in customers {
            if let Some(part) = aliases.get_mut(account as usize / per_part) {
                part.push((account, customer));
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
            per_part,
            aliases,
            card_account,
            profile_account,
            balances,
        }
    }
}

/// Reads each account's profile from its customer's row (the first customer of the account
/// not merged into another), handing it to `put` with the account's number.
fn profiles(
    folder: &Path,
    region: Region,
    at: DateTime<FixedOffset>,
    index: &Index,
    progress: &mut dyn Observer,
    put: &mut dyn FnMut(u32, &Customer),
) -> Result<(), MigrateError> {
    let mut keys = Keys::of(folder, ExportFile::Customers, "customers.csv", progress)?;
    read_file(
        folder,
        ExportFile::Customers,
        "customers.csv",
        progress,
        |row, p| {
            let c = CustomerRow::read(row)?;
            if !keep_first(&mut keys, "customer_id", c.customer_id, row, p)? {
                return Ok(());
            }
            let Some(&account) = index.profile_account.get(c.customer_id) else {
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
            let customer = Customer {
                // The account's key, set when the part is built.
                id: String::new(),
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
            put(account, &customer);
            Ok(())
        },
    )?;
    Ok(())
}

/// Reads each placed card, in the order of `cards.csv`, handing it to `put` with its account's
/// number.
fn cards(
    folder: &Path,
    index: &Index,
    progress: &mut dyn Observer,
    put: &mut dyn FnMut(u32, &Card),
) -> Result<(), MigrateError> {
    let mut keys = Keys::of(folder, ExportFile::Cards, "cards.csv", progress)?;
    read_file(
        folder,
        ExportFile::Cards,
        "cards.csv",
        progress,
        |row, p| {
            let c = CardRow::read(row)?;
            if !keep_first(&mut keys, "card_no", c.card_no, row, p)? {
                return Ok(());
            }
            if let Some(&account) = index.card_account.get(c.card_no) {
                let card = Card {
                    number: c.card_no.to_string(),
                    status: match c.status {
                        CardStatus::Active => crate::ledger::CardStatus::Active,
                        CardStatus::Blocked => crate::ledger::CardStatus::Blocked,
                        CardStatus::Lost => crate::ledger::CardStatus::Lost,
                    },
                    issued: c.issued_at.map(|t| t.date_naive()),
                };
                put(account, &card);
            }
            Ok(())
        },
    )?;
    Ok(())
}
