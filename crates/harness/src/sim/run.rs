//! Simulates one (scenario, seed): builds the world with the systems under test, steps it
//! while the fault executor applies the schedule, and returns what was recorded. Nothing here
//! judges: that is [`crate::judge`]'s job.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use crate::event::Event;
use crate::scenario::ScenarioFile;
use crate::schedule::plan::plan_faults;
use crate::sim::faults::{Handles, SimFaults};
use crate::sim::guarantee;
use crate::sim::idle::RunLedger;
use crate::sim::seam::{Stepping, System};
use crate::sim::stepper::{step_to_end, RunScope, Stepped};
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

/// Simulates `scenario` with `seed` and `system` under test, and returns its events.
#[must_use]
pub(crate) fn simulate_system(scenario: &ScenarioFile, seed: u64, system: &System) -> Simulation {
    let recorder = Recorder::in_memory();
    let Simulated { error, elapsed } = simulate_into(scenario, seed, system, &recorder);
    Simulation {
        events: recorder.take(),
        error,
        elapsed,
    }
}

/// Simulates `scenario` with `seed` and `system` under test with every event discarded at its
/// source: no timeline, no checker — what the system under test costs in the simulation
/// without the harness's judging (`wsim-dev unjudged`; compare with its floor, `wsim-dev
/// floor`).
#[must_use]
pub(crate) fn simulate_unjudged(scenario: &ScenarioFile, seed: u64, system: &System) -> Simulated {
    simulate_into(scenario, seed, system, &Recorder::discarding())
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
/// as it happens (a streaming recorder lets a run keep only what its checkers need). Time
/// advances as `system.stepping` says.
#[must_use]
pub(crate) fn simulate_into(
    scenario: &ScenarioFile,
    seed: u64,
    system: &System,
    recorder: &Rc<Recorder>,
) -> Simulated {
    let stepping = system.stepping;
    if let Err(refusal) = guarantee::check_build() {
        return Simulated {
            error: Some(refusal.to_string()),
            elapsed: Duration::ZERO,
        };
    }
    let ledger = (stepping == Stepping::SkipIdle && system.announces_timers())
        .then(|| Arc::new(RunLedger::default()));
    let scope = RunScope::enter(ledger.as_ref());
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
        recorder,
    };
    let mut faults = SimFaults::new(
        &plan_faults(scenario, seed),
        handles,
        scenario.network.latency,
        recorder.sink("sim"),
    );
    let Stepped { error, elapsed, .. } = step_to_end(
        &mut sim,
        scenario.duration.0,
        ledger.as_deref(),
        &mut faults,
    );
    {
        // The hosts' tasks are dropped in tokio's order, not the seed's: what they emit as
        // they go is recorded in a fixed one.
        let _held = recorder.hold();
        drop(sim);
    }
    drop(scope);
    Simulated { error, elapsed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unjudged_run_simulates_to_the_end_and_records_nothing() {
        let scenario = crate::scenario::parse(
            "unjudged.toml",
            r#"
name = "unjudged"
duration = "40s"
[[clients]]
count = 3
send_every = "2s"
[[faults]]
kind = "crash"
host = "server"
at = "10s"
duration = "3s"
"#,
        )
        .expect("a valid scenario");
        let system = System::for_scenario(&scenario);
        let unjudged = simulate_unjudged(&scenario, 3, &system);
        assert_eq!(unjudged.error, None);
        assert_eq!(unjudged.elapsed, Duration::from_secs(40));
        // The same run judged reaches the same end, with a timeline.
        let judged = simulate_system(&scenario, 3, &system);
        assert_eq!(judged.elapsed, unjudged.elapsed);
        assert!(judged.events.len() > 50, "{} events", judged.events.len());

        let discarding = Recorder::discarding();
        let sink = discarding.sink("server");
        assert!(sink.is_discarding());
        assert!(crate::route::client_sink(&sink, "u-1").is_discarding());
        assert!(
            !crate::route::client_sink(&Recorder::in_memory().sink("h"), "u-1").is_discarding()
        );
        assert!(discarding.take().is_empty());
    }
}
