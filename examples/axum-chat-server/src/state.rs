//! Sessions and rooms: who holds which session (key, attempt, grace), consecutive room numbers
//! with a bounded history for replay, per-session de-duplication. No I/O and no tasks: frames
//! go into the connections' outboxes, and the grace timers it asks for are the caller's to run.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use wsim_time::Instant;

use crate::frames::Frame;
use crate::keys::Keys;
use crate::outbox::Outbox;
use crate::{PlantedBug, Settings, MAX_SESSIONS};

/// Close code for a connection that was taken over by a newer one.
pub(crate) const REPLACED: u16 = 4000;

/// A session is one client's place in one room.
pub(crate) type SessionId = (String, String);

/// A connection attempt, as its query said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) room: String,
    pub(crate) username: String,
    pub(crate) client_id: String,
    pub(crate) key: Option<String>,
    pub(crate) attempt: Option<u64>,
    pub(crate) last_seq: Option<u64>,
    pub(crate) epoch: Option<String>,
}

impl Request {
    pub(crate) fn session(&self) -> SessionId {
        (self.room.clone(), self.client_id.clone())
    }
}

/// Why an attempt is not honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// HTTP 409: a claim of an existing session the server will not honour.
    Conflict(&'static str),
    /// HTTP 503: the session limit is reached.
    Full,
}

/// A grace timer to run: at `deadline`, call [`State::expire`] with `id` and `drop`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grace {
    pub(crate) id: SessionId,
    pub(crate) drop: u64,
    pub(crate) deadline: Instant,
}

/// Message ids a session has had numbered, remembered for `ttl` and at most `limit` of them.
#[derive(Debug, Default)]
struct Dedup {
    order: VecDeque<(Instant, String)>,
    seqs: BTreeMap<String, u64>,
}

impl Dedup {
    fn forget_old(&mut self, now: Instant, settings: &Settings) {
        while let Some((at, id)) = self.order.front() {
            if self.order.len() <= settings.dedup_limit && now < *at + settings.dedup_ttl {
                break;
            }
            self.seqs.remove(id);
            self.order.pop_front();
        }
    }

    fn insert(&mut self, id: &str, seq: u64, now: Instant, settings: &Settings) {
        self.seqs.insert(id.to_owned(), seq);
        self.order.push_back((now, id.to_owned()));
        self.forget_old(now, settings);
    }

    fn clear(&mut self) {
        self.order.clear();
        self.seqs.clear();
    }
}

/// A numbered message kept for replay.
#[derive(Debug)]
struct Kept {
    seq: u64,
    from: String,
    frame: Utf8Bytes,
}

#[derive(Debug, Default)]
struct Room {
    /// The latest number given; numbers are consecutive from 1.
    latest: u64,
    /// The last `history_limit` messages, oldest first.
    history: VecDeque<Kept>,
    /// The `client_id`s with a session here, live or away.
    members: BTreeSet<String>,
}

impl Room {
    /// Whether a client that read up to `from` can be replayed everything after it.
    fn reaches_back_to(&self, from: u64) -> bool {
        let first_kept = self.history.front().map_or(self.latest + 1, |k| k.seq);
        from + 1 >= first_kept
    }
}

#[derive(Debug)]
struct Session {
    username: String,
    key: String,
    /// Opened with a key the client chose (never resumed without it).
    keyed: bool,
    /// The `attempt` of the connection that last opened or resumed it.
    attempt: Option<u64>,
    conn: Option<Arc<Outbox>>,
    /// Counts the drops; a grace timer ends the session only if it is the latest drop's.
    drops: u64,
    grace_until: Option<Instant>,
    /// The room's latest number when the session opened: replay never reaches before it
    /// unless the client says it read that far.
    opened_at: u64,
    /// For keyless clients: the last room number the server knows the client read.
    read_mark: u64,
    dedup: Dedup,
}

/// The server's whole state.
#[derive(Debug)]
pub(crate) struct State {
    settings: Settings,
    epoch: String,
    keys: Keys,
    sessions: BTreeMap<SessionId, Session>,
    rooms: BTreeMap<String, Room>,
    /// Rooms whose last session ended, oldest first: their numbering is kept, no more.
    emptied: VecDeque<String>,
    /// The de-duplication memory of expired sessions, for the same client's next session.
    retired: BTreeMap<SessionId, Dedup>,
    retired_order: VecDeque<SessionId>,
}

impl State {
    pub(crate) fn new(settings: Settings, key_seed: u64) -> Self {
        let mut keys = Keys::new(key_seed);
        State {
            epoch: keys.epoch(),
            keys,
            settings,
            sessions: BTreeMap::new(),
            rooms: BTreeMap::new(),
            emptied: VecDeque::new(),
            retired: BTreeMap::new(),
            retired_order: VecDeque::new(),
        }
    }

    /// Whether `req` would be honoured now (before the upgrade).
    pub(crate) fn check(&mut self, req: &Request, now: Instant) -> Result<(), Refusal> {
        let id = req.session();
        self.expire_if_due(&id, now);
        let Some(session) = self.sessions.get(&id) else {
            return if self.sessions.len() >= MAX_SESSIONS {
                Err(Refusal::Full)
            } else {
                Ok(())
            };
        };
        match &req.key {
            Some(key) if *key == session.key => {}
            Some(_) => return Err(Refusal::Conflict("the session is held with another key")),
            None if session.keyed => {
                return Err(Refusal::Conflict(
                    "the session was opened with a key: present it",
                ))
            }
            None => {} // keyless resume by client_id (the seed article's contract)
        }
        if let (Some(attempt), Some(last)) = (req.attempt, session.attempt) {
            if attempt <= last {
                return Err(Refusal::Conflict(
                    "stale attempt: a newer one holds the session",
                ));
            }
        }
        Ok(())
    }

    /// Attaches the upgraded connection `conn` to the session `req` opens or resumes: queues
    /// the `welcome` and the replay, tells the room. Refused when the claim stopped being
    /// acceptable since [`State::check`].
    pub(crate) fn attach(
        &mut self,
        req: &Request,
        conn: &Arc<Outbox>,
        now: Instant,
    ) -> Result<(), Refusal> {
        self.check(req, now)?;
        let id = req.session();
        if self.sessions.contains_key(&id) {
            self.resume(req, &id, conn);
        } else {
            self.open(req, &id, conn, now);
        }
        Ok(())
    }

    fn room(&mut self, name: &str) -> &mut Room {
        if !self.rooms.contains_key(name) {
            self.rooms.insert(name.to_owned(), Room::default());
        }
        self.rooms.get_mut(name).expect("inserted above")
    }

    fn open(&mut self, req: &Request, id: &SessionId, conn: &Arc<Outbox>, now: Instant) {
        let key = match &req.key {
            Some(key) => key.clone(),
            None => self.keys.session_key(),
        };
        self.emptied.retain(|room| *room != req.room);
        let mut dedup = self.retired.remove(id).unwrap_or_default();
        dedup.forget_old(now, &self.settings);
        let room = self.room(&req.room);
        room.members.insert(req.client_id.clone());
        let latest = room.latest;
        conn.start_marks(latest);
        conn.push_opening([(
            Frame::Welcome {
                client_id: &req.client_id,
                username: &req.username,
                room: &req.room,
                resume_secret: &key,
                recovered: false,
                replayed: 0,
                last_seq: latest,
                epoch: &self.epoch,
            }
            .encode(),
            None,
        )]);
        self.sessions.insert(
            id.clone(),
            Session {
                username: req.username.clone(),
                key,
                keyed: req.key.is_some(),
                attempt: req.attempt,
                conn: Some(Arc::clone(conn)),
                drops: 0,
                grace_until: None,
                opened_at: latest,
                read_mark: latest,
                dedup,
            },
        );
        let joined = Frame::UserJoined {
            username: &req.username,
        };
        self.tell_room(&req.room, Some(&req.client_id), &joined.encode());
    }

    fn resume(&mut self, req: &Request, id: &SessionId, conn: &Arc<Outbox>) {
        let session = self.sessions.get_mut(id).expect("checked by the caller");
        let was_away = match session.conn.take() {
            Some(old) => {
                // A takeover breaks the old connection: only what a pong proved is read.
                session.read_mark = old.read_mark(false);
                old.close(REPLACED, "replaced");
                false
            }
            None => true,
        };
        if self.settings.planted_bug == Some(PlantedBug::ForgetsDedupOnResume) {
            session.dedup.clear();
        }
        session.attempt = req.attempt;
        session.drops += 1;
        session.grace_until = None;
        session.conn = Some(Arc::clone(conn));
        let room = self.rooms.get(&req.room).expect("a session's room exists");
        // Where the client's reading stopped, as far as the server can tell (`None`: it cannot
        // be replayed what it missed, and must resync).
        let from = match (req.last_seq, &req.epoch) {
            (Some(_), Some(epoch)) if *epoch != self.epoch => Some(session.opened_at),
            (Some(seen), _) if seen > room.latest => None,
            (Some(seen), _) => Some(seen),
            (None, _) if req.key.is_some() => Some(session.opened_at),
            (None, _) => Some(session.read_mark),
        }
        .filter(|&from| room.reaches_back_to(from));
        let replay: Vec<_> = match from {
            Some(from) => room
                .history
                .iter()
                .filter(|kept| kept.seq > from && kept.from != req.client_id)
                .map(|kept| (kept.frame.clone(), Some(kept.seq)))
                .collect(),
            None => Vec::new(),
        };
        conn.start_marks(from.unwrap_or(room.latest));
        let welcome = Frame::Welcome {
            client_id: &req.client_id,
            username: &session.username,
            room: &req.room,
            resume_secret: &session.key,
            recovered: from.is_some(),
            replayed: replay.len(),
            last_seq: room.latest,
            epoch: &self.epoch,
        };
        conn.push_opening(std::iter::once((welcome.encode(), None)).chain(replay));
        if was_away {
            let back = Frame::UserReconnected {
                username: &session.username,
            }
            .encode();
            self.tell_room(&req.room, Some(&req.client_id), &back);
        }
    }

    /// The connection `conn_id` of session `id` ended; `read_mark` is the last room number
    /// its client is known to have read. Returns the grace timer to run, unless the
    /// connection no longer held the session (it was taken over).
    pub(crate) fn detach(
        &mut self,
        id: &SessionId,
        conn_id: u64,
        read_mark: u64,
        now: Instant,
    ) -> Option<Grace> {
        let session = self.sessions.get_mut(id)?;
        if session.conn.as_ref().map(|c| c.id()) != Some(conn_id) {
            return None;
        }
        session.conn = None;
        session.read_mark = read_mark;
        session.drops += 1;
        let deadline = now + self.settings.grace;
        session.grace_until = Some(deadline);
        let grace = Grace {
            id: id.clone(),
            drop: session.drops,
            deadline,
        };
        let away = Frame::UserAway {
            username: &session.username,
        }
        .encode();
        self.tell_room(&id.0, Some(&id.1), &away);
        Some(grace)
    }

    /// A grace timer fired: ends the session if it is still away since drop `drop`.
    pub(crate) fn expire(&mut self, id: &SessionId, drop: u64, now: Instant) {
        let due = self.sessions.get(id).is_some_and(|s| {
            s.drops == drop && s.conn.is_none() && s.grace_until.is_some_and(|end| now >= end)
        });
        if due {
            self.end_session(id, now);
        }
    }

    fn expire_if_due(&mut self, id: &SessionId, now: Instant) {
        let due = self
            .sessions
            .get(id)
            .is_some_and(|s| s.conn.is_none() && s.grace_until.is_some_and(|end| now >= end));
        if due {
            self.end_session(id, now);
        }
    }

    fn end_session(&mut self, id: &SessionId, now: Instant) {
        let Some(mut session) = self.sessions.remove(id) else {
            return;
        };
        let left = Frame::UserLeft {
            username: &session.username,
        }
        .encode();
        self.tell_room(&id.0, Some(&id.1), &left);
        session.dedup.forget_old(now, &self.settings);
        self.retire(id.clone(), session.dedup, now);
        let room = self.rooms.get_mut(&id.0).expect("a session's room exists");
        room.members.remove(&id.1);
        if room.members.is_empty() {
            room.history.clear();
            self.emptied.push_back(id.0.clone());
            while self.emptied.len() > MAX_SESSIONS {
                if let Some(oldest) = self.emptied.pop_front() {
                    self.rooms.remove(&oldest);
                }
            }
        }
    }

    fn retire(&mut self, id: SessionId, dedup: Dedup, now: Instant) {
        // Forget what has expired (oldest retirements first), then keep at most MAX_SESSIONS.
        while let Some(oldest) = self.retired_order.front() {
            let expired = self.retired.get_mut(oldest).is_none_or(|d| {
                d.forget_old(now, &self.settings);
                d.order.is_empty()
            });
            if !expired && self.retired_order.len() < MAX_SESSIONS {
                break;
            }
            if let Some(oldest) = self.retired_order.pop_front() {
                self.retired.remove(&oldest);
            }
        }
        if dedup.order.is_empty() {
            return;
        }
        self.retired_order.retain(|other| *other != id);
        self.retired_order.push_back(id.clone());
        self.retired.insert(id, dedup);
    }

    /// A chat message `msg_id` from the connection `conn_id` of session `id`: numbered, kept,
    /// acknowledged and sent to the room — or, seen before, acknowledged with its number.
    pub(crate) fn message(
        &mut self,
        id: &SessionId,
        conn_id: u64,
        msg_id: &str,
        text: &str,
        now: Instant,
    ) {
        let Some(session) = self.sessions.get_mut(id) else {
            return;
        };
        let Some(conn) = session.conn.clone().filter(|c| c.id() == conn_id) else {
            return; // a replaced connection, being closed
        };
        session.dedup.forget_old(now, &self.settings);
        if let Some(&seq) = session.dedup.seqs.get(msg_id) {
            conn.push(Frame::Ack { id: msg_id, seq }.encode(), Some(seq));
            return;
        }
        let room = self.rooms.get_mut(&id.0).expect("a session's room exists");
        room.latest += 1;
        let seq = room.latest;
        session.dedup.insert(msg_id, seq, now, &self.settings);
        let frame = Frame::ChatMessage {
            id: msg_id,
            from: &id.1,
            username: &session.username,
            text,
            seq,
        }
        .encode();
        if self.settings.history_limit > 0 {
            room.history.push_back(Kept {
                seq,
                from: id.1.clone(),
                frame: frame.clone(),
            });
            while room.history.len() > self.settings.history_limit {
                room.history.pop_front();
            }
        }
        conn.push(Frame::Ack { id: msg_id, seq }.encode(), Some(seq));
        for member in &room.members {
            if *member == id.1 {
                continue;
            }
            let other = self.sessions.get(&(id.0.clone(), member.clone()));
            if let Some(out) = other.and_then(|s| s.conn.as_ref()) {
                out.push(frame.clone(), Some(seq));
            }
        }
    }

    /// Sends `frame` to every live member of `room` but `except`.
    fn tell_room(&self, room: &str, except: Option<&str>, frame: &Utf8Bytes) {
        let Some(members) = self.rooms.get(room).map(|r| &r.members) else {
            return;
        };
        for member in members {
            if Some(member.as_str()) == except {
                continue;
            }
            let session = self.sessions.get(&(room.to_owned(), member.clone()));
            if let Some(out) = session.and_then(|s| s.conn.as_ref()) {
                out.push(frame.clone(), None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::ws::Message;
    use std::time::Duration;

    fn req(client_id: &str, attempt: u64, last_seq: Option<u64>) -> Request {
        Request {
            room: "r".into(),
            username: client_id.to_uppercase(),
            client_id: client_id.into(),
            key: Some(format!("key-{client_id}")),
            attempt: Some(attempt),
            last_seq,
            epoch: None,
        }
    }

    fn conn(id: u64) -> Arc<Outbox> {
        Arc::new(Outbox::new(id, 100, 1 << 20))
    }

    /// The frames queued for `out`, as `type` plus `seq` when it has one.
    fn drain(out: &Outbox) -> Vec<String> {
        std::iter::from_fn(|| out.pop())
            .map(|m| match m {
                Message::Text(t) => {
                    let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
                    match v["seq"].as_u64() {
                        Some(seq) => format!("{} {seq}", v["type"].as_str().unwrap()),
                        None => v["type"].as_str().unwrap().to_owned(),
                    }
                }
                other => format!("{other:?}"),
            })
            .collect()
    }

    fn retry_after_resume(bug: Option<PlantedBug>) -> Vec<String> {
        let settings = Settings {
            planted_bug: bug,
            ..Settings::default()
        };
        let mut state = State::new(settings, 1);
        let now = Instant::now();
        let (a, b) = (conn(1), conn(2));
        state.attach(&req("a", 1, None), &a, now).unwrap();
        state.attach(&req("b", 1, None), &b, now).unwrap();
        state.message(&("r".into(), "a".into()), 1, "a:1", "hi", now);
        // The ack is lost with the link; the client resumes and retries.
        let id = ("r".to_owned(), "a".to_owned());
        assert!(state.detach(&id, 1, 0, now).is_some());
        let a2 = conn(3);
        state.attach(&req("a", 2, Some(0)), &a2, now).unwrap();
        state.message(&id, 3, "a:1", "hi", now);
        drain(&a2).into_iter().chain(drain(&b)).collect()
    }

    #[test]
    fn a_message_retried_after_a_resume_keeps_its_number_unless_the_bug_is_planted() {
        assert_eq!(
            retry_after_resume(None),
            [
                "welcome",
                "ack 1",
                "welcome",
                "chat_message 1",
                "user_away",
                "user_reconnected"
            ]
        );
        let buggy = retry_after_resume(Some(PlantedBug::ForgetsDedupOnResume));
        assert_eq!(buggy[1], "ack 2");
        assert_eq!(buggy.last().unwrap(), "chat_message 2");
    }

    #[test]
    fn claims_are_checked_and_only_the_latest_drops_grace_timer_ends_a_session() {
        let mut state = State::new(Settings::default(), 1);
        let now = Instant::now();
        let id = ("r".to_owned(), "a".to_owned());
        state.attach(&req("a", 5, None), &conn(1), now).unwrap();
        let stale = state.check(&req("a", 5, None), now);
        assert_eq!(
            stale,
            Err(Refusal::Conflict(
                "stale attempt: a newer one holds the session"
            ))
        );
        let other_key = Request {
            key: Some("x".into()),
            ..req("a", 9, None)
        };
        assert!(matches!(
            state.check(&other_key, now),
            Err(Refusal::Conflict(_))
        ));
        let keyless = Request {
            key: None,
            ..req("a", 9, None)
        };
        assert!(matches!(
            state.check(&keyless, now),
            Err(Refusal::Conflict(_))
        ));
        let first = state.detach(&id, 1, 0, now).unwrap();
        state.attach(&req("a", 6, None), &conn(2), now).unwrap();
        state.message(&id, 2, "a:1", "m", now);
        let later = now + Duration::from_secs(10);
        let second = state.detach(&id, 2, 0, later).unwrap();
        state.expire(&first.id, first.drop, first.deadline);
        assert!(state.sessions.contains_key(&id));
        state.expire(&second.id, second.drop, second.deadline);
        assert!(!state.sessions.contains_key(&id));
        // A new session: its message ids came along for the rest of their 300 s.
        let c = conn(3);
        state
            .attach(&req("a", 1, Some(3)), &c, second.deadline)
            .unwrap();
        state.message(&id, 3, "a:1", "m", second.deadline);
        assert_eq!(drain(&c), ["welcome", "ack 1"]);
    }

    #[test]
    fn replay_is_bounded_by_the_history_and_a_gap_beyond_it_is_not_recovered() {
        let settings = Settings {
            history_limit: 2,
            ..Settings::default()
        };
        let mut state = State::new(settings, 1);
        let now = Instant::now();
        let (a, b) = (conn(1), conn(2));
        state.attach(&req("a", 1, None), &a, now).unwrap();
        state.attach(&req("b", 1, None), &b, now).unwrap();
        let b_id = ("r".to_owned(), "b".to_owned());
        state.detach(&b_id, 2, 0, now).unwrap();
        for n in 1..=3 {
            state.message(&("r".into(), "a".into()), 1, &format!("a:{n}"), "m", now);
        }
        let (b2, b3, b4) = (conn(3), conn(4), conn(5));
        state.attach(&req("b", 2, Some(1)), &b2, now).unwrap();
        assert_eq!(drain(&b2), ["welcome", "chat_message 2", "chat_message 3"]);
        state.attach(&req("b", 3, Some(0)), &b3, now).unwrap();
        assert_eq!(drain(&b3), ["welcome"]); // recovered: false
        state.attach(&req("b", 4, Some(9)), &b4, now).unwrap();
        assert_eq!(drain(&b4), ["welcome"]); // a number from another incarnation
    }
}
