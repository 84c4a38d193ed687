//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use wsim::event::Event;
use wsim::scenario::ScenarioFile;

/// The repository's `scenarios/` folder.
pub fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// Every scenario file in `scenarios/`, sorted.
pub fn all_scenarios() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .expect("scenarios/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenarios found");
    files
}

/// Loads a scenario by file name, e.g. `02-partition-60s.toml`.
pub fn scenario(name: &str) -> ScenarioFile {
    wsim::scenario::load(&scenarios_dir().join(name)).expect("scenario loads")
}

/// A run's JSON Lines output with the (non-deterministic) wall time blanked.
pub fn jsonl(path: &Path, seed: u64) -> String {
    outputs(path, seed).0
}

/// A run's JSON Lines output (wall time blanked) and its digest (what snapshots store).
pub fn outputs(path: &Path, seed: u64) -> (String, String) {
    outputs_stepping(path, seed, wsim::sim::Stepping::SkipIdle)
}

/// [`jsonl`] for a run stepped tick by tick, without skipping idle time, judged on a thread
/// of its own (as `wsim run` judges).
pub fn jsonl_every_tick(path: &Path, seed: u64) -> String {
    outputs_judged(path, seed, wsim::sim::Stepping::EveryTick, Judge::Pipelined).0
}

/// Where a run's checkers run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Judge {
    /// On the simulation's thread, as each event is recorded.
    Inline,
    /// On a thread of their own ([`wsim::Run::on_second_core`]).
    Pipelined,
}

fn outputs_stepping(path: &Path, seed: u64, stepping: wsim::sim::Stepping) -> (String, String) {
    outputs_judged(path, seed, stepping, Judge::Inline)
}

fn outputs_judged(
    path: &Path,
    seed: u64,
    stepping: wsim::sim::Stepping,
    judge: Judge,
) -> (String, String) {
    let s = wsim::scenario::load(path).expect("scenario loads");
    let name = path.file_name().expect("a file").to_string_lossy();
    let system = wsim::sim::System::for_scenario(&s).with_stepping(stepping);
    let mut outcome = wsim::Run::new(&s, seed)
        .system(system)
        .named(&format!("scenarios/{name}"))
        .on_second_core(judge == Judge::Pipelined)
        .judge();
    outcome.verdict.wall_ms = 0;
    let mut out: String = outcome
        .timeline
        .iter()
        .map(|e| wsim::render::json_line(e) + "\n")
        .collect();
    out.push_str(&outcome.verdict.json_line());
    (
        out,
        wsim::digest::digest(&outcome.timeline, &outcome.verdict),
    )
}

/// Events of `client` named `name`.
pub fn client_events<'a>(events: &'a [Event], client: &'a str, name: &'a str) -> Vec<&'a Event> {
    events
        .iter()
        .filter(|e| e.kind.client() == Some(client) && e.kind.name() == name)
        .collect()
}

/// Waits for a real child process, killing it and failing the test after `limit`.
#[allow(clippy::disallowed_methods)] // a real process: bounded by a wall-clock deadline
pub fn wait_bounded(
    child: &mut std::process::Child,
    limit: std::time::Duration,
    what: &str,
) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
