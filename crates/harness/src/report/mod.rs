//! Reports written for people after runs: per run `reports/<scenario>/seed-<N>/` (text
//! timeline, JSON Lines, summary, SVG swimlane page) and per sweep `reports/sweep.md` with a
//! detection-time histogram, and JUnit XML for CI. Reports read what sweeps and runs
//! produced; nothing upstream reads reports.

pub mod html;
pub mod junit;
pub mod policy;
pub mod run;
pub mod sweep;

pub use policy::{ReportPolicy, RunReports};
pub use run::{write_run_report, ReportWriter};
pub use sweep::write_sweep_report;

/// Escapes text for XML and HTML content and attribute values; drops characters XML 1.0
/// forbids.
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
    #[test]
    fn escaping_covers_markup_and_control_characters() {
        assert_eq!(
            super::escape("a<b & \"c\" 'd'>"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
        assert_eq!(super::escape("x\u{1}y\nz"), "x\u{FFFD}y\nz");
    }
}
