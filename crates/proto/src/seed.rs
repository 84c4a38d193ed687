//! Deterministic randomness: every random choice in a run flows from the scenario seed through
//! ChaCha streams named by purpose ("faults", "client/web-3", "host/server"...).
//!
//! Deriving a stream by name (instead of drawing seeds from a shared generator) keeps streams
//! independent: adding a client or a fault does not change what every other component draws.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The random generator used everywhere in wsim.
pub type SimRng = ChaCha8Rng;

/// The generator for `purpose` in the run with `seed`.
#[must_use]
pub fn derive_rng(seed: u64, purpose: &str) -> SimRng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(fnv1a64(purpose.as_bytes()));
    rng
}

/// A generator seeded by the operating system, for real-network runs only: session secrets
/// must be unguessable there, and nothing needs replaying.
#[must_use]
pub fn os_rng() -> SimRng {
    ChaCha8Rng::from_os_rng()
}

/// FNV-1a: a stable (cross-platform, cross-version) hash for naming streams.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn same_seed_and_purpose_give_the_same_stream() {
        let a: Vec<u32> = (0..4).map(|_| derive_rng(7, "x").random()).collect();
        let mut r = derive_rng(7, "x");
        let first: u32 = r.random();
        assert_eq!(a[0], first);
        let mut r1 = derive_rng(7, "x");
        let mut r2 = derive_rng(7, "x");
        assert_eq!(r1.random::<u64>(), r2.random::<u64>());
    }

    #[test]
    fn purposes_and_seeds_give_different_streams() {
        assert_ne!(
            derive_rng(7, "a").random::<u64>(),
            derive_rng(7, "b").random::<u64>()
        );
        assert_ne!(
            derive_rng(7, "a").random::<u64>(),
            derive_rng(8, "a").random::<u64>()
        );
    }
}
