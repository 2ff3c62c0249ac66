//! Posting: turning time and decisions into lots, journal entries, counters and events.
//!
//! Time first: pending lots whose date has come become available, lots past their expiry
//! expire, and lots expiring soon are announced. Then each effect of the decision: an earn
//! opens a lot, a redemption spends lots in the program's order, a reversal takes points back
//! from the lot the purchase opened (a debt if they were spent, forgiven if they expired), a
//! return puts redeemed points back into the lots they came from, counters and budgets count,
//! coupons are issued and used, the tier changes.
//!
//! An issued code carries its own window (the start of its coupon's window when that is later
//! than the issue, and the last valid moment the decision gives), so a CRM reads per code when
//! it may be used. A use counts twice: in the customer's counter of the coupon (`uses N per
//! customer`) and in the code's own record (its allowance, when it has one). Refunds give
//! neither back, as they do not give back the coupon's discount.

use super::model::{slot, AccountState, EntryKind, Event, JournalEntry, Lot, StoredTransaction};
use super::store::StoreError;
use super::unit::Lookups;
use super::view::{period_key, FOR_LIFE};
use crate::eval::{Decision, Effect, HeldCoupon, HeldTier, Source, Transaction};
use crate::program::{CodeBatch, Program};
use chrono::{DateTime, FixedOffset, NaiveDate};
use puntos_dsl::ast::LotOrder;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Entries and events produced by one unit of work, before they are sealed and stored.
#[derive(Debug, Default)]
pub(super) struct Postings {
    pub entries: Vec<JournalEntry>,
    pub events: Vec<(String, DateTime<FixedOffset>, Event)>,
    /// Entries without their notes and no events, for a caller that reads neither (see
    /// [`Postings::bare`]).
    bare: bool,
}

impl Postings {
    /// Postings whose entries carry no note (empty) and that keep no events: for a caller that
    /// counts points and never shows the journal's words nor sends notices (a simulation), or
    /// that records nothing at all. The words cost more to write than the points.
    pub fn bare() -> Postings {
        Postings {
            bare: true,
            ..Postings::default()
        }
    }

    /// Adds an event for `account`, unless these postings are [bare](Self::bare).
    fn event(&mut self, account: &str, at: DateTime<FixedOffset>, event: impl FnOnce() -> Event) {
        if !self.bare {
            self.events.push((account.to_string(), at, event()));
        }
    }

    /// Adds an entry; its `note` is written unless these postings are [bare](Self::bare).
    #[allow(clippy::too_many_arguments)]
    fn entry(
        &mut self,
        account: &str,
        at: DateTime<FixedOffset>,
        transaction: Option<&str>,
        kind: EntryKind,
        lot: Option<&str>,
        points: Decimal,
        note: impl FnOnce() -> String,
    ) {
        let note = if self.bare { String::new() } else { note() };
        self.entries.push(JournalEntry {
            seq: 0,
            account: account.to_string(),
            at,
            transaction: transaction.map(str::to_string),
            kind,
            lot: lot.map(str::to_string),
            points,
            note,
            previous: String::new(),
            hash: String::new(),
        });
    }
}

/// Brings `state` to `as_of`: activations, expiries, expiry notices (`notice` before).
pub(super) fn advance(
    state: &mut AccountState,
    as_of: DateTime<FixedOffset>,
    notice: chrono::TimeDelta,
    out: &mut Postings,
) {
    let account = &state.id;
    // A lot is announced once `as_of` is within the notice of its expiry.
    let announce_before = as_of.checked_add_signed(notice);
    for lot in &mut state.lots {
        if lot.pending && lot.available_at.is_none_or(|a| a <= as_of) {
            lot.pending = false;
            out.entry(
                account,
                lot.available_at.unwrap_or(as_of),
                None,
                EntryKind::Activate,
                Some(&lot.id),
                Decimal::ZERO,
                || format!("{} pending points became available", lot.remaining),
            );
        }
        // Spent, expired or reversed: nothing left to expire or announce.
        if lot.remaining <= Decimal::ZERO {
            continue;
        }
        let Some(expires) = lot.expires_at else {
            continue;
        };
        if expires <= as_of {
            let gone = lot.remaining;
            lot.remaining = Decimal::ZERO;
            lot.expired += gone;
            out.entry(
                account,
                expires,
                None,
                EntryKind::Expire,
                Some(&lot.id),
                -gone,
                || format!("{gone} points of {} expired", lot.source),
            );
        } else if !lot.expiry_notified
            && !lot.pending
            && announce_before.is_none_or(|before| expires <= before)
        {
            lot.expiry_notified = true;
            let points = lot.remaining;
            out.event(account, as_of, || Event::PointsExpiring {
                points,
                expires_at: expires,
            });
        }
    }
    state.as_of = Some(state.as_of.map_or(as_of, |a| a.max(as_of)));
}

/// What posting a decision needs besides the account.
pub(super) struct Posting<'a> {
    pub program: &'a Program,
    /// The transaction's local date in the program's zone: the periods counters count in.
    pub date: NaiveDate,
    pub transaction: &'a Transaction,
    pub decision: &'a Decision,
    /// For a refund: the original purchase, updated with what this refund returns.
    pub original: Option<&'a mut StoredTransaction>,
    /// Filled with the lots a redemption spends.
    pub consumed: Vec<(String, Decimal)>,
}

/// Applies every effect of the decision to `state`.
pub(super) fn post<L: Lookups + ?Sized>(
    state: &mut AccountState,
    posting: &mut Posting<'_>,
    session: &mut L,
    out: &mut Postings,
) -> Result<(), StoreError> {
    let tx = posting.transaction;
    let program = posting.program;
    let time = tx.time;
    let account = state.id.clone();
    let today = posting.date;
    let mut earned_total = Decimal::ZERO;
    for (index, effect) in posting.decision.effects.iter().enumerate() {
        match effect {
            Effect::Earn {
                source,
                points,
                available_at,
                expires_at,
                ..
            } => {
                let id = lot_id(&tx.id, index);
                let pending = available_at.is_some_and(|a| a > time);
                out.entry(
                    &account,
                    time,
                    Some(&tx.id),
                    EntryKind::Earn,
                    Some(&id),
                    *points,
                    || source.label(),
                );
                state.lots.push(Lot {
                    id,
                    source: source.label(),
                    points: *points,
                    remaining: *points,
                    earned_at: time,
                    available_at: *available_at,
                    expires_at: *expires_at,
                    expired: Decimal::ZERO,
                    reversed: Decimal::ZERO,
                    pending,
                    expiry_notified: false,
                });
                earned_total += *points;
                if let Some(period) = program.cap_period(source.name()) {
                    let key = period_key(Some(period), today);
                    add_to(&mut state.earned, source.name(), key, *points);
                }
            }
            Effect::Redeem { points, value, .. } => {
                let order = program
                    .redemption
                    .as_ref()
                    .map_or(LotOrder::Oldest, |r| r.order);
                let redemption = Redemption {
                    points: *points,
                    value: *value,
                    order,
                    transaction: &tx.id,
                    time,
                };
                spend(state, &redemption, out, &mut posting.consumed);
            }
            Effect::ReverseEarn {
                source,
                points,
                of_transaction,
            } => reverse(state, source, *points, of_transaction, &tx.id, time, out),
            Effect::ReturnRedeemed {
                points,
                of_transaction,
                ..
            } => {
                if let Some(original) = posting.original.as_deref_mut() {
                    give_back(state, original, *points, &tx.id, time, out);
                } else {
                    out.entry(
                        &account,
                        time,
                        Some(&tx.id),
                        EntryKind::Return,
                        None,
                        *points,
                        || format!("redeemed on {of_transaction}, given back"),
                    );
                }
            }
            Effect::BudgetConsumed { promotion, amount } => {
                session.add_budget_used(promotion, *amount)?;
            }
            Effect::LimitCounted { source } => {
                let key = period_key(program.limit_period(source.name()), today);
                add_to(&mut state.uses, source.name(), key, 1);
            }
            Effect::ConsumeCoupon { coupon, code } => {
                add_to(&mut state.uses, coupon, FOR_LIFE, 1);
                HeldCoupon::count_use(&mut state.coupons, coupon, code);
            }
            Effect::IssueCoupon {
                coupon,
                valid_until,
            } => {
                let code = coupon_code(program, coupon, &tx.id, index);
                state.coupons.push(HeldCoupon::issued(
                    program,
                    coupon,
                    code.clone(),
                    time,
                    *valid_until,
                ));
                out.event(&account, time, || Event::CouponIssued {
                    coupon: coupon.to_string(),
                    code,
                });
            }
            Effect::TierChange { from, to, until } => {
                state.tier = to.as_ref().map(|name| HeldTier {
                    name: name.to_string(),
                    until: *until,
                });
                out.event(&account, time, || Event::TierChanged {
                    from: from.as_deref().map(str::to_string),
                    to: to.as_deref().map(str::to_string),
                });
            }
            Effect::Discount { .. } => {}
        }
    }
    if earned_total > Decimal::ZERO {
        out.event(&account, time, || Event::PointsEarned {
            points: earned_total,
            transaction: tx.id.to_string(),
        });
    }
    let amount = crate::eval::fixed::sum(posting.decision.lines.iter().map(|l| l.amount));
    let entry = match &*tx.kind {
        "purchase" => Some(tx.amount.unwrap_or(amount)),
        "refund" => Some(-amount),
        _ => None,
    };
    if let Some(entry) = entry {
        // In time order (a late transaction goes before later ones): windows are found by
        // binary search.
        let place = state.history.partition_point(|(at, _)| *at <= time);
        state.history.insert(place, (time, entry));
    }
    if let Some(original) = posting.original.as_deref_mut() {
        for line in &tx.lines {
            if let Some(index) = line.original_line {
                match original.refunded.iter_mut().find(|r| r.line == index) {
                    Some(r) => r.quantity += line.quantity,
                    None => original.refunded.push(crate::eval::RefundedUnits {
                        line: index,
                        quantity: line.quantity,
                    }),
                }
            }
        }
    }
    Ok(())
}

/// Adds `by` to the count of `name` in the period starting `key` (the name copied only for a
/// first count).
fn add_to<V: Default + std::ops::AddAssign>(
    counters: &mut BTreeMap<String, BTreeMap<NaiveDate, V>>,
    name: &str,
    key: NaiveDate,
    by: V,
) {
    if let Some(by_period) = slot(counters, name) {
        *by_period.entry(key).or_default() += by;
    }
}

/// A redemption to post.
struct Redemption<'a> {
    points: Decimal,
    value: Decimal,
    order: LotOrder,
    transaction: &'a str,
    time: DateTime<FixedOffset>,
}

/// Spends the redemption's points from available lots in its order, recording each lot taken
/// from.
fn spend(
    state: &mut AccountState,
    redemption: &Redemption<'_>,
    out: &mut Postings,
    consumed: &mut Vec<(String, Decimal)>,
) {
    let Redemption {
        points,
        value,
        order,
        transaction,
        time,
    } = *redemption;
    let mut candidates: Vec<usize> = (0..state.lots.len())
        .filter(|&i| {
            state
                .lots
                .get(i)
                .is_some_and(|l| !l.pending && l.remaining > Decimal::ZERO)
        })
        .collect();
    let key = |i: &usize| state.lots.get(*i).map(|l| (l.earned_at, l.expires_at));
    match order {
        LotOrder::Oldest => candidates.sort_by_key(|i| key(i).map(|k| k.0)),
        LotOrder::Newest => candidates.sort_by_key(|i| std::cmp::Reverse(key(i).map(|k| k.0))),
        // Lots that never expire go last.
        LotOrder::Expiring => candidates
            .sort_by_key(|i| key(i).map(|(earned, expires)| (expires.is_none(), expires, earned))),
    }
    let account = state.id.clone();
    let mut left = points;
    for i in candidates {
        if left <= Decimal::ZERO {
            break;
        }
        let Some(lot) = state.lots.get_mut(i) else {
            continue;
        };
        let take = left.min(lot.remaining);
        lot.remaining -= take;
        left -= take;
        consumed.push((lot.id.clone(), take));
        out.entry(
            &account,
            time,
            Some(transaction),
            EntryKind::Redeem,
            Some(&lot.id),
            -take,
            || format!("{take} of {points} points redeemed for {value}"),
        );
    }
}

/// Takes back `points` that `source` earned on `of_transaction`.
fn reverse(
    state: &mut AccountState,
    source: &Source,
    points: Decimal,
    of_transaction: &str,
    transaction: &str,
    time: DateTime<FixedOffset>,
    out: &mut Postings,
) {
    let account = state.id.clone();
    let prefix = format!("{of_transaction}#");
    let label = source.label();
    match state
        .lots
        .iter_mut()
        .find(|l| l.id.starts_with(&prefix) && l.source == label)
    {
        Some(lot) => {
            // Points that expired meanwhile are gone already; the rest comes out of the lot,
            // below zero (a debt) if the customer spent them.
            let reversible = lot.points - lot.expired - lot.reversed;
            let taken = points.min(reversible.max(Decimal::ZERO));
            lot.remaining -= taken;
            lot.reversed += taken;
            let remaining = lot.remaining;
            let note = || {
                let mut note = format!("{label} on {of_transaction}, refunded");
                if taken < points {
                    note.push_str(&format!(
                        "; {} points had expired and are not taken again",
                        points - taken
                    ));
                }
                if remaining < Decimal::ZERO {
                    note.push_str(&format!("; {} points owed", -remaining));
                }
                note
            };
            out.entry(
                &account,
                time,
                Some(transaction),
                EntryKind::Reverse,
                Some(&lot.id),
                -taken,
                note,
            );
        }
        None => {
            // The purchase is older than this ledger (a migrated account): a debt lot.
            let id = format!("{transaction}#reversal-{}", state.lots.len());
            state.lots.push(Lot::settled(
                id.clone(),
                format!("refund of {of_transaction}"),
                -points,
                time,
            ));
            out.entry(
                &account,
                time,
                Some(transaction),
                EntryKind::Reverse,
                Some(&id),
                -points,
                || format!("{label} on {of_transaction}, refunded; no lot of it in this ledger"),
            );
        }
    }
}

/// Puts redeemed points back into the lots they were spent from, latest first.
fn give_back(
    state: &mut AccountState,
    original: &mut StoredTransaction,
    points: Decimal,
    transaction: &str,
    time: DateTime<FixedOffset>,
    out: &mut Postings,
) {
    let account = state.id.clone();
    // Skip what earlier refunds gave back, walking from the last lot spent.
    let mut skip = original.returned;
    let mut left = points;
    for (lot_id, taken) in original.consumed.iter().rev() {
        let available = if skip >= *taken {
            skip -= *taken;
            continue;
        } else {
            let a = *taken - skip;
            skip = Decimal::ZERO;
            a
        };
        if left <= Decimal::ZERO {
            break;
        }
        let back = left.min(available);
        left -= back;
        if let Some(lot) = state.lots.iter_mut().find(|l| l.id == *lot_id) {
            lot.remaining += back;
            out.entry(
                &account,
                time,
                Some(transaction),
                EntryKind::Return,
                Some(lot_id),
                back,
                || format!("redeemed on {}, given back", original.id),
            );
            // Points returned to a lot past its expiry expire at once.
            if lot.expires_at.is_some_and(|e| e <= time) {
                lot.remaining -= back;
                lot.expired += back;
                out.entry(
                    &account,
                    time,
                    None,
                    EntryKind::Expire,
                    Some(lot_id),
                    -back,
                    || format!("{back} returned points of {} had expired", lot.source),
                );
            }
        }
    }
    original.returned += points - left;
}

/// The id of the lot an earn makes: its transaction's and the effect's position (`T-1#2`).
fn lot_id(transaction: &str, index: usize) -> String {
    let mut digits = itoa::Buffer::new();
    let index = digits.format(index);
    let mut id = String::with_capacity(transaction.len() + 1 + index.len());
    id.push_str(transaction);
    id.push('#');
    id.push_str(index);
    id
}

/// A personal coupon code: the batch prefix and characters derived from the transaction, so
/// applying the same transaction again gives the same code.
fn coupon_code(program: &Program, coupon: &str, transaction: &str, index: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let Some(c) = program.coupons.iter().find(|c| &*c.name == coupon) else {
        return format!("{coupon}-{transaction}");
    };
    match &c.codes {
        CodeBatch::Fixed(codes) => codes.first().cloned().unwrap_or_default(),
        CodeBatch::Unique { length, prefix } => {
            let digest = Sha256::digest(format!("{coupon}/{transaction}/{index}").as_bytes());
            let body: String = digest
                .iter()
                .cycle()
                .take(usize::try_from(*length).unwrap_or(8))
                .map(|b| {
                    ALPHABET
                        .get(usize::from(*b) % ALPHABET.len())
                        .map_or('X', |c| char::from(*c))
                })
                .collect();
            format!("{prefix}{body}")
        }
    }
}
