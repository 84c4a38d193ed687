//! The server's sans-IO state machine: connections, rooms, message numbering and broadcast,
//! and the server heartbeat. No I/O and no clock: the driver passes `now` into every
//! `handle_*` call, then drains `poll_transmit`, `poll_drop` and `poll_event`, and sleeps until
//! `poll_timeout`.
//!
//! Contract with the driver: connection numbers are never reused; after `poll_drop` names a
//! connection the driver drops it and feeds nothing more from it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::clock::MonoTime;
use crate::event::EventKind;
use crate::frame::{self, Inbound, Outbound};
use crate::keepalive::{Keepalive, KeepaliveAction};
use crate::protocol::{self, ClientMessage, DecodeError, ServerMessage};
use crate::server::config::ServerConfig;
use crate::server::join::JoinRequest;

/// The driver's number for one accepted connection.
pub type ConnId = u64;

/// How a connection ended, as the driver saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnEnd {
    /// End of stream or close frame.
    Closed,
    /// Read/write error.
    Reset,
    /// The peer sent a frame over the size limit.
    TooBig,
}

#[derive(Debug)]
struct Conn {
    join: JoinRequest,
    keepalive: Keepalive,
}

#[derive(Debug, Default)]
struct Room {
    /// Sequence number of the last accepted message.
    last_seq: u64,
    members: BTreeSet<ConnId>,
}

/// The server state machine.
#[derive(Debug)]
pub struct ServerMachine {
    config: ServerConfig,
    conns: BTreeMap<ConnId, Conn>,
    rooms: BTreeMap<String, Room>,
    transmits: VecDeque<(ConnId, Outbound)>,
    drops: VecDeque<ConnId>,
    events: VecDeque<EventKind>,
}

impl ServerMachine {
    /// An empty server.
    #[must_use]
    pub fn new(config: ServerConfig) -> Self {
        ServerMachine {
            config,
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

    /// A WebSocket handshake completed for `join` on connection `conn`.
    pub fn handle_open(&mut self, now: MonoTime, conn: ConnId, join: JoinRequest) {
        let replaced: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.join.client_id == join.client_id)
            .map(|(id, _)| *id)
            .collect();
        for old in replaced {
            self.transmits.push_back((
                old,
                Outbound::Close {
                    code: frame::CLOSE_REPLACED,
                    reason: "replaced by a newer connection".into(),
                },
            ));
            self.drop_conn(old, "replaced");
        }
        self.events.push_back(EventKind::SessionOpened {
            client: join.client_id.clone(),
            room: join.room.clone(),
            conn,
        });
        self.events.push_back(EventKind::UserJoined {
            client: join.client_id.clone(),
            room: join.room.clone(),
        });
        self.send(
            conn,
            &ServerMessage::Welcome {
                client_id: join.client_id.clone(),
                username: join.username.clone(),
                room: join.room.clone(),
                resume_secret: String::new(),
                recovered: false,
                replayed: 0,
                last_seq: 0,
            },
        );
        let presence = ServerMessage::UserJoined {
            username: join.username.clone(),
        };
        self.broadcast(&join.room, Some(conn), &presence);
        self.rooms
            .entry(join.room.clone())
            .or_default()
            .members
            .insert(conn);
        self.conns.insert(
            conn,
            Conn {
                join,
                keepalive: Keepalive::new(self.config.heartbeat, now),
            },
        );
    }

    /// A frame arrived on `conn`.
    pub fn handle_inbound(&mut self, now: MonoTime, conn: ConnId, frame: Inbound) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.keepalive.on_inbound(now);
        match frame {
            Inbound::Text(text) => self.handle_text(conn, &text),
            Inbound::Binary => self.reject(
                conn,
                frame::CLOSE_UNSUPPORTED_DATA,
                "binary frames are not supported",
                "protocol_error",
            ),
            Inbound::Close(_) => self.drop_conn(conn, "closed_by_peer"),
            Inbound::Ping | Inbound::Pong => {}
        }
    }

    /// The transport of `conn` ended.
    pub fn handle_end(&mut self, _now: MonoTime, conn: ConnId, end: ConnEnd) {
        match end {
            ConnEnd::Closed => self.drop_conn(conn, "closed_by_peer"),
            ConnEnd::Reset => self.drop_conn(conn, "reset"),
            ConnEnd::TooBig => self.reject(
                conn,
                frame::CLOSE_TOO_BIG,
                "message too big",
                "protocol_error",
            ),
        }
    }

    /// Time passed: send heartbeats and close connections whose peer went silent.
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
                    client: c.join.client_id.clone(),
                });
            }
            self.drop_conn(id, "heartbeat_timeout");
        }
    }

    /// When `handle_timeout` must next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<MonoTime> {
        self.conns
            .values()
            .filter_map(|c| c.keepalive.deadline())
            .min()
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

    fn handle_text(&mut self, conn: ConnId, text: &str) {
        if text.len() > self.config.max_message_bytes {
            self.reject(
                conn,
                frame::CLOSE_TOO_BIG,
                "message too big",
                "protocol_error",
            );
            return;
        }
        match protocol::decode::<ClientMessage>(text) {
            Ok(ClientMessage::ChatMessage { id, text, .. }) => self.accept_chat(conn, id, text),
            Ok(ClientMessage::Ping) => self.send(conn, &ServerMessage::Pong),
            Ok(ClientMessage::Pong) => {}
            Err(DecodeError::Malformed(_)) => self.reject(
                conn,
                frame::CLOSE_INVALID_PAYLOAD,
                "malformed JSON",
                "protocol_error",
            ),
            Err(DecodeError::Unsupported(message)) => {
                self.send(conn, &ServerMessage::Error { message });
            }
        }
    }

    fn accept_chat(&mut self, conn: ConnId, id: Option<String>, text: String) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let join = c.join.clone();
        let room = self.rooms.entry(join.room.clone()).or_default();
        room.last_seq += 1;
        let seq = room.last_seq;
        let msg_id = id.unwrap_or_default();
        self.events.push_back(EventKind::MessageAccepted {
            client: join.client_id.clone(),
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
            from: join.client_id,
            username: join.username,
            text,
            seq,
        };
        self.broadcast(&join.room, Some(conn), &chat);
    }

    /// Closes `conn` with `code` because of bad input, then drops it.
    fn reject(&mut self, conn: ConnId, code: u16, reason: &str, why: &'static str) {
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
        self.drop_conn(conn, why);
    }

    fn drop_conn(&mut self, conn: ConnId, reason: &'static str) {
        if self.remove(conn, reason) {
            self.drops.push_back(conn);
        }
    }

    /// Forgets `conn`, reports its session closed and tells the room. False if unknown.
    fn remove(&mut self, conn: ConnId, reason: &'static str) -> bool {
        let Some(c) = self.conns.remove(&conn) else {
            return false;
        };
        if let Some(room) = self.rooms.get_mut(&c.join.room) {
            room.members.remove(&conn);
        }
        self.events.push_back(EventKind::SessionClosed {
            client: c.join.client_id.clone(),
            reason: reason.to_string(),
        });
        self.events.push_back(EventKind::UserLeft {
            client: c.join.client_id.clone(),
            room: c.join.room.clone(),
        });
        let presence = ServerMessage::UserLeft {
            username: c.join.username,
        };
        self.broadcast(&c.join.room, None, &presence);
        true
    }

    fn send(&mut self, conn: ConnId, msg: &ServerMessage) {
        self.transmits
            .push_back((conn, Outbound::Text(protocol::encode(msg))));
    }

    fn broadcast(&mut self, room: &str, except: Option<ConnId>, msg: &ServerMessage) {
        let Some(room) = self.rooms.get(room) else {
            return;
        };
        let text = protocol::encode(msg);
        for member in &room.members {
            if Some(*member) != except {
                self.transmits
                    .push_back((*member, Outbound::Text(text.clone())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> MonoTime {
        MonoTime::from_millis(ms)
    }

    fn join(id: &str) -> JoinRequest {
        JoinRequest {
            client_id: id.into(),
            username: format!("user-{id}"),
            room: "lobby".into(),
        }
    }

    fn drain(m: &mut ServerMachine) -> (Vec<(ConnId, Outbound)>, Vec<ConnId>, Vec<EventKind>) {
        (
            std::iter::from_fn(|| m.poll_transmit()).collect(),
            std::iter::from_fn(|| m.poll_drop()).collect(),
            std::iter::from_fn(|| m.poll_event()).collect(),
        )
    }

    fn two_members() -> ServerMachine {
        let mut m = ServerMachine::new(ServerConfig::default());
        m.handle_open(t(0), 1, join("a"));
        m.handle_open(t(0), 2, join("b"));
        let _ = drain(&mut m);
        m
    }

    fn text(o: &Outbound) -> &str {
        match o {
            Outbound::Text(s) => s,
            other => panic!("not text: {other:?}"),
        }
    }

    #[test]
    fn join_welcomes_and_tells_the_room() {
        let mut m = ServerMachine::new(ServerConfig::default());
        m.handle_open(t(0), 1, join("a"));
        m.handle_open(t(0), 2, join("b"));
        let (tx, drops, events) = drain(&mut m);
        assert!(drops.is_empty());
        assert!(text(&tx[0].1).contains("\"welcome\""));
        assert!(tx
            .iter()
            .any(|(c, o)| *c == 1 && text(o) == r#"{"type":"user_joined","username":"user-b"}"#));
        assert!(events.contains(&EventKind::SessionOpened {
            client: "b".into(),
            room: "lobby".into(),
            conn: 2
        }));
    }

    #[test]
    fn chat_is_numbered_acked_and_broadcast_to_others() {
        let mut m = two_members();
        m.handle_inbound(
            t(10),
            1,
            Inbound::Text(r#"{"type":"chat_message","text":"hi","id":"a:1"}"#.into()),
        );
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

    #[test]
    fn bad_input_closes_only_that_connection_with_the_right_code() {
        for (frame, code) in [
            (
                Inbound::Text("{not json".into()),
                frame::CLOSE_INVALID_PAYLOAD,
            ),
            (Inbound::Binary, frame::CLOSE_UNSUPPORTED_DATA),
        ] {
            let mut m = two_members();
            m.handle_inbound(t(10), 1, frame);
            let (tx, drops, _) = drain(&mut m);
            assert!(
                matches!(&tx[0], (1, Outbound::Close { code: c, .. }) if *c == code),
                "{tx:?}"
            );
            assert_eq!(drops, [1]);
            assert_eq!(m.connections(), 1);
            // The other member keeps being served.
            m.handle_inbound(t(20), 2, Inbound::Text(r#"{"type":"ping"}"#.into()));
            let (tx, _, _) = drain(&mut m);
            assert_eq!(tx, [(2, Outbound::Text(r#"{"type":"pong"}"#.into()))]);
        }
        let mut m = two_members();
        m.handle_end(t(10), 2, ConnEnd::TooBig);
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
        let mut m = two_members();
        m.handle_inbound(t(10), 1, Inbound::Text(r#"{"type":"dance"}"#.into()));
        let (tx, drops, _) = drain(&mut m);
        assert!(drops.is_empty());
        assert!(text(&tx[0].1).starts_with(r#"{"type":"error""#));
        assert_eq!(m.connections(), 2);
    }

    #[test]
    fn heartbeat_pings_then_drops_a_silent_connection() {
        let mut m = two_members();
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
        assert!(events.contains(&EventKind::SessionClosed {
            client: "a".into(),
            reason: "heartbeat_timeout".into()
        }));
    }

    #[test]
    fn a_newer_connection_takes_over() {
        let mut m = two_members();
        m.handle_open(t(10), 3, join("a"));
        let (tx, drops, _) = drain(&mut m);
        assert!(matches!(
            &tx[0],
            (
                1,
                Outbound::Close {
                    code: frame::CLOSE_REPLACED,
                    ..
                }
            )
        ));
        assert_eq!(drops, [1]);
        assert_eq!(m.connections(), 2);
    }
}
