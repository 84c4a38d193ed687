//! When each client could talk to the server: connected, with no fault on its path active.
//! Checkers judge what a client was owed (its messages accepted, others' messages delivered)
//! only once it had such a window long enough to settle them — a message stuck behind a
//! partition that heals as the run ends is not lost, just late. A link that a stream-killing
//! fault crossed while the client was on it (a one-way loss, a state loss, a silent crash, a
//! blackhole) is dead until the client connects again, even after the fault has ended.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::event::{ClientEvent, Event, EventKind, FaultDesc, ProxyEvent};
use crate::fault_model::FaultModel;
use crate::proxy::IdleMode;

/// Per-client windows of reachability, built from the event stream.
#[derive(Debug, Default)]
pub struct Reachability {
    /// client → its host.
    hosts: BTreeMap<String, String>,
    /// Clients whose link is up.
    connected: BTreeMap<String, bool>,
    /// Active faults by id.
    active: BTreeMap<u32, FaultDesc>,
    /// Clients still on a link a stream-killing fault crossed.
    dead: BTreeSet<String>,
    /// client → start of its open window.
    open: BTreeMap<String, Duration>,
    /// client → closed windows (start, end).
    closed: BTreeMap<String, Vec<(Duration, Duration)>>,
}

impl Reachability {
    /// Sees the next event.
    pub fn observe(&mut self, ctx: &FaultModel, event: &Event) {
        match &event.kind {
            EventKind::Client {
                client,
                event: ClientEvent::Connected { .. },
            } => {
                self.hosts.insert(client.clone(), event.host.to_string());
                self.connected.insert(client.clone(), true);
                self.dead.remove(client);
                self.update(ctx, client, event.t);
            }
            EventKind::Proxy(ProxyEvent::IdleKill {
                client: Some(client),
                mode: IdleMode::Blackhole,
                ..
            }) if self.connected.get(client).copied().unwrap_or(false) => {
                // Perhaps a connection the client already left: counted dead all the same
                // (a window missed is a check not made, never a false alarm).
                self.dead.insert(client.clone());
                self.update(ctx, client, event.t);
            }
            EventKind::Client {
                client,
                event: ClientEvent::Disconnected { .. },
            } => {
                self.connected.insert(client.clone(), false);
                self.update(ctx, client, event.t);
            }
            EventKind::FaultStart { id, fault } => {
                if ctx.leaves_links_dead(fault) {
                    for (client, up) in &self.connected {
                        let host = self.hosts.get(client).map_or("", String::as_str);
                        if *up && ctx.affects(fault, host, client) {
                            self.dead.insert(client.clone());
                        }
                    }
                }
                self.active.insert(*id, fault.clone());
                self.update_all(ctx, event.t);
            }
            EventKind::FaultEnd { id, .. } => {
                self.active.remove(id);
                self.update_all(ctx, event.t);
            }
            _ => {}
        }
    }

    fn update_all(&mut self, ctx: &FaultModel, t: Duration) {
        let clients: Vec<String> = self.connected.keys().cloned().collect();
        for c in clients {
            self.update(ctx, &c, t);
        }
    }

    fn update(&mut self, ctx: &FaultModel, client: &str, t: Duration) {
        let host = self.hosts.get(client).map_or("", String::as_str);
        let up = self.connected.get(client).copied().unwrap_or(false)
            && !self.dead.contains(client)
            && !self.active.values().any(|f| ctx.affects(f, host, client));
        match (up, self.open.contains_key(client)) {
            (true, false) => {
                self.open.insert(client.to_string(), t);
            }
            (false, true) => {
                if let Some(start) = self.open.remove(client) {
                    self.closed
                        .entry(client.to_string())
                        .or_default()
                        .push((start, t));
                }
            }
            _ => {}
        }
    }

    /// Whether `client` was reachable for at least `length` in one stretch after `after`
    /// (open windows end at `end`).
    #[must_use]
    pub fn had_window(
        &self,
        client: &str,
        after: Duration,
        length: Duration,
        end: Duration,
    ) -> bool {
        let open = self.open.get(client).map(|s| (*s, end));
        self.closed
            .get(client)
            .into_iter()
            .flatten()
            .copied()
            .chain(open)
            .any(|(s, e)| e.saturating_sub(s.max(after)) >= length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests::{ctx, ev};

    #[test]
    fn a_partition_on_the_path_closes_the_window() {
        let ctx = ctx();
        let mut r = Reachability::default();
        let partition = FaultDesc::Partition {
            a: "clients".into(),
            b: "proxy".into(),
            duration_ms: 50_000,
        };
        for e in [
            ev(
                1_000,
                "clients",
                EventKind::Client {
                    client: "a".into(),
                    event: ClientEvent::Connected { attempt: 1 },
                },
            ),
            ev(
                10_000,
                "sim",
                EventKind::FaultStart {
                    id: 0,
                    fault: partition,
                },
            ),
            ev(
                60_000,
                "sim",
                EventKind::FaultEnd {
                    id: 0,
                    fault: "partition",
                },
            ),
        ] {
            r.observe(&ctx, &e);
        }
        let s = Duration::from_secs;
        assert!(r.had_window("a", s(2), s(5), s(100)));
        assert!(
            !r.had_window("a", s(8), s(5), s(60)),
            "2 s before the partition"
        );
        assert!(
            !r.had_window("a", s(20), s(5), s(64)),
            "healed 4 s before the end"
        );
        assert!(r.had_window("a", s(20), s(5), s(65)));
        assert!(!r.had_window("b", s(0), s(1), s(100)), "never connected");
    }
}
