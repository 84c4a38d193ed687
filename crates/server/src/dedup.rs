//! Per-session message de-duplication: ids remembered for a TTL, with bounded memory.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crate::clock::MonoTime;

/// The message ids one session sent recently, with the sequence number each got.
#[derive(Debug, Default)]
pub struct Dedup {
    seqs: BTreeMap<String, u64>,
    /// Ids in acceptance order, with their acceptance time, for expiry.
    order: VecDeque<(MonoTime, String)>,
}

impl Dedup {
    /// The sequence number `id` got, if it was accepted within the TTL.
    #[must_use]
    pub fn seen(&self, id: &str) -> Option<u64> {
        self.seqs.get(id).copied()
    }

    /// Remembers `id` (accepted at `now` as `seq`), forgetting ids older than `ttl` and the
    /// oldest beyond `limit`.
    pub fn remember(&mut self, now: MonoTime, id: String, seq: u64, ttl: Duration, limit: usize) {
        self.expire(now, ttl);
        while self.order.len() >= limit.max(1) {
            if let Some((_, old)) = self.order.pop_front() {
                self.seqs.remove(&old);
            }
        }
        self.seqs.insert(id.clone(), seq);
        self.order.push_back((now, id));
    }

    /// Forgets ids accepted `ttl` or longer before `now`.
    pub fn expire(&mut self, now: MonoTime, ttl: Duration) {
        while let Some((at, _)) = self.order.front() {
            if now.saturating_since(*at) < ttl {
                break;
            }
            if let Some((_, old)) = self.order.pop_front() {
                self.seqs.remove(&old);
            }
        }
    }

    /// How many ids are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether no id is remembered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(300);

    #[test]
    fn ids_are_remembered_for_the_ttl_only() {
        let mut d = Dedup::default();
        d.remember(MonoTime::from_millis(0), "a".into(), 1, TTL, 10);
        assert_eq!(d.seen("a"), Some(1));
        d.expire(MonoTime::from_millis(299_999), TTL);
        assert_eq!(d.seen("a"), Some(1));
        d.expire(MonoTime::from_millis(300_000), TTL);
        assert_eq!(d.seen("a"), None);
    }

    #[test]
    fn memory_is_bounded() {
        let mut d = Dedup::default();
        for i in 0..5u64 {
            d.remember(MonoTime::from_millis(i), format!("m{i}"), i, TTL, 3);
        }
        assert_eq!(d.len(), 3);
        assert_eq!(d.seen("m1"), None);
        assert_eq!(d.seen("m4"), Some(4));
    }
}
