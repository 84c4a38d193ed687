//! Checker `detection`: every break of a client's link that lasts longer than the detection
//! bound (the first of the keepalive's ping interval + ping timeout and the client's
//! server-silence watchdog) is detected by that client — a `disconnected` event — within that
//! bound plus the one-way link latency, counted from the start of the break (the
//! latency of a spike on then or just before, if higher: a frame in flight when the link broke
//! still arrives that much later, and the client's silence starts from it).
//!
//! A `partition` breaks a link for its duration; a `state_loss` breaks established links for
//! good, whatever its duration. A link counts only if the client was connected when the fault
//! started and its path (client host → proxy → server) crosses the faulted link.
//!
//! Causality, not the clock: a sleeping client host runs no timer, so the bound counts again
//! from its waking; and the proxy blackholing a connection is a break only for the client still
//! on it: a client whose current link's attempt began (`connecting`) after that connection fell
//! silent, or after the proxy opened that connection, has left it, since the handshake of its
//! link crossed the proxy later than that.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::check::{ms, CheckContext, Checker, Violation};
use crate::event::{ClientEvent, ConnAction, Event, EventKind, FaultDesc, ProxyEvent};
use crate::proxy::IdleMode;
use crate::stats::RunStats;
use crate::view::faults::FaultHistory;
use crate::view::RunView;

#[derive(Debug, Clone)]
struct Obligation {
    /// What broke the link, for people.
    cause: String,
    start: Duration,
    deadline: Duration,
    /// When the break heals by itself (a partition's end), if it does.
    heals: Option<Duration>,
    /// The scenario fault that broke the link, if one did.
    fault: Option<u32>,
}

/// See the module documentation.
#[derive(Debug)]
pub struct Detection {
    ctx: CheckContext,
    open: BTreeMap<String, Obligation>,
    violations: Vec<Violation>,
    /// Detection time of every break, in order.
    times: Vec<Duration>,
    inconclusive: usize,
    /// Live proxy connection → when the proxy opened it.
    conn_opened: BTreeMap<u64, Duration>,
}

impl Detection {
    /// A detection checker for a run with `ctx`.
    #[must_use]
    pub fn new(ctx: CheckContext) -> Self {
        Detection {
            open: BTreeMap::new(),
            violations: Vec::new(),
            times: Vec::new(),
            inconclusive: 0,
            conn_opened: BTreeMap::new(),
            ctx,
        }
    }

    /// The detection time of every break found so far.
    #[must_use]
    pub fn times(&self) -> &[Duration] {
        &self.times
    }

    /// The highest one-way latency a frame in flight at `t` can meet: the normal range, or a
    /// spike on now or recent enough (three of its latencies) to still be delaying frames.
    ///
    /// A proxy's delay of `client`'s connection holds each frame back on top of the latency.
    fn ceiling_at(&self, faults: &FaultHistory, t: Duration, client: &str) -> Duration {
        faults
            .windows()
            .iter()
            .filter_map(|w| {
                let (max, only) = match &w.desc {
                    FaultDesc::Latency { max_ms, .. } => (Duration::from_millis(*max_ms), None),
                    FaultDesc::ProxyConn {
                        action: ConnAction::Delay,
                        delay_ms,
                        client,
                        ..
                    } => (
                        self.ctx.latency.max + Duration::from_millis(*delay_ms),
                        Some(client),
                    ),
                    _ => return None,
                };
                let on = w.start <= t
                    && w.end.is_none_or(|e| e + max * 3 >= t)
                    && only.is_none_or(|c| c == client);
                on.then_some(max)
            })
            .fold(self.ctx.latency.max, Duration::max)
    }

    fn bound(&self) -> Option<Duration> {
        self.ctx.client_detection_bound()
    }

    /// Opens, extends and settles obligations for `event` (the link bookkeeping is updated
    /// after, so a fault's end still sees the fault).
    fn judge(&mut self, event: &Event, view: &RunView) {
        let (links, faults) = (&view.links, &view.faults);
        match &event.kind {
            EventKind::FaultStart { id, fault } => {
                if let FaultDesc::Crash { host, .. } = fault {
                    // A client whose own host crashed detects nothing: it is not running, and
                    // once restarted it has no link to find broken. Whatever it owed goes.
                    self.open
                        .retain(|client, _| links.host_of(client) != Some(host.as_str()));
                }
                let Some(bound) = self.bound() else { return };
                let breaks_for = match fault {
                    // A forgotten connection, or a host that died without a word, is dead for
                    // good: only heartbeats can tell.
                    FaultDesc::StateLoss { .. }
                    | FaultDesc::Crash { silent: true, .. }
                    | FaultDesc::ProxyConn {
                        action: ConnAction::Blackhole,
                        ..
                    } => Duration::MAX,
                    FaultDesc::ProxyConn { .. } => Duration::ZERO,
                    FaultDesc::Partition { duration_ms, .. } => Duration::from_millis(*duration_ms),
                    // A latency spike slows a link; a crash closes it visibly.
                    // A sleeping client cannot detect anything; it finds out on waking.
                    // A one-way loss kills only streams that send in its direction: whether and
                    // when is up to the traffic, so no bound is promised.
                    FaultDesc::Latency { .. }
                    | FaultDesc::OneWay { .. }
                    | FaultDesc::Sleep { .. }
                    | FaultDesc::Crash { silent: false, .. }
                    | FaultDesc::ClockStep { .. }
                    | FaultDesc::ClockDrift { .. } => Duration::ZERO,
                };
                if breaks_for <= bound {
                    return;
                }
                // A frame already in flight when the link broke still arrives (and resets the
                // client's silence clock) up to the highest latency of the run later.
                let crashed_host = match fault {
                    FaultDesc::Crash { host, .. } => Some(host.as_str()),
                    _ => None,
                };
                let affected: Vec<String> = links
                    .clients()
                    .filter(|(client, host, up)| {
                        *up && Some(*host) != crashed_host && self.ctx.affects(fault, host, client)
                    })
                    .map(|(c, _, _)| c.to_string())
                    .collect();
                for client in affected {
                    let ceiling = self.ceiling_at(faults, event.t, &client);
                    // The client's silence starts at the last frame in flight, as late as the
                    // ceiling after the break: a break that heals within the bound of that
                    // needs no detecting.
                    if breaks_for <= bound + ceiling {
                        continue;
                    }
                    let deadline = event.t + bound + ceiling;
                    self.open.entry(client).or_insert(Obligation {
                        cause: format!("fault #{id}"),
                        start: event.t,
                        deadline,
                        heals: (breaks_for != Duration::MAX).then(|| event.t + breaks_for),
                        fault: Some(*id),
                    });
                }
            }
            EventKind::Proxy(ProxyEvent::IdleKill {
                conn,
                client: Some(client),
                mode: IdleMode::Blackhole,
                idle_ms,
            }) => {
                // A blackholed connection is a break only heartbeats can find — for a client
                // still on it.
                let silent_since = event.t.saturating_sub(Duration::from_millis(*idle_ms));
                // The client's current link began (`connecting`) after this connection fell
                // silent: its handshake crossed the proxy later, so on another connection.
                // Or the connection was opened before that attempt began: the attempt's
                // handshake crossed the proxy on a newer one.
                let opened = self.conn_opened.get(conn).copied();
                let moved_on = links
                    .link_began(client)
                    .is_some_and(|began| began > silent_since || opened.is_some_and(|o| o < began));
                if let Some(bound) = self.bound() {
                    if links.is_connected(client) && !moved_on {
                        let ceiling = self.ceiling_at(faults, event.t, client);
                        self.open.entry(client.clone()).or_insert(Obligation {
                            cause: format!("the blackhole of proxy connection {conn}"),
                            start: event.t,
                            deadline: event.t + bound + ceiling,
                            heals: None,
                            fault: None,
                        });
                    }
                }
            }
            EventKind::FaultEnd { id, .. } => {
                let ended = links.active.get(id).map(|f| f.desc.clone());
                if let (Some(desc @ FaultDesc::Partition { .. }), Some(bound)) =
                    (&ended, self.bound())
                {
                    // Whatever the partition held is delivered now: to a client whose link
                    // another fault broke meanwhile, those frames are signs of life, and its
                    // silence starts again from them. A break that heals within the bound of
                    // them needs no detecting.
                    let ceilings: Vec<(String, Duration)> = self
                        .open
                        .keys()
                        .map(|c| (c.clone(), self.ceiling_at(faults, event.t, c)))
                        .collect();
                    let ctx = &self.ctx;
                    for (client, ceiling) in ceilings {
                        let deadline = event.t + ceiling + bound + ctx.latency.max;
                        let host = links.host_of(&client).unwrap_or("");
                        if let Some(o) = self.open.get_mut(&client) {
                            if o.fault != Some(*id) && ctx.affects(desc, host, &client) {
                                if o.heals
                                    .is_some_and(|h| h.saturating_sub(event.t) <= bound + ceiling)
                                {
                                    self.open.remove(&client);
                                    continue;
                                }
                                o.deadline = o.deadline.max(deadline);
                            }
                        }
                    }
                }
                let woken = match links.active.get(id).map(|f| &f.desc) {
                    Some(FaultDesc::Sleep { host, .. }) => host.clone(),
                    _ => String::new(),
                };
                if let (false, Some(bound)) = (woken.is_empty(), self.bound()) {
                    // The host's clients ran no timer while it slept: their bound starts now.
                    // A break that heals within the bound of the waking needs no detecting.
                    let deadline = event.t + bound + self.ctx.latency.max;
                    self.open.retain(|client, o| {
                        if links.host_of(client) != Some(woken.as_str()) {
                            return true;
                        }
                        if o.heals.is_some_and(|h| h.saturating_sub(event.t) <= bound) {
                            return false;
                        }
                        o.deadline = o.deadline.max(deadline);
                        true
                    });
                }
            }
            EventKind::Proxy(ProxyEvent::ProxyConnOpened { conn }) => {
                self.conn_opened.insert(*conn, event.t);
            }
            EventKind::Proxy(ProxyEvent::ProxyConnClosed { conn, .. }) => {
                self.conn_opened.remove(conn);
            }
            EventKind::Client {
                client,
                event: ClientEvent::Disconnected { reason },
            } => {
                if let Some(o) = self.open.remove(client) {
                    let took = event.t.saturating_sub(o.start);
                    self.times.push(took);
                    if event.t > o.deadline {
                        self.violations.push(Violation {
                            t: event.t,
                            detail: format!(
                                "{client} detected {} after {} ms ({}); bound {} ms",
                                o.cause,
                                ms(took),
                                reason.as_str(),
                                ms(o.deadline - o.start)
                            ),
                        });
                    }
                }
            }
            _ => {}
        }
    }
}

impl Checker for Detection {
    fn name(&self) -> &'static str {
        "detection"
    }

    fn observe(&mut self, event: &Event, view: &RunView) {
        self.judge(event, view);
    }

    fn finish(&mut self, _view: &RunView) -> Vec<Violation> {
        for (client, o) in std::mem::take(&mut self.open) {
            if o.deadline <= self.ctx.end {
                self.violations.push(Violation {
                    t: o.deadline,
                    detail: format!(
                        "{client} did not detect {} within {} ms",
                        o.cause,
                        ms(o.deadline - o.start)
                    ),
                });
            } else {
                self.inconclusive += 1;
            }
        }
        self.violations.sort_by_key(|v| v.t);
        self.violations.clone()
    }

    fn measure(&self, stats: &mut RunStats) {
        stats.set_detection_times(&self.times);
    }

    fn vacuous(&self) -> bool {
        self.times.is_empty() && self.inconclusive == 0
    }

    fn summary(&self) -> String {
        let Some(bound) = self.bound() else {
            return "keepalive and silence watchdog disabled: nothing to detect".into();
        };
        let bound_ms = ms(bound + self.ctx.latency.max);
        let mut s = match self.times.iter().max() {
            None => format!(
                "no link break longer than the {} ms detection bound",
                ms(bound)
            ),
            Some(max) => format!(
                "{} breaks detected, slowest after {} ms (bound {bound_ms} ms)",
                self.times.len(),
                ms(*max)
            ),
        };
        if self.inconclusive > 0 {
            s.push_str(&format!(
                "; {} cut short by the end of the run",
                self.inconclusive
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests::{ctx, ev, feed_and_finish};
    use crate::event::DisconnectReason;

    fn connected(t: u64) -> Event {
        ev(
            t,
            "h1",
            EventKind::Client {
                client: "a".into(),
                event: ClientEvent::Connected { attempt: 1 },
            },
        )
    }

    fn partition(t: u64, ms: u64) -> Event {
        ev(
            t,
            "sim",
            EventKind::FaultStart {
                id: 0,
                fault: FaultDesc::Partition {
                    a: "h1".into(),
                    b: "proxy".into(),
                    duration_ms: ms,
                },
            },
        )
    }

    fn disconnected(t: u64) -> Event {
        ev(
            t,
            "h1",
            EventKind::Client {
                client: "a".into(),
                event: ClientEvent::Disconnected {
                    reason: DisconnectReason::PingTimeout,
                },
            },
        )
    }

    fn run(events: &[Event]) -> (Vec<Violation>, Vec<Duration>) {
        run_with(ctx(), events)
    }

    fn run_with(ctx: CheckContext, events: &[Event]) -> (Vec<Violation>, Vec<Duration>) {
        let mut c = Detection::new(ctx.clone());
        let v = feed_and_finish(&mut c, &ctx, events);
        (v, c.times().to_vec())
    }

    #[test]
    fn detection_at_the_bound_passes_one_ms_later_fails() {
        // ctx(): 20 s + 20 s keepalive, 10 ms max latency.
        let (v, times) = run(&[connected(0), partition(1_000, 60_000), disconnected(41_010)]);
        assert!(v.is_empty());
        assert_eq!(times, [Duration::from_millis(40_010)]);
        let (v, _) = run(&[connected(0), partition(1_000, 60_000), disconnected(41_011)]);
        assert_eq!(v.len(), 1);
        assert!(v[0].detail.contains("after 40011 ms"), "{}", v[0].detail);
    }

    #[test]
    fn a_tighter_silence_watchdog_is_the_bound_and_without_pings_it_is_the_only_one() {
        // A 25 s watchdog notices before the 20 s + 20 s keepalive: its bound holds.
        let mut c = ctx();
        c.server_silence = Some(Duration::from_secs(25));
        let (v, _) = run_with(
            c.clone(),
            &[connected(0), partition(1_000, 60_000), disconnected(26_010)],
        );
        assert!(v.is_empty(), "{v:?}");
        let (v, _) = run_with(
            c.clone(),
            &[connected(0), partition(1_000, 60_000), disconnected(30_000)],
        );
        assert_eq!(v.len(), 1, "a client that waits for its keepalive is late");
        // A client without pings is held to its watchdog, and a break within it needs none.
        c.keepalive.interval = None;
        let (v, _) = run_with(c.clone(), &[connected(0), partition(1_000, 60_000)]);
        assert_eq!(v.len(), 1, "a break nothing noticed: {v:?}");
        let (v, _) = run_with(c.clone(), &[connected(0), partition(1_000, 20_000)]);
        assert!(v.is_empty(), "{v:?}");
        // Neither keepalive nor watchdog: nothing can be asked.
        c.server_silence = None;
        let (v, _) = run_with(c, &[connected(0), partition(1_000, 60_000)]);
        assert!(v.is_empty(), "{v:?}");
    }

    #[test]
    fn undetected_break_fails_and_short_breaks_need_no_detection() {
        let (v, _) = run(&[connected(0), partition(1_000, 60_000)]);
        assert_eq!(v.len(), 1);
        assert!(v[0].detail.contains("did not detect"));
        let (v, times) = run(&[connected(0), partition(1_000, 5_000)]);
        assert!(v.is_empty() && times.is_empty());
    }

    #[test]
    fn frames_a_spike_delayed_into_a_partition_shorten_the_break() {
        // An ack delayed by a 3 s spike can arrive 3 s into the partition that follows: a
        // partition 1 s longer than the bound then heals before the client must notice.
        let spike = |t| {
            ev(
                t,
                "sim",
                EventKind::FaultStart {
                    id: 1,
                    fault: FaultDesc::Latency {
                        a: "h1".into(),
                        b: "proxy".into(),
                        duration_ms: 20_000,
                        min_ms: 1_000,
                        max_ms: 3_000,
                    },
                },
            )
        };
        let end = |t, id| ev(t, "sim", EventKind::FaultEnd { id, fault: "x" });
        let healed = [partition(20_100, 41_000), end(61_100, 0)];
        let (v, _) = run(&[&[connected(0), spike(0), end(20_000, 1)][..], &healed].concat());
        assert!(v.is_empty(), "{v:?}");
        let (v, _) = run(&[&[connected(0)][..], &healed].concat());
        assert_eq!(v.len(), 1, "without the spike the break outlasts the bound");
    }

    #[test]
    fn other_hosts_and_disconnected_clients_are_not_affected() {
        let other = ev(
            0,
            "h2",
            EventKind::Client {
                client: "b".into(),
                event: ClientEvent::Connected { attempt: 1 },
            },
        );
        let (v, _) = run(&[other, partition(1_000, 60_000)]);
        assert!(v.is_empty());
    }
}
