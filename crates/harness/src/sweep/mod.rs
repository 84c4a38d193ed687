//! Seed sweeps: many (scenario, seed) runs in parallel, summarised per scenario, with every
//! failure named by its reproduction command — the CI regression suite and the flaky-bug
//! finder. `wsim sweep` and `wsim grid` are thin commands over [`execute`].

pub mod junit;
pub mod plan;
pub mod progress;
pub mod runner;
pub mod stats;
pub mod summary;

use std::path::{Path, PathBuf};

use crate::clock::Stopwatch;
use crate::sim::RunOutcome;
use plan::{Job, SweepScenario};
use progress::Progress;
use runner::RunRecord;
use summary::Throughput;

/// Which runs get a report directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportPolicy {
    /// No per-run reports (the sweep report is still written).
    None,
    /// Failed runs only.
    Failed,
    /// Failed runs and each scenario's first seed.
    FirstAndFailed,
    /// Every run.
    All,
}

/// How a sweep runs.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Worker threads.
    pub workers: usize,
    /// Which runs get a report directory.
    pub reports: ReportPolicy,
    /// Where reports go (`reports/`).
    pub report_dir: PathBuf,
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

/// Runs `jobs` of `scenarios`, writing per-run reports as `options` says.
#[must_use]
pub fn execute(scenarios: &[SweepScenario], jobs: &[Job], options: &SweepOptions) -> SweepResult {
    if options.reports != ReportPolicy::None {
        clear_old_reports(&options.report_dir, scenarios, jobs);
    }
    let progress = Progress::new(jobs.len(), options.quiet);
    let wall = Stopwatch::start();
    let after_run = |scenario: &SweepScenario, outcome: &RunOutcome| -> Option<PathBuf> {
        let first = scenario.seeds.first() == Some(&outcome.verdict.seed);
        let wanted = match options.reports {
            ReportPolicy::None => false,
            ReportPolicy::Failed => !outcome.verdict.passed,
            ReportPolicy::FirstAndFailed => first || !outcome.verdict.passed,
            ReportPolicy::All => true,
        };
        if !wanted {
            return None;
        }
        match crate::report::write_run_report(
            &options.report_dir,
            &scenario.label,
            &scenario.scenario,
            outcome,
        ) {
            Ok(dir) => Some(dir),
            Err(e) => {
                eprintln!(
                    "warning: writing the report of {}: {e}",
                    outcome.verdict.repro
                );
                None
            }
        }
    };
    let records = runner::run_jobs(
        scenarios,
        jobs,
        options.workers,
        &after_run,
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

/// Removes the report directory a previous sweep left for each run about to happen, so a
/// report directory never shows a stale failure of a run that now passes. Only the runs of
/// this sweep: the reports of seeds it does not run (another shard's, say) stay.
fn clear_old_reports(root: &Path, scenarios: &[SweepScenario], jobs: &[Job]) {
    for job in jobs {
        let dir = root
            .join(&scenarios[job.scenario].label)
            .join(format!("seed-{}", job.seed));
        let _ = std::fs::remove_dir_all(dir);
    }
}
