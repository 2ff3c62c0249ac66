//! What a step's decision must show, and the comparison that lists every mismatch.
//!
//! Maps (`earn`, `discount`, `reverse`, `budget`, `refused`) are exact: a source that earned
//! and is not listed is a mismatch, so a scenario also proves what did *not* happen.

use super::StepResult;
use crate::eval::{Decision, Effect, Source};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Expectations for one step; every field is optional.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Net points earned (earned minus taken back).
    pub points: Option<Decimal>,
    /// Points per rule or promotion; exactly these earn.
    pub earn: Option<BTreeMap<String, Decimal>>,
    /// Rules or promotions that must not earn.
    #[serde(default)]
    pub not_applied: Vec<String>,
    /// Declarations that must not apply, each with words its trace reason must contain.
    #[serde(default)]
    pub why_not: BTreeMap<String, String>,
    /// Money off per offer or coupon; exactly these discount.
    pub discount: Option<BTreeMap<String, Decimal>>,
    /// Points redeemed.
    pub redeem: Option<Decimal>,
    /// Codes refused, each with words its reason must contain; exactly these are refused.
    pub refused: Option<BTreeMap<String, String>>,
    /// The tier the customer moves to (`"none"` for no tier), or `false` for no change.
    pub tier_change: Option<TierExpect>,
    /// Coupons issued; exactly these.
    pub issue: Option<Vec<String>>,
    /// Points taken back per rule or promotion (refunds); exactly these.
    pub reverse: Option<BTreeMap<String, Decimal>>,
    /// Redeemed points given back (refunds).
    pub returned: Option<Decimal>,
    /// Budget spent per promotion; exactly these.
    pub budget: Option<BTreeMap<String, Decimal>>,
    /// The step must fail with an error containing these words.
    pub error: Option<String>,
    /// The field the error must name.
    pub error_field: Option<String>,
}

/// An expected tier change.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum TierExpect {
    /// `false`: no change.
    Change(bool),
    /// The new tier's name, or `"none"`.
    To(String),
}

impl Expect {
    /// Every mismatch between the expectations and `result`, in words.
    pub fn check(&self, result: StepResult<'_>) -> Vec<String> {
        let mut out = Vec::new();
        match (result, &self.error) {
            (Err(e), None) => out.push(format!("unexpected error: {e}")),
            (Err(e), Some(words)) => {
                if !e.to_string().contains(words.as_str()) {
                    out.push(format!(
                        "error: expected one containing {words:?}, got: {e}"
                    ));
                }
                if let Some(field) = &self.error_field {
                    if e.field() != Some(field.as_str()) {
                        out.push(format!(
                            "error field: expected {field}, got {}",
                            e.field().unwrap_or("none")
                        ));
                    }
                }
            }
            (Ok(_), Some(words)) => out.push(format!(
                "expected an error containing {words:?}, but the step was decided"
            )),
            (Ok(d), None) => self.check_decision(d, &mut out),
        }
        out
    }

    fn check_decision(&self, d: &Decision, out: &mut Vec<String>) {
        if let Some(points) = self.points {
            let got = d.points_earned();
            if got != points {
                out.push(format!("points: expected {points}, got {got}"));
            }
        }
        let earned = sums(d, |e| match e {
            Effect::Earn { source, points, .. } => Some((source.name().to_string(), *points)),
            _ => None,
        });
        if let Some(expected) = &self.earn {
            exact("earn", expected, &earned, out);
        }
        for name in &self.not_applied {
            if let Some(points) = earned.get(name) {
                out.push(format!(
                    "{name}: expected not to apply, but it earned {points} points"
                ));
            }
        }
        for (name, words) in &self.why_not {
            let step = d
                .trace
                .iter()
                .flatten()
                .find(|s| s.subject.name() == name && !s.applied);
            match step {
                None => out.push(format!("{name}: expected not to apply ({words:?}), but it applied or was not considered")),
                Some(s) => {
                    let reason = s.reason.clone().unwrap_or_default();
                    if !reason.contains(words.as_str()) {
                        out.push(format!("{name}: expected the reason to contain {words:?}, got {reason:?}"));
                    }
                }
            }
        }
        if let Some(expected) = &self.discount {
            let got = sums(d, |e| match e {
                Effect::Discount { source, amount, .. } => {
                    Some((source.name().to_string(), *amount))
                }
                _ => None,
            });
            exact("discount", expected, &got, out);
        }
        if let Some(points) = self.redeem {
            let got = d.points_redeemed();
            if got != points {
                out.push(format!("redeem: expected {points} points, got {got}"));
            }
        }
        if let Some(expected) = &self.refused {
            for (code, words) in expected {
                match d.refused_coupons.iter().find(|r| &r.code == code) {
                    None => out.push(format!(
                        "coupon {code}: expected to be refused ({words:?}), but it was not"
                    )),
                    Some(r) if !r.reason.contains(words.as_str()) => out.push(format!(
                        "coupon {code}: expected the reason to contain {words:?}, got {:?}",
                        r.reason
                    )),
                    Some(_) => {}
                }
            }
            for r in &d.refused_coupons {
                if !expected.contains_key(&r.code) {
                    out.push(format!(
                        "coupon {}: refused unexpectedly: {}",
                        r.code, r.reason
                    ));
                }
            }
        }
        if let Some(tier) = &self.tier_change {
            let change = d.effects.iter().find_map(|e| match e {
                Effect::TierChange { to, .. } => Some(to.as_deref().unwrap_or("none").to_string()),
                _ => None,
            });
            match (tier, change) {
                (TierExpect::Change(false), Some(to)) => {
                    out.push(format!("tier: expected no change, got a change to {to}"))
                }
                (TierExpect::Change(true), None) => {
                    out.push("tier: expected a change, got none".to_string())
                }
                (TierExpect::To(want), got) if got.as_deref() != Some(want.as_str()) => {
                    out.push(format!(
                        "tier: expected a change to {want}, got {}",
                        got.unwrap_or_else(|| "no change".to_string())
                    ))
                }
                _ => {}
            }
        }
        if let Some(expected) = &self.issue {
            let mut got: Vec<String> = d
                .effects
                .iter()
                .filter_map(|e| match e {
                    Effect::IssueCoupon { coupon, .. } => Some(coupon.to_string()),
                    _ => None,
                })
                .collect();
            let mut want = expected.clone();
            got.sort();
            want.sort();
            if got != want {
                out.push(format!("issue: expected {want:?}, got {got:?}"));
            }
        }
        if let Some(expected) = &self.reverse {
            let got = sums(d, |e| match e {
                Effect::ReverseEarn { source, points, .. } => {
                    Some((source.name().to_string(), *points))
                }
                _ => None,
            });
            exact("reverse", expected, &got, out);
        }
        if let Some(points) = self.returned {
            let got: Decimal = d
                .effects
                .iter()
                .filter_map(|e| match e {
                    Effect::ReturnRedeemed { points, .. } => Some(*points),
                    _ => None,
                })
                .sum();
            if got != points {
                out.push(format!("returned: expected {points} points, got {got}"));
            }
        }
        if let Some(expected) = &self.budget {
            let got = sums(d, |e| match e {
                Effect::BudgetConsumed { promotion, amount } => {
                    Some((promotion.to_string(), *amount))
                }
                _ => None,
            });
            exact("budget", expected, &got, out);
        }
    }
}

/// Totals per name of the effects `pick` selects.
fn sums(
    d: &Decision,
    pick: impl Fn(&Effect) -> Option<(String, Decimal)>,
) -> BTreeMap<String, Decimal> {
    let mut out: BTreeMap<String, Decimal> = BTreeMap::new();
    for (name, amount) in d.effects.iter().filter_map(pick) {
        *out.entry(name).or_default() += amount;
    }
    out
}

/// Compares an exact map of expected amounts with the actual ones.
fn exact(
    what: &str,
    expected: &BTreeMap<String, Decimal>,
    got: &BTreeMap<String, Decimal>,
    out: &mut Vec<String>,
) {
    for (name, want) in expected {
        match got.get(name) {
            Some(have) if have == want => {}
            Some(have) => out.push(format!("{what} {name}: expected {want}, got {have}")),
            None if want.is_zero() => {}
            None => out.push(format!("{what} {name}: expected {want}, got nothing")),
        }
    }
    for (name, have) in got {
        if !expected.contains_key(name) {
            out.push(format!("{what} {name}: got {have}, not expected"));
        }
    }
}

/// The sources a set of failures mentions, to pick trace steps for the report.
pub fn mentioned(failures: &[String], source: &Source) -> bool {
    let name = source.name();
    failures.iter().any(|f| f.contains(name))
}
