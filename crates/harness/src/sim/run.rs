//! Simulates one (scenario, seed): builds the world with the systems under test, steps it
//! while the fault executor applies the schedule, and returns what was recorded. Nothing here
//! judges: that is [`crate::judge`]'s job.

use std::rc::Rc;
use std::time::Duration;

use crate::clock;
use crate::event::Event;
use crate::scenario::ScenarioFile;
use crate::sim::faults::{FaultExecutor, Handles};
use crate::sim::guarantee;
use crate::sim::plan::plan_faults;
use crate::sim::seam::System;
use crate::sim::topology;
use crate::timeline::Recorder;

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
    let recorder = Recorder::in_memory();
    let Simulated { error, elapsed } = simulate_into(scenario, seed, system, &recorder);
    Simulation {
        events: recorder.take(),
        error,
        elapsed,
    }
}

/// How a simulation whose events went to a recorder ended.
#[derive(Debug, Clone)]
pub struct Simulated {
    /// Why the simulation stopped early (a host failed or panicked), if it did.
    pub error: Option<String>,
    /// Simulated time reached.
    pub elapsed: Duration,
}

/// Simulates `scenario` with `seed` and `system` under test; every event goes to `recorder`
/// as it happens (a streaming recorder lets a run keep only what its checkers need).
#[must_use]
pub fn simulate_into(
    scenario: &ScenarioFile,
    seed: u64,
    system: &System,
    recorder: &Rc<Recorder>,
) -> Simulated {
    if let Err(refusal) = guarantee::check_build() {
        return Simulated {
            error: Some(refusal.to_string()),
            elapsed: Duration::ZERO,
        };
    }
    let topology::World {
        mut sim,
        proxy,
        clocks,
        sleeps,
    } = topology::build(scenario, seed, system, recorder);
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
    Simulated { error, elapsed }
}
