//! The suite as a test binary of its own (`harness = false`): one test per scenario, so that a
//! failure is named by its scenario and `cargo test <filter>`, `--exact`, `--list` and
//! `cargo nextest run` (with `--partition`) work on scenarios.

use crate::sweep::plan::SweepScenario;
use crate::Suite;

impl Suite {
    /// Runs the suite as a test binary: each scenario is one test named by its path
    /// (`standard/15-flap-within-grace`, `scenarios/my-case`), filtered and listed the way
    /// `cargo test` and `cargo nextest` do. Use it as the `main` of a test target with
    /// `harness = false`:
    ///
    /// ```toml
    /// [[test]]
    /// name = "scenarios"
    /// harness = false
    /// ```
    ///
    /// ```no_run
    /// # struct MyServer;
    /// # impl wsim::ServerUnderTest for MyServer {
    /// #     fn run(&self, _: wsim::ServerHost) -> wsim::LocalBoxFuture<wsim::HostResult> {
    /// #         Box::pin(async { Ok(()) })
    /// #     }
    /// # }
    /// // tests/scenarios.rs
    /// fn main() {
    ///     wsim::Suite::new().standard().server(|| MyServer).test_main();
    /// }
    /// ```
    ///
    /// Seeds run in parallel within a test; tests run one at a time unless `--test-threads`
    /// says otherwise (under nextest, which runs tests in parallel processes, each test runs
    /// its seeds one at a time unless `WSIM_JOBS` is set). `WSIM_SEED=N` runs one seed; a
    /// failure's replay line names this test.
    pub fn test_main(self) -> ! {
        let mut args = libtest_mimic::Arguments::from_args();
        if args.test_threads.is_none() {
            args.test_threads = Some(1);
        }
        let nextest = std::env::var_os("NEXTEST").is_some();
        let suite = if nextest && self.jobs.is_none() && std::env::var_os("WSIM_JOBS").is_none() {
            self.jobs(1)
        } else {
            self
        };
        let trials = match suite.trials() {
            Ok(trials) => trials,
            Err(e) => vec![libtest_mimic::Trial::test("wsim::suite", move || {
                Err(format!("wsim: {e}").into())
            })],
        };
        libtest_mimic::run(&args, trials).exit()
    }

    /// One trial per scenario.
    fn trials(&self) -> Result<Vec<libtest_mimic::Trial>, String> {
        crate::sim::guarantee::check_build().map_err(|e| e.to_string())?;
        let env_seed = std::env::var("WSIM_SEED").ok();
        let seeds = super::seeds_to_run(self.seeds.as_deref(), env_seed.as_deref())?;
        let scenarios = self.load(seeds.as_deref())?;
        Ok(scenarios
            .into_iter()
            .map(|scenario| {
                let name = trial_name(&scenario);
                let suite = self.clone();
                libtest_mimic::Trial::test(name.clone(), move || {
                    let outcome = suite.run_loaded(vec![scenario], &name);
                    if let Some(report) = outcome.failure_report() {
                        return Err(report.into());
                    }
                    suite.assert_snapshots(&outcome.scenarios);
                    Ok(())
                })
            })
            .collect())
    }
}

/// A scenario's test name: its path without `.toml` (and without a leading `./`).
pub(super) fn trial_name(scenario: &SweepScenario) -> String {
    scenario
        .path
        .trim_end_matches(".toml")
        .trim_start_matches("./")
        .to_string()
}
