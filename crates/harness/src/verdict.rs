//! The verdict that ends every run: which checks passed, how to reproduce the run, and how fast
//! it simulated. It is the last line of both output formats.

use serde::Serialize;

use crate::check::CheckOutcome;

/// The outcome of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Always `"verdict"` (so JSON Lines consumers can tell the last line apart).
    pub event: &'static str,
    /// The scenario's name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Whether every expected check passed.
    pub passed: bool,
    /// Each expected check's outcome.
    pub checks: Vec<CheckOutcome>,
    /// The one-line command that reproduces this run.
    pub repro: String,
    /// Simulated milliseconds.
    pub sim_ms: u64,
    /// Wall-clock milliseconds the run took (not deterministic).
    pub wall_ms: u64,
    /// The run was on a real network (`wsim drive`): `sim_ms` is real time, and the run
    /// does not replay byte for byte.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub real_time: bool,
}

impl Verdict {
    /// The verdict as a JSON object on one line.
    #[must_use]
    pub fn json_line(&self) -> String {
        serde_json::to_string(self).expect("verdicts always serialize")
    }

    /// Simulated time per wall time.
    #[must_use]
    pub fn speedup(&self) -> f64 {
        self.sim_ms as f64 / (self.wall_ms.max(1)) as f64
    }

    /// The names of the checks that failed, in report order.
    #[must_use]
    pub fn failed_checks(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name)
            .collect()
    }

    /// The `PASS name seed=N` heading and one line per check, for people.
    #[must_use]
    pub fn checks_text(&self) -> String {
        let mut out = format!(
            "\n{} {} seed={}\n",
            if self.passed { "PASS" } else { "FAIL" },
            self.scenario,
            self.seed
        );
        for c in &self.checks {
            out.push_str(&format!(
                "  {:<4} {:<24} {}\n",
                c.status(),
                c.name,
                c.detail
            ));
        }
        out
    }

    /// The verdict as text lines for people.
    #[must_use]
    pub fn text(&self) -> String {
        let mut out = self.checks_text();
        out.push_str(&format!("  repro: {}\n", self.repro));
        if self.real_time {
            out.push_str(&format!(
                "  ran {}.{:03}s of real time (a real network: the faults' times come from the seed, the rest does not replay)\n",
                self.sim_ms / 1000,
                self.sim_ms % 1000
            ));
            return out;
        }
        out.push_str(&format!(
            "  simulated {}.{:03}s in {}.{:03}s wall ({:.0}x real time)\n",
            self.sim_ms / 1000,
            self.sim_ms % 1000,
            self.wall_ms / 1000,
            self.wall_ms % 1000,
            self.speedup()
        ));
        out
    }
}

/// The one-line command that reproduces a run of the scenario file at `path` with `seed`.
#[must_use]
pub fn repro_command(path: &str, seed: u64) -> String {
    let quoted = if path.contains(|c: char| c.is_whitespace() || c == '\'') {
        format!("'{}'", path.replace('\'', r"'\''"))
    } else {
        path.to_string()
    };
    format!("wsim run {quoted} --seed {seed}")
}
