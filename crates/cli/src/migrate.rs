//! `puntos migrate …`: moving a live program from a legacy CRM (MIGRATION.md). Each step is a
//! function of `puntos::migrate`; this module reads the arguments, prints the report a person
//! reads and writes the machine files.

use puntos::migrate::cutover::{cutover as cutover_export, cutover_staged, CardCutover};
use puntos::migrate::export::Reject;
use puntos::migrate::identity::{plan as plan_identities, Identity, PhonePolicy, PlanSettings};
use puntos::migrate::load::{Staging, ACCOUNTS_PER_PART};
use puntos::migrate::placement::Placement;
use puntos::migrate::profile::{profile as profile_export, ProfileSettings};
use puntos::migrate::reconcile::{reconcile as reconcile_export, CardBalance, ReconcileSettings};
use puntos::migrate::run::{run as run_steps, RunSettings};
use puntos::migrate::tables;
use puntos::migrate::{MigrateError, Observer};
use puntos::table::Cell;
use puntos::Decimal;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// The machine files of a step, written into `--out`, each with a bar of the rows written (at
/// millions of rows, tens of seconds).
struct OutFolder {
    folder: PathBuf,
    bars: indicatif::MultiProgress,
}

impl OutFolder {
    fn create(folder: &Path) -> Result<OutFolder, MigrateError> {
        std::fs::create_dir_all(folder).map_err(|source| MigrateError::Write {
            path: folder.to_path_buf(),
            source,
        })?;
        Ok(OutFolder {
            folder: folder.to_path_buf(),
            bars: Bars::default().all,
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.folder.join(name)
    }

    /// `rejects.csv`: one row per rejected input row (file, line, column, reason).
    fn rejects(&self) -> Result<RejectsFile, MigrateError> {
        let path = self.path("rejects.csv");
        let file = File::create(&path).map_err(|source| MigrateError::Write {
            path: path.clone(),
            source,
        })?;
        let mut writer = csv::Writer::from_writer(BufWriter::new(file));
        let written = writer.write_record(tables::REJECT_COLUMNS);
        let rejects = RejectsFile { path, writer };
        written.map_err(|e| rejects.failed(e))?;
        Ok(rejects)
    }

    /// Writes `name`: a CSV file of `header` and `rows`.
    fn table(
        &self,
        name: &str,
        header: &[&str],
        rows: impl IntoIterator<Item = Vec<String>>,
    ) -> Result<(), MigrateError> {
        let rows = rows.into_iter();
        let total = rows.size_hint().1.map_or(0, |n| n as u64);
        let mut table = self.open_table(name, header, total)?;
        for row in rows {
            table.row(&row)?;
        }
        table.finish()
    }

    /// Starts `name`, a CSV file of `header`, its rows (about `rows` of them, for the bar) to
    /// come one by one.
    fn open_table(&self, name: &str, header: &[&str], rows: u64) -> Result<Table, MigrateError> {
        let path = self.path(name);
        let mut writer = csv::Writer::from_path(&path).map_err(|e| Table::failed(&path, e))?;
        writer
            .write_record(header)
            .map_err(|e| Table::failed(&path, e))?;
        // Drawn from the start, so its rate counts from there.
        let mut bar = Bars {
            all: self.bars.clone(),
            open: Vec::new(),
        };
        let label = format!("write {name}");
        bar.count(&label, 0, rows.max(1));
        Ok(Table {
            label,
            path,
            writer,
            written: 0,
            rows,
            bar,
        })
    }

    /// `identity.csv`: one row per legacy customer and card.
    fn identities(&self, rows: &[Identity]) -> Result<(), MigrateError> {
        self.table(
            "identity.csv",
            &tables::IDENTITY_COLUMNS,
            rows.iter().map(|r| texts(tables::identity_row(r))),
        )
    }

    /// `accounts.csv`: one row per new account, its cards' legacy and recomputed sums.
    fn accounts(
        &self,
        result: &puntos::migrate::reconcile::Reconciliation,
        accounts: &Placement,
    ) -> Result<(), MigrateError> {
        let header = tables::ACCOUNT_COLUMNS;
        // Written as the accounts come: at millions of accounts, holding them all is some
        // hundreds of MB more at the run's peak.
        let mut table = self.open_table("accounts.csv", &header, accounts.len() as u64)?;
        let mut failed = None;
        result.each_account(accounts, |a| {
            if failed.is_none() {
                failed = table.row(&texts(tables::account_row(&a))).err();
            }
        });
        match failed {
            Some(e) => Err(e),
            None => table.finish(),
        }
    }

    /// `reconciliation.csv`: one row per card, with the account it lands in.
    fn reconciliation(
        &self,
        cards: &[CardBalance],
        accounts: &Placement,
    ) -> Result<(), MigrateError> {
        self.table(
            "reconciliation.csv",
            &tables::RECONCILIATION_COLUMNS,
            cards
                .iter()
                .map(|c| texts(tables::reconciliation_row(c, accounts))),
        )
    }

    /// `cutover.csv`: each card's snapshot, what came after it, its final balance and the
    /// legacy cutover balance, with the account it lands in.
    fn cutover(&self, cards: &[CardCutover], accounts: &Placement) -> Result<(), MigrateError> {
        self.table(
            "cutover.csv",
            &tables::CUTOVER_COLUMNS,
            cards
                .iter()
                .map(|c| texts(tables::cutover_row(c, accounts))),
        )
    }

    fn write(&self, name: &str, text: &str) -> Result<(), MigrateError> {
        let path = self.path(name);
        std::fs::write(&path, text).map_err(|source| MigrateError::Write { path, source })
    }
}

/// Resolves identities, then runs `step`, both reporting to one `rejects.csv` and the bars, and
/// writes `identity.csv`: what `reconcile` and `cutover` share.
fn with_identities<T>(
    export: &Path,
    settings: &PlanSettings,
    out: &Path,
    step: impl FnOnce(
        &puntos::migrate::identity::IdentityPlan,
        &mut Console<'_>,
    ) -> Result<T, MigrateError>,
) -> Result<(OutFolder, puntos::migrate::identity::IdentityPlan, T), MigrateError> {
    let folder = OutFolder::create(out)?;
    let mut rejects = folder.rejects()?;
    let mut console = Console::new(Some(&mut rejects));
    let plan = plan_identities(export, settings, &mut console)?;
    let result = step(&plan, &mut console)?;
    console.bars.finish();
    rejects.finish()?;
    folder.identities(&plan.rows)?;
    Ok((folder, plan, result))
}

/// The account a card lands in: the identity plan's, else one keyed by the card itself.
/// A table row's cells as the text of a CSV record.
fn texts(cells: Vec<Cell>) -> Vec<String> {
    cells.iter().map(ToString::to_string).collect()
}

/// A CSV file of the output folder being written, with its bar.
struct Table {
    path: PathBuf,
    writer: csv::Writer<File>,
    /// The bar's label.
    label: String,
    /// Rows written so far, and about how many will be.
    written: u64,
    rows: u64,
    bar: Bars,
}

/// Rows written between two moves of a table's bar.
const ROWS_PER_TICK: u64 = 1 << 16;

impl Table {
    fn failed(path: &Path, e: csv::Error) -> MigrateError {
        MigrateError::Write {
            path: path.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        }
    }

    /// Writes one row.
    fn row(&mut self, row: &[impl AsRef<[u8]>]) -> Result<(), MigrateError> {
        self.writer
            .write_record(row)
            .map_err(|e| Table::failed(&self.path, e))?;
        self.written += 1;
        if self.written.is_multiple_of(ROWS_PER_TICK) {
            // An estimate short of the rows keeps the bar just short of its end.
            let total = self.rows.max(self.written + 1);
            self.bar.count(&self.label, self.written, total);
        }
        Ok(())
    }

    /// Writes out what is buffered.
    fn finish(mut self) -> Result<(), MigrateError> {
        self.bar.finish();
        self.writer.flush().map_err(|source| MigrateError::Write {
            path: self.path.clone(),
            source,
        })
    }
}

/// `rejects.csv` being written.
struct RejectsFile {
    path: PathBuf,
    writer: csv::Writer<BufWriter<File>>,
}

impl RejectsFile {
    fn failed(&self, e: csv::Error) -> MigrateError {
        MigrateError::Write {
            path: self.path.clone(),
            source: std::io::Error::other(e.to_string()),
        }
    }

    fn push(&mut self, r: &Reject) -> Result<(), MigrateError> {
        let written = self.writer.write_record(texts(tables::reject_row(r)));
        written.map_err(|e| self.failed(e))
    }

    fn finish(mut self) -> Result<(), MigrateError> {
        let flushed = self.writer.flush();
        flushed.map_err(|source| MigrateError::Write {
            path: self.path.clone(),
            source,
        })
    }
}

/// `puntos migrate profile`: the data-quality profile, printed; with `--out`, also
/// `profile.json` and `rejects.csv` there.
pub fn profile(export: &Path, region: &str, out: Option<&Path>) -> u8 {
    match run_profile(export, region, out) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

fn run_profile(export: &Path, region: &str, out: Option<&Path>) -> Result<(), MigrateError> {
    let settings = ProfileSettings {
        region: puntos::phone::region(region).map_err(MigrateError::Settings)?,
    };
    let folder = out.map(OutFolder::create).transpose()?;
    let mut rejects = folder.as_ref().map(OutFolder::rejects).transpose()?;
    let mut console = Console::new(rejects.as_mut());
    let report = profile_export(export, &settings, &mut console)?;
    console.bars.finish();
    outln!("{}", report.to_text().trim_end());
    if let (Some(folder), Some(rejects)) = (folder, rejects) {
        rejects.finish()?;
        let json = serde_json::to_string_pretty(&report)
            .map_err(|e| MigrateError::Settings(format!("the profile as JSON: {e}")))?;
        folder.write("profile.json", &(json + "\n"))?;
        outln!(
            "\nwrote {} and {}",
            folder.path("profile.json").display(),
            folder.path("rejects.csv").display()
        );
    }
    Ok(())
}

/// `puntos migrate plan`: identity resolution, summarized; `identity.csv` and `rejects.csv`
/// written to `out`.
pub fn plan(export: &Path, region: &str, policy: PhonePolicy, out: &Path) -> u8 {
    match run_plan(export, region, policy, out) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

fn run_plan(
    export: &Path,
    region: &str,
    policy: PhonePolicy,
    out: &Path,
) -> Result<(), MigrateError> {
    let settings = PlanSettings {
        region: puntos::phone::region(region).map_err(MigrateError::Settings)?,
        phone_policy: policy,
    };
    let (folder, plan, ()) = with_identities(export, &settings, out, |_, _| Ok(()))?;
    outln!("{}", plan.to_text().trim_end());
    outln!(
        "\nwrote {} and {}",
        folder.path("identity.csv").display(),
        folder.path("rejects.csv").display()
    );
    Ok(())
}

/// What `puntos migrate reconcile` needs.
pub struct ReconcileRequest<'a> {
    /// The export folder.
    pub export: &'a Path,
    /// The region phones are read in.
    pub region: &'a str,
    /// Who keeps a shared phone.
    pub policy: PhonePolicy,
    /// The legacy points lifetime in months.
    pub expiry_months: Option<u32>,
    /// Differences under this are rounding.
    pub rounding_tolerance: Decimal,
    /// The folder for the machine files.
    pub out: &'a Path,
}

/// `puntos migrate reconcile`: identities, then each card's balance recomputed and its
/// difference classified; `reconciliation.csv`, `identity.csv` and `rejects.csv` (of every
/// file) written to `out`. Exit 1 when points are not conserved.
pub fn reconcile(request: &ReconcileRequest<'_>) -> u8 {
    match run_reconcile(request) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

fn run_reconcile(r: &ReconcileRequest<'_>) -> Result<bool, MigrateError> {
    let plan_settings = PlanSettings {
        region: puntos::phone::region(r.region).map_err(MigrateError::Settings)?,
        phone_policy: r.policy,
    };
    let settings = ReconcileSettings {
        expiry_months: r.expiry_months,
        rounding_tolerance: r.rounding_tolerance,
    };
    let (folder, plan, result) = with_identities(r.export, &plan_settings, r.out, |_, console| {
        reconcile_export(r.export, &settings, console)
    })?;
    let accounts = Placement::of(&plan);
    folder.reconciliation(&result.cards, &accounts)?;
    folder.accounts(&result, &accounts)?;
    outln!("{}", result.to_text().trim_end());
    outln!(
        "\nwrote {}, {}, {} and {}",
        folder.path("reconciliation.csv").display(),
        folder.path("accounts.csv").display(),
        folder.path("identity.csv").display(),
        folder.path("rejects.csv").display()
    );
    if !result.conserved() {
        eprintln!("error: points are not conserved: legacy balances differ from recomputed balances plus classified differences");
    }
    Ok(result.conserved())
}

/// What `puntos migrate cutover` needs.
pub struct CutoverRequest<'a> {
    /// The export folder.
    pub export: &'a Path,
    /// The region phones are read in.
    pub region: &'a str,
    /// Who keeps a shared phone.
    pub policy: PhonePolicy,
    /// The cutover moment (default: the export's latest).
    pub at: Option<&'a str>,
    /// The ledger to load the accounts into, if any.
    pub db: Option<&'a str>,
    /// The folder for the machine files.
    pub out: &'a Path,
}

/// `puntos migrate cutover`: the snapshot plus everything after it, once; `cutover.csv`,
/// `identity.csv` and `rejects.csv` written to `out`; with `--db`, the accounts loaded into the
/// ledger (a second load changes nothing). Exit 1 when the totals do not add up or the load is
/// refused.
pub fn cutover(request: &CutoverRequest<'_>) -> u8 {
    match run_cutover(request) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

fn run_cutover(r: &CutoverRequest<'_>) -> Result<u8, MigrateError> {
    let region = puntos::phone::region(r.region).map_err(MigrateError::Settings)?;
    let at =
        r.at.map(|t| {
            puntos::eval::parse_instant(t).map_err(|e| MigrateError::Settings(format!("--at: {e}")))
        })
        .transpose()?;
    let plan_settings = PlanSettings {
        region,
        phone_policy: r.policy,
    };
    // With a ledger to load, the cutover sorts the purchase history out for the load as it
    // reads the transactions (the staging is made from the plan, before the cutover).
    let (folder, plan, (result, staging)) =
        with_identities(r.export, &plan_settings, r.out, |plan, console| {
            match r.db {
                None => Ok((cutover_export(r.export, console)?, None)),
                Some(_) => {
                    let mut staging = Staging::new(plan, ACCOUNTS_PER_PART)?;
                    let result = cutover_staged(r.export, &mut staging, console)?;
                    Ok((result, Some(staging)))
                }
            }
        })?;
    let placement;
    let accounts = match &staging {
        Some(staging) => staging.placement(),
        None => {
            placement = Placement::of(&plan);
            &placement
        }
    };
    folder.cutover(&result.cards, accounts)?;
    outln!("{}", result.to_text().trim_end());
    outln!(
        "\nwrote {}, {} and {}",
        folder.path("cutover.csv").display(),
        folder.path("identity.csv").display(),
        folder.path("rejects.csv").display()
    );
    if !result.conserved() {
        eprintln!("error: the final balances are not the snapshot plus what came after it");
        return Ok(1);
    }
    let (Some(db), Some(staging)) = (r.db, staging) else {
        return Ok(0);
    };
    load(r.export, region, plan, result, staging, at, db)
}

/// Builds the migrated accounts and opens them in the ledger `db`, as many to a unit as the
/// database takes ([`crate::database::Database::accounts_per_unit`]); exit 1
/// when the ledger refuses them.
fn load(
    export: &Path,
    region: puntos::phone::Region,
    plan: puntos::migrate::identity::IdentityPlan,
    result: puntos::migrate::cutover::Cutover,
    staging: Staging,
    at: Option<chrono::DateTime<chrono::FixedOffset>>,
    db: &str,
) -> Result<u8, MigrateError> {
    let Some(at) = at.or(result.moment) else {
        return Err(MigrateError::Settings(
            "the export has no moment to open accounts at: give --at".to_string(),
        ));
    };
    let mut ledger = match crate::db::bare_ledger(db) {
        Ok(ledger) => ledger,
        Err(code) => return Ok(code),
    };
    let per_unit = ledger.store_mut().accounts_per_unit();
    let (mut opened, mut unchanged) = (0, 0);
    // A ledger's refusal stops the load with its own message and exit 1 (what was opened
    // before it stays); the accounts are built and loaded a part at a time.
    let mut refused: Option<String> = None;
    let mut console = Console::new(None);
    let mut accounts_bar = console.bars.beside();
    let total = plan.accounts;
    let built = puntos::migrate::load::in_parts(
        export,
        region,
        plan,
        result,
        staging,
        at,
        &mut console,
        &mut |part| {
            for chunk in part.chunks(per_unit) {
                match ledger.open_migrated(chunk, at) {
                    Ok(done) => {
                        opened += done.opened;
                        unchanged += done.unchanged;
                        accounts_bar.count("load accounts", opened + unchanged, total);
                    }
                    Err(e) => {
                        refused = Some(format!("{e}; {opened} accounts were opened before it"));
                        return Err(MigrateError::Settings("the ledger refused".to_string()));
                    }
                }
            }
            Ok(())
        },
    );
    console.bars.finish();
    accounts_bar.finish();
    if let Some(why) = refused {
        eprintln!("error: {why}");
        return Ok(1);
    }
    built?;
    outln!(
        "loaded into {}: {opened} accounts opened, {unchanged} already there unchanged",
        crate::database::shown(db)
    );
    Ok(0)
}

/// `puntos migrate run`: every step, the invariants and quality gates checked, then, if all
/// pass, the accounts loaded into `db` (default: `ledger.db` in `out`). Writes report.html,
/// summary.json,
/// identity.csv, reconciliation.csv, cutover.csv and rejects.csv. Exit 1 when an invariant or
/// gate fails (nothing is loaded) or the load is refused. A rerun resumes an interrupted load.
pub fn run(
    export: &Path,
    config: Option<&Path>,
    sample: Option<&str>,
    db: Option<&str>,
    out: &Path,
) -> u8 {
    match run_all(export, config, sample, db, out) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

fn run_all(
    export: &Path,
    config: Option<&Path>,
    sample: Option<&str>,
    db: Option<&str>,
    out: &Path,
) -> Result<u8, MigrateError> {
    let settings = match config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| MigrateError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            RunSettings::from_toml(&text)
                .map_err(|e| MigrateError::Settings(format!("{}: {e}", path.display())))?
        }
        None => RunSettings::default(),
    };
    // The run sorts the purchase history out for the load as it reads the transactions.
    let settings = RunSettings {
        load_parts: Some(ACCOUNTS_PER_PART),
        ..settings
    };
    let folder = OutFolder::create(out)?;
    let sampled = sampled_export(export, sample, &folder)?;
    let export = sampled.as_deref().unwrap_or(export);
    let mut bars = Bars::default();
    let result = run_steps(export, &settings, &mut |what, read, total| {
        bars.show(what, read, total)
    })?;
    bars.finish();
    let Some(staging) = result.staging.as_ref() else {
        return Err(MigrateError::Settings(
            "the run did not stage the load it was asked to".to_string(),
        ));
    };
    let accounts = staging.placement();
    // The files are written on both cores, half each (at 6 million cards, tens of seconds).
    std::thread::scope(|scope| {
        let (folder, result) = (&folder, &result);
        let half = scope.spawn(move || -> Result<(), MigrateError> {
            folder.identities(&result.plan.rows)?;
            folder.cutover(&result.cutover.cards, accounts)
        });
        let mut rejects = folder.rejects()?;
        for r in &result.rejects {
            rejects.push(r)?;
        }
        rejects.finish()?;
        folder.reconciliation(&result.reconciliation.cards, accounts)?;
        folder.accounts(&result.reconciliation, accounts)?;
        let json = serde_json::to_string_pretty(&result.summary)
            .map_err(|e| MigrateError::Settings(format!("the summary as JSON: {e}")))?;
        folder.write("summary.json", &(json + "\n"))?;
        folder.write("report.html", &puntos::migrate::report::html(result))?;
        half.join().map_err(|_| {
            MigrateError::Settings("writing identity.csv and cutover.csv stopped".to_string())
        })?
    })?;
    outln!("{}", result.summary.to_text().trim_end());
    outln!(
        "\nwrote report.html, summary.json, identity.csv, reconciliation.csv, accounts.csv, cutover.csv and rejects.csv to {}",
        out.display()
    );
    if !result.summary.passed() {
        eprintln!("error: an invariant or quality gate failed (see above); nothing was loaded");
        return Ok(1);
    }
    let default_db = folder.path("ledger.db").to_string_lossy().to_string();
    // The load needs the plan and the cutover only: the rest is written and its memory freed
    // (at 6 million cards the reconciliation alone is some 600 MB).
    let puntos::migrate::run::Run {
        plan,
        cutover,
        reconciliation,
        rejects,
        summary,
        staging,
    } = result;
    drop((reconciliation, rejects, summary));
    let Some(staging) = staging else {
        return Err(MigrateError::Settings(
            "the run did not stage the load it was asked to".to_string(),
        ));
    };
    load(
        export,
        settings.region,
        plan,
        cutover,
        staging,
        None,
        db.unwrap_or(&default_db),
    )
}

/// With `--sample SHARE`, the sample of `export` written to `sample/` in `folder` (its counts
/// printed), on which the command then runs; `None` without one.
fn sampled_export(
    export: &Path,
    sample: Option<&str>,
    folder: &OutFolder,
) -> Result<Option<PathBuf>, MigrateError> {
    let Some(share) = sample else {
        return Ok(None);
    };
    let share = puntos::migrate::sample::Share::parse(share)
        .map_err(|e| MigrateError::Settings(format!("--sample: {e}")))?;
    let sampled = folder.path("sample");
    let counts = puntos::migrate::sample::write_sample(export, &sampled, share)?;
    for (file, read, kept) in &counts.files {
        outln!("sample: {file}: {kept} of {read} rows");
    }
    outln!("the trial runs on the sample in {}\n", sampled.display());
    Ok(Some(sampled))
}

/// `puntos migrate generate`: a synthetic legacy export with every defect planted; what was
/// planted is printed and written to `planted.json` beside it.
pub fn generate(out: &Path, customers: u64, transactions_per_card: u32, seed: u64) -> u8 {
    let settings = puntos::migrate::generate::GenerateSettings {
        customers,
        transactions_per_card,
        seed,
    };
    let planted = match puntos::migrate::generate::generate(out, &settings) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let json = match serde_json::to_string_pretty(&planted) {
        Ok(json) => json,
        Err(e) => {
            eprintln!("error: the planted counts as JSON: {e}");
            return 2;
        }
    };
    if let Err(e) = std::fs::write(out.join("planted.json"), json.clone() + "\n") {
        eprintln!(
            "error: cannot write {}: {e}",
            out.join("planted.json").display()
        );
        return 2;
    }
    outln!(
        "wrote a legacy export to {}; planted:\n{json}",
        out.display()
    );
    0
}

/// What a step tells the command line: rejected rows go to `rejects.csv` (when one is being
/// written), progress to the bars.
struct Console<'r> {
    rejects: Option<&'r mut RejectsFile>,
    bars: Bars,
}

impl<'r> Console<'r> {
    fn new(rejects: Option<&'r mut RejectsFile>) -> Console<'r> {
        Console {
            rejects,
            bars: Bars::default(),
        }
    }
}

impl Observer for Console<'_> {
    fn reject(&mut self, reject: Reject) -> Result<(), MigrateError> {
        match self.rejects.as_deref_mut() {
            Some(file) => file.push(&reject),
            None => Ok(()),
        }
    }

    fn progress(&mut self, file: &str, read: u64, total: u64) {
        self.bars.show(file, read, total);
    }
}

/// Progress bars on standard error, one per step and file (steps that run side by side draw
/// side by side), with rate and time left; drawn only on a terminal (indicatif hides them
/// otherwise, so piped output and tests stay clean).
#[derive(Default)]
struct Bars {
    all: indicatif::MultiProgress,
    open: Vec<(String, indicatif::ProgressBar)>,
}

impl Bars {
    /// `read` of `total` bytes of what `what` names are done.
    fn show(&mut self, what: &str, read: u64, total: u64) {
        self.advance(
            what,
            read,
            total,
            "{msg:32} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        );
    }

    /// More bars, drawn together with these (a part of the program that cannot borrow these).
    fn beside(&self) -> Bars {
        Bars {
            all: self.all.clone(),
            open: Vec::new(),
        }
    }

    /// `done` of `total` things `what` names (accounts) are done.
    fn count(&mut self, what: &str, done: u64, total: u64) {
        self.advance(
            what,
            done,
            total,
            "{msg:32} {bar:30} {pos}/{len} {per_sec} eta {eta}",
        );
    }

    /// Moves the bar of `what` (drawn with `template` when new) to `done` of `total`.
    fn advance(&mut self, what: &str, done: u64, total: u64, template: &str) {
        let at = match self.open.iter().position(|(name, _)| name == what) {
            Some(at) => at,
            None => {
                let bar = self.all.add(indicatif::ProgressBar::new(total));
                bar.set_style(
                    indicatif::ProgressStyle::with_template(template)
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                bar.set_message(what.to_string());
                self.open.push((what.to_string(), bar));
                self.open.len() - 1
            }
        };
        if done >= total {
            let (_, bar) = self.open.remove(at);
            bar.finish_and_clear();
        } else if let Some((_, bar)) = self.open.get(at) {
            bar.set_position(done);
        }
    }

    /// Ends every bar still drawn.
    fn finish(&mut self) {
        for (_, bar) in self.open.drain(..) {
            bar.finish_and_clear();
        }
    }
}

/// What `puntos migrate parallel-run` needs.
pub struct ParallelRequest<'a> {
    /// The export folder.
    pub export: &'a Path,
    /// The program: files or folders of its effective-dated versions.
    pub programs: &'a [PathBuf],
    /// The region phones are read in.
    pub region: &'a str,
    /// Who keeps a shared phone.
    pub policy: PhonePolicy,
    /// A share of the customers to replay (`1%`), as `migrate run --sample` chooses them.
    pub sample: Option<&'a str>,
    /// The folder for parallel.csv.
    pub out: &'a Path,
}

/// `puntos migrate parallel-run`: the legacy purchases and refunds replayed through the program
/// and compared, transaction by transaction and card by card; `parallel.csv` written to `out`.
/// Mismatches are findings (exit 0); exit 1 when the programs have errors.
pub fn parallel_run(request: &ParallelRequest<'_>) -> u8 {
    let versions = match crate::programs::load_versions(request.programs) {
        Ok(v) => v,
        Err(failed) => return failed.exit,
    };
    match run_parallel(request, versions) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

/// The identity plan of the export and the accounts a migration would load from it (cut over
/// at the export's snapshot), each step with its progress bars on `console`.
fn migrated_accounts(
    export: &Path,
    plan_settings: &PlanSettings,
    console: &mut Console<'_>,
) -> Result<
    (
        puntos::migrate::identity::IdentityPlan,
        Vec<puntos::ledger::AccountState>,
    ),
    MigrateError,
> {
    let plan = plan_identities(export, plan_settings, console)?;
    let mut staging = Staging::new(&plan, usize::MAX)?;
    let cut = cutover_staged(export, &mut staging, console)?;
    let at = cut
        .moment
        .unwrap_or(chrono::DateTime::UNIX_EPOCH.fixed_offset());
    let accounts =
        puntos::migrate::load::accounts(export, plan_settings.region, &plan, &cut, staging, at)?;
    Ok((plan, accounts))
}

/// The purchases and refunds of a legacy export as a history to simulate, on the accounts a
/// migration would make of it (`puntos simulate --legacy`); rows that cannot be replayed are
/// counted on standard error.
pub fn legacy_history(
    export: &Path,
    region: &str,
    policy: PhonePolicy,
) -> Result<puntos::simulate::History, MigrateError> {
    let plan_settings = PlanSettings {
        region: puntos::phone::region(region).map_err(MigrateError::Settings)?,
        phone_policy: policy,
    };
    let mut console = Console::new(None);
    let (plan, accounts) = migrated_accounts(export, &plan_settings, &mut console)?;
    let legacy = puntos::migrate::parallel::legacy_history(export, &plan, accounts, &mut console)?;
    console.bars.finish();
    eprintln!(
        "note: the export's purchases and refunds are replayed; its redemptions, adjustments and expiries are not (a program decides its own expiries; a legacy redemption has no basket to pay)"
    );
    if let Some((tx, why)) = legacy.skipped.first() {
        eprintln!(
            "note: {} legacy rows cannot be replayed, such as {tx}: {why}",
            legacy.skipped.len()
        );
    }
    Ok(puntos::simulate::History {
        accounts: legacy.accounts,
        transactions: legacy.transactions,
    })
}

fn run_parallel(r: &ParallelRequest<'_>, versions: puntos::Versions) -> Result<(), MigrateError> {
    let region = puntos::phone::region(r.region).map_err(MigrateError::Settings)?;
    let plan_settings = PlanSettings {
        region,
        phone_policy: r.policy,
    };
    let folder = OutFolder::create(r.out)?;
    let sampled = sampled_export(r.export, r.sample, &folder)?;
    let export = sampled.as_deref().unwrap_or(r.export);
    let mut console = Console::new(None);
    let (plan, accounts) = migrated_accounts(export, &plan_settings, &mut console)?;
    let result =
        puntos::migrate::parallel::parallel_run(export, versions, &plan, accounts, &mut console)?;
    console.bars.finish();
    let header = [
        "tx_id", "card_no", "kind", "legacy", "puntos", "match", "detail",
    ];
    folder.table(
        "parallel.csv",
        &header,
        result.transactions.iter().map(|t| {
            vec![
                t.tx_id.clone(),
                t.card_no.clone(),
                t.kind.to_string(),
                t.legacy.to_string(),
                t.puntos.map_or(String::new(), |p| p.to_string()),
                if t.matches() { "yes" } else { "no" }.to_string(),
                t.detail.clone(),
            ]
        }),
    )?;
    outln!("{}", result.to_text().trim_end());
    outln!("\nwrote {}", folder.path("parallel.csv").display());
    Ok(())
}
