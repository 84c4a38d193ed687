//! Checkers: each reads the event stream of a run, in order, and reports violations of one
//! property. One checker per file; they share only [`CheckContext`] and the link bookkeeping
//! in [`links`].

pub mod delivery;
pub mod detection;
pub mod links;
pub mod liveness;
pub mod spurious;

use std::time::Duration;

use crate::event::{Event, EventKind, FaultDesc};
use crate::keepalive::KeepaliveConfig;
use crate::scenario::duration::DurRange;
use crate::scenario::{CheckName, ScenarioFile};

/// What checkers know besides the event stream: the settings the run used.
#[derive(Debug, Clone)]
pub struct CheckContext {
    /// The clients' keepalive settings.
    pub keepalive: KeepaliveConfig,
    /// The clients' connect timeout.
    pub connect_timeout: Duration,
    /// Normal one-way latency range of every link.
    pub latency: DurRange,
    /// Liveness bound after a fault ends.
    pub reconnect_within: Duration,
    /// Simulated time at which the run ended.
    pub end: Duration,
}

impl CheckContext {
    /// The context of a run of `scenario`.
    #[must_use]
    pub fn from_scenario(scenario: &ScenarioFile) -> Self {
        let client = scenario.client_config();
        CheckContext {
            keepalive: client.keepalive,
            connect_timeout: client.connect_timeout,
            latency: scenario.network.latency,
            reconnect_within: scenario.expect.reconnect_within.0,
            end: scenario.duration.0,
        }
    }

    /// Whether a fault on the link `a`–`b` lies on the path of a client on `client_host`
    /// (client host → proxy → server).
    #[must_use]
    pub fn on_path(&self, (a, b): (&str, &str), client_host: &str) -> bool {
        let is = |x: &str, y: &str| (a == x && b == y) || (a == y && b == x);
        is(client_host, "proxy") || is("proxy", "server")
    }

    /// Whether `fault` can make a healthy client disconnect (see `scenarios/README.md`).
    #[must_use]
    pub fn can_disconnect(&self, fault: &FaultDesc) -> bool {
        let patience = match self.keepalive.timeout {
            Some(t) => t.min(self.connect_timeout),
            None => self.connect_timeout,
        };
        let round_trips = 4 * self.latency.max;
        match fault {
            FaultDesc::StateLoss { .. } => true,
            FaultDesc::Partition { duration_ms, .. } => {
                Duration::from_millis(*duration_ms) + round_trips >= patience
            }
            FaultDesc::Latency { max_ms, .. } => 6 * Duration::from_millis(*max_ms) >= patience,
        }
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

/// One property checked over a run's event stream.
pub trait Checker {
    /// The checker's name (as in scenario files).
    fn name(&self) -> &'static str;
    /// Sees the next event; events arrive in time order.
    fn observe(&mut self, event: &Event);
    /// The run ended: report every violation found.
    fn finish(&mut self) -> Vec<Violation>;
    /// One line on what was checked and measured.
    fn summary(&self) -> String;
}

/// A checker's result in a verdict.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckOutcome {
    /// The checker.
    pub name: &'static str,
    /// Whether it found nothing wrong.
    pub passed: bool,
    /// Its summary, or its first violation.
    pub detail: String,
}

/// Builds the checker called `name`.
#[must_use]
pub fn build(name: CheckName, ctx: &CheckContext) -> Box<dyn Checker> {
    match name {
        CheckName::Detection => Box::new(detection::Detection::new(ctx.clone())),
        CheckName::Liveness => Box::new(liveness::Liveness::new(ctx.clone())),
        CheckName::Delivery => Box::new(delivery::Delivery::new(ctx.clone())),
        CheckName::NoSpuriousDisconnect => Box::new(spurious::NoSpuriousDisconnect::new(ctx.clone())),
    }
}

/// Runs `checkers` over `events`; returns their outcomes and the violations as `violation`
/// events on the `check` host, merged into the timeline in time order.
pub fn run_checks(
    mut checkers: Vec<Box<dyn Checker>>,
    events: Vec<Event>,
) -> (Vec<CheckOutcome>, Vec<Event>) {
    for event in &events {
        for c in &mut checkers {
            c.observe(event);
        }
    }
    let mut violations: Vec<Event> = Vec::new();
    let mut outcomes = Vec::new();
    for c in &mut checkers {
        let found = c.finish();
        outcomes.push(CheckOutcome {
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
            host: "check".into(),
            kind: EventKind::Violation {
                check: name,
                detail: v.detail,
            },
        }));
    }
    violations.sort_by_key(|v| v.t);
    let mut timeline = Vec::with_capacity(events.len() + violations.len());
    let mut pending = violations.into_iter().peekable();
    for event in events {
        while pending.peek().is_some_and(|v| v.t < event.t) {
            timeline.extend(pending.next());
        }
        timeline.push(event);
    }
    timeline.extend(pending);
    (outcomes, timeline)
}

/// `d` in whole milliseconds.
#[must_use]
pub fn ms(d: Duration) -> u128 {
    d.as_millis()
}
