//! A scenario's run kept as an insta snapshot in the *user's* crate: its digest at one seed,
//! so a change in their system's behaviour shows up in `cargo insta review`.

use std::path::PathBuf;

use crate::judge::Run;
use crate::sweep::plan::SweepScenario;
use crate::Suite;

impl Suite {
    /// Asserts each scenario's digest at the snapshot seed against its snapshot, when the
    /// suite keeps snapshots ([`Suite::snapshots`]).
    pub(crate) fn assert_snapshots(&self, scenarios: &[SweepScenario]) {
        let Some(seed) = self.snapshot_seed else {
            return;
        };
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(snapshot_dir());
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.bind(|| {
            for scenario in scenarios {
                let system = self.system(&scenario.scenario);
                let outcome = Run::new(&scenario.scenario, seed)
                    .system(system)
                    .repro(scenario.repro(seed))
                    .judge();
                let digest = crate::digest::digest(&outcome.timeline, &outcome.verdict);
                let name = format!("wsim__{}.seed-{seed}", snapshot_label(scenario));
                insta::assert_snapshot!(name, digest);
            }
        });
    }
}

/// Where snapshots go: `tests/snapshots` of the crate whose tests run (cargo runs a test
/// binary with `CARGO_MANIFEST_DIR` set, and in the package's directory).
fn snapshot_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
        .join("tests")
        .join("snapshots")
}

/// A scenario's test name as a file name: `/` as `__`.
fn snapshot_label(scenario: &SweepScenario) -> String {
    super::harness::trial_name(scenario).replace(['/', '\\'], "__")
}
