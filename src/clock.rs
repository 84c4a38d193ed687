//! The only module that reads time: monotonic instants for the sans-IO cores, the simulated
//! timestamp every event carries, and the wall-clock stopwatch the verdict reports.
//!
//! Everything else in wsim receives time as a value. In simulation `tokio::time` is turmoil's
//! paused, per-host clock; for real it is the OS clock. Event timestamps come from
//! [`turmoil::sim_elapsed`], the one clock shared by every simulated host.
#![allow(clippy::disallowed_methods)]

use std::cell::Cell;
use std::ops::{Add, Sub};
use std::time::Duration;

/// A point on one host's monotonic clock, as seen by a sans-IO core.
///
/// It is the time since an arbitrary origin chosen by the driver (the start of the host). Values
/// from different hosts, or from before and after a host restart, must never be compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MonoTime(Duration);

impl MonoTime {
    /// The origin of the clock.
    pub const ZERO: MonoTime = MonoTime(Duration::ZERO);

    /// A time `d` after the origin (for tests and drivers).
    #[must_use]
    pub const fn from_duration(d: Duration) -> Self {
        MonoTime(d)
    }

    /// A time `ms` milliseconds after the origin.
    #[must_use]
    pub const fn from_millis(ms: u64) -> Self {
        MonoTime(Duration::from_millis(ms))
    }

    /// Time since the origin.
    #[must_use]
    pub const fn since_origin(self) -> Duration {
        self.0
    }

    /// `self - earlier`, or zero if `earlier` is later.
    #[must_use]
    pub fn saturating_since(self, earlier: MonoTime) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for MonoTime {
    type Output = MonoTime;
    fn add(self, rhs: Duration) -> MonoTime {
        MonoTime(self.0.saturating_add(rhs))
    }
}

impl Sub<MonoTime> for MonoTime {
    type Output = Duration;
    fn sub(self, rhs: MonoTime) -> Duration {
        self.saturating_since(rhs)
    }
}

/// A driver's monotonic clock: `tokio::time` (simulated inside turmoil, real outside).
#[derive(Debug, Clone, Copy)]
pub(crate) struct HostClock {
    origin: tokio::time::Instant,
}

impl HostClock {
    /// Starts a clock whose origin is now. Must be called inside a tokio runtime.
    pub(crate) fn start() -> Self {
        HostClock {
            origin: tokio::time::Instant::now(),
        }
    }

    /// The current time on this clock.
    pub(crate) fn now(&self) -> MonoTime {
        MonoTime(tokio::time::Instant::now().saturating_duration_since(self.origin))
    }

    /// Sleeps until `deadline` on this clock, or forever when there is none.
    pub(crate) async fn sleep_until(&self, deadline: Option<MonoTime>) {
        match deadline {
            Some(t) => tokio::time::sleep_until(self.origin + t.0).await,
            None => std::future::pending().await,
        }
    }
}

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

/// The operating system's wall clock in Unix milliseconds (real networks only).
pub(crate) fn real_unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Measures wall time for the verdict's simulated-to-wall ratio. Never feeds the timeline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stopwatch(std::time::Instant);

impl Stopwatch {
    pub(crate) fn start() -> Self {
        Stopwatch(std::time::Instant::now())
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}
