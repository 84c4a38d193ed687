//! Hash maps and sets for checker state that is only ever looked up, never iterated in an
//! order that could reach output: a hash table's iteration order is not part of any contract,
//! so the determinism rules (clippy.toml) ban `HashMap`/`HashSet` everywhere else. Whoever
//! iterates one of these must sort what it collects (as `delivery`'s report does).
//!
//! They hash with [`FastHasher`], fixed and cheap (the checkers look names up for every event;
//! SipHash, the default, was a visible share of a chat-heavy run).
#![allow(clippy::disallowed_types)]

use std::hash::{BuildHasherDefault, Hasher};

/// A map looked up by key (see the module documentation).
pub(crate) type LookupMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// A set asked for membership (see the module documentation).
pub(crate) type LookupSet<K> = std::collections::HashSet<K, BuildHasherDefault<FastHasher>>;

/// Multiply-and-rotate hashing of machine words (the scheme of rustc's own hasher): fixed,
/// so equal keys hash alike in every process, and a few instructions per word.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

const K: u64 = 0xf135_7aea_2e62_a9c5;

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = self.0.wrapping_add(word).wrapping_mul(K);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn equal_keys_hash_alike_and_near_keys_apart() {
        let build = BuildHasherDefault::<FastHasher>::default();
        assert_eq!(build.hash_one("u-17"), build.hash_one(String::from("u-17")));
        assert_ne!(build.hash_one("u-17"), build.hash_one("u-71"));
        assert_ne!(build.hash_one(("a", "bc")), build.hash_one(("ab", "c")));
        let mut set = LookupSet::default();
        for i in 0..10_000u32 {
            assert!(set.insert(format!("client-{i}")));
        }
        assert!(set.contains("client-9999") && !set.contains("client-10000"));
    }
}
