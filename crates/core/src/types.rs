//! The value types of the language. Money always carries the program's currency, so `Money`
//! needs no parameter here: an amount in another currency is rejected at compile time.

use std::fmt;

/// The type of an expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Type {
    /// A plain decimal number.
    Number,
    /// An amount of the program's currency.
    Money,
    /// An amount of loyalty points.
    Points,
    /// A percentage such as `10%`; used with `of`.
    Percent,
    /// Text.
    Text,
    /// Yes or no.
    Bool,
    /// A calendar date in the program's time zone.
    Date,
    /// An instant with an offset.
    DateTime,
    /// A calendar duration such as `14 days`.
    Duration,
    /// A day of the week.
    Weekday,
    /// A tier of the program; ordered by rank.
    Tier,
    /// A list of values of one type.
    List(Box<Type>),
    /// The type of an expression that already has an error; it matches anything so one mistake
    /// is reported once.
    Unknown,
}

impl Type {
    /// Whether `<`, `>`, `<=`, `>=` and `between` apply to this type.
    pub fn is_ordered(&self) -> bool {
        matches!(
            self,
            Type::Number
                | Type::Money
                | Type::Points
                | Type::Percent
                | Type::Date
                | Type::DateTime
                | Type::Duration
                | Type::Tier
                | Type::Unknown
        )
    }

    /// Whether this is a number-like amount that arithmetic, `floor` and `sum` apply to.
    pub fn is_amount(&self) -> bool {
        matches!(
            self,
            Type::Number | Type::Money | Type::Points | Type::Unknown
        )
    }

    /// Whether this type is `Unknown` (an error was already reported).
    pub fn is_unknown(&self) -> bool {
        matches!(self, Type::Unknown)
    }

    /// Whether two types are the same, treating `Unknown` as matching anything.
    pub fn matches(&self, other: &Type) -> bool {
        match (self, other) {
            (Type::Unknown, _) | (_, Type::Unknown) => true,
            (Type::List(a), Type::List(b)) => a.matches(b),
            (a, b) => a == b,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Number => f.write_str("Number"),
            Type::Money => f.write_str("Money"),
            Type::Points => f.write_str("Points"),
            Type::Percent => f.write_str("Percent"),
            Type::Text => f.write_str("Text"),
            Type::Bool => f.write_str("Bool"),
            Type::Date => f.write_str("Date"),
            Type::DateTime => f.write_str("DateTime"),
            Type::Duration => f.write_str("Duration"),
            Type::Weekday => f.write_str("Weekday"),
            Type::Tier => f.write_str("Tier"),
            Type::List(inner) => write!(f, "List of {inner}"),
            Type::Unknown => f.write_str("unknown"),
        }
    }
}
