//! Runs a sweep's jobs on worker threads, one simulation per thread at a time.
//!
//! Each simulation is single-threaded and keeps its state in thread-locals (turmoil's world,
//! the event clock), so runs on different threads never share anything: a run's timeline does
//! not depend on which worker ran it or what ran beside it. Results come back in completion
//! order for the progress display and are returned in job order.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use crate::judge::{Keep, Run, RunOutcome};
use crate::scenario::ScenarioFile;
use crate::sim::System;
use crate::stats::RunStats;
use crate::sweep::plan::{Job, SweepScenario};
use crate::verdict::Verdict;

/// Stack of a worker thread: simulated hosts are deep futures.
const WORKER_STACK: usize = 32 << 20;

/// What a sweep keeps of one run (not its events: a sweep can hold thousands of runs).
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// Which run.
    pub job: Job,
    /// Its verdict.
    pub verdict: Verdict,
    /// Its figures.
    pub stats: RunStats,
    /// The report directory written for it, if any.
    pub report: Option<PathBuf>,
}

/// Called on the worker after each run; returns the report it wrote, if any. Runs are judged
/// as they happen and keep no timeline; a run whose timeline is wanted is replayed keeping it
/// (the same seed gives the same run).
pub trait AfterRun: Sync {
    /// Whether the timeline of the run with `verdict` is wanted.
    fn wants_timeline(&self, _scenario: &SweepScenario, _verdict: &Verdict) -> bool {
        false
    }
    /// Sees the run's outcome (with its timeline when it was wanted).
    fn after(&self, scenario: &SweepScenario, outcome: &RunOutcome) -> Option<PathBuf>;
}

/// No report of any run.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoReports;

impl AfterRun for NoReports {
    fn after(&self, _scenario: &SweepScenario, _outcome: &RunOutcome) -> Option<PathBuf> {
        None
    }
}

impl<F: Fn(&SweepScenario, &RunOutcome) -> Option<PathBuf> + Sync> AfterRun for F {
    fn after(&self, scenario: &SweepScenario, outcome: &RunOutcome) -> Option<PathBuf> {
        self(scenario, outcome)
    }
}

/// Builds, on the worker that runs it, the systems under test of a run of a scenario.
pub type Systems<'a> = dyn Fn(&ScenarioFile) -> System + Sync + 'a;

/// Runs `jobs` of `scenarios` on `workers` threads. `after_run` sees every outcome on its
/// worker (to write reports); `on_done` sees every record on the calling thread as it
/// completes, with the count completed so far. Returns the records in job order.
pub fn run_jobs(
    scenarios: &[SweepScenario],
    jobs: &[Job],
    workers: usize,
    systems: &Systems<'_>,
    after_run: &dyn AfterRun,
    on_done: &mut dyn FnMut(&RunRecord, usize),
) -> Vec<RunRecord> {
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, RunRecord)>();
    let mut slots: Vec<Option<RunRecord>> = vec![None; jobs.len()];
    std::thread::scope(|scope| {
        for w in 0..workers.clamp(1, jobs.len().max(1)) {
            let tx = tx.clone();
            let next = &next;
            std::thread::Builder::new()
                .name(format!("sweep-{w}"))
                .stack_size(WORKER_STACK)
                .spawn_scoped(scope, move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&job) = jobs.get(i) else { break };
                    let record = run_one(&scenarios[job.scenario], job, systems, after_run);
                    if tx.send((i, record)).is_err() {
                        break;
                    }
                })
                .expect("spawning a sweep worker");
        }
        drop(tx);
        let mut done = 0;
        for (i, record) in rx {
            done += 1;
            on_done(&record, done);
            slots[i] = Some(record);
        }
    });
    slots.into_iter().flatten().collect()
}

/// Runs one job; a panicking simulation becomes a failed run, not a dead sweep.
fn run_one(
    scenario: &SweepScenario,
    job: Job,
    systems: &Systems<'_>,
    after_run: &dyn AfterRun,
) -> RunRecord {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let system = systems(&scenario.scenario);
        let repro = scenario.repro(job.seed);
        let run = Run::new(&scenario.scenario, job.seed)
            .system(system)
            .repro(repro);
        let mut outcome = run.clone().keep(Keep::Verdict).judge();
        if after_run.wants_timeline(scenario, &outcome.verdict) {
            outcome = run.keep(Keep::Timeline).judge();
        }
        let report = after_run.after(scenario, &outcome);
        (outcome.verdict, outcome.stats, report)
    }));
    match result {
        Ok((verdict, stats, report)) => RunRecord {
            job,
            verdict,
            stats,
            report,
        },
        Err(panic) => {
            let detail = crate::check::contained::panic_message(panic.as_ref());
            RunRecord {
                job,
                verdict: crate::judge::panicked(
                    &scenario.scenario,
                    &scenario.repro(job.seed),
                    job.seed,
                    &detail,
                ),
                stats: RunStats::default(),
                report: None,
            }
        }
    }
}
