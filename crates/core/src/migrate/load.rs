//! The migrated accounts, built from the identity plan and the cutover, and loaded into a
//! ledger: one account per new key, with its customer's profile (the master's, for a person
//! registered twice), every card as a card, every legacy customer id as an alias
//! (`legacy:P001`), one opening lot holding its cards' final balances, and the legacy purchases
//! and refunds as its purchase history (so spend windows and tiers read them from day one).

use super::cutover::Cutover;
use super::export::{ExportFile, Reject};
use super::identity::{Action, IdentityPlan, Party};
use super::placement::Placement;
use super::rows::{CardRow, CardStatus, CustomerRow, TxKind, TxRow};
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
use spill::{Kind, PartWriters, Spill};
use std::path::Path;
use std::sync::Arc;

mod spill;

/// The alias a legacy customer id becomes (a namespace of its own, apart from card numbers).
pub fn legacy_alias(customer_id: &str) -> String {
    format!("legacy:{customer_id}")
}

/// Accounts built and handed over at a time by [`in_parts`] when loading a whole program: at
/// about a kilobyte and a half each with their purchase history, some 150 MiB. Smaller parts
/// cost little more: every file is read once whatever their number.
pub const ACCOUNTS_PER_PART: usize = 100_000;

/// What a load needs ready before the cutover reads the history: where the plan puts each card
/// ([`Placement`]), and the purchase history sorted out to the load's parts as the cutover
/// reads it (each purchase and refund it keeps: the history's first occurrences and the
/// delta's rows it applies), so that the load does not read the transactions again. Made from
/// the plan by [`Staging::new`], filled by [`crate::migrate::cutover::cutover_staged`] (or a
/// run), used up by [`in_parts`].
#[derive(Debug)]
pub struct Staging {
    placement: Arc<Placement>,
    per_part: usize,
    spill: Spill,
    history: PartWriters,
}

impl Staging {
    /// Ready to load the accounts of `plan`, `per_part` at a time (at least one; `usize::MAX`:
    /// all at once).
    pub fn new(plan: &IdentityPlan, per_part: usize) -> Result<Staging, MigrateError> {
        let per_part = per_part.max(1);
        let placement = Arc::new(Placement::of(plan));
        let spill = Spill::new(placement.len().div_ceil(per_part))?;
        let history = spill.writers(Kind::History)?;
        Ok(Staging {
            placement,
            per_part,
            spill,
            history,
        })
    }

    /// Where the plan puts each card.
    pub fn placement(&self) -> &Placement {
        &self.placement
    }

    /// [`Staging::placement`], shared (the steps tell a card of `cards.csv` by it).
    pub(super) fn shared_placement(&self) -> Arc<Placement> {
        Arc::clone(&self.placement)
    }

    /// What the load needs of the plan and the cutover, drawn out (they can be freed then), and
    /// the history written out.
    fn into_index(
        self,
        plan: &IdentityPlan,
        cutover: &Cutover,
    ) -> Result<(Index, Spill), MigrateError> {
        self.history.finish()?;
        Ok((
            Index::new(plan, self.placement, cutover, self.per_part),
            self.spill,
        ))
    }

    /// Takes a transaction the cutover keeps: a purchase or refund (with its amount) of a
    /// placed card is written to its account's part (`account`: the card's account number,
    /// when the caller has looked it up already).
    pub(super) fn history(&mut self, t: &TxRow<'_>, account: Option<u32>) {
        let sign = match t.kind {
            TxKind::Purchase => Decimal::ONE,
            TxKind::Refund => Decimal::NEGATIVE_ONE,
            _ => return,
        };
        let account = account.or_else(|| self.placement.card_account(t.card_no));
        if let (Some(account), Some(amount)) = (account, t.amount) {
            let part = account as usize / self.per_part;
            self.history
                .write_entry(part, account, (t.occurred_at, sign * amount));
        }
    }
}

/// Builds the migrated accounts of the export in `folder`, all at once: `plan` says which
/// account each customer and card lands in, `cutover` each card's final balance, `staging`
/// holds their purchase history (made for parts of any size: they are gathered); `at` is the
/// cutover moment (the opening lots' date). For a small export or a sample; a whole program
/// goes through [`in_parts`].
pub fn accounts(
    folder: &Path,
    region: Region,
    plan: &IdentityPlan,
    cutover: &Cutover,
    staging: Staging,
    at: DateTime<FixedOffset>,
) -> Result<Vec<AccountState>, MigrateError> {
    let (index, spill) = staging.into_index(plan, cutover)?;
    let mut all = Vec::new();
    let mut quiet = |_: Reject| Ok(());
    build(folder, region, index, spill, at, &mut quiet, &mut |part| {
        all.extend(part);
        Ok(())
    })?;
    Ok(all)
}

/// Builds the migrated accounts as [`accounts`] does, but a part at a time (as many accounts as
/// `staging` was made for, in the plan's order), handing each part to `each` before building
/// the next, so memory holds one part whatever the program's size. The purchase history comes
/// sorted out to the parts by the cutover (`staging`); the profiles and the cards are sorted
/// out likewise, each file read once, and each part reads back only its own. `observer` hears
/// how far each pass is (`load customers.csv`); the rows' rejections are the steps' to report,
/// not the load's. The plan and the cutover are taken and freed once what the load needs of
/// them is drawn out (at 6 million cards they hold some 1.5 GB).
#[allow(clippy::too_many_arguments)]
pub fn in_parts(
    folder: &Path,
    region: Region,
    plan: IdentityPlan,
    cutover: Cutover,
    staging: Staging,
    at: DateTime<FixedOffset>,
    observer: &mut dyn Observer,
    each: &mut dyn FnMut(Vec<AccountState>) -> Result<(), MigrateError>,
) -> Result<(), MigrateError> {
    let (index, spill) = staging.into_index(&plan, &cutover)?;
    drop((plan, cutover));
    build(folder, region, index, spill, at, observer, each)
}

/// Builds the accounts `index` describes, a part at a time (see [`in_parts`]); `spill` holds
/// their purchase history already.
fn build(
    folder: &Path,
    region: Region,
    index: Index,
    spill: Spill,
    at: DateTime<FixedOffset>,
    observer: &mut dyn Observer,
    each: &mut dyn FnMut(Vec<AccountState>) -> Result<(), MigrateError>,
) -> Result<(), MigrateError> {
    let (per_part, parts) = (index.per_part, index.parts());
    let part_of = |account: u32| account as usize / per_part;
    let mut progress = ProgressOnly::new(observer, "load ");
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
    let hi = (lo + index.per_part).min(index.placement.len());
    let mut accounts: Vec<AccountState> = index
        .placement
        .accounts()
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
        crate::ledger::model::in_time_order(&mut a.history);
    }
    Ok(accounts)
}

/// Where the plan puts everything, by account number (see [`Placement`]): what a load needs of
/// the plan and the cutover, which can then be freed.
struct Index {
    /// The accounts and each placed card's account.
    placement: Arc<Placement>,
    /// Accounts a part holds.
    per_part: usize,
    /// Each part's legacy customers, with their accounts, in the plan's order.
    aliases: Vec<Vec<(u32, Name)>>,
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

    fn new(
        plan: &IdentityPlan,
        placement: Arc<Placement>,
        cutover: &Cutover,
        per_part: usize,
    ) -> Index {
        let per_part = per_part.max(1);
        let accounts = placement.len();
        let mut aliases: Vec<Vec<(u32, Name)>> = (0..accounts.div_ceil(per_part))
            .map(|_| Vec::new())
            .collect();
        let mut profile_account = HashMap::default();
        let mut has_profile = vec![false; accounts];
        let customers = plan.rows.iter().filter(|r| r.party == Party::Customer);
        for row in customers {
            let Some(account) = placement.account_number(&row.account) else {
                continue;
            };
            if let Some(part) = aliases.get_mut(account as usize / per_part) {
                part.push((account, Name::clone(&row.legacy_id)));
            }
            let merged = matches!(row.action, Action::MergedInto(_));
            if let Some(has) = has_profile
                .get_mut(account as usize)
                .filter(|has| !**has && !merged)
            {
                *has = true;
                profile_account.insert(Name::clone(&row.legacy_id), account);
            }
        }
        // Every card of the cutover is one the plan placed (a card cards.csv lacks is
        // rejected there).
        let mut balances = vec![Decimal::ZERO; accounts];
        for card in &cutover.cards {
            let account = placement.card_account(&card.card_no);
            if let Some(b) = account.and_then(|a| balances.get_mut(a as usize)) {
                *b += card.final_balance();
            }
        }
        Index {
            placement,
            per_part,
            aliases,
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
            let phones = customer_phones(index, account, c.phone, region);
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
                phones,
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

/// The phones of the customer whose profile `account` takes, given as `phone`: the account's
/// key when a phone keys it (the plan keys an account by its customers' own phone, in E.164:
/// nothing to read again, millions of times), else `phone` read in `region` if valid.
fn customer_phones(index: &Index, account: u32, phone: &str, region: Region) -> Vec<String> {
    let key = index.placement.accounts().get_index(account as usize);
    if let Some(e164) = key.filter(|k| k.starts_with('+')) {
        return vec![e164.to_string()];
    }
    let phone = classify(phone, region);
    match (phone.class, phone.e164) {
        (PhoneClass::Mobile | PhoneClass::Foreign | PhoneClass::NotMobile, Some(e164)) => {
            vec![e164]
        }
        _ => Vec::new(),
    }
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
            if let Some(account) = index.placement.card_account(c.card_no) {
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
