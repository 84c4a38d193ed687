//! Link bookkeeping shared by checkers: which host each client runs on, whether it is
//! connected (and since when, from which attempt), and which faults are active.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::event::{ClientEvent, Event, EventKind, FaultDesc};

/// An active fault.
#[derive(Debug, Clone)]
pub struct ActiveFault {
    /// Scenario index.
    pub id: u32,
    /// What it is.
    pub desc: FaultDesc,
    /// When it started.
    pub start: Duration,
}

/// What checkers know about clients and faults at the current point of the stream.
#[derive(Debug, Default)]
pub struct Links {
    /// Client id → (host, connected).
    clients: BTreeMap<String, (String, bool)>,
    /// Faults that started and have not ended, by id.
    pub active: BTreeMap<u32, ActiveFault>,
    /// Client id → when it last connected and last disconnected.
    changes: BTreeMap<String, (Option<Duration>, Option<Duration>)>,
    /// Client id → when its latest attempt began, and when the attempt of its latest link did.
    attempts: BTreeMap<String, (Duration, Option<Duration>)>,
}

impl Links {
    /// Updates the bookkeeping with `event`.
    pub fn observe(&mut self, event: &Event) {
        match &event.kind {
            EventKind::Client {
                client,
                event: ClientEvent::Connecting { .. },
            } => {
                self.clients
                    .entry(client.clone())
                    .or_insert_with(|| (event.host.to_string(), false));
                self.attempts
                    .insert(client.clone(), (event.t, self.link_began(client)));
            }
            EventKind::Client {
                client,
                event: ClientEvent::Connected { .. },
            } => {
                self.clients
                    .insert(client.clone(), (event.host.to_string(), true));
                self.changes.entry(client.clone()).or_default().0 = Some(event.t);
                let attempt = self
                    .attempts
                    .entry(client.clone())
                    .or_insert((event.t, None));
                attempt.1 = Some(attempt.0);
            }
            EventKind::Client {
                client,
                event: ClientEvent::Disconnected { .. },
            } => {
                self.clients
                    .insert(client.clone(), (event.host.to_string(), false));
                self.changes.entry(client.clone()).or_default().1 = Some(event.t);
            }
            EventKind::FaultStart { id, fault } => {
                if let FaultDesc::Crash { host, .. } = fault {
                    // A crashed client host's clients are gone with it, whatever they last
                    // said: the software that restarts has no link yet.
                    for (client, (h, up)) in &mut self.clients {
                        if h == host && *up {
                            *up = false;
                            self.changes.entry(client.clone()).or_default().1 = Some(event.t);
                        }
                    }
                }
                self.active.insert(
                    *id,
                    ActiveFault {
                        id: *id,
                        desc: fault.clone(),
                        start: event.t,
                    },
                );
            }
            EventKind::FaultEnd { id, .. } => {
                self.active.remove(id);
            }
            _ => {}
        }
    }

    /// Every known client with its host and whether it is connected, in id order.
    pub fn clients(&self) -> impl Iterator<Item = (&str, &str, bool)> {
        self.clients
            .iter()
            .map(|(c, (h, up))| (c.as_str(), h.as_str(), *up))
    }

    /// Whether `client` is connected.
    #[must_use]
    pub fn is_connected(&self, client: &str) -> bool {
        self.clients.get(client).is_some_and(|(_, up)| *up)
    }

    /// When `client` last connected, if it has.
    #[must_use]
    pub fn last_connected(&self, client: &str) -> Option<Duration> {
        self.changes.get(client).and_then(|c| c.0)
    }

    /// When the attempt of `client`'s latest link began (its `connecting`), if it has
    /// connected: its handshake crossed the proxy and reached the server after that.
    #[must_use]
    pub fn link_began(&self, client: &str) -> Option<Duration> {
        self.attempts.get(client).and_then(|a| a.1)
    }

    /// When `client` last disconnected, if it has.
    #[must_use]
    pub fn last_disconnected(&self, client: &str) -> Option<Duration> {
        self.changes.get(client).and_then(|c| c.1)
    }

    /// The host of `client`, if it has been seen.
    #[must_use]
    pub fn host_of(&self, client: &str) -> Option<&str> {
        self.clients.get(client).map(|(h, _)| h.as_str())
    }
}
