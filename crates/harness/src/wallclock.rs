//! Per-host wall clocks. turmoil has no clock skew, so each simulated host gets a wall clock of
//! its own — the simulation's epoch plus simulated time, shifted by the host's skew, drift and
//! steps — kept outside the host so it survives a restart.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use wsim_proto::wallclock::WallSource;

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

/// `clock` as a component's wall-clock source, read at the current simulated time.
#[must_use]
pub fn source(clock: &Rc<WallClock>) -> WallSource {
    let clock = Rc::clone(clock);
    WallSource::provided(move || clock.at(crate::clock::event_time()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
