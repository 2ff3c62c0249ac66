//! A decision as text for people: the effects, the coupons refused, the totals, and the trace.

use puntos::eval::{Decision, Effect, Step};
use puntos::ledger::{AccountState, JournalEntry};
use std::fmt::Write as _;

/// Renders `decision` for a terminal.
pub fn decision_text(decision: &Decision) -> String {
    let currency = &decision.currency;
    let mut out = String::new();
    let id = if decision.transaction.is_empty() {
        String::new()
    } else {
        format!(" {}", decision.transaction)
    };
    let _ = writeln!(out, "{}{id} under {}", decision.kind, decision.program);
    if decision.effects.is_empty() {
        let _ = writeln!(out, "  no effects");
    }
    for effect in &decision.effects {
        let _ = writeln!(out, "  {}", effect_text(effect, currency));
    }
    for refused in &decision.refused_coupons {
        let _ = writeln!(out, "  refused coupon {}: {}", refused.code, refused.reason);
    }
    let _ = writeln!(
        out,
        "total: {} points earned, {} points redeemed, {} {currency} off",
        decision.points_earned(),
        decision.points_redeemed(),
        decision.discount_total()
    );
    if let Some(trace) = &decision.trace {
        let _ = writeln!(out, "why:");
        for step in trace {
            out.push_str(&step_text(step));
        }
    }
    out
}

/// One effect on one line.
pub fn effect_text(effect: &Effect, currency: &str) -> String {
    match effect {
        Effect::Earn {
            source,
            points,
            available_at,
            expires_at,
            ..
        } => {
            let mut s = format!("earn {points} points from {source}");
            if let Some(t) = available_at {
                let _ = write!(s, ", available {}", t.to_rfc3339());
            }
            if let Some(t) = expires_at {
                let _ = write!(s, ", expire {}", t.to_rfc3339());
            }
            s
        }
        Effect::Redeem { points, value, .. } => {
            format!("redeem {points} points for {value} {currency}")
        }
        Effect::Discount {
            source,
            code,
            amount,
            ..
        } => match code {
            Some(code) => format!("discount {amount} {currency} from {source} (code {code})"),
            None => format!("discount {amount} {currency} from {source}"),
        },
        Effect::IssueCoupon {
            coupon,
            valid_until,
        } => match valid_until {
            Some(t) => format!("issue coupon {coupon}, valid until {}", t.to_rfc3339()),
            None => format!("issue coupon {coupon}"),
        },
        Effect::ConsumeCoupon { coupon, code } => format!("use up code {code} of coupon {coupon}"),
        Effect::TierChange { from, to, until } => {
            let name =
                |t: &Option<puntos::program::Name>| t.as_deref().unwrap_or("no tier").to_string();
            let mut s = format!("tier {} -> {}", name(from), name(to));
            if let Some(u) = until {
                let _ = write!(s, ", kept until {u}");
            }
            s
        }
        Effect::BudgetConsumed { promotion, amount } => {
            format!("spend {amount} of the budget of promotion {promotion}")
        }
        Effect::LimitCounted { source } => format!("count one use of {source}"),
        Effect::ReverseEarn {
            source,
            points,
            of_transaction,
        } => format!("take back {points} points earned from {source} on {of_transaction}"),
        Effect::ReturnRedeemed {
            points,
            value,
            of_transaction,
        } => format!("give back {points} points ({value} {currency}) redeemed on {of_transaction}"),
    }
}

/// One trace step, indented, with its facts and arithmetic.
pub fn step_text(step: &Step) -> String {
    let mut out = String::new();
    let mark = if step.applied { "+" } else { "-" };
    let _ = write!(out, "  {mark} {}", step.subject);
    if let Some(reason) = &step.reason {
        let _ = write!(out, ": {reason}");
    }
    out.push('\n');
    for fact in step.facts.iter().chain(&step.arithmetic) {
        let _ = writeln!(out, "      {} = {}", fact.what, fact.value);
    }
    out
}

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
