//! Runs one (scenario, seed): builds the world, steps it while the fault executor applies the
//! schedule, then runs the scenario's checkers over the recorded events.

use std::time::Duration;

use crate::check::{self, CheckContext, CheckOutcome};
use crate::clock::{self, Stopwatch};
use crate::event::Event;
use crate::scenario::ScenarioFile;
use crate::sim::faults::{FaultExecutor, Handles};
use crate::sim::plan::plan_faults;
use crate::sim::guarantee;
use crate::sim::seam::System;
use crate::sim::topology;
use crate::timeline::Recorder;
use crate::verdict::Verdict;

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// Every event, with checker violations merged in time order.
    pub timeline: Vec<Event>,
    /// The verdict.
    pub verdict: Verdict,
}

/// The recorded events of a simulation, and the error that cut it short, if any.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// Every event, in the order it happened.
    pub events: Vec<Event>,
    /// Why the simulation stopped early (a host failed or panicked), if it did.
    pub error: Option<String>,
    /// Simulated time reached.
    pub elapsed: Duration,
}

/// Simulates `scenario` with `seed` and returns its events (no checking), with the systems
/// the scenario's `[system]` table names under test.
#[must_use]
pub fn simulate(scenario: &ScenarioFile, seed: u64) -> Simulation {
    simulate_system(scenario, seed, &System::for_scenario(scenario))
}

/// Simulates `scenario` with `seed` and `system` under test, and returns its events.
#[must_use]
pub fn simulate_system(scenario: &ScenarioFile, seed: u64, system: &System) -> Simulation {
    if let Err(refusal) = guarantee::check_build() {
        return Simulation {
            events: Vec::new(),
            error: Some(refusal.to_string()),
            elapsed: Duration::ZERO,
        };
    }
    let recorder = Recorder::in_memory();
    let topology::World {
        mut sim,
        proxy,
        clocks,
        sleeps,
    } = topology::build(scenario, seed, system, &recorder);
    let handles = Handles {
        proxy: &proxy,
        clocks: &clocks,
        sleeps: &sleeps,
    };
    let mut faults = FaultExecutor::new(
        &plan_faults(scenario, seed),
        scenario.network.latency,
        recorder.sink("sim"),
    );
    let mut error = None;
    while sim.elapsed() < scenario.duration.0 {
        clock::set_sim_fallback(Some(sim.elapsed()));
        let now = sim.elapsed();
        faults.apply_due(&mut sim, &handles, now);
        if let Err(e) = sim.step() {
            error = Some(e.to_string());
            break;
        }
    }
    let elapsed = sim.elapsed();
    drop(sim);
    clock::set_sim_fallback(None);
    Simulation {
        events: recorder.take(),
        error,
        elapsed,
    }
}

/// Runs `scenario`'s expected checkers over `events`.
#[must_use]
pub fn check(scenario: &ScenarioFile, events: Vec<Event>) -> (Vec<CheckOutcome>, Vec<Event>) {
    let ctx = CheckContext::from_scenario(scenario);
    let checkers = scenario
        .expect
        .checks
        .iter()
        .map(|name| check::build(*name, &ctx))
        .collect();
    check::run_checks(checkers, events)
}

/// Simulates and checks `scenario` with `seed`; `path` is how the user named the file, for the
/// reproduction command.
#[must_use]
pub fn run(scenario: &ScenarioFile, path: &str, seed: u64) -> RunOutcome {
    let wall = Stopwatch::start();
    let simulation = simulate(scenario, seed);
    let (mut checks, timeline) = check(scenario, simulation.events);
    if let Some(error) = simulation.error {
        checks.insert(
            0,
            CheckOutcome {
                name: "simulation",
                passed: false,
                detail: error,
            },
        );
    }
    let verdict = Verdict {
        event: "verdict",
        scenario: scenario.name.clone(),
        seed,
        passed: checks.iter().all(|c| c.passed),
        checks,
        repro: repro_command(path, seed),
        sim_ms: u64::try_from(simulation.elapsed.as_millis()).unwrap_or(u64::MAX),
        wall_ms: u64::try_from(wall.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    RunOutcome { timeline, verdict }
}

/// The one-line command that reproduces a run.
#[must_use]
pub fn repro_command(path: &str, seed: u64) -> String {
    let quoted = if path.contains(|c: char| c.is_whitespace() || c == '\'') {
        format!("'{}'", path.replace('\'', r"'\''"))
    } else {
        path.to_string()
    };
    format!("wsim run {quoted} --seed {seed}")
}
