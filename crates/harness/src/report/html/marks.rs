//! The message traffic a report draws as marks — per client and kind (sent, buffered,
//! acknowledged, received), how many, the first and last, and which stretches of the run had
//! any — collected as the run goes, so a report needs no message event kept
//! ([`crate::judge::Keep::Report`]).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::event::{ClientEvent, Event, EventKind, ServerEvent};

use super::style::MESSAGES;

/// Stretches the run is divided into: finer than the chart's 2 px cells.
const QUANTA: usize = 4096;

/// One kind of message event on one client's row.
#[derive(Debug, Clone, Default)]
pub(crate) struct Lane {
    /// How many.
    pub(crate) n: usize,
    /// When the first and the last happened.
    pub(crate) first: Duration,
    pub(crate) last: Duration,
    /// Which stretches had one (a bit per stretch; empty until the first).
    stretches: Vec<u64>,
}

/// The traffic of a run, as the report draws it (memory: a few hundred bytes per client and
/// kind, whatever the number of messages).
#[derive(Debug, Clone)]
pub struct TrafficMarks {
    /// The length of a stretch.
    quantum: Duration,
    lanes: BTreeMap<String, [Lane; 4]>,
    /// Messages the server said it accepted.
    accepted: usize,
}

impl TrafficMarks {
    /// Marks for a run expected to last `horizon` (later events go in its last stretch).
    pub(crate) fn new(horizon: Duration) -> Self {
        let quantum = (horizon / QUANTA as u32).max(Duration::from_millis(1));
        TrafficMarks {
            quantum,
            lanes: BTreeMap::new(),
            accepted: 0,
        }
    }

    /// The marks of every traffic event of `timeline`.
    pub(crate) fn of(timeline: &[Event], horizon: Duration) -> Self {
        let mut marks = TrafficMarks::new(horizon);
        for event in timeline {
            marks.mark(event);
        }
        marks
    }

    /// Marks `event` if it is traffic the report's sketch leaves out — a message sent,
    /// buffered, acknowledged or received (drawn), a presence frame told or a message
    /// accepted (counted) — and says whether it was.
    pub(crate) fn mark(&mut self, event: &Event) -> bool {
        match &event.kind {
            EventKind::Client { client, event: e } => {
                if matches!(e, ClientEvent::Presence { .. }) {
                    return true;
                }
                let name = event.kind.name();
                let Some(i) = MESSAGES.iter().position(|m| m.0 == name) else {
                    return false;
                };
                let lanes = match self.lanes.get_mut(client.as_str()) {
                    Some(lanes) => lanes,
                    None => self.lanes.entry(client.clone()).or_default(),
                };
                let lane = &mut lanes[i];
                if lane.n == 0 {
                    lane.first = event.t;
                    lane.stretches = vec![0; QUANTA / 64];
                }
                lane.n += 1;
                lane.last = event.t;
                let k = usize::try_from(event.t.as_nanos() / self.quantum.as_nanos().max(1))
                    .unwrap_or(usize::MAX)
                    .min(QUANTA - 1);
                lane.stretches[k / 64] |= 1 << (k % 64);
                true
            }
            EventKind::Server(ServerEvent::MessageAccepted { .. }) => {
                self.accepted += 1;
                true
            }
            _ => false,
        }
    }

    /// `client`'s lanes, in [`MESSAGES`] order.
    pub(crate) fn lanes(&self, client: &str) -> Option<&[Lane; 4]> {
        self.lanes.get(client)
    }

    /// Messages the server said it accepted.
    pub(crate) fn accepted(&self) -> usize {
        self.accepted
    }

    /// The middle of every stretch of `lane` that had an event.
    pub(crate) fn times<'a>(&'a self, lane: &'a Lane) -> impl Iterator<Item = Duration> + 'a {
        let q = self.quantum;
        lane.stretches
            .iter()
            .enumerate()
            .flat_map(move |(w, bits)| {
                (0..64u32)
                    .filter(move |b| bits & (1 << b) != 0)
                    .map(move |b| q * (w as u32 * 64 + b) + q / 2)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(client: &str, ms: u64) -> Event {
        Event {
            t: Duration::from_millis(ms),
            host: "h".into(),
            kind: EventKind::Client {
                client: client.into(),
                event: ClientEvent::Message {
                    msg_id: "m".into(),
                    seq: 1,
                    from: "b".into(),
                    username: "b".into(),
                    text: String::new(),
                },
            },
        }
    }

    /// A million receptions take one lane of fixed size; counts and times are exact, stretches
    /// hold where they happened, and an event past the horizon lands in the last stretch.
    #[test]
    fn marks_count_every_event_in_fixed_memory() {
        let mut marks = TrafficMarks::new(Duration::from_secs(4096));
        for i in 0..1_000_000u64 {
            assert!(marks.mark(&received("a", 1000 + i % 1000)));
        }
        assert!(marks.mark(&received("a", 10_000_000)));
        let lane = &marks.lanes("a").expect("a's lanes")[3];
        assert_eq!(lane.n, 1_000_001);
        assert_eq!(lane.first, Duration::from_millis(1000));
        assert_eq!(lane.last, Duration::from_secs(10_000));
        assert_eq!(lane.stretches.len(), QUANTA / 64);
        let times: Vec<Duration> = marks.times(lane).collect();
        assert_eq!(
            times,
            [
                Duration::from_millis(1500),
                Duration::from_millis(4_095_500)
            ]
        );
        assert!(marks.lanes("b").is_none());
    }
}
