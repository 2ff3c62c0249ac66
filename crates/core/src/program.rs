//! The compiled, immutable form of a `.pts` program: names resolved, types checked, rules in
//! dependency order. It is what the evaluator runs; it is `Send + Sync`, so one compiled program
//! serves every thread of a service.

use crate::schema::{Field, Function};
use crate::types::Type;
use chrono::{DateTime, FixedOffset, NaiveDate};
use puntos_dsl::ast::{
    BinaryOp, CompareOp, DurationUnit, LotOrder, Period, RoundingMode, RoundingScope, UnaryOp,
};
use puntos_dsl::Span;
use rust_decimal::Decimal;
use std::collections::BTreeSet;

pub use puntos_dsl::ast::Moment;

/// A declared name. Shared rather than copied: every decision names the rules, promotions and
/// coupons it applied, and a reference count is cheaper than a copy of the text.
pub type Name = std::sync::Arc<str>;

/// A compiled loyalty program.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    /// The display name from the `program` header.
    pub name: Name,
    /// The program's ISO 4217 currency; every money amount is in it.
    pub currency: Name,
    /// The program's time zone: dates, weekdays, hours and periods are read in it.
    pub timezone: chrono_tz::Tz,
    /// How points are rounded.
    pub points: PointsSettings,
    /// The moment this version of the program takes effect, if it says.
    pub effective_from: Option<Moment>,
    /// Custom events declared with `event`.
    pub events: Vec<String>,
    /// Segments, in dependency order (a segment after those it uses).
    pub segments: Vec<Segment>,
    /// Tiers, lowest rank first.
    pub tiers: Vec<Tier>,
    /// Rules, in dependency order (`50% of base` after `base`).
    pub rules: Vec<Rule>,
    /// Promotions, highest priority first (ties by name).
    pub promotions: Vec<Promotion>,
    /// Coupons, in source order.
    pub coupons: Vec<Coupon>,
    /// Item-level offers, in source order.
    pub offers: Vec<Offer>,
    /// How points are spent, if the program allows it.
    pub redemption: Option<Redemption>,
    /// The history the caller must supply with each evaluation.
    pub requirements: Requirements,
    /// The source it was compiled from: traces quote it, errors point into it.
    pub source: std::sync::Arc<puntos_dsl::SourceFile>,
}

/// Rounding of earned points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointsSettings {
    /// Decimal places kept (0 means whole points).
    pub precision: u32,
    /// How to round.
    pub mode: RoundingMode,
    /// At which level rounding happens.
    pub scope: RoundingScope,
}

impl Default for PointsSettings {
    fn default() -> Self {
        PointsSettings {
            precision: 0,
            mode: RoundingMode::Down,
            scope: RoundingScope::Transaction,
        }
    }
}

/// A calendar duration: a count of a unit (months and years are calendar months and years).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Duration {
    /// How many units.
    pub amount: Decimal,
    /// Which unit.
    pub unit: DurationUnit,
}

impl Duration {
    /// An approximate length in days, for compile-time comparisons only (a month counts 30 days).
    pub fn approx_days(&self) -> Decimal {
        let per_unit = match self.unit {
            DurationUnit::Minute => Decimal::new(1, 0) / Decimal::from(1440),
            DurationUnit::Hour => Decimal::new(1, 0) / Decimal::from(24),
            DurationUnit::Day => Decimal::ONE,
            DurationUnit::Week => Decimal::from(7),
            DurationUnit::Month => Decimal::from(30),
            DurationUnit::Year => Decimal::from(365),
        };
        self.amount * per_unit
    }
}

/// An index into [`Program::segments`].
pub type SegmentId = usize;
/// An index into [`Program::rules`].
pub type RuleId = usize;
/// An index into [`Program::tiers`] (0 is the lowest rank).
pub type TierId = usize;

/// A named condition on the customer and transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Its name.
    pub name: String,
    /// Its display title.
    pub title: Option<String>,
    /// Who belongs.
    pub condition: CompiledExpr,
}

/// A tier.
#[derive(Debug, Clone, PartialEq)]
pub struct Tier {
    /// Its name.
    pub name: Name,
    /// Its display title.
    pub title: Option<String>,
    /// Its rank; higher is better.
    pub rank: Decimal,
    /// When a customer qualifies.
    pub qualify: CompiledExpr,
    /// How long the tier is kept after qualifying, if it is kept.
    pub keep: Option<Duration>,
}

/// The event a rule or promotion listens to.
pub type Event = String;

/// How many points a rule or promotion earns.
#[derive(Debug, Clone, PartialEq)]
pub struct Earn {
    /// The amount, of type Points (per line when `per_item`).
    pub amount: CompiledExpr,
    /// `for each item`: the amount is computed per basket line; `Some(filter)` keeps only lines
    /// for which the filter holds.
    pub per_item: Option<Option<CompiledExpr>>,
}

/// A cap on earned points over a period, counted against the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap {
    /// The most points.
    pub points: Decimal,
    /// Over which period.
    pub period: Period,
}

/// Rounding overridden for one rule or promotion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rounding {
    /// How to round.
    pub mode: RoundingMode,
    /// At which level (item or rule), if given.
    pub scope: Option<RoundingScope>,
}

/// Accrual parts shared by rules and promotions.
#[derive(Debug, Clone, PartialEq)]
pub struct Accrual {
    /// Its name.
    pub name: Name,
    /// Its display title.
    pub title: Option<String>,
    /// The event it listens to.
    pub event: Event,
    /// The condition, if any.
    pub condition: Option<CompiledExpr>,
    /// What it earns.
    pub earn: Earn,
    /// How long earned points stay pending before they can be spent.
    pub pending: Option<Duration>,
    /// How long after earning each lot expires.
    pub expire_after: Option<Duration>,
    /// A cap on points earned.
    pub cap: Option<Cap>,
    /// A rounding override.
    pub rounding: Option<Rounding>,
    /// The rules whose points its amount reads.
    pub depends_on: Vec<RuleId>,
    /// Where it is declared.
    pub span: Span,
}

/// An accrual rule.
pub type Rule = Accrual;

/// When something is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    /// From this moment (inclusive), if bounded.
    pub from: Option<Moment>,
    /// Until this moment (inclusive for a date: the whole day), if bounded.
    pub until: Option<Moment>,
}

/// How a promotion combines with others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stacking {
    /// Alone: it applies only if no promotion applied before it (by priority), and once it
    /// applies no other promotion does.
    Exclusive,
    /// With every other promotion.
    WithAll,
    /// Only with the promotions of these names.
    With(Vec<String>),
    /// Of the promotions of this group that fire, only the largest applies.
    BestOf(String),
}

/// A per-customer limit on how often something applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// How many times.
    pub count: u32,
    /// Per which period (`None`: over the whole life of the promotion).
    pub period: Option<Period>,
}

/// A budget shared by all customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// At most this many points in total.
    Points(Decimal),
    /// At most this much money (discounts) in total.
    Money(Decimal),
}

/// A promotion: an accrual with a window, an audience, a budget, limits and stacking.
#[derive(Debug, Clone, PartialEq)]
pub struct Promotion {
    /// The accrual it adds.
    pub accrual: Accrual,
    /// When it runs.
    pub valid: Window,
    /// The segments it is for (any of them); empty means everyone.
    pub audience: Vec<SegmentId>,
    /// Its total budget.
    pub budget: Option<Budget>,
    /// How often one customer may get it.
    pub limit: Option<Limit>,
    /// Higher runs first.
    pub priority: Decimal,
    /// How it combines.
    pub stacking: Stacking,
}

/// How coupon codes are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeBatch {
    /// Unique generated codes: prefix plus `length` random characters.
    Unique {
        /// Random characters per code.
        length: u32,
        /// Text before them.
        prefix: String,
    },
    /// Fixed codes.
    Fixed(Vec<String>),
}

/// A coupon.
#[derive(Debug, Clone, PartialEq)]
pub struct Coupon {
    /// Its name.
    pub name: Name,
    /// Its display title.
    pub title: Option<String>,
    /// How codes are made.
    pub codes: CodeBatch,
    /// The event that issues a coupon to a customer, if issued automatically.
    pub issue_on: Option<Event>,
    /// Validity: a window, or a duration after issue.
    pub valid: Window,
    /// Validity after issue.
    pub valid_for: Option<Duration>,
    /// The segments it is for; empty means everyone.
    pub audience: Vec<SegmentId>,
    /// The condition for the discount.
    pub condition: Option<CompiledExpr>,
    /// The discount, of type Money.
    pub discount: CompiledExpr,
    /// Its ceiling, of type Money.
    pub discount_max: Option<CompiledExpr>,
    /// Uses per customer.
    pub uses_per_customer: Option<u32>,
}

/// What an item-level offer gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferReward {
    /// Free.
    Free,
    /// This percentage off.
    PercentOff(Decimal),
}

/// The shape of an item-level offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferShape {
    /// Buy `buy`, get `get` rewarded (the cheapest units of each group of `buy + get`).
    BuyGet {
        /// Units bought.
        buy: u32,
        /// Units rewarded.
        get: u32,
    },
    /// The cheapest unit of each group of `of`.
    CheapestOf {
        /// Group size.
        of: u32,
    },
}

/// An item-level offer.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    /// Its name.
    pub name: Name,
    /// Its display title.
    pub title: Option<String>,
    /// When it runs.
    pub valid: Window,
    /// The segments it is for; empty means everyone.
    pub audience: Vec<SegmentId>,
    /// A basket-level condition.
    pub condition: Option<CompiledExpr>,
    /// The deal.
    pub shape: OfferShape,
    /// The reward.
    pub reward: OfferReward,
    /// Which lines take part.
    pub filter: Option<CompiledExpr>,
    /// Apply once per basket instead of for every multiple.
    pub once: bool,
    /// How often one customer may get it.
    pub limit: Option<Limit>,
}

/// How points are spent.
#[derive(Debug, Clone, PartialEq)]
pub struct Redemption {
    /// `rate_points` points are worth `rate_money`.
    pub rate_points: Decimal,
    /// See `rate_points`.
    pub rate_money: Decimal,
    /// The most a basket may be paid with points (Money or Points typed).
    pub max: Option<CompiledExpr>,
    /// The balance needed before any redemption.
    pub min_balance: Option<Decimal>,
    /// Redemptions are multiples of this many points.
    pub step: Option<Decimal>,
    /// Which lots are used first.
    pub order: LotOrder,
}

/// A history aggregate the caller supplies with each evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HistoryMetric {
    /// Money spent.
    Spend,
    /// Purchase transactions.
    Visits,
}

/// What history and counters the program reads, so callers supply exactly those.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Requirements {
    /// Each history aggregate with its window.
    pub windows: BTreeSet<(HistoryMetric, Duration)>,
    /// Whether `days_since_last_purchase()` is used.
    pub days_since_last_purchase: bool,
    /// Fields read anywhere in the program.
    pub fields: BTreeSet<Field>,
    /// Customer attributes read with `attribute("name")`.
    pub attributes: BTreeSet<String>,
}

/// The counters an evaluation reads from the account, by the name of what they count
/// (see [`crate::eval::AccountView`]); a caller that supplies these supplies everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Counters<'p> {
    /// Rules and promotions with a cap over a period: `account.earned[name]`.
    pub earned: Vec<&'p Name>,
    /// Promotions and offers with a limit, and coupons with uses per customer:
    /// `account.uses[name]`.
    pub uses: Vec<&'p Name>,
    /// Promotions with a budget: `account.budget_used[name]`.
    pub budgets: Vec<&'p Name>,
}

impl Program {
    /// The period of the cap of the rule or promotion `name`, if it has one.
    pub fn cap_period(&self, name: &str) -> Option<Period> {
        self.rules
            .iter()
            .chain(self.promotions.iter().map(|p| &p.accrual))
            .find(|a| &*a.name == name)
            .and_then(|a| a.cap.map(|c| c.period))
    }

    /// The period of the limit of the promotion or offer `name` (`None`: no limit, or a limit
    /// over the whole life of the promotion).
    pub fn limit_period(&self, name: &str) -> Option<Period> {
        self.promotions
            .iter()
            .find(|p| &*p.accrual.name == name)
            .and_then(|p| p.limit)
            .or_else(|| {
                self.offers
                    .iter()
                    .find(|o| &*o.name == name)
                    .and_then(|o| o.limit)
            })
            .and_then(|l| l.period)
    }

    /// The account counters this program reads, so the ledger (or a simulation) fills exactly
    /// those; the history windows are in [`Program::requirements`].
    pub fn counters(&self) -> Counters<'_> {
        Counters {
            earned: self.earned_counters().map(|(name, _)| name).collect(),
            uses: self.uses_counters().map(|(name, _)| name).collect(),
            budgets: self.budget_counters().collect(),
        }
    }

    /// [`Counters::earned`], each with the period of its cap: what a caller filling an account
    /// view reads, without a list made or a name looked up.
    pub fn earned_counters(&self) -> impl Iterator<Item = (&Name, Period)> {
        self.rules
            .iter()
            .chain(self.promotions.iter().map(|p| &p.accrual))
            .filter_map(|a| {
                a.cap
                    .filter(|c| c.period != Period::Transaction)
                    .map(|c| (&a.name, c.period))
            })
    }

    /// [`Counters::uses`], each with the period it counts over (`None`: for life), as
    /// [`Program::limit_period`] says.
    pub fn uses_counters(&self) -> impl Iterator<Item = (&Name, Option<Period>)> {
        let promotions = self
            .promotions
            .iter()
            .filter_map(|p| p.limit.map(|l| (&p.accrual.name, l.period)));
        let offers = self
            .offers
            .iter()
            .filter_map(|o| o.limit.map(|l| (&o.name, l.period)));
        let coupons = self
            .coupons
            .iter()
            .filter(|c| c.uses_per_customer.is_some())
            .map(|c| (&c.name, None));
        promotions.chain(offers).chain(coupons)
    }

    /// [`Counters::budgets`]: the promotions with a budget.
    pub fn budget_counters(&self) -> impl Iterator<Item = &Name> {
        self.promotions
            .iter()
            .filter(|p| p.budget.is_some())
            .map(|p| &p.accrual.name)
    }
}

/// A compiled expression: the type-checked tree (what the program says, and where) and the
/// plan the evaluator runs, lowered from the tree once, at compile time.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledExpr {
    typed: TypedExpr,
    plan: crate::eval::Plan,
    /// What the trace shows beside it, ready to evaluate.
    leaves: Vec<crate::eval::Leaf>,
}

impl CompiledExpr {
    /// Compiles a type-checked expression.
    pub fn new(typed: TypedExpr) -> CompiledExpr {
        let plan = crate::eval::Plan::lower(&typed);
        let leaves = crate::eval::leaves(&typed);
        CompiledExpr {
            typed,
            plan,
            leaves,
        }
    }

    /// Changes the tree (the compiler renumbers references once declarations are ordered) and
    /// lowers it again.
    pub(crate) fn edit(&mut self, change: impl FnOnce(&mut TypedExpr)) {
        change(&mut self.typed);
        self.plan = crate::eval::Plan::lower(&self.typed);
        self.leaves = crate::eval::leaves(&self.typed);
    }

    /// The type-checked tree.
    pub fn typed(&self) -> &TypedExpr {
        &self.typed
    }

    /// Where it is in the source.
    pub fn span(&self) -> Span {
        self.typed.span
    }

    /// What the evaluator runs.
    pub(crate) fn plan(&self) -> &crate::eval::Plan {
        &self.plan
    }

    /// The values the trace shows beside it.
    pub(crate) fn leaves(&self) -> &[crate::eval::Leaf] {
        &self.leaves
    }
}

/// A type-checked expression.
#[derive(Debug, Clone, PartialEq)]
pub struct TypedExpr {
    /// What it computes.
    pub kind: TypedKind,
    /// Its type.
    pub ty: Type,
    /// Where it is in the source.
    pub span: Span,
}

/// A constant value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number.
    Number(Decimal),
    /// Money in the program's currency.
    Money(Decimal),
    /// Points.
    Points(Decimal),
    /// A percentage (`10%` is 10).
    Percent(Decimal),
    /// Text.
    Text(String),
    /// A truth value.
    Bool(bool),
    /// A date.
    Date(NaiveDate),
    /// An instant.
    DateTime(DateTime<FixedOffset>),
    /// A duration.
    Duration(Duration),
    /// A weekday.
    Weekday(chrono::Weekday),
    /// A tier.
    Tier(TierId),
    /// A list.
    List(Vec<Value>),
}

/// The typed expression kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedKind {
    /// A constant.
    Const(Value),
    /// A field of the context.
    Field(Field),
    /// Whether the customer is in a segment.
    Segment(SegmentId),
    /// The points a rule earned on this transaction.
    RulePoints(RuleId),
    /// A list of expressions.
    List(Vec<TypedExpr>),
    /// A unary operation.
    Unary(UnaryOp, Box<TypedExpr>),
    /// A binary operation (`of` included).
    Binary(BinaryOp, Box<TypedExpr>, Box<TypedExpr>),
    /// A comparison.
    Compare(CompareOp, Box<TypedExpr>, Box<TypedExpr>),
    /// Membership.
    In {
        /// `not in`.
        negated: bool,
        /// The value.
        value: Box<TypedExpr>,
        /// The list.
        list: Box<TypedExpr>,
    },
    /// An inclusive range test.
    Between {
        /// `not between`.
        negated: bool,
        /// The value.
        value: Box<TypedExpr>,
        /// Lower bound.
        low: Box<TypedExpr>,
        /// Upper bound.
        high: Box<TypedExpr>,
    },
    /// A scalar function call.
    Call(Function, Vec<TypedExpr>),
    /// A history aggregate.
    History(HistoryMetric, Duration),
    /// `days_since_last_purchase()`.
    DaysSinceLastPurchase,
    /// An aggregate over basket lines (`sum`, `count`, `any`, `all`).
    Aggregate {
        /// Which.
        function: Function,
        /// The per-line value (`sum`), evaluated with the line as `item`.
        value: Option<Box<TypedExpr>>,
        /// The line filter.
        filter: Option<Box<TypedExpr>>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn program_is_shareable_across_threads() {
        assert_send_sync::<Program>();
    }

    #[test]
    fn the_pharmacy_names_the_counters_it_reads() {
        let text = include_str!("../../../examples/pharmacy/program.pts");
        let program = crate::compile(&puntos_dsl::SourceFile::new("p.pts", text))
            .program
            .unwrap();
        let counters = program.counters();
        let texts = |names: &[&Name]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(texts(&counters.earned), ["referral", "vitamin_month"]);
        assert_eq!(
            texts(&counters.uses),
            [
                "cold_season",
                "birthday_week",
                "senior_weekend",
                "WELCOME10"
            ]
        );
        assert_eq!(
            texts(&counters.budgets),
            ["cold_season", "vitamin_month", "senior_weekend"]
        );
    }
}
