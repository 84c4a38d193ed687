//! Checker `delivery`: every message a client sent is accepted by the server, none is accepted
//! twice, and no client receives the same message twice. Messages sent within the settling
//! time before the end of the run (5 s, or 4 × max latency if longer) are not judged lost.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::check::{CheckContext, Checker, Violation};
use crate::event::{Event, EventKind};

/// See the module documentation.
#[derive(Debug)]
pub struct Delivery {
    ctx: CheckContext,
    /// msg id → (sender, first sent at).
    sent: BTreeMap<String, (String, Duration)>,
    /// msg id → times accepted.
    accepted: BTreeMap<String, u32>,
    received: BTreeSet<(String, String)>,
    deliveries: usize,
    violations: Vec<Violation>,
}

impl Delivery {
    /// A delivery checker for a run with `ctx`.
    #[must_use]
    pub fn new(ctx: CheckContext) -> Self {
        Delivery {
            ctx,
            sent: BTreeMap::new(),
            accepted: BTreeMap::new(),
            received: BTreeSet::new(),
            deliveries: 0,
            violations: Vec::new(),
        }
    }

    fn settle(&self) -> Duration {
        Duration::from_secs(5).max(4 * self.ctx.latency.max)
    }
}

impl Checker for Delivery {
    fn name(&self) -> &'static str {
        "delivery"
    }

    fn observe(&mut self, event: &Event) {
        match &event.kind {
            EventKind::MessageSent { client, msg_id } => {
                self.sent
                    .entry(msg_id.clone())
                    .or_insert_with(|| (client.clone(), event.t));
            }
            EventKind::MessageAccepted { msg_id, .. } if !msg_id.is_empty() => {
                let n = self.accepted.entry(msg_id.clone()).or_default();
                *n += 1;
                if *n == 2 {
                    self.violations.push(Violation {
                        t: event.t,
                        detail: format!("message {msg_id} accepted twice"),
                    });
                }
            }
            EventKind::MessageReceived { client, msg_id, .. } if !msg_id.is_empty() => {
                self.deliveries += 1;
                if !self.received.insert((client.clone(), msg_id.clone())) {
                    self.violations.push(Violation {
                        t: event.t,
                        detail: format!("{client} received message {msg_id} twice"),
                    });
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self) -> Vec<Violation> {
        let cutoff = self.ctx.end.saturating_sub(self.settle());
        for (msg_id, (client, t)) in &self.sent {
            if *t <= cutoff && !self.accepted.contains_key(msg_id) {
                self.violations.push(Violation {
                    t: self.ctx.end,
                    detail: format!("message {msg_id} from {client} was never accepted (lost)"),
                });
            }
        }
        self.violations.sort_by_key(|v| v.t);
        self.violations.clone()
    }

    fn summary(&self) -> String {
        format!(
            "{} messages sent, {} accepted, {} deliveries, none twice",
            self.sent.len(),
            self.accepted.len(),
            self.deliveries
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests::{ctx, ev};

    fn run(events: &[Event]) -> Vec<String> {
        let mut c = Delivery::new(ctx());
        for e in events {
            c.observe(e);
        }
        c.finish().into_iter().map(|v| v.detail).collect()
    }

    fn sent(t: u64, id: &str) -> Event {
        ev(
            t,
            "h",
            EventKind::MessageSent {
                client: "a".into(),
                msg_id: id.into(),
            },
        )
    }

    fn accepted(t: u64, id: &str) -> Event {
        ev(
            t,
            "server",
            EventKind::MessageAccepted {
                client: "a".into(),
                msg_id: id.into(),
                seq: 1,
            },
        )
    }

    fn received(t: u64, id: &str) -> Event {
        ev(
            t,
            "h",
            EventKind::MessageReceived {
                client: "b".into(),
                msg_id: id.into(),
                seq: 1,
                from: "a".into(),
            },
        )
    }

    #[test]
    fn clean_delivery_passes() {
        assert!(run(&[sent(1, "a:1"), accepted(2, "a:1"), received(3, "a:1")]).is_empty());
    }

    #[test]
    fn catches_loss_duplicate_acceptance_and_double_receipt() {
        assert_eq!(
            run(&[sent(1, "a:1")]),
            ["message a:1 from a was never accepted (lost)"]
        );
        assert_eq!(
            run(&[sent(1, "a:1"), accepted(2, "a:1"), accepted(3, "a:1")]),
            ["message a:1 accepted twice"]
        );
        assert_eq!(
            run(&[
                sent(1, "a:1"),
                accepted(2, "a:1"),
                received(3, "a:1"),
                received(4, "a:1")
            ]),
            ["b received message a:1 twice"]
        );
    }

    #[test]
    fn messages_in_flight_at_the_end_are_not_judged() {
        // ctx() ends at 100 s; the settling time is 5 s.
        assert!(run(&[sent(96_000, "a:9")]).is_empty());
        assert_eq!(run(&[sent(94_000, "a:9")]).len(), 1);
    }
}
