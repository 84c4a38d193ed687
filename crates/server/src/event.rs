//! What the server tells whoever runs it: [`ServerEvent`] — sessions opening, going away,
//! resuming and expiring, messages accepted and de-duplicated, heartbeats failing. The embedding
//! program decides where they go (a log, a simulator's timeline).

use serde::Serialize;

/// Something that happened in the server. Serialized with the snake_case variant name as
/// `event`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ServerEvent {
    /// The server accepted a WebSocket connection for a client: a new session, or an existing
    /// one resumed with the right secret.
    SessionOpened {
        /// The client id the connection presented.
        client: String,
        /// The room it joined.
        room: String,
        /// The server's connection number.
        conn: u64,
        /// Whether an existing session was resumed.
        resumed: bool,
    },
    /// The server refused a connection that claimed an existing session without its key.
    ResumeRefused {
        /// The client id it claimed.
        client: String,
    },
    /// The server answered an upgrade request with an HTTP error instead of upgrading it.
    HandshakeRefused {
        /// The HTTP status.
        status: u16,
        /// Why, as sent to the client.
        reason: String,
    },
    /// A connection of a client's session ended (the session itself may wait: `user_away`).
    SessionClosed {
        /// The client.
        client: String,
        /// Why (`closed_by_peer`, `heartbeat_timeout`, `reset`, `protocol_error`, ...).
        reason: String,
    },
    /// A user joined a room (broadcast to the room as presence).
    UserJoined {
        /// The client.
        client: String,
        /// The room.
        room: String,
    },
    /// A user's link dropped; the session waits for the grace period.
    UserAway {
        /// The client.
        client: String,
        /// The room.
        room: String,
    },
    /// A user resumed their session within the grace period.
    UserReconnected {
        /// The client.
        client: String,
        /// The room.
        room: String,
    },
    /// A user left a room, or their grace period expired (broadcast to the room as presence).
    UserLeft {
        /// The client.
        client: String,
        /// The room.
        room: String,
    },
    /// The server accepted a chat message and numbered it in its room.
    MessageAccepted {
        /// The sending client.
        client: String,
        /// The message id.
        msg_id: String,
        /// The room sequence number.
        seq: u64,
    },
    /// The server dropped a message it had already accepted from the same session (it
    /// acknowledged it again).
    DuplicateDropped {
        /// The sending client.
        client: String,
        /// The message id.
        msg_id: String,
    },
    /// The server answered a resume: how many missed messages it replays.
    HistoryReplayed {
        /// The client.
        client: String,
        /// Messages replayed.
        count: u64,
        /// False when the session was new or history was lost (the client must resync).
        recovered: bool,
    },
    /// The server's heartbeat found a connection dead.
    HeartbeatTimeout {
        /// The client on that connection.
        client: String,
    },
    /// A server started (at the beginning, or after a crash): it remembers nothing.
    ServerStarted {
        /// Where it listens.
        listen: String,
    },
}

impl ServerEvent {
    /// The client the event is about (every event but `handshake_refused` and
    /// `server_started`).
    #[must_use]
    pub fn client(&self) -> Option<&str> {
        match self {
            ServerEvent::SessionOpened { client, .. }
            | ServerEvent::ResumeRefused { client }
            | ServerEvent::SessionClosed { client, .. }
            | ServerEvent::UserJoined { client, .. }
            | ServerEvent::UserAway { client, .. }
            | ServerEvent::UserReconnected { client, .. }
            | ServerEvent::UserLeft { client, .. }
            | ServerEvent::MessageAccepted { client, .. }
            | ServerEvent::DuplicateDropped { client, .. }
            | ServerEvent::HistoryReplayed { client, .. }
            | ServerEvent::HeartbeatTimeout { client } => Some(client),
            ServerEvent::HandshakeRefused { .. } | ServerEvent::ServerStarted { .. } => None,
        }
    }

    /// The snake_case event name (the JSON `event` field).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            ServerEvent::SessionOpened { .. } => "session_opened",
            ServerEvent::ResumeRefused { .. } => "resume_refused",
            ServerEvent::HandshakeRefused { .. } => "handshake_refused",
            ServerEvent::SessionClosed { .. } => "session_closed",
            ServerEvent::UserJoined { .. } => "user_joined",
            ServerEvent::UserAway { .. } => "user_away",
            ServerEvent::UserReconnected { .. } => "user_reconnected",
            ServerEvent::UserLeft { .. } => "user_left",
            ServerEvent::MessageAccepted { .. } => "message_accepted",
            ServerEvent::DuplicateDropped { .. } => "duplicate_dropped",
            ServerEvent::HistoryReplayed { .. } => "history_replayed",
            ServerEvent::HeartbeatTimeout { .. } => "heartbeat_timeout",
            ServerEvent::ServerStarted { .. } => "server_started",
        }
    }
}
