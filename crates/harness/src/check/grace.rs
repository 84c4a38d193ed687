//! Checker `grace`: every session that goes away is resolved exactly as the grace period
//! says — `user_reconnected` strictly before `grace` after its *latest* `user_away`, or
//! `user_left` exactly `grace` after it, to the millisecond — and, if the scenario states
//! one, with the expected outcome (`expect.grace_outcome`).
//!
//! The expected outcome judges the aways of connections the client knew it had. A *ghost* — a
//! connection the server opened for an attempt its client had already abandoned (the upgrade
//! completed as the connect timeout fired), which goes away before the client ever saw it
//! connected — is the client's own session all the same and must obey the grace timing, but
//! its outcome depends on when the client next tries, not on the scenario's faults.
//!
//! The server's events give the exact timing; what the room's clients were told is judged too
//! (`check/presence.rs`), and is all that is judged of a server that reports no events.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::check::presence::SeenPresence;
use crate::check::{ms, CheckContext, Checker, Violation};
use crate::event::{ClientEvent, Event, EventKind, ServerEvent};
use crate::scenario::model::GraceOutcome;
use crate::view::RunView;

/// See the module documentation.
#[derive(Debug)]
pub struct Grace {
    ctx: CheckContext,
    /// client → time of its latest `user_away` not yet resolved.
    away: BTreeMap<String, Duration>,
    /// Clients whose latest server connection their client has not yet seen connected.
    unseen: BTreeSet<String>,
    /// Clients whose unresolved away is a ghost's.
    ghosts: BTreeSet<String>,
    reconnected: usize,
    left: usize,
    /// Whether the server reports its session events.
    server_reports: bool,
    /// The presence rules as the clients saw presence.
    seen: SeenPresence,
    violations: Vec<Violation>,
}

impl Grace {
    /// A grace checker for a run with `ctx`.
    #[must_use]
    pub fn new(ctx: CheckContext) -> Self {
        Grace {
            ctx: ctx.clone(),
            away: BTreeMap::new(),
            unseen: BTreeSet::new(),
            ghosts: BTreeSet::new(),
            reconnected: 0,
            left: 0,
            server_reports: false,
            seen: SeenPresence::new(ctx.clone()),
            violations: Vec::new(),
        }
    }

    fn expect(&mut self, t: Duration, client: &str, outcome: GraceOutcome) {
        if self.ghosts.remove(client) {
            return;
        }
        if let Some(expected) = self.ctx.grace_outcome {
            // `None` is judged when the session goes away.
            if expected != outcome && expected != GraceOutcome::None {
                self.violations.push(Violation {
                    t,
                    detail: format!("{client}: grace outcome {outcome:?}, expected {expected:?}"),
                });
            }
        }
    }
}

impl Checker for Grace {
    fn name(&self) -> &'static str {
        "grace"
    }

    fn observe(&mut self, event: &Event, view: &RunView) {
        self.seen.observe(event, view);
        let grace = self.ctx.grace;
        match &event.kind {
            EventKind::Server(ServerEvent::ServerStarted { .. }) => {
                self.away.clear();
                self.ghosts.clear();
            }
            EventKind::Server(ServerEvent::SessionOpened { client, .. }) => {
                self.server_reports = true;
                self.unseen.insert(client.clone());
            }
            EventKind::Client {
                client,
                event: ClientEvent::Connected { .. },
            } => {
                self.unseen.remove(client);
            }
            EventKind::Server(ServerEvent::UserAway { client, .. }) => {
                self.away.insert(client.clone(), event.t);
                let ghost = self.unseen.contains(client);
                if ghost {
                    self.ghosts.insert(client.clone());
                } else {
                    self.ghosts.remove(client);
                }
                if self.ctx.grace_outcome == Some(GraceOutcome::None) && !ghost {
                    self.violations.push(Violation {
                        t: event.t,
                        detail: format!("{client} went away; expected no session to"),
                    });
                }
            }
            EventKind::Server(ServerEvent::UserReconnected { client, .. }) => {
                self.reconnected += 1;
                if let Some(since) = self.away.remove(client) {
                    if event.t >= since + grace {
                        self.violations.push(Violation {
                            t: event.t,
                            detail: format!(
                                "{client} reconnected {} ms after going away; grace is {} ms",
                                ms(event.t.saturating_sub(since)),
                                ms(grace)
                            ),
                        });
                    }
                }
                self.expect(event.t, client, GraceOutcome::Reconnected);
            }
            EventKind::Server(ServerEvent::UserLeft { client, .. }) => {
                if let Some(since) = self.away.remove(client) {
                    self.left += 1;
                    if event.t != since + grace {
                        self.violations.push(Violation {
                            t: event.t,
                            detail: format!(
                                "{client} left {} ms after its last user_away; grace is {} ms",
                                ms(event.t.saturating_sub(since)),
                                ms(grace)
                            ),
                        });
                    }
                    self.expect(event.t, client, GraceOutcome::Left);
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, view: &RunView) -> Vec<Violation> {
        self.seen.finish(view);
        self.violations.append(&mut self.seen.violations);
        let overdue: Vec<(String, Duration)> = self
            .away
            .iter()
            .filter(|(_, since)| **since + self.ctx.grace < self.ctx.end)
            .map(|(c, t)| (c.clone(), *t))
            .collect();
        for (client, since) in overdue {
            self.violations.push(Violation {
                t: since + self.ctx.grace,
                detail: format!("{client} is still away after its grace period"),
            });
        }
        self.violations.sort_by_key(|v| v.t);
        self.violations.clone()
    }

    fn vacuous(&self) -> bool {
        let [_, away, back, left] = self.seen.seen;
        self.reconnected + self.left == 0 && self.away.is_empty() && away + back + left == 0
    }

    fn summary(&self) -> String {
        let [joined, away, back, left] = self.seen.seen;
        let clients_saw = format!(
            "clients were told {joined} user_joined, {away} user_away, {back} user_reconnected, \
             {left} user_left"
        );
        if self.server_reports {
            format!(
                "{} sessions reconnected within the {} ms grace, {} left exactly at its end; {clients_saw}",
                self.reconnected,
                ms(self.ctx.grace),
                self.left
            )
        } else {
            format!(
                "judged from what clients saw ({clients_saw}); exact timing needs the server's \
                 session events, which it does not report"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests::{ctx, ev, feed_and_finish};

    fn away(t: u64) -> Event {
        ev(
            t,
            "server",
            EventKind::Server(ServerEvent::UserAway {
                client: "a".into(),
                room: "r".into(),
            }),
        )
    }
    fn back(t: u64) -> Event {
        ev(
            t,
            "server",
            EventKind::Server(ServerEvent::UserReconnected {
                client: "a".into(),
                room: "r".into(),
            }),
        )
    }
    fn left(t: u64) -> Event {
        ev(
            t,
            "server",
            EventKind::Server(ServerEvent::UserLeft {
                client: "a".into(),
                room: "r".into(),
            }),
        )
    }

    fn run(events: &[Event], outcome: Option<GraceOutcome>) -> Vec<String> {
        let ctx = CheckContext {
            grace_outcome: outcome,
            ..ctx()
        };
        let mut c = Grace::new(ctx.clone());
        feed_and_finish(&mut c, &ctx, events)
            .into_iter()
            .map(|v| v.detail)
            .collect()
    }

    #[test]
    fn outcomes_and_their_exact_timing() {
        // ctx(): 30 s grace.
        assert!(run(&[away(1_000), back(30_999)], None).is_empty());
        assert_eq!(run(&[away(1_000), back(31_000)], None).len(), 1);
        assert!(run(&[away(1_000), left(31_000)], None).is_empty());
        assert_eq!(run(&[away(1_000), left(31_001)], None).len(), 1);
        assert_eq!(
            run(&[away(1_000)], None),
            ["a is still away after its grace period"]
        );
    }

    #[test]
    fn the_latest_disconnect_counts() {
        // The flap race: a cleanup timer from the first drop must not end the session.
        assert_eq!(
            run(
                &[away(1_000), back(5_000), away(10_000), left(31_000)],
                None
            )
            .len(),
            1
        );
        assert!(run(
            &[away(1_000), back(5_000), away(10_000), left(40_000)],
            None
        )
        .is_empty());
    }

    #[test]
    fn expected_outcome() {
        assert_eq!(
            run(
                &[away(1_000), left(31_000)],
                Some(GraceOutcome::Reconnected)
            )
            .len(),
            1
        );
        assert!(run(&[away(1_000), left(31_000)], Some(GraceOutcome::Left)).is_empty());
        assert_eq!(
            run(&[away(1_000), back(2_000)], Some(GraceOutcome::None)).len(),
            1
        );
    }

    #[test]
    fn a_ghost_obeys_the_timing_but_not_the_expected_outcome() {
        let opened = ev(
            500,
            "server",
            EventKind::Server(ServerEvent::SessionOpened {
                client: "a".into(),
                room: "r".into(),
                conn: 1,
                resumed: false,
            }),
        );
        let connected = ev(
            501,
            "clients",
            EventKind::Client {
                client: "a".into(),
                event: ClientEvent::Connected { attempt: 1 },
            },
        );
        // Opened for an attempt the client had abandoned: away before the client saw it.
        let ghost = [opened.clone(), away(1_000), back(2_000)];
        assert!(run(&ghost, Some(GraceOutcome::Left)).is_empty());
        assert!(run(&ghost, Some(GraceOutcome::None)).is_empty());
        assert_eq!(
            run(&[opened.clone(), away(1_000), back(31_000)], None).len(),
            1,
            "a ghost still obeys the grace timing"
        );
        // The client saw it connected: its outcome is judged.
        assert_eq!(
            run(
                &[opened, connected, away(1_000), back(2_000)],
                Some(GraceOutcome::Left)
            )
            .len(),
            1
        );
    }
}
