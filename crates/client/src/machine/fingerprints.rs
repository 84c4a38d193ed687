//! The set of delivered-message fingerprints the inbox asks "seen before?". Fingerprints are
//! already 128 bits of hash, so the table uses their low bits directly instead of hashing
//! them again. Membership only: the set is never iterated (the determinism rules in clippy.toml
//! ban hash tables wherever their order could reach output), and its size is bounded by the
//! inbox (`DELIVERED_MEMORY`).
#![allow(clippy::disallowed_types)]

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// Fingerprints of delivered messages, asked for membership only.
pub(crate) type FingerprintSet = HashSet<u128, BuildHasherDefault<LowBits>>;

/// A hasher for values that are already uniformly random: keeps their low 64 bits.
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

    fn write_u128(&mut self, n: u128) {
        // Truncation intended: the low half of a fingerprint is as random as the whole.
        self.0 = n as u64;
    }
}
