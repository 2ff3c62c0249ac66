//! Work handed to another thread of a scope while the caller goes on, so a batch uses the
//! machine's second core; where no thread can be started (WebAssembly, a starved system) the
//! work runs on the caller's thread when its result is asked for, with the same result.

use std::thread::{Scope, ScopedJoinHandle};

/// Fewer items of work than this (transactions of a batch) are done in place: starting a thread
/// would cost more than it saves.
pub(super) const WORTH_A_THREAD: usize = 8;

/// Work started on a thread of a scope, or left to run when its result is asked for.
pub(super) struct Background<'scope, T> {
    work: &'scope (dyn Fn() -> T + Sync),
    thread: Option<ScopedJoinHandle<'scope, T>>,
}

impl<'scope, T: Send + 'scope> Background<'scope, T> {
    /// Starts `work` on a thread named `name` of `scope`.
    pub(super) fn start(
        scope: &'scope Scope<'scope, '_>,
        name: &str,
        work: &'scope (dyn Fn() -> T + Sync),
    ) -> Background<'scope, T> {
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn_scoped(scope, work)
            .ok();
        Background { work, thread }
    }

    /// Starts `work` on a thread if `worth_it` (see [`WORTH_A_THREAD`]), else leaves it to run
    /// here when its result is asked for.
    pub(super) fn start_if(
        worth_it: bool,
        scope: &'scope Scope<'scope, '_>,
        name: &str,
        work: &'scope (dyn Fn() -> T + Sync),
    ) -> Background<'scope, T> {
        if worth_it {
            Background::start(scope, name, work)
        } else {
            Background { work, thread: None }
        }
    }

    /// The work's result: the thread's, or the work run here if it had no thread (or its thread
    /// died, which only a bug in the work could cause; it is run again here, to report the same).
    pub(super) fn result(self) -> T {
        match self.thread.map(ScopedJoinHandle::join) {
            Some(Ok(result)) => result,
            _ => (self.work)(),
        }
    }
}
