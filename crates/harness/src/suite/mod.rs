//! The `#[test]` API: run wsim's scenarios against *your* server and/or client, from
//! `cargo test`, deterministically.
//!
//! ```no_run
//! use wsim::sim::{HostResult, LocalBoxFuture, ServerHost, ServerUnderTest};
//!
//! /// Your server: accept connections on `host.listener`, speak docs/protocol.md.
//! struct MyServer;
//!
//! impl ServerUnderTest for MyServer {
//!     fn run(&self, host: ServerHost) -> LocalBoxFuture<HostResult> {
//!         Box::pin(async move {
//!             let _ = host; // accept on host.listener, report on host.events
//!             Ok(())
//!         })
//!     }
//! }
//!
//! #[test]
//! fn my_server_survives_the_standard_scenarios() {
//!     wsim::Suite::new()
//!         .scenarios("scenarios/")          // a file or a directory of scenario files
//!         .seeds(1..=20)
//!         .server(|| MyServer)              // built afresh on each worker thread
//!         .assert_pass();                   // panics with the check, the seed and the replay
//! }
//! ```
//!
//! A failure panics with every failing run's first violation, its seed, a replay line
//! (`WSIM_SEED=7 cargo test <test name>` runs exactly that seed again) and the run's report
//! (`target/wsim-reports/<scenario>/seed-<N>/timeline.html`). Runs go in parallel over seeds,
//! one simulation per worker thread; `WSIM_JOBS=1` runs them one at a time.

mod harness;
mod snapshot;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::event::Event;
use crate::report::{ReportPolicy, RunReports};
use crate::scenario::ScenarioFile;
use crate::sim::{ClientUnderTest, ServerUnderTest, System};
use crate::sweep::plan::{self, SweepScenario};
use crate::sweep::runner::RunRecord;
use crate::sweep::{self, SweepOptions};

/// Makes a fresh instance of a user's component on the worker thread that needs one.
type Factory<T> = Arc<dyn Fn() -> std::rc::Rc<T> + Send + Sync>;

/// A set of scenario runs against chosen implementations. See the module documentation.
#[derive(Clone, Default)]
pub struct Suite {
    paths: Vec<PathBuf>,
    standard: bool,
    seeds: Option<Vec<u64>>,
    server: Option<Factory<dyn ServerUnderTest>>,
    client: Option<Factory<dyn ClientUnderTest>>,
    jobs: Option<usize>,
    report_dir: Option<PathBuf>,
    /// Standard scenarios chosen by name (`None` with `standard`: all of them).
    standard_names: Vec<String>,
    /// The seed whose digest is kept as an insta snapshot of each scenario, if any.
    snapshot_seed: Option<u64>,
    /// The test that runs this suite, for replay lines (default: the running test's name).
    test_name: Option<String>,
}

impl Suite {
    /// An empty suite: add scenarios, then run it.
    #[must_use]
    pub fn new() -> Self {
        Suite::default()
    }

    /// Adds a scenario file, or every `*.toml` under a directory (recursively, sorted).
    #[must_use]
    pub fn scenarios(mut self, path: impl AsRef<Path>) -> Self {
        self.paths.push(path.as_ref().to_path_buf());
        self
    }

    /// Adds wsim's standard suite: every scenario in wsim's `scenarios/` directory, compiled
    /// into the crate (named `standard/<file>` in reports).
    #[must_use]
    pub fn standard(mut self) -> Self {
        self.standard = true;
        self
    }

    /// Adds one scenario of wsim's standard suite by its file stem (`"15-flap-within-grace"`);
    /// an unknown name fails the run, listing the known ones.
    #[must_use]
    pub fn standard_scenario(mut self, name: &str) -> Self {
        self.standard_names
            .push(name.trim_end_matches(".toml").to_string());
        self
    }

    /// Keeps the digest of each scenario's run with `seed` as an insta snapshot in the
    /// calling crate (`tests/snapshots/wsim__<scenario>.seed-<N>.snap`), so a change in your
    /// system's behaviour shows up in `cargo insta review`. The run must also pass.
    #[must_use]
    pub fn snapshots(mut self, seed: u64) -> Self {
        self.snapshot_seed = Some(seed);
        self
    }

    /// The seeds to run each scenario with (default: each file's own `seeds = N`, 1..=N).
    #[must_use]
    pub fn seeds(mut self, seeds: impl IntoIterator<Item = u64>) -> Self {
        self.seeds = Some(seeds.into_iter().collect());
        self
    }

    /// Your server stands on the server host; `make` builds one per worker thread.
    #[must_use]
    pub fn server<S: ServerUnderTest + 'static>(
        mut self,
        make: impl Fn() -> S + Send + Sync + 'static,
    ) -> Self {
        self.server = Some(Arc::new(move || {
            std::rc::Rc::new(make()) as std::rc::Rc<dyn ServerUnderTest>
        }));
        self
    }

    /// Your client runs for every simulated user; `make` builds one per worker thread.
    #[must_use]
    pub fn client<C: ClientUnderTest + 'static>(
        mut self,
        make: impl Fn() -> C + Send + Sync + 'static,
    ) -> Self {
        self.client = Some(Arc::new(move || {
            std::rc::Rc::new(make()) as std::rc::Rc<dyn ClientUnderTest>
        }));
        self
    }

    /// Simulations run at once (default: `WSIM_JOBS`, else one per core).
    #[must_use]
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = Some(jobs.max(1));
        self
    }

    /// Where failing runs' reports go (default `target/wsim-reports`).
    #[must_use]
    pub fn report_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.report_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Runs every (scenario, seed) — only seed `WSIM_SEED` when that is set — and returns
    /// what happened.
    ///
    /// # Errors
    /// When this build cannot simulate deterministically (built without
    /// `--cfg tokio_unstable`: the message gives the `.cargo/config.toml` lines), no scenario
    /// is given, a path cannot be read, a scenario file is broken, or `WSIM_SEED` is not a
    /// number: every problem, one per line.
    pub fn run(&self) -> Result<SuiteOutcome, String> {
        // Refused once, with the fix, before any run (and no report of runs that never ran).
        crate::sim::guarantee::check_build().map_err(|e| e.to_string())?;
        let env_seed = std::env::var("WSIM_SEED").ok();
        let seeds = seeds_to_run(self.seeds.as_deref(), env_seed.as_deref())?;
        let scenarios = self.load(seeds.as_deref())?;
        let test = self.test_name.clone().unwrap_or_else(test_name);
        Ok(self.run_loaded(scenarios, &test))
    }

    /// Runs `scenarios` (loaded by [`Suite::load`]) as test `test` would.
    fn run_loaded(&self, mut scenarios: Vec<SweepScenario>, test: &str) -> SuiteOutcome {
        let template = replay_template(test);
        for scenario in &mut scenarios {
            scenario.replay = Some(template.clone());
        }
        let jobs = plan::jobs(&scenarios, None);
        let workers = self
            .jobs
            .or_else(|| std::env::var("WSIM_JOBS").ok()?.parse().ok())
            .unwrap_or_else(sweep::default_workers)
            .max(1);
        let options = SweepOptions {
            workers,
            quiet: true,
        };
        let reports = RunReports {
            policy: ReportPolicy::Failed,
            dir: self
                .report_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("target/wsim-reports")),
        };
        let systems = |scenario: &ScenarioFile| self.system(scenario);
        let result = sweep::execute_systems(&scenarios, &jobs, &options, &systems, &reports);
        SuiteOutcome {
            scenarios,
            records: result.records,
        }
    }

    /// Runs the suite and panics unless every run passed, naming each failure with its seed,
    /// first violation, replay line and report.
    ///
    /// # Panics
    /// When a run fails, or the suite cannot run (see [`Suite::run`]).
    pub fn assert_pass(&self) {
        let outcome = self.run().unwrap_or_else(|e| panic!("wsim: {e}"));
        if let Some(report) = outcome.failure_report() {
            panic!("{report}");
        }
        self.assert_snapshots(&outcome.scenarios);
    }

    /// Runs the suite and panics unless it *fails* — and replaying the first failing run's
    /// seed alone fails with the same check and first violation: the test that a planted bug
    /// is caught, by seed, with a replay that reproduces it. Returns the failure report (the
    /// one [`Suite::assert_pass`] would panic with).
    ///
    /// # Panics
    /// When every run passes, when the replay differs, or the suite cannot run.
    pub fn assert_caught(&self) -> String {
        let outcome = self.run().unwrap_or_else(|e| panic!("wsim: {e}"));
        let Some(report) = outcome.failure_report() else {
            panic!(
                "wsim: all {} runs passed: the bug was not caught",
                outcome.records.len()
            );
        };
        let failed = outcome
            .records
            .iter()
            .find(|r| !r.verdict.passed)
            .expect("a failure report names a failed run");
        let planned = &outcome.scenarios[failed.job.scenario];
        let seed = failed.job.seed;
        let repro = planned.repro(seed);
        let again = crate::judge::Run::new(&planned.scenario, seed)
            .system(self.system(&planned.scenario))
            .repro(repro)
            .judge();
        let first = |v: &crate::Verdict| {
            v.checks
                .iter()
                .find(|c| !c.passed)
                .map(|c| format!("{}: {}", c.name, c.detail))
        };
        assert_eq!(
            first(&again.verdict),
            first(&failed.verdict),
            "wsim: replaying {} seed {seed} did not fail the same way",
            planned.path
        );
        report
    }

    /// Runs each scenario twice with `seed` (on this thread) and panics at the first event
    /// where the two timelines differ: the check that a user's code keeps wsim's determinism
    /// (no `HashMap` iteration order, no `Instant::now`, no threads, no unseeded randomness).
    ///
    /// # Panics
    /// When two runs differ, or the suite cannot run (see [`Suite::run`]).
    pub fn assert_deterministic(&self, seed: u64) {
        if let Some(difference) = self
            .first_nondeterminism(seed)
            .unwrap_or_else(|e| panic!("wsim: {e}"))
        {
            panic!("{difference}");
        }
    }

    /// Runs each scenario twice with `seed` and describes the first event where the two
    /// timelines differ, if any.
    ///
    /// # Errors
    /// When the suite cannot run (see [`Suite::run`]).
    pub fn first_nondeterminism(&self, seed: u64) -> Result<Option<String>, String> {
        crate::sim::guarantee::check_build().map_err(|e| e.to_string())?;
        for sweep_scenario in self.load(Some(&[seed]))? {
            let scenario = sweep_scenario.scenario;
            let path = sweep_scenario.path;
            let mut timelines = (0..2).map(|_| {
                let system = self.system(&scenario);
                crate::judge::Run::new(&scenario, seed)
                    .system(system)
                    .named(&path)
                    .judge()
                    .timeline
            });
            let (a, b) = (timelines.next(), timelines.next());
            if let Some(difference) =
                first_difference(&a.unwrap_or_default(), &b.unwrap_or_default())
            {
                return Ok(Some(format!(
                    "wsim: {path} seed {seed} is not deterministic: {difference}"
                )));
            }
        }
        Ok(None)
    }

    /// The suite's scenarios, parsed, each with `seeds` (or its own).
    fn load(&self, seeds: Option<&[u64]>) -> Result<Vec<SweepScenario>, String> {
        if self.paths.is_empty() && !self.standard && self.standard_names.is_empty() {
            return Err(
                "no scenarios: add some with Suite::scenarios(path) or Suite::standard()".into(),
            );
        }
        let mut errors = Vec::new();
        let mut scenarios = Vec::new();
        for wanted in &self.standard_names {
            if !crate::standard::SCENARIOS
                .iter()
                .any(|(name, _)| name.trim_end_matches(".toml") == wanted)
            {
                let known: Vec<&str> = crate::standard::SCENARIOS
                    .iter()
                    .map(|(name, _)| name.trim_end_matches(".toml"))
                    .collect();
                errors.push(format!(
                    "no standard scenario {wanted:?}; the standard ones are {}",
                    known.join(", ")
                ));
            }
        }
        let chosen = |name: &str| {
            self.standard
                || self
                    .standard_names
                    .iter()
                    .any(|w| w == name.trim_end_matches(".toml"))
        };
        if self.standard || !self.standard_names.is_empty() {
            for (name, text) in crate::standard::SCENARIOS.iter().filter(|(n, _)| chosen(n)) {
                let path = format!("standard/{name}");
                match crate::scenario::parse(&path, text) {
                    Ok(scenario) => scenarios.push(SweepScenario::new(
                        name.trim_end_matches(".toml").to_string(),
                        path,
                        scenario,
                        seeds,
                    )),
                    Err(e) => errors.push(e.to_string()),
                }
            }
        }
        if !self.paths.is_empty() {
            let files = plan::discover(&self.paths).map_err(|e| e.to_string())?;
            match plan::load_all(&files, seeds) {
                Ok(mut loaded) => scenarios.append(&mut loaded),
                Err(e) => errors.extend(e.iter().map(ToString::to_string)),
            }
        }
        if errors.is_empty() {
            Ok(scenarios)
        } else {
            Err(errors.join("\n"))
        }
    }

    /// The systems under test of a run of `scenario`: the user's where given, the scenario's
    /// `[system]` choice (wsim's own by default) elsewhere.
    fn system(&self, scenario: &ScenarioFile) -> System {
        let mut system = System::for_scenario(scenario);
        if let Some(make) = &self.server {
            system.server = make();
        }
        if let Some(make) = &self.client {
            system.client = make();
        }
        system
    }
}

/// What a suite run produced.
#[derive(Debug, Clone)]
pub struct SuiteOutcome {
    /// The scenarios run.
    pub scenarios: Vec<SweepScenario>,
    /// Every run, in scenario then seed order.
    pub records: Vec<RunRecord>,
}

impl SuiteOutcome {
    /// Whether every run passed.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.records.iter().all(|r| r.verdict.passed)
    }

    /// For a failed suite: each failing run's scenario file, seed, failing checks with their
    /// first violation, the command that replays it (the test that ran it) and its report.
    #[must_use]
    pub fn failure_report(&self) -> Option<String> {
        let failed: Vec<&RunRecord> = self.records.iter().filter(|r| !r.verdict.passed).collect();
        if failed.is_empty() {
            return None;
        }
        let mut out = format!(
            "wsim: {} of {} runs failed\n",
            failed.len(),
            self.records.len()
        );
        for r in failed {
            let scenario = &self.scenarios[r.job.scenario];
            out.push_str(&format!("  {} seed {}\n", scenario.path, r.job.seed));
            for c in r.verdict.checks.iter().filter(|c| !c.passed) {
                out.push_str(&format!("    {}: {}\n", c.name, c.detail));
            }
            out.push_str(&format!("    replay: {}\n", scenario.repro(r.job.seed)));
            if let Some(dir) = &r.report {
                out.push_str(&format!(
                    "    report: {}\n",
                    dir.join("timeline.html").display()
                ));
            }
        }
        Some(out)
    }
}

/// Where two timelines of the same run first differ, for a person.
#[must_use]
pub fn first_difference(a: &[Event], b: &[Event]) -> Option<String> {
    let line = |e: Option<&Event>| e.map_or_else(|| "(nothing)".into(), crate::render::json_line);
    (0..a.len().max(b.len()))
        .find(|&i| a.get(i) != b.get(i))
        .map(|i| {
            format!(
                "event {} differs:\n  first run:  {}\n  second run: {}",
                i + 1,
                line(a.get(i)),
                line(b.get(i))
            )
        })
}

/// The seeds to run: only `WSIM_SEED` when it is set, else the configured ones (or each
/// file's own when none are).
fn seeds_to_run(configured: Option<&[u64]>, env: Option<&str>) -> Result<Option<Vec<u64>>, String> {
    match env.map(str::trim).filter(|s| !s.is_empty()) {
        Some(seed) => seed
            .parse()
            .map(|s| Some(vec![s]))
            .map_err(|_| format!("WSIM_SEED={seed:?} is not a seed (a whole number)")),
        None => Ok(configured.map(<[u64]>::to_vec)),
    }
}

/// The running test's name (libtest names each test's thread after it), for replay lines.
fn test_name() -> String {
    std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .map_or_else(|| "<test name>".into(), str::to_string)
}

/// The command that runs test `test` of this test binary again with one seed (`{seed}`):
/// `cargo test` or `cargo nextest run`, in this binary's profile, for its test target.
fn replay_template(test: &str) -> String {
    let exe = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .unwrap_or_default();
    let stem = exe
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let target_name = strip_hash(&stem);
    let crate_name = std::env::var("CARGO_CRATE_NAME")
        .or_else(|_| std::env::var("CARGO_PKG_NAME"))
        .unwrap_or_default()
        .replace('-', "_");
    let target = if target_name.is_empty() {
        String::new()
    } else if target_name == crate_name {
        " --lib".to_string()
    } else {
        format!(" --test {target_name}")
    };
    let release = if exe.components().any(|c| c.as_os_str() == "release") {
        " --release"
    } else {
        ""
    };
    if std::env::var_os("NEXTEST").is_some() {
        format!("WSIM_SEED={{seed}} cargo nextest run{release}{target} -E 'test(={test})'")
    } else {
        format!("WSIM_SEED={{seed}} cargo test{release}{target} -- --exact {test}")
    }
}

/// A test binary's target name: its file stem without cargo's `-<16 hex digits>`.
fn strip_hash(stem: &str) -> &str {
    match stem.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            name
        }
        _ => stem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_difference_is_named_with_both_versions() {
        use crate::event::{EventKind, ServerEvent};
        let started = |listen: &str| Event {
            t: std::time::Duration::from_millis(5),
            host: "server".into(),
            kind: EventKind::Server(ServerEvent::ServerStarted {
                listen: listen.into(),
            }),
        };
        let a = vec![started("a"), started("b")];
        assert_eq!(first_difference(&a, &a), None);
        let b = vec![started("a"), started("c")];
        let d = first_difference(&a, &b).unwrap();
        assert!(d.starts_with("event 2 differs"), "{d}");
        assert!(
            d.contains(r#""listen":"b""#) && d.contains(r#""listen":"c""#),
            "{d}"
        );
        let d = first_difference(&a, &a[..1]).unwrap();
        assert!(d.contains("(nothing)"), "{d}");
    }

    #[test]
    fn wsim_seed_replays_one_seed_and_rejects_garbage() {
        assert_eq!(seeds_to_run(Some(&[1, 2]), None), Ok(Some(vec![1, 2])));
        assert_eq!(seeds_to_run(None, None), Ok(None));
        assert_eq!(seeds_to_run(Some(&[1, 2]), Some("7")), Ok(Some(vec![7])));
        assert_eq!(seeds_to_run(None, Some(" ")), Ok(None));
        assert!(seeds_to_run(None, Some("x"))
            .unwrap_err()
            .contains("WSIM_SEED"));
    }
}
