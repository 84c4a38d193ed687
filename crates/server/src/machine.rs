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

#[derive(Debug)]
struct Conn {
    client_id: String,
    keepalive: Keepalive,
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
    transmits: VecDeque<(ConnId, Outbound)>,
    drops: VecDeque<ConnId>,
    events: VecDeque<ServerEvent>,
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

    /// A client asks to upgrade with `join`: whether the server will honour it. Asked before
    /// the upgrade completes, so a refused client never believes it is connected. Changes
    /// nothing but expiring overdue sessions (and the event of a refused claim).
    pub fn handle_claim(&mut self, now: MonoTime, join: &JoinRequest) -> Result<(), ClaimRefusal> {
        self.expire_sessions(now);
        self.claim(join).map(|_| ()).inspect_err(|refusal| {
            if *refusal != ClaimRefusal::TooManySessions {
                self.events.push_back(ServerEvent::ResumeRefused {
                    client: join.client_id.clone(),
                });
            }
        })
    }

    /// Judges a claim against the sessions as they are.
    fn claim(&self, join: &JoinRequest) -> Result<Claim, ClaimRefusal> {
        claim::judge(
            self.sessions.get(&join.client_id).map(|s| &s.credential),
            join,
            self.sessions.len() >= self.config.max_sessions,
            self.config.keyless_resume,
        )
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
                self.events.push_back(ServerEvent::HeartbeatTimeout {
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

    /// The next event for the timeline.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    fn open_new(&mut self, now: MonoTime, conn: ConnId, join: JoinRequest) {
        let credential = Credential::new(&join, &mut self.rng);
        let key = credential.key.clone();
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
        self.events.push_back(ServerEvent::SessionOpened {
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
            self.events.push_back(ServerEvent::HistoryReplayed {
                client: join.client_id.clone(),
                count: 0,
                recovered: false,
            });
        }
        self.events.push_back(ServerEvent::UserJoined {
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
                credential,
                conn: Some(conn),
                away_since: None,
                dedup: Dedup::default(),
            },
        );
    }

    fn resume(&mut self, now: MonoTime, conn: ConnId, join: JoinRequest) {
        let Some(session) = self.sessions.get_mut(&join.client_id) else {
            return;
        };
        session.credential.resumed_by(&join);
        let client = join.client_id;
        let old = session.conn.replace(conn);
        let was_away = session.away_since.take().is_some();
        let (username, room_name, key) = (
            session.username.clone(),
            session.room.clone(),
            session.credential.key.clone(),
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
                self.events.push_back(ServerEvent::SessionClosed {
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
        self.events.push_back(ServerEvent::SessionOpened {
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
        self.events.push_back(ServerEvent::HistoryReplayed {
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
            self.events.push_back(ServerEvent::UserReconnected {
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
        let dedup = &mut session.dedup;
        if !msg_id.is_empty() {
            dedup.expire(now, self.config.dedup_ttl);
            if let Some(seq) = dedup.seen(&msg_id) {
                self.events.push_back(ServerEvent::DuplicateDropped {
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
        self.events.push_back(ServerEvent::MessageAccepted {
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
        self.events.push_back(ServerEvent::SessionClosed {
            client: c.client_id.clone(),
            reason: reason.to_string(),
        });
        let Some(session) = self.sessions.get_mut(&c.client_id) else {
            return;
        };
        if session.conn != Some(conn) {
            return;
        }
        session.conn = None;
        session.away_since = Some(now);
        let (room, username) = (session.room.clone(), session.username.clone());
        self.events.push_back(ServerEvent::UserAway {
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
        let expired: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.away_since.is_some_and(|t| now >= t + grace))
            .map(|(id, _)| id.clone())
            .collect();
        for client in expired {
            let Some(session) = self.sessions.remove(&client) else {
                continue;
            };
            if let Some(room) = self.rooms.get_mut(&session.room) {
                room.members.remove(&client);
            }
            self.events.push_back(ServerEvent::UserLeft {
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
mod tests;
