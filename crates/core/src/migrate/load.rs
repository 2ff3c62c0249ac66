//! The migrated accounts, built from the identity plan and the cutover, and loaded into a
//! ledger: one account per new key, with its customer's profile (the master's, for a person
//! registered twice), every card as a card, every legacy customer id as an alias
//! (`legacy:P001`), one opening lot holding its cards' final balances, and the legacy purchases
//! and refunds as its purchase history (so spend windows and tiers read them from day one).

use super::cutover::Cutover;
use super::export::{ExportFile, Reject};
use super::identity::{Action, IdentityPlan, Party};
use super::repeats::transaction_files;
use super::rows::{CardRow, CardStatus, CustomerRow, TxKind, TxRow};
use super::scan::{keep_first, read_file, Keys};
use super::MigrateError;
use crate::eval::{Consent, Customer};
use crate::ledger::{AccountState, Card, Lot};
use crate::phone::{classify, PhoneClass};
use chrono::{DateTime, FixedOffset};
use indexmap::IndexMap;
use rlibphonenumber::enums::Region;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::path::Path;

/// Rows a step already reported: the loader reads the files again and drops them.
fn ignore(_: Reject) -> Result<(), MigrateError> {
    Ok(())
}

/// The alias a legacy customer id becomes (a namespace of its own, apart from card numbers).
pub fn legacy_alias(customer_id: &str) -> String {
    format!("legacy:{customer_id}")
}

/// Builds the migrated accounts of the export in `folder`: `plan` says which account each
/// customer and card lands in, `cutover` each card's final balance; `at` is the cutover moment
/// (the opening lots' date).
pub fn accounts(
    folder: &Path,
    region: Region,
    plan: &IdentityPlan,
    cutover: &Cutover,
    at: DateTime<FixedOffset>,
) -> Result<Vec<AccountState>, MigrateError> {
    let mut accounts: IndexMap<&str, AccountState> = IndexMap::new();
    let mut account_of_card: HashMap<&str, &str> = HashMap::new();
    // The customer whose profile an account takes: its first customer not merged into another.
    let mut profile_of: HashMap<&str, &str> = HashMap::new();
    for row in &plan.rows {
        let account = accounts
            .entry(&*row.account)
            .or_insert_with(|| AccountState {
                id: row.account.to_string(),
                customer: Customer {
                    id: row.account.to_string(),
                    ..Customer::default()
                },
                as_of: Some(at),
                ..AccountState::default()
            });
        match row.party {
            Party::Customer => {
                account.aliases.push(legacy_alias(&row.legacy_id));
                if !matches!(row.action, Action::MergedInto(_)) {
                    profile_of.entry(&row.account).or_insert(&row.legacy_id);
                }
            }
            Party::Card => {
                account_of_card.insert(&row.legacy_id, &row.account);
            }
        }
    }
    let profiles: HashMap<&str, &str> = profile_of.iter().map(|(a, c)| (*c, *a)).collect();

    let mut keys = Keys::of(folder, ExportFile::Customers, "customers.csv", &mut ignore)?;
    read_file(
        folder,
        ExportFile::Customers,
        "customers.csv",
        &mut ignore,
        |row, p| {
            let c = CustomerRow::read(row)?;
            if !keep_first(&mut keys, "customer_id", c.customer_id, row, p)? {
                return Ok(());
            }
            let Some(account) = profiles
                .get(c.customer_id)
                .and_then(|a| accounts.get_mut(*a))
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

    let mut keys = Keys::of(folder, ExportFile::Cards, "cards.csv", &mut ignore)?;
    read_file(
        folder,
        ExportFile::Cards,
        "cards.csv",
        &mut ignore,
        |row, p| {
            let c = CardRow::read(row)?;
            if !keep_first(&mut keys, "card_no", c.card_no, row, p)? {
                return Ok(());
            }
            if let Some(account) = account_of_card
                .get(c.card_no)
                .and_then(|a| accounts.get_mut(*a))
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

    // Final balances: every card of the cutover is one the plan placed (a card cards.csv
    // lacks is rejected there).
    let mut balances: IndexMap<String, Decimal> = IndexMap::new();
    for card in &cutover.cards {
        let Some(account) = account_of_card.get(&*card.card_no) else {
            continue;
        };
        let account = account.to_string();
        *balances.entry(account).or_default() += card.final_balance;
    }
    for (account, balance) in balances {
        if let Some(state) = accounts
            .get_mut(account.as_str())
            .filter(|_| !balance.is_zero())
        {
            state.lots.push(Lot::settled(
                format!("{account}#opening"),
                "legacy balance at cutover".to_string(),
                balance,
                at,
            ));
        }
    }

    // Purchases and refunds, history and delta, each id once.
    let mut ids = Keys::of_transactions(folder, &mut ignore)?;
    for (source, label) in transaction_files(folder) {
        read_file(
            &source,
            ExportFile::Transactions,
            label,
            &mut ignore,
            |row, p| {
                let t = TxRow::read(row)?;
                if !keep_first(&mut ids, "tx_id", t.tx_id, row, p)? {
                    return Ok(());
                }
                let sign = match t.kind {
                    TxKind::Purchase => Decimal::ONE,
                    TxKind::Refund => Decimal::NEGATIVE_ONE,
                    _ => return Ok(()),
                };
                let account = account_of_card.get(t.card_no).copied().unwrap_or_default();
                if let (Some(state), Some(amount)) = (accounts.get_mut(account), t.amount) {
                    state.history.push((t.occurred_at, sign * amount));
                }
                Ok(())
            },
        )?;
    }
    let mut accounts: Vec<AccountState> = accounts.into_values().collect();
    for a in &mut accounts {
        a.history.sort_by_key(|(t, _)| *t);
    }
    Ok(accounts)
}
