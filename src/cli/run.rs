//! `wsim run`: simulate one scenario with one seed, print the timeline and the verdict.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use crate::cli::{RunFormat as Format, EXIT_BAD_INPUT, EXIT_FAIL, EXIT_PASS};
use wsim::render;
use wsim::scenario::model::Implementation;

/// `--server` / `--client`: implementations replacing the scenario's `[system]` choices.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Overrides {
    pub(crate) server: Option<Implementation>,
    pub(crate) client: Option<Implementation>,
    /// `--every-tick`: no idle skipping.
    pub(crate) every_tick: bool,
}

impl Overrides {
    /// Puts the overriding implementations into `scenario`'s `[system]`.
    fn apply(self, scenario: &mut wsim::scenario::ScenarioFile) {
        if let Some(server) = self.server {
            scenario.system.server = server;
        }
        if let Some(client) = self.client {
            scenario.system.client = client;
        }
    }

    /// The system under test for `scenario` (overrides applied), stepped as they say.
    fn system(self, scenario: &wsim::scenario::ScenarioFile) -> wsim::sim::System {
        let system = wsim::sim::System::for_scenario(scenario);
        if self.every_tick {
            system.with_stepping(wsim::sim::Stepping::EveryTick)
        } else {
            system
        }
    }

    /// The flags that give these overrides, for the reproduction command.
    fn flags(self) -> String {
        let mut out = String::new();
        if let Some(server) = self.server {
            out.push_str(&format!(" --server {}", server.name()));
        }
        if let Some(client) = self.client {
            out.push_str(&format!(" --client {}", client.name()));
        }
        if self.every_tick {
            out.push_str(" --every-tick");
        }
        out
    }
}

/// The scenario at `path` with `overrides` applied, or the exit code once the error is said.
fn load(path: &Path, overrides: Overrides) -> Result<wsim::scenario::ScenarioFile, ExitCode> {
    let mut scenario = wsim::scenario::load(path).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(EXIT_BAD_INPUT)
    })?;
    overrides.apply(&mut scenario);
    Ok(scenario)
}

pub(crate) fn run(
    path: &Path,
    seed: u64,
    format: Format,
    report: Option<&Path>,
    overrides: Overrides,
) -> ExitCode {
    let scenario = match load(path, overrides) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let repro =
        wsim::verdict::repro_command(&path.display().to_string(), seed) + &overrides.flags();
    // Nothing keeps the events: each is printed (or counted into the digest) and written to the
    // report as it is judged; a report keeps only what its summary and swimlanes draw.
    let keep = if report.is_some() {
        wsim::judge::Keep::Report
    } else {
        wsim::judge::Keep::Verdict
    };
    let report = match report {
        Some(root) => {
            let label = wsim::sweep::plan::label_of(path);
            match wsim::report::ReportWriter::create(root, &label, seed, false) {
                Ok(writer) => Some(writer),
                Err(e) => {
                    eprintln!("error: creating the report under {}: {e}", root.display());
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
            }
        }
        None => None,
    };
    let printed = Printed {
        format,
        out: io::BufWriter::new(io::stdout()),
        digest: (format == Format::Digest).then(wsim::digest::Digest::default),
        report,
        error: None,
    };
    let system = overrides.system(&scenario);
    // With a second core, the checkers run on it while the simulation runs on this one.
    let second_core =
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get) > 1;
    let (outcome, printed) = wsim::Run::new(&scenario, seed)
        .system(system)
        .repro(repro)
        .keep(keep)
        .on_second_core(second_core)
        .judge_into(printed);
    printed.finish(&scenario, &outcome);
    ExitCode::from(if outcome.verdict.passed {
        EXIT_PASS
    } else {
        EXIT_FAIL
    })
}

/// What `wsim run` prints and writes, as the run goes: the timeline in its format (or the
/// digest, built as it goes), and the report's streams.
struct Printed {
    format: Format,
    out: io::BufWriter<io::Stdout>,
    digest: Option<wsim::digest::Digest>,
    report: Option<wsim::report::ReportWriter>,
    /// The first failed write to standard output (nothing more is printed).
    error: Option<io::Error>,
}

impl Printed {
    fn print(&mut self, event: &wsim::Event) {
        if self.error.is_some() {
            return;
        }
        let written = match self.format {
            Format::Text => writeln!(self.out, "{}", render::text_line(event)),
            Format::Jsonl => writeln!(self.out, "{}", render::json_line(event)),
            Format::Digest | Format::Verdict => Ok(()),
        };
        self.error = written.err();
    }

    /// Closes the output with the verdict and finishes the report.
    fn finish(mut self, scenario: &wsim::ScenarioFile, outcome: &wsim::RunOutcome) {
        if let Some(report) = self.report.take() {
            match report.finish(scenario, outcome) {
                Ok(dir) => eprintln!("report: {}", dir.join("timeline.html").display()),
                Err(e) => eprintln!("warning: writing the report: {e}"),
            }
        }
        let verdict = &outcome.verdict;
        let digest = self.digest.take();
        let out = &mut self.out;
        let written = self.error.take().map_or_else(
            || {
                match self.format {
                    Format::Text => write!(out, "{}", verdict.text()),
                    Format::Jsonl => writeln!(out, "{}", verdict.json_line()),
                    Format::Digest => {
                        let digest = digest.map(|d| d.finish(verdict)).unwrap_or_default();
                        write!(out, "{digest}")
                    }
                    Format::Verdict => write!(out, "{}", verdict.text())
                        .and_then(|()| writeln!(out, "  recorded {} events", outcome.stats.events)),
                }
                .and_then(|()| out.flush())
            },
            Err,
        );
        // A closed pipe (`wsim run … | head`) is not an error of the run.
        if let Err(e) = written {
            if e.kind() != io::ErrorKind::BrokenPipe {
                eprintln!("error: writing output: {e}");
            }
        }
    }
}

impl wsim::judge::RunOutput for Printed {
    fn event(&mut self, event: &wsim::Event) {
        self.print(event);
        if let Some(digest) = &mut self.digest {
            digest.event(event);
        }
        if let Some(report) = &mut self.report {
            report.event(event);
        }
    }

    fn violations(&mut self, violations: &[wsim::Event]) {
        for v in violations {
            self.print(v);
        }
        if let Some(digest) = &mut self.digest {
            digest.violations(violations);
        }
        if let Some(report) = &mut self.report {
            report.violations(violations);
        }
    }
}
