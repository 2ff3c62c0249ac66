//! The data-quality profile of a legacy export, made before anything moves: for each file the
//! rows read, accepted and rejected, blank values per column, duplicate keys (exact copies of a
//! row apart from the same key with another payload) and the range of each date column; across
//! files the orphans (cards of unknown customers, balances and transactions of unknown cards,
//! refunds of unknown purchases), the classes of the customers' phones and the sums of
//! balances and points. One pass over each file, in the order a later file refers to an
//! earlier one; every rejected row is handed to the caller as it is found.

use super::export::{ExportFile, Reject, Row};
use super::repeats::{transaction_files, Fingerprints, Repeats};
use super::rows::{BalanceRow, CardRow, CustomerRow, TxKind, TxRow};
use super::scan::{read_file, Keys, Seen};
use super::{MigrateError, Observer};
use crate::phone::{classify, PhoneClass};
use chrono::{DateTime, FixedOffset, NaiveDate};
use indexmap::IndexMap;
use rlibphonenumber::enums::Region;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

/// What to profile and how.
#[derive(Debug, Clone)]
pub struct ProfileSettings {
    /// The region national phone numbers are read in.
    pub region: Region,
}

/// The profile of one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileProfile {
    /// The file, as a path inside the export folder.
    pub file: String,
    /// Data rows read (the header not counted).
    pub rows: u64,
    /// Rows read as valid (duplicates included).
    pub accepted: u64,
    /// Rows rejected; each was handed to the caller with its reason.
    pub rejected: u64,
    /// Blank values per column, over the rows with the header's number of fields.
    pub blanks: IndexMap<&'static str, u64>,
    /// Accepted rows whose key an earlier row had with the very same fields.
    pub exact_duplicates: u64,
    /// Accepted rows whose key an earlier row had with other fields.
    pub conflicting_duplicates: u64,
    /// The earliest and latest value of each date column, over accepted rows.
    pub date_ranges: IndexMap<&'static str, DateRange>,
    /// Header fields that are none of the file's columns (ignored).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_columns: Vec<String>,
    /// The first rejected rows, for the report.
    pub reject_samples: Vec<Reject>,
}

impl FileProfile {
    /// Rows kept: neither merged as exact duplicates nor rejected.
    pub fn kept(&self) -> u64 {
        self.rows - self.exact_duplicates - self.rejected
    }

    /// How its rows were accounted for (`20 rows: 16 placed, 1 exact duplicates merged, 3
    /// rejected`): `kept` says what kept rows became.
    pub fn accounting(&self, kept: &str) -> String {
        format!(
            "{} rows: {} {kept}, {} exact duplicates merged, {} rejected",
            self.rows,
            self.kept(),
            self.exact_duplicates,
            self.rejected
        )
    }
}

/// The earliest and latest value of a date column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DateRange {
    /// The earliest, as written (dates) or in UTC (instants).
    pub min: String,
    /// The latest.
    pub max: String,
}

/// Rows that refer to something the export does not have.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Orphans {
    /// Cards with no owner.
    pub cards_without_customer: u64,
    /// Cards whose owner is not in `customers.csv`.
    pub cards_of_unknown_customer: u64,
    /// Balance rows of cards not in `cards.csv`.
    pub balances_of_unknown_card: u64,
    /// Transactions of cards not in `cards.csv`.
    pub transactions_of_unknown_card: u64,
    /// Refunds whose original purchase is in no transaction file.
    pub refunds_of_unknown_original: u64,
}

/// Sums of one kind of transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KindTotals {
    /// Rows (first occurrences of their id).
    pub rows: u64,
    /// Money amounts.
    pub amount: Decimal,
    /// Points earned.
    pub points_earned: Decimal,
    /// Points redeemed.
    pub points_redeemed: Decimal,
}

/// Sums of a balance file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BalanceTotals {
    /// Cards with a balance row (first occurrences).
    pub cards: u64,
    /// The points of all of them.
    pub points: Decimal,
    /// Cards with a negative balance.
    pub negative: u64,
}

/// The data-quality profile of a legacy export.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    /// The region phones were read in.
    pub region: String,
    /// Each file read, in reading order.
    pub files: Vec<FileProfile>,
    /// Customers (first occurrences) by the class of their phone.
    pub phones: BTreeMap<PhoneClass, u64>,
    /// Valid phones (E.164) held by more than one customer.
    pub shared_phones: u64,
    /// Rows referring to what the export lacks.
    pub orphans: Orphans,
    /// The snapshot's balances (`balances.csv`).
    pub balances: BalanceTotals,
    /// The cutover's balances (`delta/balances.csv`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cutover_balances: Option<BalanceTotals>,
    /// History and delta transactions by kind.
    pub transactions: IndexMap<TxKind, KindTotals>,
}

impl Profile {
    /// Rows rejected in all files.
    pub fn rejected(&self) -> u64 {
        self.files.iter().map(|f| f.rejected).sum()
    }

    /// The profile as text for a person: one block per file, then phones, orphans and sums.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Legacy export profile (phones read in region {})",
            self.region
        );
        for f in &self.files {
            let _ =
                writeln!(
                out,
                "\n{}: {} rows, {} accepted, {} rejected; duplicate keys: {} exact, {} conflicting",
                f.file, f.rows, f.accepted, f.rejected, f.exact_duplicates, f.conflicting_duplicates
            );
            let blanks: Vec<String> = f
                .blanks
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(c, n)| format!("{c} {n}"))
                .collect();
            if !blanks.is_empty() {
                let _ = writeln!(out, "  blank: {}", blanks.join(", "));
            }
            for (column, range) in &f.date_ranges {
                let _ = writeln!(out, "  {column}: {} .. {}", range.min, range.max);
            }
            if !f.unknown_columns.is_empty() {
                let _ = writeln!(out, "  ignored columns: {}", f.unknown_columns.join(", "));
            }
            for r in &f.reject_samples {
                let column = r.column.map_or(String::new(), |c| format!(" {c}:"));
                let _ = writeln!(out, "  rejected {}:{}{column} {}", r.file, r.line, r.reason);
            }
        }
        let phones: Vec<String> = self
            .phones
            .iter()
            .map(|(class, n)| format!("{} {n}", class.as_str()))
            .collect();
        let _ = writeln!(out, "\nphones: {}", phones.join(", "));
        let _ = writeln!(
            out,
            "phones shared by several customers: {}",
            self.shared_phones
        );
        let o = &self.orphans;
        let _ = writeln!(
            out,
            "orphans: {} cards without customer, {} cards of unknown customers, {} balances and {} transactions of unknown cards, {} refunds of unknown purchases",
            o.cards_without_customer,
            o.cards_of_unknown_customer,
            o.balances_of_unknown_card,
            o.transactions_of_unknown_card,
            o.refunds_of_unknown_original
        );
        let b = &self.balances;
        let _ = writeln!(
            out,
            "balances: {} cards, {} points, {} negative",
            b.cards, b.points, b.negative
        );
        if let Some(b) = &self.cutover_balances {
            let _ = writeln!(
                out,
                "cutover balances: {} cards, {} points, {} negative",
                b.cards, b.points, b.negative
            );
        }
        for (kind, t) in &self.transactions {
            let _ = writeln!(
                out,
                "{}: {} rows, amount {}, earned {}, redeemed {}",
                kind.as_str(),
                t.rows,
                t.amount,
                t.points_earned,
                t.points_redeemed
            );
        }
        let _ = writeln!(out, "\nrows rejected in all: {}", self.rejected());
        out
    }
}

/// Earliest and latest of a column, kept in their own type until the report.
#[derive(Default)]
struct Span<T>(Option<(T, T)>);

impl<T: Ord + Copy> Span<T> {
    fn see(&mut self, x: Option<T>) {
        if let Some(x) = x {
            self.0 = Some(match self.0 {
                None => (x, x),
                Some((lo, hi)) => (lo.min(x), hi.max(x)),
            });
        }
    }
}

fn date_range(span: &Span<NaiveDate>) -> Option<DateRange> {
    span.0.map(|(lo, hi)| DateRange {
        min: lo.to_string(),
        max: hi.to_string(),
    })
}

fn instant_range(span: &Span<DateTime<FixedOffset>>) -> Option<DateRange> {
    let utc = |t: DateTime<FixedOffset>| t.naive_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    span.0.map(|(lo, hi)| DateRange {
        min: utc(lo),
        max: utc(hi),
    })
}

/// Counts a key as first, exact or conflicting; whether it is the first.
fn count_key(keys: &mut Keys, key: &str, row: &Row<'_>, profile: &mut FileProfile) -> bool {
    match keys.see(key, row) {
        Seen::First => true,
        Seen::Exact => {
            profile.exact_duplicates += 1;
            false
        }
        Seen::Conflicting(_) => {
            profile.conflicting_duplicates += 1;
            false
        }
    }
}

/// Reads a balance file (the snapshot or the cutover's).
fn balances(
    folder: &Path,
    label: &str,
    cards: &Fingerprints,
    orphans: &mut Orphans,
    rejects: &mut dyn Observer,
) -> Result<(FileProfile, BalanceTotals), MigrateError> {
    let mut keys = Keys::of(folder, ExportFile::Balances, label, rejects)?;
    let mut totals = BalanceTotals::default();
    let mut as_of = Span::default();
    let mut profile = read_file(folder, ExportFile::Balances, label, rejects, |row, p| {
        let b = BalanceRow::read(row)?;
        as_of.see(Some(b.as_of));
        if count_key(&mut keys, b.card_no, row, p) {
            totals.cards += 1;
            totals.points += b.balance;
            totals.negative += u64::from(b.balance.is_sign_negative() && !b.balance.is_zero());
            orphans.balances_of_unknown_card += u64::from(!cards.contains(b.card_no));
        }
        Ok(())
    })?;
    if let Some(r) = instant_range(&as_of) {
        profile.date_ranges.insert("as_of", r);
    }
    Ok((profile, totals))
}

/// Profiles the export in `folder` (and its `delta/` folder, when there is one), handing each
/// rejected row to `rejects` in reading order.
pub fn profile(
    folder: &Path,
    settings: &ProfileSettings,
    rejects: &mut dyn Observer,
) -> Result<Profile, MigrateError> {
    profile_with(folder, settings, rejects, |rejects| {
        Ok(Arc::new(Repeats::transactions(folder, rejects)?))
    })
}

/// [`profile`], where `repeats` finds the transaction ids that may repeat (or hands over those
/// already found) when the profile comes to the transactions.
pub(super) fn profile_with(
    folder: &Path,
    settings: &ProfileSettings,
    rejects: &mut dyn Observer,
    repeats: impl FnOnce(&mut dyn Observer) -> Result<Arc<Repeats>, MigrateError>,
) -> Result<Profile, MigrateError> {
    let mut files = Vec::new();
    let mut orphans = Orphans::default();

    // Customers: keys, phones, dates.
    let mut customers = Keys::of(folder, ExportFile::Customers, "customers.csv", rejects)?;
    let mut customer_ids = Vec::new();
    let mut phones: BTreeMap<PhoneClass, u64> = BTreeMap::new();
    let mut phone_owners: HashMap<u64, u32> = HashMap::new();
    let (mut birth, mut created) = (Span::default(), Span::default());
    let mut customer_file = read_file(
        folder,
        ExportFile::Customers,
        "customers.csv",
        rejects,
        |row, p| {
            let c = CustomerRow::read(row)?;
            birth.see(c.birth_date);
            created.see(c.created_at);
            if count_key(&mut customers, c.customer_id, row, p) {
                customer_ids.push(Fingerprints::of(c.customer_id));
                let phone = classify(c.phone, settings.region);
                *phones.entry(phone.class).or_default() += 1;
                if let Some(e164) = phone.e164 {
                    *phone_owners.entry(Fingerprints::of(&e164)).or_default() += 1;
                }
            }
            Ok(())
        },
    )?;
    for (column, range) in [
        ("birth_date", date_range(&birth)),
        ("created_at", instant_range(&created)),
    ] {
        if let Some(r) = range {
            customer_file.date_ranges.insert(column, r);
        }
    }
    files.push(customer_file);

    // Cards: keys, owners.
    drop(customers);
    let customers = Fingerprints::new(customer_ids);
    let mut card_keys = Keys::of(folder, ExportFile::Cards, "cards.csv", rejects)?;
    let mut card_numbers = Vec::new();
    let mut issued = Span::default();
    let mut card_file = read_file(folder, ExportFile::Cards, "cards.csv", rejects, |row, p| {
        let c = CardRow::read(row)?;
        issued.see(c.issued_at);
        if count_key(&mut card_keys, c.card_no, row, p) {
            card_numbers.push(Fingerprints::of(c.card_no));
            match c.customer_id {
                None => orphans.cards_without_customer += 1,
                Some(owner) if !customers.contains(owner) => orphans.cards_of_unknown_customer += 1,
                Some(_) => {}
            }
        }
        Ok(())
    })?;
    if let Some(r) = instant_range(&issued) {
        card_file.date_ranges.insert("issued_at", r);
    }
    files.push(card_file);
    drop(card_keys);
    let cards = Fingerprints::new(card_numbers);

    let (balance_file, balance_totals) =
        balances(folder, "balances.csv", &cards, &mut orphans, rejects)?;
    files.push(balance_file);

    // Transactions: the history, then the delta, one set of ids for both.
    let mut transactions: IndexMap<TxKind, KindTotals> = TxKind::ALL
        .iter()
        .map(|k| (*k, KindTotals::default()))
        .collect();
    let repeats = repeats(rejects)?;
    let mut ids = Keys::screened(&repeats);
    for (tx_folder, label) in transaction_files(folder) {
        let mut occurred = Span::default();
        let mut tx_file = read_file(
            &tx_folder,
            ExportFile::Transactions,
            label,
            rejects,
            |row, p| {
                let t = TxRow::read(row)?;
                occurred.see(Some(t.occurred_at));
                if count_key(&mut ids, t.tx_id, row, p) {
                    let totals = transactions.entry(t.kind).or_default();
                    totals.rows += 1;
                    totals.amount += t.amount.unwrap_or_default();
                    totals.points_earned += t.points_earned;
                    totals.points_redeemed += t.points_redeemed;
                    orphans.transactions_of_unknown_card += u64::from(!cards.contains(t.card_no));
                    orphans.refunds_of_unknown_original += u64::from(
                        t.kind == TxKind::Refund
                            && t.original_tx_id.is_none_or(|o| repeats.original_missing(o)),
                    );
                }
                Ok(())
            },
        )?;
        if let Some(r) = instant_range(&occurred) {
            tx_file.date_ranges.insert("occurred_at", r);
        }
        files.push(tx_file);
    }

    let delta = folder.join("delta");
    let cutover_balances = if delta.join(ExportFile::Balances.file_name()).is_file() {
        let (file, totals) = balances(&delta, "delta/balances.csv", &cards, &mut orphans, rejects)?;
        files.push(file);
        Some(totals)
    } else {
        None
    };

    Ok(Profile {
        region: settings.region.to_string(),
        files,
        shared_phones: phone_owners.values().filter(|n| **n > 1).count() as u64,
        phones,
        orphans,
        balances: balance_totals,
        cutover_balances,
        transactions,
    })
}
