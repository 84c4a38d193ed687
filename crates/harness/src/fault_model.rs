//! The fault model: what each kind of fault can do to a client's link and to its attempts to
//! connect, and for how long a loss it causes is explained by it — given the run's keepalive,
//! heartbeat, silence watchdog, connect timeout and the latency links deliver with. Checkers
//! ask it instead of reasoning about faults themselves; the simulator facts it rests on
//! (latency as delivered on tick boundaries) come from the simulation layer
//! ([`crate::sim::delivered_latency`]).

use std::time::Duration;

use crate::fault::{ConnAction, FaultDesc};
use crate::keepalive::KeepaliveConfig;
use crate::scenario::duration::DurRange;

/// The settings the fault model reasons with.
#[derive(Debug, Clone)]
pub struct FaultModel {
    /// The clients' keepalive settings.
    pub keepalive: KeepaliveConfig,
    /// The server's heartbeat settings.
    pub server_heartbeat: KeepaliveConfig,
    /// The clients' server-silence watchdog: how long nothing at all may arrive, if set.
    pub server_silence: Option<Duration>,
    /// The clients' connect timeout.
    pub connect_timeout: Duration,
    /// The one-way latency range links deliver with.
    pub latency: DurRange,
}

impl FaultModel {
    /// Whether `fault` lies on the path of `client` on `client_host` (client host → proxy →
    /// server): a fault on one of its two links, a crash of one of its three hosts, its host's
    /// sleep, or a fault injected into its own connection through the proxy.
    #[must_use]
    pub fn affects(&self, fault: &FaultDesc, client_host: &str, client: &str) -> bool {
        match fault {
            FaultDesc::ProxyConn { client: target, .. } => target == client,
            FaultDesc::Crash { host, .. } => {
                host == client_host || host == "proxy" || host == "server"
            }
            FaultDesc::Sleep { host, .. } => host == client_host,
            FaultDesc::ClockStep { .. } | FaultDesc::ClockDrift { .. } => false,
            _ => fault.link().is_some_and(|(a, b)| {
                let is = |x: &str, y: &str| (a == x && b == y) || (a == y && b == x);
                is(client_host, "proxy") || is("proxy", "server")
            }),
        }
    }

    /// Whether `fault` kills the established connections it crosses for good (turmoil's TCP
    /// does not retransmit, and a forgotten or blackholed connection never comes back): a
    /// one-way loss, a state loss, a silent crash, a blackholed proxy connection. Only
    /// keepalive can tell such a link is gone.
    #[must_use]
    pub fn leaves_links_dead(&self, fault: &FaultDesc) -> bool {
        matches!(
            fault,
            FaultDesc::OneWay { .. }
                | FaultDesc::StateLoss { .. }
                | FaultDesc::Crash { silent: true, .. }
                | FaultDesc::ProxyConn {
                    action: ConnAction::Blackhole,
                    ..
                }
        )
    }

    /// How long a client must be reachable after a message is written (accepted) before the
    /// message counts as lost (its delivery as missing): 5 s, or 4 × max latency if longer.
    #[must_use]
    pub fn settle(&self) -> Duration {
        Duration::from_secs(5).max(4 * self.latency.max)
    }

    /// How long a client on a dead link may take to notice, counted from the last frame it
    /// heard: the first of its keepalive (ping interval + ping timeout) and its server-silence
    /// watchdog (`None`: neither is on).
    #[must_use]
    pub fn client_detection_bound(&self) -> Option<Duration> {
        [self.keepalive.detection_bound(), self.server_silence]
            .into_iter()
            .flatten()
            .min()
    }

    /// Shortest stretch of a fault either end may not outlast before dropping a link, if any:
    /// a ping timeout, or the client's server-silence watchdog less the longest quiet spell of
    /// a healthy link. The watchdog counts from the last frame heard, and on a healthy link
    /// that frame may be a ping interval old when the fault starts (the next ping is what
    /// fetches an answer): with a 22 s client ping and a 40 s watchdog, a 23 s partition
    /// starting just before the ping trips it. Without any ping the quiet spell is unbounded.
    #[must_use]
    pub fn patience(&self) -> Option<Duration> {
        let quiet = [self.keepalive.interval, self.server_heartbeat.interval]
            .into_iter()
            .flatten()
            .min();
        let watchdog = self
            .server_silence
            .map(|s| quiet.map_or(Duration::ZERO, |q| s.saturating_sub(q)));
        [
            self.keepalive.timeout,
            self.server_heartbeat.timeout,
            watchdog,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Whether `fault` can end an established link (see `scenarios/README.md`).
    #[must_use]
    pub fn disrupts_link(&self, fault: &FaultDesc) -> bool {
        let Some(patience) = self.patience() else {
            return matches!(
                fault,
                FaultDesc::StateLoss { .. }
                    | FaultDesc::OneWay { .. }
                    | FaultDesc::Crash { .. }
                    | FaultDesc::Sleep { .. }
                    | FaultDesc::ProxyConn {
                        action: ConnAction::Reset,
                        ..
                    }
            );
        };
        let trips = 4 * self.latency.max;
        match fault {
            FaultDesc::StateLoss { .. }
            | FaultDesc::OneWay { .. }
            | FaultDesc::Crash { .. }
            | FaultDesc::Sleep { .. }
            | FaultDesc::ProxyConn {
                action: ConnAction::Blackhole | ConnAction::Reset,
                ..
            } => true,
            FaultDesc::ProxyConn { delay_ms, .. } => {
                2 * Duration::from_millis(*delay_ms) + trips >= patience
            }
            FaultDesc::Partition { duration_ms, .. } => {
                Duration::from_millis(*duration_ms) + trips >= patience
            }
            FaultDesc::Latency { max_ms, .. } => {
                2 * Duration::from_millis(*max_ms) + trips >= patience
            }
            // Wall clocks drive no timer.
            FaultDesc::ClockStep { .. } | FaultDesc::ClockDrift { .. } => false,
        }
    }

    /// Whether `fault` can keep a client from reconnecting while it lasts: it can end a link,
    /// or it slows an attempt past the client's connect timeout — a latency spike delays the
    /// TCP connect and the upgrade's request and answer (three crossings of the faulted link),
    /// a proxy delay holds the request and the answer.
    #[must_use]
    pub fn hinders_reconnecting(&self, fault: &FaultDesc) -> bool {
        let trips = 4 * self.latency.max;
        let slows =
            |crossings: u32, held: Duration| crossings * held + trips >= self.connect_timeout;
        self.disrupts_link(fault)
            || match fault {
                FaultDesc::Latency { max_ms, .. } => slows(3, Duration::from_millis(*max_ms)),
                FaultDesc::ProxyConn { delay_ms, .. } => slows(2, Duration::from_millis(*delay_ms)),
                FaultDesc::Partition { duration_ms, .. } => {
                    Duration::from_millis(*duration_ms) + trips >= self.connect_timeout
                }
                _ => false,
            }
    }

    /// Until when a link lost because of `fault` (`start`..`end`) is explained by it.
    #[must_use]
    pub fn link_window_end(&self, fault: &FaultDesc, start: Duration, end: Duration) -> Duration {
        let trips = 4 * self.latency.max;
        match fault {
            FaultDesc::Partition { .. } => end + trips,
            FaultDesc::Crash { silent: false, .. } => end + self.connect_timeout + trips,
            FaultDesc::ProxyConn {
                action: ConnAction::Reset,
                ..
            } => end + trips,
            FaultDesc::ProxyConn {
                action: ConnAction::Delay,
                delay_ms,
                ..
            } => end + 2 * Duration::from_millis(*delay_ms) + trips,
            FaultDesc::StateLoss { .. }
            | FaultDesc::OneWay { .. }
            | FaultDesc::Crash { silent: true, .. }
            | FaultDesc::Sleep { .. }
            | FaultDesc::ProxyConn {
                action: ConnAction::Blackhole,
                ..
            } => {
                // A one-way loss may kill a stream only when it next sends, as late as the end.
                let start = if matches!(fault, FaultDesc::OneWay { .. }) {
                    end
                } else {
                    start
                };
                let bound = [
                    self.keepalive.detection_bound(),
                    self.server_heartbeat.detection_bound(),
                    self.server_silence,
                ]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or_default();
                end.max(start + bound) + self.connect_timeout + trips
            }
            FaultDesc::Latency { max_ms, .. } => end + 2 * Duration::from_millis(*max_ms) + trips,
            FaultDesc::ClockStep { .. } | FaultDesc::ClockDrift { .. } => end,
        }
    }

    /// Whether `fault` can make a connection attempt fail or time out.
    #[must_use]
    pub fn disrupts_connect(&self, fault: &FaultDesc) -> bool {
        match fault {
            FaultDesc::StateLoss { .. }
            | FaultDesc::Partition { .. }
            | FaultDesc::OneWay { .. }
            | FaultDesc::Crash { .. }
            | FaultDesc::Sleep { .. } => true,
            FaultDesc::Latency { max_ms, .. } => {
                6 * Duration::from_millis(*max_ms) >= self.connect_timeout
            }
            FaultDesc::ClockStep { .. }
            | FaultDesc::ClockDrift { .. }
            | FaultDesc::ProxyConn { .. } => false,
        }
    }

    /// Until when a failed connection attempt is explained by `fault` (ended at `end`).
    #[must_use]
    pub fn connect_window_end(&self, fault: &FaultDesc, end: Duration) -> Duration {
        let extra = match fault {
            FaultDesc::Latency { max_ms, .. } => 6 * Duration::from_millis(*max_ms),
            _ => 6 * self.latency.max,
        };
        end + self.connect_timeout + extra
    }
}
