//! The only product module that reads time: monotonic instants for the sans-IO cores, the
//! driver's host clock, the operating system's wall clock, and the timers drivers set
//! ([`timer`]: announced to a simulator's ledger).
//!
//! Everything else receives time as a value. Drivers read `tokio::time`, which inside a
//! simulation is the simulator's paused, per-host clock and on a real network the OS clock.
#![allow(clippy::disallowed_methods)]

pub mod timer;

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

/// A driver's monotonic clock: `tokio::time` (simulated inside a simulator, real outside).
#[derive(Debug, Clone, Copy)]
pub struct HostClock {
    origin: tokio::time::Instant,
}

impl HostClock {
    /// Starts a clock whose origin is now. Must be called inside a tokio runtime.
    pub fn start() -> Self {
        HostClock {
            origin: tokio::time::Instant::now(),
        }
    }

    /// The current time on this clock.
    pub fn now(&self) -> MonoTime {
        MonoTime(tokio::time::Instant::now().saturating_duration_since(self.origin))
    }

    /// Arms `timer` to fire no later than `deadline` on this clock (see [`timer::Timer`]).
    pub fn arm(&self, timer: &mut timer::Timer, deadline: Option<MonoTime>) {
        timer.arm_by(deadline.map(|t| self.origin + t.0));
    }

    /// Sleeps until `deadline` on this clock, or forever when there is none.
    pub async fn sleep_until(&self, deadline: Option<MonoTime>) {
        match deadline {
            Some(t) => timer::sleep_until(self.origin + t.0).await,
            None => std::future::pending().await,
        }
    }
}

/// The operating system's wall clock in Unix milliseconds (real networks only).
pub fn real_unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
