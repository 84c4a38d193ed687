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
