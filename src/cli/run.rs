//! `wsim run`: simulate one scenario with one seed, print the timeline and the verdict.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use crate::cli::{RunFormat as Format, EXIT_BAD_INPUT, EXIT_FAIL, EXIT_PASS};
use wsim::render;

pub(crate) fn run(path: &Path, seed: u64, format: Format, report: Option<&Path>) -> ExitCode {
    let scenario = match wsim::scenario::load(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let outcome = wsim::sim::run(&scenario, &path.display().to_string(), seed);
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
                Format::Jsonl | Format::Digest => writeln!(out, "{}", render::json_line(event))?,
            }
        }
        match format {
            Format::Text => write!(out, "{}", outcome.verdict.text())?,
            Format::Jsonl | Format::Digest => writeln!(out, "{}", outcome.verdict.json_line())?,
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
