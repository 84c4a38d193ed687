//! Checker `resume`: a reconnect that reaches the server inside the grace period of the
//! session's latest drop resumes the session (`welcome.recovered: true`) — judged from what
//! the clients observe alone, so it holds any server that speaks docs/protocol.md to account.
//!
//! The server's drop of a connection is not visible to the client, but causality bounds it
//! from below: the server cannot have dropped the connection before the client began the
//! attempt that opened it, nor before it processed a message the client wrote on it and that
//! was acknowledged on it (the client saw the ack, so the server was serving that connection
//! when the message arrived, which is after the client wrote it). The welcome of the next
//! connection was written no later than the client read it. So when a client reads
//! `recovered: false` less than `grace` after that bound, the server ended a session that was
//! still in its grace period: a violation, whatever the network's latency (latency only ever
//! makes the bound looser, never wrong).
//!
//! Not judged: a server or client-host crash in between (state is lost, legitimately), and
//! the other direction (a session kept too long), whose bound would depend on when the
//! server *detected* the drop. `recovered: false` is also what a server says when the
//! missed messages are older than its history: a resync is excused when the room's numbers
//! that the clients saw by then (or within the settling time after) run `history_limit` or
//! more past the last one this client saw.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::check::roster::Roster;
use crate::check::{ms, CheckContext, Checker, Violation};
use crate::event::{ClientEvent, Event, EventKind, FaultDesc};
use crate::view::intern::{Id, Interner};
use crate::view::lookup::LookupMap;
use crate::view::RunView;

/// One of a client's connections, as far as the client saw it.
#[derive(Debug, Default)]
struct Conn {
    /// The earliest the server can have dropped it.
    served_until: Duration,
    /// Messages written on it: id → when.
    written: BTreeMap<String, Duration>,
}

#[derive(Debug, Default)]
struct ClientView {
    host: crate::event::Host,
    /// Its room's number, once looked up.
    room: Option<Id>,
    /// The last room number it saw (this server incarnation).
    last_seq: u64,
    /// When its latest connection attempt began.
    attempt_began: Duration,
    /// Its live connection.
    live: Option<Conn>,
    /// The earliest the server can have dropped its previous connection, until the next
    /// connection's welcome is judged.
    previous: Option<Duration>,
}

/// Each new highest number of a room seen, with when (ascending in both).
type Highs = Vec<(Duration, u64)>;

/// A resync inside the grace period: (violation, server incarnation, room, last number seen).
type Suspect = (Violation, u32, Arc<str>, u64);

/// See the module documentation.
#[derive(Debug)]
pub struct Resume {
    ctx: CheckContext,
    /// Every client seen.
    clients: Roster<ClientView>,
    judged: usize,
    violations: Vec<Violation>,
    /// Server incarnation (crashes so far) and room → each new highest number seen, with when.
    numbers: LookupMap<(u32, Id), Highs>,
    /// Rooms by number.
    rooms: Interner,
    crashes: u32,
    /// When the server last crashed.
    last_server_crash: Option<Duration>,
    /// Resyncs inside the grace period, judged at the end against the room's numbers.
    suspects: Vec<Suspect>,
}

impl Resume {
    /// A resume checker for a run with `ctx`.
    #[must_use]
    pub fn new(ctx: CheckContext) -> Self {
        Resume {
            ctx,
            clients: Roster::default(),
            judged: 0,
            violations: Vec::new(),
            numbers: LookupMap::default(),
            rooms: Interner::default(),
            crashes: 0,
            last_server_crash: None,
            suspects: Vec::new(),
        }
    }

    /// Forgets what the server's or a host's crash made moot.
    fn crash(&mut self, host: &str) {
        if host == "server" {
            self.crashes += 1;
        }
        for view in self.clients.states_mut() {
            if host == "server" || *view.host == *host {
                view.live = None;
                view.previous = None;
                if host == "server" {
                    view.last_seq = 0;
                }
            }
        }
    }

    /// `client` (at `index`) saw room number `seq` at `t`. A number read on a connection
    /// whose attempt began before the server's latest crash may be the crashed server's (a
    /// frame in flight when it died): it counts for no incarnation.
    fn saw(&mut self, t: Duration, index: usize, client: &str, seq: u64) {
        let last_crash = self.last_server_crash;
        let view = self.clients.state_mut(index);
        if last_crash.is_some_and(|crash| view.attempt_began <= crash) {
            return;
        }
        view.last_seq = view.last_seq.max(seq);
        let room = match view.room {
            Some(room) => room,
            None => {
                let room = self.rooms.id(&self.ctx.room_of(client));
                view.room = Some(room);
                room
            }
        };
        let key = (self.crashes, room);
        let highs = match self.numbers.get_mut(&key) {
            Some(highs) => highs,
            None => self.numbers.entry(key).or_default(),
        };
        if highs.last().is_none_or(|(_, high)| seq > *high) {
            highs.push((t, seq));
        }
    }
}

impl Checker for Resume {
    fn name(&self) -> &'static str {
        "resume"
    }

    fn observe(&mut self, event: &Event, view: &RunView) {
        let numbers = view.numbers;
        let t = event.t;
        if let EventKind::FaultStart {
            fault: FaultDesc::Crash { host, .. },
            ..
        } = &event.kind
        {
            if host == "server" {
                self.last_server_crash = Some(t);
            }
            self.crash(host);
            return;
        }
        let Some(client) = event.kind.client() else {
            return;
        };
        let index = self.clients.index(numbers.client, client);
        let view = self.clients.state_mut(index);
        if view.host != event.host {
            view.host = event.host.clone();
        }
        match &event.kind {
            EventKind::Client {
                event: ClientEvent::Connecting { .. },
                ..
            } => view.attempt_began = t,
            EventKind::Client {
                event: ClientEvent::Connected { .. },
                ..
            } => {
                if let Some(old) = view.live.take() {
                    view.previous = Some(old.served_until);
                }
                // An attempt that began before the server's latest crash may have been
                // answered by the server that crashed (its welcome was on the way): its session
                // died with it, and the crash excuses whatever the next welcome says.
                let spans_crash = self
                    .last_server_crash
                    .is_some_and(|crash| view.attempt_began <= crash);
                if spans_crash {
                    view.previous = None;
                } else {
                    view.live = Some(Conn {
                        served_until: view.attempt_began,
                        written: BTreeMap::new(),
                    });
                }
            }
            EventKind::Client {
                event: ClientEvent::MessageSent { msg_id, .. },
                ..
            } => {
                if let Some(conn) = &mut view.live {
                    conn.written.insert(msg_id.clone(), t);
                }
            }
            EventKind::Client {
                event: ClientEvent::MessageAcked { msg_id, seq, .. },
                ..
            } => {
                if let Some(conn) = &mut view.live {
                    // Acknowledged: a second ack of it says no more than this one.
                    if let Some(written) = conn.written.remove(msg_id) {
                        conn.served_until = conn.served_until.max(written);
                    }
                }
                self.saw(t, index, client, *seq);
            }
            EventKind::Client {
                event: ClientEvent::Message { seq, .. },
                ..
            } => self.saw(t, index, client, *seq),
            EventKind::Client {
                event: ClientEvent::Disconnected { .. },
                ..
            } => {
                if let Some(old) = view.live.take() {
                    view.previous = Some(old.served_until);
                }
            }
            EventKind::Client {
                event: ClientEvent::Resumed { recovered, .. },
                ..
            } => {
                let Some(served) = view.previous.take() else {
                    return;
                };
                self.judged += 1;
                let grace = self.ctx.grace;
                if !recovered && t < served + grace {
                    let last = view.last_seq;
                    let room = self.ctx.room_of(client);
                    let violation = Violation {
                        t,
                        detail: format!(
                            "{client} was told its session is gone (recovered: false) {} ms \
                             after the server was still serving its previous connection, \
                             inside the {} ms grace period (judged from the client's \
                             observations: latency only loosens the bound)",
                            ms(t.saturating_sub(served)),
                            ms(grace)
                        ),
                    };
                    self.suspects.push((violation, self.crashes, room, last));
                }
            }
            _ => {}
        }
    }

    fn forget(&mut self, now: Duration, _view: &RunView) {
        let Some(horizon) = now.checked_sub(self.ctx.retention()) else {
            return;
        };
        // Suspects whose every number to compare with is in: judged now.
        let settle = self.ctx.settle();
        let (ready, waiting): (Vec<Suspect>, Vec<Suspect>) = std::mem::take(&mut self.suspects)
            .into_iter()
            .partition(|(v, ..)| v.t + settle < now);
        self.judge_suspects(ready);
        self.suspects = waiting;
        // A room's highs before the horizon (and before every waiting suspect) matter only
        // through the last of them.
        let floor = self
            .suspects
            .iter()
            .map(|(v, ..)| v.t)
            .fold(horizon, Duration::min);
        for highs in self.numbers.values_mut() {
            let before = highs.iter().take_while(|(seen, _)| *seen < floor).count();
            if before > 1 {
                highs.drain(..before - 1);
            }
        }
    }

    fn finish(&mut self, _view: &RunView) -> Vec<Violation> {
        let suspects = std::mem::take(&mut self.suspects);
        self.judge_suspects(suspects);
        self.violations.sort_by_key(|v| v.t);
        std::mem::take(&mut self.violations)
    }

    fn vacuous(&self) -> bool {
        self.judged == 0
    }

    fn summary(&self) -> String {
        format!("{} resumes judged from client observations", self.judged)
    }
}

impl Resume {
    /// Judges `suspects` against the room's numbers: a resync inside grace is a violation
    /// unless the room ran more than its history past what the client last saw.
    fn judge_suspects(&mut self, suspects: Vec<Suspect>) {
        let settle = self.ctx.settle();
        let limit = self.ctx.history_limit as u64;
        for (violation, incarnation, room, last) in suspects {
            let latest = self
                .rooms
                .get(&room)
                .and_then(|room| self.numbers.get(&(incarnation, room)))
                .into_iter()
                .flatten()
                .take_while(|(seen, _)| *seen <= violation.t + settle)
                .map(|(_, seq)| *seq)
                .max()
                .unwrap_or(0);
            if latest.saturating_sub(last) < limit {
                self.violations.push(violation);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests::{ctx, ev, feed_and_finish};

    fn run(events: &[Event]) -> Vec<Violation> {
        let mut c = Resume::new(ctx());
        feed_and_finish(&mut c, &ctx(), events)
    }

    fn client(kind: &str, c: &str) -> EventKind {
        match kind {
            "connecting" => EventKind::Client {
                client: c.into(),
                event: ClientEvent::Connecting { attempt: 1 },
            },
            "connected" => EventKind::Client {
                client: c.into(),
                event: ClientEvent::Connected { attempt: 1 },
            },
            "disconnected" => EventKind::Client {
                client: c.into(),
                event: ClientEvent::Disconnected {
                    reason: crate::client::DisconnectReason::Reset,
                },
            },
            "lost" => EventKind::Client {
                client: c.into(),
                event: ClientEvent::Resumed {
                    recovered: false,
                    replayed: 0,
                },
            },
            _ => unreachable!(),
        }
    }

    fn flap(resume_at_ms: u64, acked_at_ms: Option<u64>) -> Vec<Event> {
        let mut events = vec![
            ev(1_000, "h", client("connecting", "c")),
            ev(1_010, "h", client("connected", "c")),
        ];
        if let Some(at) = acked_at_ms {
            events.push(ev(
                at,
                "h",
                EventKind::Client {
                    client: "c".into(),
                    event: ClientEvent::MessageSent { msg_id: "1".into() },
                },
            ));
            events.push(ev(
                at + 20,
                "h",
                EventKind::Client {
                    client: "c".into(),
                    event: ClientEvent::MessageAcked {
                        msg_id: "1".into(),
                        seq: 1,
                    },
                },
            ));
        }
        events.push(ev(25_000, "h", client("disconnected", "c")));
        events.push(ev(resume_at_ms - 10, "h", client("connecting", "c")));
        events.push(ev(resume_at_ms - 5, "h", client("connected", "c")));
        events.push(ev(resume_at_ms, "h", client("lost", "c")));
        events
    }

    #[test]
    fn a_session_lost_inside_the_causal_grace_bound_is_a_violation() {
        // Began connecting at 1 s: the session is owed until 31 s at least.
        assert_eq!(run(&flap(30_000, None)).len(), 1);
        assert!(run(&flap(31_500, None)).is_empty());
        // A message written at 20 s and acked on the same connection moves the bound.
        let v = run(&flap(45_000, Some(20_000)));
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].detail.contains("c was told its session is gone"));
        assert!(run(&flap(50_500, Some(20_000))).is_empty());
    }

    #[test]
    fn a_server_crash_in_between_excuses_the_loss() {
        let mut events = flap(30_000, None);
        events.insert(
            3,
            ev(
                26_000,
                "server",
                EventKind::FaultStart {
                    id: 0,
                    fault: FaultDesc::Crash {
                        host: "server".into(),
                        duration_ms: 1000,
                        silent: false,
                    },
                },
            ),
        );
        assert!(run(&events).is_empty());
    }

    #[test]
    fn a_number_from_the_crashed_server_arriving_late_counts_for_no_incarnation() {
        // c's old link delivers the crashed server's seq 500 after the crash; on its new link
        // it reads seq 3, then resyncs inside grace while the room has run 9 numbers past 3:
        // a history of 5 explains it, whatever the late 500 said.
        let got = |t, c: &str, seq| {
            let event = ClientEvent::Message {
                msg_id: format!("m{seq}"),
                seq,
                from: "x".into(),
                username: String::new(),
                text: String::new(),
            };
            ev(
                t,
                "h",
                EventKind::Client {
                    client: c.into(),
                    event,
                },
            )
        };
        let crash = FaultDesc::Crash {
            host: "server".into(),
            duration_ms: 100,
            silent: true,
        };
        let events = vec![
            ev(1_000, "h", client("connecting", "c")),
            ev(1_010, "h", client("connected", "c")),
            ev(
                5_000,
                "sim",
                EventKind::FaultStart {
                    id: 0,
                    fault: crash,
                },
            ),
            got(5_010, "c", 500),
            ev(6_000, "h", client("disconnected", "c")),
            ev(6_100, "h", client("connecting", "c")),
            ev(6_110, "h", client("connected", "c")),
            ev(6_200, "h", client("connecting", "d")),
            ev(6_210, "h", client("connected", "d")),
            got(7_000, "c", 3),
            ev(20_000, "h", client("disconnected", "c")),
            ev(20_100, "h", client("connecting", "c")),
            ev(20_110, "h", client("connected", "c")),
            ev(20_120, "h", client("lost", "c")),
            got(20_130, "d", 12),
        ];
        let mut ctx = ctx();
        ctx.history_limit = 5;
        let mut checker = Resume::new(ctx.clone());
        let found = feed_and_finish(&mut checker, &ctx, &events);
        assert!(found.is_empty(), "{found:?}");
        // Without the history to explain it, the resync is a session lost inside grace.
        ctx.history_limit = 50;
        let mut checker = Resume::new(ctx.clone());
        assert_eq!(feed_and_finish(&mut checker, &ctx, &events).len(), 1);
    }
}
