//! The server's sans-IO session manager: sessions that survive a dropped connection for a
//! grace period, presence, per-session de-duplication, numbered room history and replay, and
//! the per-connection heartbeat. No I/O and no clock: the driver passes `now` into every
//! `handle_*` call, then drains `poll_transmit`, `poll_drop` and `poll_event`, and sleeps
//! until `poll_timeout`.
//!
//! Contract with the driver: connection numbers are never reused; after `poll_drop` names a
//! connection the driver drops it (once what was queued for it is written) and feeds nothing
//! more from it.
//!
//! Sessions are keyed by client id and bound to a session key: the one the client presented
//! when it opened the session (wsim's client draws it once and presents it on every attempt,
//! so a session opened by an attempt the client abandoned is still its own), or one the
//! server drew for a client that presented none. A dropped connection makes its session *away*
//! until `grace` after the drop — always the latest drop, because the deadline is state, not a
//! sleeping task — then the user has *left*. A claim the server will not honour (another key,
//! or no key where [`KeylessResume`](crate::config::KeylessResume) requires one) is refused before the upgrade
//! ([`ServerMachine::handle_claim`]) and never takes the session over. Grace is measured on
//! this machine's monotonic clock; client timestamps decide nothing.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

pub use crate::claim::ClaimRefusal;
use crate::claim::{self, Claim, Credential};
use crate::clock::MonoTime;
use crate::config::ServerConfig;
use crate::dedup::Dedup;
use crate::event::ServerEvent;
use crate::frame::{self, Inbound, Outbound};
use crate::join::JoinRequest;
use crate::keepalive::{Keepalive, KeepaliveAction};
use crate::protocol::{self, ClientMessage, DecodeError, ServerMessage};
use crate::retained::RetainedDedup;
use crate::seed::SimRng;

/// The driver's number for one accepted connection.
pub type ConnId = u64;

/// How a connection ended, as the driver saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnEnd {
    /// End of stream or close frame.
    Closed,
    /// Read/write error.
    Reset,
    /// The peer broke the protocol: close with `code` (1002, 1007, 1009).
    Violation {
        /// The RFC 6455 close code.
        code: u16,
        /// What was wrong.
        reason: String,
    },
    /// The connection's outgoing queue overflowed: its peer reads too slowly (close 1013).
    SendQueueFull,
}

/// An incarnation id drawn beside (not from) the session-key stream, so that drawing it
/// changes no key: 16 hex digits.
fn incarnation(rng: &SimRng) -> String {
    let mut side = rng.clone();
    side.set_stream(side.get_stream() ^ 0x000e_90c4_u64);
    format!("{:016x}", rand::RngCore::next_u64(&mut side))
}

#[derive(Debug)]
struct Conn {
    client_id: String,
    keepalive: Keepalive,
    /// The session's `sent_seq` when the last unanswered ping was sent: its pong proves the
    /// client read every message sent before it.
    ping_mark: Option<u64>,
}

impl Conn {
    fn new(client_id: String, keepalive: Keepalive) -> Self {
        Conn {
            client_id,
            keepalive,
            ping_mark: None,
        }
    }
}

#[derive(Debug)]
struct Session {
    username: String,
    room: String,
    /// What a claim of this session must present.
    credential: Credential,
    /// The live connection, if any.
    conn: Option<ConnId>,
    /// When the session's last connection dropped (it is away until `+ grace`).
    away_since: Option<MonoTime>,
    dedup: Dedup,
    /// The room's latest number when the session opened (its welcome's `last_seq`).
    first_seq: u64,
    /// What the server knows of what the client has read, for a client that never says
    /// (`last_seq` absent from its resume) — see [`Delivered`].
    delivered: Delivered,
}

/// How far a session's client has read its room, as the server sees it: for the clients that
/// resume without `last_seq` (the seed article's keyless `ResilientWebSocket`), the resume
/// replays what follows `resume_from`.
#[derive(Debug, Clone, Copy)]
struct Delivered {
    /// The latest room message sent to the session's connection (or replayed to it).
    sent_seq: u64,
    /// The latest `sent_seq` a pong has proved read (a pong answers a ping sent after it).
    confirmed_seq: u64,
    /// Where a resume without `last_seq` replays from: `sent_seq` when the last connection
    /// was closed by its peer (an orderly end: a proxy's idle kill, the client's own close),
    /// `confirmed_seq` when it broke (a reset, a heartbeat timeout, a slow reader): messages
    /// in flight then are sent again rather than lost.
    resume_from: u64,
}

impl Delivered {
    fn at(seq: u64) -> Self {
        Delivered {
            sent_seq: seq,
            confirmed_seq: seq,
            resume_from: seq,
        }
    }
}

#[derive(Debug, Clone)]
struct HistoryEntry {
    seq: u64,
    id: String,
    from: String,
    username: String,
    text: String,
}

#[derive(Debug, Default)]
struct Room {
    /// Sequence number of the last accepted message.
    last_seq: u64,
    /// Recent messages, oldest first.
    history: VecDeque<HistoryEntry>,
    /// Sessions in the room (live or away), by client id.
    members: BTreeSet<String>,
}

/// The server state machine.
#[derive(Debug)]
pub struct ServerMachine {
    config: ServerConfig,
    rng: SimRng,
    sessions: BTreeMap<String, Session>,
    conns: BTreeMap<ConnId, Conn>,
    rooms: BTreeMap<String, Room>,
    /// Rooms that lost their last session, in that order (a name may recur, or belong to a
    /// room filled since): beyond `max_sessions` of them the oldest still empty is forgotten.
    emptied: VecDeque<String>,
    /// The dedup tables of expired sessions, for their clients' next sessions.
    retained: RetainedDedup,
    /// This incarnation's id, sent in every welcome: room numbers restart with it.
    epoch: String,
    transmits: VecDeque<(ConnId, Outbound)>,
    drops: VecDeque<ConnId>,
    events: VecDeque<ServerEvent>,
    /// No later than every pending deadline (heartbeats, graces): lowered whenever one appears
    /// or moves earlier, left alone when one moves later (every inbound frame pushes a
    /// heartbeat back), made exact by `handle_timeout`. So `poll_timeout` costs nothing per
    /// frame.
    wake_by: Option<MonoTime>,
}

impl ServerMachine {
    /// An empty server; `rng` draws the session keys of clients that present none.
    #[must_use]
    pub fn new(config: ServerConfig, rng: SimRng) -> Self {
        let epoch = incarnation(&rng);
        ServerMachine {
            config,
            rng,
            epoch,
            sessions: BTreeMap::new(),
            conns: BTreeMap::new(),
            rooms: BTreeMap::new(),
            emptied: VecDeque::new(),
            retained: RetainedDedup::default(),
            transmits: VecDeque::new(),
            drops: VecDeque::new(),
            events: VecDeque::new(),
            wake_by: None,
        }
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Number of open connections.
    #[must_use]
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// Number of sessions (live or away).
    #[must_use]
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// A client asks to upgrade with `join`: whether the server will honour it. Asked before
    /// the upgrade completes, so a refused client never believes it is connected. Changes
    /// nothing but expiring overdue sessions (and the event of a refused claim).
    pub fn handle_claim(&mut self, now: MonoTime, join: &JoinRequest) -> Result<(), ClaimRefusal> {
        self.expire_sessions(now);
        self.claim(join).map(|_| ()).inspect_err(|refusal| {
            if *refusal == ClaimRefusal::TooManySessions {
                // Answered with an HTTP 503: said like every other refused upgrade.
                self.events.push_back(ServerEvent::HandshakeRefused {
                    status: refusal.status(),
                    reason: refusal.to_string(),
                });
            } else {
                self.events.push_back(ServerEvent::ResumeRefused {
                    client: join.client_id.clone(),
                });
            }
        })
    }

    /// A WebSocket handshake completed for `join` on connection `conn`. A claim that became
    /// unacceptable since [`handle_claim`](Self::handle_claim) accepted it (another connection
    /// took the client id in between) is closed with 4001, or 1013 at the session limit.
    pub fn handle_open(&mut self, now: MonoTime, conn: ConnId, join: JoinRequest) {
        self.expire_sessions(now);
        match self.claim(&join) {
            Ok(Claim::Resume) => self.resume(now, conn, join),
            Ok(Claim::New) => self.open_new(now, conn, join),
            Err(ClaimRefusal::TooManySessions) => {
                self.refuse(conn, frame::CLOSE_TRY_AGAIN_LATER, "too many sessions");
            }
            Err(refusal) => {
                self.events.push_back(ServerEvent::ResumeRefused {
                    client: join.client_id,
                });
                self.refuse(conn, frame::CLOSE_RESUME_REFUSED, &refusal.to_string());
            }
        }
    }

    /// A frame arrived on `conn`.
    pub fn handle_inbound(&mut self, now: MonoTime, conn: ConnId, frame: Inbound) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.keepalive.on_inbound(now);
        // Proof of life moves a heartbeat deadline later, except right after a ping when the
        // timeout is longer than the interval: then the next ping is due before the timeout was.
        lower(&mut self.wake_by, c.keepalive.deadline());
        match frame {
            Inbound::Text(text) => self.handle_text(now, conn, &text),
            Inbound::Binary => self.reject(
                now,
                conn,
                frame::CLOSE_UNSUPPORTED_DATA,
                "binary frames are not supported",
            ),
            Inbound::Close(_) => self.drop_conn(now, conn, "closed_by_peer"),
            Inbound::Pong => {
                if let Some(mark) = c.ping_mark.take() {
                    let client = c.client_id.clone();
                    if let Some(session) = self.sessions.get_mut(&client) {
                        if session.conn == Some(conn) {
                            let d = &mut session.delivered;
                            d.confirmed_seq = d.confirmed_seq.max(mark);
                        }
                    }
                }
            }
            Inbound::Ping => {}
        }
    }

    /// The transport of `conn` ended.
    pub fn handle_end(&mut self, now: MonoTime, conn: ConnId, end: ConnEnd) {
        match end {
            ConnEnd::Closed => self.drop_conn(now, conn, "closed_by_peer"),
            ConnEnd::Reset => self.drop_conn(now, conn, "reset"),
            ConnEnd::Violation { code, reason } => self.reject(now, conn, code, &reason),
            ConnEnd::SendQueueFull => {
                self.close_conn(
                    now,
                    conn,
                    frame::CLOSE_TRY_AGAIN_LATER,
                    "send queue full: reading too slowly",
                    "send_queue_full",
                );
            }
        }
    }

    /// Time passed: heartbeats, dead connections, expired grace periods.
    pub fn handle_timeout(&mut self, now: MonoTime) {
        let mut pings = Vec::new();
        let mut dead = Vec::new();
        for (id, c) in &mut self.conns {
            match c.keepalive.poll(now) {
                Some(KeepaliveAction::SendPing) => pings.push(*id),
                Some(KeepaliveAction::Dead) => dead.push(*id),
                None => {}
            }
        }
        for id in pings {
            if let Some(c) = self.conns.get_mut(&id) {
                let sent = self
                    .sessions
                    .get(&c.client_id)
                    .filter(|s| s.conn == Some(id))
                    .map(|s| s.delivered.sent_seq);
                c.ping_mark = c.ping_mark.or(sent);
            }
            self.transmits.push_back((id, Outbound::Ping(Vec::new())));
        }
        for id in dead {
            if let Some(c) = self.conns.get(&id) {
                self.events.push_back(ServerEvent::HeartbeatTimeout {
                    client: c.client_id.clone(),
                });
            }
            self.drop_conn(now, id, "heartbeat_timeout");
        }
        self.expire_sessions(now);
        self.wake_by = self.next_deadline();
    }

    /// When `handle_timeout` must next be called at the latest: no later than the next
    /// heartbeat or grace deadline, sometimes earlier (a deadline that has since moved later or
    /// gone); calling it early does nothing but make this exact.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<MonoTime> {
        debug_assert!(
            match (self.wake_by, self.next_deadline()) {
                (Some(by), Some(exact)) => by <= exact,
                (None, exact) => exact.is_none(),
                (Some(_), None) => true,
            },
            "wake_by {:?} later than the next deadline {:?}",
            self.wake_by,
            self.next_deadline()
        );
        self.wake_by
    }

    /// The exact next heartbeat or grace deadline (a pass over every connection and session).
    fn next_deadline(&self) -> Option<MonoTime> {
        let heartbeats = self.conns.values().filter_map(|c| c.keepalive.deadline());
        let graces = self
            .sessions
            .values()
            .filter_map(|s| Some(s.away_since? + self.config.grace));
        heartbeats.chain(graces).min()
    }

    /// The next frame to write, and on which connection.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<(ConnId, Outbound)> {
        self.transmits.pop_front()
    }

    /// The next connection the driver must drop (after writing what was queued for it).
    #[must_use]
    pub fn poll_drop(&mut self) -> Option<ConnId> {
        self.drops.pop_front()
    }

    /// The next event for whoever runs the server.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }
}

/// A deadline appeared: `wake_by` becomes no later than it.
fn lower(wake_by: &mut Option<MonoTime>, deadline: Option<MonoTime>) {
    if let Some(d) = deadline {
        *wake_by = Some(wake_by.map_or(d, |by| by.min(d)));
    }
}

mod rooms;
mod routing;
mod sessions;

#[cfg(test)]
mod tests;
