//! `puntos`: the command line of the puntos loyalty-points rule engine.

/// Writes a line to standard output; a closed pipe (`puntos demo | head`) ends the output
/// quietly instead of panicking like `println!`.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Writes to standard output, without a newline; see [`outln`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod check;
mod database;
mod db;
mod demo;
mod eval;
mod explain;
mod fmt;
mod input;
mod migrate;
mod programs;

mod rows;
mod simulate;
mod test;

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

/// mimalloc rather than the system's allocator: applying transactions spent about a quarter of
/// its CPU in glibc's malloc and free; with mimalloc the ledger's scale benchmark applies 17%
/// more transactions per second (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EXIT_CODES: &str = "\
Exit codes:
  0  success (warnings do not fail `check`)
  1  the programs have errors, `fmt --check` found files to reformat, `test` had a
     failing scenario, or `eval` refused the transaction
  2  the command could not run: bad arguments, or a file that cannot be read";

/// Write, check and format loyalty programs in the puntos rule language.
#[derive(Debug, Parser)]
#[command(name = "puntos", version, about, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check programs for errors and warnings (files or folders of `.pts` files).
    #[command(after_help = EXIT_CODES)]
    Check {
        /// Files or folders to check.
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
        /// Output format: `human` (rustc-style, to stderr) or `json` (to stdout, for editors).
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Rewrite programs in the canonical layout (`-` formats standard input to standard output).
    #[command(after_help = EXIT_CODES)]
    Fmt {
        /// Files or folders to format.
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
        /// Change nothing; list the files that are not formatted and exit 1 if there are any.
        #[arg(long)]
        check: bool,
    },
    /// Decide one transaction: the points, discounts and coupons, and why.
    #[command(after_help = EXIT_CODES)]
    Eval {
        /// The program: a file, or several files or folders holding its effective-dated versions.
        #[arg(required = true)]
        programs: Vec<std::path::PathBuf>,
        /// The transaction, as JSON.
        #[arg(long)]
        tx: std::path::PathBuf,
        /// The customer's profile, as JSON.
        #[arg(long)]
        customer: Option<std::path::PathBuf>,
        /// The account's state and history, as JSON.
        #[arg(long)]
        account: Option<std::path::PathBuf>,
        /// Explain every rule, promotion, coupon and offer, applied or not.
        #[arg(long)]
        trace: bool,
        /// Output format: `human` or `json`.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Run scenario files (`*.test.toml`): each scenario ok or FAILED, with the diff and trace.
    #[command(after_help = EXIT_CODES)]
    Test {
        /// Scenario files or folders holding them.
        #[arg(default_value = ".")]
        paths: Vec<std::path::PathBuf>,
        /// Run only the scenarios whose name contains this.
        #[arg(long)]
        filter: Option<String>,
        /// Also write every step's context and decision (with its trace), or refusal, to this
        /// file, a JSON line each with the program file that decided: what the WebAssembly
        /// build's tests replay to show they decide the same.
        #[arg(long, value_name = "FILE")]
        record: Option<std::path::PathBuf>,
    },
    /// A tour: the pharmacy program, an embedded SQLite ledger, a synthetic population applied
    /// over a few months, then a report and one customer's explained history.
    Demo {
        /// The database file to create (replaced if it is a puntos database).
        #[arg(long)]
        db: Option<std::path::PathBuf>,
        /// How many customers.
        #[arg(long, default_value_t = 200)]
        customers: usize,
        /// How many months of transactions, from 2026-02-01.
        #[arg(long, default_value_t = 4)]
        months: u32,
        /// The seed: the same seed gives the same population and report.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Replay a history under program A and program B and compare cost, liability and
    /// per-customer outcomes: a summary here, JSON and CSV files in `--out`.
    #[command(after_help = EXIT_CODES, group = clap::ArgGroup::new("source").required(true).multiple(false))]
    Simulate {
        /// Program A (the current one): a file, or files and folders of its versions.
        #[arg(long, required = true, num_args = 1..)]
        a: Vec<std::path::PathBuf>,
        /// Program B (the candidate).
        #[arg(long, num_args = 1.., required_unless_present = "sweep", conflicts_with = "sweep")]
        b: Vec<std::path::PathBuf>,
        /// Instead of B: a parameter sweep. This text of A's one file, found there exactly once
        /// (quote enough of its line: `item.amount / 10 RUB) points`), is replaced by each
        /// `--value` in turn, and every variant is compared with A.
        #[arg(long, requires = "value")]
        sweep: Option<String>,
        /// With --sweep: a value to try (repeat for each).
        #[arg(long, requires = "sweep")]
        value: Vec<String>,
        /// The history: transactions as JSON lines, or CSV by the `.csv` extension (the
        /// formats of `puntos apply`). An account no signup in it opens exists from the start,
        /// with no points (a CRM's extract of customers who joined before it).
        #[arg(long, group = "source")]
        history: Option<std::path::PathBuf>,
        /// Instead of a history: a legacy CRM's export folder (MIGRATION.md); its purchases
        /// and refunds are replayed on the accounts a migration makes of its customers and
        /// cards, as `migrate parallel-run` does.
        #[arg(long, group = "source")]
        legacy: Option<std::path::PathBuf>,
        /// With --legacy: the region national phone numbers are read in (ISO 3166 code).
        #[arg(long, default_value = "RU", requires = "legacy")]
        region: String,
        /// With --legacy: who keeps a phone several customers share.
        #[arg(
            long,
            value_enum,
            default_value_t = PhoneConflict::EarliestRegistered,
            requires = "legacy"
        )]
        phone_conflict: PhoneConflict,
        /// Instead of a history: a synthetic population of this many customers (the
        /// pharmacy chain of `puntos demo`).
        #[arg(long, group = "source")]
        synthetic: Option<usize>,
        /// Months of the synthetic population, from 2026-02-01.
        #[arg(long, default_value_t = 4, requires = "synthetic")]
        months: u32,
        /// The synthetic population's seed.
        #[arg(long, default_value_t = 42, requires = "synthetic")]
        seed: u64,
        /// With --synthetic: purchase days in percent of the chain's usual (150: half as many
        /// again).
        #[arg(long, default_value_t = 100, requires = "synthetic")]
        visits: u32,
        /// With --synthetic: prices in percent of the catalogue's.
        #[arg(long, default_value_t = 100, requires = "synthetic")]
        prices: u32,
        /// With --synthetic: category weights in percent of the usual, such as
        /// `vitamins=200,tobacco=0` (otc, rx, vitamins, cosmetics, baby_care, tobacco,
        /// alcohol, gift_cards).
        #[arg(long, requires = "synthetic")]
        mix: Option<String>,
        /// With --synthetic: no seasons (weekends and March sell like any other day).
        #[arg(long, requires = "synthetic")]
        no_seasons: bool,
        /// Only transactions from this moment: a date (midnight in A's time zone) or an
        /// instant with its offset.
        #[arg(long)]
        from: Option<String>,
        /// Only transactions before this moment, which is also the horizon every account is
        /// brought to (points due by then expire); default: the last transaction's time, or the
        /// end of a synthetic population's period.
        #[arg(long)]
        to: Option<String>,
        /// The folder for report.html, summary.json, months.csv, cohorts.csv, sources.csv and
        /// customers.csv.
        #[arg(long)]
        out: std::path::PathBuf,
        /// How many customers with the largest gains and losses to list.
        #[arg(long, default_value_t = 20)]
        top: usize,
        /// Instead of the history's own requests to spend points: on this share of purchases
        /// (0 to 1, such as 0.3) the customer pays with as many points as the program allows.
        #[arg(long)]
        redeem_share: Option<String>,
        /// With --redeem-share: the seed of the draws (the same seed, the same purchases).
        #[arg(long, default_value_t = 1, requires = "redeem_share")]
        redeem_seed: u64,
    },
    /// Manage the ledger's database.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Apply transactions (JSON lines or CSV) to the ledger; refused rows go to a rejects file.
    #[command(after_help = EXIT_CODES)]
    Apply {
        /// The database: a SQLite file, or a PostgreSQL server's `postgres://` URL (its tables
        /// in the schema named by PUNTOS_PG_SCHEMA, default `puntos`).
        #[arg(long)]
        db: String,
        /// The program: files or folders of its effective-dated versions.
        #[arg(required = true)]
        programs: Vec<std::path::PathBuf>,
        /// The transactions: JSON lines, or CSV with a row per basket line (`.csv`).
        #[arg(long)]
        input: std::path::PathBuf,
        /// Where refused rows go (default: the input's name + `.rejects.jsonl`).
        #[arg(long)]
        rejects: Option<std::path::PathBuf>,
    },
    /// Show an account: balance, lots, tier and its journal, each entry explained.
    Account {
        /// The database: a SQLite file, or a PostgreSQL server's `postgres://` URL (its tables
        /// in the schema named by PUNTOS_PG_SCHEMA, default `puntos`).
        #[arg(long)]
        db: String,
        /// The account's id, card number or alias.
        id: String,
    },
    /// Erase a customer's personal data (privacy law); the pseudonymous ledger stays.
    Erase {
        /// The database: a SQLite file, or a PostgreSQL server's `postgres://` URL (its tables
        /// in the schema named by PUNTOS_PG_SCHEMA, default `puntos`).
        #[arg(long)]
        db: String,
        /// The account's id, card number or alias.
        id: String,
    },
    /// Bring every account to a moment: pending points activate, lots expire (journal entries),
    /// expiry notices go to the outbox. The nightly job; a rerun finishes an interrupted one.
    Advance {
        /// The database: a SQLite file, or a PostgreSQL server's `postgres://` URL.
        #[arg(long)]
        db: String,
        /// The moment, with its UTC offset (`2026-06-01T00:00:00+03:00`).
        #[arg(long)]
        as_of: String,
    },
    /// Add a store (shop, branch) to the registry, or replace it: transactions naming only its
    /// id are decided with its region, city, format and partner.
    Shop {
        /// The database: a SQLite file, or a PostgreSQL server's `postgres://` URL.
        #[arg(long)]
        db: String,
        /// The store's id, as tills send it.
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        id: Option<String>,
        /// A CSV file of stores instead (header `id,region,city,format,partner`; all or none).
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        /// Its region.
        #[arg(long, default_value = "")]
        region: String,
        /// Its city.
        #[arg(long, default_value = "")]
        city: String,
        /// Its format (pharmacy, kiosk, online...).
        #[arg(long, default_value = "")]
        format: String,
        /// The partner brand of the merchant, if any.
        #[arg(long, default_value = "")]
        partner: String,
    },
    /// Issue a loyalty card, or change a card's status (a lost or blocked card is refused at
    /// the till; the account keeps its points).
    Card {
        #[command(subcommand)]
        command: CardCommand,
    },
    /// Check the journal's hash chain: any edited or removed entry is found.
    Verify {
        /// The database: a SQLite file, or a PostgreSQL server's `postgres://` URL (its tables
        /// in the schema named by PUNTOS_PG_SCHEMA, default `puntos`).
        #[arg(long)]
        db: String,
    },
    /// List the events for the CRM not yet acknowledged, as JSON lines.
    Events {
        /// The database: a SQLite file, or a PostgreSQL server's `postgres://` URL (its tables
        /// in the schema named by PUNTOS_PG_SCHEMA, default `puntos`).
        #[arg(long)]
        db: String,
        /// Acknowledge the events up to this sequence number.
        #[arg(long)]
        ack: Option<u64>,
    },
    /// Move a live program from a legacy CRM export (MIGRATION.md): profile it first.
    Migrate {
        #[command(subcommand)]
        command: MigrateCommand,
    },
    /// Explain a diagnostic code, such as `P0203`.
    Explain {
        /// The code.
        code: String,
    },
}

/// `puntos migrate` subcommands.
#[derive(Debug, Subcommand)]
enum MigrateCommand {
    /// The data-quality profile of a legacy export before anything moves: rows, blanks,
    /// malformed rows (file:line, column, reason), duplicate keys, orphans, phone classes,
    /// date ranges, balance sums.
    #[command(after_help = EXIT_CODES)]
    Profile {
        /// The export folder (customers.csv, cards.csv, balances.csv, transactions.csv, and
        /// optionally delta/).
        export: std::path::PathBuf,
        /// The region national phone numbers are read in (ISO 3166 code).
        #[arg(long, default_value = "RU")]
        region: String,
        /// A folder for the machine files: profile.json and rejects.csv.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Identity resolution: every legacy customer and card placed in one group (clean, several
    /// cards, duplicate person, shared phone, no phone, invalid phone, card without customer)
    /// with its new account (keyed by mobile phone, else by card), the action and the reason.
    #[command(after_help = EXIT_CODES)]
    Plan {
        /// The export folder (customers.csv and cards.csv are read).
        export: std::path::PathBuf,
        #[command(flatten)]
        identities: IdentityArgs,
        /// The folder for identity.csv and rejects.csv.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Balance reconciliation: each card's balance recomputed from its history and compared
    /// with the legacy snapshot, every difference classified (duplicate transaction, expiry
    /// not booked, manual adjustment, rounding, unexplained) with its amount. Exits 1 when
    /// points are not conserved.
    #[command(after_help = EXIT_CODES)]
    Reconcile {
        /// The export folder.
        export: std::path::PathBuf,
        #[command(flatten)]
        identities: IdentityArgs,
        /// The legacy program's points lifetime in months (unbooked expiry is told apart only
        /// with it).
        #[arg(long)]
        expiry_months: Option<u32>,
        /// Differences smaller than this many points are rounding.
        #[arg(long, default_value = "1")]
        rounding_tolerance: puntos::Decimal,
        /// The folder for reconciliation.csv, identity.csv and rejects.csv.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// The cutover: the snapshot plus everything after it (history and delta/), each
    /// transaction once; final balances compared with the legacy cutover balances; with --db,
    /// the accounts loaded into the ledger with opening lots, cards, aliases and history (a
    /// second load changes nothing).
    #[command(after_help = EXIT_CODES)]
    Cutover {
        /// The export folder.
        export: std::path::PathBuf,
        #[command(flatten)]
        identities: IdentityArgs,
        /// The cutover moment with its UTC offset (default: the export's latest).
        #[arg(long)]
        at: Option<String>,
        /// The ledger to load into: a SQLite file, or a PostgreSQL server's `postgres://` URL.
        #[arg(long)]
        db: Option<String>,
        /// The folder for cutover.csv, identity.csv and rejects.csv.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// The parallel run: the legacy purchases and refunds replayed through a program and
    /// compared with the legacy points, transaction by transaction and card by card, with the
    /// main mismatch patterns and samples of each.
    #[command(name = "parallel-run", after_help = EXIT_CODES)]
    ParallelRun {
        /// The export folder.
        export: std::path::PathBuf,
        /// The program: a file, or files or folders of its effective-dated versions.
        #[arg(long, required = true)]
        program: Vec<std::path::PathBuf>,
        #[command(flatten)]
        identities: IdentityArgs,
        /// Replay a share of the customers (`1%`), chosen as `migrate run --sample` chooses
        /// them, with all their cards and rows (the replay holds its transactions in memory:
        /// a whole program of millions of cards is tried on a sample); the sample is written to
        /// `sample/` in --out first.
        #[arg(long)]
        sample: Option<String>,
        /// The folder for parallel.csv.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Write a synthetic legacy export of any size with every defect of MIGRATION.md planted
    /// (for trials and benchmarks); what was planted goes to planted.json beside it.
    Generate {
        /// The folder to write the export to.
        #[arg(long)]
        out: std::path::PathBuf,
        /// Customers (cards are about 1.25 per customer).
        #[arg(long, default_value_t = 1000)]
        customers: u64,
        /// Transactions per card on average.
        #[arg(long, default_value_t = 16)]
        transactions_per_card: u32,
        /// The seed: the same seed writes the same files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Every step in one go: profile, identities, reconciliation, cutover; the invariants and
    /// the quality gates of --config checked; then, if all pass, the accounts loaded. A rerun
    /// writes the same files and resumes an interrupted load.
    #[command(after_help = EXIT_CODES)]
    Run {
        /// The export folder.
        export: std::path::PathBuf,
        /// Settings and quality gates (TOML: region, phone_conflict, expiry_months,
        /// rounding_tolerance, [gates]).
        #[arg(long)]
        config: Option<std::path::PathBuf>,
        /// The ledger to load into (default: ledger.db in --out), or a `postgres://` URL.
        #[arg(long)]
        db: Option<String>,
        /// A trial on a share of the customers (`1%`), chosen by a hash of their ids, with all
        /// their cards and rows; the sample is written to `sample/` in --out first.
        #[arg(long)]
        sample: Option<String>,
        /// The folder for summary.json, identity.csv, reconciliation.csv, cutover.csv and
        /// rejects.csv.
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

/// How identities are resolved: the arguments `plan`, `reconcile` and `cutover` share.
#[derive(Debug, clap::Args)]
struct IdentityArgs {
    /// The region national phone numbers are read in (ISO 3166 code).
    #[arg(long, default_value = "RU")]
    region: String,
    /// Who keeps a phone that different people share.
    #[arg(long, value_enum, default_value_t = PhoneConflict::EarliestRegistered)]
    phone_conflict: PhoneConflict,
}

/// `--phone-conflict`: who keeps a shared phone.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum PhoneConflict {
    /// The person registered first.
    EarliestRegistered,
    /// The person with the most cards.
    MostCards,
}

impl From<PhoneConflict> for puntos::migrate::identity::PhonePolicy {
    fn from(p: PhoneConflict) -> Self {
        match p {
            PhoneConflict::EarliestRegistered => Self::EarliestRegistered,
            PhoneConflict::MostCards => Self::MostCards,
        }
    }
}

/// `puntos card` subcommands.
#[derive(Debug, Subcommand)]
enum CardCommand {
    /// Issue a card to an account: its number then finds the account.
    Issue {
        /// The database: a SQLite file, or a PostgreSQL server's `postgres://` URL.
        #[arg(long)]
        db: String,
        /// The account's id, card number or alias.
        account: String,
        /// The new card's number.
        number: String,
        /// When it was issued (YYYY-MM-DD).
        #[arg(long)]
        issued: Option<chrono::NaiveDate>,
    },
    /// Set a card's status.
    Status {
        /// The database: a SQLite file, or a PostgreSQL server's `postgres://` URL.
        #[arg(long)]
        db: String,
        /// The card's number.
        number: String,
        /// The new status.
        status: CardState,
    },
}

/// A card's status, as the command line names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CardState {
    /// In use.
    Active,
    /// Blocked by the program.
    Blocked,
    /// Reported lost by the customer.
    Lost,
}

/// `puntos db` subcommands.
#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Create the database file, or bring its schema up to date.
    Init {
        /// The database: a SQLite file, or a PostgreSQL server's `postgres://` URL (its tables
        /// in the schema named by PUNTOS_PG_SCHEMA, default `puntos`).
        #[arg(long)]
        db: String,
    },
}

/// How diagnostics are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// rustc-style text with the source lines.
    Human,
    /// One JSON document with every diagnostic and its positions.
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check { paths, format } => check::run(&paths, format),
        Command::Fmt { paths, check } => fmt::run(&paths, check),
        Command::Eval {
            programs,
            tx,
            customer,
            account,
            trace,
            format,
        } => eval::run(&eval::Request {
            programs: &programs,
            tx: &tx,
            customer: customer.as_deref(),
            account: account.as_deref(),
            trace,
            format,
        }),
        Command::Test {
            paths,
            filter,
            record,
        } => test::run(&paths, filter.as_deref(), record.as_deref()),
        Command::Demo {
            db,
            customers,
            months,
            seed,
        } => demo::run(db.as_deref(), customers, months, seed),
        Command::Simulate {
            a,
            b,
            sweep,
            value,
            history,
            legacy,
            region,
            phone_conflict,
            synthetic,
            months,
            seed,
            visits,
            prices,
            mix,
            no_seasons,
            from,
            to,
            out,
            top,
            redeem_share,
            redeem_seed,
        } => simulate::run(&simulate::Request {
            a: &a,
            against: match &sweep {
                Some(text) => simulate::Against::Sweep {
                    text,
                    values: &value,
                },
                None => simulate::Against::Program(&b),
            },
            source: match (history, legacy) {
                (Some(path), _) => simulate::Source::File(path),
                (None, Some(export)) => simulate::Source::Legacy {
                    export,
                    region,
                    policy: phone_conflict.into(),
                },
                (None, None) => simulate::Source::Synthetic {
                    settings: puntos::synth::Settings {
                        customers: synthetic.unwrap_or_default(),
                        months,
                        seed,
                        mix: puntos::synth::Mix {
                            visits_percent: visits,
                            prices_percent: prices,
                            seasonal: !no_seasons,
                            ..puntos::synth::Mix::default()
                        },
                        ..puntos::synth::Settings::default()
                    },
                    categories: mix,
                },
            },
            from: from.as_deref(),
            to: to.as_deref(),
            out: &out,
            top,
            redeem_share: redeem_share.as_deref(),
            redeem_seed,
        }),
        Command::Db {
            command: DbCommand::Init { db },
        } => db::init(&db),
        Command::Apply {
            db,
            programs,
            input,
            rejects,
        } => db::apply(&db, &programs, &input, rejects.as_deref()),
        Command::Account { db, id } => db::account(&db, &id),
        Command::Erase { db, id } => db::erase(&db, &id),
        Command::Verify { db } => db::verify(&db),
        Command::Advance { db, as_of } => db::advance(&db, &as_of),
        Command::Shop {
            db,
            file: Some(file),
            ..
        } => db::register_shop_file(&db, &file),
        Command::Shop {
            db,
            id,
            region,
            city,
            format,
            partner,
            ..
        } => db::register_shop(
            &db,
            &puntos::eval::Store {
                id: id.unwrap_or_default().into(),
                region: region.into(),
                city: city.into(),
                format: format.into(),
                partner: partner.into(),
            },
        ),
        Command::Card {
            command:
                CardCommand::Issue {
                    db,
                    account,
                    number,
                    issued,
                },
        } => db::issue_card(&db, &account, &number, issued),
        Command::Card {
            command: CardCommand::Status { db, number, status },
        } => db::card_status(&db, &number, status),
        Command::Events { db, ack } => db::events(&db, ack),
        Command::Migrate {
            command:
                MigrateCommand::Profile {
                    export,
                    region,
                    out,
                },
        } => migrate::profile(&export, &region, out.as_deref()),
        Command::Migrate {
            command:
                MigrateCommand::Plan {
                    export,
                    identities,
                    out,
                },
        } => migrate::plan(
            &export,
            &identities.region,
            identities.phone_conflict.into(),
            &out,
        ),
        Command::Migrate {
            command:
                MigrateCommand::Reconcile {
                    export,
                    identities,
                    expiry_months,
                    rounding_tolerance,
                    out,
                },
        } => migrate::reconcile(&migrate::ReconcileRequest {
            export: &export,
            region: &identities.region,
            policy: identities.phone_conflict.into(),
            expiry_months,
            rounding_tolerance,
            out: &out,
        }),
        Command::Migrate {
            command:
                MigrateCommand::Cutover {
                    export,
                    identities,
                    at,
                    db,
                    out,
                },
        } => migrate::cutover(&migrate::CutoverRequest {
            export: &export,
            region: &identities.region,
            policy: identities.phone_conflict.into(),
            at: at.as_deref(),
            db: db.as_deref(),
            out: &out,
        }),
        Command::Migrate {
            command:
                MigrateCommand::Run {
                    export,
                    config,
                    db,
                    sample,
                    out,
                },
        } => migrate::run(
            &export,
            config.as_deref(),
            sample.as_deref(),
            db.as_deref(),
            &out,
        ),
        Command::Migrate {
            command:
                MigrateCommand::Generate {
                    out,
                    customers,
                    transactions_per_card,
                    seed,
                },
        } => migrate::generate(&out, customers, transactions_per_card, seed),
        Command::Migrate {
            command:
                MigrateCommand::ParallelRun {
                    export,
                    program,
                    identities,
                    sample,
                    out,
                },
        } => migrate::parallel_run(&migrate::ParallelRequest {
            export: &export,
            programs: &program,
            region: &identities.region,
            policy: identities.phone_conflict.into(),
            sample: sample.as_deref(),
            out: &out,
        }),
        Command::Explain { code } => explain(&code),
    };
    ExitCode::from(code)
}

fn explain(code: &str) -> u8 {
    match code.parse::<puntos_dsl::Code>() {
        Ok(code) => {
            let severity = match code.severity() {
                puntos_dsl::Severity::Error => "error",
                puntos_dsl::Severity::Warning => "warning",
            };
            outln!("{} ({severity}): {}", code.id(), code.summary());
            0
        }
        Err(()) => {
            eprintln!("error: `{code}` is not a puntos diagnostic code (they look like `P0203`)");
            2
        }
    }
}
