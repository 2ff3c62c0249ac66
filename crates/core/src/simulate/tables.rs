//! A simulation's figures as tables of rows: the totals, the month-by-month flows, the cohort
//! triangle, points per rule and promotion, and the per-customer outcomes under A and B; and a
//! history as a table of basket lines. The command line writes them as CSV files, the Python
//! binding as DataFrames: one layout for both.

use super::{keys_of_both, CustomerOutcome, Flows, Simulation};
use crate::ledger::Incoming;
pub use crate::table::{Cell, Table};
use rust_decimal::Decimal;

/// One measure of a simulation under A and B.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measure {
    /// Its key in tables (`earned`, `liability`...).
    pub key: &'static str,
    /// Its label for people (`points earned`, `liability (RUB)`...).
    pub label: String,
    /// Under A.
    pub a: Decimal,
    /// Under B.
    pub b: Decimal,
}

impl Simulation {
    /// The totals under A and B, one per measure: points earned, taken back, spent, expired,
    /// outstanding (and of it pending), the liability at the redemption rate and less the
    /// forecast breakage (when the programs have a rate), discounts, and transactions applied
    /// and refused. Labels name money in `currency`.
    pub fn measures(&self, currency: &str) -> Vec<Measure> {
        let (a, b) = (&self.a, &self.b);
        let mut measures = Vec::new();
        let mut add = |key: &'static str, label: String, x: Decimal, y: Decimal| {
            measures.push(Measure {
                key,
                label,
                a: x,
                b: y,
            });
        };
        let points = |what: &str| format!("points {what}");
        add("earned", points("earned"), a.totals.earned, b.totals.earned);
        add(
            "taken_back",
            points("taken back"),
            a.totals.reversed,
            b.totals.reversed,
        );
        add(
            "spent",
            points("spent"),
            a.totals.redeemed,
            b.totals.redeemed,
        );
        add(
            "expired",
            points("expired"),
            a.totals.expired,
            b.totals.expired,
        );
        add(
            "outstanding",
            points("outstanding"),
            a.totals.outstanding(),
            b.totals.outstanding(),
        );
        add(
            "pending",
            "  of which pending".to_string(),
            a.pending,
            b.pending,
        );
        if let (Some(x), Some(y)) = (a.liability, b.liability) {
            add("liability", format!("liability ({currency})"), x, y);
        }
        if let (Some(x), Some(y)) = (a.forecast.expected_liability, b.forecast.expected_liability) {
            let label = format!("  less breakage ({currency})");
            add("liability_less_breakage", label, x, y);
        }
        let discounts = format!("discounts ({currency})");
        add("discounts", discounts, a.discounts, b.discounts);
        let applied = "applied transactions".to_string();
        add("applied", applied, a.applied.into(), b.applied.into());
        let refused = "refused transactions".to_string();
        add("refused", refused, a.refused.into(), b.refused.into());
        measures
    }

    /// The totals as a table: measure, a, b, delta (the [`measures`](Self::measures)).
    pub fn totals_table(&self) -> Table {
        let rows = self
            .measures("")
            .into_iter()
            .map(|m| {
                vec![
                    Cell::Text(m.key.to_string()),
                    Cell::Number(m.a),
                    Cell::Number(m.b),
                    Cell::Number(m.b - m.a),
                ]
            })
            .collect();
        Table {
            name: "totals",
            columns: vec!["measure", "a", "b", "delta"],
            rows,
        }
    }

    /// Per month and program: points earned, taken back, spent, expired, and outstanding at
    /// the month's end.
    pub fn months_table(&self) -> Table {
        let mut rows = Vec::new();
        for (label, outcome) in [("A", &self.a), ("B", &self.b)] {
            let mut held = Decimal::ZERO;
            for (month, f) in &outcome.by_month {
                held += f.outstanding();
                rows.push(flows_row(month, label, None, f, held));
            }
        }
        Table {
            name: "months",
            columns: flows_columns("month", false),
            rows,
        }
    }

    /// The cohort triangle: per month of issue, program and age in months, the points of that
    /// cohort earned, taken back, spent and expired at that age, and what it still holds.
    pub fn cohorts_table(&self) -> Table {
        let mut rows = Vec::new();
        for (label, outcome) in [("A", &self.a), ("B", &self.b)] {
            for (cohort, ages) in &outcome.by_cohort {
                let mut held = Decimal::ZERO;
                for (age, f) in (0u64..).zip(ages) {
                    held += f.outstanding();
                    rows.push(flows_row(cohort, label, Some(age), f, held));
                }
            }
        }
        Table {
            name: "cohorts",
            columns: flows_columns("cohort", true),
            rows,
        }
    }

    /// Points issued per rule and promotion under A and B, and the difference.
    pub fn sources_table(&self) -> Table {
        Table {
            name: "sources",
            columns: vec!["source", "a", "b", "delta"],
            rows: self
                .sources()
                .into_iter()
                .map(|(source, x, y)| {
                    vec![
                        Cell::Text(source.to_string()),
                        Cell::Number(x),
                        Cell::Number(y),
                        Cell::Number(y - x),
                    ]
                })
                .collect(),
        }
    }

    /// Per account: points issued and outstanding under A and B, the difference in points
    /// issued, and the tier held at the horizon.
    pub fn customers_table(&self) -> Table {
        let (a, b) = (&self.a.customers, &self.b.customers);
        let flows = |c: Option<&CustomerOutcome>| c.map(|c| c.flows).unwrap_or_default();
        let tier = |c: Option<&CustomerOutcome>| {
            Cell::Text(c.and_then(|c| c.tier.clone()).unwrap_or_default())
        };
        let rows = keys_of_both(a, b)
            .into_iter()
            .map(|account| {
                let (x, y) = (a.get(account), b.get(account));
                let (fx, fy) = (flows(x), flows(y));
                vec![
                    Cell::Text(account.to_string()),
                    Cell::Number(fx.issued()),
                    Cell::Number(fy.issued()),
                    Cell::Number(fy.issued() - fx.issued()),
                    Cell::Number(fx.outstanding()),
                    Cell::Number(fy.outstanding()),
                    tier(x),
                    tier(y),
                ]
            })
            .collect();
        Table {
            name: "customers",
            columns: vec![
                "account",
                "a_issued",
                "b_issued",
                "delta",
                "a_outstanding",
                "b_outstanding",
                "a_tier",
                "b_tier",
            ],
            rows,
        }
    }
}

/// The columns of the months or cohorts table, keyed by `key`.
fn flows_columns(key: &'static str, with_age: bool) -> Vec<&'static str> {
    let mut columns = vec![key, "program"];
    if with_age {
        columns.push("age_months");
    }
    columns.extend(["earned", "taken_back", "spent", "expired", "outstanding"]);
    columns
}

/// One row of the months or cohorts table.
fn flows_row(key: &str, program: &str, age: Option<u64>, f: &Flows, held: Decimal) -> Vec<Cell> {
    let mut row = vec![Cell::Text(key.to_string()), Cell::Text(program.to_string())];
    row.extend(age.map(Cell::Count));
    row.extend(
        [f.earned, f.reversed, f.redeemed, f.expired, held]
            .into_iter()
            .map(Cell::Number),
    );
    row
}

/// A history as a table of basket lines, one row per line (a transaction without lines, such
/// as a signup, has one row with empty line columns), each transaction's own columns repeated
/// on its rows: the shape Python's `simulate(history=...)` and `evaluate_batch` read.
pub fn history_table(transactions: &[Incoming]) -> Table {
    let text = |t: &str| {
        if t.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(t.to_string())
        }
    };
    let date = |d: Option<chrono::NaiveDate>| d.map_or(Cell::Empty, |d| Cell::Text(d.to_string()));
    let mut rows = Vec::new();
    for incoming in transactions {
        let tx = &incoming.transaction;
        let customer = incoming.customer.as_ref();
        let own = vec![
            Cell::Text(incoming.account.clone()),
            text(&tx.id),
            Cell::Text(tx.time.to_rfc3339()),
            text(&tx.kind),
            text(&tx.channel),
            text(&tx.store.id),
            text(&tx.store.region),
            text(&tx.store.city),
            text(&tx.store.format),
            tx.coupons.first().map_or(Cell::Empty, |c| text(c)),
            tx.redeem.map_or(Cell::Empty, Cell::Number),
            incoming.refund_of.as_deref().map_or(Cell::Empty, text),
            customer.map_or(Cell::Empty, |c| text(&c.id)),
            date(customer.and_then(|c| c.birth_date)),
            date(customer.and_then(|c| c.enrolled_at)),
        ];
        if tx.lines.is_empty() {
            let mut row = own.clone();
            row.extend(std::iter::repeat_n(Cell::Empty, 7));
            rows.push(row);
        }
        for line in &tx.lines {
            let mut row = own.clone();
            row.extend([
                text(&line.sku),
                text(&line.category),
                text(&line.brand),
                Cell::Number(line.unit_price),
                Cell::Number(line.quantity),
                line.amount.map_or(Cell::Empty, Cell::Number),
                line.original_line
                    .map_or(Cell::Empty, |i| Cell::Count(i as u64)),
            ]);
            rows.push(row);
        }
    }
    Table {
        name: "history",
        columns: vec![
            "account",
            "transaction_id",
            "time",
            "kind",
            "channel",
            "store_id",
            "store_region",
            "store_city",
            "store_format",
            "coupon",
            "redeem",
            "refund_of",
            "customer_id",
            "birth_date",
            "enrolled_at",
            "sku",
            "category",
            "brand",
            "unit_price",
            "quantity",
            "amount",
            "original_line",
        ],
        rows,
    }
}
