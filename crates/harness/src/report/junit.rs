//! JUnit XML for CI systems: one `<testsuite>` per scenario, one `<testcase>` per seed, the
//! failing checks and the reproduction command in each `<failure>`.

use std::fmt::Write as _;

use crate::report::escape;
use crate::sweep::plan::SweepScenario;
use crate::sweep::runner::RunRecord;

/// The JUnit XML document of a sweep's `records`.
#[must_use]
pub fn junit_xml(scenarios: &[SweepScenario], records: &[RunRecord]) -> String {
    let secs = |ms: u64| format!("{:.3}", ms as f64 / 1000.0);
    let failures = records.iter().filter(|r| !r.verdict.passed).count();
    let total_ms: u64 = records.iter().map(|r| r.verdict.wall_ms).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"wsim sweep\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{}\">",
        records.len(),
        secs(total_ms)
    );
    for (index, scenario) in scenarios.iter().enumerate() {
        let runs: Vec<&RunRecord> = records.iter().filter(|r| r.job.scenario == index).collect();
        if runs.is_empty() {
            continue;
        }
        let failed = runs.iter().filter(|r| !r.verdict.passed).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" skipped=\"0\" time=\"{}\">",
            escape(&scenario.label),
            runs.len(),
            secs(runs.iter().map(|r| r.verdict.wall_ms).sum())
        );
        for r in runs {
            let _ = write!(
                out,
                "    <testcase classname=\"wsim.{}\" name=\"seed {}\" file=\"{}\" time=\"{}\"",
                escape(&scenario.label),
                r.job.seed,
                escape(&scenario.path),
                secs(r.verdict.wall_ms)
            );
            if r.verdict.passed {
                out.push_str("/>\n");
                continue;
            }
            let failing: Vec<_> = r.verdict.checks.iter().filter(|c| !c.passed).collect();
            let names: Vec<&str> = failing.iter().map(|c| c.name).collect();
            let mut body = String::new();
            for c in &failing {
                let _ = writeln!(body, "{}: {}", c.name, c.detail);
            }
            let _ = write!(body, "repro: {}", r.verdict.repro);
            let _ = writeln!(
                out,
                ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>",
                escape(&names.join(",")),
                escape(&format!(
                    "{} failed; repro: {}",
                    names.join(", "),
                    r.verdict.repro
                )),
                escape(&body)
            );
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
