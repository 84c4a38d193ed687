//! What one run measured, read off its event stream in the same pass as its checkers:
//! detection times, grace outcomes, messages and idle kills — the figures a run report shows
//! and a sweep aggregates per scenario.

use std::time::Duration;

use crate::event::{ClientEvent, Event, EventKind, ProxyEvent, ServerEvent};

/// The figures of one run (or, added up, of many).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunStats {
    /// How long each broken link took to be detected, in milliseconds.
    pub detection_ms: Vec<u64>,
    /// Sessions that went away.
    pub away: usize,
    /// Away sessions whose client came back within the grace period.
    pub reconnected: usize,
    /// Away sessions that expired.
    pub left: usize,
    /// Messages the server accepted.
    pub accepted: usize,
    /// Messages clients received.
    pub delivered: usize,
    /// Retried messages the server recognised and dropped.
    pub duplicates: usize,
    /// Client disconnects of established links.
    pub disconnects: usize,
    /// Connections the proxy killed for being idle.
    pub idle_kills: usize,
    /// Events recorded in all.
    pub events: usize,
}

impl RunStats {
    /// Counts `event` (detection times come from the detection checker, which watches the
    /// same pass: see [`crate::judge`]).
    pub fn observe(&mut self, event: &Event) {
        self.events += 1;
        match &event.kind {
            EventKind::Server(ServerEvent::UserAway { .. }) => self.away += 1,
            EventKind::Server(ServerEvent::UserReconnected { .. }) => self.reconnected += 1,
            EventKind::Server(ServerEvent::UserLeft { .. }) => self.left += 1,
            EventKind::Server(ServerEvent::MessageAccepted { .. }) => self.accepted += 1,
            EventKind::Client {
                event: ClientEvent::Message { .. },
                ..
            } => self.delivered += 1,
            EventKind::Server(ServerEvent::DuplicateDropped { .. }) => self.duplicates += 1,
            EventKind::Client {
                event: ClientEvent::Disconnected { reason, .. },
                ..
            } if !reason.is_connect_failure() => {
                self.disconnects += 1;
            }
            EventKind::Proxy(ProxyEvent::IdleKill { .. }) => self.idle_kills += 1,
            _ => {}
        }
    }

    /// Records the detection times a detection checker measured.
    pub fn set_detection_times(&mut self, times: &[Duration]) {
        self.detection_ms = times.iter().map(|d| millis(*d)).collect();
    }
}

impl RunStats {
    /// Adds `other`'s figures to these (detection times appended, unsorted).
    pub fn add(&mut self, other: &RunStats) {
        self.detection_ms.extend_from_slice(&other.detection_ms);
        self.away += other.away;
        self.reconnected += other.reconnected;
        self.left += other.left;
        self.accepted += other.accepted;
        self.delivered += other.delivered;
        self.duplicates += other.duplicates;
        self.disconnects += other.disconnects;
        self.idle_kills += other.idle_kills;
        self.events += other.events;
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The `p`-th percentile (0–100, nearest rank) of sorted `values`.
#[must_use]
pub fn percentile(sorted: &[u64], p: u32) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (u64::from(p) * sorted.len() as u64).div_ceil(100).max(1);
    sorted.get(usize::try_from(rank - 1).ok()?).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), Some(50));
        assert_eq!(percentile(&v, 99), Some(99));
        assert_eq!(percentile(&v, 100), Some(100));
        assert_eq!(percentile(&[7], 99), Some(7));
        assert_eq!(percentile(&[1, 2], 50), Some(1));
        assert_eq!(percentile(&[], 50), None);
    }
}
