//! The one event type: everything that happens in a run — client, server, proxy, fault
//! executor, checkers — is an [`Event`], recorded in order into one timeline. The components
//! emit their own event types; [`crate::route`] maps them into [`EventKind`].
//!
//! Checkers, snapshots, the text timeline and the JSON Lines output all read this one stream.
//! The JSON Lines form is a stable contract: `t_ms`, `host`, `event` (snake_case name), then the
//! variant's fields in declaration order.

use std::time::Duration;

use serde::{Serialize, Serializer};

pub use wsim_client::DisconnectReason;
pub use wsim_proxy::{IdleMode, ProxyCloseReason};

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

/// What a `proxy_conn` fault does to one client's connection through the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnAction {
    /// Swallow everything from now on, leaving both ends half-open.
    Blackhole,
    /// Hold every chunk back by `delay_ms` for the fault's duration.
    Delay,
    /// Drop the connection at once.
    Reset,
}

/// A fault the simulation applies, as it appears in `fault_start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum FaultDesc {
    /// Segments between `a` and `b` are held (both ways) and delivered when the fault ends, as
    /// TCP retransmission would after a short network blip.
    Partition {
        /// One side.
        a: String,
        /// The other side.
        b: String,
        /// How long the segments are held.
        duration_ms: u64,
    },
    /// Segments from `a` to `b` are dropped (the other direction flows); a stream that loses a
    /// segment never recovers.
    OneWay {
        /// The side whose segments are lost.
        a: String,
        /// The side that stops hearing from `a`.
        b: String,
        /// How long it lasts.
        duration_ms: u64,
    },
    /// A middlebox between `a` and `b` forgets every connection: in-flight segments are dropped
    /// and established streams never recover; new connections fail until the fault ends.
    StateLoss {
        /// One side.
        a: String,
        /// The other side.
        b: String,
        /// How long new connections are refused.
        duration_ms: u64,
    },
    /// `host` crashes (its connections are closed, unless `silent`) and restarts `duration_ms`
    /// later with fresh state.
    Crash {
        /// The host (`target` in JSON: the event's own `host` is the fault executor, `sim`).
        #[serde(rename = "target")]
        host: String,
        /// How long it stays down.
        duration_ms: u64,
        /// A power-off: its connections are not closed, their peers find out only by heartbeat.
        silent: bool,
    },
    /// The proxy acts on `client`'s current connection alone.
    ProxyConn {
        /// The client.
        client: String,
        /// What it does.
        action: ConnAction,
        /// For `delay`: how long each chunk is held back.
        delay_ms: u64,
        /// For `delay`: how long it lasts (0 for the instantaneous actions).
        duration_ms: u64,
    },
    /// Client host `host` sleeps: its clients are frozen and its network is held.
    Sleep {
        /// The host (`target` in JSON: the event's own `host` is the fault executor, `sim`).
        #[serde(rename = "target")]
        host: String,
        /// How long it sleeps.
        duration_ms: u64,
    },
    /// `host`'s wall clock steps by `by_ms` (negative: back). Timers do not notice.
    ClockStep {
        /// The host (`target` in JSON: the event's own `host` is the fault executor, `sim`).
        #[serde(rename = "target")]
        host: String,
        /// The step, in milliseconds.
        by_ms: i64,
    },
    /// `host`'s wall clock runs `ppm` parts per million fast (slow if negative) for a while.
    ClockDrift {
        /// The host (`target` in JSON: the event's own `host` is the fault executor, `sim`).
        #[serde(rename = "target")]
        host: String,
        /// Parts per million.
        ppm: i64,
        /// How long it drifts.
        duration_ms: u64,
    },
    /// The link between `a` and `b` gets the latency range `min_ms..=max_ms` for a while.
    Latency {
        /// One side.
        a: String,
        /// The other side.
        b: String,
        /// How long the spike lasts.
        duration_ms: u64,
        /// Lowest one-way latency during the spike.
        min_ms: u64,
        /// Highest one-way latency during the spike.
        max_ms: u64,
    },
}

impl FaultDesc {
    /// The snake_case name of the fault kind.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            FaultDesc::Partition { .. } => "partition",
            FaultDesc::OneWay { .. } => "one_way",
            FaultDesc::StateLoss { .. } => "state_loss",
            FaultDesc::Latency { .. } => "latency",
            FaultDesc::Crash { .. } => "crash",
            FaultDesc::Sleep { .. } => "sleep",
            FaultDesc::ProxyConn { .. } => "proxy_conn",
            FaultDesc::ClockStep { .. } => "clock_step",
            FaultDesc::ClockDrift { .. } => "clock_drift",
        }
    }

    /// The two hosts whose link the fault affects (none for a crash).
    #[must_use]
    pub fn link(&self) -> Option<(&str, &str)> {
        match self {
            FaultDesc::Partition { a, b, .. }
            | FaultDesc::OneWay { a, b, .. }
            | FaultDesc::StateLoss { a, b, .. }
            | FaultDesc::Latency { a, b, .. } => Some((a, b)),
            FaultDesc::Crash { .. }
            | FaultDesc::Sleep { .. }
            | FaultDesc::ProxyConn { .. }
            | FaultDesc::ClockStep { .. }
            | FaultDesc::ClockDrift { .. } => None,
        }
    }

    /// How long the fault lasts.
    #[must_use]
    pub fn duration(&self) -> Duration {
        match self {
            FaultDesc::Partition { duration_ms, .. }
            | FaultDesc::OneWay { duration_ms, .. }
            | FaultDesc::StateLoss { duration_ms, .. }
            | FaultDesc::Latency { duration_ms, .. }
            | FaultDesc::Crash { duration_ms, .. }
            | FaultDesc::Sleep { duration_ms, .. }
            | FaultDesc::ProxyConn { duration_ms, .. }
            | FaultDesc::ClockDrift { duration_ms, .. } => Duration::from_millis(*duration_ms),
            FaultDesc::ClockStep { .. } => Duration::ZERO,
        }
    }
}

/// What happened. Serialized with the snake_case variant name as `event`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A client starts a connection attempt (TCP connect and WebSocket handshake).
    Connecting {
        /// The client.
        client: String,
        /// 1 for the first attempt after a healthy link (or the start), counting up.
        attempt: u32,
    },
    /// A client's WebSocket handshake completed.
    Connected {
        /// The client.
        client: String,
        /// The attempt that succeeded.
        attempt: u32,
    },
    /// The server answered a client's upgrade request with an HTTP error (the attempt fails:
    /// `disconnected` with `connect_failed` follows).
    UpgradeRefused {
        /// The client.
        client: String,
        /// The HTTP status.
        status: u16,
    },
    /// A client's link ended, or a connection attempt failed.
    Disconnected {
        /// The client.
        client: String,
        /// Why.
        reason: DisconnectReason,
    },
    /// A client will try again after `delay_ms`.
    ReconnectScheduled {
        /// The client.
        client: String,
        /// The attempt that will be made.
        attempt: u32,
        /// The delay before it.
        delay_ms: u64,
    },
    /// A client wrote a chat message to its link.
    MessageSent {
        /// The client.
        client: String,
        /// The message id, unique per client.
        msg_id: String,
    },
    /// A client queued a message while offline.
    MessageBuffered {
        /// The client.
        client: String,
        /// The message id.
        msg_id: String,
        /// Messages waiting for an acknowledgement, this one included.
        pending: usize,
    },
    /// The server acknowledged a client's message; it left the client's pending buffer.
    MessageAcked {
        /// The client.
        client: String,
        /// The message id.
        msg_id: String,
        /// The room sequence number the server gave it.
        seq: u64,
    },
    /// A client reconnected and the server told it whether its session was recovered.
    Resumed {
        /// The client.
        client: String,
        /// False when the session or part of its history was lost (resync needed).
        recovered: bool,
        /// How many missed messages the server replays.
        replayed: u64,
    },
    /// A client stopped retrying.
    GaveUp {
        /// The client.
        client: String,
        /// The reason of the last failure.
        reason: DisconnectReason,
    },
    /// A client received a chat message broadcast by the server.
    MessageReceived {
        /// The receiving client.
        client: String,
        /// The message id given by its sender.
        msg_id: String,
        /// The room sequence number the server gave it.
        seq: u64,
        /// The sending client.
        from: String,
    },
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
    /// The proxy accepted a connection and reached the upstream server.
    ProxyConnOpened {
        /// The proxy's connection number.
        conn: u64,
    },
    /// The proxy killed a connection that carried no bytes for its idle timeout.
    IdleKill {
        /// The proxy's connection number.
        conn: u64,
        /// The client, as read from the upgrade request, if it could be.
        #[serde(skip_serializing_if = "Option::is_none")]
        client: Option<String>,
        /// How long the connection had been idle.
        idle_ms: u64,
        /// How it was killed.
        mode: IdleMode,
    },
    /// The proxy stopped relaying a connection.
    ProxyConnClosed {
        /// The proxy's connection number.
        conn: u64,
        /// The client, as read from the upgrade request, if it could be.
        #[serde(skip_serializing_if = "Option::is_none")]
        client: Option<String>,
        /// Why.
        reason: ProxyCloseReason,
        /// Bytes relayed client → server.
        bytes_up: u64,
        /// Bytes relayed server → client.
        bytes_down: u64,
    },
    /// A server started (at the beginning, or after a crash): it remembers nothing.
    ServerStarted {
        /// Where it listens.
        listen: String,
    },
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
}

impl EventKind {
    /// The snake_case event name (the JSON `event` field).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Connecting { .. } => "connecting",
            EventKind::Connected { .. } => "connected",
            EventKind::UpgradeRefused { .. } => "upgrade_refused",
            EventKind::Disconnected { .. } => "disconnected",
            EventKind::ReconnectScheduled { .. } => "reconnect_scheduled",
            EventKind::MessageSent { .. } => "message_sent",
            EventKind::MessageBuffered { .. } => "message_buffered",
            EventKind::MessageAcked { .. } => "message_acked",
            EventKind::Resumed { .. } => "resumed",
            EventKind::GaveUp { .. } => "gave_up",
            EventKind::MessageReceived { .. } => "message_received",
            EventKind::SessionOpened { .. } => "session_opened",
            EventKind::SessionClosed { .. } => "session_closed",
            EventKind::UserJoined { .. } => "user_joined",
            EventKind::UserAway { .. } => "user_away",
            EventKind::UserReconnected { .. } => "user_reconnected",
            EventKind::UserLeft { .. } => "user_left",
            EventKind::ResumeRefused { .. } => "resume_refused",
            EventKind::HandshakeRefused { .. } => "handshake_refused",
            EventKind::DuplicateDropped { .. } => "duplicate_dropped",
            EventKind::HistoryReplayed { .. } => "history_replayed",
            EventKind::MessageAccepted { .. } => "message_accepted",
            EventKind::HeartbeatTimeout { .. } => "heartbeat_timeout",
            EventKind::ProxyConnOpened { .. } => "proxy_conn_opened",
            EventKind::ProxyConnClosed { .. } => "proxy_conn_closed",
            EventKind::IdleKill { .. } => "idle_kill",
            EventKind::ServerStarted { .. } => "server_started",
            EventKind::FaultStart { .. } => "fault_start",
            EventKind::FaultEnd { .. } => "fault_end",
            EventKind::Violation { .. } => "violation",
        }
    }

    /// The client the event is about, if any.
    #[must_use]
    pub fn client(&self) -> Option<&str> {
        match self {
            EventKind::Connecting { client, .. }
            | EventKind::Connected { client, .. }
            | EventKind::UpgradeRefused { client, .. }
            | EventKind::Disconnected { client, .. }
            | EventKind::ReconnectScheduled { client, .. }
            | EventKind::MessageSent { client, .. }
            | EventKind::MessageReceived { client, .. }
            | EventKind::MessageBuffered { client, .. }
            | EventKind::MessageAcked { client, .. }
            | EventKind::Resumed { client, .. }
            | EventKind::GaveUp { client, .. }
            | EventKind::SessionOpened { client, .. }
            | EventKind::SessionClosed { client, .. }
            | EventKind::UserJoined { client, .. }
            | EventKind::UserLeft { client, .. }
            | EventKind::UserAway { client, .. }
            | EventKind::UserReconnected { client, .. }
            | EventKind::ResumeRefused { client }
            | EventKind::DuplicateDropped { client, .. }
            | EventKind::HistoryReplayed { client, .. }
            | EventKind::MessageAccepted { client, .. }
            | EventKind::HeartbeatTimeout { client, .. } => Some(client),
            EventKind::IdleKill { client, .. } | EventKind::ProxyConnClosed { client, .. } => {
                client.as_deref()
            }
            EventKind::ProxyConnOpened { .. }
            | EventKind::HandshakeRefused { .. }
            | EventKind::ServerStarted { .. }
            | EventKind::FaultStart { .. }
            | EventKind::FaultEnd { .. }
            | EventKind::Violation { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests;
