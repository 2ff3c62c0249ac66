//! Identity resolution: the new program keys accounts by mobile phone, the legacy one by card.
//! Every legacy customer and card is placed in exactly one group, with the account it lands in,
//! the action taken and the reason (MIGRATION.md):
//!
//! - **clean**: a usable phone of one person with one card;
//! - **several cards**: a usable phone of one person with several cards: one account, every
//!   card an alias;
//! - **duplicate person**: the same person registered more than once (the same phone, name and
//!   birth date): one master account with every card of every registration as an alias;
//! - **shared phone**: one phone held by different people: the phone is kept by one of them,
//!   chosen by a stated [`PhonePolicy`]; the others are keyed by card and flagged for
//!   verification;
//! - **no phone** and **invalid phone** (unparseable, not in the numbering plan, or not a
//!   mobile number, which cannot receive the verification SMS): keyed by card;
//! - **card without customer**: a card nobody registered, or whose owner is not in the export:
//!   keyed by the card itself.
//!
//! Usable phones are mobile numbers of the default region and valid numbers of other countries,
//! in E.164. Every choice (master, key card, phone holder) is deterministic: the earliest
//! registration, then the smallest id.

use super::export::ExportFile;
use super::profile::FileProfile;
use super::rows::{CardRow, CardStatus, CustomerRow};
use super::scan::{keep_first, read_file, Keys};
use super::{MigrateError, Observer};
use crate::fast_hash::{HashMap, HashSet};
use crate::phone::{classify, ClassifiedPhone, PhoneClass};
use crate::program::Name;
use chrono::{DateTime, FixedOffset, NaiveDate};
use rlibphonenumber::enums::Region;
use serde::Serialize;
use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::path::Path;

/// Which of several people sharing a phone keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PhonePolicy {
    /// The person registered first (the phone was theirs before anyone else's).
    #[default]
    EarliestRegistered,
    /// The person with the most cards (the heaviest user of the program).
    MostCards,
}

impl PhonePolicy {
    /// The policy as named in reports and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            PhonePolicy::EarliestRegistered => "earliest-registered",
            PhonePolicy::MostCards => "most-cards",
        }
    }
}

/// What identity resolution needs to know.
#[derive(Debug, Clone)]
pub struct PlanSettings {
    /// The region national phone numbers are read in.
    pub region: Region,
    /// Who keeps a phone several people share.
    pub phone_policy: PhonePolicy,
}

/// The group a legacy customer or card is placed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// A usable phone of one person with one card.
    Clean,
    /// A usable phone of one person with several cards.
    SeveralCards,
    /// One person registered more than once under the same phone.
    DuplicatePerson,
    /// One phone held by different people.
    SharedPhone,
    /// No phone.
    NoPhone,
    /// A phone that cannot key an account.
    InvalidPhone,
    /// A card with no known owner.
    CardWithoutCustomer,
}

impl Group {
    /// The group as written in `identity.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Group::Clean => "clean",
            Group::SeveralCards => "several_cards",
            Group::DuplicatePerson => "duplicate_person",
            Group::SharedPhone => "shared_phone",
            Group::NoPhone => "no_phone",
            Group::InvalidPhone => "invalid_phone",
            Group::CardWithoutCustomer => "card_without_customer",
        }
    }
}

/// Whether a row of the plan is a customer or a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// A row of `customers.csv`.
    Customer,
    /// A row of `cards.csv`.
    Card,
}

/// Where one legacy customer or card goes, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// Customer or card.
    pub party: Party,
    /// Its legacy id (customer id or card number).
    pub legacy_id: Name,
    /// The line of its row.
    pub line: u64,
    /// Its group.
    pub group: Group,
    /// The new account's key: an E.164 phone, `card:NUMBER` or `customer:ID` (one shared
    /// text per account).
    pub account: Name,
    /// What is done with it.
    pub action: Action,
    /// Why.
    pub reason: Reason,
    /// Consent to SMS, carried from the customer (customers only).
    pub sms_opt_in: Option<bool>,
    /// Consent to e-mail, carried from the customer (customers only).
    pub email_opt_in: Option<bool>,
}

/// What is done with a legacy customer or card: a small value rather than a sentence per
/// row (a plan holds one row per customer and card: ten million of them in a large program),
/// written out as a sentence (`Display`, and so in `identity.csv`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A customer keyed by its phone.
    KeyedByPhone,
    /// A customer whose several cards become aliases of one account.
    OneAccount {
        /// Its cards.
        cards: usize,
    },
    /// The master of a person's registrations.
    MasterOf {
        /// The registrations merged.
        registrations: usize,
    },
    /// A registration merged into its person's master.
    MergedInto(Name),
    /// The customer who keeps a shared phone.
    KeepsPhone,
    /// A customer keyed by another key than a phone (`card:NUMBER`, `customer:ID`); flagged
    /// for verification when a shared phone went to someone else.
    KeyedBy {
        /// The account's key.
        account: Name,
        /// Whether the customer is to be verified.
        flagged: bool,
    },
    /// A card that keys its owner's account.
    KeysOwnersAccount,
    /// A card that is an alias of its owner's account.
    AliasOf(Name),
    /// A card without a known owner, keying an account of its own.
    KeysOwnAccount,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::KeyedByPhone => f.write_str("keyed by phone"),
            Action::OneAccount { cards } => write!(f, "one account, {cards} cards as aliases"),
            Action::MasterOf { registrations } => {
                write!(f, "master of {registrations} registrations")
            }
            Action::MergedInto(master) => write!(f, "merged into master {master}"),
            Action::KeepsPhone => f.write_str("keeps the phone"),
            Action::KeyedBy { account, flagged } => {
                write!(f, "keyed by {account}")?;
                if *flagged {
                    f.write_str("; flagged for verification")?;
                }
                Ok(())
            }
            Action::KeysOwnersAccount => f.write_str("keys its owner's account"),
            Action::AliasOf(account) => write!(f, "alias of account {account}"),
            Action::KeysOwnAccount => f.write_str("keys an account of its own"),
        }
    }
}

/// Why a legacy customer or card is placed as it is; written out as a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A usable phone of one person with one card.
    UsablePhone,
    /// A usable phone of one person with several cards.
    UsablePhoneSeveralCards,
    /// Registrations with the same name, birth date and phone.
    SamePerson,
    /// A shared phone this customer keeps, by the policy.
    SharedKeptHere {
        /// The phone.
        phone: Name,
        /// The policy that chose.
        policy: PhonePolicy,
    },
    /// A shared phone another customer keeps, by the policy (boxed: rare, and the largest).
    SharedKeptBy(Box<SharedElsewhere>),
    /// No phone.
    NoPhone,
    /// A valid number that is not a mobile one (as E.164, or as written).
    NotMobile(Name),
    /// A phone that is not a valid number, as written.
    NotValid(Name),
    /// A card of a known customer.
    CardOf(Name),
    /// A card nobody registered.
    NoCustomer,
    /// A card whose customer is not in `customers.csv`.
    UnknownCustomer(Name),
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::UsablePhone => f.write_str("a usable phone of one person"),
            Reason::UsablePhoneSeveralCards => {
                f.write_str("a usable phone of one person with several cards")
            }
            Reason::SamePerson => f.write_str("the same name, birth date and phone"),
            Reason::SharedKeptHere { phone, policy } => write!(
                f,
                "{phone} is shared with other people; kept by this one ({})",
                policy.as_str()
            ),
            Reason::SharedKeptBy(shared) => write!(
                f,
                "{} is shared with other people and kept by {} ({})",
                shared.phone,
                shared.keeper,
                shared.policy.as_str()
            ),
            Reason::NoPhone => f.write_str("no phone"),
            Reason::NotMobile(phone) => write!(
                f,
                "{phone} is not a mobile number: it cannot receive the verification SMS"
            ),
            Reason::NotValid(raw) => write!(f, "`{raw}` is not a valid phone number"),
            Reason::CardOf(owner) => write!(f, "card of customer {owner}"),
            Reason::NoCustomer => f.write_str("no customer registered the card"),
            Reason::UnknownCustomer(id) => write!(f, "its customer {id} is not in customers.csv"),
        }
    }
}

/// A shared phone another customer keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedElsewhere {
    /// The phone.
    pub phone: Name,
    /// The customer who keeps it.
    pub keeper: Name,
    /// The policy that chose.
    pub policy: PhonePolicy,
}

/// Both serialize as their sentence.
macro_rules! serialize_as_sentence {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    )*};
}
serialize_as_sentence!(Action, Reason);

/// Customers and cards per group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GroupCount {
    /// Legacy customers.
    pub customers: u64,
    /// Legacy cards.
    pub cards: u64,
}

/// The identity plan: one row per legacy customer and card.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IdentityPlan {
    /// Customers in file order, then cards in file order.
    pub rows: Vec<Identity>,
    /// How the rows of `customers.csv` and `cards.csv` were accounted for.
    pub files: Vec<FileProfile>,
    /// Customers and cards per group.
    pub groups: BTreeMap<Group, GroupCount>,
    /// New accounts.
    pub accounts: u64,
    /// The policy shared phones were settled by.
    pub phone_policy: &'static str,
}

impl IdentityPlan {
    /// The plan's summary for a person: customers and cards per group, accounts.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Identity plan (shared phones kept by: {})\n",
            self.phone_policy
        );
        let _ = writeln!(out, "{:<22} {:>10} {:>10}", "group", "customers", "cards");
        for (group, count) in &self.groups {
            let _ = writeln!(
                out,
                "{:<22} {:>10} {:>10}",
                group.as_str(),
                count.customers,
                count.cards
            );
        }
        let customers: u64 = self.groups.values().map(|c| c.customers).sum();
        let cards: u64 = self.groups.values().map(|c| c.cards).sum();
        let _ = writeln!(out, "{:<22} {:>10} {:>10}", "all", customers, cards);
        let _ = writeln!(out, "\nnew accounts: {}", self.accounts);
        for f in &self.files {
            let _ = writeln!(out, "{}: {}", f.file, f.accounting("placed"));
        }
        out
    }
}

/// A customer as identity resolution sees it.
struct Customer {
    id: Name,
    line: u64,
    /// What makes two registrations one person: a 64-bit fingerprint of the name (compared
    /// loosely) and the birth date, when the birth date is known. It is only compared among
    /// the holders of one phone, so two different people would need the same phone and a
    /// fingerprint collision (odds of about 2^-64 a pair) to be taken for one.
    person: Option<u64>,
    phone: ClassifiedPhone,
    /// The phone as written, kept only when it cannot key an account (its reason quotes it).
    raw_phone: Option<Box<str>>,
    created_at: Option<DateTime<FixedOffset>>,
    sms_opt_in: Option<bool>,
    email_opt_in: Option<bool>,
    cards: Vec<usize>,
}

impl Customer {
    /// The order masters and phone holders are chosen in: earliest registration, then id.
    fn seniority(&self) -> (Option<DateTime<FixedOffset>>, &str) {
        (
            self.created_at
                .or(Some(DateTime::<FixedOffset>::MAX_UTC.fixed_offset())),
            &self.id,
        )
    }
}

/// A card as identity resolution sees it.
struct Card {
    number: Name,
    line: u64,
    owner: Option<Box<str>>,
    status: CardStatus,
    issued_at: Option<DateTime<FixedOffset>>,
}

/// The fingerprint of a person: their name compared loosely and their birth date.
fn person_fingerprint(full_name: &str, birth_date: NaiveDate) -> u64 {
    foldhash::quality::FixedState::with_seed(0x7065_7273_6f6e)
        .hash_one((name_key(full_name), birth_date))
}

/// A name compared loosely: case, `ё`, and runs of spaces do not matter.
fn name_key(name: &str) -> String {
    name.split_whitespace()
        .map(|w| w.to_lowercase().replace('ё', "е"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where an account's key and the placement of its customers come from.
struct Placement {
    group: Group,
    account: Name,
    action: Action,
    reason: Reason,
}

/// Resolves the identities of the export in `folder`, handing rejected rows to `rejects`.
pub fn plan(
    folder: &Path,
    settings: &PlanSettings,
    rejects: &mut dyn Observer,
) -> Result<IdentityPlan, MigrateError> {
    let mut customers: Vec<Customer> = Vec::new();
    let mut keys = Keys::of(folder, ExportFile::Customers, "customers.csv", rejects)?;
    let customer_file = read_file(
        folder,
        ExportFile::Customers,
        "customers.csv",
        rejects,
        |row, p| {
            let c = CustomerRow::read(row)?;
            if keep_first(&mut keys, "customer_id", c.customer_id, row, p)? {
                let phone = classify(c.phone, settings.region);
                customers.push(Customer {
                    id: c.customer_id.into(),
                    line: row.line,
                    person: c.birth_date.map(|b| person_fingerprint(c.full_name, b)),
                    raw_phone: (!usable_phone(&phone)).then(|| c.phone.into()),
                    phone,
                    created_at: c.created_at,
                    sms_opt_in: c.sms_opt_in,
                    email_opt_in: c.email_opt_in,
                    cards: Vec::new(),
                });
            }
            Ok(())
        },
    )?;
    let by_id: HashMap<&str, usize> = customers
        .iter()
        .enumerate()
        .map(|(i, c)| (&*c.id, i))
        .collect();

    let mut cards: Vec<Card> = Vec::new();
    let mut keys = Keys::of(folder, ExportFile::Cards, "cards.csv", rejects)?;
    let card_file = read_file(folder, ExportFile::Cards, "cards.csv", rejects, |row, p| {
        let c = CardRow::read(row)?;
        if keep_first(&mut keys, "card_no", c.card_no, row, p)? {
            cards.push(Card {
                number: c.card_no.into(),
                line: row.line,
                owner: c.customer_id.map(Box::from),
                status: c.status,
                issued_at: c.issued_at,
            });
        }
        Ok(())
    })?;
    let owners: Vec<Option<usize>> = cards
        .iter()
        .map(|card| card.owner.as_deref().and_then(|id| by_id.get(id).copied()))
        .collect();
    drop(by_id);
    for (i, owner) in owners.iter().enumerate() {
        if let Some(c) = owner.and_then(|o| customers.get_mut(o)) {
            c.cards.push(i);
        }
    }

    let placements = place_customers(&customers, &cards, settings.phone_policy);
    let mut rows = Vec::with_capacity(customers.len() + cards.len());
    let mut groups: BTreeMap<Group, GroupCount> = BTreeMap::new();
    for (c, p) in customers.iter().zip(&placements) {
        groups.entry(p.group).or_default().customers += 1;
        rows.push(Identity {
            party: Party::Customer,
            legacy_id: Name::clone(&c.id),
            line: c.line,
            group: p.group,
            account: Name::clone(&p.account),
            action: p.action.clone(),
            reason: p.reason.clone(),
            sms_opt_in: c.sms_opt_in,
            email_opt_in: c.email_opt_in,
        });
    }
    // Counted in a set sized once: at millions of accounts, growing it doubles its memory.
    let mut accounts: HashSet<&str> =
        HashSet::with_capacity_and_hasher(placements.len(), Default::default());
    accounts.extend(placements.iter().map(|p| &*p.account));
    for (card, owner) in cards.iter().zip(&owners) {
        let owner = owner.and_then(|o| Some((customers.get(o)?, placements.get(o)?)));
        let (group, account, action, reason) = match owner {
            Some((customer, p)) => (
                p.group,
                Name::clone(&p.account),
                if p.account.strip_prefix("card:") == Some(&*card.number) {
                    Action::KeysOwnersAccount
                } else {
                    Action::AliasOf(Name::clone(&p.account))
                },
                Reason::CardOf(Name::clone(&customer.id)),
            ),
            None => (
                Group::CardWithoutCustomer,
                Name::from(format!("card:{}", card.number)),
                Action::KeysOwnAccount,
                match &card.owner {
                    None => Reason::NoCustomer,
                    Some(id) => Reason::UnknownCustomer((**id).into()),
                },
            ),
        };
        groups.entry(group).or_default().cards += 1;
        rows.push(Identity {
            party: Party::Card,
            legacy_id: Name::clone(&card.number),
            line: card.line,
            group,
            account,
            action,
            reason,
            sms_opt_in: None,
            email_opt_in: None,
        });
    }
    accounts.extend(
        rows.iter()
            .filter(|r| r.group == Group::CardWithoutCustomer)
            .map(|r| &*r.account),
    );
    let accounts = accounts.len() as u64;
    Ok(IdentityPlan {
        rows,
        files: vec![customer_file, card_file],
        groups,
        accounts,
        phone_policy: settings.phone_policy.as_str(),
    })
}

/// Whether a phone can key an account: a valid mobile number, or a valid foreign one.
fn usable_phone(phone: &ClassifiedPhone) -> bool {
    phone.e164.is_some() && matches!(phone.class, PhoneClass::Mobile | PhoneClass::Foreign)
}

/// The card that keys an account without a phone: an active card before a blocked or lost
/// one, then the earliest issued, then the smallest number.
fn key_card<'c>(customer: &Customer, cards: &'c [Card]) -> Option<&'c Card> {
    customer
        .cards
        .iter()
        .filter_map(|&i| cards.get(i))
        .min_by(|a, b| {
            let order = |c: &Card| {
                (
                    c.status != CardStatus::Active,
                    c.issued_at.map(|t| t.timestamp()).unwrap_or(i64::MAX),
                    Name::clone(&c.number),
                )
            };
            order(a).cmp(&order(b))
        })
}

/// The account of a customer keyed by card (or, with no card at all, by its own id).
fn keyed_by_card(customer: &Customer, cards: &[Card]) -> Name {
    match key_card(customer, cards) {
        Some(card) => format!("card:{}", card.number).into(),
        None => format!("customer:{}", customer.id).into(),
    }
}

/// The placement of a customer whose phone cannot key an account.
fn without_phone(c: &Customer, cards: &[Card]) -> Placement {
    let (group, reason) = match c.phone.class {
        PhoneClass::Blank => (Group::NoPhone, Reason::NoPhone),
        PhoneClass::NotMobile => (
            Group::InvalidPhone,
            Reason::NotMobile(
                c.phone
                    .e164
                    .as_deref()
                    .or(c.raw_phone.as_deref())
                    .unwrap_or_default()
                    .into(),
            ),
        ),
        _ => (
            Group::InvalidPhone,
            Reason::NotValid(c.raw_phone.as_deref().unwrap_or_default().into()),
        ),
    };
    let account = keyed_by_card(c, cards);
    Placement {
        group,
        action: Action::KeyedBy {
            account: Name::clone(&account),
            flagged: false,
        },
        account,
        reason,
    }
}

/// Places every customer: its group, account, action and reason.
fn place_customers(customers: &[Customer], cards: &[Card], policy: PhonePolicy) -> Vec<Placement> {
    // Customers by usable phone, phones in order of their first holder.
    let mut by_phone: indexmap::IndexMap<&str, Vec<usize>> = indexmap::IndexMap::new();
    for (i, c) in customers.iter().enumerate() {
        if let Some(e164) = c.phone.e164.as_deref().filter(|_| usable_phone(&c.phone)) {
            by_phone.entry(e164).or_default().push(i);
        }
    }
    let mut placed: Vec<Option<Placement>> = customers.iter().map(|_| None).collect();
    for (phone, holders) in &by_phone {
        let phone = Name::from(*phone);
        // The people among the holders: registrations with the same name and birth date.
        let mut people: Vec<Vec<usize>> = Vec::new();
        for &i in holders {
            let person = customers.get(i).and_then(|c| c.person.as_ref());
            let same = people.iter_mut().find(|p| {
                person.is_some()
                    && p.first()
                        .and_then(|&j| customers.get(j))
                        .and_then(|c| c.person.as_ref())
                        == person
            });
            match same {
                Some(p) => p.push(i),
                None => people.push(vec![i]),
            }
        }
        let senior = |p: &Vec<usize>| {
            p.iter()
                .filter_map(|&i| customers.get(i))
                .map(Customer::seniority)
                .min()
        };
        let card_count = |p: &Vec<usize>| {
            p.iter()
                .filter_map(|&i| customers.get(i))
                .map(|c| c.cards.len())
                .sum::<usize>()
        };
        let keeper = people
            .iter()
            .enumerate()
            .min_by(|(_, a), (_, b)| match policy {
                PhonePolicy::EarliestRegistered => senior(a).cmp(&senior(b)),
                PhonePolicy::MostCards => card_count(b)
                    .cmp(&card_count(a))
                    .then_with(|| senior(a).cmp(&senior(b))),
            })
            .map_or(0, |(k, _)| k);
        let shared = people.len() > 1;
        for (k, person) in people.iter().enumerate() {
            let master = person
                .iter()
                .copied()
                .min_by(|&a, &b| {
                    let s = |i: usize| customers.get(i).map(Customer::seniority);
                    s(a).cmp(&s(b))
                })
                .and_then(|m| customers.get(m));
            let master_id: Name = master.map_or_else(|| "".into(), |m| Name::clone(&m.id));
            for &i in person {
                let Some(c) = customers.get(i) else { continue };
                let placement = if shared && k != keeper {
                    let account = keyed_by_card(c, cards);
                    Placement {
                        group: Group::SharedPhone,
                        action: Action::KeyedBy {
                            account: Name::clone(&account),
                            flagged: true,
                        },
                        account,
                        reason: Reason::SharedKeptBy(Box::new(SharedElsewhere {
                            phone: Name::clone(&phone),
                            keeper: people
                                .get(keeper)
                                .and_then(|p| p.first())
                                .and_then(|&j| customers.get(j))
                                .map_or_else(|| "".into(), |c| Name::clone(&c.id)),
                            policy,
                        })),
                    }
                } else if shared {
                    Placement {
                        group: Group::SharedPhone,
                        account: Name::clone(&phone),
                        action: Action::KeepsPhone,
                        reason: Reason::SharedKeptHere {
                            phone: Name::clone(&phone),
                            policy,
                        },
                    }
                } else if person.len() > 1 {
                    Placement {
                        group: Group::DuplicatePerson,
                        account: Name::clone(&phone),
                        action: if c.id == master_id {
                            Action::MasterOf {
                                registrations: person.len(),
                            }
                        } else {
                            Action::MergedInto(Name::clone(&master_id))
                        },
                        reason: Reason::SamePerson,
                    }
                } else if c.cards.len() > 1 {
                    Placement {
                        group: Group::SeveralCards,
                        account: Name::clone(&phone),
                        action: Action::OneAccount {
                            cards: c.cards.len(),
                        },
                        reason: Reason::UsablePhoneSeveralCards,
                    }
                } else {
                    Placement {
                        group: Group::Clean,
                        account: Name::clone(&phone),
                        action: Action::KeyedByPhone,
                        reason: Reason::UsablePhone,
                    }
                };
                if let Some(slot) = placed.get_mut(i) {
                    *slot = Some(placement);
                }
            }
        }
    }
    customers
        .iter()
        .zip(placed)
        .map(|(c, placement)| placement.unwrap_or_else(|| without_phone(c, cards)))
        .collect()
}
