//! What a program can read: the objects and their fields, the events, the built-in functions.
//!
//! This table is the contract between the compiler and whoever builds an evaluation context
//! (ledger, simulation, bindings): every field named here must be supplied by them.

use crate::types::Type;

/// A field a program can read, resolved at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// `customer.id`.
    CustomerId,
    /// `customer.birth_date`.
    CustomerBirthDate,
    /// `customer.age`: whole years at the transaction's date.
    CustomerAge,
    /// `customer.enrolled_at`: the enrolment date.
    CustomerEnrolledAt,
    /// `customer.tier`: the tier held at the transaction's time.
    CustomerTier,
    /// `customer.status`.
    CustomerStatus,
    /// `transaction.id`.
    TransactionId,
    /// `transaction.kind`: the event name.
    TransactionKind,
    /// `transaction.date`: the local date in the program's time zone.
    TransactionDate,
    /// `transaction.time`: the instant with its offset.
    TransactionTime,
    /// `transaction.weekday`: the local weekday.
    TransactionWeekday,
    /// `transaction.hour`: the local hour, 0 to 23.
    TransactionHour,
    /// `transaction.month`: the local month, 1 to 12.
    TransactionMonth,
    /// `transaction.channel`: where it happened (store, online, app...).
    TransactionChannel,
    /// `transaction.amount`: the amount paid.
    TransactionAmount,
    /// `basket.total`: the sum of line amounts.
    BasketTotal,
    /// `basket.lines`: the number of lines.
    BasketLines,
    /// `basket.quantity`: the number of units over all lines.
    BasketQuantity,
    /// `item.sku`.
    ItemSku,
    /// `item.name`.
    ItemName,
    /// `item.category`.
    ItemCategory,
    /// `item.brand`.
    ItemBrand,
    /// `item.unit_price`.
    ItemUnitPrice,
    /// `item.quantity`.
    ItemQuantity,
    /// `item.amount`: the line amount.
    ItemAmount,
    /// `store.id`.
    StoreId,
    /// `store.region`.
    StoreRegion,
    /// `store.city`.
    StoreCity,
    /// `store.format`.
    StoreFormat,
    /// `store.partner`: the partner brand of the merchant, if any.
    StorePartner,
    /// `account.balance`: available points before this transaction.
    AccountBalance,
    /// `account.pending`: points earned but not yet available.
    AccountPending,
}

/// The objects a program reads fields from.
pub const OBJECTS: &[&str] = &[
    "customer",
    "transaction",
    "basket",
    "item",
    "store",
    "account",
];

/// Every field: object, field name, resolved field, type.
pub const FIELDS: &[(&str, &str, Field, Type)] = &[
    ("customer", "id", Field::CustomerId, Type::Text),
    (
        "customer",
        "birth_date",
        Field::CustomerBirthDate,
        Type::Date,
    ),
    ("customer", "age", Field::CustomerAge, Type::Number),
    (
        "customer",
        "enrolled_at",
        Field::CustomerEnrolledAt,
        Type::Date,
    ),
    ("customer", "tier", Field::CustomerTier, Type::Tier),
    ("customer", "status", Field::CustomerStatus, Type::Text),
    ("transaction", "id", Field::TransactionId, Type::Text),
    ("transaction", "kind", Field::TransactionKind, Type::Text),
    ("transaction", "date", Field::TransactionDate, Type::Date),
    (
        "transaction",
        "time",
        Field::TransactionTime,
        Type::DateTime,
    ),
    (
        "transaction",
        "weekday",
        Field::TransactionWeekday,
        Type::Weekday,
    ),
    ("transaction", "hour", Field::TransactionHour, Type::Number),
    (
        "transaction",
        "month",
        Field::TransactionMonth,
        Type::Number,
    ),
    (
        "transaction",
        "channel",
        Field::TransactionChannel,
        Type::Text,
    ),
    (
        "transaction",
        "amount",
        Field::TransactionAmount,
        Type::Money,
    ),
    ("basket", "total", Field::BasketTotal, Type::Money),
    ("basket", "lines", Field::BasketLines, Type::Number),
    ("basket", "quantity", Field::BasketQuantity, Type::Number),
    ("item", "sku", Field::ItemSku, Type::Text),
    ("item", "name", Field::ItemName, Type::Text),
    ("item", "category", Field::ItemCategory, Type::Text),
    ("item", "brand", Field::ItemBrand, Type::Text),
    ("item", "unit_price", Field::ItemUnitPrice, Type::Money),
    ("item", "quantity", Field::ItemQuantity, Type::Number),
    ("item", "amount", Field::ItemAmount, Type::Money),
    ("store", "id", Field::StoreId, Type::Text),
    ("store", "region", Field::StoreRegion, Type::Text),
    ("store", "city", Field::StoreCity, Type::Text),
    ("store", "format", Field::StoreFormat, Type::Text),
    ("store", "partner", Field::StorePartner, Type::Text),
    ("account", "balance", Field::AccountBalance, Type::Points),
    ("account", "pending", Field::AccountPending, Type::Points),
];

impl Field {
    /// Whether the field reads the current basket line (needs `for each item` or an aggregate).
    pub fn is_item(self) -> bool {
        matches!(
            self,
            Field::ItemSku
                | Field::ItemName
                | Field::ItemCategory
                | Field::ItemBrand
                | Field::ItemUnitPrice
                | Field::ItemQuantity
                | Field::ItemAmount
        )
    }

    /// Whether the field reads the basket (so needs an event that has one).
    pub fn needs_basket(self) -> bool {
        self.is_item()
            || matches!(
                self,
                Field::BasketTotal | Field::BasketLines | Field::BasketQuantity
            )
    }

    /// The field as written, such as `customer.birth_date`.
    pub fn path(self) -> String {
        FIELDS
            .iter()
            .find(|(_, _, f, _)| *f == self)
            .map(|(o, n, _, _)| format!("{o}.{n}"))
            .unwrap_or_default()
    }
}

/// The events every program knows; `event NAME` declares more.
pub const BUILTIN_EVENTS: &[&str] = &["purchase", "refund", "signup", "referral", "birthday"];

/// The events whose transactions carry a basket.
pub const BASKET_EVENTS: &[&str] = &["purchase", "refund"];

/// A built-in function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// `min(a, b, ...)`.
    Min,
    /// `max(a, b, ...)`.
    Max,
    /// `floor(x)`: toward negative infinity, to a whole number.
    Floor,
    /// `ceil(x)`.
    Ceil,
    /// `round(x)`: half away from zero, to a whole number.
    Round,
    /// `abs(x)`.
    Abs,
    /// `days_between(a, b)`: whole days from `a` to `b`.
    DaysBetween,
    /// `weekday(d)`.
    Weekday,
    /// `hour(t)`.
    Hour,
    /// `month(d)`.
    Month,
    /// `birthday_in(N days)`: the customer's birthday falls within the next N days (today counts).
    BirthdayIn,
    /// `attribute("name")`: a text attribute of the customer's profile, such as a card type.
    Attribute,
    /// `spend(last N unit)`: money spent in the window before the transaction.
    Spend,
    /// `visits(last N unit)`: purchase transactions in the window.
    Visits,
    /// `days_since_last_purchase()`.
    DaysSinceLastPurchase,
    /// `sum(x where c)` over basket lines.
    Sum,
    /// `count(items where c)`.
    Count,
    /// `any(items where c)`.
    Any,
    /// `all(items where c)`.
    All,
}

/// Every function by name.
pub const FUNCTIONS: &[(&str, Function)] = &[
    ("min", Function::Min),
    ("max", Function::Max),
    ("floor", Function::Floor),
    ("ceil", Function::Ceil),
    ("round", Function::Round),
    ("abs", Function::Abs),
    ("days_between", Function::DaysBetween),
    ("weekday", Function::Weekday),
    ("hour", Function::Hour),
    ("month", Function::Month),
    ("birthday_in", Function::BirthdayIn),
    ("attribute", Function::Attribute),
    ("spend", Function::Spend),
    ("visits", Function::Visits),
    ("days_since_last_purchase", Function::DaysSinceLastPurchase),
    ("sum", Function::Sum),
    ("count", Function::Count),
    ("any", Function::Any),
    ("all", Function::All),
];

/// The weekday names, Monday first.
pub const WEEKDAYS: &[(&str, chrono::Weekday)] = &[
    ("Mon", chrono::Weekday::Mon),
    ("Tue", chrono::Weekday::Tue),
    ("Wed", chrono::Weekday::Wed),
    ("Thu", chrono::Weekday::Thu),
    ("Fri", chrono::Weekday::Fri),
    ("Sat", chrono::Weekday::Sat),
    ("Sun", chrono::Weekday::Sun),
];

/// Active ISO 4217 currency codes.
pub const CURRENCIES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SYP", "SZL", "THB", "TJS",
    "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VES",
    "VND", "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

/// Decimal places of a currency's minor unit (ISO 4217): 0 for the yen, 3 for the dinar, 2 for
/// most.
pub fn currency_decimals(code: &str) -> u32 {
    const NONE: &[&str] = &[
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
        "XAF", "XOF", "XPF",
    ];
    const THREE: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
    if NONE.contains(&code) {
        0
    } else if THREE.contains(&code) {
        3
    } else {
        2
    }
}

/// Withdrawn ISO 4217 codes that people still write, with the codes that replaced them.
pub const OBSOLETE_CURRENCIES: &[(&str, &str)] = &[
    ("RUR", "RUB"),
    ("BYR", "BYN"),
    ("TRL", "TRY"),
    ("VEF", "VES"),
    ("ZMK", "ZMW"),
    ("MRO", "MRU"),
    ("STD", "STN"),
    ("SLL", "SLE"),
    ("HRK", "EUR"),
    ("LTL", "EUR"),
    ("LVL", "EUR"),
    ("EEK", "EUR"),
];

/// The code that replaced a withdrawn currency code, such as `RUB` for `RUR` (case-insensitive).
pub fn currency_successor(code: &str) -> Option<&'static str> {
    OBSOLETE_CURRENCIES
        .iter()
        .find(|(old, _)| old.eq_ignore_ascii_case(code))
        .map(|(_, new)| *new)
}

/// Looks up `object.field`.
pub fn field(object: &str, name: &str) -> Option<(Field, Type)> {
    FIELDS
        .iter()
        .find(|(o, n, _, _)| *o == object && *n == name)
        .map(|(_, _, f, t)| (*f, t.clone()))
}

/// The field names of `object`, for "did you mean" hints.
pub fn field_names(object: &str) -> impl Iterator<Item = &'static str> + '_ {
    FIELDS
        .iter()
        .filter(move |(o, _, _, _)| *o == object)
        .map(|(_, n, _, _)| *n)
}

/// Looks up a function by name.
pub fn function(name: &str) -> Option<Function> {
    FUNCTIONS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}
