//! What `bench` and `memory` run as child processes of this binary: one judged run keeping
//! no timeline, its floor, the run unjudged, the standard sweep, and wsim's server on
//! loopback. Each single run prints a first line (`PASS`/`FAIL`/`FLOOR`/`UNJUDGED`), then
//! `simulated …` and, when it knows it, `recorded N events`: what `bench` reads.

use std::path::Path;
use std::process::ExitCode;

use wsim::clock::Stopwatch;
use wsim::judge::Keep;
use wsim::report::policy::ReportPolicy;
use wsim::report::RunReports;
use wsim::scenario::ScenarioFile;
use wsim::sweep::{self as sweeping, plan, summary, SweepOptions};

use crate::{EXIT_BAD_INPUT, EXIT_FAIL, EXIT_PASS};

fn load(path: &Path) -> Result<ScenarioFile, ExitCode> {
    wsim::scenario::load(path).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

fn exit(passed: bool) -> ExitCode {
    ExitCode::from(if passed { EXIT_PASS } else { EXIT_FAIL })
}

/// A judged run with every checker, keeping no timeline (with a second core, the checkers run
/// on it while the simulation runs on this one, as `wsim run` does).
pub(crate) fn judged(path: &Path, seed: u64) -> ExitCode {
    let scenario = match load(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let second_core =
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get) > 1;
    let outcome = wsim::Run::new(&scenario, seed)
        .named(&path.display().to_string())
        .keep(Keep::Verdict)
        .on_second_core(second_core)
        .judge();
    print!("{}", outcome.verdict.text());
    println!("  recorded {} events", outcome.stats.events);
    exit(outcome.verdict.passed)
}

/// The floor of a scenario's traffic, with its simulated and wall time.
pub(crate) fn floor(path: &Path, seed: u64) -> ExitCode {
    let scenario = match load(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let wall = Stopwatch::start();
    match crate::floor::simulate_floor(&scenario, seed) {
        Ok(floor) => {
            let wall = wall.elapsed().as_secs_f64();
            let simulated = floor.elapsed.as_secs_f64();
            println!(
                "FLOOR {} seed={seed}: {} messages sent, {} frames read over {} connections in \
                 {} steps (bare turmoil + tungstenite)",
                scenario.name, floor.sent, floor.frames, floor.connections, floor.steps
            );
            println!(
                "  simulated {simulated:.3}s in {wall:.3}s wall ({:.0}x real time)",
                simulated / wall.max(1e-9)
            );
            println!("  recorded {} events (frames read)", floor.frames);
            exit(true)
        }
        Err(e) => {
            eprintln!("error: the floor run failed: {e}");
            exit(false)
        }
    }
}

/// The scenario's systems under test with their events discarded at the source, with its
/// simulated and wall time (how it ended, not a verdict: nothing was checked).
pub(crate) fn unjudged(path: &Path, seed: u64) -> ExitCode {
    let scenario = match load(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let wall = Stopwatch::start();
    let simulated = wsim::Run::new(&scenario, seed).unjudged();
    let wall = wall.elapsed().as_secs_f64();
    let elapsed = simulated.elapsed.as_secs_f64();
    if let Some(error) = &simulated.error {
        eprintln!("error: the unjudged run failed: {error}");
        return exit(false);
    }
    println!(
        "UNJUDGED {} seed={seed}: events discarded at their source, nothing checked",
        scenario.name
    );
    println!(
        "  simulated {elapsed:.3}s in {wall:.3}s wall ({:.0}x real time)",
        elapsed / wall.max(1e-9)
    );
    exit(true)
}

/// Every scenario file under `dir` over its seeds, no report: the table and the verdict.
pub(crate) fn sweep(dir: &Path, jobs: Option<usize>) -> ExitCode {
    let bad = |msg: String| {
        eprintln!("error: {msg}");
        ExitCode::from(EXIT_BAD_INPUT)
    };
    let files = match plan::discover(&[dir.to_path_buf()]) {
        Ok(f) => f,
        Err(e) => return bad(e.to_string()),
    };
    let scenarios = match plan::load_all(&files, None) {
        Ok(s) => s,
        Err(errors) => return bad(format!("{} scenario files do not load", errors.len())),
    };
    let runs = plan::jobs(&scenarios, None);
    let options = SweepOptions {
        workers: jobs.unwrap_or_else(sweeping::default_workers).max(1),
        quiet: true,
    };
    let reports = RunReports {
        policy: ReportPolicy::None,
        dir: dir.join("reports"),
    };
    let result = sweeping::execute(&scenarios, &runs, &options, &reports);
    let (head, rows) = summary::table_rows(&summary::summarize(&scenarios, &result.records));
    print!("{}", summary::text_table(&head, &rows));
    let failed = result.records.iter().filter(|r| !r.verdict.passed).count();
    if failed > 0 {
        println!("FAILED: {failed} of {} runs", result.records.len());
    } else {
        println!("PASS: all {} runs", result.records.len());
    }
    println!("{}", result.throughput.line());
    exit(result.passed())
}

/// wsim's server with its default settings on `listen`, its events discarded; the first
/// line on stderr names the address (`… ws://ADDR/ws`).
pub(crate) fn serve(listen: &str) -> ExitCode {
    wsim::real::raise_fd_limit();
    let served = wsim::real::block_on(async {
        let config = wsim_server::ServerConfig::default();
        let sink = wsim_proto::EventSink::discard();
        match wsim::real::serve(listen, "wsim-dev serve", config, sink).await {
            Ok(()) => exit(true),
            Err(e) => {
                eprintln!("error: cannot listen on {listen}: {e}");
                ExitCode::from(EXIT_BAD_INPUT)
            }
        }
    });
    served.unwrap_or_else(|e| {
        eprintln!("error: cannot start the runtime: {e}");
        ExitCode::from(EXIT_BAD_INPUT)
    })
}
