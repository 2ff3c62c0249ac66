//! The report of a simulation (`report.html` of `puntos simulate`, `Simulation.to_html()` in
//! Python): one self-contained page (inline CSS and SVG, no script,
//! nothing fetched) with the summary table and the charts a marketer reads first: points
//! earned, spent and held month by month under A and B, points per rule and promotion, and how
//! many customers gain or lose how much. Coordinates are worked out in exact decimals, like
//! every other figure, so the same simulation gives the same bytes.

use super::{keys_of_both, Outcome, Simulation};
use crate::html::escape;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::fmt::Write as _;

/// A chart's drawing area, in SVG units.
const WIDTH: i64 = 720;
const HEIGHT: i64 = 220;
/// Room for the axis labels (category names are written slanted under the axis).
const LEFT: i64 = 90;
const BOTTOM: i64 = 110;
/// The colours of A and B.
const COLOURS: [&str; 2] = ["#4e79a7", "#f28e2b"];

/// One series of a chart: its name and a value per category.
struct Series<'a> {
    name: &'a str,
    values: Vec<Decimal>,
}

/// The page for `run`, with money in `currency`.
pub fn html(run: &Simulation, currency: &str) -> String {
    let (a, b) = (&run.a, &run.b);
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>puntos simulate: {} against {}</title>\n<style>\n\
         body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }}\n\
         table {{ border-collapse: collapse; margin: 1em 0; }}\n\
         td, th {{ padding: 0.2em 0.8em; border-bottom: 1px solid #ddd; text-align: right; }}\n\
         td:first-child, th:first-child {{ text-align: left; }}\n\
         svg text {{ font: 11px system-ui, sans-serif; fill: #444; }}\n\
         .legend span {{ display: inline-block; width: 1em; height: 1em; margin: 0 0.3em 0 1em; vertical-align: middle; }}\n\
         </style>\n</head>\n<body>\n",
        escape(&a.program),
        escape(&b.program)
    );
    let _ = writeln!(
        page,
        "<h1>{} (A) against {} (B)</h1>\n<p>{} transactions of {} customers, replayed to {}.</p>",
        escape(&a.program),
        escape(&b.program),
        run.transactions,
        run.comparison.customers,
        run.horizon.to_rfc3339()
    );
    page.push_str(&legend());
    page.push_str(&totals_table(a, b, currency));

    let months: Vec<String> = keys_of_both(&a.by_month, &b.by_month)
        .into_iter()
        .map(str::to_string)
        .collect();
    let monthly = |outcome: &Outcome, f: fn(&super::Flows) -> Decimal| {
        months
            .iter()
            .map(|m| outcome.by_month.get(m).map_or(Decimal::ZERO, f))
            .collect::<Vec<_>>()
    };
    let held = |outcome: &Outcome| {
        let mut total = Decimal::ZERO;
        months
            .iter()
            .map(|m| {
                total += outcome
                    .by_month
                    .get(m)
                    .map_or(Decimal::ZERO, |f| f.outstanding());
                total
            })
            .collect::<Vec<_>>()
    };
    let pair = |x: Vec<Decimal>, y: Vec<Decimal>| {
        vec![
            Series {
                name: "A",
                values: x,
            },
            Series {
                name: "B",
                values: y,
            },
        ]
    };
    page.push_str(&section(
        "Points earned per month",
        &columns(
            &months,
            &pair(monthly(a, |f| f.earned), monthly(b, |f| f.earned)),
        ),
    ));
    page.push_str(&section(
        "Points spent per month",
        &columns(
            &months,
            &pair(monthly(a, |f| f.redeemed), monthly(b, |f| f.redeemed)),
        ),
    ));
    page.push_str(&section(
        "Points held at the end of each month (the liability in points)",
        &lines(&months, &pair(held(a), held(b))),
    ));

    let sources = run.sources();
    let names: Vec<String> = sources.iter().map(|s| s.0.to_string()).collect();
    let in_a = sources.iter().map(|s| s.1).collect();
    let in_b = sources.iter().map(|s| s.2).collect();
    page.push_str(&section(
        "Points issued per rule and promotion",
        &columns(&names, &pair(in_a, in_b)),
    ));

    let c = &run.comparison;
    let buckets: Vec<String> = c
        .histogram
        .iter()
        .map(|bucket| bucket.from.to_string())
        .collect();
    let counts = vec![Series {
        name: "customers",
        values: c
            .histogram
            .iter()
            .map(|b| Decimal::from(b.customers))
            .collect(),
    }];
    let _ = writeln!(
        page,
        "<h2>Customers by points gained under B</h2>\n<p>{} gain, {} lose, {} unchanged. Each bar counts the customers whose points issued under B less under A fall from its label up to the next one.</p>",
        c.gain, c.lose, c.same
    );
    if buckets.is_empty() {
        page.push_str("<p>Every customer is issued the same points under A and B.</p>\n");
    } else {
        page.push_str(&columns(&buckets, &counts));
    }
    page.push_str(&movers(run));
    page.push_str("</body>\n</html>\n");
    page
}

/// The colours of A and B.
fn legend() -> String {
    format!(
        "<p class=\"legend\"><span style=\"background:{}\"></span>A<span style=\"background:{}\"></span>B</p>\n",
        colour(0),
        colour(1)
    )
}

/// A heading and its chart.
fn section(title: &str, chart: &str) -> String {
    format!("<h2>{}</h2>\n{chart}", escape(title))
}

/// The summary figures of A and B.
fn totals_table(a: &Outcome, b: &Outcome, currency: &str) -> String {
    let mut rows = vec![
        ("points earned", a.totals.earned, b.totals.earned),
        ("points taken back", a.totals.reversed, b.totals.reversed),
        ("points spent", a.totals.redeemed, b.totals.redeemed),
        ("points expired", a.totals.expired, b.totals.expired),
        (
            "points outstanding",
            a.totals.outstanding(),
            b.totals.outstanding(),
        ),
        ("discounts", a.discounts, b.discounts),
    ];
    if let (Some(x), Some(y)) = (a.liability, b.liability) {
        rows.push(("liability", x, y));
    }
    if let (Some(x), Some(y)) = (a.forecast.expected_liability, b.forecast.expected_liability) {
        rows.push(("liability less breakage", x, y));
    }
    let mut table = String::from("<table>\n<tr><th></th><th>A</th><th>B</th><th>B - A</th></tr>\n");
    for (label, x, y) in rows {
        let unit = if label.starts_with("points") {
            String::new()
        } else {
            format!(" ({currency})")
        };
        let _ = writeln!(
            table,
            "<tr><td>{label}{unit}</td><td>{x}</td><td>{y}</td><td>{}</td></tr>",
            y - x
        );
    }
    table.push_str("</table>\n");
    table
}

/// The largest gains and losses, and the tier moves.
fn movers(run: &Simulation) -> String {
    let c = &run.comparison;
    let mut html = String::new();
    for (title, list) in [
        ("Largest gains under B", &c.top_gainers),
        ("Largest losses under B", &c.top_losers),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(
            html,
            "<h2>{title}</h2>\n<table>\n<tr><th>account</th><th>A</th><th>B</th><th>B - A</th></tr>"
        );
        for d in list {
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&d.account),
                d.a,
                d.b,
                d.delta
            );
        }
        html.push_str("</table>\n");
    }
    html.push_str(
        "<h2>Tiers at the end</h2>\n<table>\n<tr><th>under A</th><th>under B</th><th>customers</th></tr>\n",
    );
    for m in &c.tier_moves {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&m.a),
            escape(&m.b),
            m.customers
        );
    }
    html.push_str("</table>\n");
    html
}

/// Vertical bars, the series side by side in each category.
fn columns(categories: &[String], series: &[Series<'_>]) -> String {
    let top = scale_top(series);
    let slot = (WIDTH - LEFT) / i64::try_from(categories.len().max(1)).unwrap_or(1);
    let width = (slot * 8 / 10 / i64::try_from(series.len().max(1)).unwrap_or(1)).max(1);
    let mut svg = open_svg(top);
    for (i, name) in categories.iter().enumerate() {
        let x0 = LEFT + slot * i64::try_from(i).unwrap_or(0) + slot / 10;
        for (k, s) in series.iter().enumerate() {
            let value = s.values.get(i).copied().unwrap_or_default();
            let h = height(value, top);
            let x = x0 + width * i64::try_from(k).unwrap_or(0);
            let _ = writeln!(
                svg,
                "<rect x=\"{x}\" y=\"{}\" width=\"{width}\" height=\"{h}\" fill=\"{}\"><title>{} {}: {value}</title></rect>",
                HEIGHT - h,
                colour(k),
                escape(name),
                s.name
            );
        }
        category_label(
            &mut svg,
            LEFT + slot * i64::try_from(i).unwrap_or(0) + slot / 2,
            name,
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// A line per series over the categories.
fn lines(categories: &[String], series: &[Series<'_>]) -> String {
    let top = scale_top(series);
    let slot = (WIDTH - LEFT) / i64::try_from(categories.len().max(1)).unwrap_or(1);
    let x_of = |i: usize| LEFT + slot * i64::try_from(i).unwrap_or(0) + slot / 2;
    let mut svg = open_svg(top);
    for (k, s) in series.iter().enumerate() {
        let points: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{},{}", x_of(i), HEIGHT - height(*v, top)))
            .collect();
        let _ = writeln!(
            svg,
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"><title>{}</title></polyline>",
            colour(k),
            points.join(" "),
            s.name
        );
    }
    for (i, name) in categories.iter().enumerate() {
        category_label(&mut svg, x_of(i), name);
    }
    svg.push_str("</svg>\n");
    svg
}

/// The SVG element with its axis and the top value's label.
fn open_svg(top: Decimal) -> String {
    format!(
        "<svg viewBox=\"0 0 {} {}\" width=\"100%\" role=\"img\">\n\
         <line x1=\"{LEFT}\" y1=\"{HEIGHT}\" x2=\"{WIDTH}\" y2=\"{HEIGHT}\" stroke=\"#999\"/>\n\
         <line x1=\"{LEFT}\" y1=\"0\" x2=\"{LEFT}\" y2=\"{HEIGHT}\" stroke=\"#999\"/>\n\
         <text x=\"{}\" y=\"12\" text-anchor=\"end\">{top}</text>\n\
         <text x=\"{}\" y=\"{HEIGHT}\" text-anchor=\"end\">0</text>\n",
        WIDTH,
        HEIGHT + BOTTOM,
        LEFT - 6,
        LEFT - 6
    )
}

/// A category's name under the axis.
fn category_label(svg: &mut String, x: i64, name: &str) {
    let _ = writeln!(
        svg,
        "<text x=\"{x}\" y=\"{y}\" text-anchor=\"end\" transform=\"rotate(-35 {x} {y})\">{}</text>",
        escape(name),
        y = HEIGHT + 14
    );
}

/// The value the top of a chart stands for: the largest value (at least 1).
fn scale_top(series: &[Series<'_>]) -> Decimal {
    series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or_default()
        .max(Decimal::ONE)
}

/// A value's height in the chart, whole units (negative values drawn as nothing).
fn height(value: Decimal, top: Decimal) -> i64 {
    let h = (value.max(Decimal::ZERO) * Decimal::from(HEIGHT) / top).round();
    h.to_i64().unwrap_or(0)
}

fn colour(series: usize) -> &'static str {
    COLOURS.get(series).copied().unwrap_or("#999")
}
