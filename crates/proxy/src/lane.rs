//! One direction of an impaired connection, as data: the bytes the proxy has read but not
//! yet written, crossing two links in turn (the client's link, then the upstream one, going
//! up; the other way round going down). Each leg keeps its chunks in order with the time
//! they may move on; a held leg moves nothing, a leg that lost a chunk loses everything after
//! it (the stream cannot be delivered past a hole). The relay does the I/O; this decides.

use std::collections::VecDeque;
use std::time::Duration;

use crate::clock::MonoTime;

/// Most bytes one direction holds before the proxy stops reading from its source (the
/// sender then waits, as TCP flow control makes it).
pub const LANE_LIMIT: usize = 256 * 1024;

/// A chunk of bytes in flight; `None` is the end of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// When it may leave its leg.
    pub ready: MonoTime,
    /// The bytes, or `None` for end of stream.
    pub data: Option<Vec<u8>>,
}

/// One link's share of a direction.
#[derive(Debug, Default)]
struct Leg {
    queue: VecDeque<Chunk>,
    last_ready: Option<MonoTime>,
    dead: bool,
}

impl Leg {
    /// Takes `data` onto the leg, to leave `delay` after `now` and never before what went
    /// before it; a lost chunk kills the leg.
    fn push(&mut self, now: MonoTime, data: Option<Vec<u8>>, delay: Duration, lost: bool) {
        if lost {
            self.dead = true;
        }
        if self.dead {
            return;
        }
        let ready = self
            .last_ready
            .map_or(now + delay, |last| last.max(now + delay));
        self.last_ready = Some(ready);
        self.queue.push_back(Chunk { ready, data });
    }

    fn pop_ready(&mut self, now: MonoTime, held: bool) -> Option<Chunk> {
        if held || self.queue.front().is_none_or(|c| c.ready > now) {
            return None;
        }
        self.queue.pop_front()
    }

    fn next_ready(&self, held: bool) -> Option<MonoTime> {
        if held {
            return None;
        }
        self.queue.front().map(|c| c.ready)
    }

    fn bytes(&self) -> usize {
        self.queue
            .iter()
            .map(|c| c.data.as_ref().map_or(0, Vec::len))
            .sum()
    }
}

/// A direction's two legs.
#[derive(Debug, Default)]
pub struct Lane {
    first: Leg,
    second: Leg,
}

/// What crossing one leg does to the chunk entering it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Entry {
    /// Added delay.
    pub delay: Duration,
    /// The chunk is lost.
    pub lost: bool,
}

impl Lane {
    /// Whether nothing is in flight and no leg is dead: the relay may copy directly again.
    #[must_use]
    pub fn is_clear(&self) -> bool {
        self.first.queue.is_empty()
            && self.second.queue.is_empty()
            && !self.first.dead
            && !self.second.dead
    }

    /// Whether nothing is in flight (a leg may be dead).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.first.queue.is_empty() && self.second.queue.is_empty()
    }

    /// Bytes in flight.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.first.bytes() + self.second.bytes()
    }

    /// Whether the proxy may read more from the source.
    #[must_use]
    pub fn has_room(&self) -> bool {
        self.bytes() < LANE_LIMIT
    }

    /// A chunk read from the source at `now` enters the first leg.
    pub fn read(&mut self, now: MonoTime, data: Option<Vec<u8>>, entry: Entry) {
        self.first.push(now, data, entry.delay, entry.lost);
    }

    /// The next chunk to leave the first leg at `now` (reaching the proxy), unless held.
    pub fn arrive(&mut self, now: MonoTime, held: bool) -> Option<Chunk> {
        self.first.pop_ready(now, held)
    }

    /// A chunk that reached the proxy at `now` enters the second leg.
    pub fn forward(&mut self, now: MonoTime, chunk: Chunk, entry: Entry) {
        self.second.push(now, chunk.data, entry.delay, entry.lost);
    }

    /// The next chunk to leave the second leg at `now` (to be written), unless held.
    pub fn deliver(&mut self, now: MonoTime, held: bool) -> Option<Chunk> {
        self.second.pop_ready(now, held)
    }

    /// When the next chunk may move, given which legs are held.
    #[must_use]
    pub fn next_ready(&self, first_held: bool, second_held: bool) -> Option<MonoTime> {
        [
            self.first.next_ready(first_held),
            self.second.next_ready(second_held),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Drops everything in flight (the connection was blackholed).
    pub fn discard(&mut self) {
        self.first.queue.clear();
        self.second.queue.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> MonoTime {
        MonoTime::ZERO + Duration::from_millis(ms)
    }

    fn delay(ms: u64) -> Entry {
        Entry {
            delay: Duration::from_millis(ms),
            lost: false,
        }
    }

    #[test]
    fn delays_keep_order_and_do_not_pile_up() {
        let mut lane = Lane::default();
        // Three chunks 100 ms apart, each delayed 3 s: they leave 100 ms apart, 3 s late —
        // not 3 s after one another.
        for (i, t) in [0, 100, 200].into_iter().enumerate() {
            lane.read(at(t), Some(vec![i as u8]), delay(3000));
        }
        assert_eq!(lane.next_ready(false, false), Some(at(3000)));
        assert!(lane.arrive(at(2999), false).is_none());
        let c = lane.arrive(at(3000), false).unwrap();
        assert_eq!(c.data, Some(vec![0]));
        // A shorter delay behind a longer one waits for it (order is kept).
        lane.read(at(250), Some(vec![9]), delay(0));
        let ready: Vec<MonoTime> = std::iter::from_fn(|| lane.arrive(at(10_000), false))
            .map(|c| c.ready)
            .collect();
        assert_eq!(ready, [at(3100), at(3200), at(3200)]);
    }

    #[test]
    fn held_legs_release_in_order_and_lost_bytes_kill_the_leg() {
        let mut lane = Lane::default();
        lane.read(at(0), Some(vec![1]), delay(0));
        lane.read(at(1), Some(vec![2]), delay(0));
        assert!(lane.arrive(at(50), true).is_none());
        assert_eq!(lane.next_ready(true, false), None);
        let first = lane.arrive(at(60), false).unwrap();
        lane.forward(at(60), first, delay(0));
        assert_eq!(lane.deliver(at(60), false).unwrap().data, Some(vec![1]));
        // The second chunk is lost crossing the second leg: so is everything after it.
        let second = lane.arrive(at(60), false).unwrap();
        lane.forward(
            at(60),
            second,
            Entry {
                delay: Duration::ZERO,
                lost: true,
            },
        );
        lane.read(at(70), None, delay(0));
        let eof = lane.arrive(at(70), false).unwrap();
        lane.forward(at(70), eof, delay(0));
        assert!(lane.deliver(at(70), false).is_none());
        assert!(!lane.is_clear());
    }

    #[test]
    fn room_is_bounded() {
        let mut lane = Lane::default();
        while lane.has_room() {
            lane.read(at(0), Some(vec![0; 16 * 1024]), delay(0));
        }
        assert_eq!(lane.bytes(), LANE_LIMIT);
    }
}
