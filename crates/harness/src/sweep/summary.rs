//! A sweep's results per scenario — pass/fail counts, detection percentiles, grace outcomes,
//! messages, speed — and the text table, failure list and throughput line people read.

use std::fmt::Write as _;
use std::time::Duration;

use crate::render::secs;
use crate::stats::{percentile, RunStats};
use crate::sweep::plan::SweepScenario;
use crate::sweep::runner::RunRecord;

/// One scenario's results over the seeds it ran.
#[derive(Debug, Clone, Default)]
pub struct ScenarioSummary {
    /// The scenario's label.
    pub label: String,
    /// Runs made.
    pub runs: usize,
    /// Runs whose every check passed.
    pub passed: usize,
    /// Every run's figures added up; detection times ascending.
    pub totals: RunStats,
    /// Simulated milliseconds, summed over runs.
    pub sim_ms: u64,
    /// Wall milliseconds, summed over runs (time on one core).
    pub wall_ms: u64,
}

impl ScenarioSummary {
    /// Runs that failed.
    #[must_use]
    pub fn failed(&self) -> usize {
        self.runs - self.passed
    }

    /// The `p`-th percentile detection time in milliseconds.
    #[must_use]
    pub fn detection(&self, p: u32) -> Option<u64> {
        percentile(&self.totals.detection_ms, p)
    }

    /// The slowest detection time in milliseconds.
    #[must_use]
    pub fn slowest_detection(&self) -> Option<u64> {
        self.totals.detection_ms.last().copied()
    }

    /// Proxy idle kills per run.
    #[must_use]
    pub fn idle_kills_per_run(&self) -> f64 {
        self.totals.idle_kills as f64 / self.runs.max(1) as f64
    }

    /// Simulated time per wall time.
    #[must_use]
    pub fn speedup(&self) -> f64 {
        self.sim_ms as f64 / self.wall_ms.max(1) as f64
    }

    /// Seeds one core runs per hour.
    #[must_use]
    pub fn seeds_per_hour(&self) -> f64 {
        self.runs as f64 * 3_600_000.0 / self.wall_ms.max(1) as f64
    }

    /// Fraction of runs that passed.
    #[must_use]
    pub fn pass_rate(&self) -> f64 {
        self.passed as f64 / self.runs.max(1) as f64
    }
}

/// Aggregates `records` per scenario, in scenario order (scenarios without runs are left out:
/// another shard ran them).
#[must_use]
pub fn summarize(scenarios: &[SweepScenario], records: &[RunRecord]) -> Vec<ScenarioSummary> {
    let mut out: Vec<ScenarioSummary> = scenarios
        .iter()
        .map(|s| ScenarioSummary {
            label: s.label.clone(),
            ..ScenarioSummary::default()
        })
        .collect();
    for r in records {
        let s = &mut out[r.job.scenario];
        s.runs += 1;
        s.passed += usize::from(r.verdict.passed);
        s.totals.add(&r.stats);
        s.sim_ms += r.verdict.sim_ms;
        s.wall_ms += r.verdict.wall_ms;
    }
    for s in &mut out {
        s.totals.detection_ms.sort_unstable();
    }
    out.retain(|s| s.runs > 0);
    out
}

/// The column headings of the results table, and each row's cells.
#[must_use]
pub fn table_rows(summaries: &[ScenarioSummary]) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let head = vec![
        "scenario",
        "seeds",
        "passed",
        "failed",
        "detect p50",
        "p99",
        "max",
        "away",
        "back",
        "left",
        "msgs accepted",
        "delivered",
        "idle kills",
        "sim:wall",
        "seeds/h/core",
    ];
    let rows = summaries
        .iter()
        .map(|s| {
            vec![
                s.label.clone(),
                s.runs.to_string(),
                s.passed.to_string(),
                s.failed().to_string(),
                secs(s.detection(50)),
                secs(s.detection(99)),
                secs(s.slowest_detection()),
                s.totals.away.to_string(),
                s.totals.reconnected.to_string(),
                s.totals.left.to_string(),
                s.totals.accepted.to_string(),
                s.totals.delivered.to_string(),
                s.totals.idle_kills.to_string(),
                format!("{:.0}x", s.speedup()),
                format!("{:.0}", s.seeds_per_hour()),
            ]
        })
        .collect();
    (head, rows)
}

/// The results as an aligned text table (first column left-aligned, the rest right-aligned).
#[must_use]
pub fn text_table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i == 0 {
                let _ = write!(s, "{cell:<w$}");
            } else {
                let _ = write!(s, "  {cell:>w$}");
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(&head.iter().map(|h| (*h).to_string()).collect::<Vec<_>>());
    out.push_str(&line(
        &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(),
    ));
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

/// Every failed run: its first failing check, the reproduction command and its report.
#[must_use]
pub fn failure_list(scenarios: &[SweepScenario], records: &[RunRecord]) -> String {
    let mut out = String::new();
    for r in records.iter().filter(|r| !r.verdict.passed) {
        let label = &scenarios[r.job.scenario].label;
        for c in r.verdict.checks.iter().filter(|c| !c.passed) {
            let _ = writeln!(
                out,
                "  {label} seed {}  {}: {}",
                r.job.seed, c.name, c.detail
            );
        }
        let _ = writeln!(out, "    repro:  {}", r.verdict.repro);
        if let Some(dir) = &r.report {
            let _ = writeln!(out, "    report: {}", dir.join("timeline.html").display());
        }
    }
    out
}

/// How fast the whole sweep went.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    /// Runs made.
    pub runs: usize,
    /// Worker threads.
    pub workers: usize,
    /// Wall time of the whole sweep.
    pub wall: Duration,
    /// Simulated milliseconds, summed over runs.
    pub sim_ms: u64,
}

impl Throughput {
    /// Seeds per hour of the whole sweep.
    #[must_use]
    pub fn seeds_per_hour(&self) -> f64 {
        self.runs as f64 * 3600.0 / self.wall.as_secs_f64().max(1e-3)
    }

    /// One line: runs, time, seeds per hour, simulated-to-wall ratio.
    #[must_use]
    pub fn line(&self) -> String {
        let wall = self.wall.as_secs_f64();
        format!(
            "throughput: {} runs in {:.1}s on {} worker{}: {:.0} seeds/hour, {:.1}h simulated ({:.0}x real time)",
            self.runs,
            wall,
            self.workers,
            if self.workers == 1 { "" } else { "s" },
            self.seeds_per_hour(),
            self.sim_ms as f64 / 3_600_000.0,
            self.sim_ms as f64 / 1000.0 / wall.max(1e-3),
        )
    }
}
