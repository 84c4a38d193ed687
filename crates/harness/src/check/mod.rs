//! Checkers: each reads the event stream of a run, in order, and reports violations of one
//! property. One checker per file; they share [`CheckContext`] (the run's settings) and the
//! [`view::RunView`] (what several of them need, kept once per event), and keep only the state
//! of their own property.

pub mod backoff;
pub mod delivery;
pub mod detection;
pub mod grace;
pub mod herd;
pub mod idle_kills;
pub(crate) mod intern;
pub mod links;
pub mod liveness;
pub(crate) mod lookup;
pub mod numbering;
pub mod reachable;
pub mod resume;
pub mod room_log;
pub(crate) mod roster;
pub(crate) mod seq_runs;
pub mod spurious;
pub mod view;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::client::BackoffConfig;
use crate::event::{ConnAction, Event, EventKind, FaultDesc};
use crate::keepalive::KeepaliveConfig;
use crate::scenario::duration::DurRange;
use crate::scenario::model::GraceOutcome;
use crate::scenario::{CheckName, ScenarioFile};
use crate::stats::RunStats;

/// What checkers know besides the event stream: the settings the run used.
#[derive(Debug, Clone)]
pub struct CheckContext {
    /// The clients' keepalive settings.
    pub keepalive: KeepaliveConfig,
    /// The server's heartbeat settings.
    pub server_heartbeat: KeepaliveConfig,
    /// The clients' server-silence watchdog: how long nothing at all may arrive, if set.
    pub server_silence: Option<Duration>,
    /// The clients' connect timeout.
    pub connect_timeout: Duration,
    /// Normal one-way latency range of every link.
    pub latency: DurRange,
    /// Liveness bound after a fault ends.
    pub reconnect_within: Duration,
    /// The server's grace period.
    pub grace: Duration,
    /// Messages the server keeps per room for replay.
    pub history_limit: usize,
    /// The grace outcome the scenario expects, if it states one.
    pub grace_outcome: Option<GraceOutcome>,
    /// The clients' backoff settings.
    pub backoff: BackoffConfig,
    /// Most connection attempts allowed in any one second, if capped.
    pub max_connects_per_second: Option<usize>,
    /// Most idle kills allowed, if capped.
    pub max_idle_kills: Option<usize>,
    /// Simulated time at which the run ended.
    pub end: Duration,
    /// Each client's room (client id → room), as the scenario assigns them.
    pub rooms: BTreeMap<String, std::sync::Arc<str>>,
}

impl CheckContext {
    /// The context of a run of `scenario`.
    #[must_use]
    pub fn from_scenario(scenario: &ScenarioFile) -> Self {
        let client = scenario.client_config();
        CheckContext {
            keepalive: client.keepalive,
            server_heartbeat: scenario.server_config().heartbeat,
            server_silence: client.server_silence,
            connect_timeout: client.connect_timeout,
            // Segments are delivered on tick boundaries: latency rounds up to the tick.
            latency: DurRange {
                min: scenario.network.latency.min,
                max: round_up(scenario.network.latency.max, scenario.tick.0),
            },
            reconnect_within: scenario.expect.reconnect_within.map_or(
                client.backoff.max + client.connect_timeout + Duration::from_secs(5),
                |d| d.0,
            ),
            grace: scenario.server_config().grace,
            history_limit: scenario.server.history_limit,
            grace_outcome: scenario.expect.grace_outcome,
            backoff: client.backoff,
            max_connects_per_second: scenario.expect.max_connects_per_second,
            max_idle_kills: scenario.expect.max_idle_kills,
            end: scenario.duration.0,
            rooms: scenario
                .roster()
                .map(|c| (c.id, c.group.room.as_str().into()))
                .collect(),
        }
    }

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

    /// The room `client` is in, as the scenario assigns it ("" for a client it does not name).
    #[must_use]
    pub fn room_of(&self, client: &str) -> std::sync::Arc<str> {
        self.rooms.get(client).cloned().unwrap_or_else(|| "".into())
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

/// `d` rounded up to a whole number of `tick`s.
fn round_up(d: Duration, tick: Duration) -> Duration {
    let tick_ns = tick.as_nanos().max(1);
    let ticks = d.as_nanos().div_ceil(tick_ns);
    Duration::from_nanos(u64::try_from(ticks * tick_ns).unwrap_or(u64::MAX))
}

/// A violation found by a checker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// When the violation became certain.
    pub t: Duration,
    /// What went wrong, for a person.
    pub detail: String,
}

/// One property checked over a run's event stream. A checker may judge on another thread than
/// the simulation's (`Send`).
pub trait Checker: Send {
    /// The checker's name (as in scenario files).
    fn name(&self) -> &'static str;
    /// Sees the next event, in time order, with the run's view ([`view::RunView::feed`]).
    fn observe(&mut self, event: &Event, view: &view::RunView);
    /// The run ended (`view` has seen every event): report every violation found.
    fn finish(&mut self, view: &view::RunView) -> Vec<Violation>;
    /// One line on what was checked and measured.
    fn summary(&self) -> String;
    /// Adds what the checker measured to the run's statistics (most measure nothing).
    fn measure(&self, _stats: &mut RunStats) {}
    /// What the checker reads that not every system under test reports: the event names of
    /// which at least one must appear for it to judge, and who reports them. `None`: it needs
    /// only what wsim's own clients, proxy and fault executor record.
    fn requires(&self) -> Option<Requirement> {
        None
    }
}

/// Events a checker cannot judge without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    /// At least one of these event names must appear in the run.
    pub any_of: &'static [&'static str],
    /// Who reports them, for the skip message.
    pub reported_by: &'static str,
}

impl Requirement {
    /// The server's session events (`session_opened`, `user_away`, ...).
    pub const SERVER_SESSIONS: Requirement = Requirement {
        any_of: &["session_opened"],
        reported_by: "the server's session events (session_opened, user_away, user_reconnected, user_left, message_accepted) through its event sink",
    };
}

/// A checker's result in a verdict.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckOutcome {
    /// The checker.
    pub name: &'static str,
    /// Whether it found nothing wrong (a skipped check fails nothing).
    pub passed: bool,
    /// Its summary, or its first violation, or (skipped) why it could not judge.
    pub detail: String,
    /// The check could not judge: the run lacked the events it reads (a server under test
    /// that reports no session events, say). Never a silent pass: `detail` says why.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
}

/// Builds the checker called `name`.
#[must_use]
pub fn build(name: CheckName, ctx: &CheckContext) -> Box<dyn Checker> {
    match name {
        CheckName::Detection => Box::new(detection::Detection::new(ctx.clone())),
        CheckName::Liveness => Box::new(liveness::Liveness::new(ctx.clone())),
        CheckName::Delivery => Box::new(delivery::Delivery::new(ctx.clone())),
        CheckName::NoSpuriousDisconnect => {
            Box::new(spurious::NoSpuriousDisconnect::new(ctx.clone()))
        }
        CheckName::Grace => Box::new(grace::Grace::new(ctx.clone())),
        CheckName::Backoff => Box::new(backoff::Backoff::new(ctx.clone())),
        CheckName::Herd => Box::new(herd::Herd::new(ctx.clone())),
        CheckName::IdleKills => Box::new(idle_kills::IdleKills::new(ctx.clone())),
        CheckName::Resume => Box::new(resume::Resume::new(ctx.clone())),
        CheckName::RoomLog => Box::new(room_log::RoomLog::new(ctx.clone())),
    }
}

/// Runs `checkers` over `events`; returns their outcomes and the violations as `violation`
/// events on the `check` host, merged into the timeline in time order.
#[cfg(test)]
pub(crate) fn run_checks(
    mut checkers: Vec<Box<dyn Checker>>,
    ctx: &CheckContext,
    events: Vec<Event>,
) -> (Vec<CheckOutcome>, Vec<Event>) {
    let mut view = view::RunView::new(ctx);
    for event in &events {
        view.feed(event, checkers.iter_mut().map(|c| &mut **c));
    }
    let (outcomes, violations) = finish(checkers, &view);
    (outcomes, merge(events, violations))
}

/// Ends `checkers` (`view` has seen every event): their outcomes, and their violations as
/// `violation` events on the `check` host, in time order.
#[must_use]
pub fn finish(
    mut checkers: Vec<Box<dyn Checker>>,
    view: &view::RunView,
) -> (Vec<CheckOutcome>, Vec<Event>) {
    let mut violations: Vec<Event> = Vec::new();
    let mut outcomes = Vec::new();
    let check_host: crate::event::Host = "check".into();
    for c in &mut checkers {
        let found = c.finish(view);
        outcomes.push(CheckOutcome {
            skipped: false,
            name: c.name(),
            passed: found.is_empty(),
            detail: match found.first() {
                None => c.summary(),
                Some(v) if found.len() == 1 => v.detail.clone(),
                Some(v) => format!("{} (and {} more)", v.detail, found.len() - 1),
            },
        });
        let name = c.name();
        violations.extend(found.into_iter().map(|v| Event {
            t: v.t,
            host: check_host.clone(),
            kind: EventKind::Violation {
                check: name,
                detail: v.detail,
            },
        }));
    }
    violations.sort_by_key(|v| v.t);
    (outcomes, violations)
}

/// `events` with `violations` (in time order) merged in: a violation goes before the first
/// event later than it.
#[must_use]
pub fn merge(events: Vec<Event>, violations: Vec<Event>) -> Vec<Event> {
    let mut timeline = Vec::with_capacity(events.len() + violations.len());
    let mut pending = violations.into_iter().peekable();
    for event in events {
        while pending.peek().is_some_and(|v| v.t < event.t) {
            timeline.extend(pending.next());
        }
        timeline.push(event);
    }
    timeline.extend(pending);
    timeline
}

/// `d` in whole milliseconds.
#[must_use]
pub fn ms(d: Duration) -> u128 {
    d.as_millis()
}

#[cfg(test)]
pub(crate) mod tests;
