//! Per-host wall clocks. turmoil has no clock skew, so each simulated host gets a wall clock of
//! its own — the simulation's epoch plus simulated time, shifted by the host's skew, drift and
//! steps — kept outside the host so it survives a restart. Wall time only ever appears where
//! real systems show it (message timestamps); timers always run on monotonic time.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

/// The simulation's epoch (2026-01-01T00:00:00Z) in Unix milliseconds.
pub const SIM_EPOCH_UNIX_MS: i64 = 1_767_225_600_000;

/// One simulated host's wall clock; the fault executor steps and drifts it.
#[derive(Debug, Default)]
pub struct WallClock {
    /// Accumulated steps and finished drift, in milliseconds.
    offset_ms: Cell<i64>,
    /// The drift under way: parts per million, and the simulated time it started.
    drift: Cell<Option<(f64, Duration)>>,
}

impl WallClock {
    /// A clock in step with simulated time.
    #[must_use]
    pub fn new() -> Rc<Self> {
        Rc::new(WallClock::default())
    }

    /// The clock's reading, in Unix milliseconds, at simulated time `sim`.
    #[must_use]
    pub fn at(&self, sim: Duration) -> i64 {
        let sim_ms = i64::try_from(sim.as_millis()).unwrap_or(i64::MAX);
        SIM_EPOCH_UNIX_MS + sim_ms + self.offset_ms.get() + self.drift_ms(sim)
    }

    /// Steps the clock by `by_ms` (negative: back).
    pub fn step(&self, by_ms: i64) {
        self.offset_ms.set(self.offset_ms.get() + by_ms);
    }

    /// From simulated time `sim`, the clock runs `ppm` parts per million fast (slow if
    /// negative).
    pub fn start_drift(&self, sim: Duration, ppm: f64) {
        self.stop_drift(sim);
        self.drift.set(Some((ppm, sim)));
    }

    /// Ends the drift at simulated time `sim`, keeping what it accumulated.
    pub fn stop_drift(&self, sim: Duration) {
        let gained = self.drift_ms(sim);
        self.offset_ms.set(self.offset_ms.get() + gained);
        self.drift.set(None);
    }

    fn drift_ms(&self, sim: Duration) -> i64 {
        match self.drift.get() {
            Some((ppm, since)) => (sim.saturating_sub(since).as_millis() as f64 * ppm / 1e6) as i64,
            None => 0,
        }
    }
}

/// Where a component reads wall time.
#[derive(Debug, Clone)]
pub enum WallSource {
    /// A simulated host's clock, read at the current simulated time.
    Sim(Rc<WallClock>),
    /// The operating system's clock (real networks only).
    Real,
}

impl WallSource {
    /// The current wall time in Unix milliseconds.
    #[must_use]
    pub fn now_unix_ms(&self) -> i64 {
        match self {
            WallSource::Sim(clock) => clock.at(crate::clock::event_time()),
            WallSource::Real => crate::clock::real_unix_ms(),
        }
    }
}

/// Formats Unix milliseconds as RFC 3339 UTC, e.g. `2026-01-01T00:00:00.000Z`.
#[must_use]
pub fn rfc3339(unix_ms: i64) -> String {
    let secs = unix_ms.div_euclid(1000);
    let ms = unix_ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(SIM_EPOCH_UNIX_MS), "2026-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn steps_and_drift_accumulate() {
        let c = WallClock::new();
        let s = Duration::from_secs;
        assert_eq!(c.at(s(10)), SIM_EPOCH_UNIX_MS + 10_000);
        c.step(-3_600_000);
        assert_eq!(c.at(s(10)), SIM_EPOCH_UNIX_MS + 10_000 - 3_600_000);
        c.start_drift(s(10), 1000.0); // 1 ms per second
        assert_eq!(c.at(s(20)), SIM_EPOCH_UNIX_MS + 20_000 - 3_600_000 + 10);
        c.stop_drift(s(30));
        assert_eq!(c.at(s(100)), SIM_EPOCH_UNIX_MS + 100_000 - 3_600_000 + 20);
    }
}
