//! Seed 002's `SessionManager` and `MessageDeduplicator`, as written — bugs included:
//!
//! - each drop schedules its own cleanup `sleep(grace)`, which a reconnect does not cancel, so
//!   a second drop within the grace period is cut short by the first drop's timer;
//! - the grace period is measured on the server's wall clock (`datetime.now()`), so a clock
//!   step moves it;
//! - de-duplication ids are one space for all clients, so one client's id suppresses
//!   another's message (and a duplicate is skipped without an acknowledgement);
//! - there is no resume secret: a client id alone claims a session, and a newer connection
//!   simply overwrites the older one, whose later drop then ends the newer connection's session;
//! - no history: a resumed client is told nothing was recovered;
//! - heartbeat: a JSON `ping` every 30 s, and no check that anything comes back.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::Message;
use wsim_proto::net::Listener;
use wsim_proto::protocol::{self, ClientMessage, ServerMessage};
use wsim_proto::query::percent_decode;
use wsim_proto::{EventSink, HostClock, LocalBoxFuture, WallSource};
use wsim_server::ServerEvent;

use crate::sim::net::SimStream;
use crate::sim::seam::{HostResult, ServerHost, ServerUnderTest};

/// Seed 002's server. See the module documentation for its bugs.
#[derive(Debug, Clone)]
pub struct NaiveServer {
    /// The grace period (`SessionManager(grace_period=30)`).
    pub grace: Duration,
    /// How long a message id is remembered (`MessageDeduplicator(ttl_seconds=300)`).
    pub dedup_ttl: Duration,
}

impl ServerUnderTest for NaiveServer {
    fn announces_timers(&self) -> bool {
        true
    }

    fn run(&self, host: ServerHost) -> LocalBoxFuture<HostResult> {
        let this = self.clone();
        Box::pin(async move {
            let ServerHost {
                mut listener,
                wall,
                events,
                ..
            } = host;
            events.emit(ServerEvent::ServerStarted {
                listen: listener.local_label(),
            });
            let manager = Rc::new(Manager {
                grace: this.grace,
                dedup_ttl: this.dedup_ttl,
                wall,
                events,
                state: RefCell::default(),
            });
            let mut next_conn = 0u64;
            loop {
                let (stream, _) = listener.accept().await?;
                next_conn += 1;
                tokio::task::spawn_local(Rc::clone(&manager).connection(stream, next_conn));
            }
        })
    }
}

/// The heartbeat period (`await asyncio.sleep(30)`).
const HEARTBEAT: Duration = Duration::from_secs(30);

/// Most frames waiting for one connection's writer; beyond it the naive server drops them
/// (Starlette's `send_json` would wait instead, stalling the broadcaster).
const OUTBOX: usize = 4096;

struct Active {
    username: String,
    room: String,
    outbox: mpsc::Sender<Message>,
}

struct Closed {
    username: String,
    room: String,
    closed_at_wall_ms: i64,
}

#[derive(Default)]
struct State {
    active: BTreeMap<String, Active>,
    closed: BTreeMap<String, Closed>,
    /// Message id → wall time first seen, for every client at once.
    seen_ids: BTreeMap<String, i64>,
    last_seq: BTreeMap<String, u64>,
}

struct Manager {
    grace: Duration,
    dedup_ttl: Duration,
    wall: WallSource,
    events: EventSink<ServerEvent>,
    state: RefCell<State>,
}

impl Manager {
    async fn connection(self: Rc<Self>, stream: SimStream, conn: u64) {
        let joined = Rc::new(RefCell::new(None::<(String, String, String)>));
        let seen = Rc::clone(&joined);
        #[allow(clippy::result_large_err)] // the callback's type is tungstenite's
        let callback = move |req: &Request, resp: Response| {
            let query = req.uri().query().unwrap_or_default();
            let param = |name: &str| {
                query.split('&').find_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    (k == name).then(|| percent_decode(v))
                })
            };
            match (param("client_id"), param("username"), param("room")) {
                // `Query(...)`: all three are required, or the upgrade is refused.
                (Some(c), Some(u), Some(r)) => {
                    *seen.borrow_mut() = Some((c, u, r));
                    Ok(resp)
                }
                _ => {
                    let mut refusal = ErrorResponse::new(Some("missing query parameters".into()));
                    *refusal.status_mut() = StatusCode::FORBIDDEN;
                    Err(refusal)
                }
            }
        };
        let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
            return;
        };
        let Some((client_id, username, room)) = joined.borrow_mut().take() else {
            return;
        };
        let (mut write, mut read) = ws.split();
        let (outbox, mut queued) = mpsc::channel(OUTBOX);
        self.connect(&client_id, &username, &room, conn, outbox.clone());
        let clock = HostClock::start();
        let mut next_ping = clock.now() + HEARTBEAT;
        let reason = loop {
            tokio::select! {
                biased;
                out = queued.recv() => {
                    let Some(out) = out else { break "closed" };
                    if write.send(out).await.is_err() {
                        break "reset";
                    }
                }
                inbound = read.next() => match inbound {
                    Some(Ok(Message::Text(text))) => self.handle_text(&client_id, &outbox, &text),
                    Some(Ok(Message::Close(_))) | None => break "closed_by_peer",
                    Some(Ok(_)) => {}
                    Some(Err(_)) => break "reset",
                },
                () = clock.sleep_until(Some(next_ping)) => {
                    next_ping = next_ping + HEARTBEAT;
                    let ping = Message::text(protocol::encode(&ServerMessage::Ping));
                    if write.send(ping).await.is_err() {
                        break "reset";
                    }
                }
            }
        };
        // The endpoint returns once `disconnect` has scheduled its cleanup; the socket closes.
        drop((write, read, queued));
        self.disconnect(&client_id, reason).await;
    }

    fn now_ms(&self) -> i64 {
        self.wall.now_unix_ms()
    }

    fn connect(
        &self,
        client_id: &str,
        username: &str,
        room: &str,
        conn: u64,
        outbox: mpsc::Sender<Message>,
    ) {
        let now = self.now_ms();
        let grace_ms = i64::try_from(self.grace.as_millis()).unwrap_or(i64::MAX);
        let mut state = self.state.borrow_mut();
        let restored = match state.closed.remove(client_id) {
            Some(closed) if now - closed.closed_at_wall_ms < grace_ms => Some(closed),
            _ => None,
        };
        let (username, room, resumed) = match &restored {
            Some(c) => (c.username.clone(), c.room.clone(), true),
            None => (username.to_string(), room.to_string(), false),
        };
        let last_seq = state.last_seq.get(&room).copied().unwrap_or(0);
        let welcome = ServerMessage::Welcome {
            client_id: client_id.to_string(),
            username: username.clone(),
            room: room.clone(),
            resume_secret: String::new(),
            recovered: false,
            replayed: 0,
            last_seq,
            // The seed article's server has no notion of incarnations.
            epoch: String::new(),
        };
        let _ = outbox.try_send(Message::text(protocol::encode(&welcome)));
        // A newer connection overwrites the older one's session.
        state.active.insert(
            client_id.to_string(),
            Active {
                username: username.clone(),
                room: room.clone(),
                outbox,
            },
        );
        self.events.emit(ServerEvent::SessionOpened {
            client: client_id.to_string(),
            room: room.clone(),
            conn,
            resumed,
        });
        let presence = if resumed {
            self.events.emit(ServerEvent::UserReconnected {
                client: client_id.to_string(),
                room: room.clone(),
            });
            ServerMessage::UserReconnected { username }
        } else {
            self.events.emit(ServerEvent::UserJoined {
                client: client_id.to_string(),
                room: room.clone(),
            });
            ServerMessage::UserJoined { username }
        };
        notify_room(&state, &room, &presence);
    }

    fn handle_text(&self, client_id: &str, outbox: &mpsc::Sender<Message>, text: &str) {
        let Ok(ClientMessage::ChatMessage { id, text, .. }) = protocol::decode(text) else {
            return;
        };
        let now = self.now_ms();
        let mut state = self.state.borrow_mut();
        let Some(me) = state.active.get(client_id) else {
            return;
        };
        let (room, username) = (me.room.clone(), me.username.clone());
        let msg_id = id.unwrap_or_default();
        if !msg_id.is_empty() {
            if state.seen_ids.contains_key(&msg_id) {
                self.events.emit(ServerEvent::DuplicateDropped {
                    client: client_id.to_string(),
                    msg_id,
                });
                return;
            }
            state.seen_ids.insert(msg_id.clone(), now);
            let ttl_ms = i64::try_from(self.dedup_ttl.as_millis()).unwrap_or(i64::MAX);
            state.seen_ids.retain(|_, t| *t > now - ttl_ms);
        }
        let seq = state.last_seq.entry(room.clone()).or_insert(0);
        *seq += 1;
        let seq = *seq;
        self.events.emit(ServerEvent::MessageAccepted {
            client: client_id.to_string(),
            msg_id: msg_id.clone(),
            seq,
        });
        let ack = ServerMessage::Ack {
            id: msg_id.clone(),
            seq,
        };
        let _ = outbox.try_send(Message::text(protocol::encode(&ack)));
        let chat = ServerMessage::ChatMessage {
            id: msg_id,
            from: client_id.to_string(),
            username,
            text,
            seq,
        };
        let encoded = protocol::encode(&chat);
        for (cid, member) in &state.active {
            if member.room == room && cid != client_id {
                let _ = member.outbox.try_send(Message::text(encoded.clone()));
            }
        }
    }

    async fn disconnect(&self, client_id: &str, reason: &str) {
        self.events.emit(ServerEvent::SessionClosed {
            client: client_id.to_string(),
            reason: reason.to_string(),
        });
        let room = {
            let mut state = self.state.borrow_mut();
            // Whatever session the client id has now — even a newer connection's.
            let Some(session) = state.active.remove(client_id) else {
                return;
            };
            let room = session.room.clone();
            let username = session.username.clone();
            state.closed.insert(
                client_id.to_string(),
                Closed {
                    username: username.clone(),
                    room: room.clone(),
                    closed_at_wall_ms: self.now_ms(),
                },
            );
            self.events.emit(ServerEvent::UserAway {
                client: client_id.to_string(),
                room: room.clone(),
            });
            notify_room(&state, &room, &ServerMessage::UserAway { username });
            room
        };
        // Schedule cleanup after the grace period (never cancelled).
        wsim_proto::clock::timer::sleep(self.grace).await;
        let mut state = self.state.borrow_mut();
        if let Some(closed) = state.closed.remove(client_id) {
            self.events.emit(ServerEvent::UserLeft {
                client: client_id.to_string(),
                room,
            });
            let left = ServerMessage::UserLeft {
                username: closed.username,
            };
            notify_room(&state, &closed.room, &left);
        }
    }
}

/// Broadcasts `msg` to every active session in `room`.
fn notify_room(state: &State, room: &str, msg: &ServerMessage) {
    let encoded = protocol::encode(msg);
    for session in state.active.values() {
        if session.room == room {
            let _ = session.outbox.try_send(Message::text(encoded.clone()));
        }
    }
}
