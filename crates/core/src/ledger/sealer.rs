//! Sealing a batch's journal entries into the hash chain on a thread of their own, group by
//! group as the ledger decides the transactions after them. The chain is sequential (each hash
//! covers the one before), but it depends on nothing the deciding does after the entries are
//! numbered, so the batch's end finds them sealed rather than sealing them all then.

use super::chain;
use super::model::JournalEntry;
use super::store::StoreError;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread::Scope;

/// Entries sealed by the thread, with their JSON (as [`chain::seal_numbered`] gives them).
pub(super) type Sealed = (Vec<JournalEntry>, Vec<String>);

/// The sealing thread of a batch: groups of numbered entries go in, sealed groups come back in
/// the same order.
pub(super) struct Sealer {
    send: Sender<Vec<JournalEntry>>,
    sealed: Receiver<Sealed>,
    /// Groups sent and not yet received back.
    outstanding: usize,
}

impl Sealer {
    /// Starts a thread of `scope` that seals the groups it is sent, chaining on from the hash
    /// `previous`; `None` when no thread can be started (entries are then sealed in place).
    /// The thread ends when the sealer is finished or dropped, which must happen before the
    /// scope ends.
    pub(super) fn start<'scope>(
        scope: &'scope Scope<'scope, '_>,
        previous: String,
    ) -> Option<Self> {
        let (send, entries) = channel::<Vec<JournalEntry>>();
        let (give_back, sealed) = channel();
        std::thread::Builder::new()
            .name("puntos-seal".to_string())
            .spawn_scoped(scope, move || {
                let mut previous = previous;
                for mut group in entries {
                    let bodies = chain::seal_numbered(&mut group, previous.clone());
                    if let Some(last) = group.last() {
                        previous = last.hash.clone();
                    }
                    if give_back.send((group, bodies)).is_err() {
                        break;
                    }
                }
            })
            .ok()?;
        Some(Sealer {
            send,
            sealed,
            outstanding: 0,
        })
    }

    /// Hands a group of numbered entries (following the last group sent) to the thread; gives
    /// them back if the thread is gone.
    pub(super) fn seal(&mut self, entries: Vec<JournalEntry>) -> Result<(), Vec<JournalEntry>> {
        self.send.send(entries).map_err(|returned| returned.0)?;
        self.outstanding += 1;
        Ok(())
    }

    /// Every group sent, sealed, in order; the thread stops. An error if the thread stopped
    /// early (only a bug could make it): the entries it held are lost, so the unit of work
    /// must fail rather than write a journal with a hole.
    pub(super) fn finish(self) -> Result<Vec<Sealed>, StoreError> {
        let Sealer {
            send,
            sealed,
            outstanding,
        } = self;
        drop(send);
        let groups: Vec<Sealed> = sealed.iter().take(outstanding).collect();
        if groups.len() != outstanding {
            return Err(StoreError(
                "the thread sealing the journal's entries stopped early".to_string(),
            ));
        }
        Ok(groups)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::model::EntryKind;

    fn entry(seq: u64, points: &str) -> JournalEntry {
        JournalEntry {
            seq,
            account: "A".to_string(),
            at: "2026-03-14T12:00:00+03:00".parse().unwrap(),
            transaction: None,
            kind: EntryKind::Adjust,
            lot: None,
            points: points.parse().unwrap(),
            note: String::new(),
            previous: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn groups_sealed_on_the_thread_chain_as_if_sealed_at_once() {
        let all: Vec<JournalEntry> = (1..=5).map(|seq| entry(seq, "1")).collect();
        let mut at_once = all.clone();
        let bodies = chain::seal_numbered(&mut at_once, chain::GENESIS.to_string());
        let groups = std::thread::scope(|scope| {
            let mut sealer = Sealer::start(scope, chain::GENESIS.to_string()).unwrap();
            sealer.seal(all[..2].to_vec()).unwrap();
            sealer.seal(Vec::new()).unwrap();
            sealer.seal(all[2..].to_vec()).unwrap();
            sealer.finish().unwrap()
        });
        let (entries, texts): (Vec<_>, Vec<_>) = groups.into_iter().unzip();
        assert_eq!(entries.concat(), at_once);
        assert_eq!(texts.concat(), bodies);
    }
}
