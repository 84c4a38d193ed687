//! Reconnect delays: exponential backoff with full jitter drawn from the seeded RNG.
//!
//! Attempt `n` (0 for the first retry after a failure) waits a delay drawn uniformly from
//! `[0, min(max, initial × factor^n)]` with full jitter, or exactly the ceiling without. The
//! first retry is jittered too, so a crowd dropped at the same instant does not come back at
//! the same instant.

use std::time::Duration;

use rand::Rng;

use crate::seed::SimRng;

/// How delays are randomised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Jitter {
    /// Uniform in `[0, ceiling]` (AWS "full jitter").
    Full,
    /// Exactly the ceiling: every client dropped together retries together.
    None,
}

/// Backoff settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffConfig {
    /// Ceiling of the first retry.
    pub initial: Duration,
    /// Largest ceiling.
    pub max: Duration,
    /// Growth of the ceiling per failed attempt.
    pub factor: f64,
    /// Randomisation of each delay.
    pub jitter: Jitter,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            factor: 2.0,
            jitter: Jitter::Full,
        }
    }
}

impl BackoffConfig {
    /// The largest delay retry number `n` (from 0) may wait.
    #[must_use]
    pub fn ceiling(&self, n: u32) -> Duration {
        let grown = self.initial.as_secs_f64() * self.factor.powi(n.min(1024) as i32);
        if !grown.is_finite() || grown >= self.max.as_secs_f64() {
            self.max
        } else {
            Duration::from_secs_f64(grown).min(self.max)
        }
    }

    /// Draws the delay of retry number `n` (from 0), in whole milliseconds.
    pub fn delay(&self, n: u32, rng: &mut SimRng) -> Duration {
        let ceiling = u64::try_from(self.ceiling(n).as_millis()).unwrap_or(u64::MAX);
        match self.jitter {
            Jitter::Full => Duration::from_millis(rng.random_range(0..=ceiling)),
            Jitter::None => Duration::from_millis(ceiling),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::derive_rng;

    #[test]
    fn ceiling_doubles_from_initial_and_caps_at_max() {
        let b = BackoffConfig::default();
        let secs: Vec<u64> = (0..9).map(|n| b.ceiling(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn full_jitter_stays_within_bounds_and_varies() {
        let b = BackoffConfig::default();
        let mut rng = derive_rng(1, "t");
        for n in 0..12 {
            let mut seen = std::collections::BTreeSet::new();
            for _ in 0..50 {
                let d = b.delay(n, &mut rng);
                assert!(d <= b.ceiling(n), "retry {n}: {d:?}");
                seen.insert(d);
            }
            assert!(seen.len() > 10, "retry {n} is not jittered: {seen:?}");
        }
    }

    #[test]
    fn no_jitter_is_exactly_the_ceiling() {
        let b = BackoffConfig {
            jitter: Jitter::None,
            ..BackoffConfig::default()
        };
        let mut rng = derive_rng(1, "t");
        assert_eq!(b.delay(0, &mut rng), Duration::from_secs(1));
        assert_eq!(b.delay(3, &mut rng), Duration::from_secs(8));
    }
}
