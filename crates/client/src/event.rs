//! What the client tells its application: [`ClientEvent`], and why a link ended:
//! [`DisconnectReason`].

use std::time::Duration;

use serde::Serialize;

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
    /// The server answered the upgrade request with an HTTP error (a wrong path, a server
    /// at its session limit, not a WebSocket server): the attempt fails (`Disconnected` with
    /// `connect_failed` follows).
    UpgradeRefused {
        /// The HTTP status.
        status: u16,
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
    /// The event's snake_case name, for logs.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            ClientEvent::Connecting { .. } => "connecting",
            ClientEvent::Connected { .. } => "connected",
            ClientEvent::UpgradeRefused { .. } => "upgrade_refused",
            ClientEvent::Disconnected { .. } => "disconnected",
            ClientEvent::Reconnecting { .. } => "reconnecting",
            ClientEvent::Resumed { .. } => "resumed",
            ClientEvent::MessageBuffered { .. } => "message_buffered",
            ClientEvent::MessageSent { .. } => "message_sent",
            ClientEvent::MessageAcked { .. } => "message_acked",
            ClientEvent::Message { .. } => "message",
            ClientEvent::Presence { .. } => "presence",
            ClientEvent::GaveUp { .. } => "gave_up",
            ClientEvent::EventsDropped { .. } => "events_dropped",
        }
    }
}

/// Why a client's link ended (or a connection attempt failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DisconnectReason {
    /// A ping got no answer (no inbound frame at all) within the ping timeout.
    PingTimeout,
    /// The server stopped sending its heartbeat for too long.
    ServerSilent,
    /// The peer closed the connection (close frame or end of stream).
    ClosedByPeer,
    /// The transport failed (reset, broken pipe, protocol error).
    Reset,
    /// The TCP connect or WebSocket handshake did not finish within the connect timeout.
    ConnectTimeout,
    /// The TCP connect or WebSocket handshake failed.
    ConnectFailed,
    /// The application closed the client.
    ClientClosed,
}

impl DisconnectReason {
    /// Whether a connection attempt failed (rather than an established link ending).
    #[must_use]
    pub fn is_connect_failure(self) -> bool {
        matches!(
            self,
            DisconnectReason::ConnectTimeout | DisconnectReason::ConnectFailed
        )
    }

    /// The snake_case name, as in JSON.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::PingTimeout => "ping_timeout",
            DisconnectReason::ServerSilent => "server_silent",
            DisconnectReason::ClosedByPeer => "closed_by_peer",
            DisconnectReason::Reset => "reset",
            DisconnectReason::ConnectTimeout => "connect_timeout",
            DisconnectReason::ConnectFailed => "connect_failed",
            DisconnectReason::ClientClosed => "client_closed",
        }
    }
}
