//! The ledger on a database (a SQLite file or a PostgreSQL server): `puntos db init`, `apply`,
//! `account`, `verify`, `events`, `erase`.

use crate::database::{open, shown, Database};
use crate::programs::load_versions;
use crate::rows;
use puntos::ledger::{audit, verify as verify_chain, Applied, Card, CardStatus, Ledger, Store};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Transactions applied per commit: one commit per row would make the database the bottleneck
/// (2,000 rather than 500: 12.5k rather than 11k transactions/s at 30,000 customers, BENCHMARKS.md);
/// an interruption loses at most the batch being written and the one being decided, which the
/// next run applies again.
const BATCH: usize = 2_000;

/// What `apply` did so far.
#[derive(Default)]
struct Tally {
    applied: u64,
    duplicates: u64,
    rejected: u64,
}

/// The rejects file, created on the first rejected row.
struct Rejects {
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl Rejects {
    fn write(&mut self, row: &Unread, reason: &str) -> Result<(), String> {
        let record = serde_json::json!({ "line": row.line, "reason": reason, "row": row.raw });
        let failed = |e: std::io::Error| format!("cannot write `{}`: {e}", self.path.display());
        let file = match &mut self.file {
            Some(f) => f,
            None => self
                .file
                .insert(std::fs::File::create(&self.path).map_err(failed)?),
        };
        writeln!(file, "{record}").map_err(|e| format!("cannot write rejects: {e}"))
    }
}

/// What the rejects file needs of a row: where it was and what it said.
struct Unread {
    line: u64,
    raw: String,
}

/// A batch of rows once its transactions are handed to the ledger: each row as the rejects
/// file needs it, which rows the ledger has (in its order), and the rows that could not be
/// read, with why.
struct Gathered {
    rows: Vec<Unread>,
    positions: Vec<usize>,
    refused: Vec<(usize, String)>,
}

/// Splits a batch of rows into the transactions for the ledger and what is kept of the rows.
fn gather(rows: Vec<rows::Row>) -> (Vec<puntos::ledger::Incoming>, Gathered) {
    let mut readable = Vec::with_capacity(rows.len());
    let mut gathered = Gathered {
        rows: Vec::with_capacity(rows.len()),
        positions: Vec::with_capacity(rows.len()),
        refused: Vec::new(),
    };
    for (i, row) in rows.into_iter().enumerate() {
        match row.incoming {
            Ok(incoming) => {
                readable.push(incoming);
                gathered.positions.push(i);
            }
            Err(reason) => gathered.refused.push((i, reason)),
        }
        gathered.rows.push(Unread {
            line: row.line,
            raw: row.raw,
        });
    }
    (readable, gathered)
}

/// Counts a batch's results and writes its unreadable and refused rows to the rejects file,
/// in the input's order.
fn settle(
    gathered: Gathered,
    results: Vec<Result<Applied, puntos::ledger::LedgerError>>,
    tally: &mut Tally,
    rejects: &mut Rejects,
) -> Result<(), String> {
    let Gathered {
        rows,
        positions,
        mut refused,
    } = gathered;
    for (result, i) in results.into_iter().zip(positions) {
        match result {
            Ok(Applied::New(_)) => tally.applied += 1,
            Ok(Applied::Duplicate(_)) => tally.duplicates += 1,
            Err(e) => refused.push((i, e.to_string())),
        }
    }
    refused.sort_by_key(|(i, _)| *i);
    for (i, reason) in refused {
        tally.rejected += 1;
        if let Some(row) = rows.get(i) {
            rejects.write(row, &reason)?;
        }
    }
    Ok(())
}

/// Why `apply` stopped: the store failed, or the rejects file could not be written.
struct Stop(String);

impl From<puntos::ledger::StoreError> for Stop {
    fn from(e: puntos::ledger::StoreError) -> Stop {
        Stop(e.to_string())
    }
}

/// Applies the rows of `input` in batches of [`BATCH`]: a thread reads and parses them while
/// the ledger decides and writes (itself on two threads, `Ledger::apply_batches`).
fn apply_file(
    ledger: &mut Ledger<Database>,
    input: &Path,
    progress: &indicatif::ProgressBar,
    tally: &mut Tally,
    rejects: &mut Rejects,
) -> Result<(), String> {
    std::thread::scope(|scope| {
        // Two batches read ahead at most: reading is faster than applying.
        let (send, batches) = std::sync::mpsc::sync_channel::<Vec<rows::Row>>(2);
        let reader = scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            rows::read(
                input,
                |row| {
                    batch.push(row);
                    if batch.len() >= BATCH {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                        // The ledger stopped (it says why); reading stops too.
                        send.send(full).map_err(|_| String::new())?;
                    }
                    Ok(())
                },
                |bytes| progress.inc(bytes),
            )?;
            if !batch.is_empty() {
                send.send(batch).map_err(|_| String::new())?;
            }
            Ok::<(), String>(())
        });
        let applied = ledger.apply_batches(batches.into_iter().map(gather), |gathered, results| {
            settle(gathered, results, tally, rejects).map_err(Stop)
        });
        let read = reader
            .join()
            .unwrap_or_else(|_| Err("the thread reading the input stopped".to_string()));
        match (applied, read) {
            (Err(Stop(message)), _) => Err(message),
            (Ok(()), read) => read,
        }
    })
}

/// `puntos db init`: creates the database, or brings its schema up to date.
pub fn init(db: &str) -> u8 {
    match open(db) {
        Ok(mut store) => {
            let version = store.schema_version().unwrap_or_default();
            outln!("{}: ready (schema version {version})", shown(db));
            0
        }
        Err(code) => code,
    }
}

/// `puntos apply`: applies a file of transactions (JSON lines, or CSV; see [`rows`]) in order. Rows that
/// cannot be read or are refused go to the rejects file with their line and reason; everything
/// else stays applied. Running it again after an interruption resumes: rows applied before are
/// recognised by their id and skipped.
pub fn apply(db: &str, programs: &[PathBuf], input: &Path, rejects: Option<&Path>) -> u8 {
    let versions = match load_versions(programs) {
        Ok(v) => v,
        Err(failed) => return failed.exit,
    };
    let store = match open(db) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let size = std::fs::metadata(input).map(|m| m.len()).unwrap_or(0);
    let rejects_path = rejects.map_or_else(
        || PathBuf::from(format!("{}.rejects.jsonl", input.display())),
        Path::to_path_buf,
    );
    let mut ledger = Ledger::new(store, versions);
    let progress = indicatif::ProgressBar::new(size);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {per_sec} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut tally = Tally::default();
    let mut rejects = Rejects {
        path: rejects_path.clone(),
        file: None,
    };
    let outcome = apply_file(&mut ledger, input, &progress, &mut tally, &mut rejects);
    let Tally {
        applied,
        duplicates,
        rejected,
    } = tally;
    if let Err(message) = outcome {
        progress.finish_and_clear();
        eprintln!("error: {message}");
        outln!(
            "applied {applied}, already applied {duplicates}, rejected {rejected} before stopping"
        );
        return 2;
    }
    progress.finish_and_clear();
    outln!("applied {applied}, already applied {duplicates}, rejected {rejected}");
    if rejected > 0 {
        outln!(
            "rejected rows, with their line and reason: {}",
            rejects_path.display()
        );
    }
    u8::from(rejected > 0)
}

/// `puntos account`: an account's balance, lots and journal, each entry explained.
pub fn account(db: &str, id: &str) -> u8 {
    let mut store = match open(db) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let result = store.atomically(|session| {
        let Some(state) = session.account(id)? else {
            return Ok(None);
        };
        let entries = session.journal(Some(&state.id), 0, usize::MAX)?;
        Ok::<_, puntos::ledger::StoreError>(Some((state, entries)))
    });
    match result {
        Ok(Some((state, entries))) => {
            out!("{}", crate::explain::account_text(&state, &entries));
            0
        }
        Ok(None) => {
            eprintln!("error: no account has the id or alias `{id}`");
            1
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

/// `puntos verify`: checks the journal's hash chain, then rebuilds every account from the
/// journal alone and compares it with the stored state, lot by lot.
pub fn verify(db: &str) -> u8 {
    /// Differences listed; the rest are counted.
    const SHOWN: usize = 20;
    let mut store = match open(db) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match verify_chain(&mut store) {
        Ok(Ok(count)) => outln!("journal intact: {count} entries, hash chain verified"),
        Ok(Err(broken)) => {
            outln!("journal BROKEN: {broken}");
            return 1;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    }
    match audit(&mut store) {
        Ok(audit) if audit.differences.is_empty() => {
            outln!(
                "accounts: {} rebuilt from the journal, every lot as stored",
                audit.accounts
            );
            0
        }
        Ok(audit) => {
            outln!(
                "accounts: {} rebuilt from the journal, {} DIFFERENCES from the stored state:",
                audit.accounts,
                audit.differences.len()
            );
            for (account, difference) in audit.differences.iter().take(SHOWN) {
                outln!("  {account}: {difference}");
            }
            if audit.differences.len() > SHOWN {
                outln!("  ... {} more", audit.differences.len() - SHOWN);
            }
            1
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

/// `puntos events`: unacknowledged events for the CRM as JSON lines; `--ack N` acknowledges
/// those up to N.
pub fn events(db: &str, ack: Option<u64>) -> u8 {
    let mut store = match open(db) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let result = store.atomically(|session| {
        if let Some(seq) = ack {
            session.acknowledge(seq)?;
            return Ok(Vec::new());
        }
        session.pending_events(usize::MAX)
    });
    match result {
        Ok(events) => {
            for event in events {
                match serde_json::to_string(&event) {
                    Ok(json) => outln!("{json}"),
                    Err(e) => {
                        eprintln!("error: {e}");
                        return 2;
                    }
                }
            }
            if let Some(seq) = ack {
                outln!("acknowledged events up to {seq}");
            }
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

/// `puntos erase`: removes a customer's personal data, keeps the pseudonymous ledger.
pub fn erase(db: &str, id: &str) -> u8 {
    // Erasure changes no points, so no program is needed.
    let mut ledger = match bare_ledger(db) {
        Ok(l) => l,
        Err(code) => return code,
    };
    match ledger.erase(id) {
        Ok(state) => {
            outln!(
                "erased the personal data of account {}; its {} points and journal remain",
                state.id,
                state.balance()
            );
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// A ledger over `db` for the commands that change no points: no program is needed.
pub(crate) fn bare_ledger(db: &str) -> Result<Ledger<Database>, u8> {
    let store = open(db)?;
    let versions = puntos::Versions::new(Vec::new()).map_err(|e| {
        eprintln!("error: {e}");
        2
    })?;
    Ok(Ledger::new(store, versions))
}

/// `puntos card issue`: issues a card to an account.
pub fn issue_card(db: &str, account: &str, number: &str, issued: Option<chrono::NaiveDate>) -> u8 {
    let mut ledger = match bare_ledger(db) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let card = Card {
        number: number.to_string(),
        status: CardStatus::Active,
        issued,
    };
    match ledger.issue_card(account, card) {
        Ok(state) => {
            outln!("card {number} issued to account {}", state.id);
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// `puntos card status`: blocks a card, marks it lost, or makes it active again.
pub fn card_status(db: &str, number: &str, status: crate::CardState) -> u8 {
    let mut ledger = match bare_ledger(db) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let status = match status {
        crate::CardState::Active => CardStatus::Active,
        crate::CardState::Blocked => CardStatus::Blocked,
        crate::CardState::Lost => CardStatus::Lost,
    };
    match ledger.set_card_status(number, status) {
        Ok(state) => {
            outln!(
                "card {number} of account {} is {}",
                state.id,
                status.as_str()
            );
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// `puntos advance`: brings every account to `as_of`.
pub fn advance(db: &str, as_of: &str) -> u8 {
    let moment = match puntos::eval::parse_instant(as_of) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: --as-of: {e}");
            return 2;
        }
    };
    let mut ledger = match bare_ledger(db) {
        Ok(l) => l,
        Err(code) => return code,
    };
    match ledger.advance_all(moment) {
        Ok(done) => {
            outln!(
                "advanced {} accounts to {as_of}: {} pending lots became available, {} points expired, {} expiry notices",
                done.accounts,
                done.activated,
                done.expired,
                done.notices
            );
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// `puntos shop`: adds a store to the registry, or replaces it.
pub fn register_shop(db: &str, shop: &puntos::eval::Store) -> u8 {
    let mut ledger = match bare_ledger(db) {
        Ok(l) => l,
        Err(code) => return code,
    };
    match ledger.register_shop(shop) {
        Ok(()) => {
            outln!("store {} registered", shop.id);
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// `puntos shop --file`: registers every store of a CSV file in one unit, or none: a row that
/// cannot be read is named with its line.
pub fn register_shop_file(db: &str, file: &Path) -> u8 {
    let shops = match read_shops(file) {
        Ok(shops) => shops,
        Err(message) => {
            eprintln!("error: {message}");
            return 1;
        }
    };
    let mut ledger = match bare_ledger(db) {
        Ok(l) => l,
        Err(code) => return code,
    };
    match ledger.register_shops(&shops) {
        Ok(()) => {
            outln!("{} stores registered from {}", shops.len(), file.display());
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// The stores of a CSV file, or the first row that cannot be read, with its line.
fn read_shops(file: &Path) -> Result<Vec<puntos::eval::Store>, String> {
    let mut reader = csv::Reader::from_path(file)
        .map_err(|e| format!("cannot read `{}`: {e}", file.display()))?;
    let mut shops = Vec::new();
    for row in reader.deserialize::<puntos::eval::Store>() {
        let shop = row.map_err(|e| {
            let line = e.position().map_or(0, csv::Position::line);
            format!("{}:{line}: {e}", file.display())
        })?;
        shops.push(shop);
    }
    Ok(shops)
}
