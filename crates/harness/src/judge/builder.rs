//! [`Run`]: the one way to run a scenario — its seed, the systems under test, what is kept of
//! the events, where the checkers run — behind the command line, the Suite, sweeps, explore
//! and shrink. `judge()` simulates and judges; `simulate()` records without judging;
//! `unjudged()` discards every event at its source.

use crate::judge::{run_keeping, run_pipelined, Keep, RunOutcome, RunOutput};
use crate::scenario::ScenarioFile;
use crate::sim::{self, Simulated, Simulation, System};
use crate::verdict::repro_command;

/// One run of `scenario` with `seed`.
///
/// ```
/// # fn main() -> Result<(), wsim::ScenarioError> {
/// let scenario = wsim::scenario::parse("blip.toml", r#"
/// name = "blip"
/// duration = "30s"
/// [[clients]]
/// count = 2
/// "#)?;
/// let outcome = wsim::Run::new(&scenario, 1).named("blip.toml").judge();
/// assert!(outcome.verdict.passed);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Run<'s> {
    scenario: &'s ScenarioFile,
    seed: u64,
    system: Option<System>,
    repro: Option<String>,
    keep: Keep,
    second_core: bool,
}

impl<'s> Run<'s> {
    /// `scenario` with `seed`, the systems its `[system]` table names, keeping the timeline,
    /// judged on this thread.
    #[must_use]
    pub fn new(scenario: &'s ScenarioFile, seed: u64) -> Self {
        Run {
            scenario,
            seed,
            system: None,
            repro: None,
            keep: Keep::Timeline,
            second_core: false,
        }
    }

    /// With `system` under test instead of the scenario's own.
    #[must_use]
    pub fn system(mut self, system: System) -> Self {
        self.system = Some(system);
        self
    }

    /// The scenario as the user named its file: the verdict's reproduction command is
    /// `wsim run <path> --seed <seed>`.
    #[must_use]
    pub fn named(mut self, path: &str) -> Self {
        self.repro = Some(repro_command(path, self.seed));
        self
    }

    /// The command that reproduces the run, as the verdict states it (when it takes more than
    /// the file and the seed, or is the user's own test).
    #[must_use]
    pub fn repro(mut self, repro: impl Into<String>) -> Self {
        self.repro = Some(repro.into());
        self
    }

    /// What the judged run keeps of its events (the whole timeline by default).
    #[must_use]
    pub fn keep(mut self, keep: Keep) -> Self {
        self.keep = keep;
        self
    }

    /// Whether the checkers run on a second thread while the simulation runs on this one (the
    /// outcome is the same).
    #[must_use]
    pub fn on_second_core(mut self, yes: bool) -> Self {
        self.second_core = yes;
        self
    }

    fn system_or_default(&self) -> System {
        self.system
            .clone()
            .unwrap_or_else(|| System::for_scenario(self.scenario))
    }

    /// Simulates and judges the run.
    #[must_use]
    pub fn judge(&self) -> RunOutcome {
        self.judge_into(()).0
    }

    /// Simulates and judges the run, handing each event to `output` as it is judged (and the
    /// violations at the end); returns the outcome and the output. With [`Keep::Verdict`] or
    /// [`Keep::Report`], the run's memory does not grow with its events however much
    /// `output` writes.
    #[must_use]
    pub fn judge_into<O: RunOutput + 'static>(&self, output: O) -> (RunOutcome, O) {
        let system = self.system_or_default();
        let repro = self
            .repro
            .clone()
            .unwrap_or_else(|| repro_command(&format!("{}.toml", self.scenario.name), self.seed));
        if self.second_core {
            run_pipelined(self.scenario, &system, self.seed, repro, self.keep, output)
        } else {
            run_keeping(self.scenario, &system, self.seed, repro, self.keep, output)
        }
    }

    /// Simulates the run and returns every event, unjudged.
    #[must_use]
    pub fn simulate(&self) -> Simulation {
        sim::simulate_system(self.scenario, self.seed, &self.system_or_default())
    }

    /// Simulates the run with every event discarded where it is emitted: no timeline, no
    /// checker (what the systems under test cost without the harness's judging).
    #[must_use]
    pub fn unjudged(&self) -> Simulated {
        sim::simulate_unjudged(self.scenario, self.seed, &self.system_or_default())
    }
}
