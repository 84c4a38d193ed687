//! The one event type: everything that happens in a run — client, server, proxy, fault
//! executor, checkers — is an [`Event`], recorded in order into one timeline. The product's
//! components emit their own event values ([`ClientEvent`], [`ServerEvent`], [`ProxyEvent`]),
//! which the timeline carries as they are; the harness adds its own (faults, violations).
//!
//! Checkers, snapshots, the text timeline and the JSON Lines output all read this one stream.
//! The JSON Lines form is a stable contract: `t_ms`, `host`, `event` (snake_case name), then the
//! event's fields in declaration order (a client event: `client` first).

use std::time::Duration;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

pub use crate::fault::{ConnAction, FaultDesc};
pub use wsim_client::{ClientEvent, DisconnectReason, PresenceKind};
pub use wsim_proxy::{IdleMode, ProxyCloseReason, ProxyEvent};
pub use wsim_server::ServerEvent;

/// A host name in events: shared, not copied per event.
pub type Host = std::sync::Arc<str>;

/// One thing that happened, stamped with simulated time since the start of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Simulated time since the start of the run (real time since start outside a simulation).
    pub t: Duration,
    /// The host the event happened on (`server`, `proxy`, a client host, `sim`, `check`).
    pub host: Host,
    /// What happened.
    pub kind: EventKind,
}

impl Event {
    /// `t` in whole milliseconds, as written to JSON Lines.
    #[must_use]
    pub fn t_ms(&self) -> u64 {
        u64::try_from(self.t.as_millis()).unwrap_or(u64::MAX)
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Line<'a> {
            t_ms: u64,
            host: &'a str,
            #[serde(flatten)]
            kind: &'a EventKind,
        }
        Line {
            t_ms: self.t_ms(),
            host: &self.host,
            kind: &self.kind,
        }
        .serialize(s)
    }
}

/// What happened: a product component's own event, or the harness's. Serialized with the
/// snake_case event name as `event`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A scheduled fault begins.
    FaultStart {
        /// The fault's index in the scenario's `[[faults]]` list.
        id: u32,
        /// The fault and its drawn parameters.
        #[serde(flatten)]
        fault: FaultDesc,
    },
    /// A scheduled fault ends (the network is restored).
    FaultEnd {
        /// The fault's index in the scenario's `[[faults]]` list.
        id: u32,
        /// The fault kind.
        fault: &'static str,
    },
    /// A checker found a violation of an expected property.
    Violation {
        /// The checker.
        check: &'static str,
        /// What was violated, for a person.
        detail: String,
    },
    /// What a client library reported (its dropped-event counts stay with the application:
    /// they never reach the timeline).
    #[serde(untagged, serialize_with = "client_line")]
    Client {
        /// The client.
        client: String,
        /// Its event.
        event: ClientEvent,
    },
    /// What the server reported.
    #[serde(untagged)]
    Server(ServerEvent),
    /// What the proxy reported.
    #[serde(untagged)]
    Proxy(ProxyEvent),
}

impl EventKind {
    /// The snake_case event name (the JSON `event` field).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Client { event, .. } => client_event_name(event),
            EventKind::Server(event) => event.name(),
            EventKind::Proxy(event) => event.name(),
            EventKind::FaultStart { .. } => "fault_start",
            EventKind::FaultEnd { .. } => "fault_end",
            EventKind::Violation { .. } => "violation",
        }
    }

    /// The client the event is about, if any.
    #[must_use]
    pub fn client(&self) -> Option<&str> {
        match self {
            EventKind::Client { client, .. } => Some(client),
            EventKind::Server(event) => event.client(),
            EventKind::Proxy(event) => event.client(),
            EventKind::FaultStart { .. }
            | EventKind::FaultEnd { .. }
            | EventKind::Violation { .. } => None,
        }
    }
}

/// A client event's name in the timeline (two differ from the library's variant names:
/// `reconnect_scheduled`, `message_received`).
fn client_event_name(event: &ClientEvent) -> &'static str {
    match event {
        ClientEvent::Reconnecting { .. } => "reconnect_scheduled",
        ClientEvent::Message { .. } => "message_received",
        other => other.name(),
    }
}

/// A presence change's name in the timeline: the frame's type.
fn presence_kind(kind: PresenceKind) -> &'static str {
    match kind {
        PresenceKind::Joined => "user_joined",
        PresenceKind::Away => "user_away",
        PresenceKind::Reconnected => "user_reconnected",
        PresenceKind::Left => "user_left",
    }
}

/// A client event as a timeline line: `event`, `client`, then the event's fields (a
/// reconnection's delay in whole milliseconds as `delay_ms`; a received message's sender,
/// not its text).
fn client_line<S: Serializer>(client: &str, event: &ClientEvent, s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(None)?;
    m.serialize_entry("event", client_event_name(event))?;
    m.serialize_entry("client", client)?;
    match event {
        ClientEvent::Connecting { attempt } | ClientEvent::Connected { attempt } => {
            m.serialize_entry("attempt", attempt)?;
        }
        ClientEvent::UpgradeRefused { status } => m.serialize_entry("status", status)?,
        ClientEvent::Disconnected { reason } | ClientEvent::GaveUp { reason } => {
            m.serialize_entry("reason", reason)?;
        }
        ClientEvent::Reconnecting { attempt, delay } => {
            m.serialize_entry("attempt", attempt)?;
            let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
            m.serialize_entry("delay_ms", &delay_ms)?;
        }
        ClientEvent::Resumed {
            recovered,
            replayed,
        } => {
            m.serialize_entry("recovered", recovered)?;
            m.serialize_entry("replayed", replayed)?;
        }
        ClientEvent::MessageBuffered { msg_id, pending } => {
            m.serialize_entry("msg_id", msg_id)?;
            m.serialize_entry("pending", pending)?;
        }
        ClientEvent::MessageSent { msg_id } => m.serialize_entry("msg_id", msg_id)?,
        ClientEvent::MessageAcked { msg_id, seq } => {
            m.serialize_entry("msg_id", msg_id)?;
            m.serialize_entry("seq", seq)?;
        }
        ClientEvent::Message {
            msg_id, seq, from, ..
        } => {
            m.serialize_entry("msg_id", msg_id)?;
            m.serialize_entry("seq", seq)?;
            m.serialize_entry("from", from)?;
        }
        ClientEvent::Presence { kind, username } => {
            m.serialize_entry("kind", presence_kind(*kind))?;
            m.serialize_entry("username", username)?;
        }
        ClientEvent::EventsDropped { count } => m.serialize_entry("count", count)?,
    }
    m.end()
}

#[cfg(test)]
mod tests;
