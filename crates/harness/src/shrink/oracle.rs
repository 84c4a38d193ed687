//! The shrinker's question — "does this candidate scenario still fail the same check on these
//! seeds?" — answered by simulating it, with a budget of runs. The first seed is the one the
//! user gave; the others are witnesses on which the scenario also failed once its random
//! ranges were fixed, so the shrinker cannot overfit one seed's jitter.

use crate::scenario::edit::ScenarioDoc;
use crate::scenario::ScenarioFile;

/// Runs candidates and counts the runs.
#[derive(Debug)]
pub struct Oracle {
    /// Names candidate files in parse errors.
    file: String,
    /// The seed the user gave.
    pub seed: u64,
    /// Further seeds on which every candidate must fail too.
    pub witnesses: Vec<u64>,
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
            witnesses: Vec::new(),
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
        let seeds: Vec<u64> = std::iter::once(self.seed)
            .chain(self.witnesses.iter().copied())
            .collect();
        if seeds.len() == 1 {
            return self.fails_on(&scenario, self.seed);
        }
        // Seeds are independent simulations: run them side by side, one thread each.
        self.runs += seeds.len();
        let target = self.target.as_str();
        let scenario = &scenario;
        std::thread::scope(|scope| {
            let runs: Vec<_> = seeds
                .iter()
                .map(|&seed| {
                    std::thread::Builder::new()
                        .stack_size(32 << 20)
                        .spawn_scoped(scope, move || {
                            failing_checks(scenario, seed).contains(&target)
                        })
                        .expect("spawning a shrink worker")
                })
                .collect();
            let failed: Vec<bool> = runs
                .into_iter()
                .map(|r| r.join().unwrap_or(false))
                .collect();
            failed.into_iter().all(|f| f)
        })
    }

    /// Whether `scenario` fails the target check on `seed` (one simulation).
    pub fn fails_on(&mut self, scenario: &ScenarioFile, seed: u64) -> bool {
        self.runs += 1;
        failing_checks(scenario, seed)
            .iter()
            .any(|c| *c == self.target)
    }
}

/// The checks that fail when `scenario` runs with `seed`.
#[must_use]
pub fn failing_checks(scenario: &ScenarioFile, seed: u64) -> Vec<&'static str> {
    crate::judge::Run::new(scenario, seed)
        .named("")
        .judge()
        .verdict
        .failed_checks()
}
