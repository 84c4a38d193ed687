//! The report of a sweep: `reports/sweep.md` (results table, failures with their reproduction
//! commands and reports, throughput) and `reports/sweep-detection.svg`, a histogram of
//! detection times per scenario on one shared time axis.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::report::escape;
use crate::sweep::plan::SweepScenario;
use crate::sweep::runner::RunRecord;
use crate::sweep::summary::{self, ScenarioSummary, Throughput};

/// File name of the histogram, beside `sweep.md`.
pub const HISTOGRAM_FILE: &str = "sweep-detection.svg";

/// Writes `sweep.md` and the histogram under `root`; returns the path of `sweep.md`.
pub fn write_sweep_report(
    root: &Path,
    scenarios: &[SweepScenario],
    records: &[RunRecord],
    summaries: &[ScenarioSummary],
    throughput: &Throughput,
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(root)?;
    std::fs::write(root.join(HISTOGRAM_FILE), detection_histogram(summaries))?;
    let path = root.join("sweep.md");
    std::fs::write(
        &path,
        sweep_md(root, scenarios, records, summaries, throughput),
    )?;
    Ok(path)
}

fn sweep_md(
    root: &Path,
    scenarios: &[SweepScenario],
    records: &[RunRecord],
    summaries: &[ScenarioSummary],
    throughput: &Throughput,
) -> String {
    let failed = records.iter().filter(|r| !r.verdict.passed).count();
    let mut md = format!(
        "# wsim sweep — {}\n\n{} runs, {} passed, {failed} failed.\n\n{}\n\n",
        if failed == 0 { "PASS" } else { "FAIL" },
        records.len(),
        records.len() - failed,
        throughput.line()
    );
    let (head, rows) = summary::table_rows(summaries);
    let _ = writeln!(md, "| {} |", head.join(" | "));
    let _ = writeln!(
        md,
        "|{}",
        head.iter()
            .enumerate()
            .map(|(i, _)| if i == 0 { "---|" } else { "---:|" })
            .collect::<String>()
    );
    for row in rows {
        let _ = writeln!(md, "| {} |", row.join(" | "));
    }
    md.push_str(
        "\nDetection: time from a link break to the client's `disconnected` (nearest-rank \
         percentiles over every break of every seed). Grace: sessions that went `away`, came \
         `back` within the grace period, or `left`. sim:wall: simulated time per wall time of one \
         core; seeds/h/core: runs one core makes per hour.\n",
    );
    let _ = writeln!(
        md,
        "\n## Detection times\n\n![detection time histogram]({HISTOGRAM_FILE})"
    );
    if failed > 0 {
        md.push_str("\n## Failures\n\n");
        for r in records.iter().filter(|r| !r.verdict.passed) {
            let label = &scenarios[r.job.scenario].label;
            let _ = writeln!(md, "### {label} seed {}\n", r.job.seed);
            for c in r.verdict.checks.iter().filter(|c| !c.passed) {
                let _ = writeln!(md, "- **{}**: {}", c.name, c.detail);
            }
            let _ = writeln!(md, "- reproduce: `{}`", r.verdict.repro);
            if let Some(dir) = &r.report {
                let rel = dir.strip_prefix(root).unwrap_or(dir);
                let _ = writeln!(
                    md,
                    "- report: [timeline]({0}/timeline.html), [summary]({0}/summary.md)",
                    rel.display()
                );
            }
            md.push('\n');
        }
    }
    let written: Vec<&RunRecord> = records
        .iter()
        .filter(|r| r.verdict.passed && r.report.is_some())
        .collect();
    if !written.is_empty() {
        md.push_str("\n## Passing runs with reports\n\n");
        for r in written {
            if let Some(dir) = &r.report {
                let rel = dir.strip_prefix(root).unwrap_or(dir);
                let _ = writeln!(
                    md,
                    "- {} seed {}: [timeline]({2}/timeline.html), [summary]({2}/summary.md)",
                    scenarios[r.job.scenario].label,
                    r.job.seed,
                    rel.display()
                );
            }
        }
    }
    md
}

/// Layout of the histogram.
const LABEL_W: f64 = 260.0;
const PLOT_W: f64 = 640.0;
const ROW_H: f64 = 44.0;
const BINS: usize = 40;

/// An SVG histogram of detection times: one row per scenario, all on one time axis, with the
/// p50 and p99 marked.
#[must_use]
pub fn detection_histogram(summaries: &[ScenarioSummary]) -> String {
    let max_ms = summaries
        .iter()
        .filter_map(ScenarioSummary::slowest_detection)
        .max()
        .unwrap_or(0);
    // A round axis end: the next multiple of 10 s above the slowest detection.
    let axis_ms = (max_ms / 10_000 + 1) * 10_000;
    let bin_ms = axis_ms.div_ceil(BINS as u64).max(1);
    let width = LABEL_W + PLOT_W + 140.0;
    let height = 50.0 + ROW_H * summaries.len() as f64 + 40.0;
    let x = |ms: u64| LABEL_W + PLOT_W * ms as f64 / axis_ms as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">Detection time per \
         scenario (link break → client disconnected)</text>\n\
         <text x=\"{}\" y=\"40\" fill=\"#555\">bars: breaks per {}; blue line p50, red line p99</text>\n",
        LABEL_W,
        crate::render::secs(Some(bin_ms))
    );
    let axis_y = 50.0 + ROW_H * summaries.len() as f64 + 4.0;
    let step = if axis_ms > 60_000 { 10_000 } else { 5_000 };
    let mut tick = 0;
    while tick <= axis_ms {
        let _ = writeln!(
            svg,
            "<line x1=\"{0:.1}\" y1=\"50\" x2=\"{0:.1}\" y2=\"{axis_y}\" stroke=\"#eee\"/>\
             <text x=\"{0:.1}\" y=\"{1}\" text-anchor=\"middle\">{2}s</text>",
            x(tick),
            axis_y + 16.0,
            tick / 1000
        );
        tick += step;
    }
    for (row, s) in summaries.iter().enumerate() {
        let top = 50.0 + ROW_H * row as f64;
        let base = top + ROW_H - 8.0;
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n\
             <line x1=\"{LABEL_W}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#999\"/>",
            LABEL_W - 10.0,
            base - 4.0,
            escape(&s.label),
            LABEL_W + PLOT_W
        );
        if s.totals.detection_ms.is_empty() {
            let _ = writeln!(
                svg,
                "<text x=\"{}\" y=\"{}\" fill=\"#888\">no link break to detect</text>",
                LABEL_W + 8.0,
                base - 4.0
            );
            continue;
        }
        let mut bins = [0usize; BINS];
        for &ms in &s.totals.detection_ms {
            bins[usize::try_from(ms / bin_ms)
                .unwrap_or(BINS - 1)
                .min(BINS - 1)] += 1;
        }
        let tallest = bins.iter().copied().max().unwrap_or(1).max(1);
        for (i, &n) in bins.iter().enumerate().filter(|(_, n)| **n > 0) {
            let h = (ROW_H - 12.0) * n as f64 / tallest as f64;
            let from = i as u64 * bin_ms;
            let _ = writeln!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#7a9cc6\">\
                 <title>{} breaks detected in {}–{}</title></rect>",
                x(from) + 0.5,
                base - h,
                (PLOT_W / BINS as f64 - 1.0).max(1.0),
                n,
                crate::render::secs(Some(from)),
                crate::render::secs(Some(from + bin_ms))
            );
        }
        for (p, colour) in [(50, "#1f4e9c"), (99, "#c0392b")] {
            if let Some(ms) = s.detection(p) {
                let _ = writeln!(
                    svg,
                    "<line x1=\"{0:.1}\" y1=\"{1}\" x2=\"{0:.1}\" y2=\"{base}\" stroke=\"{colour}\" \
                     stroke-width=\"2\"><title>p{p} {2}</title></line>",
                    x(ms),
                    top + 2.0,
                    crate::render::secs(Some(ms))
                );
            }
        }
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" fill=\"#555\">n={} max {}</text>",
            LABEL_W + PLOT_W + 8.0,
            base - 4.0,
            s.totals.detection_ms.len(),
            crate::render::secs(s.slowest_detection())
        );
    }
    svg.push_str("</svg>\n");
    svg
}
