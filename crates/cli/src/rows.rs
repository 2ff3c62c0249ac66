//! Transaction files for `puntos apply`: JSON lines (one `Incoming` per line) or CSV (one row
//! per basket line; consecutive rows with the same transaction id make one transaction).
//!
//! CSV columns, by header name (any order; only `account`, `id` and `time` are required):
//! `account, id, kind, time, refund_of, channel, store, sku, name, category, brand, unit_price,
//! quantity, amount, original_line, coupons` (codes separated by `;`), `redeem`. Transaction
//! columns are read from the first row of a transaction.

use puntos::eval::{from_json, parse_instant, Line, Store, Transaction};
use puntos::ledger::Incoming;
use rust_decimal::Decimal;
use std::io::BufRead;
use std::path::Path;

/// One transaction read from a file, or why its rows could not be read.
pub struct Row {
    /// The line (JSON lines) or first CSV record's line it came from.
    pub line: u64,
    /// The raw text, for the rejects file.
    pub raw: String,
    /// The transaction.
    pub incoming: Result<Incoming, String>,
}

/// Reads transactions from `path`, by its extension (`.csv`, else JSON lines), calling `each`
/// for every transaction in file order; `progress` gets the bytes consumed.
pub fn read(
    path: &Path,
    mut each: impl FnMut(Row) -> Result<(), String>,
    mut progress: impl FnMut(u64),
) -> Result<(), String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        return read_csv(file, each, progress);
    }
    let mut reader = std::io::BufReader::new(file);
    let mut line = String::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .map_err(|e| format!("{}: line {}: {e}", path.display(), number + 1))?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        progress(read as u64);
        if line.trim().is_empty() {
            continue;
        }
        each(Row {
            line: number,
            raw: line.trim_end().to_string(),
            incoming: from_json::<Incoming>(&line).map_err(|e| e.to_string()),
        })?;
    }
}

/// A CSV transaction being gathered from consecutive rows.
struct Gathering {
    line: u64,
    id: String,
    raw: String,
    incoming: Result<Incoming, String>,
}

impl Gathering {
    fn row(self) -> Row {
        Row {
            line: self.line,
            raw: self.raw,
            incoming: self.incoming,
        }
    }
}

fn read_csv(
    file: std::fs::File,
    mut each: impl FnMut(Row) -> Result<(), String>,
    mut progress: impl FnMut(u64),
) -> Result<(), String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let headers = reader
        .headers()
        .map_err(|e| format!("the header row: {e}"))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let mut pending: Option<Gathering> = None;
    let mut consumed = 0u64;
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                // An unreadable record ends the transaction being gathered, and is rejected.
                if let Some(g) = pending.take() {
                    each(g.row())?;
                }
                let line = e.position().map_or(0, |p| p.line());
                each(Row {
                    line,
                    raw: String::new(),
                    incoming: Err(e.to_string()),
                })?;
                continue;
            }
        };
        let (line, byte) = record
            .position()
            .map_or((0, consumed), |p| (p.line(), p.byte()));
        progress(byte.saturating_sub(consumed));
        consumed = consumed.max(byte);
        let get = |name: &str| {
            column(name)
                .and_then(|i| record.get(i))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let raw = record.iter().collect::<Vec<_>>().join(",");
        let id = get("id").unwrap_or_default().to_string();
        match &mut pending {
            // A row continuing the transaction adds its line.
            Some(g) if !id.is_empty() && g.id == id => {
                g.raw.push('\n');
                g.raw.push_str(&raw);
                let line_result = line_of(&get);
                match (&mut g.incoming, line_result) {
                    (Ok(incoming), Ok(Some(l))) => incoming.transaction.lines.push(l),
                    (Ok(_), Err(e)) => g.incoming = Err(format!("line {line}: {e}")),
                    _ => {}
                }
            }
            _ => {
                if let Some(g) = pending.take() {
                    each(g.row())?;
                }
                pending = Some(Gathering {
                    line,
                    id,
                    raw,
                    incoming: transaction_of(&get),
                });
            }
        }
    }
    if let Some(g) = pending.take() {
        each(g.row())?;
    }
    Ok(())
}

fn decimal(field: &str, value: Option<&str>) -> Result<Option<Decimal>, String> {
    value
        .map(|v| {
            v.parse::<Decimal>()
                .map_err(|_| format!("{field}: `{v}` is not a number"))
        })
        .transpose()
}

fn transaction_of<'r>(get: &impl Fn(&str) -> Option<&'r str>) -> Result<Incoming, String> {
    let account = get("account").ok_or("account: missing")?.to_string();
    let id = get("id").ok_or("id: missing")?.into();
    let time =
        parse_instant(get("time").ok_or("time: missing")?).map_err(|e| format!("time: {e}"))?;
    let mut transaction = Transaction {
        id,
        time,
        kind: get("kind").unwrap_or("purchase").into(),
        channel: get("channel").unwrap_or_default().to_string(),
        store: Store {
            id: get("store").unwrap_or_default().into(),
            ..Store::default()
        },
        coupons: get("coupons")
            .map(|c| {
                c.split(';')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        redeem: decimal("redeem", get("redeem"))?,
        ..Transaction::default()
    };
    if let Some(line) = line_of(get)? {
        transaction.lines.push(line);
    }
    Ok(Incoming {
        account,
        refund_of: get("refund_of").map(str::to_string),
        customer: None,
        transaction,
    })
}

fn line_of<'r>(get: &impl Fn(&str) -> Option<&'r str>) -> Result<Option<Line>, String> {
    let Some(unit_price) = decimal("unit_price", get("unit_price"))? else {
        return Ok(None);
    };
    Ok(Some(Line {
        sku: get("sku").unwrap_or_default().into(),
        name: get("name").unwrap_or_default().into(),
        category: get("category").unwrap_or_default().into(),
        brand: get("brand").unwrap_or_default().into(),
        unit_price,
        quantity: decimal("quantity", get("quantity"))?.unwrap_or(Decimal::ONE),
        amount: decimal("amount", get("amount"))?,
        original_line: get("original_line")
            .map(|v| {
                v.parse::<usize>()
                    .map_err(|_| format!("original_line: `{v}` is not a line number"))
            })
            .transpose()?,
    }))
}
