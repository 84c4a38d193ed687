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
use crate::view::faults::FaultWindow;
use crate::view::RunView;

/// See the module documentation.
#[derive(Debug)]
pub struct NoSpuriousDisconnect {
    ctx: CheckContext,
    /// (client, time) of every idle kill by the proxy.
    kills: Vec<(String, Duration)>,
    violations: Vec<Violation>,
    disconnects: usize,
    /// Clients whose current connection a fault ended or killed, or the server dropped
    /// while a fault explained it.
    dropped_for_cause: BTreeSet<String>,
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
            kills: Vec::new(),
            violations: Vec::new(),
            disconnects: 0,
            dropped_for_cause: BTreeSet::new(),
            refused: BTreeMap::new(),
        }
    }

    /// Whether a fault on `client`'s path explains it losing its link (or its attempt, as
    /// `reason` says) at `t`.
    fn explained(
        &self,
        view: &RunView,
        host: &str,
        client: &str,
        t: Duration,
        reason: DisconnectReason,
    ) -> bool {
        let faults = &view.faults;
        let explains = |w: &FaultWindow| {
            if t < w.start || !self.ctx.affects(&w.desc, host, client) {
                return false;
            }
            let w = faults.along_path(&self.ctx, w, host, client);
            if matches!(
                reason,
                DisconnectReason::ConnectTimeout | DisconnectReason::ConnectFailed
            ) {
                self.ctx.disrupts_connect(&w.desc)
                    && w.end
                        .is_none_or(|end| t <= self.ctx.connect_window_end(&w.desc, end))
            } else {
                self.ctx.disrupts_link(&w.desc)
                    && w.end.is_none_or(|end| {
                        let slack = faults.spike_slack(&self.ctx, host, client, end, t);
                        t <= self.ctx.link_window_end(&w.desc, w.start, end) + slack
                    })
            }
        };
        faults.windows().iter().any(explains)
    }

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
    fn killed(&self, view: &RunView, host: &str, client: &str, t: Duration) -> bool {
        let notice = self.ctx.client_detection_bound().unwrap_or_default();
        let bound = notice + self.ctx.connect_timeout + 4 * self.ctx.latency.max;
        let faults = &view.faults;
        self.kills.iter().any(|(c, at)| {
            if c != client || *at > t {
                return false;
            }
            match faults.last_heard_by(&self.ctx, host, client, *at) {
                None => true,
                Some(heard) => {
                    t <= heard + faults.spike_slack(&self.ctx, host, client, *at, heard) + bound
                }
            }
        })
    }
}

impl Checker for NoSpuriousDisconnect {
    fn name(&self) -> &'static str {
        "no_spurious_disconnect"
    }

    fn observe(&mut self, event: &Event, view: &RunView) {
        match &event.kind {
            EventKind::FaultStart { fault, .. } => {
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
                    for (client, host, up) in view.links.clients() {
                        if up && self.ctx.affects(fault, host, client) {
                            self.dropped_for_cause.insert(client.to_string());
                        }
                    }
                }
            }
            EventKind::Proxy(ProxyEvent::IdleKill {
                client: Some(client),
                ..
            }) => self.kills.push((client.clone(), event.t)),
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
            }
            EventKind::Server(ServerEvent::SessionClosed { client, reason })
                if reason != "replaced" =>
            {
                let host = view.links.host_of(client).unwrap_or("");
                let reason = DisconnectReason::ClosedByPeer;
                if self.explained(view, host, client, event.t, reason) {
                    self.dropped_for_cause.insert(client.clone());
                }
            }
            EventKind::Client {
                client,
                event: ClientEvent::Disconnected { reason },
            } if *reason != DisconnectReason::ClientClosed => {
                self.disconnects += 1;
                let refused = self.refused.remove(client);
                let explained = self.explained(view, &event.host, client, event.t, *reason)
                    || self.killed(view, &event.host, client, event.t)
                    || self.dropped_for_cause.contains(client);
                if !explained {
                    let why = match refused {
                        Some(status) => format!(
                            "{}: the server answered HTTP {status} to its upgrade request",
                            reason.as_str()
                        ),
                        None => reason.as_str().to_string(),
                    };
                    self.violations.push(Violation {
                        t: event.t,
                        detail: format!(
                            "{client} disconnected ({why}) with no fault on its path to explain it"
                        ),
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
