//! Sessions and rooms: who may connect as whom, the grace period after a drop, room sequence
//! numbers, history for replay and per-session de-duplication.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;

use tokio::sync::mpsc::UnboundedSender;
use wsim_time::Instant;

use crate::admit::{Refusal, Request};
use crate::wire::{self, ChatOut, Welcome};
use crate::{PlantedBug, Settings};

/// What a connection's writer is asked to send.
#[derive(Debug)]
pub(crate) enum Out {
    Text(String),
    /// A close frame with this code and reason; the connection ends after it.
    Close(u16, &'static str),
}

/// The sending half of a live connection.
#[derive(Clone)]
pub(crate) struct Live {
    pub conn: u64,
    pub out: UnboundedSender<Out>,
    /// Frames queued and not yet written (bounded by `send_queue_frames`).
    pub queued: Rc<Cell<usize>>,
}

struct Session {
    key: String,
    /// Whether the client presented the key (rather than the server drawing it).
    keyed: bool,
    username: String,
    room: String,
    live: Option<Live>,
    /// The `attempt` of the connection that last opened or resumed the session.
    attempt: Option<u64>,
    /// Bumped at every drop and every resume: a grace timer acts only for its own drop.
    away_epoch: u64,
    dedup: Dedup,
}

#[derive(Default)]
struct Dedup {
    ids: BTreeMap<String, u64>,
    order: VecDeque<(Instant, String)>,
}

#[derive(Default)]
struct Room {
    members: BTreeSet<String>,
    last_seq: u64,
    history: VecDeque<ChatOut>,
}

#[derive(Default)]
struct State {
    sessions: BTreeMap<String, Session>,
    rooms: BTreeMap<String, Room>,
    next_conn: u64,
    key_stream: u64,
}

/// The server's shared state (one per server, shared by its connections' tasks).
pub(crate) struct Server {
    pub settings: Settings,
    state: RefCell<State>,
}

impl Server {
    pub(crate) fn new(settings: Settings, key_seed: u64) -> Self {
        Server {
            settings,
            state: RefCell::new(State {
                key_stream: key_seed,
                ..State::default()
            }),
        }
    }

    /// Whether `req` may connect now: `Err` is the HTTP answer that refuses it.
    pub(crate) fn check(&self, req: &Request) -> Result<(), Refusal> {
        let state = self.state.borrow();
        let Some(session) = state.sessions.get(&req.client_id) else {
            return Ok(());
        };
        match &req.key {
            Some(key) if *key != session.key => {
                return Err(Refusal::new(
                    409,
                    "this client id's session has another key",
                ))
            }
            // A keyless claim resumes only a session opened without a key.
            None if session.keyed => {
                return Err(Refusal::new(409, "this session needs its key"));
            }
            _ => {}
        }
        if let (Some(attempt), Some(last)) = (req.attempt, session.attempt) {
            if attempt <= last {
                return Err(Refusal::new(409, "stale attempt"));
            }
        }
        Ok(())
    }

    /// Attaches an upgraded connection: a new session or a resumed one. Writes `welcome`
    /// (and any replay) to `out`; `Err` when the claim became unacceptable meanwhile.
    pub(crate) fn attach(
        &self,
        req: &Request,
        out: UnboundedSender<Out>,
        queued: Rc<Cell<usize>>,
    ) -> Result<u64, Refusal> {
        self.check(req)?;
        let mut state = self.state.borrow_mut();
        state.next_conn += 1;
        let live = Live {
            conn: state.next_conn,
            out,
            queued,
        };
        let State {
            sessions,
            rooms,
            key_stream,
            ..
        } = &mut *state;
        let resumed = sessions.contains_key(&req.client_id);
        if !resumed {
            let key = req.key.clone().unwrap_or_else(|| draw_key(key_stream));
            sessions.insert(
                req.client_id.clone(),
                Session {
                    key,
                    keyed: req.key.is_some(),
                    username: req.username.clone(),
                    room: req.room.clone(),
                    live: None,
                    attempt: None,
                    away_epoch: 0,
                    dedup: Dedup::default(),
                },
            );
        }
        let session = sessions.get_mut(&req.client_id).expect("just ensured");
        let room_name = session.room.clone();
        let room = rooms.entry(room_name.clone()).or_default();
        let was_away = session.live.is_none();
        if let Some(old) = session.live.replace(live.clone()) {
            let _ = old.out.send(Out::Close(4000, "replaced"));
        }
        session.attempt = req.attempt.or(session.attempt);
        session.away_epoch += 1;
        let oldest = room.history.front().map_or(room.last_seq + 1, |m| m.seq);
        let since = req.last_seq.unwrap_or(room.last_seq);
        // A `last_seq` beyond the room's latest number is from before a server restart (the
        // session was opened since, e.g. by a ghost attempt whose welcome the client never
        // read): the client must resync, or it would take new numbers for ones it has seen.
        let recovered = resumed && since <= room.last_seq && since + 1 >= oldest;
        let replay: Vec<&ChatOut> = if recovered {
            room.history
                .iter()
                .filter(|m| m.seq > since && m.from != req.client_id)
                .collect()
        } else {
            Vec::new()
        };
        let welcome = wire::welcome(&Welcome {
            client_id: &req.client_id,
            username: &session.username,
            room: &session.room,
            key: &session.key,
            recovered,
            replayed: replay.len(),
            last_seq: room.last_seq,
        });
        send(&live, welcome, self.settings.send_queue_frames);
        for m in replay {
            send(&live, wire::chat(m), self.settings.send_queue_frames);
        }
        let news = if !resumed {
            room.members.insert(req.client_id.clone());
            Some(wire::presence("user_joined", &session.username))
        } else if was_away {
            Some(wire::presence("user_reconnected", &session.username))
        } else {
            None // a takeover: presence does not change
        };
        if let Some(news) = news {
            let room = &rooms[&room_name];
            broadcast(
                sessions,
                room,
                &req.client_id,
                &news,
                self.settings.send_queue_frames,
            );
        }
        Ok(live.conn)
    }

    /// Connection `conn` of `client` ended: if it was the session's live one, the session
    /// goes away for the grace period. Returns the grace timer's epoch to pass to
    /// [`Server::expire`] when the period is over.
    pub(crate) fn detach(&self, client: &str, conn: u64) -> Option<u64> {
        let mut state = self.state.borrow_mut();
        let State {
            sessions, rooms, ..
        } = &mut *state;
        let session = sessions.get_mut(client)?;
        if session.live.as_ref().map(|l| l.conn) != Some(conn) {
            return None; // replaced: the session lives on in the newer connection
        }
        session.live = None;
        session.away_epoch += 1;
        let epoch = session.away_epoch;
        let away = wire::presence("user_away", &session.username);
        let room = rooms.get(&session.room)?;
        broadcast(
            sessions,
            room,
            client,
            &away,
            self.settings.send_queue_frames,
        );
        Some(epoch)
    }

    /// The grace period of `client`'s drop number `epoch` is over: the session ends unless
    /// it came back (or dropped again, which restarted the period).
    pub(crate) fn expire(&self, client: &str, epoch: u64) {
        let mut state = self.state.borrow_mut();
        let State {
            sessions, rooms, ..
        } = &mut *state;
        let Some(session) = sessions.get(client) else {
            return;
        };
        let latest = session.away_epoch == epoch
            || self.settings.planted_bug == Some(PlantedBug::StaleGraceTimer);
        if session.live.is_some() || !latest {
            return;
        }
        let session = sessions.remove(client).expect("present");
        if let Some(room) = rooms.get_mut(&session.room) {
            room.members.remove(client);
            let left = wire::presence("user_left", &session.username);
            broadcast(
                sessions,
                room,
                client,
                &left,
                self.settings.send_queue_frames,
            );
        }
    }

    /// A chat message from `client` on connection `conn`: acknowledged, numbered and
    /// broadcast once; a repeated id is acknowledged again with its first number.
    pub(crate) fn chat(&self, client: &str, conn: u64, id: String, text: String) {
        let settings = &self.settings;
        let now = Instant::now();
        let mut state = self.state.borrow_mut();
        let State {
            sessions, rooms, ..
        } = &mut *state;
        let Some(session) = sessions.get_mut(client) else {
            return;
        };
        let Some(live) = session.live.clone().filter(|l| l.conn == conn) else {
            return; // a replaced connection's late frame
        };
        let dedup = &mut session.dedup;
        while let Some((at, old)) = dedup.order.front() {
            if *at + settings.dedup_ttl > now && dedup.ids.len() <= settings.dedup_limit {
                break;
            }
            dedup.ids.remove(old);
            dedup.order.pop_front();
        }
        if let Some(seq) = dedup.ids.get(&id) {
            send(&live, wire::ack(&id, *seq), settings.send_queue_frames);
            return;
        }
        let Some(room) = rooms.get_mut(&session.room) else {
            return;
        };
        room.last_seq += 1;
        let message = ChatOut {
            seq: room.last_seq,
            from: client.to_string(),
            id: id.clone(),
            username: session.username.clone(),
            text,
        };
        room.history.push_back(message.clone());
        if room.history.len() > settings.history_limit {
            room.history.pop_front();
        }
        dedup.ids.insert(id.clone(), message.seq);
        dedup.order.push_back((now, id.clone()));
        send(
            &live,
            wire::ack(&id, message.seq),
            settings.send_queue_frames,
        );
        let frame = wire::chat(&message);
        let room_name = session.room.clone();
        broadcast(
            sessions,
            &rooms[&room_name],
            client,
            &frame,
            settings.send_queue_frames,
        );
    }
}

/// Queues `text` for `live`; a connection whose queue is full is closed with 1013.
fn send(live: &Live, text: String, limit: usize) {
    if live.queued.get() >= limit {
        let _ = live.out.send(Out::Close(1013, "reading too slowly"));
        return;
    }
    live.queued.set(live.queued.get() + 1);
    let _ = live.out.send(Out::Text(text));
}

/// Sends `text` to every live member of `room` but `except`.
fn broadcast(
    sessions: &BTreeMap<String, Session>,
    room: &Room,
    except: &str,
    text: &str,
    limit: usize,
) {
    for member in room.members.iter().filter(|m| *m != except) {
        if let Some(live) = sessions.get(member).and_then(|s| s.live.as_ref()) {
            send(live, text.to_string(), limit);
        }
    }
}

/// A session key for a client that brought none: 16 bytes as hex, from a splitmix64 stream.
fn draw_key(stream: &mut u64) -> String {
    let mut next = || {
        *stream = stream.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *stream;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    format!("{:016x}{:016x}", next(), next())
}
