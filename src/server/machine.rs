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
//! or no key where [`KeylessResume`] requires one) is refused before the upgrade
//! ([`ServerMachine::handle_claim`]) and never takes the session over. Grace is measured on
//! this machine's monotonic clock; client timestamps decide nothing.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rand::RngCore;

use crate::clock::MonoTime;
use crate::event::EventKind;
use crate::frame::{self, Inbound, Outbound};
use crate::keepalive::{Keepalive, KeepaliveAction};
use crate::protocol::{self, ClientMessage, DecodeError, ServerMessage};
use crate::seed::SimRng;
use crate::server::config::{KeylessResume, ServerConfig};
use crate::server::dedup::Dedup;
use crate::server::join::JoinRequest;

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

/// Why the server will not let a join request open or resume a session; the driver answers
/// it with an HTTP error before the upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClaimRefusal {
    /// The client id's session is bound to another session key.
    #[error("client id in use by another session (a different session key)")]
    KeyMismatch,
    /// The client id has a session and the connection presented no key, which this server
    /// requires (or the session was opened with a key).
    #[error("client id in use: resuming its session needs its session key")]
    KeyRequired,
    /// A newer connection attempt of the same session key already opened or resumed it: this
    /// one was delayed in the network (its client has long given up on it).
    #[error("stale attempt: a newer attempt of this session already arrived")]
    StaleAttempt,
    /// The session limit is reached.
    #[error("too many sessions: try again later")]
    TooManySessions,
}

impl ClaimRefusal {
    /// The HTTP status the refusal is answered with.
    #[must_use]
    pub fn status(self) -> u16 {
        match self {
            ClaimRefusal::KeyMismatch | ClaimRefusal::KeyRequired | ClaimRefusal::StaleAttempt => {
                409
            }
            ClaimRefusal::TooManySessions => 503,
        }
    }
}

/// What a claim the server honours does.
enum Claim {
    /// Opens a new session.
    New,
    /// Resumes (or takes over) the client id's session.
    Resume,
}

#[derive(Debug)]
struct Conn {
    client_id: String,
    keepalive: Keepalive,
}

#[derive(Debug)]
struct Session {
    username: String,
    room: String,
    /// The session key: the credential a claim must present.
    key: String,
    /// Whether the client chose the key (false: drawn by the server for a keyless client).
    key_from_client: bool,
    /// The attempt number of the connection that last opened or resumed the session.
    last_attempt: Option<u64>,
    /// The live connection, if any.
    conn: Option<ConnId>,
    /// When the session's last connection dropped (it is away until `+ grace`).
    away_since: Option<MonoTime>,
    /// Planted bug `grace_from_first_drop`: the deadline of the first drop's cleanup, which a
    /// reconnect does not cancel.
    stale_deadline: Option<MonoTime>,
    dedup: Dedup,
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
    /// Planted bug `global_dedup`: one id space for every client.
    global_dedup: Dedup,
    /// Wall clock minus monotonic clock at the last observation, in ms (read only by the
    /// planted bug `wall_clock_grace`).
    wall_skew_ms: i64,
    transmits: VecDeque<(ConnId, Outbound)>,
    drops: VecDeque<ConnId>,
    events: VecDeque<EventKind>,
}

impl ServerMachine {
    /// An empty server; `rng` draws the session keys of clients that present none.
    #[must_use]
    pub fn new(config: ServerConfig, rng: SimRng) -> Self {
        ServerMachine {
            config,
            rng,
            sessions: BTreeMap::new(),
            conns: BTreeMap::new(),
            rooms: BTreeMap::new(),
            global_dedup: Dedup::default(),
            wall_skew_ms: 0,
            transmits: VecDeque::new(),
            drops: VecDeque::new(),
            events: VecDeque::new(),
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

    /// The host's wall clock read `unix_ms` at `now`. The machine never trusts wall time —
    /// except with the planted bug `wall_clock_grace`, which measures grace periods with it.
    pub fn observe_wall_clock(&mut self, now: MonoTime, unix_ms: i64) {
        let mono_ms = i64::try_from(now.since_origin().as_millis()).unwrap_or(i64::MAX);
        self.wall_skew_ms = unix_ms.saturating_sub(mono_ms);
    }

    /// The clock grace periods are measured on: monotonic, or (planted bug) the wall clock.
    fn grace_clock(&self, now: MonoTime) -> MonoTime {
        if !self.config.bugs.wall_clock_grace {
            return now;
        }
        let mono_ms = i64::try_from(now.since_origin().as_millis()).unwrap_or(i64::MAX);
        MonoTime::from_millis(u64::try_from(mono_ms.saturating_add(self.wall_skew_ms)).unwrap_or(0))
    }

    /// Converts a grace-clock deadline back to the monotonic clock.
    fn grace_deadline_to_mono(&self, deadline: MonoTime) -> MonoTime {
        if !self.config.bugs.wall_clock_grace {
            return deadline;
        }
        let ms = i64::try_from(deadline.since_origin().as_millis()).unwrap_or(i64::MAX);
        MonoTime::from_millis(u64::try_from(ms.saturating_sub(self.wall_skew_ms)).unwrap_or(0))
    }

    /// A client asks to upgrade with `join`: whether the server will honour it. Asked before
    /// the upgrade completes, so a refused client never believes it is connected. Changes
    /// nothing but expiring overdue sessions (and the event of a refused claim).
    pub fn handle_claim(&mut self, now: MonoTime, join: &JoinRequest) -> Result<(), ClaimRefusal> {
        self.expire_sessions(now);
        self.claim(join).map(|_| ()).inspect_err(|refusal| {
            if *refusal != ClaimRefusal::TooManySessions {
                self.events.push_back(EventKind::ResumeRefused {
                    client: join.client_id.clone(),
                });
            }
        })
    }

    /// Judges a claim against the sessions as they are.
    fn claim(&self, join: &JoinRequest) -> Result<Claim, ClaimRefusal> {
        let Some(session) = self.sessions.get(&join.client_id) else {
            if self.sessions.len() >= self.config.max_sessions {
                return Err(ClaimRefusal::TooManySessions);
            }
            return Ok(Claim::New);
        };
        match join.session_key.as_deref() {
            Some(key) if key == session.key => match (join.attempt, session.last_attempt) {
                (Some(attempt), Some(last)) if attempt <= last => Err(ClaimRefusal::StaleAttempt),
                _ => Ok(Claim::Resume),
            },
            Some(_) => Err(ClaimRefusal::KeyMismatch),
            None if !session.key_from_client
                && self.config.keyless_resume == KeylessResume::ClientId =>
            {
                Ok(Claim::Resume)
            }
            None => Err(ClaimRefusal::KeyRequired),
        }
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
                self.events.push_back(EventKind::ResumeRefused {
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
        match frame {
            Inbound::Text(text) => self.handle_text(now, conn, &text),
            Inbound::Binary => self.reject(
                now,
                conn,
                frame::CLOSE_UNSUPPORTED_DATA,
                "binary frames are not supported",
            ),
            Inbound::Close(_) => self.drop_conn(now, conn, "closed_by_peer"),
            Inbound::Ping | Inbound::Pong => {}
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
            self.transmits.push_back((id, Outbound::Ping(Vec::new())));
        }
        for id in dead {
            if let Some(c) = self.conns.get(&id) {
                self.events.push_back(EventKind::HeartbeatTimeout {
                    client: c.client_id.clone(),
                });
            }
            self.drop_conn(now, id, "heartbeat_timeout");
        }
        self.expire_sessions(now);
    }

    /// When `handle_timeout` must next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<MonoTime> {
        let heartbeats = self.conns.values().filter_map(|c| c.keepalive.deadline());
        let graces = self.sessions.values().filter_map(|s| {
            let deadline = s.away_since? + self.config.grace;
            let deadline = s
                .stale_deadline
                .map_or(deadline, |stale| stale.min(deadline));
            Some(self.grace_deadline_to_mono(deadline))
        });
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

    /// The next event for the timeline.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<EventKind> {
        self.events.pop_front()
    }

    fn open_new(&mut self, now: MonoTime, conn: ConnId, join: JoinRequest) {
        let key_from_client = join.session_key.is_some();
        let key = join.session_key.clone().unwrap_or_else(|| {
            let mut bytes = [0u8; 16];
            self.rng.fill_bytes(&mut bytes);
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        });
        let room = self.rooms.entry(join.room.clone()).or_default();
        let last_seq = room.last_seq;
        room.members.insert(join.client_id.clone());
        self.conns.insert(
            conn,
            Conn {
                client_id: join.client_id.clone(),
                keepalive: Keepalive::new(self.config.heartbeat, now),
            },
        );
        self.events.push_back(EventKind::SessionOpened {
            client: join.client_id.clone(),
            room: join.room.clone(),
            conn,
            resumed: false,
        });
        self.send(
            conn,
            &ServerMessage::Welcome {
                client_id: join.client_id.clone(),
                username: join.username.clone(),
                room: join.room.clone(),
                resume_secret: key.clone(),
                recovered: false,
                replayed: 0,
                last_seq,
            },
        );
        if join.last_seq.is_some() {
            // The client had a session this server no longer knows (expired, or a restart).
            self.events.push_back(EventKind::HistoryReplayed {
                client: join.client_id.clone(),
                count: 0,
                recovered: false,
            });
        }
        self.events.push_back(EventKind::UserJoined {
            client: join.client_id.clone(),
            room: join.room.clone(),
        });
        let presence = ServerMessage::UserJoined {
            username: join.username.clone(),
        };
        self.broadcast(&join.room, Some(&join.client_id), &presence);
        self.sessions.insert(
            join.client_id,
            Session {
                username: join.username,
                room: join.room,
                key,
                key_from_client,
                last_attempt: join.attempt,
                conn: Some(conn),
                away_since: None,
                stale_deadline: None,
                dedup: Dedup::default(),
            },
        );
    }

    fn resume(&mut self, now: MonoTime, conn: ConnId, join: JoinRequest) {
        let client = join.client_id;
        let Some(session) = self.sessions.get_mut(&client) else {
            return;
        };
        session.last_attempt = join.attempt.or(session.last_attempt);
        let old = session.conn.replace(conn);
        let was_away = session.away_since.take().is_some();
        let (username, room_name, key) = (
            session.username.clone(),
            session.room.clone(),
            session.key.clone(),
        );
        if let Some(old) = old {
            // Takeover: the newer connection wins; presence does not change.
            self.transmits.push_back((
                old,
                Outbound::Close {
                    code: frame::CLOSE_REPLACED,
                    reason: "replaced by a newer connection".into(),
                },
            ));
            if self.conns.remove(&old).is_some() {
                self.drops.push_back(old);
                self.events.push_back(EventKind::SessionClosed {
                    client: client.clone(),
                    reason: "replaced".into(),
                });
            }
        }
        self.conns.insert(
            conn,
            Conn {
                client_id: client.clone(),
                keepalive: Keepalive::new(self.config.heartbeat, now),
            },
        );
        let room = self.rooms.entry(room_name.clone()).or_default();
        let seen = join.last_seq.unwrap_or(0);
        let oldest = room.history.front().map_or(room.last_seq + 1, |h| h.seq);
        let recovered = seen <= room.last_seq && seen + 1 >= oldest;
        let replay: Vec<HistoryEntry> = if recovered {
            room.history
                .iter()
                .filter(|h| h.seq > seen && h.from != client)
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        let last_seq = room.last_seq;
        self.events.push_back(EventKind::SessionOpened {
            client: client.clone(),
            room: room_name.clone(),
            conn,
            resumed: true,
        });
        self.send(
            conn,
            &ServerMessage::Welcome {
                client_id: client.clone(),
                username: username.clone(),
                room: room_name.clone(),
                resume_secret: key,
                recovered,
                replayed: replay.len() as u64,
                last_seq,
            },
        );
        self.events.push_back(EventKind::HistoryReplayed {
            client: client.clone(),
            count: replay.len() as u64,
            recovered,
        });
        for h in replay {
            self.send(
                conn,
                &ServerMessage::ChatMessage {
                    id: h.id,
                    from: h.from,
                    username: h.username,
                    text: h.text,
                    seq: h.seq,
                },
            );
        }
        if was_away {
            self.events.push_back(EventKind::UserReconnected {
                client: client.clone(),
                room: room_name.clone(),
            });
            let presence = ServerMessage::UserReconnected { username };
            self.broadcast(&room_name, Some(&client), &presence);
        }
    }

    fn handle_text(&mut self, now: MonoTime, conn: ConnId, text: &str) {
        if text.len() > self.config.max_message_bytes {
            self.reject(now, conn, frame::CLOSE_TOO_BIG, "message too big");
            return;
        }
        match protocol::decode::<ClientMessage>(text) {
            Ok(ClientMessage::ChatMessage { id, text, .. }) => {
                self.accept_chat(now, conn, id, text)
            }
            Ok(ClientMessage::Ping) => self.send(conn, &ServerMessage::Pong),
            Ok(ClientMessage::Pong) => {}
            Err(DecodeError::Malformed(_)) => {
                self.reject(now, conn, frame::CLOSE_INVALID_PAYLOAD, "malformed JSON");
            }
            Err(DecodeError::Unsupported(message)) => {
                self.send(conn, &ServerMessage::Error { message });
            }
        }
    }

    fn accept_chat(&mut self, now: MonoTime, conn: ConnId, id: Option<String>, text: String) {
        let Some(client) = self.conns.get(&conn).map(|c| c.client_id.clone()) else {
            return;
        };
        let Some(session) = self.sessions.get_mut(&client) else {
            return;
        };
        let msg_id = id.unwrap_or_default();
        let dedup = if self.config.bugs.global_dedup {
            &mut self.global_dedup
        } else {
            &mut session.dedup
        };
        if !msg_id.is_empty() {
            dedup.expire(now, self.config.dedup_ttl);
            if let Some(seq) = dedup.seen(&msg_id) {
                self.events.push_back(EventKind::DuplicateDropped {
                    client,
                    msg_id: msg_id.clone(),
                });
                self.send(conn, &ServerMessage::Ack { id: msg_id, seq });
                return;
            }
        }
        let username = session.username.clone();
        let room_name = session.room.clone();
        let room = self.rooms.entry(room_name.clone()).or_default();
        room.last_seq += 1;
        let seq = room.last_seq;
        room.history.push_back(HistoryEntry {
            seq,
            id: msg_id.clone(),
            from: client.clone(),
            username: username.clone(),
            text: text.clone(),
        });
        while room.history.len() > self.config.history_limit {
            room.history.pop_front();
        }
        if !msg_id.is_empty() {
            dedup.remember(
                now,
                msg_id.clone(),
                seq,
                self.config.dedup_ttl,
                self.config.dedup_limit,
            );
        }
        self.events.push_back(EventKind::MessageAccepted {
            client: client.clone(),
            msg_id: msg_id.clone(),
            seq,
        });
        if !msg_id.is_empty() {
            self.send(
                conn,
                &ServerMessage::Ack {
                    id: msg_id.clone(),
                    seq,
                },
            );
        }
        let chat = ServerMessage::ChatMessage {
            id: msg_id,
            from: client.clone(),
            username,
            text,
            seq,
        };
        self.broadcast(&room_name, Some(&client), &chat);
    }

    /// Closes `conn` with `code` because of bad input, then drops it.
    fn reject(&mut self, now: MonoTime, conn: ConnId, code: u16, reason: &str) {
        let cause = format!("protocol_error ({code}: {reason})");
        self.close_conn(now, conn, code, reason, &cause);
    }

    /// Sends `conn` a close frame with `code`, then drops it for `cause` (the event's reason).
    fn close_conn(&mut self, now: MonoTime, conn: ConnId, code: u16, reason: &str, cause: &str) {
        if !self.conns.contains_key(&conn) {
            return;
        }
        self.transmits.push_back((
            conn,
            Outbound::Close {
                code,
                reason: reason.into(),
            },
        ));
        self.drop_conn(now, conn, cause);
    }

    /// Refuses a connection that never joined a session.
    fn refuse(&mut self, conn: ConnId, code: u16, reason: &str) {
        self.transmits.push_back((
            conn,
            Outbound::Close {
                code,
                reason: reason.into(),
            },
        ));
        self.drops.push_back(conn);
    }

    /// Forgets `conn`; its session, if this was its live connection, becomes away.
    fn drop_conn(&mut self, now: MonoTime, conn: ConnId, reason: &str) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        self.drops.push_back(conn);
        self.events.push_back(EventKind::SessionClosed {
            client: c.client_id.clone(),
            reason: reason.to_string(),
        });
        let Some(session) = self.sessions.get_mut(&c.client_id) else {
            return;
        };
        if session.conn != Some(conn) {
            return;
        }
        let away = self.grace_clock(now);
        let Some(session) = self.sessions.get_mut(&c.client_id) else {
            return;
        };
        session.conn = None;
        session.away_since = Some(away);
        if self.config.bugs.grace_from_first_drop && session.stale_deadline.is_none() {
            session.stale_deadline = Some(away + self.config.grace);
        }
        let (room, username) = (session.room.clone(), session.username.clone());
        self.events.push_back(EventKind::UserAway {
            client: c.client_id.clone(),
            room: room.clone(),
        });
        self.broadcast(
            &room,
            Some(&c.client_id),
            &ServerMessage::UserAway { username },
        );
    }

    /// Ends every session whose grace period is over: the user has left.
    fn expire_sessions(&mut self, now: MonoTime) {
        let grace = self.config.grace;
        let now = self.grace_clock(now);
        for s in self.sessions.values_mut() {
            // A stale cleanup that finds its session live does nothing, once.
            if s.away_since.is_none() && s.stale_deadline.is_some_and(|d| now >= d) {
                s.stale_deadline = None;
            }
        }
        let expired: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, s)| {
                let stale = s.stale_deadline.is_some_and(|d| now >= d);
                s.away_since.is_some_and(|t| now >= t + grace || stale)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for client in expired {
            let Some(session) = self.sessions.remove(&client) else {
                continue;
            };
            if let Some(room) = self.rooms.get_mut(&session.room) {
                room.members.remove(&client);
            }
            self.events.push_back(EventKind::UserLeft {
                client: client.clone(),
                room: session.room.clone(),
            });
            let presence = ServerMessage::UserLeft {
                username: session.username,
            };
            self.broadcast(&session.room, None, &presence);
        }
    }

    fn send(&mut self, conn: ConnId, msg: &ServerMessage) {
        self.transmits
            .push_back((conn, Outbound::Text(protocol::encode(msg))));
    }

    /// Sends `msg` to the live connections of `room`'s members, except `except`.
    fn broadcast(&mut self, room: &str, except: Option<&str>, msg: &ServerMessage) {
        let Some(room) = self.rooms.get(room) else {
            return;
        };
        let text = protocol::encode(msg);
        for member in &room.members {
            if Some(member.as_str()) == except {
                continue;
            }
            if let Some(conn) = self.sessions.get(member).and_then(|s| s.conn) {
                self.transmits
                    .push_back((conn, Outbound::Text(text.clone())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::derive_rng;
    use std::time::Duration;

    fn t(ms: u64) -> MonoTime {
        MonoTime::from_millis(ms)
    }

    fn join(id: &str) -> JoinRequest {
        JoinRequest {
            client_id: id.into(),
            username: format!("user-{id}"),
            room: "lobby".into(),
            session_key: Some(format!("key-{id}")),
            last_seq: None,
            attempt: None,
        }
    }

    /// A join request without a session key (the seed article's client).
    fn keyless(id: &str) -> JoinRequest {
        JoinRequest {
            session_key: None,
            ..join(id)
        }
    }

    fn server() -> ServerMachine {
        ServerMachine::new(ServerConfig::default(), derive_rng(1, "server"))
    }

    type Drained = (Vec<(ConnId, Outbound)>, Vec<ConnId>, Vec<EventKind>);

    fn drain(m: &mut ServerMachine) -> Drained {
        (
            std::iter::from_fn(|| m.poll_transmit()).collect(),
            std::iter::from_fn(|| m.poll_drop()).collect(),
            std::iter::from_fn(|| m.poll_event()).collect(),
        )
    }

    fn text(o: &Outbound) -> &str {
        match o {
            Outbound::Text(s) => s,
            other => panic!("not text: {other:?}"),
        }
    }

    /// The welcome sent on `conn`, parsed.
    fn welcome(tx: &[(ConnId, Outbound)], conn: ConnId) -> (String, bool, u64, u64) {
        tx.iter()
            .filter(|(c, _)| *c == conn)
            .find_map(|(_, o)| match protocol::decode::<ServerMessage>(text(o)) {
                Ok(ServerMessage::Welcome {
                    resume_secret,
                    recovered,
                    replayed,
                    last_seq,
                    ..
                }) => Some((resume_secret, recovered, replayed, last_seq)),
                _ => None,
            })
            .expect("a welcome")
    }

    fn chat(id: &str) -> Inbound {
        Inbound::Text(format!(
            r#"{{"type":"chat_message","text":"hi","id":"{id}"}}"#
        ))
    }

    /// Members a (conn 1) and b (conn 2); returns a's secret.
    fn two_members(m: &mut ServerMachine) -> String {
        m.handle_open(t(0), 1, join("a"));
        m.handle_open(t(0), 2, join("b"));
        welcome(&drain(m).0, 1).0
    }

    fn resume_join(id: &str, secret: &str, last_seq: Option<u64>) -> JoinRequest {
        JoinRequest {
            session_key: Some(secret.into()),
            last_seq,
            ..join(id)
        }
    }

    #[test]
    fn a_session_opened_by_an_abandoned_attempt_is_resumed_with_the_same_key() {
        let mut m = server();
        // The ghost: the upgrade completed after the client had given up on the attempt.
        m.handle_open(t(0), 1, join("a"));
        m.handle_end(t(100), 1, ConnEnd::Closed);
        let _ = drain(&mut m);
        // The client's next attempt presents the same key: its own session, not a stranger's.
        assert_eq!(m.handle_claim(t(2_000), &join("a")), Ok(()));
        m.handle_open(t(2_000), 2, join("a"));
        let (tx, _, events) = drain(&mut m);
        assert!(events.contains(&EventKind::UserReconnected {
            client: "a".into(),
            room: "lobby".into()
        }));
        assert_eq!(welcome(&tx, 2).0, "key-a");
        // A stranger with the same client id and another key is refused before the upgrade.
        let stranger = resume_join("a", "other-key", None);
        assert_eq!(
            m.handle_claim(t(3_000), &stranger),
            Err(ClaimRefusal::KeyMismatch)
        );
        assert_eq!(ClaimRefusal::KeyMismatch.status(), 409);
    }

    #[test]
    fn an_older_attempt_never_takes_over_from_a_newer_one() {
        let mut m = server();
        let attempt = |n| JoinRequest {
            attempt: Some(n),
            ..join("a")
        };
        m.handle_open(t(0), 1, attempt(1));
        // Attempt 3 resumes; attempt 2, delayed in the network, arrives after it.
        assert_eq!(m.handle_claim(t(10), &attempt(3)), Ok(()));
        m.handle_open(t(10), 2, attempt(3));
        let _ = drain(&mut m);
        assert_eq!(
            m.handle_claim(t(20), &attempt(2)),
            Err(ClaimRefusal::StaleAttempt)
        );
        // Had it slipped past the claim, the upgrade is still closed, never a takeover.
        m.handle_open(t(20), 3, attempt(2));
        let (_, drops, _) = drain(&mut m);
        assert_eq!(drops, [3]);
        assert_eq!(m.connections(), 1);
        // A newer attempt may take over (the client's own reconnect over a dead link).
        assert_eq!(m.handle_claim(t(30), &attempt(4)), Ok(()));
    }

    #[test]
    fn keyless_clients_resume_by_client_id_unless_the_server_requires_a_key() {
        // client_id (default): the seed article's contract.
        let mut m = server();
        m.handle_open(t(0), 1, keyless("a"));
        m.handle_open(t(0), 2, keyless("b"));
        m.handle_end(t(10), 1, ConnEnd::Closed);
        let _ = drain(&mut m);
        assert_eq!(m.handle_claim(t(1_000), &keyless("a")), Ok(()));
        m.handle_open(t(1_000), 3, keyless("a"));
        let (tx, _, events) = drain(&mut m);
        assert!(welcome(&tx, 3).1, "recovered");
        assert_eq!(
            presence(&events),
            ["user_reconnected"],
            "the room sees the user come back"
        );
        // A keyless claim of a live keyless session takes it over.
        assert_eq!(m.handle_claim(t(2_000), &keyless("a")), Ok(()));
        m.handle_open(t(2_000), 4, keyless("a"));
        assert_eq!(drain(&mut m).1, [3]);
        // A session opened with a key is never resumed without it.
        m.handle_open(t(3_000), 5, join("k"));
        assert_eq!(
            m.handle_claim(t(3_000), &keyless("k")),
            Err(ClaimRefusal::KeyRequired)
        );

        // key: a keyless client may open a session but never claim one.
        let config = ServerConfig {
            keyless_resume: KeylessResume::Key,
            ..ServerConfig::default()
        };
        let mut m = ServerMachine::new(config, derive_rng(1, "server"));
        assert_eq!(m.handle_claim(t(0), &keyless("a")), Ok(()));
        m.handle_open(t(0), 1, keyless("a"));
        m.handle_end(t(10), 1, ConnEnd::Closed);
        assert_eq!(
            m.handle_claim(t(1_000), &keyless("a")),
            Err(ClaimRefusal::KeyRequired)
        );
        // The key the server drew and sent in `welcome` still works.
        let (tx, _, _) = drain(&mut m);
        let drawn = welcome(&tx, 1).0;
        assert_eq!(
            m.handle_claim(t(1_000), &resume_join("a", &drawn, Some(0))),
            Ok(())
        );
    }

    #[test]
    fn join_welcomes_with_a_secret_and_tells_the_room() {
        let mut m = server();
        m.handle_open(t(0), 1, join("a"));
        m.handle_open(t(0), 2, keyless("b"));
        let (tx, drops, events) = drain(&mut m);
        assert!(drops.is_empty());
        let (key, recovered, _, _) = welcome(&tx, 1);
        assert_eq!(key, "key-a", "the client's own key is the session's");
        assert!(!recovered);
        let drawn = welcome(&tx, 2).0;
        assert_eq!(
            drawn.len(),
            32,
            "a keyless client gets a key drawn by the server"
        );
        assert!(tx
            .iter()
            .any(|(c, o)| *c == 1 && text(o) == r#"{"type":"user_joined","username":"user-b"}"#));
        assert!(events.contains(&EventKind::SessionOpened {
            client: "b".into(),
            room: "lobby".into(),
            conn: 2,
            resumed: false
        }));
    }

    #[test]
    fn chat_is_numbered_acked_and_broadcast_to_others() {
        let mut m = server();
        two_members(&mut m);
        m.handle_inbound(t(10), 1, chat("a:1"));
        let (tx, _, events) = drain(&mut m);
        assert_eq!(
            tx,
            [
                (1, Outbound::Text(r#"{"type":"ack","id":"a:1","seq":1}"#.into())),
                (
                    2,
                    Outbound::Text(
                        r#"{"type":"chat_message","id":"a:1","from":"a","username":"user-a","text":"hi","seq":1}"#
                            .into()
                    )
                ),
            ]
        );
        assert_eq!(
            events,
            [EventKind::MessageAccepted {
                client: "a".into(),
                msg_id: "a:1".into(),
                seq: 1
            }]
        );
    }

    /// Drops a's connection at `at`; returns the events.
    fn drop_a(m: &mut ServerMachine, conn: ConnId, at: u64) -> Vec<EventKind> {
        m.handle_end(t(at), conn, ConnEnd::Reset);
        drain(m).2
    }

    fn presence(events: &[EventKind]) -> Vec<&'static str> {
        events
            .iter()
            .map(EventKind::name)
            .filter(|n| n.starts_with("user_"))
            .collect()
    }

    #[test]
    fn reconnect_inside_the_grace_period_resumes_the_session() {
        let mut m = server();
        let secret = two_members(&mut m);
        assert_eq!(presence(&drop_a(&mut m, 1, 1_000)), ["user_away"]);
        m.handle_open(t(30_999), 3, resume_join("a", &secret, Some(0)));
        let (tx, _, events) = drain(&mut m);
        assert_eq!(presence(&events), ["user_reconnected"]);
        let (again, recovered, _, _) = welcome(&tx, 3);
        assert!(recovered);
        assert_eq!(again, secret);
        assert!(tx
            .iter()
            .any(|(c, o)| *c == 2 && text(o).contains("user_reconnected")));
    }

    #[test]
    fn reconnect_exactly_at_or_after_the_grace_period_is_a_new_session() {
        for at in [31_000, 45_000] {
            let mut m = server();
            let secret = two_members(&mut m);
            drop_a(&mut m, 1, 1_000);
            m.handle_open(t(at), 3, resume_join("a", &secret, Some(0)));
            let (tx, _, events) = drain(&mut m);
            assert_eq!(presence(&events), ["user_left", "user_joined"], "at {at}");
            let (_, recovered, _, _) = welcome(&tx, 3);
            assert!(!recovered);
        }
        // Without a reconnect, the timer ends the session exactly one grace period later.
        let mut m = server();
        two_members(&mut m);
        drop_a(&mut m, 1, 1_000);
        assert_eq!(
            m.poll_timeout(),
            Some(t(20_000)),
            "b's heartbeat comes first"
        );
        m.handle_timeout(t(30_999));
        assert!(!presence(&drain(&mut m).2).contains(&"user_left"));
        m.handle_timeout(t(31_000));
        assert!(presence(&drain(&mut m).2).contains(&"user_left"));
    }

    #[test]
    fn a_second_drop_restarts_the_grace_period() {
        let mut m = server();
        let secret = two_members(&mut m);
        drop_a(&mut m, 1, 1_000);
        m.handle_open(t(10_000), 3, resume_join("a", &secret, None));
        let _ = drain(&mut m);
        drop_a(&mut m, 3, 20_000);
        // The first drop's deadline (31 s) must not end the session.
        m.handle_timeout(t(31_000));
        assert!(!presence(&drain(&mut m).2).contains(&"user_left"));
        m.handle_timeout(t(49_999));
        assert!(!presence(&drain(&mut m).2).contains(&"user_left"));
        m.handle_timeout(t(50_000));
        assert_eq!(presence(&drain(&mut m).2), ["user_left"]);
    }

    #[test]
    fn a_newer_connection_with_the_secret_takes_over_without_presence_change() {
        let mut m = server();
        let secret = two_members(&mut m);
        m.handle_open(t(10), 3, resume_join("a", &secret, Some(0)));
        let (tx, drops, events) = drain(&mut m);
        assert!(tx.iter().any(|(c, o)| *c == 1
            && matches!(
                o,
                Outbound::Close {
                    code: frame::CLOSE_REPLACED,
                    ..
                }
            )));
        assert_eq!(drops, [1]);
        assert!(presence(&events).is_empty());
        assert_eq!(m.connections(), 2);
    }

    #[test]
    fn a_wrong_or_missing_secret_never_takes_over() {
        for session_key in [Some("guess".to_string()), None] {
            let mut m = server();
            two_members(&mut m);
            let j = JoinRequest {
                session_key,
                ..join("a")
            };
            // Refused before the upgrade...
            assert!(m.handle_claim(t(10), &j).is_err());
            assert_eq!(
                drain(&mut m).2,
                [EventKind::ResumeRefused { client: "a".into() }]
            );
            // ...and if the session was taken between the claim and the upgrade, closed.
            m.handle_open(t(10), 3, j);
            let (tx, drops, events) = drain(&mut m);
            assert!(matches!(
                &tx[..],
                [(
                    3,
                    Outbound::Close {
                        code: frame::CLOSE_RESUME_REFUSED,
                        ..
                    }
                )]
            ));
            assert_eq!(drops, [3]);
            assert_eq!(events, [EventKind::ResumeRefused { client: "a".into() }]);
            // a's own connection is untouched and still served.
            m.handle_inbound(t(20), 1, chat("a:1"));
            assert!(drain(&mut m).0.iter().any(|(c, _)| *c == 1));
        }
    }

    #[test]
    fn duplicates_are_acked_again_not_rebroadcast_and_ids_are_per_session() {
        let mut m = server();
        two_members(&mut m);
        m.handle_inbound(t(10), 1, chat("m1"));
        let _ = drain(&mut m);
        m.handle_inbound(t(20), 1, chat("m1"));
        let (tx, _, events) = drain(&mut m);
        assert_eq!(
            tx,
            [(
                1,
                Outbound::Text(r#"{"type":"ack","id":"m1","seq":1}"#.into())
            )]
        );
        assert_eq!(
            events,
            [EventKind::DuplicateDropped {
                client: "a".into(),
                msg_id: "m1".into()
            }]
        );
        // Another session may use the same id: it is a different message.
        m.handle_inbound(t(30), 2, chat("m1"));
        let (_, _, events) = drain(&mut m);
        assert!(matches!(
            &events[..],
            [EventKind::MessageAccepted { seq: 2, .. }]
        ));
    }

    #[test]
    fn ids_are_forgotten_after_the_ttl() {
        let mut m = server();
        two_members(&mut m);
        m.handle_inbound(t(0), 1, chat("m1"));
        m.handle_inbound(t(299_999), 1, chat("m1"));
        assert!(matches!(
            drain(&mut m).2.last(),
            Some(EventKind::DuplicateDropped { .. })
        ));
        m.handle_inbound(t(300_000), 1, chat("m1"));
        assert!(matches!(
            drain(&mut m).2.last(),
            Some(EventKind::MessageAccepted { seq: 2, .. })
        ));
    }

    #[test]
    fn replay_from_any_position_and_a_gap_is_never_silent() {
        let config = ServerConfig {
            history_limit: 5,
            ..ServerConfig::default()
        };
        let mut m = ServerMachine::new(config, derive_rng(1, "server"));
        let secret = two_members(&mut m);
        drop_a(&mut m, 1, 0);
        for i in 1..=8 {
            m.handle_inbound(t(i), 2, chat(&format!("b{i}")));
        }
        let _ = drain(&mut m);
        // History keeps seq 4..=8.
        let mut conn = 10;
        for (seen, recovered, first) in [
            (8, true, None),
            (5, true, Some(6)),
            (3, true, Some(4)),
            (2, false, None),
            (0, false, None),
        ] {
            conn += 1;
            m.handle_open(t(100), conn, resume_join("a", &secret, Some(seen)));
            let (tx, _, _) = drain(&mut m);
            let (_, rec, replayed, last_seq) = welcome(&tx, conn);
            assert_eq!((rec, last_seq), (recovered, 8), "seen {seen}");
            let seqs: Vec<u64> = tx
                .iter()
                .filter(|(c, _)| *c == conn)
                .filter_map(|(_, o)| match protocol::decode::<ServerMessage>(text(o)) {
                    Ok(ServerMessage::ChatMessage { seq, .. }) => Some(seq),
                    _ => None,
                })
                .collect();
            assert_eq!(replayed, seqs.len() as u64);
            assert_eq!(seqs.first().copied(), first, "seen {seen}");
            assert!(
                seqs.windows(2).all(|w| w[0] + 1 == w[1]),
                "in order: {seqs:?}"
            );
        }
    }

    #[test]
    fn bad_input_closes_only_that_connection_with_the_right_code() {
        for (frame, code) in [
            (
                Inbound::Text("{not json".into()),
                frame::CLOSE_INVALID_PAYLOAD,
            ),
            (Inbound::Binary, frame::CLOSE_UNSUPPORTED_DATA),
        ] {
            let mut m = server();
            two_members(&mut m);
            m.handle_inbound(t(10), 1, frame);
            let (tx, drops, _) = drain(&mut m);
            assert!(
                matches!(&tx[0], (1, Outbound::Close { code: c, .. }) if *c == code),
                "{tx:?}"
            );
            assert_eq!(drops, [1]);
            assert_eq!(m.connections(), 1);
            m.handle_inbound(t(20), 2, Inbound::Text(r#"{"type":"ping"}"#.into()));
            let (tx, _, _) = drain(&mut m);
            assert_eq!(tx, [(2, Outbound::Text(r#"{"type":"pong"}"#.into()))]);
        }
        let mut m = server();
        two_members(&mut m);
        m.handle_end(
            t(10),
            2,
            ConnEnd::Violation {
                code: frame::CLOSE_TOO_BIG,
                reason: "too big".into(),
            },
        );
        let (tx, drops, _) = drain(&mut m);
        assert!(matches!(
            &tx[0],
            (
                2,
                Outbound::Close {
                    code: frame::CLOSE_TOO_BIG,
                    ..
                }
            )
        ));
        assert_eq!(drops, [2]);
    }

    #[test]
    fn unknown_message_type_is_answered_and_the_connection_kept() {
        let mut m = server();
        two_members(&mut m);
        m.handle_inbound(t(10), 1, Inbound::Text(r#"{"type":"dance"}"#.into()));
        let (tx, drops, _) = drain(&mut m);
        assert!(drops.is_empty());
        assert!(text(&tx[0].1).starts_with(r#"{"type":"error""#));
        assert_eq!(m.connections(), 2);
    }

    #[test]
    fn heartbeat_pings_then_drops_a_silent_connection_and_the_session_waits() {
        let mut m = server();
        two_members(&mut m);
        m.handle_inbound(t(5_000), 2, Inbound::Pong);
        assert_eq!(m.poll_timeout(), Some(t(20_000)));
        m.handle_timeout(t(20_000));
        let (tx, _, _) = drain(&mut m);
        assert_eq!(tx, [(1, Outbound::Ping(Vec::new()))]);
        m.handle_timeout(t(39_999));
        assert!(drain(&mut m).1.is_empty());
        m.handle_timeout(t(40_000));
        let (_, drops, events) = drain(&mut m);
        assert_eq!(drops, [1]);
        assert!(events.contains(&EventKind::HeartbeatTimeout { client: "a".into() }));
        assert_eq!(presence(&events), ["user_away"]);
        assert_eq!(m.sessions(), 2);
        m.handle_timeout(t(69_999));
        assert!(!drain(&mut m).2.contains(&EventKind::UserLeft {
            client: "a".into(),
            room: "lobby".into()
        }));
        m.handle_timeout(t(40_000) + Duration::from_secs(30));
        assert!(drain(&mut m).2.contains(&EventKind::UserLeft {
            client: "a".into(),
            room: "lobby".into()
        }));
    }

    #[test]
    fn the_session_limit_refuses_new_sessions() {
        let config = ServerConfig {
            max_sessions: 1,
            ..ServerConfig::default()
        };
        let mut m = ServerMachine::new(config, derive_rng(1, "server"));
        m.handle_open(t(0), 1, join("a"));
        assert_eq!(
            m.handle_claim(t(0), &join("b")),
            Err(ClaimRefusal::TooManySessions)
        );
        assert_eq!(ClaimRefusal::TooManySessions.status(), 503);
        m.handle_open(t(0), 2, join("b"));
        let (tx, drops, _) = drain(&mut m);
        assert!(tx.iter().any(|(c, o)| *c == 2
            && matches!(
                o,
                Outbound::Close {
                    code: frame::CLOSE_TRY_AGAIN_LATER,
                    ..
                }
            )));
        assert_eq!(drops, [2]);
    }
}
