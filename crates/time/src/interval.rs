//! A periodic timer.

use std::time::Duration;

use tokio::time::Instant;

use crate::sleep::sleep_until;

/// Ticks every `period`; the first tick completes at once (`tokio::time::interval`).
///
/// # Panics
/// When `period` is zero.
#[must_use]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks at `start`, then every `period` (`tokio::time::interval_at`).
///
/// # Panics
/// When `period` is zero.
#[must_use]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "wsim_time::interval: the period must be non-zero"
    );
    Interval {
        next: start,
        period,
    }
}

/// A periodic timer made by [`interval`]. A tick that comes late (the task was busy) is not
/// made up for: ticks that fell due meanwhile are skipped and the next one is due a whole
/// period after the late one (tokio's `MissedTickBehavior::Delay`).
#[derive(Debug, Clone)]
pub struct Interval {
    next: Instant,
    period: Duration,
}

impl Interval {
    /// Waits for the next tick and returns when it was due. Cancel-safe: a tick not waited to
    /// the end is still the next one.
    pub async fn tick(&mut self) -> Instant {
        let due = self.next;
        sleep_until(due).await;
        let now = Instant::now();
        self.next = if now > due + self.period {
            now + self.period
        } else {
            due + self.period
        };
        due
    }

    /// Makes the next tick due one period from now.
    pub fn reset(&mut self) {
        self.next = Instant::now() + self.period;
    }

    /// The time between ticks.
    #[must_use]
    pub fn period(&self) -> Duration {
        self.period
    }
}
