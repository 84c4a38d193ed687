//! Sweep progress on stderr: an indicatif bar on a terminal, one plain line per run otherwise
//! (CI logs), nothing with `--quiet`.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::sweep::plan::SweepScenario;
use crate::sweep::runner::RunRecord;

/// How progress is shown.
pub enum Progress {
    /// A bar redrawn in place, with failures printed above it.
    Bar(ProgressBar),
    /// One line per finished run.
    Lines {
        /// Total runs.
        total: usize,
    },
    /// Nothing.
    Quiet,
}

impl Progress {
    /// A bar if stderr is a terminal, plain lines otherwise; nothing if `quiet`.
    #[must_use]
    pub fn new(total: usize, quiet: bool) -> Self {
        if quiet {
            return Progress::Quiet;
        }
        if !std::io::stderr().is_terminal() {
            return Progress::Lines { total };
        }
        let bar = ProgressBar::with_draw_target(
            Some(total as u64),
            ProgressDrawTarget::stderr_with_hz(10),
        );
        let style = ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40.cyan/blue}] {pos}/{len} runs, eta {eta}  {msg}",
        )
        .expect("the template is valid")
        .progress_chars("=> ");
        bar.set_style(style);
        Progress::Bar(bar)
    }

    /// One run finished (`done` so far).
    pub fn run_done(&self, scenarios: &[SweepScenario], record: &RunRecord, done: usize) {
        let label = &scenarios[record.job.scenario].label;
        let verdict = &record.verdict;
        let failed = verdict.failed_checks();
        match self {
            Progress::Bar(bar) => {
                if !verdict.passed {
                    bar.println(format!(
                        "FAIL {label} seed {} ({})  {}",
                        record.job.seed,
                        failed.join(", "),
                        verdict.repro
                    ));
                }
                bar.set_message(format!("{label} seed {}", record.job.seed));
                bar.inc(1);
            }
            Progress::Lines { total } => {
                let width = total.to_string().len();
                eprintln!(
                    "[{done:>width$}/{total}] {} {label} seed {} ({:.1}s){}",
                    if verdict.passed { "pass" } else { "FAIL" },
                    record.job.seed,
                    verdict.wall_ms as f64 / 1000.0,
                    if failed.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", failed.join(", "))
                    }
                );
            }
            Progress::Quiet => {}
        }
    }

    /// The sweep finished.
    pub fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
