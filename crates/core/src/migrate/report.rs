//! The report a person reads after `migrate run`: one self-contained HTML page (no script, no
//! file beside it) with the invariants and gates, the identity groups, the difference classes,
//! the distribution of final balances, and samples of every problem, so a migration lead can
//! read the state of a trial or a cutover in a browser and mail it on.

use super::identity::{Group, Party};
use super::reconcile::DifferenceClass;
use super::run::{Check, Run};
use crate::html::escape;
use rust_decimal::Decimal;
use std::fmt::Write as _;

/// Rows shown per sample.
const SAMPLE: usize = 10;

/// A table of `rows` under `header`, every cell escaped.
fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    out.push_str("<table><tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{}</td>", escape(cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>\n");
}

/// Horizontal bars, each `(label, value)` as a share of the largest.
fn bars(out: &mut String, items: &[(String, u64)]) {
    let max = items.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    out.push_str("<div class=\"bars\">");
    for (label, value) in items {
        let width = value * 100 / max;
        let _ = write!(
            out,
            "<div class=\"bar\"><span class=\"label\">{}</span><span class=\"fill\" style=\"width:{width}%\"></span><span class=\"value\">{value}</span></div>",
            escape(label)
        );
    }
    out.push_str("</div>\n");
}

fn checks(out: &mut String, title: &str, list: &[Check]) {
    let _ = writeln!(out, "<h2>{}</h2>", escape(title));
    if list.is_empty() {
        out.push_str("<p>None set.</p>\n");
        return;
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            vec![
                if c.holds { "ok" } else { "FAILED" }.to_string(),
                c.name.clone(),
                c.detail.clone(),
            ]
        })
        .collect();
    table(out, &["", "check", "figures"], &rows);
}

/// The upper bounds of the balance distribution's buckets (the last is open).
const BUCKETS: [i64; 5] = [0, 100, 500, 1000, 5000];

/// The report of a run.
pub fn html(run: &Run) -> String {
    let s = &run.summary;
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Migration report</title>\n<style>\
body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}\
th{background:#f3f3f3}.bars{margin:.5em 0 1.5em}.bar{display:flex;align-items:center;margin:2px 0}\
.label{width:14em}.fill{display:inline-block;height:1em;background:#4a7bd0;margin-right:.5em}\
.verdict{font-size:1.2em;padding:.5em;border-radius:4px}.pass{background:#dff5df}.fail{background:#fbe0e0}\
</style></head><body>\n<h1>Migration report</h1>\n",
    );
    let _ = writeln!(
        out,
        "<p class=\"verdict {}\">{}</p>",
        if s.passed() { "pass" } else { "fail" },
        if s.passed() {
            "Every invariant holds and every gate passes: the accounts may be loaded."
        } else {
            "An invariant or a gate failed: nothing is loaded."
        }
    );
    checks(&mut out, "Invariants", &s.invariants);
    checks(&mut out, "Quality gates", &s.gates);

    out.push_str("<h2>Totals</h2>\n");
    let totals: Vec<Vec<String>> = s
        .totals
        .iter()
        .map(|(k, v)| vec![k.clone(), v.to_string()])
        .chain([vec!["new accounts".to_string(), s.accounts.to_string()]])
        .collect();
    table(&mut out, &["", "points"], &totals);

    out.push_str("<h2>Identity groups</h2>\n");
    let groups: Vec<Vec<String>> = s
        .identity
        .iter()
        .map(|(g, (customers, cards))| vec![g.clone(), customers.to_string(), cards.to_string()])
        .collect();
    table(&mut out, &["group", "customers", "cards"], &groups);
    bars(
        &mut out,
        &s.identity
            .iter()
            .map(|(g, (customers, _))| (g.clone(), *customers))
            .collect::<Vec<_>>(),
    );

    out.push_str("<h2>Balance differences</h2>\n");
    let classes: Vec<Vec<String>> = s
        .differences
        .iter()
        .map(|(c, (cards, points))| vec![c.clone(), cards.to_string(), points.to_string()])
        .collect();
    table(&mut out, &["class", "cards", "points"], &classes);
    bars(
        &mut out,
        &s.differences
            .iter()
            .filter(|(c, _)| c.as_str() != DifferenceClass::Match.as_str())
            .map(|(c, (cards, _))| (c.clone(), *cards))
            .collect::<Vec<_>>(),
    );

    out.push_str("<h2>Final balances at cutover</h2>\n");
    let mut counts = [0u64; BUCKETS.len() + 1];
    for card in &run.cutover.cards {
        let bucket = BUCKETS
            .iter()
            .position(|b| card.final_balance() <= Decimal::from(*b))
            .unwrap_or(BUCKETS.len());
        if let Some(n) = counts.get_mut(bucket) {
            *n += 1;
        }
    }
    let mut labels = vec!["0 or less".to_string()];
    labels.extend(BUCKETS.windows(2).map(|w| {
        let (lo, hi) = (
            w.first().copied().unwrap_or(0),
            w.last().copied().unwrap_or(0),
        );
        format!("{} to {hi}", lo + 1)
    }));
    labels.push(format!("over {}", BUCKETS.last().copied().unwrap_or(0)));
    bars(
        &mut out,
        &labels.into_iter().zip(counts).collect::<Vec<_>>(),
    );

    out.push_str("<h2>Samples</h2>\n");
    for group in [
        Group::DuplicatePerson,
        Group::SharedPhone,
        Group::InvalidPhone,
        Group::NoPhone,
        Group::CardWithoutCustomer,
    ] {
        let rows: Vec<Vec<String>> = run
            .plan
            .rows
            .iter()
            .filter(|r| {
                r.group == group
                    && (r.party == Party::Customer || group == Group::CardWithoutCustomer)
            })
            .take(SAMPLE)
            .map(|r| {
                vec![
                    r.legacy_id.to_string(),
                    r.account.to_string(),
                    r.action.to_string(),
                    r.reason.to_string(),
                ]
            })
            .collect();
        if !rows.is_empty() {
            let _ = writeln!(out, "<h3>{}</h3>", escape(group.as_str()));
            table(
                &mut out,
                &["legacy id", "account", "action", "reason"],
                &rows,
            );
        }
    }
    for class in [
        DifferenceClass::DuplicateTransaction,
        DifferenceClass::ExpiryNotBooked,
        DifferenceClass::ManualAdjustment,
        DifferenceClass::Rounding,
        DifferenceClass::Unexplained,
    ] {
        let rows: Vec<Vec<String>> = run
            .reconciliation
            .cards
            .iter()
            .filter(|c| c.class == class)
            .take(SAMPLE)
            .map(|c| {
                vec![
                    c.card_no.to_string(),
                    c.legacy.to_string(),
                    c.recomputed.to_string(),
                    c.difference().to_string(),
                    c.explanation.to_string(),
                ]
            })
            .collect();
        if !rows.is_empty() {
            let _ = writeln!(out, "<h3>{}</h3>", escape(class.as_str()));
            table(
                &mut out,
                &["card", "legacy", "recomputed", "difference", "explanation"],
                &rows,
            );
        }
    }
    if !run.rejects.is_empty() {
        let _ = writeln!(out, "<h3>rejected rows ({} in all)</h3>", run.rejects.len());
        let rows: Vec<Vec<String>> = run
            .rejects
            .iter()
            .take(SAMPLE)
            .map(|r| {
                vec![
                    format!("{}:{}", r.file, r.line),
                    r.column.unwrap_or("").to_string(),
                    r.reason.clone(),
                ]
            })
            .collect();
        table(&mut out, &["place", "column", "reason"], &rows);
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_cannot_write_markup() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }
}
