//! The shrinker's question — "does this candidate scenario still fail the same check on this
//! seed?" — answered by simulating it, with a budget of runs.

use crate::scenario::edit::ScenarioDoc;
use crate::scenario::ScenarioFile;

/// Runs candidates and counts the runs.
#[derive(Debug)]
pub struct Oracle {
    /// Names candidate files in parse errors.
    file: String,
    /// The seed every candidate runs with.
    pub seed: u64,
    /// The check that must keep failing.
    pub target: String,
    /// Simulations run so far.
    pub runs: usize,
    /// Most simulations allowed.
    pub max_runs: usize,
}

impl Oracle {
    /// An oracle for `target` failing on `seed`.
    #[must_use]
    pub fn new(file: &str, seed: u64, target: &str, max_runs: usize) -> Self {
        Oracle {
            file: file.into(),
            seed,
            target: target.into(),
            runs: 0,
            max_runs,
        }
    }

    /// Whether the run budget is spent.
    #[must_use]
    pub fn exhausted(&self) -> bool {
        self.runs >= self.max_runs
    }

    /// Whether `doc` is a valid scenario whose run on the seed fails the target check. An
    /// invalid candidate (a fault naming a removed client, say) simply does not reproduce.
    pub fn fails(&mut self, doc: &ScenarioDoc) -> bool {
        if self.exhausted() {
            return false;
        }
        let Ok(scenario) = crate::scenario::parse(&self.file, &doc.to_string()) else {
            return false;
        };
        self.runs += 1;
        failing_checks(&scenario, self.seed)
            .iter()
            .any(|c| *c == self.target)
    }
}

/// The checks that fail when `scenario` runs with `seed`.
#[must_use]
pub fn failing_checks(scenario: &ScenarioFile, seed: u64) -> Vec<&'static str> {
    crate::sim::run(scenario, "", seed)
        .verdict
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name)
        .collect()
}
