//! `puntos simulate`: a history (a transaction file, or a seeded synthetic population) replayed
//! under program A and program B; a summary on standard output, and the figures as JSON and CSV
//! files in the output folder. The same inputs give byte-identical files.

use crate::programs::{compile_source, load_versions};
use crate::rows;
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};
use puntos::ledger::Incoming;
use puntos::program::Program;
use puntos::simulate::{
    simulate, sweep, History, Input, Outcome, Redemptions, Settings, Simulation, Sweep,
};
use puntos::synth;
use puntos::Versions;
use puntos_dsl::SourceFile;
use rust_decimal::Decimal;
use std::path::{Path, PathBuf};

/// Where the history comes from.
pub enum Source {
    /// A transaction file: JSON lines, or CSV by its extension (as `puntos apply` reads).
    File(PathBuf),
    /// A synthetic population of the pharmacy chain.
    Synthetic {
        /// What to generate.
        settings: synth::Settings,
        /// `--mix`: category weights in percent, `name=percent,...`, set on `settings`.
        categories: Option<String>,
    },
    /// A legacy CRM's export (MIGRATION.md): its purchases and refunds on the accounts a
    /// migration makes of its customers and cards, phones read in `region`.
    Legacy {
        /// The export folder.
        export: PathBuf,
        /// The region national phone numbers are read in.
        region: String,
        /// Who keeps a shared phone.
        policy: puntos::migrate::identity::PhonePolicy,
    },
}

/// What program A is compared with.
pub enum Against<'a> {
    /// Program B: files or folders of its versions.
    Program(&'a [PathBuf]),
    /// A's own text with `text` (found once in it) replaced by each of `values` in turn.
    Sweep {
        /// The text to replace, such as `10 RUB`.
        text: &'a str,
        /// What to put in its place, one variant each.
        values: &'a [String],
    },
}

/// What `puntos simulate` was asked.
pub struct Request<'a> {
    /// Program A: files or folders of its versions.
    pub a: &'a [PathBuf],
    /// What A is compared with.
    pub against: Against<'a>,
    /// The history.
    pub source: Source,
    /// `--from`: a date (midnight in A's time zone) or an instant with its offset.
    pub from: Option<&'a str>,
    /// `--to`, read as `--from`: the end of the window and the horizon.
    pub to: Option<&'a str>,
    /// The output folder.
    pub out: &'a Path,
    /// Largest moves listed each way.
    pub top: usize,
    /// `--redeem-share`: spend as much as allowed on this share of purchases (0 to 1).
    pub redeem_share: Option<&'a str>,
    /// `--redeem-seed`.
    pub redeem_seed: u64,
}

/// Runs the command; the exit code.
pub fn run(request: &Request<'_>) -> u8 {
    match simulate_to_files(request) {
        Ok(()) => 0,
        Err(Failure { exit, message }) => {
            if !message.is_empty() {
                eprintln!("error: {message}");
            }
            exit
        }
    }
}

/// Why the command stopped: the exit code and what to print (empty: printed already).
struct Failure {
    exit: u8,
    message: String,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure { exit: 2, message }
    }
}

fn simulate_to_files(request: &Request<'_>) -> Result<(), Failure> {
    // Flags checked before any program or history is read.
    let redemptions = match request.redeem_share {
        None => Redemptions::AsInHistory,
        Some(text) => Redemptions::Propensity {
            share: share(text)?,
            seed: request.redeem_seed,
        },
    };
    let a = throughout(load(request.a)?, Some("A"))?;
    let zone = a.programs().last().map_or(chrono_tz::UTC, |p| p.timezone);
    let currency = a
        .programs()
        .last()
        .map_or("RUB".to_string(), |p| p.currency.to_string());
    let settings = Settings {
        from: request
            .from
            .map(|t| moment(t, zone, "--from"))
            .transpose()?,
        to: request.to.map(|t| moment(t, zone, "--to")).transpose()?,
        top: request.top,
        redemptions,
        ..Settings::default()
    };
    // The programs compared with A, read before the history: a mistake in them is found at once.
    let others: Vec<(String, Versions)> = match &request.against {
        Against::Program(b) => vec![("B".to_string(), throughout(load(b)?, Some("B"))?)],
        Against::Sweep { text, values } => variants(request.a, text, values)?,
    };
    // A synthetic population is generated as it is replayed (a slice of customers at a time
    // when the programs allow it); the other sources are read first.
    let mut population = None;
    let history: History = match &request.source {
        Source::File(path) => History::opening_accounts(read_history(path)?),
        Source::Synthetic {
            settings,
            categories,
        } => {
            let mut settings = *settings;
            if let Some(text) = categories {
                settings.mix.categories = category_mix(text)?;
            }
            population = Some(settings);
            History::default()
        }
        Source::Legacy {
            export,
            region,
            policy,
        } => crate::migrate::legacy_history(export, region, *policy).map_err(|e| e.to_string())?,
    };
    let input = match &population {
        Some(population) => Input::Synthetic {
            population,
            currency: &currency,
            timezone: zone,
        },
        None => Input::History(&history),
    };
    std::fs::create_dir_all(request.out)
        .map_err(|e| format!("cannot create `{}`: {e}", request.out.display()))?;
    let programs = 1 + others.len() as u64;
    let bar = match population {
        Some(_) => indicatif::ProgressBar::no_length(),
        None => indicatif::ProgressBar::new(programs * history.transactions.len() as u64),
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}} transactions replayed ({programs} programs) {{per_sec}}"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = |n| bar.inc(n);
    if let Against::Sweep { text, .. } = &request.against {
        let swept = sweep(&a, &others, input, &settings, &progress).map_err(|e| e.to_string())?;
        bar.finish_and_clear();
        return write_sweep(request.out, text, &swept, &currency);
    }
    let b = others
        .first()
        .map(|(_, b)| b)
        .ok_or_else(|| Failure::from("no program B".to_string()))?;
    let run = simulate(&a, b, input, &settings, &progress).map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    write_outputs(request.out, &run)?;
    write(
        &request.out.join("report.html"),
        puntos::simulate::report::html(&run, &currency).as_bytes(),
    )?;
    out!("{}", run.summary(&currency));
    outln!(
        "Files written to {}: report.html, summary.json, months.csv, cohorts.csv, sources.csv, customers.csv",
        request.out.display()
    );
    Ok(())
}

/// `--mix vitamins=200,tobacco=0`: each named category's weight in percent of the usual, the
/// others at 100.
fn category_mix(text: &str) -> Result<[u32; 8], String> {
    let mut percents = [100; 8];
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (name, percent) = item.split_once('=').ok_or_else(|| {
            format!("--mix `{item}`: write a category and a percent, such as `vitamins=200`")
        })?;
        let slot = synth::CATEGORIES
            .iter()
            .position(|c| *c == name.trim())
            .and_then(|i| percents.get_mut(i))
            .ok_or_else(|| {
                format!(
                    "--mix: `{}` is not a category; the categories are {}",
                    name.trim(),
                    synth::CATEGORIES.join(", ")
                )
            })?;
        *slot = percent
            .trim()
            .parse()
            .map_err(|_| format!("--mix `{item}`: the percent must be a whole number"))?;
    }
    Ok(percents)
}

/// `--redeem-share`: a number from 0 to 1.
fn share(text: &str) -> Result<Decimal, String> {
    text.trim()
        .parse::<Decimal>()
        .ok()
        .filter(|s| *s >= Decimal::ZERO && *s <= Decimal::ONE)
        .ok_or_else(|| format!("--redeem-share {text}: give a share from 0 to 1, such as 0.3"))
}

/// The versions under `paths`, or the exit code `load_versions` chose (it printed why).
fn load(paths: &[PathBuf]) -> Result<Versions, Failure> {
    load_versions(paths).map_err(|f| Failure {
        exit: f.exit,
        message: String::new(),
    })
}

/// The variants of a sweep: program A's one file with `text` replaced by each value.
fn variants(
    a: &[PathBuf],
    text: &str,
    values: &[String],
) -> Result<Vec<(String, Versions)>, Failure> {
    let [path] = a else {
        return Err(
            "--sweep varies one program file: give --a a single .pts file"
                .to_string()
                .into(),
        );
    };
    let source = match crate::input::load(path)? {
        crate::input::Loaded::Source(source) => source,
        crate::input::Loaded::Rejected(..) => {
            return Err(format!("`{}` cannot be read as a program", path.display()).into())
        }
    };
    let original = source.text();
    let lines: Vec<usize> = original
        .match_indices(text)
        .map(|(at, _)| {
            original
                .get(..at)
                .map_or(0, |before| before.matches('\n').count())
                + 1
        })
        .collect();
    if lines.len() != 1 {
        let places = if lines.is_empty() {
            "nowhere".to_string()
        } else {
            format!(
                "{} times (lines {})",
                lines.len(),
                lines
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        return Err(format!(
            "--sweep `{text}` appears {places} in {}: give text found exactly once (quote more of its line)",
            path.display()
        )
        .into());
    }
    let mut variants = Vec::with_capacity(values.len());
    for value in values {
        let name = format!("{} [{text} -> {value}]", path.display());
        let varied = SourceFile::new(name, original.replacen(text, value, 1));
        let program = compile_source(&varied).ok_or(Failure {
            exit: 1,
            message: format!("the variant with `{value}` does not compile"),
        })?;
        let versions = Versions::new(vec![program]).map_err(|e| e.to_string())?;
        variants.push((value.clone(), throughout(versions, None)?));
    }
    Ok(variants)
}

/// sweep.csv and summary.json of a sweep, and its table on standard output.
fn write_sweep(out: &Path, text: &str, swept: &Sweep, currency: &str) -> Result<(), Failure> {
    let json = serde_json::to_string_pretty(swept).map_err(|e| e.to_string())?;
    write(&out.join("summary.json"), format!("{json}\n").as_bytes())?;
    let header = [
        "variant",
        "earned",
        "taken_back",
        "spent",
        "expired",
        "outstanding",
        "liability",
        "liability_less_breakage",
        "discounts",
        "refused",
        "customers_gaining",
        "customers_losing",
        "issued_delta",
    ];
    let mut rows = vec![sweep_row(&format!("{text} (base)"), &swept.base, None)];
    for v in &swept.variants {
        rows.push(sweep_row(&v.label, &v.outcome, Some(&v.comparison)));
    }
    write_csv(&out.join("sweep.csv"), |w| {
        w.write_record(header)?;
        for row in &rows {
            w.write_record(row)?;
        }
        Ok(())
    })?;
    outln!(
        "Swept `{text}` over {} transactions, to {} (the horizon); money in {currency}\n",
        swept.transactions,
        swept.horizon.to_rfc3339()
    );
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .chain(header.get(c).map(|h| h.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, w))| match c {
                0 => format!("{cell:<w$}"),
                _ => format!("{cell:>w$}"),
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    outln!("{}", line(header.to_vec()));
    for row in &rows {
        outln!("{}", line(row.iter().map(String::as_str).collect()));
    }
    outln!(
        "\nFiles written to {}: summary.json, sweep.csv",
        out.display()
    );
    Ok(())
}

/// One row of sweep.csv.
fn sweep_row(label: &str, o: &Outcome, c: Option<&puntos::simulate::Comparison>) -> Vec<String> {
    let optional = |x: Option<Decimal>| x.map_or(String::new(), |x| x.to_string());
    vec![
        label.to_string(),
        o.totals.earned.to_string(),
        o.totals.reversed.to_string(),
        o.totals.redeemed.to_string(),
        o.totals.expired.to_string(),
        o.totals.outstanding().to_string(),
        optional(o.liability),
        optional(o.forecast.expected_liability),
        o.discounts.to_string(),
        o.refused.to_string(),
        c.map_or(String::new(), |c| c.gain.to_string()),
        c.map_or(String::new(), |c| c.lose.to_string()),
        optional(c.map(|c| c.issued_delta)),
    ]
}

/// A side given as one program is in effect throughout the history, whatever its `effective
/// from` says: a candidate for next year (`program-2027.pts`) is simulated on this year's
/// history, which is the question asked. Several versions stay effective-dated as written.
/// `side` names it in the note printed (none: no note, for a sweep's variants of A).
fn throughout(versions: Versions, side: Option<&str>) -> Result<Versions, Failure> {
    let programs: Vec<&Program> = versions.programs().collect();
    let [only] = programs.as_slice() else {
        return Ok(versions);
    };
    let Some(from) = only.effective_from else {
        return Ok(versions);
    };
    let from = match from {
        puntos::program::Moment::Date(day) => day.to_string(),
        puntos::program::Moment::DateTime(t) => t.to_rfc3339(),
    };
    if let Some(side) = side {
        eprintln!(
            "note: program {side} (`{}`) takes effect from {from}; simulated as in effect throughout the history",
            only.name
        );
    }
    let mut program = (*only).clone();
    program.effective_from = None;
    Ok(Versions::new(vec![program])?)
}

/// A moment of `--from` or `--to`: an instant with its offset, or a date meaning the start of
/// that day in `zone`.
fn moment(text: &str, zone: chrono_tz::Tz, flag: &str) -> Result<DateTime<FixedOffset>, String> {
    if let Ok(day) = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        return zone
            .from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map(|t| t.fixed_offset())
            .ok_or_else(|| format!("{flag} {text}: the day has no midnight in {zone}"));
    }
    puntos::eval::parse_instant(text).map_err(|e| format!("{flag}: {e}"))
}

/// Reads every transaction of the file; a row that cannot be read stops the simulation, named
/// by its line (a simulation of part of a history would mislead).
fn read_history(path: &Path) -> Result<Vec<Incoming>, String> {
    let mut history = Vec::new();
    rows::read(
        path,
        |row| {
            let incoming = row
                .incoming
                .map_err(|e| format!("{}: line {}: {e}", path.display(), row.line))?;
            history.push(incoming);
            Ok(())
        },
        |_| {},
    )?;
    Ok(history)
}

/// Writes summary.json and the CSV files (months, cohorts, sources, customers).
fn write_outputs(out: &Path, run: &Simulation) -> Result<(), String> {
    let json = serde_json::to_string_pretty(run).map_err(|e| e.to_string())?;
    write(&out.join("summary.json"), format!("{json}\n").as_bytes())?;
    for table in [
        run.months_table(),
        run.cohorts_table(),
        run.sources_table(),
        run.customers_table(),
    ] {
        write_csv(&out.join(format!("{}.csv", table.name)), |w| {
            w.write_record(&table.columns)?;
            for row in &table.rows {
                w.write_record(row.iter().map(ToString::to_string))?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}

fn write_csv(
    path: &Path,
    fill: impl FnOnce(&mut csv::Writer<std::fs::File>) -> Result<(), csv::Error>,
) -> Result<(), String> {
    let failed = |e: &dyn std::fmt::Display| format!("cannot write `{}`: {e}", path.display());
    let mut writer = csv::Writer::from_path(path).map_err(|e| failed(&e))?;
    fill(&mut writer).map_err(|e| failed(&e))?;
    writer.flush().map_err(|e| failed(&e))
}
