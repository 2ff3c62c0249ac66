//! A decision as Python objects: effects, refused coupons and the trace, with money and points
//! as `decimal.Decimal` and moments as timezone-aware `datetime`s. The objects are read-only
//! views of the core's decision; `to_json()` gives the JSON the command line prints.

use puntos::eval::{self, Effect as CoreEffect};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rust_decimal::Decimal;

/// Where an effect or a trace step comes from: `kind` is `rule`, `promotion`, `coupon`,
/// `offer`, `tier`, `redemption` or `refund`; `name` the declaration's name.
#[pyclass(module = "puntos", frozen, get_all, eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Source {
    /// The kind of declaration.
    pub kind: &'static str,
    /// Its name (`redemption` and `refund` for those).
    pub name: String,
}

#[pymethods]
impl Source {
    fn __repr__(&self) -> String {
        format!("Source({:?}, {:?})", self.kind, self.name)
    }

    fn __str__(&self) -> String {
        match self.kind {
            "redemption" | "refund" => self.kind.to_string(),
            kind => format!("{kind} {}", self.name),
        }
    }
}

impl From<&eval::Source> for Source {
    fn from(source: &eval::Source) -> Source {
        Source {
            kind: source.kind(),
            name: source.name().to_string(),
        }
    }
}

/// The part of an effect one basket line carries.
#[pyclass(module = "puntos", frozen, get_all, eq)]
#[derive(Clone, PartialEq)]
pub struct Share {
    /// The line's index in the basket.
    pub line: usize,
    /// Its part of the effect's points or money.
    pub amount: Decimal,
}

#[pymethods]
impl Share {
    fn __repr__(&self) -> String {
        format!(
            "Share(line={}, amount=Decimal('{}'))",
            self.line, self.amount
        )
    }
}

/// One thing a decision does. `kind` says which (`earn`, `redeem`, `discount`,
/// `issue_coupon`, `consume_coupon`, `tier_change`, `budget_consumed`, `limit_counted`,
/// `reverse_earn`, `return_redeemed`); the attributes that kind has are set, the others None.
#[pyclass(module = "puntos", frozen)]
pub struct Effect {
    effect: CoreEffect,
    currency: String,
}

#[pymethods]
impl Effect {
    /// The kind of effect.
    #[getter]
    fn kind(&self) -> &'static str {
        match &self.effect {
            CoreEffect::Earn { .. } => "earn",
            CoreEffect::Redeem { .. } => "redeem",
            CoreEffect::Discount { .. } => "discount",
            CoreEffect::IssueCoupon { .. } => "issue_coupon",
            CoreEffect::ConsumeCoupon { .. } => "consume_coupon",
            CoreEffect::TierChange { .. } => "tier_change",
            CoreEffect::BudgetConsumed { .. } => "budget_consumed",
            CoreEffect::LimitCounted { .. } => "limit_counted",
            CoreEffect::ReverseEarn { .. } => "reverse_earn",
            CoreEffect::ReturnRedeemed { .. } => "return_redeemed",
        }
    }

    /// The rule, promotion, offer or coupon behind it.
    #[getter]
    fn source(&self) -> Option<Source> {
        match &self.effect {
            CoreEffect::Earn { source, .. }
            | CoreEffect::Discount { source, .. }
            | CoreEffect::LimitCounted { source }
            | CoreEffect::ReverseEarn { source, .. } => Some(source.into()),
            CoreEffect::Redeem { .. } | CoreEffect::ReturnRedeemed { .. } => {
                Some((&eval::Source::Redemption).into())
            }
            _ => None,
        }
    }

    /// Points earned, redeemed, taken back or given back.
    #[getter]
    fn points(&self) -> Option<Decimal> {
        match &self.effect {
            CoreEffect::Earn { points, .. }
            | CoreEffect::Redeem { points, .. }
            | CoreEffect::ReverseEarn { points, .. }
            | CoreEffect::ReturnRedeemed { points, .. } => Some(*points),
            _ => None,
        }
    }

    /// The money value of redeemed or returned points.
    #[getter]
    fn value(&self) -> Option<Decimal> {
        match &self.effect {
            CoreEffect::Redeem { value, .. } | CoreEffect::ReturnRedeemed { value, .. } => {
                Some(*value)
            }
            _ => None,
        }
    }

    /// Money off (a discount), or budget spent (points, or money for a money budget).
    #[getter]
    fn amount(&self) -> Option<Decimal> {
        match &self.effect {
            CoreEffect::Discount { amount, .. } | CoreEffect::BudgetConsumed { amount, .. } => {
                Some(*amount)
            }
            _ => None,
        }
    }

    /// The coupon code used or discounted with.
    #[getter]
    fn code(&self) -> Option<String> {
        match &self.effect {
            CoreEffect::Discount { code, .. } => code.clone(),
            CoreEffect::ConsumeCoupon { code, .. } => Some(code.clone()),
            _ => None,
        }
    }

    /// The coupon issued or used up.
    #[getter]
    fn coupon(&self) -> Option<String> {
        match &self.effect {
            CoreEffect::IssueCoupon { coupon, .. } | CoreEffect::ConsumeCoupon { coupon, .. } => {
                Some(coupon.to_string())
            }
            _ => None,
        }
    }

    /// The promotion whose budget is spent.
    #[getter]
    fn promotion(&self) -> Option<String> {
        match &self.effect {
            CoreEffect::BudgetConsumed { promotion, .. } => Some(promotion.to_string()),
            _ => None,
        }
    }

    /// When earned points become spendable (None: at once, or not an earn).
    #[getter]
    fn available_at(&self) -> Option<chrono::DateTime<chrono::FixedOffset>> {
        match &self.effect {
            CoreEffect::Earn { available_at, .. } => *available_at,
            _ => None,
        }
    }

    /// When earned points expire (None: never, or not an earn).
    #[getter]
    fn expires_at(&self) -> Option<chrono::DateTime<chrono::FixedOffset>> {
        match &self.effect {
            CoreEffect::Earn { expires_at, .. } => *expires_at,
            _ => None,
        }
    }

    /// The last moment an issued coupon can be used, if limited.
    #[getter]
    fn valid_until(&self) -> Option<chrono::DateTime<chrono::FixedOffset>> {
        match &self.effect {
            CoreEffect::IssueCoupon { valid_until, .. } => *valid_until,
            _ => None,
        }
    }

    /// The tier held before a tier change (None: no tier).
    #[getter]
    fn tier_from(&self) -> Option<String> {
        match &self.effect {
            CoreEffect::TierChange { from, .. } => from.as_deref().map(str::to_string),
            _ => None,
        }
    }

    /// The tier held after a tier change (None: no tier).
    #[getter]
    fn tier_to(&self) -> Option<String> {
        match &self.effect {
            CoreEffect::TierChange { to, .. } => to.as_deref().map(str::to_string),
            _ => None,
        }
    }

    /// The last day a new tier is kept, if it is kept.
    #[getter]
    fn until(&self) -> Option<chrono::NaiveDate> {
        match &self.effect {
            CoreEffect::TierChange { until, .. } => *until,
            _ => None,
        }
    }

    /// The purchase whose points or redemption a refund reverses.
    #[getter]
    fn of_transaction(&self) -> Option<String> {
        match &self.effect {
            CoreEffect::ReverseEarn { of_transaction, .. }
            | CoreEffect::ReturnRedeemed { of_transaction, .. } => Some(of_transaction.clone()),
            _ => None,
        }
    }

    /// The part each basket line carries (earns, redemptions, discounts; empty otherwise).
    #[getter]
    fn lines(&self) -> Vec<Share> {
        let shares: &[eval::Share] = match &self.effect {
            CoreEffect::Earn { lines, .. }
            | CoreEffect::Redeem { lines, .. }
            | CoreEffect::Discount { lines, .. } => lines,
            _ => &[],
        };
        shares
            .iter()
            .map(|s| Share {
                line: s.line,
                amount: s.amount,
            })
            .collect()
    }

    /// The effect in one line of words, as `puntos eval` prints it.
    fn describe(&self) -> String {
        self.effect.describe(&self.currency)
    }

    fn __repr__(&self) -> String {
        format!("<Effect {}>", self.describe())
    }
}

/// A coupon code presented and not honoured, with the reason a cashier can read out.
#[pyclass(module = "puntos", frozen, get_all)]
pub struct RefusedCoupon {
    /// The code as presented.
    pub code: String,
    /// The coupon it belongs to, when known.
    pub coupon: Option<String>,
    /// Why it was refused.
    pub reason: String,
}

#[pymethods]
impl RefusedCoupon {
    fn __repr__(&self) -> String {
        format!("<RefusedCoupon {}: {}>", self.code, self.reason)
    }
}

/// A named value in the trace: an expression as written and its value.
#[pyclass(module = "puntos", frozen, get_all)]
pub struct Fact {
    /// The expression or quantity.
    pub what: String,
    /// Its value, as text.
    pub value: String,
}

#[pymethods]
impl Fact {
    fn __repr__(&self) -> String {
        format!("<Fact {} = {}>", self.what, self.value)
    }
}

/// One step of the trace: a declaration that applied or did not, and why.
#[pyclass(module = "puntos", frozen)]
pub struct Step {
    step: eval::Step,
}

#[pymethods]
impl Step {
    /// What was considered.
    #[getter]
    fn subject(&self) -> Source {
        (&self.step.subject).into()
    }

    /// Whether it applied.
    #[getter]
    fn applied(&self) -> bool {
        self.step.applied
    }

    /// Why it did not apply, or a note on how it applied.
    #[getter]
    fn reason(&self) -> Option<String> {
        self.step.reason.clone()
    }

    /// The values that decided it.
    #[getter]
    fn facts(&self) -> Vec<Fact> {
        facts(&self.step.facts)
    }

    /// The arithmetic, in order: computed, rounded, capped, granted.
    #[getter]
    fn arithmetic(&self) -> Vec<Fact> {
        facts(&self.step.arithmetic)
    }

    /// The step as `puntos eval --trace` prints it.
    fn explain(&self) -> String {
        self.step.explain()
    }

    fn __repr__(&self) -> String {
        let mark = if self.step.applied {
            "applied"
        } else {
            "not applied"
        };
        match &self.step.reason {
            Some(reason) => format!("<Step {} {mark}: {reason}>", self.step.subject),
            None => format!("<Step {} {mark}>", self.step.subject),
        }
    }
}

fn facts(facts: &[eval::Fact]) -> Vec<Fact> {
    facts
        .iter()
        .map(|f| Fact {
            what: f.what.clone(),
            value: f.value.clone(),
        })
        .collect()
}

/// A basket line as the decision saw it: units and the amount after item offers.
#[pyclass(module = "puntos", frozen, get_all)]
pub struct DecidedLine {
    /// Units bought.
    pub quantity: Decimal,
    /// The line amount after item offers.
    pub amount: Decimal,
}

#[pymethods]
impl DecidedLine {
    fn __repr__(&self) -> String {
        format!(
            "DecidedLine(quantity=Decimal('{}'), amount=Decimal('{}'))",
            self.quantity, self.amount
        )
    }
}

/// What one evaluation decided: ordered effects, refused coupons and, when asked for, the
/// trace. Totals are `decimal.Decimal`.
#[pyclass(module = "puntos", frozen)]
pub struct Decision {
    decision: eval::Decision,
}

impl Decision {
    /// The Python view of `decision`.
    pub fn new(decision: eval::Decision) -> Decision {
        Decision { decision }
    }

    /// The core's decision, for inputs that carry one (a refund's original purchase).
    pub fn core(&self) -> &eval::Decision {
        &self.decision
    }
}

#[pymethods]
impl Decision {
    /// The transaction's identifier.
    #[getter]
    fn transaction(&self) -> String {
        self.decision.transaction.to_string()
    }

    /// The event (`purchase`, `refund`...).
    #[getter]
    fn kind(&self) -> String {
        self.decision.kind.to_string()
    }

    /// The name of the program that decided.
    #[getter]
    fn program(&self) -> String {
        self.decision.program.to_string()
    }

    /// The currency of every money amount.
    #[getter]
    fn currency(&self) -> String {
        self.decision.currency.to_string()
    }

    /// Points earned (reversals subtracted).
    #[getter]
    fn points_earned(&self) -> Decimal {
        self.decision.points_earned()
    }

    /// Points spent (returned redemptions subtracted).
    #[getter]
    fn points_redeemed(&self) -> Decimal {
        self.decision.points_redeemed()
    }

    /// Money taken off the basket by offers and coupons.
    #[getter]
    fn discount_total(&self) -> Decimal {
        self.decision.discount_total()
    }

    /// The effects, in order.
    #[getter]
    fn effects(&self) -> Vec<Effect> {
        self.decision
            .effects
            .iter()
            .map(|e| Effect {
                effect: e.clone(),
                currency: self.decision.currency.to_string(),
            })
            .collect()
    }

    /// Coupon codes presented and not honoured.
    #[getter]
    fn refused_coupons(&self) -> Vec<RefusedCoupon> {
        self.decision
            .refused_coupons
            .iter()
            .map(|r| RefusedCoupon {
                code: r.code.clone(),
                coupon: r.coupon.as_deref().map(str::to_string),
                reason: r.reason.clone(),
            })
            .collect()
    }

    /// The basket as decided, line by line.
    #[getter]
    fn lines(&self) -> Vec<DecidedLine> {
        self.decision
            .lines
            .iter()
            .map(|l| DecidedLine {
                quantity: l.quantity,
                amount: l.amount,
            })
            .collect()
    }

    /// The trace, step by step; None unless evaluated with `trace=True`.
    #[getter]
    fn trace(&self) -> Option<Vec<Step>> {
        self.decision
            .trace
            .as_ref()
            .map(|steps| steps.iter().map(|s| Step { step: s.clone() }).collect())
    }

    /// Points earned per rule or promotion, reversals subtracted, in the order they apply.
    fn points_by_source(&self) -> Vec<(Source, Decimal)> {
        let mut out: Vec<(Source, Decimal)> = Vec::new();
        for effect in &self.decision.effects {
            let (source, points) = match effect {
                CoreEffect::Earn { source, points, .. } => (source, *points),
                CoreEffect::ReverseEarn { source, points, .. } => (source, -*points),
                _ => continue,
            };
            let source = Source::from(source);
            match out.iter_mut().find(|(s, _)| *s == source) {
                Some((_, sum)) => *sum += points,
                None => out.push((source, points)),
            }
        }
        out
    }

    /// The decision as text, as `puntos eval` prints it (with the trace when recorded).
    fn explain(&self) -> String {
        self.decision.explain()
    }

    /// The decision as JSON, exactly as `puntos eval --format json` writes it; a refund's
    /// `transaction["refund"]["original"]` takes it back parsed (`json.loads`), or the
    /// `Decision` itself.
    #[pyo3(signature = (pretty = false))]
    fn to_json(&self, pretty: bool) -> PyResult<String> {
        let written = if pretty {
            serde_json::to_string_pretty(&self.decision)
        } else {
            serde_json::to_string(&self.decision)
        };
        written.map_err(|e| PyValueError::new_err(format!("the decision as JSON: {e}")))
    }

    fn __repr__(&self) -> String {
        format!(
            "<Decision {} {}: {} points earned, {} redeemed, {} {} off>",
            self.decision.kind,
            self.decision.transaction,
            self.decision.points_earned(),
            self.decision.points_redeemed(),
            self.decision.discount_total(),
            self.decision.currency
        )
    }
}
