//! The syntax tree of a `.pts` file. Every node carries the [`Span`] of the text it came from.
//!
//! The tree is faithful to what was written (clauses in source order, any clause in any
//! declaration); deciding what is allowed where is the compiler's job.

use crate::Span;
use chrono::{DateTime, FixedOffset, NaiveDate};
use rust_decimal::Decimal;

/// A parsed file: its declarations and its comments (kept for the formatter).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    /// Declarations in source order.
    pub decls: Vec<Decl>,
    /// Every `#` comment, in source order.
    pub comments: Vec<Comment>,
}

/// A `# ...` comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// The comment text including the leading `#`, without the line end.
    pub text: String,
    /// Where it is.
    pub span: Span,
    /// Whether only whitespace precedes it on its line (else it trails code).
    pub own_line: bool,
    /// Byte offset just past the last code (not whitespace, not comment) before the comment.
    pub follows: usize,
}

/// A name written in the source, such as a rule or segment name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it is.
    pub span: Span,
}

/// A string literal, unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringLit {
    /// The value with escapes resolved.
    pub value: String,
    /// Where it is, quotes included.
    pub span: Span,
}

/// A number with an optional unit, such as `14 days`, `1000 RUB`, `10%` or `3`.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    /// The number as written (its scale is kept: `1.50` stays `1.50`).
    pub value: Decimal,
    /// The unit, if any.
    pub unit: Option<Unit>,
    /// Where it is.
    pub span: Span,
}

/// The unit written after a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unit {
    /// `%`.
    Percent,
    /// `points` or `point`.
    Points,
    /// A three-letter currency code such as `RUB`.
    Currency(String),
    /// A calendar duration unit.
    Duration(DurationUnit),
}

/// A unit of calendar time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DurationUnit {
    /// Minutes.
    Minute,
    /// Hours.
    Hour,
    /// Calendar days in the program's time zone.
    Day,
    /// Seven days.
    Week,
    /// Calendar months.
    Month,
    /// Calendar years.
    Year,
}

impl DurationUnit {
    /// Every unit, shortest first: for tools and tests that go through them all.
    pub const ALL: [DurationUnit; 6] = [
        DurationUnit::Minute,
        DurationUnit::Hour,
        DurationUnit::Day,
        DurationUnit::Week,
        DurationUnit::Month,
        DurationUnit::Year,
    ];

    /// The plural spelling used by the formatter.
    pub fn plural(self) -> &'static str {
        match self {
            DurationUnit::Minute => "minutes",
            DurationUnit::Hour => "hours",
            DurationUnit::Day => "days",
            DurationUnit::Week => "weeks",
            DurationUnit::Month => "months",
            DurationUnit::Year => "years",
        }
    }

    /// The singular spelling used by the formatter for a quantity of exactly one.
    pub fn singular(self) -> &'static str {
        match self {
            DurationUnit::Minute => "minute",
            DurationUnit::Hour => "hour",
            DurationUnit::Day => "day",
            DurationUnit::Week => "week",
            DurationUnit::Month => "month",
            DurationUnit::Year => "year",
        }
    }
}

/// A point in time written as a date or a date-time with offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// A calendar date, read in the program's time zone.
    Date(NaiveDate),
    /// An instant with its UTC offset.
    DateTime(DateTime<FixedOffset>),
}

/// A top-level declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct Decl {
    /// What kind of declaration, with its parts.
    pub kind: DeclKind,
    /// The whole declaration.
    pub span: Span,
}

/// The declaration kinds of the language.
#[derive(Debug, Clone, PartialEq)]
pub enum DeclKind {
    /// `program "Name" { ... }`: currency, time zone, points settings, `effective from`.
    Program {
        /// The program's display name.
        name: StringLit,
        /// Its settings.
        clauses: Vec<Clause>,
    },
    /// `segment name "title" = condition`.
    Segment {
        /// The segment's name.
        name: Ident,
        /// Optional display title.
        title: Option<StringLit>,
        /// Who belongs to it.
        condition: Expr,
    },
    /// `tier Name "title" rank N { qualify when ...  keep ... }`.
    Tier {
        /// The tier's name.
        name: Ident,
        /// Optional display title.
        title: Option<StringLit>,
        /// Its rank; higher ranks are better tiers.
        rank: Quantity,
        /// Its clauses.
        clauses: Vec<Clause>,
    },
    /// `rule`, `promotion`, `coupon` or `offer`: a named block of clauses.
    Block {
        /// Which of the four.
        keyword: BlockKeyword,
        /// Its name.
        name: Ident,
        /// Optional display title.
        title: Option<StringLit>,
        /// Its clauses.
        clauses: Vec<Clause>,
    },
    /// `redemption { ... }`: how points are spent.
    Redemption {
        /// Its clauses.
        clauses: Vec<Clause>,
    },
    /// `event name "title"`: an event kind of this program's own, beyond the built-in ones.
    Event {
        /// The event's name.
        name: Ident,
        /// Optional display title.
        title: Option<StringLit>,
    },
}

/// The keyword of a named block declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockKeyword {
    /// `rule`: accrual that always applies when its conditions hold.
    Rule,
    /// `promotion`: time-boxed accrual with audience, budget, limits and stacking.
    Promotion,
    /// `coupon`: a code that gives a discount.
    Coupon,
    /// `offer`: an item-level deal such as buy 2 get 1 free.
    Offer,
}

impl BlockKeyword {
    /// The keyword as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BlockKeyword::Rule => "rule",
            BlockKeyword::Promotion => "promotion",
            BlockKeyword::Coupon => "coupon",
            BlockKeyword::Offer => "offer",
        }
    }
}

impl Decl {
    /// The declared name, for declarations that have one.
    pub fn name(&self) -> Option<&Ident> {
        match &self.kind {
            DeclKind::Segment { name, .. }
            | DeclKind::Tier { name, .. }
            | DeclKind::Block { name, .. }
            | DeclKind::Event { name, .. } => Some(name),
            DeclKind::Program { .. } | DeclKind::Redemption { .. } => None,
        }
    }

    /// The keyword that starts the declaration.
    pub fn keyword(&self) -> &'static str {
        match &self.kind {
            DeclKind::Program { .. } => "program",
            DeclKind::Segment { .. } => "segment",
            DeclKind::Tier { .. } => "tier",
            DeclKind::Block { keyword, .. } => keyword.as_str(),
            DeclKind::Redemption { .. } => "redemption",
            DeclKind::Event { .. } => "event",
        }
    }

    /// The clauses of block-shaped declarations (empty for segments and events).
    pub fn clauses(&self) -> &[Clause] {
        match &self.kind {
            DeclKind::Program { clauses, .. }
            | DeclKind::Tier { clauses, .. }
            | DeclKind::Block { clauses, .. }
            | DeclKind::Redemption { clauses } => clauses,
            DeclKind::Segment { .. } | DeclKind::Event { .. } => &[],
        }
    }
}

/// One clause inside a declaration's braces.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// Which clause, with its parts.
    pub kind: ClauseKind,
    /// The whole clause.
    pub span: Span,
}

/// How a rounded amount is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoundingMode {
    /// Toward zero.
    Down,
    /// Away from zero.
    Up,
    /// To nearest, ties away from zero.
    HalfUp,
    /// To nearest, ties to even (banker's rounding).
    HalfEven,
}

/// At which level points are rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoundingScope {
    /// Each basket line's points are rounded.
    Item,
    /// Each rule's total is rounded.
    Rule,
    /// The transaction's total is rounded once.
    Transaction,
}

/// A calendar period for caps and limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    /// One transaction.
    Transaction,
    /// A calendar day in the program's time zone.
    Day,
    /// A calendar week (Monday to Sunday).
    Week,
    /// A calendar month.
    Month,
    /// A calendar year.
    Year,
}

impl Period {
    /// The period as written after `per`.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Transaction => "transaction",
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
            Period::Year => "year",
        }
    }
}

/// Which points lots a redemption consumes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LotOrder {
    /// Earliest earned first.
    Oldest,
    /// Latest earned first.
    Newest,
    /// Soonest to expire first.
    Expiring,
}

/// How promotions combine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stacking {
    /// Nothing else stacks with it: the highest-priority exclusive promotion that fires wins alone.
    Exclusive,
    /// Stacks with every other promotion.
    WithAll,
    /// Stacks only with the named promotions.
    With(Vec<Ident>),
    /// Member of a best-of group: of the group's promotions that fire, only the largest applies.
    BestOf(Ident),
}

/// When a promotion, coupon or offer is valid.
#[derive(Debug, Clone, PartialEq)]
pub enum Validity {
    /// From the first moment through the second (dates are inclusive whole days).
    Range(Moment, Moment),
    /// From a moment on.
    From(Moment),
    /// Until a moment (inclusive for a date).
    Until(Moment),
    /// For a duration after issue (coupons).
    For(Quantity),
}

/// What an item-level offer gives.
#[derive(Debug, Clone, PartialEq)]
pub enum OfferReward {
    /// The rewarded units are free.
    Free,
    /// The rewarded units are reduced by a percentage.
    PercentOff(Quantity),
}

/// How coupon codes are made.
#[derive(Debug, Clone, PartialEq)]
pub enum CodeBatch {
    /// Generated unique codes of a length, with an optional prefix.
    Unique {
        /// Length of the random part.
        length: Quantity,
        /// Text put before the random part.
        prefix: Option<StringLit>,
    },
    /// Fixed codes anyone may present.
    Fixed(Vec<StringLit>),
}

/// The clauses of the language. Which declaration takes which is in the compiler.
#[derive(Debug, Clone, PartialEq)]
pub enum ClauseKind {
    /// `currency RUB`.
    Currency(Ident),
    /// `timezone "Europe/Moscow"`.
    Timezone(StringLit),
    /// `points { precision 0 rounding down per transaction }`.
    Points(Vec<Clause>),
    /// `precision N` (inside `points { }`).
    Precision(Quantity),
    /// `rounding MODE [per SCOPE]`.
    Rounding {
        /// How to round.
        mode: RoundingMode,
        /// At which level, if given.
        scope: Option<RoundingScope>,
    },
    /// `effective from MOMENT`.
    EffectiveFrom(Moment),
    /// `on EVENT`.
    On(Ident),
    /// `when CONDITION`.
    When(Expr),
    /// `earn AMOUNT [points] [for each item [where CONDITION]]`.
    Earn {
        /// The amount expression.
        amount: Expr,
        /// Whether `points` was written after the expression (turns a number into points).
        points_suffix: bool,
        /// `for each item`, with its filter if any.
        for_each: Option<ForEach>,
    },
    /// `pending DURATION`.
    Pending(Quantity),
    /// `expire after DURATION`.
    ExpireAfter(Quantity),
    /// `cap AMOUNT per PERIOD`.
    Cap {
        /// The cap.
        amount: Quantity,
        /// Over which period it counts.
        period: Period,
    },
    /// `valid ...`.
    Valid(Validity),
    /// `audience SEGMENT, ...`.
    Audience(Vec<Ident>),
    /// `budget AMOUNT`.
    Budget(Quantity),
    /// `limit N per customer [per PERIOD]`.
    Limit {
        /// How many times.
        count: Quantity,
        /// Per which period, if any (else for the whole promotion).
        period: Option<Period>,
    },
    /// `priority N`.
    Priority(Quantity),
    /// `stacking ...`.
    Stacking(Stacking),
    /// `codes ...`.
    Codes(CodeBatch),
    /// `issue on EVENT`.
    IssueOn(Ident),
    /// `discount AMOUNT [max AMOUNT]`.
    Discount {
        /// The discount.
        amount: Expr,
        /// Its ceiling.
        max: Option<Expr>,
    },
    /// `uses N per customer`.
    Uses(Quantity),
    /// `buy N get M REWARD [where CONDITION]`.
    Buy {
        /// Units bought.
        buy: Quantity,
        /// Units rewarded.
        get: Quantity,
        /// The reward.
        reward: OfferReward,
        /// Which lines take part.
        filter: Option<Expr>,
    },
    /// `cheapest of N REWARD [where CONDITION]`.
    Cheapest {
        /// Group size.
        of: Quantity,
        /// The reward for the cheapest unit of each group.
        reward: OfferReward,
        /// Which lines take part.
        filter: Option<Expr>,
    },
    /// `once`: an offer applies once per basket instead of for every multiple.
    Once,
    /// `qualify when CONDITION`.
    Qualify(Expr),
    /// `keep DURATION`.
    Keep(Quantity),
    /// `rate POINTS = MONEY`.
    Rate {
        /// Points side.
        points: Quantity,
        /// Money side.
        money: Quantity,
    },
    /// `max AMOUNT` (redemption).
    Max(Expr),
    /// `min balance POINTS`.
    MinBalance(Quantity),
    /// `step POINTS`.
    Step(Quantity),
    /// `order oldest|newest|expiring first`.
    Order(LotOrder),
}

impl ClauseKind {
    /// The keyword(s) that start the clause, for messages.
    pub fn keyword(&self) -> &'static str {
        match self {
            ClauseKind::Currency(_) => "currency",
            ClauseKind::Timezone(_) => "timezone",
            ClauseKind::Points(_) => "points",
            ClauseKind::Precision(_) => "precision",
            ClauseKind::Rounding { .. } => "rounding",
            ClauseKind::EffectiveFrom(_) => "effective from",
            ClauseKind::On(_) => "on",
            ClauseKind::When(_) => "when",
            ClauseKind::Earn { .. } => "earn",
            ClauseKind::Pending(_) => "pending",
            ClauseKind::ExpireAfter(_) => "expire after",
            ClauseKind::Cap { .. } => "cap",
            ClauseKind::Valid(_) => "valid",
            ClauseKind::Audience(_) => "audience",
            ClauseKind::Budget(_) => "budget",
            ClauseKind::Limit { .. } => "limit",
            ClauseKind::Priority(_) => "priority",
            ClauseKind::Stacking(_) => "stacking",
            ClauseKind::Codes(_) => "codes",
            ClauseKind::IssueOn(_) => "issue on",
            ClauseKind::Discount { .. } => "discount",
            ClauseKind::Uses(_) => "uses",
            ClauseKind::Buy { .. } => "buy",
            ClauseKind::Cheapest { .. } => "cheapest of",
            ClauseKind::Once => "once",
            ClauseKind::Qualify(_) => "qualify when",
            ClauseKind::Keep(_) => "keep",
            ClauseKind::Rate { .. } => "rate",
            ClauseKind::Max(_) => "max",
            ClauseKind::MinBalance(_) => "min balance",
            ClauseKind::Step(_) => "step",
            ClauseKind::Order(_) => "order",
        }
    }
}

/// `for each item [where CONDITION]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ForEach {
    /// The line filter, if any.
    pub filter: Option<Expr>,
    /// The whole `for each item ...` text.
    pub span: Span,
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What kind of expression.
    pub kind: ExprKind,
    /// Where it is.
    pub span: Span,
}

/// Binary operators, from loosest to tightest binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `or`.
    Or,
    /// `and`.
    And,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `of`: `10% of basket.total`.
    Of,
}

impl BinaryOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Of => "of",
        }
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `=` (also written `==`).
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

impl CompareOp {
    /// The operator as the formatter writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }

    /// Whether the operator needs an ordering (as opposed to equality only).
    pub fn is_ordering(self) -> bool {
        !matches!(self, CompareOp::Eq | CompareOp::Ne)
    }
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `not`.
    Not,
    /// `-`.
    Neg,
}

/// One argument of a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A value, optionally filtered over basket lines: `sum(item.amount where ...)`.
    Value {
        /// The value.
        value: Expr,
        /// The line filter, if any.
        filter: Option<Expr>,
    },
    /// `last 12 months`: a history window.
    Window(Quantity),
    /// `items [where CONDITION]`: the basket lines, for `count`, `any` and `all`.
    Items {
        /// The line filter, if any.
        filter: Option<Expr>,
        /// Where the argument is.
        span: Span,
    },
}

/// The expression kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A number, possibly with a unit: `3`, `1000 RUB`, `10%`, `14 days`, `50 points`.
    Quantity(Quantity),
    /// `"text"`.
    Text(String),
    /// `true` or `false`.
    Bool(bool),
    /// A date or date-time literal.
    Moment(Moment),
    /// A dotted name: `seniors`, `Gold`, `Sat`, `customer.birth_date`.
    Path(Vec<Ident>),
    /// `[a, b, c]`.
    List(Vec<Expr>),
    /// `not x`, `-x`.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// Its operand.
        operand: Box<Expr>,
    },
    /// `a + b`, `a and b`, `10% of x`, ...
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `a >= b`.
    Compare {
        /// The operator.
        op: CompareOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `a [not] in list`.
    In {
        /// Whether `not in`.
        negated: bool,
        /// The value looked for.
        value: Box<Expr>,
        /// The list (or list-valued expression).
        list: Box<Expr>,
    },
    /// `a [not] between low and high` (inclusive).
    Between {
        /// Whether `not between`.
        negated: bool,
        /// The value tested.
        value: Box<Expr>,
        /// Lower bound.
        low: Box<Expr>,
        /// Upper bound.
        high: Box<Expr>,
    },
    /// `name(args)`.
    Call {
        /// The function's name.
        name: Ident,
        /// Its arguments.
        args: Vec<Arg>,
    },
}
