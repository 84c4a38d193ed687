//! The client's sans-IO state machine: connection attempts and backoff, keepalive and the
//! server-silence watchdog, the pending buffer with acknowledgements, and session resume. No
//! I/O and no clock: the driver passes `now` into every `handle_*` call, then drains
//! `poll_action`, `poll_transmit` and `poll_event`, and sleeps until `poll_timeout`, calling
//! `handle_timeout` when it passes.
//!
//! Contract with the driver: after every `handle_*` call drain all `poll_*` queues before
//! feeding the next input; an `Action::Disconnect` detaches the current connection (or attempt)
//! at once — it may linger only to send the close frame — and no input from it may be fed
//! afterwards. All timers belong to the current connection, so nothing from an earlier
//! connection can fire after a reconnect.
//!
//! Messages stay in the pending buffer until the server acknowledges them (never merely because
//! a write returned); after a reconnect every pending message is sent again, in order, and the
//! server's per-session de-duplication makes the effect exactly-once.

use std::collections::VecDeque;
use std::time::Duration;

use rand::RngCore;

use crate::clock::MonoTime;
use crate::config::{ClientConfig, ClientIdentity, HeartbeatMode};
use crate::event::{ClientEvent, DisconnectReason, PresenceKind};
use crate::frame::{self, Inbound, Outbound};
use crate::keepalive::{Keepalive, KeepaliveAction};
use crate::protocol::{self, ClientMessage, ServerMessage};
use crate::seed::SimRng;
use recent::RecentFingerprints;

/// How many delivered message ids a client remembers to suppress duplicates.
const DELIVERED_MEMORY: usize = 4096;

/// A message id, unique per client: `<client_id>:<n>`.
pub type MessageId = String;

/// What every connection attempt presents about the client's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionClaim {
    /// The client's session key, drawn once from its seeded RNG and presented on every
    /// attempt, the first included: a session the server opened for an attempt the client
    /// abandoned (its upgrade completed as the connect timeout fired) is still the client's
    /// own, and the next attempt resumes it.
    pub key: String,
    /// The last room sequence number the client has seen, once it has had a session.
    pub last_seq: Option<u64>,
    /// The server incarnation `last_seq` belongs to, from the last welcome (if it said).
    pub epoch: Option<String>,
    /// The attempt's number, increasing with every attempt of this key: the server never lets
    /// an older attempt (one delayed in the network) take over from a newer one.
    pub attempt: u64,
}

/// What the driver must do with connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start a connection attempt (TCP connect + handshake).
    Connect {
        /// The `Sec-WebSocket-Key`, drawn from the client's seeded RNG.
        key: String,
        /// The session the attempt opens or resumes.
        session: SessionClaim,
    },
    /// Detach the current connection or attempt now. If `close` is set, write that close frame
    /// and let the old connection linger at most the close timeout; never wait for it.
    Disconnect {
        /// Close code and reason to send first, if the link is up.
        close: Option<(u16, String)>,
    },
}

/// Why `send` refused a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The pending buffer is full; nothing was queued.
    #[error("{limit} messages are already waiting for an acknowledgement")]
    BufferFull {
        /// The configured limit.
        limit: usize,
    },
    /// The client was closed or gave up.
    #[error("the client is closed")]
    Closed,
}

/// How the transport of the current connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkEnd {
    /// End of stream.
    Eof,
    /// A read or write error.
    Error,
}

#[derive(Debug)]
enum State {
    /// Waiting until `until` before the next attempt.
    Waiting { until: MonoTime },
    /// An attempt is under way; it fails at `deadline`.
    Connecting { deadline: MonoTime },
    /// The link is up since `since`; the last frame arrived at `last_inbound`.
    Connected {
        since: MonoTime,
        last_inbound: MonoTime,
        keepalive: Keepalive,
    },
    /// Closed by the application, or gave up: nothing more happens.
    Finished,
}

#[derive(Debug, Clone)]
struct Pending {
    id: MessageId,
    text: String,
    /// The sender's wall-clock time, informational only.
    timestamp: Option<String>,
}

/// The client state machine.
#[derive(Debug)]
pub struct ClientMachine {
    config: ClientConfig,
    identity: ClientIdentity,
    rng: SimRng,
    state: State,
    /// Attempts made since the last healthy link (1 = first).
    attempt: u32,
    next_msg: u64,
    /// This machine's mark in its message ids (`<client_id>:<life>.<n>`): a client that
    /// restarts (a new machine, the same `client_id`) numbers from 1 again, and without it
    /// its new messages would be taken for its old ones by every de-duplication memory.
    life: String,
    /// Unacknowledged messages, in send order.
    pending: VecDeque<Pending>,
    /// How many of `pending` (from the front) were written on the current link.
    written: usize,
    /// The session key presented on every attempt.
    session_key: String,
    /// Whether the server has welcomed this client into a session yet.
    has_session: bool,
    /// Connection attempts made in all (never reset; numbers the attempts for the server).
    attempts_made: u64,
    /// Highest room sequence number seen; never moves backwards within a session.
    last_seq: Option<u64>,
    /// The server incarnation `last_seq` counts in (the last welcome's `epoch`).
    epoch: Option<String>,
    /// Whether the current connection presented a resume token.
    resuming: bool,
    /// The last `DELIVERED_MEMORY` messages delivered to the application, as 64-bit
    /// fingerprints of (sender, id): a message the server accepted twice (its ack lost in a
    /// crash) is still shown once. 12 bytes per message instead of two strings.
    delivered: RecentFingerprints,
    actions: VecDeque<Action>,
    transmits: VecDeque<Outbound>,
    events: VecDeque<ClientEvent>,
}

/// Six hex digits (24 bits) of an FNV-1a digest of the session key: drawn with it, once per
/// machine, without drawing again from the seeded generator (and without showing the key
/// itself to everyone who sees a message id). Two lives of one client share a mark once in
/// 16 million.
fn life_mark(key: &[u8]) -> String {
    let digest = key.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    });
    format!("{:06x}", digest & 0x00ff_ffff)
}

impl ClientMachine {
    /// A client that makes its first connection attempt at `now + start_delay`.
    #[must_use]
    pub fn new(
        config: ClientConfig,
        identity: ClientIdentity,
        rng: SimRng,
        now: MonoTime,
        start_delay: Duration,
    ) -> Self {
        let mut key = [0u8; 16];
        let mut rng = rng;
        rng.fill_bytes(&mut key);
        ClientMachine {
            config,
            identity,
            rng,
            state: State::Waiting {
                until: now + start_delay,
            },
            attempt: 0,
            next_msg: 0,
            life: life_mark(&key),
            pending: VecDeque::new(),
            written: 0,
            session_key: key.iter().map(|b| format!("{b:02x}")).collect(),
            has_session: false,
            attempts_made: 0,
            last_seq: None,
            epoch: None,
            resuming: false,
            delivered: RecentFingerprints::new(DELIVERED_MEMORY),
            actions: VecDeque::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The client's identity.
    #[must_use]
    pub fn identity(&self) -> &ClientIdentity {
        &self.identity
    }

    /// The session key every attempt presents (see [`SessionClaim`]).
    #[must_use]
    pub fn session_key(&self) -> &str {
        &self.session_key
    }

    /// The client's settings.
    #[must_use]
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Whether the link is up.
    #[must_use]
    pub fn is_connected(&self) -> bool {
        matches!(self.state, State::Connected { .. })
    }

    /// Whether the client was closed or gave up.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Finished)
    }

    /// Whether the server has welcomed this client into a session (a server that never does
    /// does not speak wsim's protocol).
    #[must_use]
    pub fn has_session(&self) -> bool {
        self.has_session
    }

    /// The application closes the client for good.
    pub fn close(&mut self, _now: MonoTime) {
        match self.state {
            State::Finished => return,
            State::Connected { .. } | State::Connecting { .. } => {
                self.drop_link(DisconnectReason::ClientClosed, frame::CLOSE_NORMAL);
            }
            State::Waiting { .. } => {}
        }
        self.state = State::Finished;
    }

    /// The connection attempt succeeded.
    pub fn handle_connected(&mut self, now: MonoTime) {
        if !matches!(self.state, State::Connecting { .. }) {
            return;
        }
        self.state = State::Connected {
            since: now,
            last_inbound: now,
            keepalive: Keepalive::new(self.config.keepalive, now),
        };
        self.events.push_back(ClientEvent::Connected {
            attempt: self.attempt,
        });
        self.written = 0;
        self.write_pending();
    }

    /// The server refused the attempt's upgrade with HTTP `status`.
    pub fn handle_upgrade_refused(&mut self, now: MonoTime, status: u16) {
        if !matches!(self.state, State::Connecting { .. }) {
            return;
        }
        self.events
            .push_back(ClientEvent::UpgradeRefused { status });
        self.handle_connect_failed(now);
    }

    /// The connection attempt failed.
    pub fn handle_connect_failed(&mut self, now: MonoTime) {
        if !matches!(self.state, State::Connecting { .. }) {
            return;
        }
        self.disconnected(now, DisconnectReason::ConnectFailed);
    }

    /// A frame arrived on the current connection.
    pub fn handle_inbound(&mut self, now: MonoTime, frame: Inbound) {
        let State::Connected {
            keepalive,
            last_inbound,
            ..
        } = &mut self.state
        else {
            return;
        };
        keepalive.on_inbound(now);
        *last_inbound = now;
        match frame {
            Inbound::Text(text) => self.handle_text(&text),
            Inbound::Close(Some(frame::CLOSE_REPLACED)) => {
                // A newer connection of this session took over: reconnecting would only fight it.
                self.drop_link(DisconnectReason::ClosedByPeer, frame::CLOSE_NORMAL);
                self.give_up(DisconnectReason::ClosedByPeer);
            }
            Inbound::Close(_) => self.disconnected(now, DisconnectReason::ClosedByPeer),
            Inbound::Binary | Inbound::Ping | Inbound::Pong => {}
        }
    }

    /// The transport of the current connection ended.
    pub fn handle_link_end(&mut self, now: MonoTime, end: LinkEnd) {
        if !self.is_connected() {
            return;
        }
        let reason = match end {
            LinkEnd::Eof => DisconnectReason::ClosedByPeer,
            LinkEnd::Error => DisconnectReason::Reset,
        };
        self.disconnected(now, reason);
    }

    /// Time passed: start an attempt, time one out, run the keepalive or the watchdog.
    pub fn handle_timeout(&mut self, now: MonoTime) {
        match &mut self.state {
            State::Waiting { until } if now >= *until => self.start_attempt(now),
            State::Connecting { deadline } if now >= *deadline => {
                self.disconnected(now, DisconnectReason::ConnectTimeout);
            }
            State::Connected {
                keepalive,
                last_inbound,
                ..
            } => {
                let silent = self
                    .config
                    .server_silence
                    .is_some_and(|s| now >= *last_inbound + s);
                match keepalive.poll(now) {
                    Some(KeepaliveAction::Dead) => {
                        self.disconnected(now, DisconnectReason::PingTimeout);
                    }
                    _ if silent => self.disconnected(now, DisconnectReason::ServerSilent),
                    Some(KeepaliveAction::SendPing) => {
                        let ping = match self.config.heartbeat {
                            HeartbeatMode::Ws => Outbound::Ping(
                                now.since_origin().as_millis().to_string().into_bytes(),
                            ),
                            HeartbeatMode::App => {
                                Outbound::Text(protocol::encode(&ClientMessage::Ping).into())
                            }
                        };
                        self.transmits.push_back(ping);
                    }
                    None => {}
                }
            }
            _ => {}
        }
    }

    /// When `handle_timeout` must next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<MonoTime> {
        match &self.state {
            State::Waiting { until } => Some(*until),
            State::Connecting { deadline } => Some(*deadline),
            State::Connected {
                keepalive,
                last_inbound,
                ..
            } => {
                let watchdog = self.config.server_silence.map(|s| *last_inbound + s);
                [keepalive.deadline(), watchdog].into_iter().flatten().min()
            }
            State::Finished => None,
        }
    }

    /// The next connection action for the driver.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next frame to write on the current connection.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Outbound> {
        self.transmits.pop_front()
    }

    /// The next event for the application (and whoever records the client's events).
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }
}

mod inbox;
mod link;
mod outbox;
mod recent;

#[cfg(test)]
mod boundary_tests;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;
