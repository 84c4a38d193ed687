//! Checker `delivery`: exactly-once, ordered delivery through the room.
//!
//! - No loss at the sender: every message a client sent (or buffered) is accepted by the
//!   server.
//! - No duplicate effect: no message is accepted twice by one server (a restarted server
//!   remembers nothing, so acceptance is judged per `server_started` epoch).
//! - Every accepted message reaches each other member of the room whose session was open
//!   when it was accepted — live or away within its grace period — unless that member was
//!   told to resync (`resumed` with `recovered: false`) or its session ended (`user_left`),
//!   or the server restarted.
//! - No client receives the same message twice, and each receives in increasing sequence
//!   order (so per sender in order) until it is told to resync.
//!
//! Message ids are only unique per sender, so every message is identified by (sender, id).
//!
//! A server that reports no session events is judged from what its clients saw: a message is
//! accepted when its sender is acknowledged, no client receives one twice or out of order, and
//! none is lost at the sender. It is owed to every other member of the room whose link was up
//! from at least the settling time before the acknowledgement (its session began before the
//! message was accepted) and still up then: a member connected throughout must receive it.
//! Members who joined or dropped around it need the server's sessions to judge; `room_log`
//! judges the gaps they saw.
//!
//! A message is judged lost, or a delivery missing, only once its sender (receiver) was
//! connected with no fault on its path for the settling time (5 s, or 4 × max latency if
//! longer) after it was sent (accepted): a message held up by a fault that heals as the run
//! ends is late, not lost.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::check::seq_runs::SeqRuns;
use crate::check::{CheckContext, Checker, Violation};
use crate::event::{ClientEvent, Event, EventKind, ServerEvent};
use crate::view::intern::{ForgettingInterner, Id, Interner};
use crate::view::lookup::{LookupMap, LookupSet};
use crate::view::numbering::Renumber;
use crate::view::RunView;

/// A message: its sender's number in the high half, its id's number in the low half.
type Msg = u64;

fn msg(sender: Id, id: Id) -> Msg {
    (u64::from(sender) << 32) | u64::from(id)
}

fn sender_of(m: Msg) -> Id {
    Id::try_from(m >> 32).unwrap_or(Id::MAX)
}

fn id_of(m: Msg) -> Id {
    Id::try_from(m & u64::from(u32::MAX)).unwrap_or(Id::MAX)
}

/// See the module documentation. Names are interned: the state per message and per
/// delivery is a few integers.
#[derive(Debug)]
pub struct Delivery {
    ctx: CheckContext,
    /// Client and room names.
    names: Interner,
    /// Message ids (forgotten with the messages they name).
    msg_ids: ForgettingInterner,
    /// The judge's client numbers → this checker's.
    clients: Renumber<Id>,
    /// The judge's message numbers → this checker's.
    messages: Renumber<Msg>,
    /// Message → first sent at, until accepted.
    sent: BTreeMap<Msg, Duration>,
    /// Messages sent, and accepted, in all (the summary's counts).
    sent_total: usize,
    accepted_total: usize,
    /// Sender → the host it sends from (one entry per sender).
    senders: BTreeMap<Id, std::sync::Arc<str>>,
    /// Messages accepted in the current server epoch → when (forgotten one retention later).
    accepted_now: LookupMap<Msg, Duration>,
    /// Messages accepted → when (forgotten one retention later).
    accepted_ever: LookupMap<Msg, Duration>,
    /// client → room, for clients with an open session.
    sessions: BTreeMap<Id, Id>,
    /// (receiver, message) → accepted at: deliveries still owed (the report sorts them).
    owed: LookupMap<(Id, Msg), Duration>,
    /// (receiver's room, message) → the message's ordinal in that room, in the order the room
    /// first received them (dense per room, so what a receiver got is a few runs), and when
    /// it was last received (forgotten one retention later).
    ordinals: LookupMap<(Id, Msg), (u64, Duration)>,
    /// Room → ordinals given so far.
    room_ordinals: LookupMap<Id, u64>,
    /// Receiver → its room (as the scenario assigns it), once looked up.
    room_of: LookupMap<Id, Id>,
    /// Receiver (by number) → the ordinals of the messages it got: runs of consecutive numbers,
    /// so this state grows with the messages a receiver missed, not with its deliveries.
    received: Vec<SeqRuns>,
    /// receiver (by number) → last sequence number it got.
    last_seq: Vec<Option<u64>>,
    /// Server restarts so far.
    restarts: u32,
    /// receiver → the server restarts counted when it last connected.
    connected_in: BTreeMap<Id, u32>,
    deliveries: usize,
    /// Whether the server reports its session events (acceptance is then its own word).
    server_reports: bool,
    violations: Vec<Violation>,
}

impl Delivery {
    /// A delivery checker for a run with `ctx`.
    #[must_use]
    pub fn new(ctx: CheckContext) -> Self {
        Delivery {
            ctx,
            names: Interner::default(),
            msg_ids: ForgettingInterner::default(),
            clients: Renumber::default(),
            messages: Renumber::default(),
            sent: BTreeMap::new(),
            sent_total: 0,
            accepted_total: 0,
            senders: BTreeMap::new(),
            accepted_now: LookupMap::default(),
            accepted_ever: LookupMap::default(),
            sessions: BTreeMap::new(),
            owed: LookupMap::default(),
            ordinals: LookupMap::default(),
            room_ordinals: LookupMap::default(),
            room_of: LookupMap::default(),
            received: Vec::new(),
            last_seq: Vec::new(),
            restarts: 0,
            connected_in: BTreeMap::new(),
            deliveries: 0,
            server_reports: false,
            violations: Vec::new(),
        }
    }

    fn excuse(&mut self, receiver: Id) {
        self.owed.retain(|(r, _), _| *r != receiver);
        self.forget_last_seq(receiver);
    }

    fn forget_last_seq(&mut self, receiver: Id) {
        if let Some(last) = self.last_seq.get_mut(receiver as usize) {
            *last = None;
        }
    }

    /// From the clients' eyes (a server that reports no sessions): `m`, from `sender`,
    /// acknowledged at `t`, is owed to every other member of the sender's room whose link was
    /// up from at least the settling time before — its session began before the message was
    /// accepted — and is still up (so it was in the room when the server accepted it).
    fn owe_members(&mut self, sender: &str, m: Msg, t: Duration, view: &RunView) {
        let room = self.ctx.room_of(sender);
        let settle = self.ctx.settle();
        let members: Vec<String> = self
            .ctx
            .rooms
            .iter()
            .filter(|(c, r)| **r == room && c.as_str() != sender)
            .map(|(c, _)| c.clone())
            .collect();
        for member in members {
            let joined_before = view
                .links
                .link_began(&member)
                .is_some_and(|began| began + settle <= t);
            if !view.links.is_connected(&member) || !joined_before {
                continue;
            }
            let receiver = self.names.id(&member);
            if !self.has_received(receiver, m) {
                self.owed.insert((receiver, m), t);
            }
        }
    }

    /// Records `m` as accepted at `t` (it is no longer waiting to be).
    fn accept(&mut self, m: Msg, t: Duration) {
        self.sent.remove(&m);
        if self.accepted_ever.insert(m, t).is_none() {
            self.accepted_total += 1;
        }
    }

    /// Records `seq` as `receiver`'s last; the one before, if any.
    fn replace_last_seq(&mut self, receiver: Id, seq: u64) -> Option<u64> {
        let index = receiver as usize;
        if self.last_seq.len() <= index {
            self.last_seq.resize(index + 1, None);
        }
        self.last_seq[index].replace(seq)
    }

    /// The message the judge numbered `judge`: (`sender`, `id`).
    fn msg(&mut self, judge: Option<u32>, sender: &str, id: &str) -> Msg {
        self.messages
            .get(judge, || msg(self.names.id(sender), self.msg_ids.id(id)))
    }

    /// The client the judge numbered `judge`: `name`.
    fn client(&mut self, judge: Option<u32>, name: &str) -> Id {
        self.clients.get(judge, || self.names.id(name))
    }

    /// The room of `receiver` as the scenario assigns it.
    fn room_of(&mut self, receiver: Id) -> Id {
        if let Some(&room) = self.room_of.get(&receiver) {
            return room;
        }
        let name = self.ctx.room_of(self.names.name(receiver));
        let room = self.names.id(&name);
        self.room_of.insert(receiver, room);
        room
    }

    /// Whether `receiver` got `m`.
    fn has_received(&self, receiver: Id, m: Msg) -> bool {
        let room = match self.room_of.get(&receiver) {
            Some(&room) => Some(room),
            None => self.names.get(&self.ctx.room_of(self.names.name(receiver))),
        };
        let Some(room) = room else {
            return false; // nothing was received in a room never named
        };
        let runs = self.received.get(receiver as usize);
        match (runs, self.ordinals.get(&(room, m))) {
            (Some(runs), Some(&(ordinal, _))) => runs.contains(ordinal),
            _ => false,
        }
    }

    /// Records that `receiver` got `m` at `t`; whether it had not before.
    fn receive(&mut self, receiver: Id, m: Msg, t: Duration) -> bool {
        let room = self.room_of(receiver);
        let ordinal = match self.ordinals.get_mut(&(room, m)) {
            Some((ordinal, seen)) => {
                *seen = t;
                *ordinal
            }
            None => {
                let next = self.room_ordinals.entry(room).or_insert(0);
                let ordinal = *next;
                *next += 1;
                self.ordinals.insert((room, m), (ordinal, t));
                ordinal
            }
        };
        let index = receiver as usize;
        if self.received.len() <= index {
            self.received.resize_with(index + 1, SeqRuns::default);
        }
        self.received[index].insert(ordinal, Duration::ZERO)
    }
}

impl Checker for Delivery {
    fn name(&self) -> &'static str {
        "delivery"
    }

    fn observe(&mut self, event: &Event, view: &RunView) {
        let numbers = view.numbers;
        match &event.kind {
            EventKind::Server(ServerEvent::ServerStarted { .. }) => {
                self.accepted_now.clear();
                self.sessions.clear();
                self.owed.clear();
                // A restarted server numbers its rooms afresh: each client's numbers start
                // again on its first connection after the restart (frames of the old server
                // still in flight arrive before that link ends).
                self.restarts += 1;
            }
            EventKind::FaultStart {
                fault: crate::event::FaultDesc::Crash { host, .. },
                ..
            } if host == "server" && !self.server_reports => {
                // A server that reports nothing restarts unannounced: its numbers start again,
                // and what it owed its sessions died with it.
                self.restarts += 1;
                self.owed.clear();
            }
            EventKind::FaultStart {
                fault: crate::event::FaultDesc::Crash { host, .. },
                ..
            } if host != "server" && host != "proxy" => {
                // What a crashed client host's clients sent and the server never accepted
                // died with them: an outbox in memory does not outlive its process.
                let senders = &self.senders;
                self.sent.retain(|m, _| {
                    senders
                        .get(&sender_of(*m))
                        .is_none_or(|h| &**h != host.as_str())
                });
            }
            EventKind::Client { client, event: ClientEvent::Connected { .. } } => {
                let receiver = self.client(numbers.client, client);
                if self.connected_in.insert(receiver, self.restarts) != Some(self.restarts) {
                    self.forget_last_seq(receiver);
                }
            }
            EventKind::Server(ServerEvent::SessionOpened { client, room, .. }) => {
                self.server_reports = true;
                let client = self.client(numbers.client, client);
                let room = self.names.id(room);
                self.sessions.insert(client, room);
            }
            EventKind::Server(ServerEvent::UserLeft { client, .. }) => {
                let client = self.client(numbers.client, client);
                self.sessions.remove(&client);
                self.excuse(client);
            }
            EventKind::Client { client, event: ClientEvent::Resumed { recovered: false, .. } }
            // The server's side of the same: it welcomed the client into its session saying
            // history was lost (a client whose first welcome this is — its session opened by
            // an attempt it abandoned — reports no `resumed`). Whether it may say so is
            // `resume`'s question.
            | EventKind::Server(ServerEvent::HistoryReplayed {
                client,
                recovered: false,
                ..
            }) => {
                let client = self.client(numbers.client, client);
                self.excuse(client);
            }
            EventKind::Client { client, event: ClientEvent::MessageSent { msg_id } }
            | EventKind::Client { client, event: ClientEvent::MessageBuffered { msg_id, .. } } => {
                let m = self.msg(numbers.msg, client, msg_id);
                if !self.accepted_ever.contains_key(&m) && !self.sent.contains_key(&m) {
                    self.sent.insert(m, event.t);
                    self.sent_total += 1;
                }
                let sender = sender_of(m);
                if self.senders.get(&sender) != Some(&event.host) {
                    self.senders.insert(sender, event.host.clone());
                }
            }
            EventKind::Client { client, event: ClientEvent::MessageAcked { msg_id, .. } }
                if !self.server_reports =>
            {
                // No word from the server: the acknowledgement is its acceptance.
                let m = self.msg(numbers.msg, client, msg_id);
                let first = !self.accepted_ever.contains_key(&m);
                self.accept(m, event.t);
                if first && !msg_id.is_empty() {
                    self.owe_members(client, m, event.t, view);
                }
            }
            EventKind::Server(ServerEvent::MessageAccepted { client, msg_id, .. }) if !msg_id.is_empty() => {
                self.server_reports = true;
                let m = self.msg(numbers.msg, client, msg_id);
                if self.accepted_now.insert(m, event.t).is_some() {
                    self.violations.push(Violation {
                        t: event.t,
                        detail: format!("message {msg_id} from {client} accepted twice"),
                    });
                    return;
                }
                self.accept(m, event.t);
                let sender = sender_of(m);
                let Some(&room) = self.sessions.get(&sender) else {
                    return;
                };
                for (&r, &their_room) in &self.sessions {
                    if their_room == room && r != sender && !self.has_received(r, m) {
                        self.owed.insert((r, m), event.t);
                    }
                }
            }
            EventKind::Client { client, event: ClientEvent::Message { msg_id, seq, from, .. } } => {
                self.deliveries += 1;
                let receiver = self.client(numbers.client, client);
                let m = self.msg(numbers.msg, from, msg_id);
                self.owed.remove(&(receiver, m));
                if !msg_id.is_empty() && !self.receive(receiver, m, event.t) {
                    self.violations.push(Violation {
                        t: event.t,
                        detail: format!("{client} received message {msg_id} from {from} twice"),
                    });
                }
                let last = self.replace_last_seq(receiver, *seq);
                if last.is_some_and(|last| *seq <= last) {
                    self.violations.push(Violation {
                        t: event.t,
                        detail: format!(
                            "{client} received seq {seq} after seq {} (out of order)",
                            last.unwrap_or_default()
                        ),
                    });
                }
            }
            _ => {}
        }
    }

    fn forget(&mut self, now: Duration, _view: &RunView) {
        let Some(horizon) = now.checked_sub(self.ctx.retention()) else {
            return;
        };
        self.accepted_ever.retain(|_, at| *at >= horizon);
        self.accepted_now.retain(|_, at| *at >= horizon);
        // What each room's receivers got below its oldest remembered ordinal is never asked
        // about again: their runs there become one.
        let mut oldest: BTreeMap<Id, u64> = BTreeMap::new();
        self.ordinals.retain(|&(room, _), &mut (ordinal, seen)| {
            let keep = seen >= horizon;
            if keep {
                let o = oldest.entry(room).or_insert(ordinal);
                *o = (*o).min(ordinal);
            }
            keep
        });
        for (&room, &next) in &self.room_ordinals {
            let below = oldest.get(&room).copied().unwrap_or(next);
            let receivers = self.room_of.iter().filter(|(_, r)| **r == room);
            for (&receiver, _) in receivers {
                if let Some(runs) = self.received.get_mut(receiver as usize) {
                    runs.fill_below(below);
                }
            }
        }
        // Message ids no state names any more.
        let mut named: LookupSet<Id> = LookupSet::default();
        named.extend(self.sent.keys().map(|&m| id_of(m)));
        named.extend(self.accepted_ever.keys().map(|&m| id_of(m)));
        named.extend(self.accepted_now.keys().map(|&m| id_of(m)));
        named.extend(self.ordinals.keys().map(|&(_, m)| id_of(m)));
        named.extend(self.owed.keys().map(|&(_, m)| id_of(m)));
        self.msg_ids.retain(|id| named.contains(&id));
        self.messages.retain(|m| named.contains(&id_of(m)));
    }

    fn finish(&mut self, view: &RunView) -> Vec<Violation> {
        let (settle, end) = (self.ctx.settle(), self.ctx.end);
        // Reported in name order (sender, id; receiver, sender, id), whatever the numbering.
        let mut lost: Vec<(&str, &str)> = Vec::new();
        for (&m, t) in &self.sent {
            let (client, msg_id) = (self.names.name(sender_of(m)), self.msg_ids.name(id_of(m)));
            if view.reach.had_window(client, *t, settle, end) {
                lost.push((client, msg_id));
            }
        }
        lost.sort_unstable();
        let mut missing: Vec<(&str, &str, &str)> = Vec::new();
        for (&(receiver, m), t) in &self.owed {
            let receiver = self.names.name(receiver);
            if view.reach.had_window(receiver, *t, settle, end) {
                let (from, msg_id) = (self.names.name(sender_of(m)), self.msg_ids.name(id_of(m)));
                missing.push((receiver, from, msg_id));
            }
        }
        missing.sort_unstable();
        let lost = lost.into_iter().map(|(client, msg_id)| Violation {
            t: end,
            detail: format!("message {msg_id} from {client} was never accepted (lost)"),
        });
        let missing = missing
            .into_iter()
            .map(|(receiver, from, msg_id)| Violation {
                t: end,
                detail: format!("message {msg_id} from {from} never reached {receiver}"),
            });
        let found: Vec<Violation> = lost.chain(missing).collect();
        self.violations.extend(found);
        self.violations.sort_by_key(|v| v.t);
        self.violations.clone()
    }

    fn vacuous(&self) -> bool {
        self.sent_total == 0 && self.accepted_total == 0 && self.deliveries == 0
    }

    fn summary(&self) -> String {
        if !self.server_reports {
            return format!(
                "judged from what clients saw: {} messages sent, {} acknowledged, {} deliveries, \
                 each once and in order, each to every member connected from before it was \
                 acknowledged until it settled (the server reports no sessions: members who \
                 joined or dropped around it are not judged; room_log judges their gaps)",
                self.sent_total, self.accepted_total, self.deliveries
            );
        }
        format!(
            "{} messages sent, {} accepted, {} deliveries, each once and in order",
            self.sent_total, self.accepted_total, self.deliveries
        )
    }
}

#[cfg(test)]
mod tests;
