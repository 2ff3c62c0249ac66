//! An account as text for people: balances, tier, coupons held, lots and the journal.

use puntos::ledger::{AccountState, JournalEntry};
use std::fmt::Write as _;

/// A coupon code held: `CODE (COUPON, issued D[, from D][, until D], N of M uses left)`, or
/// how often it was used for a code whose uses only the program limits.
fn held_coupon_text(held: &puntos::eval::HeldCoupon) -> String {
    let mut parts = vec![
        held.coupon.clone(),
        format!("issued {}", held.issued_at.date_naive()),
    ];
    if let Some(from) = held.valid_from {
        parts.push(format!("from {}", from.date_naive()));
    }
    if let Some(until) = held.valid_until {
        parts.push(format!("until {}", until.date_naive()));
    }
    parts.push(match (held.uses_left(), held.max_uses) {
        (Some(left), Some(max)) => format!("{left} of {max} uses left"),
        _ => match held.used {
            0 => "not used yet".to_string(),
            1 => "used once".to_string(),
            n => format!("used {n} times"),
        },
    });
    format!("{} ({})", held.code, parts.join(", "))
}

/// An account for a person: balances, tier, coupons held, lots, then every journal entry with
/// its reason.
pub fn account_text(state: &AccountState, entries: &[JournalEntry]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "account {}", state.id);
    if !state.cards.is_empty() {
        let cards: Vec<String> = state
            .cards
            .iter()
            .map(|c| match c.issued {
                Some(issued) => format!("{} ({}, issued {issued})", c.number, c.status.as_str()),
                None => format!("{} ({})", c.number, c.status.as_str()),
            })
            .collect();
        let _ = writeln!(out, "  cards: {}", cards.join(", "));
    }
    let aliases: Vec<&str> = state
        .aliases
        .iter()
        .map(String::as_str)
        .filter(|a| !state.cards.iter().any(|c| c.number == *a))
        .collect();
    if !aliases.is_empty() {
        let _ = writeln!(out, "  aliases: {}", aliases.join(", "));
    }
    let _ = writeln!(
        out,
        "  balance {} points: {} available, {} pending",
        state.balance(),
        state.available(),
        state.pending()
    );
    match &state.tier {
        Some(t) => {
            let until = t.until.map_or(String::new(), |u| format!(" until {u}"));
            let _ = writeln!(out, "  tier {}{until}", t.name);
        }
        None => {
            let _ = writeln!(out, "  no tier");
        }
    }
    if !state.coupons.is_empty() {
        let _ = writeln!(out, "coupons:");
        for held in &state.coupons {
            let _ = writeln!(out, "  {}", held_coupon_text(held));
        }
    }
    let open: Vec<_> = state
        .lots
        .iter()
        .filter(|l| !l.remaining.is_zero())
        .collect();
    if !open.is_empty() {
        let _ = writeln!(out, "lots:");
        for lot in open {
            let status = if lot.pending { "pending" } else { "available" };
            let expires = lot
                .expires_at
                .map_or(String::new(), |e| format!(", expires {}", e.date_naive()));
            let _ = writeln!(
                out,
                "  {} {} of {} points, {status}{expires} ({})",
                lot.id, lot.remaining, lot.points, lot.source
            );
        }
    }
    let _ = writeln!(out, "journal:");
    for e in entries {
        let _ = writeln!(
            out,
            "  {:>5} {} {:<8} {:>8}  {}",
            e.seq,
            e.at.date_naive(),
            format!("{:?}", e.kind).to_lowercase(),
            e.points,
            e.note
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::held_coupon_text;
    use puntos::eval::HeldCoupon;

    fn held(max_uses: Option<u32>, used: u32) -> HeldCoupon {
        HeldCoupon {
            code: "GIFT-1".to_string(),
            coupon: "GIFT".to_string(),
            issued_at: "2026-03-01T10:00:00+03:00".parse().unwrap(),
            valid_from: Some("2026-03-05T00:00:00+03:00".parse().unwrap()),
            valid_until: None,
            max_uses,
            used,
        }
    }

    #[test]
    fn a_held_coupon_shows_its_window_and_uses() {
        assert_eq!(
            held_coupon_text(&held(Some(3), 1)),
            "GIFT-1 (GIFT, issued 2026-03-01, from 2026-03-05, 2 of 3 uses left)"
        );
        assert_eq!(
            held_coupon_text(&held(None, 2)),
            "GIFT-1 (GIFT, issued 2026-03-01, from 2026-03-05, used 2 times)"
        );
        assert_eq!(
            held_coupon_text(&held(None, 1)),
            "GIFT-1 (GIFT, issued 2026-03-01, from 2026-03-05, used once)"
        );
    }
}
