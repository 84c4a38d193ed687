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
    // `--format verdict` prints no event: the run keeps none (unless a report needs them).
    let keep = if format == Format::Verdict && report.is_none() {
        wsim::judge::Keep::Verdict
    } else {
        wsim::judge::Keep::Timeline
    };
    let system = overrides.system(&scenario);
    // With a second core, the checkers run on it while the simulation runs on this one.
    let second_core =
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get) > 1;
    let outcome = wsim::Run::new(&scenario, seed)
        .system(system)
        .repro(repro)
        .keep(keep)
        .on_second_core(second_core)
        .judge();
    if let Some(root) = report {
        let label = wsim::sweep::plan::label_of(path);
        match wsim::report::write_run_report(root, &label, &scenario, &outcome) {
            Ok(dir) => eprintln!("report: {}", dir.join("timeline.html").display()),
            Err(e) => eprintln!("warning: writing the report: {e}"),
        }
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let written = (|| -> io::Result<()> {
        if format == Format::Verdict {
            write!(out, "{}", outcome.verdict.text())?;
            writeln!(out, "  recorded {} events", outcome.stats.events)?;
            return out.flush();
        }
        if format == Format::Digest {
            write!(
                out,
                "{}",
                wsim::digest::digest(&outcome.timeline, &outcome.verdict)
            )?;
            return out.flush();
        }
        for event in &outcome.timeline {
            match format {
                Format::Text => writeln!(out, "{}", render::text_line(event))?,
                Format::Jsonl | Format::Digest | Format::Verdict => {
                    writeln!(out, "{}", render::json_line(event))?
                }
            }
        }
        match format {
            Format::Text => write!(out, "{}", outcome.verdict.text())?,
            Format::Jsonl | Format::Digest | Format::Verdict => {
                writeln!(out, "{}", outcome.verdict.json_line())?
            }
        }
        out.flush()
    })();
    // A closed pipe (`wsim run … | head`) is not an error of the run.
    if let Err(e) = written {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("error: writing output: {e}");
        }
    }
    ExitCode::from(if outcome.verdict.passed {
        EXIT_PASS
    } else {
        EXIT_FAIL
    })
}
