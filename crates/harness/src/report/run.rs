//! The report of one run, `<root>/<scenario>/seed-<N>/`: `timeline.txt` and `events.jsonl`
//! (exactly what `wsim run` prints), `summary.md` (verdict, faults, figures, violations) and
//! `timeline.html` (swimlanes).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use crate::event::{Event, EventKind, ServerEvent};
use crate::judge::{RunOutcome, RunOutput};
use crate::render;
use crate::render::secs;
use crate::report::html::marks::TrafficMarks;
use crate::scenario::ScenarioFile;

/// A directory of its own under `parent` for a real-network run of `seed`: `seed-N`, or
/// `seed-N.run-K` for the first K free. A real run does not replay, so a rerun never replaces
/// the report of another (a simulated run's report is the same every time, and is replaced).
fn fresh_dir(parent: &Path, seed: u64) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(parent)?;
    for k in 1u32..=u32::MAX {
        let name = if k == 1 {
            format!("seed-{seed}")
        } else {
            format!("seed-{seed}.run-{k}")
        };
        let dir = parent.join(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(
        "every report directory name of this seed is taken",
    ))
}

/// The report of a run being written as the run goes: `timeline.txt` and `events.jsonl`
/// take each event as it is judged (a [`RunOutput`]), the violations and the verdict at the
/// end; [`ReportWriter::finish`] adds `summary.md` and `timeline.html`. Nothing of the stream
/// is kept: with [`crate::judge::Keep::Report`] the run's memory follows its connections and
/// faults, not its events.
pub struct ReportWriter {
    dir: PathBuf,
    label: String,
    text: BufWriter<File>,
    jsonl: BufWriter<File>,
    /// The first write that failed (later ones are not tried).
    error: Option<std::io::Error>,
}

impl ReportWriter {
    /// Starts the report of the run of `seed` labelled `label` under `root`:
    /// `<root>/<label>/seed-<N>/`, replaced if there (a simulated run's report is the same
    /// every time), or a fresh directory for a `real_time` run (which never replays).
    pub fn create(root: &Path, label: &str, seed: u64, real_time: bool) -> std::io::Result<Self> {
        let dir = if real_time {
            fresh_dir(&root.join(label), seed)?
        } else {
            let dir = root.join(label).join(format!("seed-{seed}"));
            std::fs::create_dir_all(&dir)?;
            dir
        };
        let file = |name: &str| File::create(dir.join(name)).map(BufWriter::new);
        Ok(ReportWriter {
            text: file("timeline.txt")?,
            jsonl: file("events.jsonl")?,
            label: label.to_string(),
            dir,
            error: None,
        })
    }

    /// The report's directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn write(&mut self, event: &Event) {
        if self.error.is_some() {
            return;
        }
        let written = writeln!(self.text, "{}", render::text_line(event))
            .and_then(|()| writeln!(self.jsonl, "{}", render::json_line(event)));
        self.error = written.err();
    }

    /// Ends the report with `outcome` (the run of `scenario` whose events it was given): the
    /// verdict closes both streams, then `summary.md` and `timeline.html` are written from
    /// what the outcome kept. Returns the report's directory.
    pub fn finish(
        mut self,
        scenario: &ScenarioFile,
        outcome: &RunOutcome,
    ) -> std::io::Result<PathBuf> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let verdict = &outcome.verdict;
        write!(self.text, "{}", verdict.text())?;
        writeln!(self.jsonl, "{}", verdict.json_line())?;
        self.text.flush()?;
        self.jsonl.flush()?;
        let (dir, label) = (self.dir, self.label);

        let end = std::time::Duration::from_millis(verdict.sim_ms).max(scenario.duration.0);
        let counted;
        let marks = match &outcome.marks {
            Some(marks) => marks,
            None => {
                counted = TrafficMarks::of(&outcome.timeline, end);
                &counted
            }
        };
        std::fs::write(
            dir.join("summary.md"),
            summary_md(&label, scenario, outcome, marks),
        )?;

        let failed = verdict.failed_checks();
        let subtitle = if failed.is_empty() {
            format!("PASS · {}", verdict.repro)
        } else {
            format!("FAIL: {} · {}", failed.join(", "), verdict.repro)
        };
        let title = format!("{label} · seed {}", verdict.seed);
        let clock = if verdict.real_time {
            crate::report::html::Clock::Real
        } else {
            crate::report::html::Clock::Simulated
        };
        let page = crate::report::html::timeline_html(
            &title,
            &subtitle,
            &outcome.timeline,
            marks,
            end,
            clock,
        );
        std::fs::write(dir.join("timeline.html"), page)?;
        Ok(dir)
    }
}

impl RunOutput for ReportWriter {
    fn event(&mut self, event: &Event) {
        self.write(event);
    }

    fn violations(&mut self, violations: &[Event]) {
        for v in violations {
            self.write(v);
        }
    }
}

/// Writes the report of `outcome` (a run of `scenario`, labelled `label`, that kept its whole
/// timeline) under `root` and returns its directory.
pub fn write_run_report(
    root: &Path,
    label: &str,
    scenario: &ScenarioFile,
    outcome: &RunOutcome,
) -> std::io::Result<PathBuf> {
    let verdict = &outcome.verdict;
    let mut report = ReportWriter::create(root, label, verdict.seed, verdict.real_time)?;
    for event in &outcome.timeline {
        report.write(event);
    }
    report.finish(scenario, outcome)
}

/// The run's summary in Markdown.
fn summary_md(
    label: &str,
    scenario: &ScenarioFile,
    outcome: &RunOutcome,
    marks: &TrafficMarks,
) -> String {
    let (v, stats) = (&outcome.verdict, &outcome.stats);
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# {label} · seed {} — {}\n",
        v.seed,
        if v.passed { "PASS" } else { "FAIL" }
    );
    if !scenario.description.is_empty() {
        let _ = writeln!(md, "{}\n", scenario.description.trim());
    }
    let _ = writeln!(md, "Reproduce: `{}`\n", v.repro);
    let _ = writeln!(md, "| check | result | detail |\n|---|---|---|");
    for c in &v.checks {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            c.name,
            match c.status() {
                "skip" => "skipped",
                "FAIL" => "**FAIL**",
                "n/a" => "vacuous",
                _ => "ok",
            },
            c.detail.replace('|', "\\|")
        );
    }

    md.push_str("\n## Faults\n\n");
    let faults: Vec<&Event> = outcome
        .timeline
        .iter()
        .filter(|e| matches!(e.kind, EventKind::FaultStart { .. }))
        .collect();
    if faults.is_empty() {
        md.push_str("None.\n");
    } else {
        md.push_str("| at | fault |\n|---|---|\n");
        for e in faults {
            let _ = writeln!(
                md,
                "| {} | {}{} |",
                secs(Some(e.t_ms())),
                e.kind.name(),
                render::fields_text(e)
            );
        }
    }

    md.push_str("\n## Figures\n\n");
    let mut detection = stats.detection_ms.clone();
    detection.sort_unstable();
    let _ = writeln!(
        md,
        "- link breaks detected: {} (fastest {}, slowest {})",
        detection.len(),
        secs(detection.first().copied()),
        secs(detection.last().copied())
    );
    // A server that reports no session events leaves its figures unknown, not zero.
    let server_reports = marks.accepted() > 0
        || outcome.timeline.iter().any(|e| {
            matches!(
                e.kind,
                EventKind::Server(
                    ServerEvent::SessionOpened { .. } | ServerEvent::MessageAccepted { .. }
                )
            )
        });
    let known = |n: usize| {
        if server_reports {
            n.to_string()
        } else {
            "n/a".to_string()
        }
    };
    let _ = writeln!(
        md,
        "- sessions away: {} — back within grace: {}, left: {}{}",
        known(stats.away),
        known(stats.reconnected),
        known(stats.left),
        if server_reports {
            ""
        } else {
            " (the server reports no session events)"
        }
    );
    let _ = writeln!(
        md,
        "- messages accepted: {}, delivered: {}, duplicates dropped: {}",
        known(stats.accepted),
        stats.delivered,
        known(stats.duplicates)
    );
    let _ = writeln!(
        md,
        "- disconnects: {}, proxy idle kills: {}",
        stats.disconnects, stats.idle_kills
    );
    if v.real_time {
        let _ = writeln!(
            md,
            "- a real network (`wsim drive`): {} of real time; fault times from the seed, the rest does not replay",
            secs(Some(v.sim_ms))
        );
    } else {
        let _ = writeln!(
            md,
            "- simulated {} in {} wall",
            secs(Some(v.sim_ms)),
            secs(Some(v.wall_ms))
        );
    }

    let violations: Vec<&Event> = outcome
        .timeline
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Violation { .. }))
        .collect();
    if !violations.is_empty() {
        md.push_str("\n## Violations\n\n");
        for e in violations {
            if let EventKind::Violation { check, detail } = &e.kind {
                let _ = writeln!(md, "- {} **{check}**: {detail}", secs(Some(e.t_ms())));
            }
        }
    }
    md.push_str(
        "\n## Files\n\n- [timeline.html](timeline.html): swimlanes, open in a browser\n\
         - [timeline.txt](timeline.txt): the text timeline (`wsim run`)\n\
         - [events.jsonl](events.jsonl): JSON Lines (`wsim run --format jsonl`)\n",
    );
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_run_never_takes_another_runs_report_directory() {
        let parent = std::env::temp_dir().join(format!("wsim-fresh-dir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&parent);
        let names: Vec<String> = (0..3)
            .map(|_| {
                let dir = fresh_dir(&parent, 3).expect("a directory");
                dir.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["seed-3", "seed-3.run-2", "seed-3.run-3"]);
        let _ = std::fs::remove_dir_all(&parent);
    }
}
