//! Which runs of a sweep get a report directory, and writing them: the `after_run` a sweep is
//! given by whoever wants reports.

use std::path::{Path, PathBuf};

use crate::judge::RunOutcome;
use crate::sweep::plan::{Job, SweepScenario};
use crate::sweep::runner::AfterRun;
use crate::verdict::Verdict;

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

/// Per-run reports of a sweep: which, and where.
#[derive(Debug, Clone)]
pub struct RunReports {
    /// Which runs get one.
    pub policy: ReportPolicy,
    /// Where they go (`reports/`).
    pub dir: PathBuf,
}

impl RunReports {
    /// Removes the report directory a previous sweep left for each run about to happen, so a
    /// report directory never shows a stale failure of a run that now passes. Only the runs
    /// of this sweep: the reports of seeds it does not run (another shard's, say) stay.
    pub fn clear_old(&self, scenarios: &[SweepScenario], jobs: &[Job]) {
        if self.policy == ReportPolicy::None {
            return;
        }
        for job in jobs {
            let dir = self
                .dir
                .join(&scenarios[job.scenario].label)
                .join(format!("seed-{}", job.seed));
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    /// Whether the policy wants a report of the run of `scenario` with `verdict`.
    #[must_use]
    pub fn wants(&self, scenario: &SweepScenario, verdict: &Verdict) -> bool {
        let first = scenario.seeds.first() == Some(&verdict.seed);
        match self.policy {
            ReportPolicy::None => false,
            ReportPolicy::Failed => !verdict.passed,
            ReportPolicy::FirstAndFailed => first || !verdict.passed,
            ReportPolicy::All => true,
        }
    }

    /// Writes the report of `outcome`, a run of `scenario`, if the policy wants one; returns
    /// its directory.
    #[must_use]
    pub fn write(&self, scenario: &SweepScenario, outcome: &RunOutcome) -> Option<PathBuf> {
        if !self.wants(scenario, &outcome.verdict) {
            return None;
        }
        match crate::report::write_run_report(
            Path::new(&self.dir),
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
    }
}

impl AfterRun for RunReports {
    fn wants_timeline(&self, scenario: &SweepScenario, verdict: &Verdict) -> bool {
        self.wants(scenario, verdict)
    }

    fn after(&self, scenario: &SweepScenario, outcome: &RunOutcome) -> Option<PathBuf> {
        self.write(scenario, outcome)
    }
}
