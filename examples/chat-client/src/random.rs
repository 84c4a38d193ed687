//! The client's randomness — its session key and its backoff jitter — from one seeded
//! splitmix64 stream, so a run is a function of its seed.

use std::time::Duration;

pub(crate) struct Random(u64);

impl Random {
    pub(crate) fn new(seed: u64) -> Self {
        Random(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A session key: 16 random bytes as hex.
    pub(crate) fn key(&mut self) -> String {
        format!("{:016x}{:016x}", self.next(), self.next())
    }

    /// A delay drawn evenly from `[0, ceiling]`, to the millisecond ("full jitter").
    pub(crate) fn up_to(&mut self, ceiling: Duration) -> Duration {
        let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(self.next() % ms.saturating_add(1))
    }
}
