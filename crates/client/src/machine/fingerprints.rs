//! The set of delivered-message fingerprints the inbox asks "seen before?" on every delivery:
//! an open-addressing table of the fingerprints themselves (already 64 bits of hash, used as
//! their own hash), probed linearly, with backward-shift deletion so no tombstone ever builds
//! up. A lookup or an insert usually touches one cache line (unless its probe run crosses
//! one), a removal one or two — a general hash set keeps control bytes and keys apart, two
//! lines each, and every client's set is far from the cache by the time its next delivery
//! comes. Membership only: the set is never iterated.
//! Its size is bounded by the inbox (`DELIVERED_MEMORY`); the table doubles while it is more
//! than half full and never holds more than twice that many slots.

/// Marks an empty slot; the fingerprint 0 is stored as 1 (one more fingerprint in 2^64 that
/// matches another, far below the collision chance of 64 bits already).
const EMPTY: u64 = 0;

/// Slots of a new set.
const FIRST_SLOTS: usize = 16;

/// Fingerprints of delivered messages, asked for membership only.
#[derive(Debug, Clone, Default)]
pub(crate) struct FingerprintSet {
    /// A power of two in length (or empty); `EMPTY` where nothing is stored.
    slots: Vec<u64>,
    len: usize,
}

fn key(fingerprint: u64) -> u64 {
    fingerprint.max(1)
}

impl FingerprintSet {
    /// How many fingerprints are stored.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// The slot `key` would start its probe at.
    fn home(&self, key: u64) -> usize {
        // Truncation intended: the low bits of a fingerprint are as random as the rest.
        (key as usize) & self.mask()
    }

    /// Whether `fingerprint` is stored.
    pub(crate) fn contains(&self, fingerprint: u64) -> bool {
        if self.slots.is_empty() {
            return false;
        }
        let key = key(fingerprint);
        let mut at = self.home(key);
        loop {
            match self.slots[at] {
                EMPTY => return false,
                k if k == key => return true,
                _ => at = (at + 1) & self.mask(),
            }
        }
    }

    /// Adds `fingerprint`; false if it was already there.
    pub(crate) fn insert(&mut self, fingerprint: u64) -> bool {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let key = key(fingerprint);
        let mut at = self.home(key);
        loop {
            match self.slots[at] {
                EMPTY => {
                    self.slots[at] = key;
                    self.len += 1;
                    return true;
                }
                k if k == key => return false,
                _ => at = (at + 1) & self.mask(),
            }
        }
    }

    /// Removes `fingerprint`; false if it was not there.
    pub(crate) fn remove(&mut self, fingerprint: u64) -> bool {
        if self.slots.is_empty() {
            return false;
        }
        let key = key(fingerprint);
        let mask = self.mask();
        let mut at = self.home(key);
        loop {
            match self.slots[at] {
                EMPTY => return false,
                k if k == key => break,
                _ => at = (at + 1) & mask,
            }
        }
        // Backward shift: move each later member of the run into the hole when the hole lies
        // between its home and its slot, so every member stays reachable from its home.
        let mut hole = at;
        let mut next = (hole + 1) & mask;
        while self.slots[next] != EMPTY {
            let home = self.home(self.slots[next]);
            let distance_to_next = next.wrapping_sub(home) & mask;
            let distance_to_hole = hole.wrapping_sub(home) & mask;
            if distance_to_hole < distance_to_next {
                self.slots[hole] = self.slots[next];
                hole = next;
            }
            next = (next + 1) & mask;
        }
        self.slots[hole] = EMPTY;
        self.len -= 1;
        true
    }

    /// Doubles the table (or makes the first one) and re-inserts every member.
    fn grow(&mut self) {
        let slots = (self.slots.len() * 2).max(FIRST_SLOTS);
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; slots]);
        self.len = 0;
        for key in old.into_iter().filter(|&k| k != EMPTY) {
            self.insert(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngCore, SeedableRng};
    use std::collections::{BTreeSet, VecDeque};

    #[test]
    fn behaves_as_a_set_through_inserts_and_evictions() {
        // A window of 300 over 20,000 random fingerprints (and a few colliding low bits and
        // zeros), checked against an ordered set after every step.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut set = FingerprintSet::default();
        let mut model = BTreeSet::new();
        let mut window = VecDeque::new();
        for i in 0..20_000u64 {
            let fp = match i % 7 {
                0 => (rng.next_u64() << 20) | 3, // shares its home with many others
                1 if i % 2 == 0 => window.front().copied().unwrap_or(0), // a repeat
                _ => rng.next_u64(),
            };
            assert_eq!(set.contains(fp), model.contains(&key(fp)));
            let new = set.insert(fp);
            assert_eq!(new, model.insert(key(fp)), "insert {fp:#x} at step {i}");
            if new {
                window.push_back(fp);
            }
            if window.len() > 300 {
                let old = window.pop_front().expect("non-empty");
                assert!(set.remove(old));
                assert!(model.remove(&key(old)));
            }
            assert_eq!(set.len(), model.len());
        }
        for fp in &window {
            assert!(
                set.contains(*fp) && !set.insert(*fp),
                "{fp:#x} is still remembered"
            );
        }
        assert!(!set.contains(12345));
        assert!(!set.remove(12345));
        // Bounded: at most twice the members, rounded to a power of two; a full memory of
        // 4,096 (evicting before it inserts) stays at 8,192 slots.
        assert!(set.slots.len() <= 1024, "{} slots", set.slots.len());
        let mut full = FingerprintSet::default();
        for fp in 1..=4096u64 {
            full.insert(fp.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        }
        assert_eq!(full.slots.len(), 8192);
    }

    #[test]
    fn zero_is_a_fingerprint_like_any_other() {
        let mut set = FingerprintSet::default();
        assert!(!set.remove(0));
        assert!(set.insert(0));
        assert!(!set.insert(0));
        assert!(set.remove(0));
        assert!(set.insert(0));
    }
}
