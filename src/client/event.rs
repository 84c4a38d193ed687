//! What the client tells its application: [`ClientEvent`]. Most of them also go into the
//! simulation timeline, as [`EventKind`]s (see [`ClientEvent::to_timeline`]).

use std::time::Duration;

use crate::event::{DisconnectReason, EventKind};

/// A presence change in the client's room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresenceKind {
    /// A user joined.
    Joined,
    /// A user's link dropped; the server keeps their session for the grace period.
    Away,
    /// A user who was away is back.
    Reconnected,
    /// A user left (or their grace period expired).
    Left,
}

/// Something the application may want to show or act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// A connection attempt started.
    Connecting {
        /// Attempts since the last healthy link, from 1.
        attempt: u32,
    },
    /// The link is up.
    Connected {
        /// The attempt that succeeded.
        attempt: u32,
    },
    /// The link ended or an attempt failed.
    Disconnected {
        /// Why.
        reason: DisconnectReason,
    },
    /// The next attempt will start after `delay`.
    Reconnecting {
        /// The attempt that will be made.
        attempt: u32,
        /// The delay before it.
        delay: Duration,
    },
    /// The server answered a reconnect: `recovered` is false when the session or part of its
    /// history was lost (grace expired, server restarted) and the application must resync.
    Resumed {
        /// Whether every missed message will be replayed.
        recovered: bool,
        /// How many missed messages the server replays.
        replayed: u64,
    },
    /// A message was queued while offline.
    MessageBuffered {
        /// Its id.
        msg_id: String,
        /// Messages now waiting for an acknowledgement.
        pending: usize,
    },
    /// A message was written to the link (it stays pending until acknowledged).
    MessageSent {
        /// Its id.
        msg_id: String,
    },
    /// The server acknowledged a message; it left the pending buffer.
    MessageAcked {
        /// Its id.
        msg_id: String,
        /// The room sequence number it got.
        seq: u64,
    },
    /// A chat message from another member (never the same `seq` twice).
    Message {
        /// The sender's message id.
        msg_id: String,
        /// The room sequence number.
        seq: u64,
        /// The sender's client id.
        from: String,
        /// The sender's user name.
        username: String,
        /// The text.
        text: String,
    },
    /// Someone's presence changed.
    Presence {
        /// What changed.
        kind: PresenceKind,
        /// Whose.
        username: String,
    },
    /// The client stopped retrying (`max_retries` reached, or the server refused for good).
    GaveUp {
        /// The reason of the last failure.
        reason: DisconnectReason,
    },
    /// The application fell so far behind reading events that `count` of them were dropped
    /// (the event queue is bounded); delivered before the first event kept after them.
    EventsDropped {
        /// How many events were dropped.
        count: u64,
    },
}

impl ClientEvent {
    /// The timeline event for client `client`, if this event belongs in the timeline.
    #[must_use]
    pub fn to_timeline(&self, client: &str) -> Option<EventKind> {
        let client = client.to_string();
        Some(match self {
            ClientEvent::Connecting { attempt } => EventKind::Connecting {
                client,
                attempt: *attempt,
            },
            ClientEvent::Connected { attempt } => EventKind::Connected {
                client,
                attempt: *attempt,
            },
            ClientEvent::Disconnected { reason } => EventKind::Disconnected {
                client,
                reason: *reason,
            },
            ClientEvent::Reconnecting { attempt, delay } => EventKind::ReconnectScheduled {
                client,
                attempt: *attempt,
                delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            },
            ClientEvent::Resumed {
                recovered,
                replayed,
            } => EventKind::Resumed {
                client,
                recovered: *recovered,
                replayed: *replayed,
            },
            ClientEvent::MessageBuffered { msg_id, pending } => EventKind::MessageBuffered {
                client,
                msg_id: msg_id.clone(),
                pending: *pending,
            },
            ClientEvent::MessageSent { msg_id } => EventKind::MessageSent {
                client,
                msg_id: msg_id.clone(),
            },
            ClientEvent::MessageAcked { msg_id, .. } => EventKind::MessageAcked {
                client,
                msg_id: msg_id.clone(),
            },
            ClientEvent::Message {
                msg_id, seq, from, ..
            } => EventKind::MessageReceived {
                client,
                msg_id: msg_id.clone(),
                seq: *seq,
                from: from.clone(),
            },
            ClientEvent::GaveUp { reason } => EventKind::GaveUp {
                client,
                reason: *reason,
            },
            ClientEvent::Presence { .. } | ClientEvent::EventsDropped { .. } => return None,
        })
    }
}
