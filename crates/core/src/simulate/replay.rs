//! One program over one part of the history: a [`DirectLedger`] (the ledger's own deciding
//! and posting, accounts in memory), every transaction applied in order with the ledger's full
//! semantics (pending points, expiry, tiers, caps, budgets, coupons, refunds), every account
//! brought to the horizon, then the decisions and the journal counted into an [`Outcome`].

use super::tally::{Outcome, Tally};
use super::{Part, Redemptions, SimulateError, Window};
use crate::eval::Effect;
use crate::fast_hash::HashMap;
use crate::ledger::{Applied, DirectLedger, Incoming, LedgerError};
use crate::versions::Versions;
use chrono::{DateTime, FixedOffset};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// Transactions applied between two countings of the journal written (and two reports of
/// progress).
const STRETCH: usize = 256;

/// Opens the part's accounts, replays its transactions (in the part's order) through
/// `versions` and brings every account to the window's horizon; only the records of purchases
/// a refund in the part names are kept once applied. `progress` is told how many transactions were
/// applied, a stretch at a time.
pub(crate) fn replay(
    versions: &Versions,
    part: &Part<'_>,
    window: &Window<'_>,
    spending: Redemptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Outcome, SimulateError> {
    let horizon = window.horizon;
    // A simulation counts the journal's points, never its words.
    let mut ledger = DirectLedger::new(versions).without_notes();
    // A refund and its purchase are the same account's, so in the same part.
    let refunded = part.transactions.iter().filter_map(|i| i.refund_of.clone());
    ledger.keep_records_of(refunded);
    let before = DateTime::<FixedOffset>::MIN_UTC.fixed_offset();
    ledger
        .open(part.accounts.iter().map(|a| (*a).clone()), before)
        .map_err(|e| SimulateError::Ledger(format!("opening the accounts: {e}")))?;
    let program = versions
        .at(horizon)
        .or_else(|| versions.programs().last())
        .map(|p| p.name.to_string())
        .unwrap_or_default();
    let mut tally = Tally::new(program);
    // The tier each account holds, as the decisions change it.
    let mut tiers: HashMap<String, String> = HashMap::default();
    for stretch in part.transactions.chunks(STRETCH) {
        for incoming in stretch {
            let result = match spending {
                Redemptions::AsInHistory => ledger.apply(incoming),
                Redemptions::Propensity { share, seed } => {
                    let mut asking = (*incoming).clone();
                    ask_to_spend(&mut ledger, &mut asking, share, seed);
                    ledger.apply(&asking)
                }
            };
            match result {
                Ok(Applied::New(decision)) => {
                    let tier = tiers.get(&incoming.account).map(String::as_str);
                    tally.count_decision(&decision, tier);
                    for effect in &decision.effects {
                        if let Effect::TierChange { to, .. } = effect {
                            match to {
                                Some(name) => {
                                    tiers.insert(incoming.account.clone(), name.to_string())
                                }
                                None => tiers.remove(&incoming.account),
                            };
                        }
                    }
                }
                // The window gives each transaction once; a record kept for a refund is not
                // applied again.
                Ok(Applied::Duplicate(_)) => {}
                Err(LedgerError::Store(e)) => return Err(SimulateError::Ledger(e.to_string())),
                Err(refusal) => {
                    let transaction = &incoming.transaction;
                    tally.count_refusal(transaction.time, &transaction.id, || refusal.to_string());
                }
            }
        }
        tally.count_entries(ledger.drain_written());
        progress(stretch.len() as u64);
    }
    ledger.advance_all(horizon);
    tally.count_entries(ledger.drain_written());
    tally.finish(ledger.accounts())
}

/// Under a propensity: a purchase asks to pay with as many points as the program allows when
/// the draw for its id says so (with probability `share`), and with none otherwise; the
/// history's own request is set aside. A purchase the ledger cannot answer for (an unknown
/// account) is left for it to refuse.
fn ask_to_spend(ledger: &mut DirectLedger<'_>, incoming: &mut Incoming, share: Decimal, seed: u64) {
    let tx = &mut incoming.transaction;
    if *tx.kind != *"purchase" || tx.lines.is_empty() {
        return;
    }
    tx.redeem = None;
    if !drawn(seed, &tx.id, share) {
        return;
    }
    if let Ok(points) = ledger.redeemable(incoming) {
        if points > Decimal::ZERO {
            incoming.transaction.redeem = Some(points);
        }
    }
}

/// Whether the draw for transaction `id` under `seed` falls within `share` (0 to 1): the same
/// id and seed draw the same on every machine (FNV-1a of the seed and the id, in millionths).
fn drawn(seed: u64, id: &str, share: Decimal) -> bool {
    const MILLION: u64 = 1_000_000;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in seed.to_le_bytes().iter().chain(id.as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let threshold = (share * Decimal::from(MILLION))
        .floor()
        .to_u64()
        .unwrap_or(0);
    hash % MILLION < threshold
}
