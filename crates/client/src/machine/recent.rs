//! The client's memory of recently delivered messages: the fingerprints of the last `limit`
//! deliveries, asked on every delivery "is this one of them?".
//!
//! The answer is decided by the fingerprints themselves, kept in delivery order (a ring, the
//! oldest forgotten first). Scanning them is needed only when a small filter says the
//! fingerprint may be there: a blocked Bloom filter of 16 bits per remembered message in each
//! of two generations — the current one (every fingerprint remembered since the generations
//! last turned, at most `limit`) and the one before — so that together they hold every
//! fingerprint in the ring (a generation never forgets one, the two never miss one) and a
//! "no" is certain. Both generations share each 512-bit block, 256 bits each, and a
//! fingerprint sets and tests 6 bits of each half of one block: a delivery touches one cache
//! line of the filter and the ring's end. A fresh delivery is scanned for about 2 times in
//! 1,000. A table of the fingerprints themselves (twice the members, a random line of it per
//! delivery) missed the cache on nearly every delivery once a few hundred clients shared a
//! simulation: the largest single cost of a chat-heavy run.
//!
//! Memory: `limit` fingerprints of 8 bytes and a filter of `limit` × 32 bits (`limit` × 12
//! bytes in all), the filter allocated at the first delivery.

use std::collections::VecDeque;

/// Bits a fingerprint sets in its half of a block.
const HASHES: usize = 6;

/// A generation's bits per remembered message.
const BITS_PER_MESSAGE: usize = 16;

/// 512 bits, one cache line: words 0–3 are generation 0's half, 4–7 generation 1's.
#[derive(Debug, Clone, Copy, Default)]
#[repr(align(64))]
struct Block([u64; 8]);

/// The bits a fingerprint sets in a 256-bit half.
type Mask = [u64; 4];

impl Block {
    fn half(&self, generation: usize) -> &[u64] {
        &self.0[generation * 4..generation * 4 + 4]
    }

    fn holds(&self, generation: usize, mask: &Mask) -> bool {
        self.half(generation)
            .iter()
            .zip(mask)
            .all(|(b, m)| b & m == *m)
    }

    fn add(&mut self, generation: usize, mask: &Mask) {
        for (b, m) in self.0[generation * 4..generation * 4 + 4]
            .iter_mut()
            .zip(mask)
        {
            *b |= m;
        }
    }

    fn clear(&mut self, generation: usize) {
        self.0[generation * 4..generation * 4 + 4].fill(0);
    }
}

/// The fingerprints of the last `limit` deliveries (see the module documentation).
#[derive(Debug, Clone)]
pub(crate) struct RecentFingerprints {
    limit: usize,
    /// Oldest first; at most `limit`.
    ring: VecDeque<u64>,
    /// Both generations' filters, block by block; empty until the first delivery.
    filter: Vec<Block>,
    /// The generation fingerprints are added to (the other is the one before).
    current: usize,
    /// Fingerprints added to the current generation; at `limit` the generations turn.
    in_current: usize,
}

impl RecentFingerprints {
    /// An empty memory of the last `limit` deliveries (at least one).
    pub(crate) fn new(limit: usize) -> Self {
        RecentFingerprints {
            limit: limit.max(1),
            ring: VecDeque::new(),
            filter: Vec::new(),
            current: 0,
            in_current: 0,
        }
    }

    /// Blocks of the filter: a power of two, 16 bits per remembered message and generation.
    fn blocks(&self) -> usize {
        (self.limit * BITS_PER_MESSAGE)
            .div_ceil(256)
            .next_power_of_two()
    }

    /// The block of `fingerprint` and the bits it sets in each half of it.
    fn place(fingerprint: u64, blocks: usize) -> (usize, Mask) {
        // Truncation intended: the low bits of a fingerprint are as random as the rest.
        let index = (fingerprint as usize) & (blocks - 1);
        // The bit positions come from a bijective mix of the whole fingerprint, so they do
        // not repeat the bits that chose the block.
        let mut h = fingerprint.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h ^= h >> 29;
        let mut mask = [0u64; 4];
        for _ in 0..HASHES {
            let bit = (h & 255) as usize;
            mask[bit >> 6] |= 1 << (bit & 63);
            h >>= 8;
        }
        (index, mask)
    }

    /// Remembers `fingerprint` as the latest delivery, forgetting the oldest beyond `limit`;
    /// false (and nothing changes) if it is already among the remembered.
    pub(crate) fn remember(&mut self, fingerprint: u64) -> bool {
        if self.filter.is_empty() {
            self.filter = vec![Block::default(); self.blocks()];
        }
        let (index, mask) = Self::place(fingerprint, self.filter.len());
        let block = &self.filter[index];
        if (block.holds(0, &mask) || block.holds(1, &mask)) && self.contains(fingerprint) {
            return false;
        }
        if self.ring.len() == self.limit {
            self.ring.pop_front();
        }
        self.ring.push_back(fingerprint);
        if self.in_current == self.limit {
            // The generation before is all older than the last `limit`: it goes.
            self.current ^= 1;
            for block in &mut self.filter {
                block.clear(self.current);
            }
            self.in_current = 0;
        }
        self.filter[index].add(self.current, &mask);
        self.in_current += 1;
        true
    }

    /// Whether `fingerprint` is among the remembered (the exact answer: a scan).
    fn contains(&self, fingerprint: u64) -> bool {
        let (a, b) = self.ring.as_slices();
        a.contains(&fingerprint) || b.contains(&fingerprint)
    }

    /// How many deliveries are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.ring.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngCore, SeedableRng};
    use std::collections::BTreeSet;

    /// When the generations turn, the older one's bits are all cleared: it then holds only
    /// what is added to it (a filter that kept stale bits would send ever more deliveries to
    /// the scan).
    #[test]
    fn a_turning_generation_is_emptied() {
        let mut recent = RecentFingerprints::new(4);
        for fp in 1..=8u64 {
            assert!(recent.remember(fp * 0x1234_5678_9abc));
        }
        // The ninth turns the generations: generation 0 (1..=4) is cleared and gets the ninth.
        let ninth = 9 * 0x1234_5678_9abc_u64;
        assert!(recent.remember(ninth));
        assert_eq!(recent.current, 0);
        let (index, mask) = RecentFingerprints::place(ninth, recent.filter.len());
        for (i, block) in recent.filter.iter().enumerate() {
            let expected: &[u64] = if i == index { &mask } else { &[0; 4] };
            assert_eq!(block.half(0), expected, "block {i}");
        }
        // Three more, then the thirteenth turns them again: generation 1 (5..=8) is cleared.
        for fp in 10..=13u64 {
            assert!(recent.remember(fp * 0x1234_5678_9abc));
        }
        assert_eq!(recent.current, 1);
        let thirteenth = 13 * 0x1234_5678_9abc_u64;
        let (index, mask) = RecentFingerprints::place(thirteenth, recent.filter.len());
        for (i, block) in recent.filter.iter().enumerate() {
            let expected: &[u64] = if i == index { &mask } else { &[0; 4] };
            assert_eq!(block.half(1), expected, "block {i}");
        }
    }

    /// Against an exact model (the last `limit` fingerprints, in order) through 60,000
    /// deliveries: fresh ones, repeats of recent ones, of ones just forgotten, of ones long
    /// gone, fingerprints sharing their block, and zero.
    #[test]
    fn remembers_exactly_the_last_limit_deliveries() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let limit = 300;
        let mut recent = RecentFingerprints::new(limit);
        let mut model: VecDeque<u64> = VecDeque::new();
        let mut ever: Vec<u64> = Vec::new();
        let (mut dropped, mut forgotten_again) = (0, 0);
        for i in 0..60_000u64 {
            let fp = match i % 11 {
                0 if !model.is_empty() => model[(rng.next_u64() as usize) % model.len()],
                1 if !ever.is_empty() => ever[(rng.next_u64() as usize) % ever.len()],
                2 if model.len() == limit => *model.front().expect("full"),
                3 => (rng.next_u64() << 7) | 5, // the same block as many others
                4 => i % 3,                     // small numbers and zero, repeatedly
                _ => rng.next_u64(),
            };
            let expected = !model.contains(&fp);
            assert_eq!(recent.remember(fp), expected, "delivery {i}: {fp:#x}");
            if expected {
                if ever.contains(&fp) {
                    forgotten_again += 1;
                }
                model.push_back(fp);
                if model.len() > limit {
                    model.pop_front();
                }
                if ever.len() < 5_000 {
                    ever.push(fp);
                }
            } else {
                dropped += 1;
            }
            assert_eq!(recent.len(), model.len());
        }
        assert!(dropped > 5_000, "repeats were dropped: {dropped}");
        assert!(
            forgotten_again > 1_000,
            "forgotten ones came back: {forgotten_again}"
        );
    }

    /// The filter says "no" for nearly every fresh fingerprint in a full memory (the scan is
    /// the exception), and its size follows the limit.
    #[test]
    fn a_fresh_delivery_is_rarely_scanned_for() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let limit = 4096;
        let mut recent = RecentFingerprints::new(limit);
        for _ in 0..limit * 3 / 2 {
            assert!(recent.remember(rng.next_u64()));
        }
        assert_eq!(
            recent.filter.len(),
            256,
            "16 bits per message and generation"
        );
        let trials = 100_000;
        let blocks = recent.filter.len();
        let scanned = (0..trials)
            .filter(|_| {
                let (index, mask) = RecentFingerprints::place(rng.next_u64(), blocks);
                let block = &recent.filter[index];
                block.holds(0, &mask) || block.holds(1, &mask)
            })
            .count();
        assert!(
            scanned * 200 < trials,
            "{scanned} of {trials} fresh ones scanned for"
        );
        let distinct: BTreeSet<usize> = (0..1000)
            .map(|_| RecentFingerprints::place(rng.next_u64(), blocks).0)
            .collect();
        assert!(
            distinct.len() > 240,
            "blocks are spread: {}",
            distinct.len()
        );
    }
}
