//! Synthetic legacy exports of any size, with every defect of MIGRATION.md planted at a known
//! rate, for tests and the scale benchmark. The files are written as they are generated, a
//! customer at a time, so memory does not grow with the size. The same settings and seed give
//! the same files byte for byte, and [`Planted`] counts what was planted, so a run's findings
//! can be checked against it.
//!
//! Per customer: a phone (mobile in one of three spellings; blank, `n/a`, too short, not a
//! number, a landline, or foreign at small rates), sometimes another person's phone (a shared
//! phone) or a second registration of the same person; one to three cards; each card's history
//! of purchases, redemptions, refunds and adjustments, and its snapshot balance, which carries
//! one planted difference at small rates (a purchase exported twice and counted twice, old
//! points expired without an expiry row, a manual adjustment left out, a rounding, an
//! unexplained gap). Around them: cards nobody registered or of unknown customers, exact and
//! conflicting duplicate rows, malformed rows, and a delta after the snapshot with the legacy
//! cutover balances (a few of which disagree).

use super::export::ExportFile;
use super::MigrateError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use serde::Serialize;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateSettings {
    /// Customers (cards are about 1.25 per customer).
    pub customers: u64,
    /// Transactions per card on average.
    pub transactions_per_card: u32,
    /// The seed.
    pub seed: u64,
}

/// What was planted, to check a run's findings against.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Planted {
    /// Customer rows (duplicates and malformed rows not counted).
    pub customers: u64,
    /// Card rows (duplicates not counted), orphans included.
    pub cards: u64,
    /// Transaction rows in the history, as written (every duplicate and malformed row counted).
    pub transaction_rows: u64,
    /// History rows repeated exactly.
    pub exact_duplicates: u64,
    /// History rows repeating an id with other points.
    pub conflicting_duplicates: u64,
    /// History rows that cannot be read.
    pub malformed: u64,
    /// Customers registered a second time (same name, birth date and phone).
    pub duplicate_people: u64,
    /// Customers given another person's phone.
    pub shared_phones: u64,
    /// Cards nobody registered.
    pub cards_without_customer: u64,
    /// Cards of customers the export lacks.
    pub cards_of_unknown_customer: u64,
    /// Cards per planted difference class: match, duplicate_transaction, expiry_not_booked,
    /// manual_adjustment, rounding, unexplained.
    pub classes: [u64; 6],
    /// Delta rows (after the snapshot).
    pub delta_rows: u64,
    /// Cards whose legacy cutover balance disagrees with snapshot + delta.
    pub cutover_mismatches: u64,
}

/// The snapshot moment.
const AS_OF: &str = "2025-01-31T23:59:59+03:00";

const FIRST: [&str; 8] = [
    "Ivan", "Olga", "Pavel", "Nina", "Sergey", "Maria", "Dmitry", "Elena",
];
const LAST: [&str; 8] = [
    "Petrov",
    "Sidorova",
    "Orlov",
    "Kuznetsova",
    "Volkov",
    "Morozova",
    "Lebedev",
    "Popova",
];

/// Customer `i`'s name.
fn name_of(i: u64) -> String {
    let pick = |list: &[&'static str], k: u64| -> &'static str {
        usize::try_from(k)
            .ok()
            .and_then(|k| list.get(k % list.len()))
            .copied()
            .unwrap_or_default()
    };
    format!("{} {}", pick(&FIRST, i), pick(&LAST, i / 8))
}

/// Customer `i`'s birth date.
fn birth_of(i: u64) -> String {
    format!("19{}-0{}-1{}", 50 + i % 50, 1 + i % 9, i % 10)
}

/// CSV writers of one export.
struct Writers {
    customers: csv::Writer<BufWriter<File>>,
    cards: csv::Writer<BufWriter<File>>,
    balances: csv::Writer<BufWriter<File>>,
    transactions: csv::Writer<BufWriter<File>>,
    delta: csv::Writer<BufWriter<File>>,
    delta_balances: csv::Writer<BufWriter<File>>,
}

fn writer(path: &Path, header: &[&str]) -> Result<csv::Writer<BufWriter<File>>, MigrateError> {
    let failed = |e: std::io::Error| MigrateError::Write {
        path: path.to_path_buf(),
        source: e,
    };
    let file = File::create(path).map_err(failed)?;
    let mut w = csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, file));
    w.write_record(header)
        .map_err(|e| failed(std::io::Error::other(e.to_string())))?;
    Ok(w)
}

/// A written row, or the error naming the file.
fn put(w: &mut csv::Writer<BufWriter<File>>, row: &[&str]) -> Result<(), MigrateError> {
    w.write_record(row).map_err(|e| MigrateError::Write {
        path: "export".into(),
        source: std::io::Error::other(e.to_string()),
    })
}

/// A moment `days` days and `minutes` minutes after 2015-01-01 in Moscow time.
fn moment(days: u32, minutes: u32) -> String {
    let base = chrono::NaiveDate::from_ymd_opt(2015, 1, 1).unwrap_or_default();
    let date = base + chrono::Days::new(u64::from(days));
    format!(
        "{date}T{:02}:{:02}:00+03:00",
        (minutes / 60) % 24,
        minutes % 60
    )
}

/// Days from 2015-01-01 to the snapshot (2025-01-31) and to a year before it.
const SNAPSHOT_DAY: u32 = 3683;
const YEAR_BEFORE: u32 = 3317;

/// A transaction row, in the export's column order.
struct Tx<'a> {
    id: String,
    card: &'a str,
    at: String,
    store: String,
    kind: &'a str,
    amount: Option<Decimal>,
    earned: i64,
    redeemed: i64,
    original: Option<String>,
}

impl Tx<'_> {
    /// A purchase of `points` points (ten roubles a point) at `day`, noon.
    fn purchase<'a>(id: String, card: &'a str, day: u32, store: &str, points: i64) -> Tx<'a> {
        Tx {
            id,
            card,
            at: moment(day, 720),
            store: store.to_string(),
            kind: "purchase",
            amount: Some(Decimal::new(points * 1000, 2)),
            earned: points,
            redeemed: 0,
            original: None,
        }
    }

    /// Its fields as written.
    fn row(self) -> [String; 9] {
        [
            self.id,
            self.card.to_string(),
            self.at,
            self.store,
            self.kind.to_string(),
            self.amount.map_or(String::new(), |a| a.to_string()),
            self.earned.to_string(),
            self.redeemed.to_string(),
            self.original.unwrap_or_default(),
        ]
    }
}

/// One card's history as generated.
struct History {
    rows: Vec<[String; 9]>,
    net: Decimal,
}

/// Generates an export into `folder` (created if needed).
pub fn generate(folder: &Path, settings: &GenerateSettings) -> Result<Planted, MigrateError> {
    let delta_folder = folder.join("delta");
    std::fs::create_dir_all(&delta_folder).map_err(|source| MigrateError::Write {
        path: delta_folder.clone(),
        source,
    })?;
    let open = |dir: &Path, file: ExportFile| writer(&dir.join(file.file_name()), file.columns());
    let w = Writers {
        customers: open(folder, ExportFile::Customers)?,
        cards: open(folder, ExportFile::Cards)?,
        balances: open(folder, ExportFile::Balances)?,
        transactions: open(folder, ExportFile::Transactions)?,
        delta: open(&delta_folder, ExportFile::Transactions)?,
        delta_balances: open(&delta_folder, ExportFile::Balances)?,
    };
    let mut g = Generator {
        w,
        rng: ChaCha8Rng::seed_from_u64(settings.seed),
        settings,
        planted: Planted::default(),
        next_card: 0,
        next_tx: 0,
    };
    let mut previous: Option<(String, String, String, u32)> = None;
    for i in 0..settings.customers {
        let id = format!("P{i:08}");
        let roll = g.rng.random_range(0..1000u32);
        let created = g.rng.random_range(0..3000u32);
        let (name, birth, phone) = match (&previous, roll) {
            (Some((name, birth, phone, _)), 0..10) => {
                g.planted.duplicate_people += 1;
                (name.clone(), birth.clone(), phone.clone())
            }
            (Some((_, _, phone, _)), 10..20) => {
                g.planted.shared_phones += 1;
                (name_of(i), birth_of(i), phone.clone())
            }
            _ => {
                let number = 1_000_000 + i % 9_000_000;
                let phone = match roll {
                    20..50 => String::new(),
                    50..60 => "n/a".to_string(),
                    60..80 => format!("9{}", number % 100_000_000),
                    80..90 => "call me".to_string(),
                    90..100 => format!("+7 812 {number}"),
                    100..105 => format!("+44 7911 {}", number % 1_000_000),
                    _ => match i % 3 {
                        0 => format!("+7 916 {number}"),
                        1 => format!("8 (916) {number}"),
                        _ => format!("916{number}"),
                    },
                };
                (name_of(i), birth_of(i), phone)
            }
        };
        put(
            &mut g.w.customers,
            &[
                &id,
                &name,
                &birth,
                &phone,
                "",
                if roll % 2 == 0 { "1" } else { "0" },
                "0",
                &moment(created, 600),
                "active",
            ],
        )?;
        g.planted.customers += 1;
        previous = Some((name, birth, phone, created));
        let cards = match g.rng.random_range(0..100u32) {
            0..80 => 1,
            80..95 => 2,
            _ => 3,
        };
        for _ in 0..cards {
            card(&mut g, Some(&id), created)?;
        }
    }
    // Cards nobody registered, and cards of customers the export lacks.
    for k in 0..(settings.customers / 200).max(1) {
        g.planted.cards_without_customer += 1;
        card(&mut g, None, 0)?;
        if k % 2 == 0 {
            g.planted.cards_of_unknown_customer += 1;
            let owner = format!("X{k:08}");
            card(&mut g, Some(&owner), 0)?;
        }
    }
    for wr in [
        &mut g.w.customers,
        &mut g.w.cards,
        &mut g.w.balances,
        &mut g.w.transactions,
        &mut g.w.delta,
        &mut g.w.delta_balances,
    ] {
        wr.flush().map_err(|source| MigrateError::Write {
            path: folder.to_path_buf(),
            source,
        })?;
    }
    Ok(g.planted)
}

/// An export being written: its files, its random stream, what it planted so far and the
/// next card and transaction numbers.
struct Generator<'s> {
    w: Writers,
    rng: ChaCha8Rng,
    settings: &'s GenerateSettings,
    planted: Planted,
    next_card: u64,
    next_tx: u64,
}

/// Writes one card: its row, its history, its snapshot balance, and its delta.
fn card(g: &mut Generator<'_>, owner: Option<&str>, created: u32) -> Result<(), MigrateError> {
    let Generator {
        w,
        rng,
        settings,
        planted,
        next_card,
        next_tx,
    } = g;
    let number = format!("C{:010}", *next_card);
    *next_card += 1;
    let status = match rng.random_range(0..100u32) {
        0..3 => "blocked",
        3..5 => "lost",
        _ => "active",
    };
    put(
        &mut w.cards,
        &[&number, owner.unwrap_or(""), status, &moment(created, 700)],
    )?;
    planted.cards += 1;
    // The planted difference: 0 match, 1 duplicate transaction, 2 expiry not booked,
    // 3 manual adjustment, 4 rounding, 5 unexplained.
    let class = match rng.random_range(0..1000u32) {
        0..10 => 1,
        10..20 => 2,
        20..30 => 3,
        30..35 => 4,
        35..40 => 5,
        _ => 0,
    };
    if let Some(n) = planted.classes.get_mut(class) {
        *n += 1;
    }
    let mut tx_id = || {
        *next_tx += 1;
        format!("T{:012}", *next_tx)
    };
    // Planted expiries and adjustments need a history inside the last year with no debits.
    let quiet = class == 2 || class == 3;
    let first_day = if quiet {
        YEAR_BEFORE + 1
    } else {
        created.min(YEAR_BEFORE)
    };
    let count = rng.random_range(0..=2 * settings.transactions_per_card);
    let mut history = History {
        rows: Vec::with_capacity(count as usize + 2),
        net: Decimal::ZERO,
    };
    let mut balance = 0i64;
    let mut purchases: Vec<(String, i64)> = Vec::new();
    for k in 0..count {
        let day = first_day + (SNAPSHOT_DAY - 1 - first_day) * k / count.max(1);
        let at = moment(day, rng.random_range(480..1320));
        let roll = rng.random_range(0..100u32);
        let (kind, amount, earned, redeemed, original) = if quiet || roll < 75 || balance == 0 {
            let cents = rng.random_range(10_000..500_000i64);
            let points = cents / 1000;
            ("purchase", Some(Decimal::new(cents, 2)), points, 0, None)
        } else if roll < 90 {
            let points = rng.random_range(1..=balance);
            ("redemption", None, 0, points, None)
        } else if roll < 97 {
            let Some((original, points)) = purchases.last().cloned() else {
                continue;
            };
            let back = points.min(balance);
            (
                "refund",
                Some(Decimal::new(back * 1000, 2)),
                0,
                back,
                Some(original),
            )
        } else if class == 0 {
            (
                "adjustment",
                None,
                rng.random_range(-5..=20i64).max(-balance),
                0,
                None,
            )
        } else {
            continue;
        };
        let id = tx_id();
        if kind == "purchase" {
            purchases.push((id.clone(), earned));
        }
        balance += earned - redeemed;
        history.net += Decimal::from(earned - redeemed);
        let store = format!("S{:04}", rng.random_range(0..1700u32));
        history.rows.push(
            Tx {
                id,
                card: &number,
                at,
                store,
                kind,
                amount,
                earned,
                redeemed,
                original,
            }
            .row(),
        );
    }
    let legacy = match class {
        1 => {
            // A purchase exported twice; the legacy balance counted it twice.
            let points = rng.random_range(10..200i64);
            let row = Tx::purchase(tx_id(), &number, SNAPSHOT_DAY - 10, "S0001", points).row();
            history.net += Decimal::from(points);
            history.rows.push(row.clone());
            history.rows.push(row);
            planted.exact_duplicates += 1;
            history.net + Decimal::from(points)
        }
        2 => {
            // Old points the legacy system expired without an expiry row.
            let points = rng.random_range(10..200i64);
            let row = Tx::purchase(tx_id(), &number, YEAR_BEFORE - 100, "S0002", points).row();
            history.rows.insert(0, row);
            history.net += Decimal::from(points);
            history.net - Decimal::from(points)
        }
        3 => {
            // A manual adjustment the snapshot leaves out.
            let points = rng.random_range(5..50i64);
            let adjustment = Tx {
                kind: "adjustment",
                amount: None,
                ..Tx::purchase(tx_id(), &number, SNAPSHOT_DAY - 5, "S0003", points)
            };
            history.rows.push(adjustment.row());
            history.net += Decimal::from(points);
            history.net - Decimal::from(points)
        }
        4 => history.net - Decimal::new(4, 1),
        5 => history.net + Decimal::from(17),
        _ => history.net,
    };
    for row in &history.rows {
        put(&mut w.transactions, &row.each_ref().map(String::as_str))?;
        planted.transaction_rows += 1;
    }
    // Now and then a row repeating an id with other points, or a row that cannot be read.
    if let Some(first) = history.rows.first() {
        match rng.random_range(0..1000u32) {
            0..2 => {
                let mut other = first.clone();
                other[6] = format!("{}1", other[6]);
                put(&mut w.transactions, &other.each_ref().map(String::as_str))?;
                planted.transaction_rows += 1;
                planted.conflicting_duplicates += 1;
            }
            2..4 => {
                let id = tx_id();
                put(
                    &mut w.transactions,
                    &[
                        &id,
                        &number,
                        "2024-13-45T00:00:00+03:00",
                        "S0",
                        "purchase",
                        "abc",
                        "1",
                        "0",
                        "",
                    ],
                )?;
                planted.transaction_rows += 1;
                planted.malformed += 1;
            }
            _ => {}
        }
    }
    put(&mut w.balances, &[&number, &legacy.to_string(), AS_OF])?;
    // A delta after the snapshot for one card in ten, and the legacy cutover balance.
    if rng.random_range(0..10u32) == 0 {
        let points = rng.random_range(1..100i64);
        let row = Tx::purchase(tx_id(), &number, SNAPSHOT_DAY + 3, "S0004", points).row();
        put(&mut w.delta, &row.each_ref().map(String::as_str))?;
        planted.delta_rows += 1;
        let mismatch = rng.random_range(0..20u32) == 0;
        planted.cutover_mismatches += u64::from(mismatch);
        let cutover = legacy + Decimal::from(points) + Decimal::from(i64::from(mismatch) * 5);
        put(
            &mut w.delta_balances,
            &[&number, &cutover.to_string(), "2025-02-10T00:00:00+03:00"],
        )?;
    }
    Ok(())
}
