//! Applying a stream of batches with the deciding and the writing on two threads
//! ([`super::Ledger::apply_batches`]): while the store writes and commits batch N, a decider
//! thread decides batch N+1. On a database the two take about as long each, so a batch costs
//! about the longer of them rather than both (BENCHMARKS.md).
//!
//! The store's connection stays on the caller's thread; the decider never touches the store.
//! Each unit of work of the store does two things, in this order:
//!
//! 1. reads what deciding batch N+1 will ask for ([`Prefetch::read`]) and hands it to the
//!    decider, which brings it up to date with batch N's writes ([`Prefetch::patch`]) and
//!    decides batch N+1 meanwhile;
//! 2. makes batch N's writes as the decider recorded them ([`Recorded::write`]) and commits.
//!
//! What makes that right: the reads of step 1 miss only batch N's writes, which the decider
//! has; and the unit that writes batch N+1 starts only if nobody else has written since the
//! unit that read for it committed ([`super::Session::undisturbed`]). If somebody has, that unit
//! decides batch N+1 again itself, from what it reads then, the decider's work is dropped, and
//! the pipeline starts again with the batch after.

use super::recorder::{Abilities, Prefetch, Recorded, Recorder};
use super::store::{Store, StoreError};
use super::{apply_batch_in, Applied, Incoming, LedgerError};
use crate::versions::Versions;
use std::sync::mpsc::{channel, Receiver, Sender};

/// A batch's results, in its order.
type Results = Vec<Result<Applied, LedgerError>>;

/// What the writer sends the decider.
enum ToDecider {
    /// A batch to decide, with what the store read for it and what the store can do. The
    /// decider first hands back the batch it decided before.
    Decide(Vec<Incoming>, Prefetch, Abilities),
    /// Hand back the batch decided last (there is no batch after it, or the store changed
    /// under it).
    GiveBack,
    /// What is left of a batch's writes once made, to drop (see [`Recorded::write`]).
    Drop(Recorded),
}

/// A batch decided, its writes recorded; with the batch itself, for the writer to decide it
/// again if the store changed under it.
struct Decided {
    batch: Vec<Incoming>,
    recorded: Recorded,
    results: Results,
}

/// What one unit of work of the writer did.
enum Step {
    /// It only read for the first batch of a run.
    Started,
    /// It wrote the batch in flight, as the decider decided it.
    Wrote(Results),
    /// The store had changed under the batch in flight: the unit decided it again and wrote
    /// it; the next batch is still to be read for.
    Redone(Results),
}

/// Applies `batches` through the pipeline (see the [module](self)), calling `done` with each
/// batch's tag and results once its unit has committed.
pub(super) fn apply<S: Store, T, E: From<StoreError>>(
    store: &mut S,
    versions: &Versions,
    notice: chrono::TimeDelta,
    batches: &mut dyn Iterator<Item = (Vec<Incoming>, T)>,
    done: &mut dyn FnMut(T, Results) -> Result<(), E>,
) -> Result<(), E> {
    let budgets: Vec<String> = versions
        .programs()
        .flat_map(|program| program.counters().budgets)
        .map(|name| name.to_string())
        .collect();
    std::thread::scope(|scope| {
        let (to_decider, decider_inbox) = channel::<ToDecider>();
        let (to_writer, inbox) = channel::<Result<Decided, StoreError>>();
        let started = std::thread::Builder::new()
            .name("puntos-decide".to_string())
            .spawn_scoped(scope, move || {
                decide(versions, notice, &decider_inbox, &to_writer);
            });
        if started.is_err() {
            // No thread to be had: one batch after another, on this one.
            return apply_serially(store, versions, notice, batches, done);
        }
        let mut upcoming = batches.next();
        // The tag of the batch the decider has, not yet committed.
        let mut in_flight: Option<T> = None;
        while upcoming.is_some() || in_flight.is_some() {
            let step = store.atomically(|session| -> Result<Step, StoreError> {
                if in_flight.is_some() && !session.undisturbed() {
                    let decided = ask(&to_decider, &inbox, ToDecider::GiveBack)?;
                    let results = apply_batch_in(session, versions, notice, &decided.batch)?;
                    return Ok(Step::Redone(results));
                }
                let mut handed_back = None;
                if let Some((batch, _)) = &mut upcoming {
                    let read = Prefetch::read(session, batch, &budgets)?;
                    let batch = std::mem::take(batch);
                    let message = ToDecider::Decide(batch, read, Abilities::of(session));
                    if in_flight.is_some() {
                        handed_back = Some(ask(&to_decider, &inbox, message)?);
                    } else {
                        tell(&to_decider, &inbox, message)?;
                    }
                }
                if in_flight.is_none() {
                    return Ok(Step::Started);
                }
                let decided = match handed_back {
                    Some(decided) => decided,
                    None => ask(&to_decider, &inbox, ToDecider::GiveBack)?,
                };
                let mut recorded = decided.recorded;
                recorded.write(session)?;
                // Dropped by the decider; if it has stopped, here.
                let _ = to_decider.send(ToDecider::Drop(recorded));
                Ok(Step::Wrote(decided.results))
            })?;
            // After a redone batch, the next one is still to be read for.
            let next_sent = !matches!(step, Step::Redone(_));
            if let (Some(tag), Step::Wrote(results) | Step::Redone(results)) =
                (in_flight.take(), step)
            {
                done(tag, results)?;
            }
            if next_sent {
                in_flight = upcoming.take().map(|(_, tag)| tag);
                upcoming = batches.next();
            }
        }
        Ok(())
    })
}

/// Applies `batches` one after another, each decided and written in its own unit of work on
/// this thread: for a store that cannot tell when someone else wrote, or when no thread can be
/// started.
pub(super) fn apply_serially<S: Store, T, E: From<StoreError>>(
    store: &mut S,
    versions: &Versions,
    notice: chrono::TimeDelta,
    batches: &mut dyn Iterator<Item = (Vec<Incoming>, T)>,
    done: &mut dyn FnMut(T, Results) -> Result<(), E>,
) -> Result<(), E> {
    for (batch, tag) in batches {
        let results =
            store.atomically(|session| apply_batch_in(session, versions, notice, &batch))?;
        done(tag, results)?;
    }
    Ok(())
}

/// Sends the decider `message`; an error if it has stopped (with its own error, if it sent
/// one).
fn tell(
    to_decider: &Sender<ToDecider>,
    inbox: &Receiver<Result<Decided, StoreError>>,
    message: ToDecider,
) -> Result<(), StoreError> {
    if to_decider.send(message).is_ok() {
        return Ok(());
    }
    Err(match inbox.recv() {
        Ok(Err(e)) => e,
        _ => stopped(),
    })
}

/// Sends the decider `message` and waits for the batch it hands back.
fn ask(
    to_decider: &Sender<ToDecider>,
    inbox: &Receiver<Result<Decided, StoreError>>,
    message: ToDecider,
) -> Result<Decided, StoreError> {
    tell(to_decider, inbox, message)?;
    inbox.recv().map_err(|_| stopped())?
}

fn stopped() -> StoreError {
    StoreError("the thread deciding transactions stopped".to_string())
}

/// The decider's loop: decides each batch it is sent against what the store read for it,
/// brought up to date with the batch before, and hands each back when asked (see
/// [`ToDecider`]). Stops when the writer hangs up, or at its first error, which it sends.
fn decide(
    versions: &Versions,
    notice: chrono::TimeDelta,
    inbox: &Receiver<ToDecider>,
    to_writer: &Sender<Result<Decided, StoreError>>,
) {
    let mut previous: Option<Decided> = None;
    while let Ok(message) = inbox.recv() {
        let handed_back = match message {
            ToDecider::Drop(written) => {
                drop(written);
                continue;
            }
            ToDecider::GiveBack => previous
                .take()
                .ok_or_else(|| StoreError("no batch was decided to hand back".to_string())),
            ToDecider::Decide(batch, mut read, abilities) => {
                if let Some(before) = previous.take() {
                    read.patch(&before.recorded);
                    if to_writer.send(Ok(before)).is_err() {
                        return;
                    }
                }
                let mut recorder = Recorder::new(read, &batch, abilities);
                match apply_batch_in(&mut recorder, versions, notice, &batch) {
                    Ok(results) => {
                        previous = Some(Decided {
                            batch,
                            recorded: recorder.into_recorded(),
                            results,
                        });
                        continue;
                    }
                    Err(e) => Err(e),
                }
            }
        };
        let failed = handed_back.is_err();
        if to_writer.send(handed_back).is_err() || failed {
            return;
        }
    }
}
