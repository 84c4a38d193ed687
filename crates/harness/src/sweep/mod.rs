//! Seed sweeps: many (scenario, seed) runs in parallel, summarised per scenario, with every
//! failure named by its reproduction command — the CI regression suite and the flaky-bug
//! finder. `wsim sweep` and `wsim grid` are thin commands over [`execute`]. A sweep knows
//! nothing of reports: whoever runs it decides what to write after each run.

pub mod plan;
pub mod progress;
pub mod runner;
pub mod summary;

use crate::clock::Stopwatch;
use crate::sim::System;
use plan::{Job, SweepScenario};
use progress::Progress;
use runner::{AfterRun, RunRecord, Systems};
use summary::Throughput;

/// How a sweep runs.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Worker threads.
    pub workers: usize,
    /// No progress output.
    pub quiet: bool,
}

/// What a sweep produced.
#[derive(Debug, Clone)]
pub struct SweepResult {
    /// Every run, in job order.
    pub records: Vec<RunRecord>,
    /// How fast it went.
    pub throughput: Throughput,
}

impl SweepResult {
    /// Whether every run passed.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.records.iter().all(|r| r.verdict.passed)
    }
}

/// Worker threads to use by default: one per core.
#[must_use]
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Runs `jobs` of `scenarios` as `options` says; `after_run` sees each whole outcome on its
/// worker (to write a report, say) and returns the report it wrote, if any.
#[must_use]
pub fn execute(
    scenarios: &[SweepScenario],
    jobs: &[Job],
    options: &SweepOptions,
    after_run: &dyn AfterRun,
) -> SweepResult {
    execute_systems(scenarios, jobs, options, &System::for_scenario, after_run)
}

/// [`execute`] with the systems under test of each run built by `systems` (on the worker that
/// runs it) instead of by the scenario's `[system]` table.
#[must_use]
pub fn execute_systems(
    scenarios: &[SweepScenario],
    jobs: &[Job],
    options: &SweepOptions,
    systems: &Systems<'_>,
    after_run: &dyn AfterRun,
) -> SweepResult {
    let progress = Progress::new(jobs.len(), options.quiet);
    let wall = Stopwatch::start();
    let records = runner::run_jobs(
        scenarios,
        jobs,
        options.workers,
        systems,
        after_run,
        &mut |record, done| progress.run_done(scenarios, record, done),
    );
    progress.finish();
    let throughput = Throughput {
        runs: records.len(),
        workers: options.workers.clamp(1, jobs.len().max(1)),
        wall: wall.elapsed(),
        sim_ms: records.iter().map(|r| r.verdict.sim_ms).sum(),
    };
    SweepResult {
        records,
        throughput,
    }
}

/// The seeds of `scenario` (of its own `seeds`) on which check `check` fails, run on
/// `workers` threads.
#[must_use]
pub fn seeds_failing(scenario: SweepScenario, check: &str, workers: usize) -> Vec<u64> {
    let jobs: Vec<Job> = scenario
        .seeds
        .iter()
        .map(|&seed| Job { scenario: 0, seed })
        .collect();
    let options = SweepOptions {
        workers,
        quiet: true,
    };
    let result = execute(&[scenario], &jobs, &options, &runner::NoReports);
    result
        .records
        .iter()
        .filter(|r| r.verdict.failed_checks().contains(&check))
        .map(|r| r.job.seed)
        .collect()
}
