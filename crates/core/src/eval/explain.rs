//! A decision as text for people: the effects, the coupons refused, the totals and the trace.
//! The command line prints it, the Python binding returns it from `Decision.explain()`, and a
//! till shows its lines; one wording everywhere.

use super::decision::{Decision, Effect, Step};
use std::fmt::Write as _;

impl Decision {
    /// Renders the decision as lines of text: a heading, one line per effect and refused
    /// coupon, the totals, and the trace when it was recorded.
    pub fn explain(&self) -> String {
        let currency = &self.currency;
        let mut out = String::new();
        let id = if self.transaction.is_empty() {
            String::new()
        } else {
            format!(" {}", self.transaction)
        };
        let _ = writeln!(out, "{}{id} under {}", self.kind, self.program);
        if self.effects.is_empty() {
            let _ = writeln!(out, "  no effects");
        }
        for effect in &self.effects {
            let _ = writeln!(out, "  {}", effect.describe(currency));
        }
        for refused in &self.refused_coupons {
            let _ = writeln!(out, "  refused coupon {}: {}", refused.code, refused.reason);
        }
        let _ = writeln!(
            out,
            "total: {} points earned, {} points redeemed, {} {currency} off",
            self.points_earned(),
            self.points_redeemed(),
            self.discount_total()
        );
        if let Some(trace) = &self.trace {
            let _ = writeln!(out, "why:");
            for step in trace {
                out.push_str(&step.explain());
            }
        }
        out
    }
}

impl Effect {
    /// The effect in one line of words, money in `currency`.
    pub fn describe(&self, currency: &str) -> String {
        match self {
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
            Effect::ConsumeCoupon { coupon, code } => {
                format!("use up code {code} of coupon {coupon}")
            }
            Effect::TierChange { from, to, until } => {
                let name = |t: &Option<crate::program::Name>| {
                    t.as_deref().unwrap_or("no tier").to_string()
                };
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
            } => format!(
                "give back {points} points ({value} {currency}) redeemed on {of_transaction}"
            ),
        }
    }
}

impl Step {
    /// The trace step as an indented line (`+` applied, `-` not) with its facts and
    /// arithmetic beneath.
    pub fn explain(&self) -> String {
        let mut out = String::new();
        let mark = if self.applied { "+" } else { "-" };
        let _ = write!(out, "  {mark} {}", self.subject);
        if let Some(reason) = &self.reason {
            let _ = write!(out, ": {reason}");
        }
        out.push('\n');
        for fact in self.facts.iter().chain(&self.arithmetic) {
            let _ = writeln!(out, "      {} = {}", fact.what, fact.value);
        }
        out
    }
}
