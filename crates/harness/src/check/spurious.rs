//! Checker `no_spurious_disconnect`: a client only loses its link, or fails to connect, when a
//! fault on its path could have caused it.
//!
//! A lost link (`ping_timeout`, `server_silent`, `closed_by_peer`, `reset`) is explained by a
//! fault that can end an established link (`CheckContext::disrupts_link`), from the fault's
//! start until `CheckContext::link_window_end`. A failed attempt (`connect_timeout`,
//! `connect_failed`) is explained by a fault that can disrupt a handshake, from its start until
//! `CheckContext::connect_window_end`. A connection the proxy killed for idling explains its
//! client's disconnect too (whether such kills are acceptable is `idle_kills`' question).
//!
//! Causality, not margins: when the server drops a client's connection while a fault explains
//! losing it (a heartbeat timing out during a partition, say), that drop explains the client's
//! next disconnect whenever it arrives — the close may be held by the partition and reach the
//! client long after the partition healed.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::check::{CheckContext, Checker, Violation};
use crate::event::{
    ClientEvent, ConnAction, DisconnectReason, Event, EventKind, FaultDesc, ProxyEvent, ServerEvent,
};
use crate::view::RunView;

#[derive(Debug, Clone)]
struct Window {
    id: u32,
    desc: FaultDesc,
    start: Duration,
    end: Option<Duration>,
}

/// See the module documentation.
#[derive(Debug)]
pub struct NoSpuriousDisconnect {
    ctx: CheckContext,
    faults: Vec<Window>,
    /// (client, time) of every idle kill by the proxy.
    kills: Vec<(String, Duration)>,
    violations: Vec<Violation>,
    disconnects: usize,
    /// Client → its host, as its own events say.
    hosts: BTreeMap<String, String>,
    /// Clients whose current connection a fault ended or killed, or the server dropped
    /// while a fault explained it.
    dropped_for_cause: BTreeSet<String>,
    /// Clients connected now.
    connected: BTreeSet<String>,
    /// The HTTP status of a client's refused upgrade, until its failed attempt is judged
    /// (one per client at most).
    refused: BTreeMap<String, u16>,
}

impl NoSpuriousDisconnect {
    /// A checker for a run with `ctx`.
    #[must_use]
    pub fn new(ctx: CheckContext) -> Self {
        NoSpuriousDisconnect {
            ctx,
            faults: Vec::new(),
            kills: Vec::new(),
            violations: Vec::new(),
            disconnects: 0,
            hosts: BTreeMap::new(),
            dropped_for_cause: BTreeSet::new(),
            connected: BTreeSet::new(),
            refused: BTreeMap::new(),
        }
    }

    fn explains(
        &self,
        w: &Window,
        host: &str,
        client: &str,
        t: Duration,
        reason: DisconnectReason,
    ) -> bool {
        if t < w.start || !self.ctx.affects(&w.desc, host, client) {
            return false;
        }
        let merged = self
            .merged_partition(w, host, client)
            .or_else(|| self.merged_slowdown(w, host, client));
        let w = merged.as_ref().unwrap_or(w);
        let slowed = self.slowed_partition(w, host, client);
        let w = slowed.as_ref().unwrap_or(w);
        let connecting = matches!(
            reason,
            DisconnectReason::ConnectTimeout | DisconnectReason::ConnectFailed
        );
        if connecting {
            self.ctx.disrupts_connect(&w.desc)
                && w.end
                    .is_none_or(|end| t <= self.ctx.connect_window_end(&w.desc, end))
        } else {
            self.ctx.disrupts_link(&w.desc)
                && w.end.is_none_or(|end| {
                    let slack = self.spike_slack(host, client, end, t);
                    t <= self.ctx.link_window_end(&w.desc, w.start, end) + slack
                })
        }
    }

    /// Partitions on `client`'s path that overlap hold it as one: two 14 s partitions
    /// overlapping by a second cut the path for 27 s, which a heartbeat that neither alone
    /// trips can notice — whether they cut the same link or the client's link and then the
    /// proxy's (a ping held by the first is released into the second). The chain of
    /// partitions on the path overlapping `w`, as one window (`None` if `w` is no partition
    /// or overlaps none).
    fn merged_partition(&self, w: &Window, host: &str, client: &str) -> Option<Window> {
        let FaultDesc::Partition { a, b, .. } = &w.desc else {
            return None;
        };
        // Each partition's planned span (its end is known when it starts).
        let span = |o: &Window| match &o.desc {
            FaultDesc::Partition { duration_ms, .. } if self.ctx.affects(&o.desc, host, client) => {
                Some((
                    o.start,
                    o.start + Duration::from_millis(*duration_ms),
                    o.end,
                ))
            }
            _ => None,
        };
        let (mut start, mut planned_end, mut end) = span(w)?;
        let mut merged_any = false;
        let mut grew = true;
        while grew {
            grew = false;
            for (s, e, actual) in self.faults.iter().filter_map(span) {
                let overlaps = s <= planned_end && e >= start;
                if overlaps && (s < start || e > planned_end) {
                    start = start.min(s);
                    planned_end = planned_end.max(e);
                    end = match (actual, end) {
                        (Some(x), Some(cur)) => Some(x.max(cur)),
                        _ => None,
                    };
                    grew = true;
                    merged_any = true;
                }
            }
        }
        merged_any.then(|| Window {
            id: w.id,
            desc: FaultDesc::Partition {
                a: a.clone(),
                b: b.clone(),
                duration_ms: u64::try_from(planned_end.saturating_sub(start).as_millis())
                    .unwrap_or(u64::MAX),
            },
            start,
            end,
        })
    }

    /// Slowdowns on different hops of `client`'s path add up: a frame and its answer cross
    /// every hop, so a 2 s spike on the client's link and a 3.9 s one on the proxy's, each
    /// too short alone to outlast an 8 s pong wait, outlast it together. `w` (a latency spike
    /// or a proxy delay of the client's connection) as one slowdown as large as the largest
    /// one-way delay it overlaps on each hop, summed over the hops (`None` if `w` is neither
    /// or overlaps nothing on another hop).
    fn merged_slowdown(&self, w: &Window, host: &str, client: &str) -> Option<Window> {
        let (own_hop, _) = slowdown_hop(&w.desc)?;
        let per_hop = self.slowdowns_per_hop(host, client, w.start, w.start + w.desc.duration());
        if per_hop.keys().all(|h| *h == own_hop) {
            return None;
        }
        let total: u64 = per_hop.values().sum();
        let desc = match &w.desc {
            FaultDesc::Latency {
                a,
                b,
                duration_ms,
                min_ms,
                ..
            } => FaultDesc::Latency {
                a: a.clone(),
                b: b.clone(),
                duration_ms: *duration_ms,
                min_ms: *min_ms,
                max_ms: total,
            },
            FaultDesc::ProxyConn {
                client,
                action,
                duration_ms,
                ..
            } => FaultDesc::ProxyConn {
                client: client.clone(),
                action: *action,
                delay_ms: total,
                duration_ms: *duration_ms,
            },
            _ => return None,
        };
        Some(Window {
            id: w.id,
            desc,
            start: w.start,
            end: w.end,
        })
    }

    /// The largest one-way delay of the slowdowns on `client`'s path planned to overlap
    /// `start..end`, per hop.
    fn slowdowns_per_hop(
        &self,
        host: &str,
        client: &str,
        start: Duration,
        end: Duration,
    ) -> BTreeMap<String, u64> {
        let mut per_hop: BTreeMap<String, u64> = BTreeMap::new();
        for o in &self.faults {
            let Some((h, delay)) = slowdown_hop(&o.desc) else {
                continue;
            };
            let planned_end = o.start + o.desc.duration();
            if o.start <= end && planned_end >= start && self.ctx.affects(&o.desc, host, client) {
                let d = per_hop.entry(h).or_default();
                *d = (*d).max(delay);
            }
        }
        per_hop
    }

    /// A partition and slowdowns on `client`'s path that overlap it add up too: a ping slowed
    /// on one hop (its answer too) is then held by the partition on another, so the client
    /// hears nothing for the partition plus the round trips the slowdowns stretch — a 3.9 s
    /// partition of the client's link during a 2.3 s spike on the proxy's outlasts a 6 s
    /// patience neither outlasts alone. `w` (a partition, merged or not) held longer by twice
    /// the largest delay it overlaps on each hop, summed over the hops, and ending with the
    /// last of them (`None` if `w` is no partition or overlaps no slowdown).
    fn slowed_partition(&self, w: &Window, host: &str, client: &str) -> Option<Window> {
        let FaultDesc::Partition { a, b, duration_ms } = &w.desc else {
            return None;
        };
        let planned_end = w.start + Duration::from_millis(*duration_ms);
        let per_hop = self.slowdowns_per_hop(host, client, w.start, planned_end);
        if per_hop.is_empty() {
            return None;
        }
        let mut end = w.end;
        for o in &self.faults {
            let overlaps = o.start <= planned_end && o.start + o.desc.duration() >= w.start;
            if overlaps
                && slowdown_hop(&o.desc).is_some()
                && self.ctx.affects(&o.desc, host, client)
            {
                end = match (o.end, end) {
                    (Some(x), Some(cur)) => Some(x.max(cur)),
                    _ => None,
                };
            }
        }
        let stretch: u64 = per_hop.values().map(|d| 2 * d).sum();
        Some(Window {
            id: w.id,
            desc: FaultDesc::Partition {
                a: a.clone(),
                b: b.clone(),
                duration_ms: duration_ms.saturating_add(stretch),
            },
            start: w.start,
            end,
        })
    }

    /// Four one-way trips at the highest latency of a spike on `client`'s path between `from`
    /// and `to` (or two of a proxy's delay of its connection): what a frame held by a fault (a
    /// pong, a close) needs, beyond the normal latency, to arrive once the fault heals.
    fn spike_slack(&self, host: &str, client: &str, from: Duration, to: Duration) -> Duration {
        self.faults
            .iter()
            .filter(|w| w.start <= to && w.end.is_none_or(|e| e >= from))
            .filter(|w| self.ctx.affects(&w.desc, host, client))
            .filter_map(|w| match w.desc {
                FaultDesc::Latency { max_ms, .. } => Some(4 * Duration::from_millis(max_ms)),
                // The proxy holds each chunk of this client's connection back: the answer to
                // a held frame (and the frame, if it had not crossed yet) waits too.
                FaultDesc::ProxyConn {
                    action: ConnAction::Delay,
                    delay_ms,
                    ..
                } => Some(2 * Duration::from_millis(delay_ms)),
                _ => None,
            })
            .max()
            .unwrap_or_default()
    }
}

impl NoSpuriousDisconnect {
    /// Whether the proxy's idle kill of `client`'s connection explains a disconnect at `t`: a
    /// closed connection is seen at once, a blackholed one by the client's keepalive or
    /// silence watchdog within their bound.
    ///
    /// The bound counts from when the client could last hear its server through the killed
    /// connection: a frame sent before the kill but held by a fault on the client's path (a
    /// partition holds it until it heals, a spike delays it) reaches the client afterwards and
    /// is a sign of life, so noticing starts no earlier than the end of every fault on the
    /// path that was under way at the kill, chained (one that began while the last was under
    /// way holds the frame further), plus the slack of the spikes among them.
    fn killed(&self, client: &str, t: Duration) -> bool {
        let notice = self.ctx.client_detection_bound().unwrap_or_default();
        let bound = notice + self.ctx.connect_timeout + 4 * self.ctx.latency.max;
        let host = self.hosts.get(client).map_or("", String::as_str);
        self.kills.iter().any(|(c, at)| {
            if c != client || *at > t {
                return false;
            }
            match self.last_heard_by(host, client, *at) {
                None => true,
                Some(heard) => t <= heard + self.spike_slack(host, client, *at, heard) + bound,
            }
        })
    }

    /// The latest time a frame sent to `client` at `at` may arrive: the end of the chain of
    /// faults on its path under way at `at` (`at` itself if none; `None` while one of them
    /// has not ended).
    fn last_heard_by(&self, host: &str, client: &str, at: Duration) -> Option<Duration> {
        let mut heard = at;
        let mut grew = true;
        while grew {
            grew = false;
            for w in &self.faults {
                if w.start > heard || !self.ctx.affects(&w.desc, host, client) {
                    continue;
                }
                match w.end {
                    None => return None,
                    Some(end) if end > heard => {
                        heard = end;
                        grew = true;
                    }
                    Some(_) => {}
                }
            }
        }
        Some(heard)
    }
}

/// The hop a slowdown (a latency spike, a proxy's delay of a connection) is on, and its
/// one-way delay in milliseconds; `None` for any other fault.
fn slowdown_hop(d: &FaultDesc) -> Option<(String, u64)> {
    match d {
        FaultDesc::Latency { a, b, max_ms, .. } => {
            let (x, y) = if a <= b { (a, b) } else { (b, a) };
            Some((format!("{x}|{y}"), *max_ms))
        }
        FaultDesc::ProxyConn {
            action: ConnAction::Delay,
            delay_ms,
            ..
        } => Some(("proxy-delay".to_string(), *delay_ms)),
        _ => None,
    }
}

impl Checker for NoSpuriousDisconnect {
    fn name(&self) -> &'static str {
        "no_spurious_disconnect"
    }

    fn observe(&mut self, event: &Event, _view: &RunView) {
        match &event.kind {
            EventKind::FaultStart { id, fault } => {
                // A fault that ends or kills a link (a crash closes it, a reset ends it, a
                // state loss or a one-way loss leaves it dead) explains that link's end
                // whenever it is noticed: the close may queue behind delayed frames, a dead
                // link is found only by keepalive.
                let ends_links = self.ctx.leaves_links_dead(fault)
                    || matches!(
                        fault,
                        FaultDesc::Crash { .. }
                            | FaultDesc::ProxyConn {
                                action: ConnAction::Reset,
                                ..
                            }
                    );
                if ends_links {
                    for client in &self.connected {
                        let host = self.hosts.get(client).map_or("", String::as_str);
                        if self.ctx.affects(fault, host, client) {
                            self.dropped_for_cause.insert(client.clone());
                        }
                    }
                }
                self.faults.push(Window {
                    id: *id,
                    desc: fault.clone(),
                    start: event.t,
                    end: None,
                });
            }
            EventKind::FaultEnd { id, .. } => {
                for w in &mut self.faults {
                    if w.id == *id && w.end.is_none() {
                        w.end = Some(event.t);
                    }
                }
            }
            EventKind::Proxy(ProxyEvent::IdleKill {
                client: Some(client),
                ..
            }) => self.kills.push((client.clone(), event.t)),
            EventKind::Client {
                client,
                event: ClientEvent::Connecting { .. },
            } => {
                self.hosts.insert(client.clone(), event.host.to_string());
            }
            EventKind::Client {
                client,
                event: ClientEvent::UpgradeRefused { status },
            } => {
                self.refused.insert(client.clone(), *status);
            }
            EventKind::Client {
                client,
                event: ClientEvent::Connected { .. },
            } => {
                self.dropped_for_cause.remove(client);
                self.connected.insert(client.clone());
            }
            EventKind::Server(ServerEvent::SessionClosed { client, reason })
                if reason != "replaced" =>
            {
                let host = self.hosts.get(client).map_or("", String::as_str);
                let reason = DisconnectReason::ClosedByPeer;
                let for_cause = self
                    .faults
                    .iter()
                    .any(|w| self.explains(w, host, client, event.t, reason));
                if for_cause {
                    self.dropped_for_cause.insert(client.clone());
                }
            }
            EventKind::Client {
                client,
                event: ClientEvent::Disconnected { reason },
            } if *reason != DisconnectReason::ClientClosed => {
                self.connected.remove(client);
                self.disconnects += 1;
                let refused = self.refused.remove(client);
                let explained = self
                    .faults
                    .iter()
                    .any(|w| self.explains(w, &event.host, client, event.t, *reason))
                    || self.killed(client, event.t)
                    || self.dropped_for_cause.contains(client);
                if !explained {
                    self.violations.push(Violation {
                        t: event.t,
                        detail: match refused {
                            Some(status) => format!(
                                "{client} disconnected ({}: the server answered HTTP {status} to its upgrade request) with no fault on its path to explain it",
                                reason.as_str()
                            ),
                            None => format!(
                                "{client} disconnected ({}) with no fault on its path to explain it",
                                reason.as_str()
                            ),
                        },
                    });
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, _view: &RunView) -> Vec<Violation> {
        self.violations.clone()
    }

    fn summary(&self) -> String {
        format!(
            "{} disconnects, each explained by a fault",
            self.disconnects
        )
    }
}
