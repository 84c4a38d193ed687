//! wsim patch: a fast, fixed hasher for turmoil's internal maps (keyed by addresses, socket
//! pairs, ports and sequence numbers, looked up for every segment). SipHash, the default, was
//! ~15 % of a chat-heavy simulation. The maps are `IndexMap`s, iterated in insertion order
//! whatever the hasher, so nothing observable changes.

use std::hash::{BuildHasherDefault, Hasher};

/// Multiply-and-rotate hashing of machine words (the scheme rustc's own hasher uses).
#[derive(Debug, Default, Clone, Copy)]
pub struct FastHasher(u64);

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
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
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

/// An `IndexMap` with [`FastHasher`].
pub(crate) type FastIndexMap<K, V> = indexmap::IndexMap<K, V, BuildHasherDefault<FastHasher>>;
