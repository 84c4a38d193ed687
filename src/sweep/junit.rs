//! JUnit XML for CI systems: one `<testsuite>` per scenario, one `<testcase>` per seed, the
//! failing checks and the reproduction command in each `<failure>`.

use std::fmt::Write as _;

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

/// Escapes text for XML content and attribute values; drops characters XML 1.0 forbids.
#[must_use]
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_control_characters() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
        assert_eq!(escape("x\u{1}y\nz"), "x\u{FFFD}y\nz");
    }
}
