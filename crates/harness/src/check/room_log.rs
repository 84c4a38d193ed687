//! Checker `room_log`: what the clients see of each room's numbered log is consistent — judged
//! from client observations alone (acks with their `seq`, and deliveries), so it holds any
//! server that speaks docs/protocol.md to account.
//!
//! - **One message per number**: no two messages are given the same sequence number in a room
//!   (between server restarts).
//! - **One number per message**: a message is numbered once per server incarnation — a retry
//!   is acknowledged with the number the message first got (de-duplication). A message seen
//!   under two numbers is reported once as accepted twice, and the gap its second copy leaves
//!   at clients that drop it by id is not reported again.
//! - **No gaps inside a session**: a client whose session continues (every reconnect said
//!   `recovered: true`) sees — as a delivery, a replay, or an ack of its own — every number
//!   between two numbers it saw. A number is excused when it belongs to one of the client's own
//!   messages (whose ack it may never have read); a number nobody saw is excused as long as
//!   the client has that many messages written and never acknowledged.
//!
//! - **Nothing lost at the sender**: every message a client wrote (or buffered) is acknowledged,
//!   once the client was connected with no fault on its path for the settling time after
//!   writing it (5 s, or 4 × max latency if longer; as `delivery` judges acceptance) — a message
//!   a server drops without an ack, or a client forgets, is lost.
//!
//! A message a restarted server accepted again (its first acknowledgement lost in the crash)
//! gets a new number; a client that read it from the earlier incarnation shows it once and
//! skips the repeat, so that number is excused.
//!
//! A retried message written in an earlier session may be acknowledged with the number it got
//! then (the server remembers its ids past the session's end): that ack is no observation of
//! the current session's log.
//!
//! Sessions end where the client is told to resync (`recovered: false`), where a connection
//! brings no `resumed` at all (a new session), where a connection serves another incarnation
//! of the server than the session's, and at a crash of the client's host.
//!
//! Numbers are per server incarnation (a restarted server starts its rooms afresh). Which
//! incarnation a connection serves follows from causality: an attempt that began while
//! incarnation `k` was up (or was about to start) and completed before another server crash
//! began can only have been answered by `k`. An attempt that began before a crash and completed
//! after it is ambiguous (the old server may have answered just before it died, its reply
//! delayed in the network); what arrives on such a connection is not judged.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use crate::check::roster::Roster;
use crate::check::seq_runs::SeqRuns;
use crate::check::{CheckContext, Checker, Violation};
use crate::event::{ClientEvent, Event, EventKind, FaultDesc};
use crate::view::intern::{Id, Interner};
use crate::view::lookup::LookupMap;
use crate::view::numbering::Renumber;
use crate::view::RunView;

/// (sender, message id).
type Msg = (String, String);

/// A message: who sent it, its id, and the numbers it was seen under.
#[derive(Debug)]
struct MsgInfo {
    from: String,
    id: String,
    /// The first server incarnation seen numbering it.
    first_epoch: u32,
    /// The first number it was seen under in the latest incarnation that numbered it.
    number: (u32, u64),
    /// Seen under a second number in one incarnation (reported once).
    accepted_twice: bool,
    /// When it was last observed (it is forgotten one retention later).
    seen: Duration,
}

/// What one client saw in one session.
#[derive(Debug, Default, Clone)]
struct Session {
    /// The server epoch it belongs to.
    epoch: u32,
    /// When it began (the resync or first observation that started it).
    started: Duration,
    /// Sequence numbers seen (as runs), each with when first seen; holes already judged are
    /// closed.
    seen: SeqRuns,
    /// Own messages written in it and not acknowledged in it.
    pending: BTreeSet<String>,
    /// Whether any of its messages was acknowledged in it.
    acked_any: bool,
    /// Holes excused so far as possibly its own unacknowledged messages.
    unowned_used: usize,
    /// Whether its first unexcused gap was reported (one per session).
    reported: bool,
    /// Resumes that said `recovered: true` and replayed nothing: when, and the first number
    /// seen after each (a gap that ends there is the history the server promised and did not
    /// send). One per reconnect of the session.
    empty_replays: Vec<(Duration, Option<u64>)>,
}

#[derive(Debug, Default)]
struct View {
    host: crate::event::Host,
    /// The client's room (by number), once looked up.
    room: Option<Id>,
    session: Session,
    /// Server crashes begun when the latest attempt began.
    attempt_crashes: u32,
    /// The incarnation the live connection serves (`None`: ambiguous, or not connected).
    conn_epoch: Option<u32>,
    /// Connected, and no `resumed` read yet.
    awaiting_resume: bool,
}

/// See the module documentation.
#[derive(Debug)]
pub struct RoomLog {
    ctx: CheckContext,
    /// Server crashes begun so far: incarnation `k` runs after the `k`-th.
    crashes: u32,
    /// (epoch, room number, seq) → the number of the message it numbers and when that was
    /// last observed (looked up only; forgotten one retention later).
    numbered: LookupMap<(u32, Id, u64), (Id, Duration)>,
    /// (epoch, room number) → the highest seq whose message was forgotten: a gap there whose
    /// owner is unknown may be a forgotten message's, and is not judged.
    forgotten: LookupMap<(u32, Id), u64>,
    /// Numbers given in all (the summary's count).
    numbers_given: usize,
    /// Rooms by number.
    rooms: Interner,
    /// Sender → message id → the message's number (looked up only, by borrowed names: an
    /// observation allocates nothing once the message is known).
    msg_ids: LookupMap<String, LookupMap<String, Id>>,
    /// Message number → what is known of the message.
    msgs: LookupMap<Id, MsgInfo>,
    next_msg: Id,
    /// The judge's message numbers → this checker's.
    messages: Renumber<Id>,
    /// Every client seen.
    views: Roster<View>,
    /// (client, session, when it ended) for sessions ended and not yet judged in full.
    ended: Vec<(String, Session, Duration)>,
    observed: usize,
    /// (client, id) → when first written or buffered, until acknowledged.
    written: BTreeMap<Msg, Duration>,
    /// (client, id) acknowledged → when written and when acknowledged (forgotten one
    /// retention after).
    acked: BTreeMap<Msg, (Duration, Duration)>,
    /// Client → the host it writes from (one entry per client).
    writers: BTreeMap<String, std::sync::Arc<str>>,
    violations: Vec<Violation>,
}

impl RoomLog {
    /// A room-log checker for a run with `ctx`.
    #[must_use]
    pub fn new(ctx: CheckContext) -> Self {
        RoomLog {
            ctx,
            crashes: 0,
            numbered: LookupMap::default(),
            forgotten: LookupMap::default(),
            numbers_given: 0,
            rooms: Interner::default(),
            msg_ids: LookupMap::default(),
            msgs: LookupMap::default(),
            next_msg: 0,
            messages: Renumber::default(),
            views: Roster::default(),
            ended: Vec::new(),
            observed: 0,
            written: BTreeMap::new(),
            acked: BTreeMap::new(),
            writers: BTreeMap::new(),
            violations: Vec::new(),
        }
    }

    fn room(&self, client: &str) -> Arc<str> {
        self.ctx.room_of(client)
    }

    /// Ends the session of the client at `index` and starts a fresh one in server incarnation
    /// `epoch` at `t`.
    fn end_session(&mut self, index: usize, epoch: u32, t: Duration) {
        let (name, view) = self.views.entry_mut(index);
        let old = std::mem::take(&mut view.session);
        view.session.epoch = epoch;
        view.session.started = t;
        self.ended.push((name.to_string(), old, t));
    }

    /// A sequence number `client` observed for `msg`; `this_session`: part of what its current
    /// session saw of the log (the gap rule's input).
    #[allow(clippy::too_many_arguments)]
    fn number(
        &mut self,
        t: Duration,
        index: usize,
        epoch: u32,
        seq: u64,
        msg: (&str, &str),
        judged_msg: Option<u32>,
        this_session: bool,
    ) {
        self.observed += 1;
        let (client, view) = self.views.entry_mut(index);
        if this_session {
            view.session.seen.insert(seq, t);
            if let Some((_, first @ None)) = view.session.empty_replays.last_mut() {
                *first = Some(seq);
            }
        }
        let room = match view.room {
            Some(room) => room,
            None => {
                let room = self.rooms.id(&self.ctx.room_of(client));
                view.room = Some(room);
                room
            }
        };
        let (msg_ids, msgs, next_msg) = (&mut self.msg_ids, &mut self.msgs, &mut self.next_msg);
        let m = self.messages.get(judged_msg, || {
            let by_sender = match msg_ids.get_mut(msg.0) {
                Some(ids) => ids,
                None => msg_ids.entry(msg.0.to_string()).or_default(),
            };
            match by_sender.get(msg.1) {
                Some(&m) => m,
                None => {
                    let m = *next_msg;
                    *next_msg = m.checked_add(1).expect("fewer than 2^32 messages");
                    by_sender.insert(msg.1.to_string(), m);
                    msgs.insert(
                        m,
                        MsgInfo {
                            from: msg.0.to_string(),
                            id: msg.1.to_string(),
                            first_epoch: epoch,
                            number: (epoch, seq),
                            accepted_twice: false,
                            seen: t,
                        },
                    );
                    m
                }
            }
        });
        let Some(info) = self.msgs.get_mut(&m) else {
            return; // cannot be: a number is forgotten with its message
        };
        info.seen = t;
        info.first_epoch = info.first_epoch.min(epoch);
        let (numbered_in, first_seq) = info.number;
        if numbered_in < epoch {
            info.number = (epoch, seq); // accepted again by a restarted server: a new number
        } else if numbered_in == epoch && first_seq != seq && !info.accepted_twice {
            info.accepted_twice = true;
            let (from, id) = (&info.from, &info.id);
            self.violations.push(Violation {
                t,
                detail: format!(
                    "{from}'s message {id} was numbered twice in room {:?}: seq {first_seq}, then \
                     seq {seq} (seen by {client}) — one message accepted twice, a retry numbered \
                     anew",
                    self.rooms.name(room)
                ),
            });
        }
        match self.numbered.get_mut(&(epoch, room, seq)) {
            Some((other, _)) if *other != m => {
                let Some(MsgInfo { from, id, .. }) = self.msgs.get(other) else {
                    return;
                };
                self.violations.push(Violation {
                    t,
                    detail: format!(
                        "room {:?} gave seq {seq} to two messages: {from}/{id} and {}/{} (seen \
                         by {client})",
                        self.rooms.name(room),
                        msg.0,
                        msg.1
                    ),
                });
            }
            Some((_, seen)) => *seen = t,
            None => {
                self.numbered.insert((epoch, room, seq), (m, t));
                self.numbers_given += 1;
            }
        }
    }
}

impl Checker for RoomLog {
    fn name(&self) -> &'static str {
        "room_log"
    }

    fn observe(&mut self, event: &Event, view: &RunView) {
        let numbers = view.numbers;
        let t = event.t;
        match &event.kind {
            EventKind::Client {
                client,
                event: ClientEvent::MessageSent { msg_id },
            }
            | EventKind::Client {
                client,
                event: ClientEvent::MessageBuffered { msg_id, .. },
            } => {
                let msg = (client.clone(), msg_id.clone());
                if !self.acked.contains_key(&msg) {
                    self.written.entry(msg).or_insert(t);
                }
                if self.writers.get(client) != Some(&event.host) {
                    self.writers.insert(client.clone(), event.host.clone());
                }
            }
            EventKind::Client {
                client,
                event: ClientEvent::MessageAcked { msg_id, .. },
            } => {
                let msg = (client.clone(), msg_id.clone());
                if let Some(written) = self.written.remove(&msg) {
                    self.acked.insert(msg, (written, t));
                } else if let Some((_, acked)) = self.acked.get_mut(&msg) {
                    *acked = t;
                } else {
                    self.acked.insert(msg, (t, t));
                }
            }
            _ => {}
        }
        if let EventKind::FaultStart {
            fault: FaultDesc::Crash { host, .. },
            ..
        } = &event.kind
        {
            if host == "server" {
                self.crashes += 1;
                return;
            }
            // What its clients wrote and never saw acknowledged died with them: an outbox in
            // memory does not outlive its process.
            let writers = &self.writers;
            self.written
                .retain(|m, _| writers.get(&m.0).is_none_or(|h| &**h != host.as_str()));
            // In name order, as the sessions ended reach the report.
            for index in self.views.by_name(|v| *v.host == **host) {
                self.views.state_mut(index).conn_epoch = None;
                self.end_session(index, self.crashes, t);
            }
            return;
        }
        let Some(client) = event.kind.client() else {
            return;
        };
        let crashes = self.crashes;
        let index = self.views.index(numbers.client, client);
        let view = self.views.state_mut(index);
        if view.host != event.host {
            view.host = event.host.clone();
        }
        match &event.kind {
            EventKind::Client {
                event: ClientEvent::Connecting { .. },
                ..
            } => {
                view.attempt_crashes = crashes;
                return;
            }
            EventKind::Client {
                event: ClientEvent::Connected { .. },
                ..
            } => {
                view.conn_epoch = (view.attempt_crashes == crashes).then_some(crashes);
                view.awaiting_resume = true;
                return;
            }
            EventKind::Client {
                event: ClientEvent::Disconnected { .. },
                ..
            } => {
                view.conn_epoch = None;
                return;
            }
            EventKind::Client {
                event: ClientEvent::MessageSent { msg_id, .. },
                ..
            }
            | EventKind::Client {
                event: ClientEvent::MessageBuffered { msg_id, .. },
                ..
            } => {
                view.session.pending.insert(msg_id.clone());
                return;
            }
            _ => {}
        }
        let Some(epoch) = view.conn_epoch else {
            return; // not connected, or to an incarnation we cannot tell
        };
        let fresh = view.session.seen.is_empty() && !view.session.acked_any;
        if fresh {
            view.session.epoch = epoch;
        }
        let new_session = match &event.kind {
            EventKind::Client {
                event: ClientEvent::Resumed { recovered, .. },
                ..
            } => {
                view.awaiting_resume = false;
                !recovered || view.session.epoch != epoch
            }
            EventKind::Client {
                event: ClientEvent::MessageAcked { .. },
                ..
            }
            | EventKind::Client {
                event: ClientEvent::Message { .. },
                ..
            } => {
                let awaiting = std::mem::take(&mut view.awaiting_resume);
                awaiting || view.session.epoch != epoch
            }
            _ => return,
        };
        if new_session && !fresh {
            self.end_session(index, epoch, t);
        } else if new_session {
            view.session.started = t;
        }
        if let EventKind::Client {
            event:
                ClientEvent::Resumed {
                    recovered: true,
                    replayed: 0,
                },
            ..
        } = &event.kind
        {
            let session = &mut self.views.state_mut(index).session;
            session.empty_replays.push((t, None));
        }
        match &event.kind {
            EventKind::Client {
                event: ClientEvent::MessageAcked { msg_id, seq, .. },
                ..
            } => {
                let view = self.views.state_mut(index);
                // A second number for it is reported by `number`, once per message.
                view.session.pending.remove(msg_id);
                view.session.acked_any = true;
                // A retry of a message written in an earlier session is acknowledged with the
                // number it got then: no observation of the current session's log.
                let msg = (client.to_string(), msg_id.clone());
                let written = self.acked.get(&msg).map(|(w, _)| w);
                let started = self.views.state(index).session.started;
                let this_session = written.is_none_or(|w| *w >= started);
                let msg = (client, msg_id.as_str());
                self.number(t, index, epoch, *seq, msg, numbers.msg, this_session);
            }
            EventKind::Client {
                event:
                    ClientEvent::Message {
                        msg_id, seq, from, ..
                    },
                ..
            } => {
                let msg = (from.as_str(), msg_id.as_str());
                self.number(t, index, epoch, *seq, msg, numbers.msg, true);
            }
            _ => {}
        }
    }

    fn forget(&mut self, now: Duration, _view: &RunView) {
        let retention = self.ctx.retention();
        let (Some(horizon), Some(judge_before)) =
            (now.checked_sub(retention), now.checked_sub(retention / 2))
        else {
            return;
        };
        // Holes closed half a retention ago are judged now, while what owns their numbers is
        // still known; sessions ended before then are judged in full and dropped.
        let mut ended = std::mem::take(&mut self.ended);
        for (client, session, _) in &mut ended {
            if let Some(v) = self.judge_holes(client, session, judge_before) {
                self.violations.push(v);
            }
        }
        ended.retain(|(_, _, at)| *at >= judge_before);
        self.ended = ended;
        for index in self.views.by_name(|_| true) {
            let client = self.views.name(index).to_string();
            let mut session = std::mem::take(&mut self.views.state_mut(index).session);
            if let Some(v) = self.judge_holes(&client, &mut session, judge_before) {
                self.violations.push(v);
            }
            session.empty_replays.retain(|(at, _)| *at >= horizon);
            self.views.state_mut(index).session = session;
        }
        // Numbers and messages last observed a retention ago.
        let forgotten = &mut self.forgotten;
        self.numbered.retain(|&(epoch, room, seq), (_, seen)| {
            let keep = *seen >= horizon;
            if !keep {
                let f = forgotten.entry((epoch, room)).or_insert(seq);
                *f = (*f).max(seq);
            }
            keep
        });
        self.msgs.retain(|_, info| info.seen >= horizon);
        let msgs = &self.msgs;
        for ids in self.msg_ids.values_mut() {
            ids.retain(|_, m| msgs.contains_key(m));
        }
        self.msg_ids.retain(|_, ids| !ids.is_empty());
        self.messages.retain(|m| msgs.contains_key(&m));
        self.acked.retain(|_, (_, acked)| *acked >= horizon);
    }

    fn finish(&mut self, view: &RunView) -> Vec<Violation> {
        let mut ended = std::mem::take(&mut self.ended);
        for (client, session, _) in &mut ended {
            if let Some(v) = self.judge_holes(client, session, Duration::MAX) {
                self.violations.push(v);
            }
        }
        for index in self.views.by_name(|_| true) {
            let client = self.views.name(index).to_string();
            let mut session = std::mem::take(&mut self.views.state_mut(index).session);
            if let Some(v) = self.judge_holes(&client, &mut session, Duration::MAX) {
                self.violations.push(v);
            }
            self.views.state_mut(index).session = session;
        }
        let (settle, end) = (self.ctx.settle(), self.ctx.end);
        for (msg, t) in &self.written {
            let (client, id) = msg;
            if view.reach.had_window(client, *t, settle, end) {
                self.violations.push(Violation {
                    t: end,
                    detail: format!(
                        "{client}'s message {id} was never acknowledged, though {client} was \
                         connected with no fault on its path for {} ms after writing it (lost)",
                        settle.as_millis()
                    ),
                });
            }
        }
        let mut violations = std::mem::take(&mut self.violations);
        violations.sort_by_key(|v| v.t);
        violations
    }

    fn vacuous(&self) -> bool {
        self.observed == 0 && self.written.is_empty()
    }

    fn summary(&self) -> String {
        format!(
            "{} numbered observations, {} messages numbered",
            self.observed, self.numbers_given
        )
    }
}

mod gaps;
#[cfg(test)]
mod tests;
