//! Fingerprints of incoming transactions: a hash of each one's content, to tell a retry (the
//! same content again) from a different transaction reusing an id. A batch's fingerprints are
//! computed on a thread of their own ([`Fingerprints`]), ahead of the ledger deciding them.

use super::background::WORTH_A_THREAD;
use super::{chain, Incoming};
use sha2::{Digest, Sha256};
use std::sync::mpsc::{channel, Receiver};
use std::thread::Scope;

/// A hash of the incoming transaction's content (its JSON).
pub(super) fn fingerprint(incoming: &Incoming) -> String {
    // Written out first and hashed in one go: hashing each of the many small pieces the
    // serializer writes costs more than the text. Failing, it is the hash of an empty text.
    let text = serde_json::to_vec(incoming).unwrap_or_default();
    chain::hex(&Sha256::digest(&text))
}

/// The fingerprints of a batch's transactions, in order: computed by a thread of `scope`
/// while the ledger decides the transactions before them, or in place when no thread could
/// be started (or the batch is small).
pub(super) struct Fingerprints {
    /// From the thread, in the batch's order; `None` computes in place.
    ahead: Option<Receiver<String>>,
}

impl Fingerprints {
    /// Starts fingerprinting `batch` on a thread of `scope`.
    pub(super) fn start<'scope>(
        scope: &'scope Scope<'scope, '_>,
        batch: &'scope [Incoming],
    ) -> Self {
        if batch.len() < WORTH_A_THREAD {
            return Fingerprints { ahead: None };
        }
        // Unbounded (a batch's fingerprints are small): the thread, far faster than the
        // ledger, never waits for room, so the ledger never has to wake it.
        let (send, receive) = channel();
        let started = std::thread::Builder::new()
            .name("puntos-fingerprints".to_string())
            .spawn_scoped(scope, move || {
                for incoming in batch {
                    if send.send(fingerprint(incoming)).is_err() {
                        break;
                    }
                }
            });
        Fingerprints {
            ahead: started.ok().map(|_| receive),
        }
    }

    /// The fingerprint of `incoming`, the next transaction of the batch (each asked for once,
    /// in order).
    pub(super) fn next(&mut self, incoming: &Incoming) -> String {
        match self.ahead.as_ref().map(Receiver::recv) {
            Some(Ok(fingerprint)) => fingerprint,
            // No thread, or it stopped: computed here.
            _ => {
                self.ahead = None;
                fingerprint(incoming)
            }
        }
    }
}
