//! Coupons: each code presented is honoured or refused with a reason a cashier can read out,
//! never skipped silently; and coupons issued on an event.
//!
//! A code is looked up among the customer's personal codes, then among the program's fixed
//! codes (case does not matter). It must be valid on the transaction's date (its window, or its
//! duration since issue), for the customer's segment, within its uses per customer, and its
//! condition must hold on the basket after item offers. A personal code's own record (its
//! window, its allowance of uses: [`HeldCoupon`]) must allow it too, besides the program's
//! rules: a code migrated or issued by a CRM campaign may be shorter-lived or fewer-used than
//! its coupon. The discount is capped by its maximum and by what is left to pay, rounded down
//! to the currency's minor unit, and spread over the lines in proportion to their amounts.

use super::calendar;
use super::context::HeldCoupon;
use super::decision::{Effect, Fact, RefusedCoupon, Source, Step};
use super::engine::Engine;
use super::error::EvalError;
use super::rounding::{non_negative, round};
use super::trace::Tracer;
use crate::program::{CodeBatch, Coupon};
use chrono::{DateTime, FixedOffset};
use puntos_dsl::ast::RoundingMode;

impl<'a, T: Tracer> Engine<'a, T> {
    /// Honours or refuses each presented code.
    pub fn apply_coupons(&mut self) -> Result<(), EvalError> {
        let codes = &self.ctx.transaction.coupons;
        let mut used_here: Vec<&str> = Vec::new();
        for (n, code) in codes.iter().enumerate() {
            let code = code.trim();
            let earlier = codes
                .iter()
                .take(n)
                .any(|c| c.trim().eq_ignore_ascii_case(code));
            let outcome = if earlier {
                Err((
                    None,
                    "presented twice in this transaction".to_string(),
                    Vec::new(),
                ))
            } else {
                self.coupon(code, &used_here)?
            };
            match outcome {
                Ok(coupon) => used_here.push(&coupon.name),
                Err((coupon, reason, facts)) => {
                    if T::ON {
                        self.trace.step(Step {
                            subject: Source::Coupon(
                                coupon.map_or_else(|| code.into(), |c| c.name.clone()),
                            ),
                            applied: false,
                            reason: Some(match coupon {
                                Some(_) => format!("code {code}: {reason}"),
                                None => reason.clone(),
                            }),
                            facts,
                            arithmetic: Vec::new(),
                        });
                    }
                    self.refused.push(RefusedCoupon {
                        code: code.to_string(),
                        coupon: coupon.map(|c| c.name.clone()),
                        reason,
                    });
                }
            }
        }
        Ok(())
    }

    /// Applies one code, or says why not.
    #[allow(clippy::type_complexity)]
    fn coupon(
        &mut self,
        code: &str,
        used_here: &[&str],
    ) -> Result<Result<&'a Coupon, (Option<&'a Coupon>, String, Vec<Fact>)>, EvalError> {
        let program = self.program;
        let held = self
            .ctx
            .account
            .coupons
            .iter()
            .find(|h| h.code.trim().eq_ignore_ascii_case(code));
        let coupon = match held {
            Some(h) => program.coupons.iter().find(|c| *c.name == *h.coupon),
            None => program.coupons.iter().find(|c| {
                matches!(&c.codes, CodeBatch::Fixed(list) if list.iter().any(|f| f.eq_ignore_ascii_case(code)))
            }),
        };
        let Some(coupon) = coupon else {
            let personal = program.coupons.iter().any(|c| {
                matches!(&c.codes, CodeBatch::Unique { prefix, .. } if !prefix.is_empty() && code.to_ascii_uppercase().starts_with(&prefix.to_ascii_uppercase()))
            });
            let reason = if held.is_some() {
                "its coupon is not in this program".to_string()
            } else if personal {
                "a personal code not issued to this customer".to_string()
            } else {
                "unknown code".to_string()
            };
            return Ok(Err((None, reason, Vec::new())));
        };
        self.enter("coupon", &coupon.name);
        let refuse = |reason: String| Ok(Err((Some(coupon), reason, Vec::new())));
        if !self.is_purchase() {
            return refuse(format!(
                "coupons apply to purchases, not to a {}",
                self.ctx.transaction.kind
            ));
        }
        if !calendar::in_window(&coupon.valid, &self.now) {
            let starts_later = coupon
                .valid
                .from
                .and_then(|f| calendar::moment_start(f, self.program.timezone))
                .is_some_and(|start| self.now.instant < start);
            return refuse(if starts_later {
                "not valid yet".to_string()
            } else {
                "expired".to_string()
            });
        }
        if let (Some(duration), Some(h)) = (coupon.valid_for, held) {
            let local = self.now.local_of(h.issued_at);
            let end = calendar::shift_instant(local, duration, false, self.program.timezone);
            if end.is_none_or(|end| self.now.instant > end) {
                return refuse(format!(
                    "expired: valid for {duration} after issue on {}",
                    h.issued_at.to_rfc3339()
                ));
            }
        }
        if let Some(reason) = held.and_then(|h| own_window_refusal(h, self.now.instant)) {
            return refuse(reason);
        }
        if self.outside_audience(&coupon.audience)? {
            return refuse(self.audience_refusal(&coupon.audience));
        }
        if let Some(uses) = coupon.uses_per_customer {
            let before = self
                .ctx
                .account
                .uses
                .get(&*coupon.name)
                .copied()
                .unwrap_or(0);
            let here = used_here.iter().filter(|n| **n == &*coupon.name).count();
            if u64::from(before) + here as u64 >= u64::from(uses) {
                return refuse(format!(
                    "used up: {uses} use(s) per customer, used {}",
                    u64::from(before) + here as u64
                ));
            }
        }
        if let Some(h) = held {
            if let (Some(max), Some(0)) = (h.max_uses, h.uses_left()) {
                return refuse(format!(
                    "used up: {max} use(s) of this code, used {}",
                    h.used
                ));
            }
        }
        let mut facts = Vec::new();
        if let Some(condition) = &coupon.condition {
            let holds = self.holds(condition, None)?;
            if T::ON {
                facts = self.facts(condition, None);
            }
            if !holds {
                let reason = format!("conditions unmet: `when {}`", self.text(condition.span()));
                return Ok(Err((Some(coupon), reason, facts)));
            }
        }
        let precision = self.money_precision();
        let mut amount = non_negative(self.number(&coupon.discount, None)?);
        let mut arithmetic = Vec::new();
        if T::ON {
            arithmetic.push(Fact::new(
                format!("discount {}", self.text(coupon.discount.span())),
                format!("{} {}", amount.normalize(), self.program.currency),
            ));
        }
        if let Some(max) = &coupon.discount_max {
            let max = self.number(max, None)?;
            if amount > max {
                amount = max;
                if T::ON {
                    arithmetic.push(Fact::new(
                        "at most",
                        format!("{max} {}", self.program.currency),
                    ));
                }
            }
        }
        let left = non_negative(self.basket_total - self.coupon_discount);
        amount = round(amount.min(left), precision, RoundingMode::Down);
        if amount.is_zero() {
            return Ok(Err((
                Some(coupon),
                "nothing left to discount".to_string(),
                facts,
            )));
        }
        self.coupon_discount += amount;
        let weights = self.amount_weights();
        let lines = self.split(amount, weights, precision);
        if T::ON {
            arithmetic.push(Fact::new(
                "discount",
                format!("{amount} {}", self.program.currency),
            ));
            self.trace.step(Step {
                subject: Source::Coupon(coupon.name.clone()),
                applied: true,
                reason: Some(format!("code {code}")),
                facts,
                arithmetic,
            });
        }
        let code = held.map_or_else(|| code.to_string(), |h| h.code.clone());
        self.effects.push(Effect::Discount {
            source: Source::Coupon(coupon.name.clone()),
            code: Some(code.clone()),
            amount,
            lines,
        });
        self.effects.push(Effect::ConsumeCoupon {
            coupon: coupon.name.clone(),
            code,
        });
        Ok(Ok(coupon))
    }

    /// Issues the coupons whose `issue on` is this transaction's event.
    pub fn issue_coupons(&mut self) -> Result<(), EvalError> {
        let program = self.program;
        for coupon in &program.coupons {
            if coupon.issue_on.as_deref() != Some(&*self.ctx.transaction.kind) {
                continue;
            }
            self.enter("coupon", &coupon.name);
            if self.outside_audience(&coupon.audience)? {
                continue;
            }
            let valid_until = match (coupon.valid_for, coupon.valid.until) {
                (Some(d), _) => calendar::shift_instant(self.now.local, d, false, program.timezone),
                (None, Some(until)) => calendar::moment_end(until, program.timezone),
                (None, None) => None,
            };
            self.effects.push(Effect::IssueCoupon {
                coupon: coupon.name.clone(),
                valid_until,
            });
        }
        Ok(())
    }
}

/// Why a held code's own window refuses it at `now`, if it does.
fn own_window_refusal(held: &HeldCoupon, now: DateTime<FixedOffset>) -> Option<String> {
    if let Some(from) = held.valid_from.filter(|from| now < *from) {
        return Some(format!("not valid yet: from {}", from.to_rfc3339()));
    }
    held.valid_until
        .filter(|until| now > *until)
        .map(|until| format!("expired on {}", until.to_rfc3339()))
}
