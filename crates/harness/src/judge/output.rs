//! [`RunOutput`]: where a judged run's events go as they are judged — a printed timeline, a
//! digest being built, a report being written — so that nothing has to keep them all.

use crate::event::Event;

/// Where a judged run's events go, one at a time as the checkers judge them (on the judging
/// thread when the run judges on a second core), then the violations the checkers found.
///
/// A run's events reach its output in the timeline's order; violations are only known once the
/// run is over, so they come after the last event, in time order, each stamped with the time
/// it is about. `()` is no output.
pub trait RunOutput: Send {
    /// One event of the run, just judged.
    fn event(&mut self, event: &Event);

    /// The checkers' violations (`violation` events on the `check` host), in time order, once
    /// every event has been seen.
    fn violations(&mut self, violations: &[Event]);
}

impl RunOutput for () {
    fn event(&mut self, _: &Event) {}

    fn violations(&mut self, _: &[Event]) {}
}

#[cfg(test)]
mod tests {
    use crate::event::EventKind;
    use crate::judge::{Keep, Run};
    use crate::scenario::model::Implementation;

    /// A failing run (the naive client through a partition) streamed into a digest equals the
    /// digest of its kept timeline, violations in their places; with `Keep::Report` the kept
    /// sketch is the timeline without its message traffic, and the report written from it has
    /// the summary the full timeline gives.
    #[test]
    fn a_streamed_run_gives_what_a_kept_timeline_gives() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut scenario = crate::scenario::load(&root.join("scenarios/02-partition-60s.toml"))
            .expect("the scenario loads");
        scenario.system.client = Implementation::Naive;
        let kept = Run::new(&scenario, 1).judge();
        assert!(!kept.verdict.passed, "the naive client fails here");
        let violations = kept
            .timeline
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Violation { .. }))
            .count();
        assert!(violations > 0);

        let (streamed, digest) = Run::new(&scenario, 1)
            .keep(Keep::Verdict)
            .on_second_core(true)
            .judge_into(crate::digest::Digest::default());
        assert!(streamed.timeline.is_empty());
        assert_eq!(
            digest.finish(&streamed.verdict),
            crate::digest::digest(&kept.timeline, &kept.verdict)
        );

        let dir = std::env::temp_dir().join(format!("wsim-streamed-{}", std::process::id()));
        let writer = crate::report::ReportWriter::create(&dir.join("s"), "r", 1, false)
            .expect("the report starts");
        let (sketched, writer) = Run::new(&scenario, 1).keep(Keep::Report).judge_into(writer);
        let mut marks = crate::report::html::marks::TrafficMarks::new(scenario.duration.0);
        let untrafficked: Vec<_> = kept
            .timeline
            .iter()
            .filter(|e| !marks.mark(e))
            .map(crate::render::json_line)
            .collect();
        let sketch: Vec<_> = sketched
            .timeline
            .iter()
            .map(crate::render::json_line)
            .collect();
        assert_eq!(sketch, untrafficked);
        let streamed_dir = writer.finish(&scenario, &sketched).expect("written");
        let kept_dir = crate::report::write_run_report(&dir.join("k"), "r", &scenario, &kept)
            .expect("written");
        let read = |d: &std::path::Path, f: &str| {
            let text = std::fs::read_to_string(d.join(f)).unwrap_or_default();
            let lines = text.lines().filter(|l| !l.contains("wall"));
            let mut lines: Vec<String> = lines.map(str::to_string).collect();
            lines.sort();
            lines
        };
        assert_eq!(
            read(&streamed_dir, "summary.md"),
            read(&kept_dir, "summary.md")
        );
        // The streams hold the same lines; the streamed one has the violations at the end.
        let events = read(&streamed_dir, "events.jsonl");
        assert_eq!(events, read(&kept_dir, "events.jsonl"));
        assert!(
            events.len() + 1 >= kept.timeline.len(),
            "{} lines",
            events.len()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
