//! The trace switch. The evaluator is generic over a [`Tracer`]; with [`Silent`] every trace
//! branch is `if false` at compile time, so an evaluation without trace builds no text at all.

use super::decision::Step;

/// Where trace steps go.
pub(crate) trait Tracer {
    /// Whether steps are recorded; a constant, so untraced code paths compile away.
    const ON: bool;
    /// Records one step.
    fn step(&mut self, step: Step);
    /// The recorded steps, if recording.
    fn finish(self) -> Option<Vec<Step>>;
}

/// No trace.
pub(crate) struct Silent;

impl Tracer for Silent {
    const ON: bool = false;
    #[inline(always)]
    fn step(&mut self, _: Step) {}
    fn finish(self) -> Option<Vec<Step>> {
        None
    }
}

/// A recorded trace.
#[derive(Default)]
pub(crate) struct Recording(Vec<Step>);

impl Tracer for Recording {
    const ON: bool = true;
    fn step(&mut self, step: Step) {
        self.0.push(step);
    }
    fn finish(self) -> Option<Vec<Step>> {
        Some(self.0)
    }
}

/// Text for the trace, built only when tracing (an empty string, which does not allocate,
/// otherwise).
pub(crate) fn why<T: Tracer>(text: impl FnOnce() -> String) -> String {
    if T::ON {
        text()
    } else {
        String::new()
    }
}
