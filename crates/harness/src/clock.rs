//! The harness's clocks: the simulated timestamp every event carries, and the wall-clock
//! stopwatch the verdict reports. Event timestamps come from [`turmoil::sim_elapsed`], the one
//! clock shared by every simulated host.
#![allow(clippy::disallowed_methods)]

use std::cell::Cell;
use std::time::Duration;

thread_local! {
    /// Simulated time last reported by the simulation loop; used while turmoil cannot answer.
    static SIM_FALLBACK: Cell<Option<Duration>> = const { Cell::new(None) };
    /// Origin of the real-time event clock (`wsim serve`, `wsim client`, ...).
    static REAL_ORIGIN: Cell<Option<std::time::Instant>> = const { Cell::new(None) };
}

/// Records the simulation loop's current time, so events and log lines stamped while turmoil
/// holds its world borrow (or between steps) still carry the right simulated time.
pub(crate) fn set_sim_fallback(now: Option<Duration>) {
    SIM_FALLBACK.with(|c| c.set(now));
}

/// Starts the real-time event clock of this thread: events are stamped with the time since.
pub(crate) fn start_real_clock() {
    REAL_ORIGIN.with(|c| c.set(Some(std::time::Instant::now())));
}

/// The timestamp of an event happening now: simulated time since the start of the simulation,
/// or, outside any simulation, real time since [`start_real_clock`].
pub(crate) fn event_time() -> Duration {
    if let Some(t) = turmoil::sim_elapsed() {
        return t;
    }
    if let Some(t) = SIM_FALLBACK.with(Cell::get) {
        return t;
    }
    REAL_ORIGIN.with(|c| c.get().map(|o| o.elapsed()).unwrap_or_default())
}

/// The simulated time (as [`event_time`]) of `deadline`, an instant on the calling host's
/// clock: host clocks are per runtime and reset on restart, simulated time is shared.
pub(crate) fn sim_time_of(deadline: tokio::time::Instant) -> Duration {
    event_time() + deadline.saturating_duration_since(tokio::time::Instant::now())
}

/// Measures wall time for the verdict's simulated-to-wall ratio. Never feeds the timeline.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(std::time::Instant);

impl Stopwatch {
    /// Starts measuring.
    #[must_use]
    pub fn start() -> Self {
        Stopwatch(std::time::Instant::now())
    }

    /// Wall time since [`Stopwatch::start`].
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}
