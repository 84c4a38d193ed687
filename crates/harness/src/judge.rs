//! Judges a simulation: the scenario's checkers and the run's statistics read its events in
//! one pass, and the verdict is built — here and nowhere else.
//!
//! scenario → [`crate::sim`] (world, events) → here (checks, stats, verdict) → [`crate::report`].

use std::collections::BTreeSet;
use std::time::Duration;

use crate::check::detection::Detection;
use crate::check::{self, CheckContext, CheckOutcome, Checker};
use crate::clock::Stopwatch;
use crate::event::Event;
use crate::scenario::{CheckName, ScenarioFile};
use crate::sim::{self, Simulation, System};
use crate::stats::RunStats;
use crate::verdict::{repro_command, Verdict};

/// Everything a judged run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// Every event, with checker violations merged in time order.
    pub timeline: Vec<Event>,
    /// The verdict.
    pub verdict: Verdict,
    /// What the run measured.
    pub stats: RunStats,
}

/// Simulates `scenario` with `seed` and judges it; `path` is how the user named the file, for
/// the reproduction command.
#[must_use]
pub fn run(scenario: &ScenarioFile, path: &str, seed: u64) -> RunOutcome {
    run_as(scenario, seed, repro_command(path, seed))
}

/// Simulates `scenario` with `seed` and judges it; `repro` is the command that reproduces
/// the run (when it takes more than the file and the seed, e.g. `--server naive`).
#[must_use]
pub fn run_as(scenario: &ScenarioFile, seed: u64, repro: String) -> RunOutcome {
    let wall = Stopwatch::start();
    let simulation = sim::simulate(scenario, seed);
    judge(scenario, seed, repro, simulation, wall)
}

/// Simulates `scenario` with `seed` and `system` under test and judges it; `repro` is the
/// command that reproduces the run.
#[must_use]
pub fn run_system(
    scenario: &ScenarioFile,
    system: &System,
    seed: u64,
    repro: String,
) -> RunOutcome {
    let wall = Stopwatch::start();
    let simulation = sim::simulate_system(scenario, seed, system);
    judge(scenario, seed, repro, simulation, wall)
}

/// Judges `simulation`, a run of `scenario` with `seed` that `repro` reproduces; `wall` was
/// started before it.
#[must_use]
pub fn judge(
    scenario: &ScenarioFile,
    seed: u64,
    repro: String,
    simulation: Simulation,
    wall: Stopwatch,
) -> RunOutcome {
    let Simulation {
        events,
        error,
        elapsed,
    } = simulation;
    let (mut checks, timeline, stats) = check_and_measure(scenario, events);
    if let Some(error) = error {
        checks.insert(
            0,
            CheckOutcome {
                name: "simulation",
                passed: false,
                detail: error,
                skipped: false,
            },
        );
    }
    let verdict = verdict(scenario, seed, repro, checks, elapsed, wall.elapsed());
    RunOutcome {
        timeline,
        verdict,
        stats,
    }
}

/// The verdict of a run whose simulation panicked.
#[must_use]
pub fn panicked(scenario: &ScenarioFile, path: &str, seed: u64, detail: &str) -> Verdict {
    let failed = CheckOutcome {
        name: "simulation",
        passed: false,
        detail: format!("panicked: {detail}"),
        skipped: false,
    };
    verdict(
        scenario,
        seed,
        repro_command(path, seed),
        vec![failed],
        Duration::ZERO,
        Duration::ZERO,
    )
}

/// Runs `scenario`'s expected checkers over `events`; returns their outcomes and the timeline
/// with the violations merged in.
#[must_use]
pub fn check(scenario: &ScenarioFile, events: Vec<Event>) -> (Vec<CheckOutcome>, Vec<Event>) {
    let (outcomes, timeline, _) = check_and_measure(scenario, events);
    (outcomes, timeline)
}

/// One pass over `events`: the expected checkers, the statistics, and — when detection is not
/// among the expected checks — a detection checker that only measures.
fn check_and_measure(
    scenario: &ScenarioFile,
    events: Vec<Event>,
) -> (Vec<CheckOutcome>, Vec<Event>, RunStats) {
    let ctx = CheckContext::from_scenario(scenario);
    let mut checkers: Vec<Box<dyn Checker>> = scenario
        .expect
        .checks
        .iter()
        .map(|name| check::build(*name, &ctx))
        .collect();
    let mut measuring = (!scenario.expect.checks.contains(&CheckName::Detection))
        .then(|| Detection::new(ctx.clone()));
    let mut stats = RunStats::default();
    let mut seen: BTreeSet<&'static str> = BTreeSet::new();
    for event in &events {
        seen.insert(event.kind.name());
        for c in &mut checkers {
            c.observe(event);
        }
        if let Some(d) = &mut measuring {
            d.observe(event);
        }
        stats.observe(event);
    }
    for c in &checkers {
        c.measure(&mut stats);
    }
    if let Some(d) = &measuring {
        d.measure(&mut stats);
    }
    // A checker whose inputs never appeared cannot judge: it says so instead of passing.
    let mut order = Vec::new();
    let mut judging = Vec::new();
    let mut skipped = Vec::new();
    for c in checkers {
        match c.requires() {
            Some(need) if !need.any_of.iter().any(|n| seen.contains(n)) => {
                order.push(false);
                skipped.push(CheckOutcome {
                    name: c.name(),
                    passed: true,
                    detail: format!(
                        "skipped: it reads {}, and this run recorded none",
                        need.reported_by
                    ),
                    skipped: true,
                });
            }
            _ => {
                order.push(true);
                judging.push(c);
            }
        }
    }
    let (judged, timeline) = check::conclude(judging, events);
    let (mut judged, mut skipped) = (judged.into_iter(), skipped.into_iter());
    let outcomes = order
        .into_iter()
        .filter_map(|j| if j { judged.next() } else { skipped.next() })
        .collect();
    (outcomes, timeline, stats)
}

fn verdict(
    scenario: &ScenarioFile,
    seed: u64,
    repro: String,
    checks: Vec<CheckOutcome>,
    sim: Duration,
    wall: Duration,
) -> Verdict {
    Verdict {
        event: "verdict",
        scenario: scenario.name.clone(),
        seed,
        passed: checks.iter().all(|c| c.passed),
        checks,
        repro,
        sim_ms: u64::try_from(sim.as_millis()).unwrap_or(u64::MAX),
        wall_ms: u64::try_from(wall.as_millis()).unwrap_or(u64::MAX),
    }
}
