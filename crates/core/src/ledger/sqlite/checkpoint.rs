//! The thread that copies a SQLite database's write-ahead log into the database file, so a
//! writer does not wait for the disk.

use super::BUSY_TIMEOUT;
use rusqlite::Connection;
use std::path::Path;
use std::time::{Duration, Instant};

/// The thread that checkpoints a database file after commits, with its own connection.
#[derive(Debug)]
pub(super) struct Checkpointer {
    /// Told after each commit; closed to stop the thread.
    kick: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How long the checkpointing thread waits after a checkpoint before the next: pages written
/// again meanwhile are copied once. A second rather than 100 ms: account pages are written
/// again and again at random, and copying each once a second took the 100,000-customer
/// benchmark from about 12,000 to 13,700 transactions/s (BENCHMARKS.md); longer gave no more.
const CHECKPOINT_PAUSE: Duration = Duration::from_millis(1000);

impl Checkpointer {
    /// Starts the thread on a new connection to `path`; `None` if it cannot connect (commits
    /// then checkpoint themselves, past [`WAL_CHECKPOINT_PAGES`]).
    pub(super) fn start(path: &Path) -> Option<Checkpointer> {
        let connection = Connection::open(path).ok()?;
        connection.busy_timeout(BUSY_TIMEOUT).ok()?;
        let (kick, kicked) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("puntos-sqlite-checkpoint".to_string())
            .spawn(move || {
                use std::sync::mpsc::RecvTimeoutError;
                let mut last: Option<Instant> = None;
                while kicked.recv().is_ok() {
                    // Commits during the pause are copied together after it.
                    if let Some(deadline) = last.map(|l| l + CHECKPOINT_PAUSE) {
                        loop {
                            let left = deadline.saturating_duration_since(Instant::now());
                            match kicked.recv_timeout(left) {
                                Err(RecvTimeoutError::Disconnected) => return,
                                Err(RecvTimeoutError::Timeout) => break,
                                Ok(()) => {}
                            }
                        }
                    }
                    // Passive: it never waits for a writer nor blocks one; what it cannot copy
                    // now, the next round copies. A failure is left to the next round (or to
                    // the writers' own checkpoints).
                    let _ = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    last = Some(Instant::now());
                }
            })
            .ok()?;
        Some(Checkpointer {
            kick: Some(kick),
            thread: Some(thread),
        })
    }

    /// Tells the thread a commit happened (without waiting for it).
    pub(super) fn kick(&self) {
        if let Some(kick) = &self.kick {
            let _ = kick.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.kick = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
