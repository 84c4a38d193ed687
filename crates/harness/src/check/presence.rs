//! Presence as the room's clients saw it (part of checker `grace`): judged from the presence
//! frames each client received, so it holds any server that speaks docs/protocol.md to account,
//! whether or not it reports events of its own.
//!
//! - **No away or left for a member connected throughout**: a member connected since some time
//!   `c`, with nothing on its path since its attempt began (no fault, no idle kill) that could
//!   end its link, is never announced `user_away` or `user_left` in a frame sent after `c`.
//! - **Left only after the grace period**: a `user_left` follows the `user_away` before it by
//!   at least the grace period.
//! - **No left without an away for a member that did not leave**: only a member closing its
//!   own link leaves at once; one connected since before it was announced back (`user_joined`,
//!   `user_reconnected`) is never announced `user_left` without a `user_away` first.
//! - **Back within grace is `user_reconnected`**: a member announced away who connected again
//!   within the grace period is announced `user_reconnected`, never `user_left`.
//!
//! When the server sent a frame is bounded by the network's latency: a frame a client received
//! at `t` over a path with no fault on it since `t - 2 × max latency` (server → proxy → client)
//! left the server in that window — and none since four times the highest delay of any
//! slowdown on the path before that (a frame sent in a latency spike arrives that much later). Frames that crossed a faulted path are not judged by when
//! they were sent. A client that lost its link may have missed presence frames (the server
//! replays messages, not presence), so what it saw before is not compared with what it sees
//! after; a restarted server knows nothing of earlier absences.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::check::{ms, CheckContext, Violation};
use crate::event::{
    ClientEvent, DisconnectReason, Event, EventKind, FaultDesc, PresenceKind, ProxyEvent,
};
use crate::view::RunView;

/// An away a client saw and has not yet seen resolved.
#[derive(Debug, Clone, Copy)]
struct Away {
    /// When the client saw it.
    seen: Duration,
    /// The earliest the server can have sent it (`None`: the path was faulted, unknown).
    sent_after: Option<Duration>,
}

/// The presence rules, judged as the clients see presence.
#[derive(Debug)]
pub(crate) struct SeenPresence {
    ctx: CheckContext,
    /// (observer, member) → the away the observer saw last, unresolved.
    away: BTreeMap<(String, String), Away>,
    /// (observer, member) → when the observer was last told the member joined or is back,
    /// with no news of it since.
    back: BTreeMap<(String, String), Duration>,
    /// Member → its latest idle kill by the proxy.
    killed: BTreeMap<String, Duration>,
    /// Member → when it last closed its own link on purpose.
    closed: BTreeMap<String, Duration>,
    /// Presence frames seen, by kind: joined, away, reconnected, left.
    pub(crate) seen: [usize; 4],
    pub(crate) violations: Vec<Violation>,
}

impl SeenPresence {
    pub(crate) fn new(ctx: CheckContext) -> Self {
        SeenPresence {
            ctx,
            away: BTreeMap::new(),
            back: BTreeMap::new(),
            killed: BTreeMap::new(),
            closed: BTreeMap::new(),
            seen: [0; 4],
            violations: Vec::new(),
        }
    }

    /// The most a frame takes from the server to a client over a path with no fault on it.
    fn transit(&self) -> Duration {
        2 * self.ctx.latency.max
    }

    /// Whether no fault on `client`'s path overlapped `from..=to`.
    fn quiet(&self, view: &RunView, client: &str, from: Duration, to: Duration) -> bool {
        let host = view.links.host_of(client).unwrap_or("");
        !view.faults.windows().iter().any(|w| {
            w.start <= to
                && w.end.is_none_or(|e| e >= from)
                && self.ctx.affects(&w.desc, host, client)
        })
    }

    /// Whether the server may still hold a session of `member` from before a crash of its
    /// host at `now`: a restarted client starts a session of its own while the one it lost
    /// waits out its grace period (once the server noticed the link die: at once, or by its
    /// heartbeat). Presence about such a member is not judged.
    fn may_hold_an_older_session(&self, view: &RunView, member: &str, now: Duration) -> bool {
        let host = view.links.host_of(member).unwrap_or("");
        let gone_after = self
            .ctx
            .server_heartbeat
            .detection_bound()
            .map(|noticed| noticed + self.ctx.grace + self.transit());
        view.faults.windows().iter().any(|w| match &w.desc {
            FaultDesc::Crash { host: crashed, .. } if crashed == host && w.start <= now => {
                gone_after.is_none_or(|after| now <= w.end.unwrap_or(now) + after)
            }
            _ => false,
        })
    }

    /// When `member`'s current link has been up since, with nothing that could end it on its
    /// path since its attempt began (`None` if it is not connected, or something could have).
    fn up_undisturbed(&self, view: &RunView, member: &str, now: Duration) -> Option<Duration> {
        if !view.links.is_connected(member) || self.may_hold_an_older_session(view, member, now) {
            return None;
        }
        let since = view.links.last_connected(member)?;
        let began = view.links.link_began(member).unwrap_or(since);
        let killed = self.killed.get(member).is_some_and(|k| *k >= began);
        (!killed && self.quiet(view, member, began, now)).then_some(since)
    }

    pub(crate) fn observe(&mut self, event: &Event, view: &RunView) {
        let t = event.t;
        match &event.kind {
            EventKind::Proxy(ProxyEvent::IdleKill {
                client: Some(client),
                ..
            }) => {
                self.killed.insert(client.clone(), t);
            }
            EventKind::FaultStart {
                fault: FaultDesc::Crash { host, .. },
                ..
            } if host == "server" => {
                self.away.clear();
                self.back.clear();
            }
            EventKind::Client {
                client,
                event: ClientEvent::Disconnected { reason },
            } => {
                if *reason == DisconnectReason::ClientClosed {
                    self.closed.insert(client.clone(), t);
                }
                self.away.retain(|(observer, _), _| observer != client);
                self.back.retain(|(observer, _), _| observer != client);
            }
            EventKind::Client {
                client,
                event: ClientEvent::Presence { kind, username },
            } if username != client => self.presence(view, t, client, *kind, username),
            _ => {}
        }
    }

    fn presence(
        &mut self,
        view: &RunView,
        t: Duration,
        observer: &str,
        kind: PresenceKind,
        member: &str,
    ) {
        let index = match kind {
            PresenceKind::Joined => 0,
            PresenceKind::Away => 1,
            PresenceKind::Reconnected => 2,
            PresenceKind::Left => 3,
        };
        self.seen[index] += 1;
        let key = (observer.to_string(), member.to_string());
        let transit = self.transit();
        // A frame sent during a slowdown on the path arrives up to its delay later, and one
        // held by a partition as it heals.
        let host = view.links.host_of(observer).unwrap_or("");
        let slowed = view
            .faults
            .spike_slack(&self.ctx, host, observer, Duration::ZERO, t);
        let sent_after = t
            .checked_sub(transit)
            .filter(|from| self.quiet(view, observer, from.saturating_sub(slowed), t));
        let told_back = self.back.remove(&key);
        if matches!(kind, PresenceKind::Joined | PresenceKind::Reconnected) {
            self.away.remove(&key);
            self.back.insert(key, t);
            return;
        }
        let word = if kind == PresenceKind::Away {
            "user_away"
        } else {
            "user_left"
        };
        // Sent after `from`, to a member up and undisturbed since before it.
        if let (Some(from), Some(up)) = (sent_after, self.up_undisturbed(view, member, t)) {
            if up <= from {
                self.violations.push(Violation {
                    t,
                    detail: format!(
                        "{observer} was told {word} for {member}, connected since {} s with \
                         nothing on its path to end its link (the frame left the server after \
                         {} s: {observer}'s path adds at most {} ms)",
                        secs(up),
                        secs(from),
                        ms(transit)
                    ),
                });
                return;
            }
        }
        if kind == PresenceKind::Away {
            self.away.insert(
                key,
                Away {
                    seen: t,
                    sent_after,
                },
            );
            return;
        }
        // Gone with no away first: only a member that said goodbye leaves at once. One
        // connected since before it was announced back has not (the frames arrive in the
        // order the server sent them).
        let connected_since = view
            .links
            .last_connected(member)
            .filter(|_| view.links.is_connected(member));
        if let (Some(told), Some(since)) = (told_back, connected_since) {
            if since <= told && self.closed.get(member).is_none_or(|c| *c < since) {
                self.violations.push(Violation {
                    t,
                    detail: format!(
                        "{observer} was told user_left for {member} with no user_away since it \
                         was told {member} was back ({} ms before), though {member} has been \
                         connected since {} s and never closed its link",
                        ms(t - told),
                        secs(since)
                    ),
                });
                return;
            }
        }
        let Some(away) = self.away.remove(&key) else {
            return;
        };
        let Some(away_sent) = away.sent_after else {
            return;
        };
        let grace = self.ctx.grace;
        let closed = self.closed.get(member).is_some_and(|c| *c >= away_sent);
        if closed {
            return; // it said goodbye: leaving at once is right
        }
        let back = view
            .links
            .last_connected(member)
            .filter(|c| *c >= away.seen && *c < away_sent + grace)
            .filter(|c| !self.may_hold_an_older_session(view, member, *c));
        if let Some(back) = back {
            self.violations.push(Violation {
                t,
                detail: format!(
                    "{observer} was told user_left for {member}, though {member} connected \
                     again {} ms after {observer} saw it go away (grace {} ms): a member back \
                     within grace is user_reconnected",
                    ms(back - away.seen),
                    ms(grace)
                ),
            });
        } else if t < away_sent + grace {
            self.violations.push(Violation {
                t,
                detail: format!(
                    "{observer} was told user_left for {member} {} ms after user_away (the \
                     away left the server at most {} ms before it arrived); grace is {} ms",
                    ms(t - away.seen),
                    ms(transit),
                    ms(grace)
                ),
            });
        }
    }

    /// At the end of the run: an away member who came back within grace, never announced back
    /// to a client connected on a quiet path since.
    pub(crate) fn finish(&mut self, view: &RunView) {
        let grace = self.ctx.grace;
        let end = self.ctx.end;
        let transit = self.transit();
        let mut found = Vec::new();
        for ((observer, member), away) in &self.away {
            let (Some(away_sent), Some(back)) =
                (away.sent_after, view.links.last_connected(member))
            else {
                continue;
            };
            let announced_by = back + transit;
            let owed = back >= away.seen
                && back < away_sent + grace
                && !self.may_hold_an_older_session(view, member, back)
                && announced_by < end
                && view.links.is_connected(observer)
                && self.quiet(view, observer, back, end);
            if owed {
                found.push(Violation {
                    t: announced_by,
                    detail: format!(
                        "{member} connected again {} ms after {observer} saw it go away (grace \
                         {} ms), but {observer} was never told user_reconnected",
                        ms(back - away.seen),
                        ms(grace)
                    ),
                });
            }
        }
        self.violations.extend(found);
    }
}

/// `t` in seconds with milliseconds, for people.
fn secs(t: Duration) -> String {
    format!("{}.{:03}", t.as_secs(), t.subsec_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::grace::Grace;
    use crate::check::tests::{ctx, ev, feed_and_finish};

    /// A client event of `client` on host "clients-1".
    fn client(t: u64, client: &str, event: ClientEvent) -> Event {
        ev(
            t,
            "clients-1",
            EventKind::Client {
                client: client.into(),
                event,
            },
        )
    }

    fn connect(t: u64, who: &str) -> [Event; 2] {
        [
            client(t, who, ClientEvent::Connecting { attempt: 1 }),
            client(t + 5, who, ClientEvent::Connected { attempt: 1 }),
        ]
    }

    fn drop(t: u64, who: &str) -> Event {
        let reason = DisconnectReason::PingTimeout;
        client(t, who, ClientEvent::Disconnected { reason })
    }

    /// Observer "b" is told `kind` for "a" at `t`.
    fn told(t: u64, kind: PresenceKind) -> Event {
        let username = "a".into();
        client(t, "b", ClientEvent::Presence { kind, username })
    }

    /// What the grace checker says of `events` (no server events: clients' eyes only).
    fn judge(events: &[Event]) -> Vec<String> {
        let ctx = ctx();
        let mut grace = Grace::new(ctx.clone());
        let found = feed_and_finish(&mut grace, &ctx, events);
        found.into_iter().map(|v| v.detail).collect()
    }

    fn both_connected() -> Vec<Event> {
        let mut events = connect(1_000, "a").to_vec();
        events.extend(connect(1_000, "b"));
        events
    }

    #[test]
    fn left_for_a_member_connected_throughout_is_caught_and_a_real_drop_is_not() {
        let mut events = both_connected();
        events.push(told(50_000, PresenceKind::Left));
        let found = judge(&events);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("told user_left for a, connected since 1.005 s"));

        // The member's link dropped: the same frame is news, not a lie.
        let mut events = both_connected();
        events.push(drop(20_000, "a"));
        events.push(told(20_010, PresenceKind::Away));
        events.push(told(50_020, PresenceKind::Left));
        assert_eq!(judge(&events), Vec::<String>::new());
    }

    #[test]
    fn a_fault_on_the_members_path_or_a_frame_that_may_predate_its_link_is_not_judged() {
        let partition = FaultDesc::Partition {
            a: "clients-1".into(),
            b: "proxy".into(),
            duration_ms: 30_000,
        };
        let mut events = both_connected();
        events.push(ev(
            10_000,
            "sim",
            EventKind::FaultStart {
                id: 0,
                fault: partition,
            },
        ));
        events.push(ev(
            40_000,
            "sim",
            EventKind::FaultEnd {
                id: 0,
                fault: "partition",
            },
        ));
        events.push(told(50_000, PresenceKind::Away));
        assert_eq!(judge(&events), Vec::<String>::new());
        // Connected 15 ms before the frame arrived (2 × 10 ms latency): it may have left the
        // server before the member's link was up.
        let mut events = connect(1_000, "b").to_vec();
        events.extend(connect(49_980, "a"));
        events.push(told(50_000, PresenceKind::Away));
        assert_eq!(judge(&events), Vec::<String>::new());
        events.push(told(50_030, PresenceKind::Away));
        assert_eq!(judge(&events).len(), 1);
    }

    /// Both connected; "a" drops at 19.99 s and "b" is told it went away at 20 s.
    fn away_at_20s() -> Vec<Event> {
        let mut events = both_connected();
        events.push(drop(19_990, "a"));
        events.push(told(20_000, PresenceKind::Away));
        events
    }

    #[test]
    fn left_before_grace_or_after_coming_back_within_it() {
        // Away at 20 s; grace 30 s: left at 45 s is early.
        let mut events = away_at_20s();
        events.push(told(45_000, PresenceKind::Left));
        let found = judge(&events);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("25000 ms after user_away"), "{found:?}");

        // Back 10 s after the away, then announced left anyway.
        let mut events = away_at_20s();
        events.extend(connect(29_995, "a"));
        events.push(drop(31_000, "a"));
        events.push(told(50_000, PresenceKind::Left));
        let found = judge(&events);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("user_reconnected"), "{found:?}");

        // Announced back: nothing owed. Never announced: owed by the end of the run.
        let mut events = away_at_20s();
        events.extend(connect(29_995, "a"));
        let mut announced = events.clone();
        announced.push(told(30_010, PresenceKind::Reconnected));
        assert_eq!(judge(&announced), Vec::<String>::new());
        let found = judge(&events);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("never told user_reconnected"),
            "{found:?}"
        );

        // The observer lost its link meanwhile: it may have missed the news.
        events.push(drop(35_000, "b"));
        assert_eq!(judge(&events), Vec::<String>::new());
    }

    #[test]
    fn left_with_no_away_after_being_announced_back_is_caught_unless_the_member_closed() {
        // Back after a fault (its attempt began inside it: the first rule cannot judge).
        let partition = FaultDesc::Partition {
            a: "clients-1".into(),
            b: "proxy".into(),
            duration_ms: 10_000,
        };
        let mut events = connect(1_000, "b").to_vec();
        events.push(ev(
            10_000,
            "sim",
            EventKind::FaultStart {
                id: 0,
                fault: partition,
            },
        ));
        events.extend(connect(19_000, "a"));
        events.push(ev(
            20_000,
            "sim",
            EventKind::FaultEnd {
                id: 0,
                fault: "partition",
            },
        ));
        events.push(told(20_010, PresenceKind::Reconnected));
        let mut closed = events.clone();
        events.push(told(21_000, PresenceKind::Left));
        let found = judge(&events);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("no user_away since"), "{found:?}");
        // Saying goodbye is leaving at once.
        let reason = DisconnectReason::ClientClosed;
        closed.push(client(20_900, "a", ClientEvent::Disconnected { reason }));
        closed.push(told(20_910, PresenceKind::Left));
        assert_eq!(judge(&closed), Vec::<String>::new());
    }
}
