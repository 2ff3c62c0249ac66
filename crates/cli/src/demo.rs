//! `puntos demo`: the tour. A synthetic pharmacy population goes through the ledger of the
//! pharmacy example on an SQLite database; the summary shows what the program paid out and
//! what it owes, the rules that paid most, who holds which tier, and one customer's history
//! explained transaction by transaction. The output depends only on the settings (no timings),
//! so the same seed prints the same tour.

use puntos::eval::Effect;
use puntos::ledger::{
    AccountState, Applied, EntryKind, JournalEntry, Ledger, LedgerError, SqliteStore, Store,
    StoreError,
};
use puntos::synth::{generate, Population, Settings};
use puntos::Decimal;
use puntos::{Program, Versions};
use puntos_dsl::SourceFile;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::Path;

/// The program the tour runs, embedded so the demo works from any directory.
const PROGRAM: &str = include_str!("../../../examples/pharmacy/program.pts");
/// Its name in messages.
const PROGRAM_NAME: &str = "examples/pharmacy/program.pts";

/// Where the database goes when no path is given.
pub const DEFAULT_DB: &str = "puntos-demo.db";

/// Journal entries read per page.
const PAGE: usize = 1000;

/// Most lines of the chosen customer's history; the middle is elided beyond it.
const HISTORY_LINES: usize = 24;

/// Runs the tour: `customers` synthetic customers over `months` months from 1 February 2026,
/// drawn from `seed`, through the ledger on the SQLite database `db` (default
/// `puntos-demo.db` in the current directory, replaced if it exists). Returns the exit code:
/// 0 done, 1 the journal did not verify, 2 the database could not be used.
pub fn run(db: Option<&Path>, customers: usize, months: u32, seed: u64) -> u8 {
    let path = db.unwrap_or(Path::new(DEFAULT_DB));
    let Some(program) = puntos::compile(&SourceFile::new(PROGRAM_NAME, PROGRAM)).program else {
        eprintln!("error: the embedded {PROGRAM_NAME} does not compile; run `puntos check` on it");
        return 2;
    };
    let versions = match Versions::new(vec![program.clone()]) {
        Ok(v) => v,
        Err(message) => {
            eprintln!("error: {message}");
            return 2;
        }
    };
    let replaced = match remove_old(path) {
        Ok(r) => r,
        Err(message) => {
            eprintln!("error: {message}");
            return 2;
        }
    };
    let store = match SqliteStore::open(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut ledger = Ledger::new(store, versions);
    let settings = Settings {
        customers,
        months,
        seed,
        ..Settings::default()
    };
    let population = generate(&settings, &program.currency, program.timezone);
    let end = settings.end_instant(program.timezone);

    let outcome = match apply_all(&mut ledger, &population) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: the database failed: {e}");
            return 2;
        }
    };
    let mut accounts = Vec::new();
    for customer in &population.customers {
        match ledger.advance(&customer.id, end) {
            Ok(state) => accounts.push(state),
            // A customer whose signup was refused has no account.
            Err(LedgerError::UnknownAccount(_)) => {}
            Err(e) => {
                eprintln!("error: bringing {} to {end}: {e}", customer.id);
                return 2;
            }
        }
    }
    let verified = match ledger.verify() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: the database failed: {e}");
            return 2;
        }
    };
    let chosen = busiest(&population);
    let journal = match read_journal(ledger.store_mut(), chosen.as_deref()) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: the database failed: {e}");
            return 2;
        }
    };

    outln!(
        "puntos demo: the \"{}\" program ({PROGRAM_NAME})",
        program.name
    );
    let period = match settings.end().pred_opt() {
        Some(last) if last >= settings.start => format!("{} to {last}", settings.start),
        _ => format!("an empty period from {}", settings.start),
    };
    outln!(
        "population: {} synthetic customers, {period}, seed {seed}",
        num(population.customers.len()),
    );
    outln!(
        "database: {} ({})",
        path.display(),
        if replaced {
            "it existed: removed and created anew"
        } else {
            "created"
        }
    );
    print_transactions(&population, &outcome);
    let code = match verified {
        Ok(count) => {
            outln!();
            outln!(
                "Points (journal: {} entries, hash chain verified)",
                num(count)
            );
            0
        }
        Err(broken) => {
            outln!();
            outln!("Points (journal BROKEN: {broken})");
            1
        }
    };
    let balanced = print_points(&program, &journal, &outcome, &accounts);
    let code = if balanced { code } else { 1 };
    print_rules(&program, &outcome);
    print_tiers(&program, &accounts, &settings);
    if let Some(id) = chosen {
        if let Some(state) = accounts.iter().find(|a| a.id == id) {
            let history = History {
                population: &population,
                entries: &journal.chosen,
                outcome: &outcome,
                db: path,
            };
            print_customer(&program, state, &history);
        }
    }
    code
}

/// Removes an earlier demo database (and its WAL files); refuses to remove anything that is
/// not an SQLite database. True if there was one.
fn remove_old(path: &Path) -> Result<bool, String> {
    let exists = path.exists();
    if exists {
        let mut header = [0u8; 16];
        let is_sqlite = path.is_file()
            && std::fs::File::open(path)
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header))
                .is_ok()
            && header.starts_with(b"SQLite format 3\0");
        let empty = path.is_file() && std::fs::metadata(path).is_ok_and(|m| m.len() == 0);
        if !is_sqlite && !empty {
            return Err(format!(
                "{} exists and is not an SQLite database; the demo replaces only databases (give another path)",
                path.display()
            ));
        }
        std::fs::remove_file(path).map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
    }
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let side = Path::new(&side);
        if side.is_file() {
            std::fs::remove_file(side)
                .map_err(|e| format!("cannot remove {}: {e}", side.display()))?;
        }
    }
    Ok(exists)
}

/// What applying the population did.
#[derive(Default)]
struct Outcome {
    applied: usize,
    duplicates: usize,
    /// Refusals by reason (numbers replaced by `N`).
    refused: BTreeMap<String, usize>,
    /// The refusal of each refused transaction, by id.
    refusals: BTreeMap<String, String>,
    /// Points earned per (kind, name) of rule or promotion.
    earned_by: BTreeMap<(String, String), Decimal>,
    /// Purchases and referrals that earned points.
    purchases_earning: usize,
    referrals_earning: usize,
    /// Purchases paid partly with points, and the money they paid.
    redemptions: usize,
    redeemed_value: Decimal,
    /// Money taken off baskets by offers and coupons.
    discounts: Decimal,
}

/// Applies every transaction in order; only a failure of the database stops it.
fn apply_all(
    ledger: &mut Ledger<SqliteStore>,
    population: &Population,
) -> Result<Outcome, StoreError> {
    let mut outcome = Outcome::default();
    for incoming in &population.transactions {
        match ledger.apply(incoming) {
            Ok(Applied::New(decision)) => {
                outcome.applied += 1;
                if decision.points_earned() > Decimal::ZERO {
                    match &*decision.kind {
                        "purchase" => outcome.purchases_earning += 1,
                        "referral" => outcome.referrals_earning += 1,
                        _ => {}
                    }
                }
                for effect in &decision.effects {
                    match effect {
                        Effect::Earn { source, points, .. } => {
                            let key = (source.kind().to_string(), source.name().to_string());
                            *outcome.earned_by.entry(key).or_default() += *points;
                        }
                        Effect::Redeem { value, .. } => {
                            outcome.redemptions += 1;
                            outcome.redeemed_value += *value;
                        }
                        Effect::Discount { amount, .. } => outcome.discounts += *amount,
                        _ => {}
                    }
                }
            }
            Ok(Applied::Duplicate(_)) => outcome.duplicates += 1,
            Err(LedgerError::Store(e)) => return Err(e),
            Err(e) => {
                *outcome.refused.entry(reason_kind(&e)).or_default() += 1;
                outcome
                    .refusals
                    .insert(incoming.transaction.id.to_string(), e.to_string());
            }
        }
    }
    Ok(outcome)
}

/// A refusal's reason with its numbers replaced by `N`, so refusals of one kind count together.
fn reason_kind(error: &LedgerError) -> String {
    let text: Vec<char> = error.to_string().chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while let Some(&c) = text.get(i) {
        i += 1;
        if !c.is_ascii_digit() {
            out.push(c);
            continue;
        }
        out.push('N');
        while let Some(&next) = text.get(i) {
            let decimal_point = next == '.' && text.get(i + 1).is_some_and(|d| d.is_ascii_digit());
            if next.is_ascii_digit() || decimal_point {
                i += 1;
            } else {
                break;
            }
        }
    }
    out
}

/// The customer with the most transactions (the first in id order on a tie).
fn busiest(population: &Population) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &population.transactions {
        *counts.entry(t.account.as_str()).or_default() += 1;
    }
    let mut best: Option<(&str, usize)> = None;
    for (id, count) in counts {
        if best.is_none_or(|(_, b)| count > b) {
            best = Some((id, count));
        }
    }
    best.map(|(id, _)| id.to_string())
}

/// The journal, summed by kind, with the chosen customer's entries.
#[derive(Default)]
struct Journal {
    earned: Decimal,
    redeemed: Decimal,
    returned: Decimal,
    reversed: Decimal,
    expired: Decimal,
    other: Decimal,
    chosen: Vec<JournalEntry>,
}

/// Reads the whole journal in pages.
fn read_journal(store: &mut SqliteStore, chosen: Option<&str>) -> Result<Journal, StoreError> {
    let mut journal = Journal::default();
    let mut after = 0;
    loop {
        let page = store.atomically(|s| s.journal(None, after, PAGE))?;
        let Some(last) = page.last() else {
            return Ok(journal);
        };
        after = last.seq;
        for entry in page {
            let total = match entry.kind {
                EntryKind::Earn => &mut journal.earned,
                EntryKind::Redeem => &mut journal.redeemed,
                EntryKind::Return => &mut journal.returned,
                EntryKind::Reverse => &mut journal.reversed,
                EntryKind::Expire => &mut journal.expired,
                EntryKind::Activate | EntryKind::Adjust | EntryKind::Opening => &mut journal.other,
            };
            *total += entry.points;
            if chosen == Some(entry.account.as_str()) {
                journal.chosen.push(entry);
            }
        }
    }
}

fn print_transactions(population: &Population, outcome: &Outcome) {
    let count = |kind: &str| {
        population
            .transactions
            .iter()
            .filter(|t| *t.transaction.kind == *kind)
            .count()
    };
    let paying = population
        .transactions
        .iter()
        .filter(|t| t.transaction.redeem.is_some())
        .count();
    let refused: usize = outcome.refused.values().sum();
    outln!();
    outln!("Transactions");
    outln!(
        "  {} generated: {} signups, {} purchases ({} asking to pay with points), {} refunds, {} referrals",
        num(population.transactions.len()),
        num(count("signup")),
        num(count("purchase")),
        num(paying),
        num(count("refund")),
        num(count("referral")),
    );
    outln!(
        "  {} applied, {} refused, {} already applied",
        num(outcome.applied),
        num(refused),
        num(outcome.duplicates)
    );
    let mut reasons: Vec<(&String, &usize)> = outcome.refused.iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (reason, count) in reasons.into_iter().take(3) {
        outln!("  {:>5} refused: {}", num(count), shorten(reason, 100));
    }
}

/// Prints the points by journal kind and what is outstanding; false if the journal does not
/// add up to the accounts' balances.
fn print_points(
    program: &Program,
    journal: &Journal,
    outcome: &Outcome,
    accounts: &[AccountState],
) -> bool {
    let currency = &program.currency;
    let row = |label: &str, points: Decimal, note: String| {
        outln!("  {label:<12}{:>10}  {note}", signed(points));
    };
    row(
        "earned",
        journal.earned,
        format!(
            "on {} purchases and {} referrals",
            num(outcome.purchases_earning),
            num(outcome.referrals_earning)
        ),
    );
    row(
        "redeemed",
        journal.redeemed,
        format!(
            "on {} purchases, paying {} {currency}",
            num(outcome.redemptions),
            money(outcome.redeemed_value)
        ),
    );
    row(
        "given back",
        journal.returned,
        "redeemed points returned with refunded goods".to_string(),
    );
    row(
        "taken back",
        journal.reversed,
        "earned points reversed with refunded goods".to_string(),
    );
    row(
        "expired",
        journal.expired,
        "points past their lifetime".to_string(),
    );
    if !journal.other.is_zero() {
        row("other", journal.other, "adjustments".to_string());
    }
    let balance: Decimal = accounts.iter().map(AccountState::balance).sum();
    let available: Decimal = accounts.iter().map(AccountState::available).sum();
    let pending: Decimal = accounts.iter().map(AccountState::pending).sum();
    let liability = program.redemption.as_ref().and_then(|r| {
        (balance * r.rate_money)
            .checked_div(r.rate_points)
            .map(|value| {
                let unit = if r.rate_points == Decimal::ONE {
                    "point"
                } else {
                    "points"
                };
                format!(
                    ": a liability of {} {currency} at {} {unit} = {} {currency}",
                    money(value),
                    num(r.rate_points),
                    num(r.rate_money)
                )
            })
    });
    outln!(
        "  {:<12}{:>10}  points{}",
        "outstanding",
        num(balance),
        liability.unwrap_or_default()
    );
    let owing: Vec<&AccountState> = accounts
        .iter()
        .filter(|a| a.balance() < Decimal::ZERO)
        .collect();
    let debts: Decimal = owing.iter().map(|a| a.balance()).sum();
    let owe = if owing.is_empty() {
        String::new()
    } else {
        format!(
            "; {} accounts owe {} points (refunds after spending)",
            num(owing.len()),
            num(-debts)
        )
    };
    outln!(
        "  {:<12}{:>10}  available, {} pending{owe}",
        "",
        num(available),
        num(pending),
    );
    let total = journal.earned
        + journal.redeemed
        + journal.returned
        + journal.reversed
        + journal.expired
        + journal.other;
    if total == balance {
        outln!("  the journal adds up to the accounts' balances, point for point");
    } else {
        outln!(
            "  MISMATCH: the journal adds up to {} points, the accounts' balances to {}",
            num(total),
            num(balance)
        );
    }
    outln!(
        "  item offers and coupons took {} {currency} off baskets",
        money(outcome.discounts)
    );
    total == balance
}

fn print_rules(program: &Program, outcome: &Outcome) {
    let mut sources: Vec<(&(String, String), &Decimal)> = outcome.earned_by.iter().collect();
    sources.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    outln!();
    outln!("Top rules and promotions by points earned");
    if sources.is_empty() {
        outln!("  none: no points were earned");
    }
    for (i, ((kind, name), points)) in sources.into_iter().take(3).enumerate() {
        let label = match title(program, name) {
            Some(title) => format!("{title} ({kind} {name})"),
            None => format!("{kind} {name}"),
        };
        outln!("  {}. {:<64}{:>9}", i + 1, shorten(&label, 64), num(points));
    }
}

/// The title of a rule or promotion.
fn title<'p>(program: &'p Program, name: &str) -> Option<&'p str> {
    program
        .rules
        .iter()
        .chain(program.promotions.iter().map(|p| &p.accrual))
        .find(|a| &*a.name == name)
        .and_then(|a| a.title.as_deref())
}

fn print_tiers(program: &Program, accounts: &[AccountState], settings: &Settings) {
    let mut tiers: Vec<_> = program.tiers.iter().collect();
    tiers.sort_by_key(|t| t.rank);
    let held = |name: Option<&str>| {
        accounts
            .iter()
            .filter(|a| a.tier.as_ref().map(|t| t.name.as_str()) == name)
            .count()
    };
    let mut parts = vec![format!("no tier {}", num(held(None)))];
    for tier in tiers {
        parts.push(format!("{} {}", tier.name, num(held(Some(&tier.name)))));
    }
    outln!();
    outln!("Tiers at the end ({})", settings.end());
    outln!("  {}", parts.join(", "));
}

/// What the chosen customer's history is drawn from.
struct History<'a> {
    population: &'a Population,
    entries: &'a [JournalEntry],
    outcome: &'a Outcome,
    db: &'a Path,
}

fn print_customer(program: &Program, state: &AccountState, history: &History<'_>) {
    let History {
        population,
        entries,
        outcome,
        db,
    } = *history;
    let transactions: Vec<_> = population
        .transactions
        .iter()
        .filter(|t| t.account == state.id)
        .collect();
    let customer = &state.customer;
    outln!();
    outln!(
        "One customer explained: {}, the most transactions ({})",
        state.id,
        transactions.len()
    );
    let born = customer
        .birth_date
        .map_or_else(|| "unknown".to_string(), |d| d.to_string());
    let enrolled = customer
        .enrolled_at
        .map_or_else(|| "unknown".to_string(), |d| d.to_string());
    let card = customer
        .attributes
        .get("card_type")
        .map_or_else(|| "no card type".to_string(), |c| format!("{c} card"));
    outln!("  born {born}, enrolled {enrolled}, {card}");
    let tier = match &state.tier {
        Some(t) => {
            let until = t
                .until
                .map_or_else(String::new, |u| format!(", kept until {u}"));
            format!("tier {}{until}", t.name)
        }
        None => "no tier".to_string(),
    };
    outln!(
        "  balance {} points: {} available, {} pending; {tier}",
        num(state.balance()),
        num(state.available()),
        num(state.pending())
    );
    let holding: Vec<_> = state
        .lots
        .iter()
        .filter(|l| !l.remaining.is_zero())
        .collect();
    let mut by_source: BTreeMap<&str, Decimal> = BTreeMap::new();
    for lot in &holding {
        *by_source.entry(&lot.source).or_default() += lot.remaining;
    }
    let mut by_points: Vec<(&str, Decimal)> = by_source.into_iter().collect();
    by_points.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let sources: Vec<String> = by_points
        .iter()
        .map(|(source, points)| format!("{source} {}", num(points)))
        .collect();
    outln!(
        "  lots: {} earned, {} still hold points ({} pending): {}",
        state.lots.len(),
        holding.len(),
        holding.iter().filter(|l| l.pending).count(),
        shorten(&sources.join(", "), 50)
    );

    // One line per moment points expired, and one per transaction (its entries together);
    // expiries first, as the ledger applies them before a transaction at the same moment.
    let mut lines = Vec::new();
    let mut expiries: Vec<&JournalEntry> = Vec::new();
    for e in entries.iter().filter(|e| e.kind == EntryKind::Expire) {
        if let Some(first) = expiries.first().filter(|f| f.at != e.at) {
            lines.push((first.at, expiry_line(program, state, &expiries)));
            expiries.clear();
        }
        expiries.push(e);
    }
    if let Some(first) = expiries.first() {
        lines.push((first.at, expiry_line(program, state, &expiries)));
    }
    for t in &transactions {
        let tx = &t.transaction;
        let mine: Vec<&JournalEntry> = entries
            .iter()
            .filter(|e| e.transaction.as_deref() == Some(&*tx.id))
            .collect();
        let what = match &*tx.kind {
            "purchase" => {
                let total: Decimal = tx.lines.iter().map(|l| l.unit_price * l.quantity).sum();
                format!("purchase {}", money(total))
            }
            "refund" => format!(
                "refund of {}",
                t.refund_of.as_deref().unwrap_or("a purchase")
            ),
            other => other.to_string(),
        };
        let net: Decimal = mine.iter().map(|e| e.points).sum();
        let (points, detail) = match outcome.refusals.get(&*tx.id) {
            Some(reason) => (String::new(), format!("REFUSED: {reason}")),
            None if mine.is_empty() && *tx.kind == *"purchase" => {
                ("0".to_string(), "nothing that earns points".to_string())
            }
            None if mine.is_empty() => (String::new(), String::new()),
            None => (signed(net), explain(&mine)),
        };
        let line = format!(
            "  {}  {}  {:<20}{:>6}  {}",
            tx.time.format("%Y-%m-%d %H:%M"),
            tx.id,
            what,
            points,
            detail
        );
        lines.push((tx.time, line));
    }
    lines.sort_by_key(|l| l.0);
    outln!("  history (each transaction's journal entries on one line):");
    let count = lines.len();
    let half = HISTORY_LINES / 2;
    for (i, (_, line)) in lines.iter().enumerate() {
        if count > HISTORY_LINES && i == half {
            outln!(
                "  ... {} more (all of them: puntos account --db {} {})",
                count - 2 * half,
                db.display(),
                state.id
            );
        }
        if count <= HISTORY_LINES || i < half || i >= count - half {
            outln!("{}", shorten(line, 120).trim_end());
        }
    }
}

/// One line for the lots that expired at one moment: how many points, of which rules, earned
/// when.
fn expiry_line(program: &Program, state: &AccountState, expiries: &[&JournalEntry]) -> String {
    let total: Decimal = expiries.iter().map(|e| e.points).sum();
    let mut earned = Vec::new();
    let parts: Vec<String> = expiries
        .iter()
        .map(|e| {
            let lot = state.lots.iter().find(|l| Some(&l.id) == e.lot.as_ref());
            if let Some(lot) = lot {
                let day = lot.earned_at.with_timezone(&program.timezone).date_naive();
                if !earned.contains(&day) {
                    earned.push(day);
                }
            }
            let source = lot.map_or("a lot", |l| l.source.as_str());
            let name = source.split_once(' ').map_or(source, |(_, n)| n);
            format!("{name} {}", num(-e.points))
        })
        .collect();
    let earned: Vec<String> = earned.iter().map(ToString::to_string).collect();
    let at = expiries.first().map(|e| e.at);
    format!(
        "  {}  {:<8}  {:<20}{:>6}  earned {}: {}",
        at.map(|a| a
            .with_timezone(&program.timezone)
            .format("%Y-%m-%d %H:%M")
            .to_string())
            .unwrap_or_default(),
        "",
        "expiry",
        signed(total),
        earned.join(", "),
        parts.join(", ")
    )
}

/// A transaction's journal entries in words: points earned by each rule, spent, taken back,
/// given back.
fn explain(entries: &[&JournalEntry]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut redeemed = Decimal::ZERO;
    let mut reversed = Decimal::ZERO;
    let mut returned = Decimal::ZERO;
    for e in entries {
        match e.kind {
            EntryKind::Earn => {
                let name = e.note.split_once(' ').map_or(e.note.as_str(), |(_, n)| n);
                parts.push(format!("{name} {}", signed(e.points)));
            }
            EntryKind::Redeem => redeemed += e.points,
            EntryKind::Reverse => reversed += e.points,
            EntryKind::Return => returned += e.points,
            _ => {}
        }
    }
    if !redeemed.is_zero() {
        parts.push(format!("paid with {} points", num(-redeemed)));
    }
    if !reversed.is_zero() {
        parts.push(format!("{} earned points taken back", num(-reversed)));
    }
    if !returned.is_zero() {
        parts.push(format!("{} spent points given back", num(returned)));
    }
    parts.join(", ")
}

/// Cuts `text` to `width` characters, marking the cut.
fn shorten(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(3)).collect();
    out.push_str("...");
    out
}

/// Money with two decimals and thousands separated.
fn money(value: Decimal) -> String {
    num(format!("{:.2}", value.round_dp(2)))
}

/// Points with a sign.
fn signed(points: Decimal) -> String {
    if points > Decimal::ZERO {
        format!("+{}", num(points))
    } else {
        num(points)
    }
}

/// A number with its thousands separated by commas: `1234567.5` -> `1,234,567.5`.
fn num(value: impl Display) -> String {
    let text = value.to_string();
    let (sign, rest) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (whole, fraction) = match rest.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (rest, None),
    };
    let digits: Vec<char> = whole.chars().collect();
    let mut grouped = String::new();
    for (i, c) in digits.iter().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(*c);
    }
    match fraction {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}
