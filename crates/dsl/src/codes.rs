//! The stable diagnostic codes of the puntos language, one table for the parser and the compiler.
//!
//! A code never changes meaning once released: editors, CI scripts and the web playground match on
//! it. Ranges: `P00xx` source, syntax and limits; `P01xx` names; `P02xx` types and units; `P03xx`
//! declarations and values; `P05xx` warnings.

use serde::Serialize;

macro_rules! codes {
    ($( $variant:ident = $id:literal, $severity:ident, $summary:literal; )*) => {
        /// A diagnostic code. `Code::ALL` lists every one; `Code::id` is its stable `Pnnnn` text.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $( #[doc = $summary] $variant, )*
        }

        impl Code {
            /// Every code, in numeric order.
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The stable identifier, such as `P0203`.
            pub fn id(self) -> &'static str {
                match self { $( Code::$variant => $id, )* }
            }

            /// Whether a diagnostic with this code is an error (fails `puntos check`) or a warning.
            pub fn severity(self) -> crate::Severity {
                match self { $( Code::$variant => crate::Severity::$severity, )* }
            }

            /// A one-line description of what the code means, for `puntos explain` and the docs.
            pub fn summary(self) -> &'static str {
                match self { $( Code::$variant => $summary, )* }
            }
        }
    };
}

codes! {
    Syntax = "P0001", Error, "the text does not follow the grammar of the language";
    InvalidUtf8 = "P0002", Error, "the file is not valid UTF-8 text";
    SourceTooLarge = "P0003", Error, "the file is larger than the size limit";
    NestingTooDeep = "P0004", Error, "brackets or operators nest deeper than the limit";
    TooManyDeclarations = "P0005", Error, "the file declares more items than the limit";
    InvalidNumber = "P0006", Error, "a number is too large or has too many decimal places";
    InvalidDate = "P0007", Error, "a date or date-time does not exist in the calendar";

    UnknownField = "P0101", Error, "an object has no field of that name";
    UnknownObject = "P0102", Error, "a field is read from something that is not an object";
    UnknownName = "P0103", Error, "a name is not a declared segment, tier, rule or weekday";
    UnknownEvent = "P0104", Error, "`on` or `issue on` names an event that does not exist";
    UnknownFunction = "P0105", Error, "a call names a function that does not exist";
    ItemOutsideItemContext = "P0106", Error, "`item` is read where there is no current basket line";
    DuplicateName = "P0107", Error, "two declarations share one name";
    UnknownTimezone = "P0108", Error, "the program's time zone is not in the IANA database";
    UnknownCurrency = "P0109", Error, "the currency is not an ISO 4217 code";
    UnknownPromotion = "P0110", Error, "a stacking list names something that is not a promotion";
    NotASegment = "P0111", Error, "`audience` names something that is not a segment";

    MismatchedOperands = "P0201", Error, "an arithmetic operator is applied to values of incompatible types";
    PointsMoneyMix = "P0202", Error, "points and money are mixed without the redemption rate";
    CannotCompare = "P0203", Error, "two values of different types or units are compared";
    CurrencyMismatch = "P0204", Error, "an amount is in a currency other than the program's";
    ExpectedBool = "P0205", Error, "a condition is not a yes-or-no value";
    ExpectedPoints = "P0206", Error, "an amount of points was expected";
    ArgumentCount = "P0207", Error, "a function is called with the wrong number of arguments";
    ArgumentType = "P0208", Error, "a function argument has the wrong type";
    MixedList = "P0209", Error, "a list holds values of different types";
    PercentWithoutOf = "P0210", Error, "a percentage is used in arithmetic instead of with `of`";
    DivisionByZero = "P0211", Error, "a value is divided by a constant zero";
    ExpectedMoney = "P0212", Error, "an amount of money was expected";
    ExpectedDuration = "P0213", Error, "a duration such as `14 days` was expected";
    DateDifference = "P0214", Error, "two dates are subtracted; `days_between` says what is meant";
    NotOrderable = "P0215", Error, "values that have no order are compared with `<`, `>`, `<=` or `>=`";

    MissingProgram = "P0301", Error, "the file has no `program` header";
    DuplicateSingleton = "P0302", Error, "a declaration that may appear once appears twice";
    MissingClause = "P0303", Error, "a declaration lacks a clause it needs";
    DuplicateClause = "P0304", Error, "a clause is written twice in one declaration";
    ClauseNotAllowed = "P0305", Error, "a clause is written in a declaration that does not take it";
    RuleCycle = "P0306", Error, "rules depend on each other in a cycle";
    InvalidPrecision = "P0307", Error, "points precision is outside 0 to 8 decimal places";
    DuplicateTierRank = "P0308", Error, "two tiers share one rank";
    EmptyWindow = "P0309", Error, "a validity window ends before it starts";
    PercentOutOfRange = "P0310", Error, "a percentage is outside the range that makes sense there";
    InvalidCodeBatch = "P0311", Error, "a coupon code batch cannot produce valid codes";
    DuplicateCouponCode = "P0312", Error, "one fixed coupon code is given twice";
    InvalidCount = "P0313", Error, "a count is not a whole number of at least 1";
    PendingOutlivesExpiry = "P0314", Error, "points would expire before their pending period ends";
    NoBasket = "P0315", Error, "basket or line data is read on an event that has no basket";
    MustBePositive = "P0316", Error, "an amount or duration must be greater than zero";

    OverlappingExclusive = "P0501", Warning, "two exclusive promotions can fire on the same transaction";
    UnusedSegment = "P0502", Warning, "a segment is declared but never used";
    ConstantCondition = "P0503", Warning, "a condition has the same value for every transaction";
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

impl std::str::FromStr for Code {
    type Err = ();

    /// Parses `P0203` (case-insensitive) back into its code.
    fn from_str(s: &str) -> Result<Self, ()> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.id().eq_ignore_ascii_case(s))
            .ok_or(())
    }
}
