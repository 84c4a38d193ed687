//! Checkers: each reads the event stream of a run, in order, and reports violations of one
//! property. One checker per file; they share [`CheckContext`] (the run's settings) and the
//! [`crate::view::RunView`] (what several of them need, kept once per event), and keep only the state
//! of their own property.

pub mod backoff;
pub(crate) mod contained;
pub mod delivery;
pub mod detection;
pub mod grace;
pub mod herd;
pub mod idle_kills;
pub mod liveness;
pub(crate) mod presence;
pub mod resume;
pub mod room_log;
pub(crate) mod roster;
pub(crate) mod seq_runs;
pub mod spurious;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::client::BackoffConfig;
use crate::event::{Event, EventKind};
pub use crate::fault_model::FaultModel;
use crate::scenario::model::GraceOutcome;
use crate::scenario::{CheckName, ScenarioFile};
use crate::stats::RunStats;

/// What checkers know besides the event stream: the settings the run used.
#[derive(Debug, Clone)]
pub struct CheckContext {
    /// What faults do to links, with the run's keepalive, timeouts and latency (the
    /// context dereferences to it: `ctx.affects(…)`, `ctx.latency`).
    pub model: FaultModel,
    /// Liveness bound after a fault ends.
    pub reconnect_within: Duration,
    /// The server's grace period.
    pub grace: Duration,
    /// Messages the server keeps per room for replay.
    pub history_limit: usize,
    /// How long the server remembers a message id to drop a retry of it.
    pub dedup_ttl: Duration,
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
            model: FaultModel {
                keepalive: client.keepalive,
                server_heartbeat: scenario.server_config().heartbeat,
                server_silence: client.server_silence,
                connect_timeout: client.connect_timeout,
                latency: crate::sim::delivered_latency(scenario),
            },
            reconnect_within: scenario.expect.reconnect_within.map_or(
                client.backoff.max + client.connect_timeout + Duration::from_secs(5),
                |d| d.0,
            ),
            grace: scenario.server_config().grace,
            history_limit: scenario.server.history_limit,
            dedup_ttl: scenario.server_config().dedup_ttl,
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

    /// The room `client` is in, as the scenario assigns it ("" for a client it does not name).
    #[must_use]
    pub fn room_of(&self, client: &str) -> std::sync::Arc<str> {
        self.rooms.get(client).cloned().unwrap_or_else(|| "".into())
    }

    /// How long checkers keep what they know of a message after it was last seen: twice the
    /// longest a message can legitimately come back — a retry within the server's
    /// de-duplication memory, a client noticing a dead link and resuming within grace, the
    /// settling time. What was last seen longer ago no longer changes a verdict in a run that
    /// behaves; a violation only visible across a longer stretch (a retry acknowledged under
    /// a second number half an hour later, say) goes unseen.
    #[must_use]
    pub fn retention(&self) -> Duration {
        let detection = self.client_detection_bound().unwrap_or(Duration::ZERO);
        2 * (self.dedup_ttl + self.grace + self.reconnect_within + detection + self.settle())
    }
}

impl std::ops::Deref for CheckContext {
    type Target = FaultModel;

    fn deref(&self) -> &FaultModel {
        &self.model
    }
}

impl std::ops::DerefMut for CheckContext {
    fn deref_mut(&mut self) -> &mut FaultModel {
        &mut self.model
    }
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
    /// Sees the next event, in time order, with the run's view ([`crate::view::RunView::feed`]).
    fn observe(&mut self, event: &Event, view: &crate::view::RunView);
    /// The run ended (`view` has seen every event): report every violation found.
    fn finish(&mut self, view: &crate::view::RunView) -> Vec<Violation>;
    /// One line on what was checked and measured.
    fn summary(&self) -> String;
    /// Whether the run gave the checker nothing to judge (no break to detect, no resume, no
    /// cap to hold a count to): its pass would prove nothing, and the verdict says `vacuous`
    /// instead of `ok`. Asked only of a checker that found no violation.
    fn vacuous(&self) -> bool {
        false
    }
    /// Time passed to `now` (called now and then, between events): forget what can no
    /// longer change the verdict (see [`CheckContext::retention`]), judging first what needs
    /// it. Most checkers keep nothing that grows with the run.
    fn forget(&mut self, _now: Duration, _view: &crate::view::RunView) {}
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
    /// The check passed without judging anything: the run gave it nothing to judge (`detail`
    /// says what it saw). Not a failure, and not evidence either.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub vacuous: bool,
}

impl CheckOutcome {
    /// The outcome's word in a verdict line: `ok`, `FAIL`, `skip` or `n/a` (vacuous).
    #[must_use]
    pub fn status(&self) -> &'static str {
        if self.skipped {
            "skip"
        } else if !self.passed {
            "FAIL"
        } else if self.vacuous {
            "n/a"
        } else {
            "ok"
        }
    }
}

/// Builds the checker called `name`, contained: a panic in it fails its check as `<name>
/// crashed: …` and nothing else (`contained.rs`).
#[must_use]
pub fn build(name: CheckName, ctx: &CheckContext) -> Box<dyn Checker> {
    Box::new(contained::Contained::new(build_bare(name, ctx)))
}

/// The checker called `name`, uncontained.
fn build_bare(name: CheckName, ctx: &CheckContext) -> Box<dyn Checker> {
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
    let mut view = crate::view::RunView::new(ctx);
    for event in &events {
        view.feed(event, |v| {
            for c in &mut checkers {
                c.observe(event, v);
            }
        });
    }
    let (outcomes, violations) = finish(checkers, &view);
    (outcomes, merge(events, violations))
}

/// Ends `checkers` (`view` has seen every event): their outcomes, and their violations as
/// `violation` events on the `check` host, in time order.
#[must_use]
pub fn finish(
    mut checkers: Vec<Box<dyn Checker>>,
    view: &crate::view::RunView,
) -> (Vec<CheckOutcome>, Vec<Event>) {
    let mut violations: Vec<Event> = Vec::new();
    let mut outcomes = Vec::new();
    let check_host: crate::event::Host = "check".into();
    for c in &mut checkers {
        let found = c.finish(view);
        let vacuous = found.is_empty() && c.vacuous();
        outcomes.push(CheckOutcome {
            skipped: false,
            vacuous,
            name: c.name(),
            passed: found.is_empty(),
            detail: match found.first() {
                None if vacuous => format!("vacuous: {}", c.summary()),
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
