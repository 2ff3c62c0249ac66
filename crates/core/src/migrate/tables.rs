//! A migration's row-level results as table rows: the identity plan, the reconciliation per
//! card and per new account, the cutover per card, and the rejected input rows. The command line
//! streams them into CSV files (millions of rows, a row at a time); the Python binding collects
//! them into DataFrames. One layout for both.

use super::cutover::CardCutover;
use super::export::Reject;
use super::identity::{Identity, Party};
use super::placement::Placement;
use super::reconcile::{AccountBalance, CardBalance};
use super::run::Run;
use crate::table::{Cell, Table};

/// The columns of `identity.csv`.
pub const IDENTITY_COLUMNS: [&str; 9] = [
    "party",
    "legacy_id",
    "line",
    "group",
    "account",
    "action",
    "reason",
    "sms_opt_in",
    "email_opt_in",
];

/// One legacy customer or card in the identity plan: where it goes and why.
pub fn identity_row(r: &Identity) -> Vec<Cell> {
    let party = match r.party {
        Party::Customer => "customer",
        Party::Card => "card",
    };
    let flag = |f: Option<bool>| match f {
        Some(true) => Cell::Text("yes".to_string()),
        Some(false) => Cell::Text("no".to_string()),
        None => Cell::Empty,
    };
    vec![
        Cell::Text(party.to_string()),
        Cell::Text(r.legacy_id.to_string()),
        Cell::Count(r.line),
        Cell::Text(r.group.as_str().to_string()),
        Cell::Text(r.account.to_string()),
        Cell::Text(r.action.to_string()),
        Cell::Text(r.reason.to_string()),
        flag(r.sms_opt_in),
        flag(r.email_opt_in),
    ]
}

/// The columns of `reconciliation.csv`.
pub const RECONCILIATION_COLUMNS: [&str; 7] = [
    "card_no",
    "account",
    "legacy_balance",
    "recomputed",
    "difference",
    "class",
    "explanation",
];

/// One card's legacy and recomputed balance, the account it lands in and the difference
/// explained.
pub fn reconciliation_row(c: &CardBalance, accounts: &Placement) -> Vec<Cell> {
    vec![
        Cell::Text(c.card_no.to_string()),
        Cell::Text(account_of(accounts, &c.card_no)),
        Cell::Number(c.legacy),
        Cell::Number(c.recomputed),
        Cell::Number(c.difference()),
        Cell::Text(c.class.as_str().to_string()),
        Cell::Text(c.explanation.to_string()),
    ]
}

/// The columns of `accounts.csv`.
pub const ACCOUNT_COLUMNS: [&str; 5] = [
    "account",
    "cards",
    "legacy_balance",
    "recomputed",
    "difference",
];

/// One new account: its cards (space-separated) and their legacy and recomputed sums.
pub fn account_row(a: &AccountBalance) -> Vec<Cell> {
    vec![
        Cell::Text(a.account.to_string()),
        Cell::Text(a.cards.join(" ")),
        Cell::Number(a.legacy),
        Cell::Number(a.recomputed),
        Cell::Number(a.difference),
    ]
}

/// The columns of `cutover.csv`.
pub const CUTOVER_COLUMNS: [&str; 7] = [
    "card_no",
    "account",
    "snapshot",
    "after_snapshot",
    "final_balance",
    "legacy_cutover",
    "difference",
];

/// One card at the cutover: its snapshot, what came after it, its final balance, and the
/// legacy system's own cutover balance with the difference, when the export has one.
pub fn cutover_row(c: &CardCutover, accounts: &Placement) -> Vec<Cell> {
    let number = |d: Option<rust_decimal::Decimal>| d.map_or(Cell::Empty, Cell::Number);
    vec![
        Cell::Text(c.card_no.to_string()),
        Cell::Text(account_of(accounts, &c.card_no)),
        Cell::Number(c.snapshot),
        Cell::Number(c.delta),
        Cell::Number(c.final_balance()),
        number(c.legacy_cutover),
        number(c.difference()),
    ]
}

/// The columns of `rejects.csv`.
pub const REJECT_COLUMNS: [&str; 4] = ["file", "line", "column", "reason"];

/// One input row left out: its file, line, column and why.
pub fn reject_row(r: &Reject) -> Vec<Cell> {
    vec![
        Cell::Text(r.file.clone()),
        Cell::Count(r.line),
        r.column.map_or(Cell::Empty, |c| Cell::Text(c.to_string())),
        Cell::Text(r.reason.clone()),
    ]
}

/// The new account a card lands in (`card:NUMBER` for a card the plan left on its own).
pub fn account_of(accounts: &Placement, card: &str) -> String {
    accounts
        .account_of(card)
        .map_or_else(|| format!("card:{card}"), |a| a.to_string())
}

impl Run {
    /// Every table of the run, whole, with the accounts each card lands in taken from
    /// `accounts`: identity, reconciliation, accounts, cutover, rejects. For a caller that
    /// keeps them in memory (a notebook); the command line streams the same rows to files.
    pub fn tables(&self, accounts: &Placement) -> [Table; 5] {
        let mut per_account = Vec::new();
        self.reconciliation
            .each_account(accounts, |a| per_account.push(account_row(&a)));
        [
            Table {
                name: "identity",
                columns: IDENTITY_COLUMNS.to_vec(),
                rows: self.plan.rows.iter().map(identity_row).collect(),
            },
            Table {
                name: "reconciliation",
                columns: RECONCILIATION_COLUMNS.to_vec(),
                rows: self
                    .reconciliation
                    .cards
                    .iter()
                    .map(|c| reconciliation_row(c, accounts))
                    .collect(),
            },
            Table {
                name: "accounts",
                columns: ACCOUNT_COLUMNS.to_vec(),
                rows: per_account,
            },
            Table {
                name: "cutover",
                columns: CUTOVER_COLUMNS.to_vec(),
                rows: self
                    .cutover
                    .cards
                    .iter()
                    .map(|c| cutover_row(c, accounts))
                    .collect(),
            },
            Table {
                name: "rejects",
                columns: REJECT_COLUMNS.to_vec(),
                rows: self.rejects.iter().map(reject_row).collect(),
            },
        ]
    }
}
