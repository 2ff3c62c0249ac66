//! A seeded synthetic population of a pharmacy chain's loyalty customers, for demonstrations,
//! simulations and load tests: customers and a time-ordered stream of ledger transactions
//! ([`Incoming`]) that opens their accounts, buys, spends points, returns goods and brings
//! friends.
//!
//! The same [`Settings`] (seed included) give the same [`Population`], byte for byte, on every
//! machine: the random numbers come from ChaCha8 seeded with the seed, one stream per customer
//! (so a population of 300 starts with the same 200 customers as a population of 200), and
//! every amount is an exact [`Decimal`] built from whole minor units (kopecks).
//!
//! ```
//! use puntos::synth::{generate, Settings};
//!
//! let settings = Settings { customers: 3, ..Settings::default() };
//! let population = generate(&settings, "RUB", chrono_tz::Europe::Moscow);
//! assert_eq!(population.customers.len(), 3);
//! assert_eq!(&*population.transactions[0].transaction.kind, "signup");
//! assert_eq!(population, generate(&settings, "RUB", chrono_tz::Europe::Moscow));
//! ```
//!
//! # Distributions
//!
//! Customers (`C-000001`, `C-000002`...):
//! - birth dates uniform over 1940–2006 (about 40% are 60 or older in 2026: the pensioners of
//!   senior promotions);
//! - a `card_type` attribute: `plastic` for 35%, `virtual` for 25%, absent for the rest;
//! - the enrolment date uniform over the first half of the period; the account is opened by a
//!   `signup` on that day (8:00–20:59) carrying the profile, and 70% buy something right after
//!   (2–9 minutes later);
//! - a visit frequency: 10% heavy (about 6 purchases a month), 40% regular (about 3), 50%
//!   occasional (about 1); each later day is a purchase day with probability
//!   `visits / 30 × weekday factor` (Monday–Friday 0.95, Saturday 1.20, Sunday 1.05), at most
//!   one a day, at an hour drawn from a weekday profile (evening peak) or a flatter weekend one;
//! - 12% bring friends: 1–3 `referral` events on random days after enrolment;
//! - willing to pay with points (see below): 80% of heavy customers, 60% of regular ones, 40%
//!   of occasional ones.
//!
//! Purchases:
//! - 85% in a store (the customer's home store 85% of the time, otherwise any of 8 stores in 5
//!   cities), 10% online, 5% in the app;
//! - 1–6 lines (45%, 28%, 13%, 8%, 4%, 2%), each a product of the catalogue (39 products,
//!   prices with kopecks, from 59.90 to 3,890.00) drawn by category weight — otc 35, rx 16 (32
//!   for pensioners), vitamins 14 (28 in March), cosmetics 14 (La Roche-Posay, Vichy and Avene
//!   among them), baby_care 9, tobacco 5, alcohol 5, gift_cards 1 — then by the product's
//!   popularity within its category (cheap everyday products most); quantity 1 (75%), 2 (18%)
//!   or 3 (7%), gift cards one at a time; a product drawn twice adds to its line. Baskets come
//!   to about 1,200 on average.
//!
//! Paying with points: a willing customer asks in 35% of purchases, and only when the
//! generator's own running estimate of the available balance reaches 100 points; the request
//! is the smaller of that estimate and 20% of the basket (a point taken as worth one unit of
//! the currency). The estimate follows the pharmacy example's rules from below: 1 point per full
//! 10 of the currency on otc, rx and vitamins only (so item offers on cosmetics and baby care
//! cannot make it too high), available 15 days after the purchase, gone after 364 days, 500
//! points per referral at once; refunds take back the whole line's points and redemptions spend
//! the oldest points first. In 10% of the cases where the estimate is below 100 but would reach
//! it with the pending points, the customer asks anyway (an impatient customer at the till):
//! those requests are usually refused by the ledger, so a demonstration shows refusals. Such
//! purchases are never refunded and earn nothing in the estimate.
//!
//! Refunds: 4% of purchases are partly returned 1–14 days later (at a shopping hour, before the
//! period ends) at the same store: one line (two in 25% of baskets with several lines), 1 to
//! all of its units, each refund line naming its `original_line`; a purchase is refunded at
//! most once.
//!
//! Every transaction has a unique id (`T-000001`... in time order), the program's currency, and
//! a time in the program's time zone with its UTC offset (`+03:00` in Moscow). The stream is
//! ordered by time (ties by customer, then by the order the customer's events were made), so a
//! refund always comes after its purchase.

use crate::eval::{Customer, Line, Store, Transaction};
use crate::ledger::Incoming;
use crate::parallel;
use crate::program::Name;
use chrono::{
    DateTime, Datelike, FixedOffset, LocalResult, Months, NaiveDate, NaiveDateTime, NaiveTime,
    TimeDelta, TimeZone, Weekday,
};
use chrono_tz::Tz;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

/// The exact decimal type of every amount and points figure, for callers that tally a
/// population's results without depending on `rust_decimal` themselves.
use rust_decimal::Decimal;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// How many customers.
    pub customers: usize,
    /// The first day of the period.
    pub start: NaiveDate,
    /// How many calendar months the period lasts.
    pub months: u32,
    /// The seed: the same seed gives the same population.
    pub seed: u64,
    /// How the customers behave: the chain's own behaviour (described above) by default.
    pub mix: Mix,
}

impl Default for Settings {
    /// 200 customers over 4 months from 1 February 2026, seed 42, the chain's behaviour.
    fn default() -> Self {
        Settings {
            customers: 200,
            start: NaiveDate::from_ymd_opt(2026, 2, 1).unwrap_or(NaiveDate::MIN),
            months: 4,
            seed: 42,
            mix: Mix::default(),
        }
    }
}

/// The categories of the catalogue, in the order of [`Mix::categories`].
pub const CATEGORIES: [&str; 8] = [
    "otc",
    "rx",
    "vitamins",
    "cosmetics",
    "baby_care",
    "tobacco",
    "alcohol",
    "gift_cards",
];

/// Knobs on the population's behaviour, each in percent of the chain's own (100: as the module
/// describes), so a simulation can ask what happens with busier customers, dearer baskets or
/// another category mix. The same draws are made whatever the knobs, so a population with
/// the defaults is the one described, byte for byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mix {
    /// Purchase days, in percent of the usual frequency (150: half as many again).
    pub visits_percent: u32,
    /// Prices, in percent of the catalogue's (rounded down to whole kopecks): the spend.
    pub prices_percent: u32,
    /// Each category's weight in the basket draw, in percent of its usual weight (rounded down
    /// to a whole weight: gift cards weigh 1, so they need 200 to double), in the order of
    /// [`CATEGORIES`] (0: the category is never bought).
    pub categories: [u32; 8],
    /// Seasonality: busier Saturdays and Sundays, vitamins doubled in March. Off, every day
    /// weighs the same and every month sells the same.
    pub seasonal: bool,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            visits_percent: 100,
            prices_percent: 100,
            categories: [100; 8],
            seasonal: true,
        }
    }
}

impl Settings {
    /// The first day after the period.
    pub fn end(&self) -> NaiveDate {
        self.start
            .checked_add_months(Months::new(self.months))
            .unwrap_or(self.start)
    }

    /// The moment the period ends: midnight starting [`Settings::end`] in `timezone`.
    pub fn end_instant(&self, timezone: Tz) -> DateTime<FixedOffset> {
        instant(timezone, self.end().and_time(NaiveTime::MIN))
    }
}

/// A generated population.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Population {
    /// The customers' profiles, in id order.
    pub customers: Vec<Customer>,
    /// The transactions, in time order: for each customer a `signup` first, then purchases,
    /// refunds and referrals.
    pub transactions: Vec<Incoming>,
}

/// Generates the population of `settings` for a program counting money in `currency` and
/// reading time in `timezone`. See the [module](self) for the distributions.
pub fn generate(settings: &Settings, currency: &str, timezone: Tz) -> Population {
    generate_slice(settings, 0..settings.customers, currency, timezone)
}

/// Generates the customers of `settings` numbered in `customers` (from 0): each exactly as
/// in the whole population, so a large population can be made and used a slice at a time.
/// Transaction ids are numbered within the slice.
pub fn generate_slice(
    settings: &Settings,
    customers: std::ops::Range<usize>,
    currency: &str,
    timezone: Tz,
) -> Population {
    let (customers, numbered) = numbered_slice(settings, customers, currency, timezone);
    // The numbers are 0 to n - 1: each transaction goes straight to its place.
    let mut placed: Vec<Option<Incoming>> = Vec::new();
    placed.resize_with(numbered.iter().map(Vec::len).sum(), || None);
    for (number, transaction) in numbered.into_iter().flatten() {
        if let Some(slot) = placed.get_mut(number) {
            *slot = Some(transaction);
        }
    }
    Population {
        customers,
        transactions: placed.into_iter().flatten().collect(),
    }
}

/// [`generate_slice`]'s transactions grouped by customer (customers in order, each one's
/// transactions in time order) rather than in the slice's time order: the same transactions
/// and ids, laid out in memory as a replay that goes account by account reads them, and never
/// copied into one list (see `simulate`). Each comes with its number in the slice's time
/// order.
pub(crate) fn generate_slice_by_customer(
    settings: &Settings,
    customers: std::ops::Range<usize>,
    currency: &str,
    timezone: Tz,
) -> Vec<Vec<(usize, Incoming)>> {
    numbered_slice(settings, customers, currency, timezone).1
}

/// The customers of the slice and, for each, its transactions, each with its number in the
/// slice's time order (0 first; its id is `T-` and the number plus one).
///
/// Each customer is drafted and its transactions built on every core; only the numbering,
/// which orders every customer's events by time (then customer, then the customer's own
/// order), is done on one, over small keys.
fn numbered_slice(
    settings: &Settings,
    customers: std::ops::Range<usize>,
    currency: &str,
    timezone: Tz,
) -> (Vec<Customer>, Vec<Vec<(usize, Incoming)>>) {
    let period = Period {
        start: settings.start,
        days: u32::try_from((settings.end() - settings.start).num_days()).unwrap_or(0),
        end: settings.end().and_time(NaiveTime::MIN),
    };
    // Each customer draws from a stream of its own, so they are drafted on every core.
    let drafted = parallel::map_each(&customers.clone().collect::<Vec<usize>>(), |&index| {
        let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
        rng.set_stream(index as u64);
        let (customer, events) = one_customer(&mut rng, index, &period, &settings.mix);
        (customer, in_order(events))
    });
    let mut keys: Vec<(NaiveDateTime, u32, u32)> = Vec::new();
    for (own, (_, events)) in (0u32..).zip(&drafted) {
        keys.extend((0u32..).zip(events).map(|(place, e)| (e.at, own, place)));
    }
    // Unique keys: the customer and the place among its events tell any two apart.
    keys.sort_unstable();
    let mut numbers: Vec<Vec<usize>> = drafted
        .iter()
        .map(|(_, events)| vec![0; events.len()])
        .collect();
    for (number, (_, own, place)) in keys.into_iter().enumerate() {
        if let Some(slot) = numbers
            .get_mut(own as usize)
            .and_then(|n| n.get_mut(place as usize))
        {
            *slot = number;
        }
    }
    let (customers, events): (Vec<Customer>, Vec<Vec<Event>>) = drafted.into_iter().unzip();
    let built = parallel::map_owned(
        customers.iter().zip(events).zip(numbers).collect(),
        |((customer, events), numbers)| {
            transactions_of(customer, events, &numbers, currency, timezone)
        },
    );
    (customers, built)
}

/// A customer's events in time order (then in the customer's own order), without the refunds
/// of a purchase that does not come before them.
fn in_order(mut events: Vec<Event>) -> Vec<Event> {
    events.sort_by_key(|e| (e.at, e.seq));
    let mut made: Vec<u32> = Vec::with_capacity(events.len());
    events.retain(|e| {
        let kept = match e.draft {
            Draft::Refund { of, .. } => made.contains(&of),
            _ => true,
        };
        if kept {
            made.push(e.seq);
        }
        kept
    });
    events
}

/// The ledger transactions of `customer`'s `events` (see [`in_order`]), each with its number
/// in the slice (`numbers`, one per event).
fn transactions_of(
    customer: &Customer,
    events: Vec<Event>,
    numbers: &[usize],
    currency: &str,
    timezone: Tz,
) -> Vec<(usize, Incoming)> {
    // The ids given so far, by the customer's own numbering of its events.
    let mut ids: Vec<(u32, String)> = Vec::with_capacity(events.len());
    let mut made = Vec::with_capacity(events.len());
    for (event, &number) in events.into_iter().zip(numbers) {
        let id = format!("T-{:06}", number + 1);
        let account = customer.id.clone();
        let mut transaction = Transaction {
            id: id.as_str().into(),
            time: instant(timezone, event.at),
            currency: Some(currency.to_string()),
            ..Transaction::default()
        };
        let mut incoming = Incoming {
            account,
            refund_of: None,
            customer: None,
            transaction: Transaction::default(),
        };
        match event.draft {
            Draft::Signup { channel, store } => {
                transaction.kind = "signup".into();
                transaction.channel = channel.to_string();
                transaction.store = store;
                incoming.customer = Some(customer.clone());
            }
            Draft::Purchase {
                channel,
                store,
                lines,
                redeem,
            } => {
                transaction.channel = channel.to_string();
                transaction.store = store;
                transaction.lines = lines;
                transaction.redeem = redeem.map(Decimal::from);
            }
            Draft::Refund { of, store, lines } => {
                transaction.kind = "refund".into();
                transaction.channel = "store".to_string();
                transaction.store = store;
                transaction.lines = lines;
                incoming.refund_of = ids
                    .iter()
                    .find(|(seq, _)| *seq == of)
                    .map(|(_, id)| id.clone());
            }
            Draft::Referral => {
                transaction.kind = "referral".into();
                transaction.channel = "app".to_string();
            }
        }
        incoming.transaction = transaction;
        ids.push((event.seq, id));
        made.push((number, incoming));
    }
    made
}

/// The period, in local time.
struct Period {
    start: NaiveDate,
    /// Days in the period.
    days: u32,
    /// The first moment after it.
    end: NaiveDateTime,
}

/// A transaction before it has its id and its time zone.
#[derive(Debug, Clone)]
enum Draft {
    Signup {
        channel: &'static str,
        store: Store,
    },
    Purchase {
        channel: &'static str,
        store: Store,
        lines: Vec<Line>,
        redeem: Option<i64>,
    },
    /// Goods of the customer's purchase number `of` returned.
    Refund {
        of: u32,
        store: Store,
        lines: Vec<Line>,
    },
    Referral,
}

/// One of a customer's events: when, its place among the customer's events, what.
struct Event {
    at: NaiveDateTime,
    seq: u32,
    draft: Draft,
}

/// A refund planned when its purchase was made.
struct PlannedRefund {
    of: u32,
    store: Store,
    lines: Vec<Line>,
    /// The points the estimate loses when it happens.
    points: i64,
}

/// How a customer behaves.
struct Persona {
    visits_per_month: u32,
    redeemer: bool,
    senior: bool,
    home_store: usize,
}

/// A product of the catalogue: price in minor units (kopecks), and how often it is chosen
/// within its category (a weight).
#[derive(Clone, Copy)]
struct Product {
    sku: &'static str,
    name: &'static str,
    category: &'static str,
    brand: &'static str,
    minor: i64,
    popularity: u32,
}

const fn product(
    sku: &'static str,
    name: &'static str,
    category: &'static str,
    brand: &'static str,
    (minor, popularity): (i64, u32),
) -> Product {
    Product {
        sku,
        name,
        category,
        brand,
        minor,
        popularity,
    }
}

/// The catalogue, by category.
const CATALOG: &[Product] = &[
    product(
        "OTC-001",
        "Ibuprofen 200 mg, 20 tablets",
        "otc",
        "Nurofen",
        (18_990, 6),
    ),
    product(
        "OTC-002",
        "Paracetamol 500 mg, 20 tablets",
        "otc",
        "Panadol",
        (8_950, 8),
    ),
    product(
        "OTC-003",
        "Cough syrup 100 ml",
        "otc",
        "Ambrobene",
        (34_500, 4),
    ),
    product(
        "OTC-004",
        "Nasal spray 15 ml",
        "otc",
        "Otrivin",
        (27_940, 5),
    ),
    product(
        "OTC-005",
        "Throat lozenges, 24",
        "otc",
        "Strepsils",
        (42_900, 3),
    ),
    product(
        "OTC-006",
        "Cold and flu sachets, 10",
        "otc",
        "Theraflu",
        (61_550, 3),
    ),
    product("OTC-007", "Antiseptic gel 50 ml", "otc", "", (12_900, 4)),
    product("OTC-008", "Elastic bandage 8 cm", "otc", "", (21_570, 2)),
    product(
        "OTC-009",
        "Blood pressure monitor",
        "otc",
        "Omron",
        (389_000, 1),
    ),
    product(
        "OTC-010",
        "Nicotine gum 2 mg, 30",
        "otc",
        "Nicorette",
        (74_990, 1),
    ),
    product(
        "RX-001",
        "Amoxicillin 500 mg, 16 capsules",
        "rx",
        "",
        (21_990, 4),
    ),
    product(
        "RX-002",
        "Atorvastatin 20 mg, 30 tablets",
        "rx",
        "",
        (54_900, 4),
    ),
    product(
        "RX-003",
        "Metformin 850 mg, 60 tablets",
        "rx",
        "",
        (31_270, 4),
    ),
    product(
        "RX-004",
        "Lisinopril 10 mg, 30 tablets",
        "rx",
        "",
        (16_750, 4),
    ),
    product("RX-005", "Insulin pens 3 ml, 5", "rx", "", (189_000, 1)),
    product(
        "VIT-001",
        "Vitamin D3 2000 IU, 60",
        "vitamins",
        "",
        (49_900, 4),
    ),
    product(
        "VIT-002",
        "Multivitamins, 30 tablets",
        "vitamins",
        "Complivit",
        (32_540, 4),
    ),
    product(
        "VIT-003",
        "Omega-3 1000 mg, 90",
        "vitamins",
        "",
        (119_000, 2),
    ),
    product("VIT-004", "Magnesium B6, 50", "vitamins", "", (68_990, 3)),
    product(
        "VIT-005",
        "Vitamin C 1000 mg, 20 effervescent",
        "vitamins",
        "",
        (24_900, 5),
    ),
    product(
        "COS-001",
        "Cicaplast Baume B5 40 ml",
        "cosmetics",
        "La Roche-Posay",
        (89_000, 4),
    ),
    product(
        "COS-002",
        "Effaclar cleansing gel 200 ml",
        "cosmetics",
        "La Roche-Posay",
        (124_590, 3),
    ),
    product(
        "COS-003",
        "Mineral 89 serum 50 ml",
        "cosmetics",
        "Vichy",
        (259_000, 1),
    ),
    product(
        "COS-004",
        "Thermal spring water 150 ml",
        "cosmetics",
        "Avene",
        (79_900, 4),
    ),
    product(
        "COS-005",
        "Cicalfate+ cream 40 ml",
        "cosmetics",
        "Avene",
        (104_950, 3),
    ),
    product("COS-006", "Hand cream 75 ml", "cosmetics", "", (19_900, 4)),
    product("COS-007", "Lip balm 4.8 g", "cosmetics", "", (14_560, 4)),
    product(
        "BABY-001",
        "Diapers size 4, 54",
        "baby_care",
        "Pampers",
        (149_900, 3),
    ),
    product("BABY-002", "Baby wipes, 64", "baby_care", "", (19_900, 5)),
    product(
        "BABY-003",
        "Infant formula 800 g",
        "baby_care",
        "Nutrilon",
        (189_090, 2),
    ),
    product(
        "BABY-004",
        "Diaper cream 100 g",
        "baby_care",
        "Bepanthen",
        (69_950, 3),
    ),
    product(
        "BABY-005",
        "Baby shampoo 200 ml",
        "baby_care",
        "",
        (29_900, 3),
    ),
    product(
        "TOB-001",
        "Cigarettes, pack of 20",
        "tobacco",
        "",
        (22_900, 1),
    ),
    product(
        "TOB-002",
        "Heated tobacco sticks, 20",
        "tobacco",
        "",
        (21_000, 1),
    ),
    product(
        "ALC-001",
        "Herbal balsam 250 ml",
        "alcohol",
        "",
        (89_000, 1),
    ),
    product(
        "ALC-002",
        "Hawthorn tincture 25 ml",
        "alcohol",
        "",
        (6_540, 2),
    ),
    product(
        "ALC-003",
        "Valerian tincture 25 ml",
        "alcohol",
        "",
        (5_990, 2),
    ),
    product(
        "GIFT-1000",
        "Gift card 1000",
        "gift_cards",
        "",
        (100_000, 3),
    ),
    product(
        "GIFT-3000",
        "Gift card 3000",
        "gift_cards",
        "",
        (300_000, 1),
    ),
];

/// Categories whose points the balance estimate counts: the ones no item offer touches and
/// the base rule rewards.
const ESTIMATED: &[&str] = &["otc", "rx", "vitamins"];

/// Stores: id, region, city, format.
const STORES: &[(&str, &str, &str, &str)] = &[
    ("S-0101", "Moscow", "Moscow", "pharmacy"),
    ("S-0102", "Moscow", "Moscow", "pharmacy"),
    ("S-0107", "Moscow", "Zelenograd", "kiosk"),
    ("S-0201", "Northwest", "Saint Petersburg", "pharmacy"),
    ("S-0202", "Northwest", "Saint Petersburg", "kiosk"),
    ("S-0301", "Volga", "Kazan", "pharmacy"),
    ("S-0401", "Ural", "Yekaterinburg", "pharmacy"),
    ("S-0501", "Siberia", "Novosibirsk", "pharmacy"),
];

/// Shopping hours on weekdays, from 8:00: an evening peak.
const WEEKDAY_HOURS: &[(u32, u32)] = &[
    (8, 2),
    (9, 4),
    (10, 5),
    (11, 5),
    (12, 6),
    (13, 7),
    (14, 6),
    (15, 5),
    (16, 5),
    (17, 7),
    (18, 9),
    (19, 9),
    (20, 7),
    (21, 4),
];

/// Shopping hours on weekends: later mornings, flatter.
const WEEKEND_HOURS: &[(u32, u32)] = &[
    (9, 3),
    (10, 5),
    (11, 7),
    (12, 8),
    (13, 8),
    (14, 7),
    (15, 7),
    (16, 6),
    (17, 6),
    (18, 5),
    (19, 4),
    (20, 3),
];

/// Generates one customer's profile and events, in the customer's time order.
fn one_customer(
    rng: &mut ChaCha8Rng,
    index: usize,
    period: &Period,
    mix: &Mix,
) -> (Customer, Vec<Event>) {
    let id = format!("C-{:06}", index + 1);
    let year = 1940 + i32::try_from(below(rng, 2006 - 1940 + 1)).unwrap_or(0);
    let birth_date = NaiveDate::from_yo_opt(year, 1 + below(rng, 365));
    let card = below(rng, 100);
    let mut attributes = BTreeMap::new();
    if card < 35 {
        attributes.insert("card_type".to_string(), "plastic".to_string());
    } else if card < 60 {
        attributes.insert("card_type".to_string(), "virtual".to_string());
    }
    let enrol_day = below(rng, (period.days / 2).max(1));
    let enrolled = day(period.start, enrol_day);
    let customer = Customer {
        id,
        birth_date,
        enrolled_at: Some(enrolled),
        status: "active".to_string(),
        attributes,
        ..Customer::default()
    };
    let visits_per_month = *pick(rng, &[(6, 10), (3, 40), (1, 50)]).unwrap_or(&1);
    // Frequent customers collect more points and care more about spending them.
    let willing = match visits_per_month {
        6 => 80,
        3 => 60,
        _ => 40,
    };
    let persona = Persona {
        visits_per_month,
        redeemer: below(rng, 100) < willing,
        senior: birth_date.is_some_and(|b| period.start.year() - b.year() >= 60),
        home_store: usize::try_from(below(rng, STORES.len() as u32)).unwrap_or(0),
    };
    let referrals = if below(rng, 100) < 12 {
        1 + below(rng, 3)
    } else {
        0
    };

    let mut events = Vec::new();
    if period.days == 0 {
        return (customer, events);
    }
    let signup_at = at(enrolled, 8 + below(rng, 13), below(rng, 60), below(rng, 60));
    let signup_store = if below(rng, 100) < 70 {
        ("store", store(persona.home_store))
    } else {
        ("app", online())
    };
    events.push(Event {
        at: signup_at,
        seq: 0,
        draft: Draft::Signup {
            channel: signup_store.0,
            store: signup_store.1,
        },
    });

    // Visits (true) and referrals (false), then made in time order.
    let mut visits: Vec<(NaiveDateTime, bool)> = Vec::new();
    if below(rng, 100) < 70 {
        let minutes = 2 + below(rng, 8);
        visits.push((
            later(signup_at, TimeDelta::minutes(i64::from(minutes))),
            true,
        ));
    }
    for d in enrol_day + 1..period.days {
        let date = day(period.start, d);
        let factor = match date.weekday() {
            _ if !mix.seasonal => 100,
            Weekday::Sat => 120,
            Weekday::Sun => 105,
            _ => 95,
        };
        if below(rng, 3000) * 100 < persona.visits_per_month * factor * mix.visits_percent {
            visits.push((visit_time(rng, date), true));
        }
    }
    let remaining = period.days.saturating_sub(enrol_day + 1);
    for _ in 0..referrals {
        if remaining > 0 {
            let date = day(period.start, enrol_day + 1 + below(rng, remaining));
            visits.push((at(date, 10 + below(rng, 12), below(rng, 60), 0), false));
        }
    }
    visits.sort();

    let mut estimate = Estimate::default();
    let mut refunds: BTreeMap<(NaiveDateTime, u32), PlannedRefund> = BTreeMap::new();
    let mut seq = 1u32;
    for (time, is_purchase) in visits {
        flush_refunds(&mut refunds, time, &mut estimate, &mut events);
        estimate.expire(time);
        if !is_purchase {
            events.push(Event {
                at: time,
                seq,
                draft: Draft::Referral,
            });
            estimate.earn(None, time, time, 500);
            seq += 1;
            continue;
        }
        let channel = below(rng, 100);
        let (channel, place) = if channel >= 95 {
            ("app", online())
        } else if channel >= 85 {
            ("online", online())
        } else if below(rng, 100) < 85 {
            ("store", store(persona.home_store))
        } else {
            let other = below(rng, STORES.len() as u32);
            ("store", store(usize::try_from(other).unwrap_or(0)))
        };
        let lines = basket(rng, &persona, time.date(), mix);
        let total: i64 = lines.iter().map(|(p, q)| p.minor * q).sum();
        let points: i64 = lines.iter().map(|(p, q)| line_points(p, *q)).sum();
        let mut redeem = None;
        let mut refundable = true;
        if persona.redeemer && below(rng, 100) < 35 {
            let available = estimate.available(time);
            let pending = estimate.pending(time);
            let most = total * 20 / 10_000;
            if available >= 100 {
                let ask = available.min(most);
                if ask >= 1 {
                    redeem = Some(ask);
                    estimate.spend(ask, time, false);
                }
            } else if available + pending >= 100 && below(rng, 100) < 10 {
                let ask = (available + pending).min(most);
                if ask >= 1 {
                    redeem = Some(ask);
                    estimate.spend(ask, time, true);
                    refundable = false;
                }
            }
        }
        let this = seq;
        seq += 1;
        if refundable {
            estimate.earn(Some(this), time, later(time, TimeDelta::days(15)), points);
            if below(rng, 100) < 4 {
                let date = day(time.date(), 1 + below(rng, 14));
                let when = visit_time(rng, date);
                if when < period.end {
                    let (refund_lines, lost) = refund_lines(rng, &lines);
                    refunds.insert(
                        (when, seq),
                        PlannedRefund {
                            of: this,
                            store: place.clone(),
                            lines: refund_lines,
                            points: lost,
                        },
                    );
                    seq += 1;
                }
            }
        }
        events.push(Event {
            at: time,
            seq: this,
            draft: Draft::Purchase {
                channel,
                store: place,
                lines: lines.iter().map(|(p, q)| line(p, *q, None)).collect(),
                redeem,
            },
        });
    }
    flush_refunds(&mut refunds, period.end, &mut estimate, &mut events);
    (customer, events)
}

/// Emits the planned refunds due at `until` (inclusive), taking their points off the estimate.
fn flush_refunds(
    refunds: &mut BTreeMap<(NaiveDateTime, u32), PlannedRefund>,
    until: NaiveDateTime,
    estimate: &mut Estimate,
    events: &mut Vec<Event>,
) {
    while let Some(entry) = refunds.first_entry() {
        let (when, seq) = *entry.key();
        if when > until {
            break;
        }
        let refund = entry.remove();
        estimate.reverse(refund.of, refund.points);
        events.push(Event {
            at: when,
            seq,
            draft: Draft::Refund {
                of: refund.of,
                store: refund.store,
                lines: refund.lines,
            },
        });
    }
}

/// The lines a refund returns, and the points the estimate loses with them (each returned
/// line's whole points).
fn refund_lines(rng: &mut ChaCha8Rng, lines: &[(Product, i64)]) -> (Vec<Line>, i64) {
    let count = lines.len() as u32;
    let first = below(rng, count);
    let mut chosen = vec![first];
    if count > 1 && below(rng, 100) < 25 {
        let second = (first + 1 + below(rng, count - 1)) % count;
        chosen.push(second);
        chosen.sort_unstable();
    }
    let mut out = Vec::new();
    let mut points = 0;
    for index in chosen {
        let Some((product, bought)) = lines.get(index as usize) else {
            continue;
        };
        let bought_units = u32::try_from(*bought).unwrap_or(1).max(1);
        let units = 1 + i64::from(below(rng, bought_units));
        out.push(line(product, units, Some(index as usize)));
        points += line_points(product, *bought);
    }
    (out, points)
}

/// A basket: products and quantities.
fn basket(
    rng: &mut ChaCha8Rng,
    persona: &Persona,
    date: NaiveDate,
    mix: &Mix,
) -> Vec<(Product, i64)> {
    let count = *pick(rng, &[(1, 45), (2, 28), (3, 13), (4, 8), (5, 4), (6, 2)]).unwrap_or(&1);
    let usual = [
        35,
        if persona.senior { 32 } else { 16 },
        if mix.seasonal && date.month() == 3 {
            28
        } else {
            14
        },
        14,
        9,
        5,
        5,
        1,
    ];
    let weights: Vec<(&str, u32)> = CATEGORIES
        .iter()
        .zip(usual.iter().zip(mix.categories))
        .map(|(category, (weight, percent))| (*category, weight * percent / 100))
        .collect();
    let mut lines: Vec<(Product, i64)> = Vec::new();
    for _ in 0..count {
        let category = *pick(rng, &weights).unwrap_or(&"otc");
        let Some(product) = pick(rng, products_in(category)).copied() else {
            continue;
        };
        let product = Product {
            minor: product.minor * i64::from(mix.prices_percent) / 100,
            ..*product
        };
        let quantity = if category == "gift_cards" {
            1
        } else {
            *pick(rng, &[(1, 75), (2, 18), (3, 7)]).unwrap_or(&1)
        };
        match lines.iter_mut().find(|(p, _)| p.sku == product.sku) {
            Some((_, q)) => *q += quantity,
            None => lines.push((product, quantity)),
        }
    }
    lines
}

/// The catalogue's products of `category` with their popularity, in catalogue order: listed
/// once per process, not for every line drawn.
fn products_in(category: &str) -> &'static [(&'static Product, u32)] {
    static BY_CATEGORY: LazyLock<HashMap<&'static str, Vec<(&'static Product, u32)>>> =
        LazyLock::new(|| {
            let mut by_category: HashMap<&'static str, Vec<(&'static Product, u32)>> =
                HashMap::new();
            for p in CATALOG {
                by_category
                    .entry(p.category)
                    .or_default()
                    .push((p, p.popularity));
            }
            by_category
        });
    BY_CATEGORY.get(category).map_or(&[], Vec::as_slice)
}

/// The base points the estimate counts for a line.
fn line_points(product: &Product, quantity: i64) -> i64 {
    if ESTIMATED.contains(&product.category) {
        product.minor * quantity / 1000
    } else {
        0
    }
}

/// A basket line of `quantity` units of `product`.
fn line(product: &Product, quantity: i64, original_line: Option<usize>) -> Line {
    let [sku, name, category, brand] = PRODUCT_NAMES
        .get(product.sku)
        .cloned()
        .unwrap_or_else(|| product_names(product));
    Line {
        sku,
        name,
        category,
        brand,
        unit_price: Decimal::new(product.minor, 2),
        quantity: Decimal::from(quantity),
        amount: None,
        original_line,
    }
}

/// The catalogue's texts as shared names, by SKU: made once, cloned into every line rather
/// than copied (see [`Line`]).
static PRODUCT_NAMES: LazyLock<HashMap<&'static str, [Name; 4]>> =
    LazyLock::new(|| CATALOG.iter().map(|p| (p.sku, product_names(p))).collect());

/// A product's SKU, name, category and brand.
fn product_names(product: &Product) -> [Name; 4] {
    [product.sku, product.name, product.category, product.brand].map(Name::from)
}

/// The chain's stores, made once and cloned into every transaction.
static CHAIN: LazyLock<Vec<Store>> = LazyLock::new(|| (0..STORES.len()).map(make_store).collect());

/// A store of the chain.
fn store(index: usize) -> Store {
    CHAIN
        .get(index)
        .cloned()
        .unwrap_or_else(|| make_store(index))
}

/// Store `index` of [`STORES`] (the first when there is none).
fn make_store(index: usize) -> Store {
    let (id, region, city, format) = STORES
        .get(index)
        .copied()
        .unwrap_or(("S-0101", "Moscow", "Moscow", "pharmacy"));
    Store {
        id: id.into(),
        region: region.into(),
        city: city.into(),
        format: format.into(),
        partner: Name::default(),
    }
}

/// The online shop.
fn online() -> Store {
    static ONLINE: LazyLock<Store> = LazyLock::new(|| Store {
        id: "WEB".into(),
        format: "online".into(),
        ..Store::default()
    });
    Store::clone(&ONLINE)
}

/// A shopping time on `date`.
fn visit_time(rng: &mut ChaCha8Rng, date: NaiveDate) -> NaiveDateTime {
    let hours = match date.weekday() {
        Weekday::Sat | Weekday::Sun => WEEKEND_HOURS,
        _ => WEEKDAY_HOURS,
    };
    let hour = *pick(rng, hours).unwrap_or(&12);
    at(date, hour, below(rng, 60), below(rng, 60))
}

/// The running estimate of a customer's points, from below.
#[derive(Default)]
struct Estimate {
    lots: Vec<EstimatedLot>,
}

/// A lot of the estimate.
struct EstimatedLot {
    /// The purchase that earned it (the customer's event number), none for a referral.
    purchase: Option<u32>,
    available_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    remaining: i64,
}

impl Estimate {
    fn earn(
        &mut self,
        purchase: Option<u32>,
        at: NaiveDateTime,
        available: NaiveDateTime,
        points: i64,
    ) {
        self.lots.push(EstimatedLot {
            purchase,
            available_at: available,
            expires_at: later(at, TimeDelta::days(364)),
            remaining: points,
        });
    }

    fn expire(&mut self, now: NaiveDateTime) {
        for lot in &mut self.lots {
            if lot.expires_at <= now && lot.remaining > 0 {
                lot.remaining = 0;
            }
        }
    }

    fn available(&self, now: NaiveDateTime) -> i64 {
        self.lots
            .iter()
            .filter(|l| l.available_at <= now)
            .map(|l| l.remaining)
            .sum()
    }

    fn pending(&self, now: NaiveDateTime) -> i64 {
        self.lots
            .iter()
            .filter(|l| l.available_at > now)
            .map(|l| l.remaining)
            .sum()
    }

    /// Spends `points` from the oldest lots (available ones only, unless `pending` too).
    fn spend(&mut self, points: i64, now: NaiveDateTime, pending: bool) {
        let mut left = points;
        for lot in &mut self.lots {
            if left <= 0 {
                break;
            }
            if lot.remaining > 0 && (pending || lot.available_at <= now) {
                let take = left.min(lot.remaining);
                lot.remaining -= take;
                left -= take;
            }
        }
    }

    fn reverse(&mut self, purchase: u32, points: i64) {
        if let Some(lot) = self.lots.iter_mut().find(|l| l.purchase == Some(purchase)) {
            lot.remaining -= points;
        }
    }
}

/// A number in `0..n` (0 when `n` is 0).
fn below(rng: &mut ChaCha8Rng, n: u32) -> u32 {
    if n == 0 {
        0
    } else {
        rng.random_range(0..n)
    }
}

/// One of `items`, drawn by their integer weights.
fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [(T, u32)]) -> Option<&'a T> {
    let total: u32 = items.iter().map(|(_, w)| *w).sum();
    let mut draw = below(rng, total);
    for (item, weight) in items {
        if draw < *weight {
            return Some(item);
        }
        draw -= weight;
    }
    None
}

/// The `n`th day of the period.
fn day(start: NaiveDate, n: u32) -> NaiveDate {
    start
        .checked_add_days(chrono::Days::new(u64::from(n)))
        .unwrap_or(start)
}

/// `t` plus `delta`; the end of time if that overflows.
fn later(t: NaiveDateTime, delta: TimeDelta) -> NaiveDateTime {
    t.checked_add_signed(delta).unwrap_or(NaiveDateTime::MAX)
}

/// A local time on `date`.
fn at(date: NaiveDate, hour: u32, minute: u32, second: u32) -> NaiveDateTime {
    date.and_time(NaiveTime::from_hms_opt(hour, minute, second).unwrap_or(NaiveTime::MIN))
}

/// A local time in `timezone` with its offset (a time skipped by a clock change moves an hour
/// on; a repeated one takes the first).
fn instant(timezone: Tz, local: NaiveDateTime) -> DateTime<FixedOffset> {
    match timezone.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.fixed_offset(),
        LocalResult::None => local
            .checked_add_signed(TimeDelta::hours(1))
            .and_then(|later| timezone.from_local_datetime(&later).earliest())
            .unwrap_or_else(|| timezone.from_utc_datetime(&local))
            .fixed_offset(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_by_customer_the_slice_holds_the_same_transactions_numbered_in_time_order() {
        let settings = Settings {
            customers: 60,
            months: 6,
            seed: 9,
            ..Settings::default()
        };
        let zone = chrono_tz::Europe::Moscow;
        let in_time_order = generate_slice(&settings, 10..50, "RUB", zone).transactions;
        let grouped = generate_slice_by_customer(&settings, 10..50, "RUB", zone);
        // Each customer's transactions come together, in time order.
        for own in &grouped {
            assert!(own.windows(2).all(|w| w[0].0 < w[1].0));
            assert!(own.iter().all(|(_, t)| t.account == own[0].1.account));
        }
        // Placed by their numbers, they are the time-ordered slice, ids included.
        let mut placed: Vec<(usize, Incoming)> = grouped.into_iter().flatten().collect();
        placed.sort_by_key(|(number, _)| *number);
        assert_eq!(placed.len(), in_time_order.len());
        for (n, ((number, grouped), ordered)) in placed.iter().zip(&in_time_order).enumerate() {
            assert_eq!(*number, n);
            assert_eq!(grouped, ordered);
        }
    }
}
