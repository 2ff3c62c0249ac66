//! A simulation's summary as text: what `puntos simulate` prints and Python's
//! `Simulation.summary()` returns.

use super::Simulation;
use std::fmt::Write as _;

impl Simulation {
    /// The figures a person reads first, as a table of text: totals under A and B and their
    /// difference, liability, breakage, who gains and loses, tier moves, points per rule and
    /// promotion (what `puntos simulate` prints).
    pub fn summary(&self, currency: &str) -> String {
        let run = self;
        let (a, b) = (&run.a, &run.b);
        let mut s = String::new();
        let first = run.first.map_or(String::from("-"), |t| t.to_rfc3339());
        let _ = writeln!(
            s,
            "Simulated {} transactions of {} customers, {first} to {} (the horizon)\n",
            run.transactions,
            run.comparison.customers,
            run.horizon.to_rfc3339()
        );
        let _ = writeln!(s, "{:<28} {:>16} {:>16} {:>16}", "", "A", "B", "B - A");
        let _ = writeln!(
            s,
            "{:<28} {:>16} {:>16}",
            "program",
            clip(&a.program),
            clip(&b.program)
        );
        for m in run.measures(currency) {
            let _ = writeln!(
                s,
                "{:<28} {:>16} {:>16} {:>16}",
                m.label,
                m.a,
                m.b,
                m.b - m.a
            );
        }
        for (side, outcome) in [("A", a), ("B", b)] {
            if let Some(r) = outcome.refusals.first() {
                let _ = writeln!(
                    s,
                    "  refused under {side}, e.g. {}: {}",
                    r.transaction, r.reason
                );
            }
        }
        for (side, outcome) in [("A", a), ("B", b)] {
            let f = &outcome.forecast;
            let _ = match f.breakage {
            Some(rate) => writeln!(
                s,
                "  breakage under {side}: {rate} of the points that left expired ({} settled cohorts)",
                f.settled_cohorts
            ),
            None => writeln!(
                s,
                "  breakage under {side}: no cohort settled yet; cohorts.csv has the triangle so far"
            ),
        };
        }
        let c = &run.comparison;
        let _ = writeln!(
            s,
            "\nCustomers under B: {} gain points, {} lose, {} unchanged",
            c.gain, c.lose, c.same
        );
        for (title, list) in [
            ("Largest gains", &c.top_gainers),
            ("Largest losses", &c.top_losers),
        ] {
            if !list.is_empty() {
                let shown: Vec<String> = list
                    .iter()
                    .take(5)
                    .map(|d| format!("{} {:+}", d.account, d.delta))
                    .collect();
                let _ = writeln!(s, "{title}: {}", shown.join(", "));
            }
        }
        let moves: Vec<String> = c
            .tier_moves
            .iter()
            .filter(|m| m.a != m.b)
            .map(|m| format!("{} -> {}: {}", m.a, m.b, m.customers))
            .collect();
        if !moves.is_empty() {
            let _ = writeln!(s, "Tier moves (A -> B): {}", moves.join(", "));
        }
        let _ = writeln!(s, "\nPoints issued per rule and promotion:");
        for (source, x, y) in run.sources() {
            let _ = writeln!(s, "  {:<26} {x:>16} {y:>16} {:>16}", clip(source), y - x);
        }
        s
    }
}

/// A name cut to fit its column.
fn clip(name: &str) -> String {
    if name.chars().count() <= 26 {
        name.to_string()
    } else {
        let cut: String = name.chars().take(25).collect();
        format!("{cut}…")
    }
}
