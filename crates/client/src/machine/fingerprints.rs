//! The set of delivered-message fingerprints the inbox asks "seen before?". Fingerprints are
//! already 64 bits of hash, so the table uses them directly instead of hashing them again. Membership only: the set is never iterated (the determinism rules in clippy.toml
//! ban hash tables wherever their order could reach output), and its size is bounded by the
//! inbox (`DELIVERED_MEMORY`).
#![allow(clippy::disallowed_types)]

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// Fingerprints of delivered messages, asked for membership only.
pub(crate) type FingerprintSet = HashSet<u64, BuildHasherDefault<LowBits>>;

/// A hasher for values that are already uniformly random: keeps them as they are.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LowBits(u64);

impl Hasher for LowBits {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes.iter().take(8) {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
