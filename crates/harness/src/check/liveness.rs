//! Checker `liveness`: after a fault ends, every client whose path it crossed is connected again
//! within `expect.reconnect_within` — unless another fault that can disconnect it is still
//! active then, or the client did come back and a fault on its path (one that started later,
//! or was already active when it came back) knocked it down again (that fault is judged by
//! its own checkpoint: causality, not the clock).
//!
//! A fault can leave a dead link behind it (a one-way loss kills a stream for good, a state
//! loss forgets it): a client still on that link when the fault ends learns of it only when
//! its keepalive or the server's heartbeat does (`detection` judges how soon). Its reconnect
//! clock starts at that disconnect, not at the fault's end.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::check::{ms, CheckContext, Checker, Violation};
use crate::event::{ClientEvent, Event, EventKind, FaultDesc, ServerEvent};
use crate::view::links::Links;
use crate::view::RunView;

#[derive(Debug, Clone)]
struct Checkpoint {
    client: String,
    host: String,
    fault: u32,
    at: Duration,
    /// The client connected after the fault ended.
    recovered: bool,
    /// After recovering (or as it recovered), a fault that can drop its link was active on
    /// its path.
    knocked_down: bool,
    /// When the fault ended.
    ended: Duration,
    /// The client was connected (perhaps on a link the fault killed) when the fault ended.
    connected_at_end: bool,
}

/// See the module documentation.
#[derive(Debug)]
pub struct Liveness {
    ctx: CheckContext,
    checkpoints: Vec<Checkpoint>,
    /// The earliest checkpoint's time: before it nothing is due, so an event costs nothing
    /// however many clients a fault left reconnecting.
    earliest: Option<Duration>,
    violations: Vec<Violation>,
    passed: usize,
    /// Clients whose own host crashed, not connected since: client → the crash's start.
    restarted: BTreeMap<String, Duration>,
    /// Clients whose server session is away: client → since when (`user_away`).
    away: BTreeMap<String, Duration>,
    /// Restarted clients whose old session the server has ended: client → when (`user_left`).
    left: BTreeMap<String, Duration>,
}

impl Liveness {
    /// A liveness checker for a run with `ctx`.
    #[must_use]
    pub fn new(ctx: CheckContext) -> Self {
        Liveness {
            ctx,
            checkpoints: Vec::new(),
            earliest: None,
            violations: Vec::new(),
            passed: 0,
            restarted: BTreeMap::new(),
            away: BTreeMap::new(),
            left: BTreeMap::new(),
        }
    }

    /// Judges every checkpoint due before `now` against the current link states.
    fn judge_until(&mut self, now: Duration, inclusive: bool, links: &Links) {
        let due = |c: &Checkpoint| c.at < now || (inclusive && c.at == now);
        if !self
            .earliest
            .is_some_and(|at| at < now || (inclusive && at == now))
        {
            return;
        }
        let (ready, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.checkpoints)
            .into_iter()
            .partition(due);
        self.checkpoints = later;
        for mut c in ready {
            let excused = links.active.values().any(|f| {
                self.ctx.affects(&f.desc, &c.host, &c.client)
                    && self.ctx.hinders_reconnecting(&f.desc)
            });
            if excused {
                continue;
            }
            let learned = links
                .last_disconnected(&c.client)
                .filter(|&t| t > c.ended && c.connected_at_end && !c.recovered);
            if let Some(learned) = learned {
                let at = learned + self.ctx.reconnect_within;
                if at > c.at {
                    // Still reconnecting from a link it was on when the fault ended. Its
                    // clock starts at the first disconnect after the end, once: the failed
                    // attempts after it do not push it again.
                    c.at = at;
                    c.connected_at_end = false;
                    self.checkpoints.push(c);
                    continue;
                }
            }
            if let Some(free) = self.old_session_gone(&c.client) {
                // A restarted client is refused its old session (it lost the session key:
                // HTTP 409, docs/protocol.md) until the server lets that session go: its
                // reconnect clock starts then.
                let at = free + self.ctx.reconnect_within;
                if at > c.at && !links.is_connected(&c.client) {
                    c.at = at;
                    self.checkpoints.push(c);
                    continue;
                }
            }
            if links.is_connected(&c.client) || (c.recovered && c.knocked_down) {
                self.passed += 1;
            } else {
                self.violations.push(Violation {
                    t: c.at,
                    detail: format!(
                        "{} not connected {} ms after fault #{} ended",
                        c.client,
                        ms(self.ctx.reconnect_within),
                        c.fault
                    ),
                });
            }
        }
        self.note_earliest();
    }

    /// When the server lets go of the old session of `client`, restarted after its host
    /// crashed (`None`: not restarted): when it did (`user_left`), or else the end of the
    /// grace period of the session's drop, or — not yet noticed — of a drop the server's
    /// heartbeat finds.
    fn old_session_gone(&self, client: &str) -> Option<Duration> {
        let crashed = *self.restarted.get(client)?;
        if let Some(&left) = self.left.get(client) {
            return Some(left);
        }
        let dropped = match self.away.get(client) {
            Some(&since) => since,
            None => {
                crashed
                    + self
                        .ctx
                        .server_heartbeat
                        .detection_bound()
                        .unwrap_or_default()
            }
        };
        Some(dropped + self.ctx.grace)
    }

    /// Recomputes [`Liveness::earliest`] after the checkpoints changed.
    fn note_earliest(&mut self) {
        self.earliest = self.checkpoints.iter().map(|c| c.at).min();
    }
}

impl Checker for Liveness {
    fn name(&self) -> &'static str {
        "liveness"
    }

    fn observe(&mut self, event: &Event, view: &RunView) {
        let links = &view.links;
        self.judge_until(event.t, false, links);
        if let EventKind::FaultStart {
            fault: FaultDesc::Crash { host, .. },
            ..
        } = &event.kind
        {
            // Its clients restart without their session keys (or never were: server, proxy).
            for (client, h, _) in links.clients() {
                if h == host {
                    self.restarted.insert(client.to_string(), event.t);
                    self.left.remove(client);
                }
            }
        }
        match &event.kind {
            EventKind::Server(ServerEvent::UserAway { client, .. }) => {
                self.away.insert(client.clone(), event.t);
            }
            EventKind::Server(ServerEvent::UserReconnected { client, .. })
            | EventKind::Server(ServerEvent::SessionOpened { client, .. }) => {
                self.away.remove(client);
            }
            EventKind::Server(ServerEvent::UserLeft { client, .. }) => {
                self.away.remove(client);
                if self.restarted.contains_key(client) {
                    self.left.insert(client.clone(), event.t);
                }
            }
            EventKind::Client {
                client,
                event: ClientEvent::Connected { .. },
            } => {
                self.restarted.remove(client);
                self.left.remove(client);
                for c in self.checkpoints.iter_mut().filter(|c| c.client == *client) {
                    c.recovered = true;
                    // Back, but onto a path a fault already holds: if that fault drops the
                    // link again, its own checkpoint (made when it ends) judges the return.
                    let ctx = &self.ctx;
                    if links.active.values().any(|f| {
                        ctx.hinders_reconnecting(&f.desc)
                            && ctx.affects(&f.desc, &c.host, &c.client)
                    }) {
                        c.knocked_down = true;
                    }
                }
            }
            EventKind::FaultStart { fault, .. } if self.ctx.hinders_reconnecting(fault) => {
                for c in self.checkpoints.iter_mut().filter(|c| c.recovered) {
                    if self.ctx.affects(fault, &c.host, &c.client) {
                        c.knocked_down = true;
                    }
                }
            }
            _ => {}
        }
        if let EventKind::FaultEnd { id, .. } = &event.kind {
            if let Some(fault) = links.active.get(id) {
                if self.ctx.hinders_reconnecting(&fault.desc) {
                    // An earlier fault's checkpoint whose window this fault overlapped gives
                    // way to this fault's own, later one: the client could not reconnect
                    // while this one kept it off.
                    let (ctx, desc) = (&self.ctx, &fault.desc);
                    self.checkpoints
                        .retain(|c| c.recovered || !ctx.affects(desc, &c.host, &c.client));
                }
                let at = event.t + self.ctx.reconnect_within;
                let affected: Vec<Checkpoint> = links
                    .clients()
                    .filter(|(client, host, _)| self.ctx.affects(&fault.desc, host, client))
                    .map(|(client, host, up)| Checkpoint {
                        client: client.to_string(),
                        host: host.to_string(),
                        fault: *id,
                        at,
                        recovered: false,
                        knocked_down: false,
                        ended: event.t,
                        connected_at_end: up,
                    })
                    .collect();
                self.checkpoints.extend(affected);
                self.note_earliest();
            }
        }
    }

    fn finish(&mut self, view: &RunView) -> Vec<Violation> {
        let end = self.ctx.end;
        self.judge_until(end, true, &view.links);
        self.violations.clone()
    }

    fn vacuous(&self) -> bool {
        self.passed == 0
    }

    fn summary(&self) -> String {
        let mut s = format!(
            "{} client recoveries within {} ms of a fault ending",
            self.passed,
            ms(self.ctx.reconnect_within)
        );
        if !self.checkpoints.is_empty() {
            s.push_str(&format!(
                "; {} cut short by the end of the run",
                self.checkpoints.len()
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests::{ctx, ev, feed_and_finish};
    use crate::event::{DisconnectReason, FaultDesc};

    fn connected(t: u64) -> Event {
        ev(
            t,
            "clients",
            EventKind::Client {
                client: "a".into(),
                event: ClientEvent::Connected { attempt: 1 },
            },
        )
    }
    fn dropped(t: u64) -> Event {
        ev(
            t,
            "clients",
            EventKind::Client {
                client: "a".into(),
                event: ClientEvent::Disconnected {
                    reason: DisconnectReason::PingTimeout,
                },
            },
        )
    }
    fn start(t: u64, id: u32, fault: FaultDesc) -> Event {
        ev(t, "sim", EventKind::FaultStart { id, fault })
    }
    fn end(t: u64, id: u32) -> Event {
        ev(t, "sim", EventKind::FaultEnd { id, fault: "x" })
    }
    fn partition() -> FaultDesc {
        FaultDesc::Partition {
            a: "clients".into(),
            b: "proxy".into(),
            duration_ms: 60_000,
        }
    }
    fn crash() -> FaultDesc {
        FaultDesc::Crash {
            host: "server".into(),
            duration_ms: 1_000,
            silent: false,
        }
    }

    fn run(events: &[Event]) -> Vec<String> {
        let mut c = Liveness::new(ctx()); // reconnect_within 30 s, run ends at 100 s
        feed_and_finish(&mut c, &ctx(), events)
            .into_iter()
            .map(|v| v.detail)
            .collect()
    }

    #[test]
    fn a_client_that_came_back_and_was_knocked_down_by_a_later_fault_is_not_blamed_on_the_first() {
        let first = [
            connected(0),
            start(1_000, 0, partition()),
            dropped(30_000),
            end(31_000, 0),
            connected(35_000),
        ];
        // A crash knocks it down again and it stays down past both bounds: the crash's own
        // checkpoint fails, the partition's does not.
        let mut knocked = first.to_vec();
        knocked.extend([start(50_000, 1, crash()), dropped(50_010), end(51_000, 1)]);
        assert_eq!(
            run(&knocked),
            ["a not connected 30000 ms after fault #1 ended"]
        );
        // Dropping again with no fault to explain it: the partition's checkpoint fails.
        let mut unexplained = first.to_vec();
        unexplained.push(dropped(50_000));
        assert_eq!(
            run(&unexplained),
            ["a not connected 30000 ms after fault #0 ended"]
        );
        // Never back at all.
        assert_eq!(
            run(&first[..4]),
            ["a not connected 30000 ms after fault #0 ended"]
        );
    }
}
