//! Judges a simulation: the scenario's checkers and the run's statistics read its events in
//! one pass, and the verdict is built — here and nowhere else.
//!
//! scenario → [`crate::sim`] (world, events) → here (checks, stats, verdict) → [`crate::report`].

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use crate::check::detection::Detection;
use crate::check::{self, CheckContext, CheckOutcome, Checker};
use crate::clock::Stopwatch;
use crate::event::Event;
use crate::report::html::marks::TrafficMarks;
use crate::scenario::{CheckName, ScenarioFile};
use crate::sim::{self, Simulated, System};
use crate::stats::RunStats;
use crate::timeline::Recorder;
use crate::verdict::Verdict;
use crate::view::RunView;

mod builder;
mod output;
mod pipeline;
pub use builder::Run;
pub use output::RunOutput;
pub(crate) use pipeline::run_pipelined;

/// Everything a judged run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The events kept (every one with [`Keep::Timeline`]; see [`Keep`]), with checker
    /// violations merged in time order.
    pub timeline: Vec<Event>,
    /// The verdict.
    pub verdict: Verdict,
    /// What the run measured.
    pub stats: RunStats,
    /// With [`Keep::Report`]: the message traffic left out of `timeline`, as the report draws
    /// it.
    pub(crate) marks: Option<TrafficMarks>,
}

/// What a judged run keeps of its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Every event, for output and reports (memory grows with the run).
    Timeline,
    /// Nothing: the checkers and statistics consume each event as it happens, and the
    /// outcome's timeline is empty (memory grows with what the checkers track, not with
    /// simulated time). Sweeps and suites judge this way and replay a run that needs a report.
    Verdict,
    /// What a report draws: every event but message traffic (sent, buffered, acknowledged,
    /// received, presence told, accepted), which is kept as per-client marks on the report's
    /// time scale. Memory follows the run's connections and faults, not its messages; a
    /// [`RunOutput`] given to [`Run::judge_into`] writes the whole stream as it goes.
    Report,
}

/// Simulates `scenario` with `seed` and `system` under test, judging each event as it
/// happens, and keeps what `keep` says.
#[must_use]
pub(crate) fn run_keeping<O: RunOutput + 'static>(
    scenario: &ScenarioFile,
    system: &System,
    seed: u64,
    repro: String,
    keep: Keep,
    output: O,
) -> (RunOutcome, O) {
    let wall = Stopwatch::start();
    let judging = Rc::new(RefCell::new(Judging::new(scenario, keep, output)));
    let recorder = {
        let judging = Rc::clone(&judging);
        Recorder::streaming(move |event| judging.borrow_mut().observe(event))
    };
    let simulated = sim::simulate_into(scenario, seed, system, &recorder);
    drop(recorder);
    let judging = Rc::try_unwrap(judging)
        .ok()
        .expect("the recorder is gone")
        .into_inner();
    conclude(scenario, seed, repro, judging, simulated, wall)
}

fn conclude<O: RunOutput>(
    scenario: &ScenarioFile,
    seed: u64,
    repro: String,
    mut judging: Judging<O>,
    simulated: Simulated,
    wall: Stopwatch,
) -> (RunOutcome, O) {
    let marks = judging.marks.take();
    let (mut checks, timeline, stats, output) = judging.finish();
    if let Some(error) = simulated.error {
        checks.insert(
            0,
            CheckOutcome {
                name: "simulation",
                passed: false,
                detail: error,
                skipped: false,
                vacuous: false,
            },
        );
    }
    let verdict = verdict(
        scenario,
        seed,
        repro,
        checks,
        simulated.elapsed,
        wall.elapsed(),
    );
    let outcome = RunOutcome {
        timeline,
        verdict,
        stats,
        marks,
    };
    (outcome, output)
}

/// The verdict of a run whose simulation panicked.
#[must_use]
pub fn panicked(scenario: &ScenarioFile, repro: &str, seed: u64, detail: &str) -> Verdict {
    let failed = CheckOutcome {
        name: "simulation",
        passed: false,
        detail: format!("panicked: {detail}"),
        skipped: false,
        vacuous: false,
    };
    verdict(
        scenario,
        seed,
        repro.to_string(),
        vec![failed],
        Duration::ZERO,
        Duration::ZERO,
    )
}

/// Judges the events of a real-network run of `scenario` (`wsim drive`) with `ctx` (the
/// scenario's settings with real-network tolerances); `notes` go first among the checks
/// (what the run could not do, said in the verdict).
#[must_use]
pub(crate) fn judge_real(
    scenario: &ScenarioFile,
    ctx: CheckContext,
    seed: u64,
    repro: String,
    events: Vec<Event>,
    notes: Vec<CheckOutcome>,
    wall: Stopwatch,
) -> RunOutcome {
    let elapsed = events.last().map_or(Duration::ZERO, |e| e.t);
    let mut judging = Judging::with_context(scenario, &ctx, Keep::Timeline, ());
    for event in events {
        judging.observe(event);
    }
    let (checks, timeline, stats, ()) = judging.finish();
    let checks = notes.into_iter().chain(checks).collect();
    let elapsed = elapsed.max(scenario.duration.0.min(wall.elapsed()));
    let mut verdict = verdict(scenario, seed, repro, checks, elapsed, wall.elapsed());
    verdict.real_time = true;
    RunOutcome {
        timeline,
        verdict,
        stats,
        marks: None,
    }
}

/// Runs `scenario`'s expected checkers over `events`; returns their outcomes and the timeline
/// with the violations merged in.
#[must_use]
pub fn check(scenario: &ScenarioFile, events: Vec<Event>) -> (Vec<CheckOutcome>, Vec<Event>) {
    let judging = Judging::over(scenario, events);
    let (outcomes, timeline, _, ()) = judging.finish();
    (outcomes, timeline)
}

/// A run being judged: the expected checkers, the statistics, and — when detection is not
/// among the expected checks — a detection checker that only measures, all fed one event at
/// a time as the simulation records it; each judged event then goes to the run's output.
struct Judging<O: RunOutput> {
    checkers: Vec<Box<dyn Checker>>,
    measuring: Option<Detection>,
    stats: RunStats,
    seen: BTreeSet<&'static str>,
    /// The kind of the previous event (runs of one kind skip the set).
    last_kind: &'static str,
    /// What several checkers need, kept once per event.
    view: RunView,
    kept: Option<Vec<Event>>,
    /// When the checkers are next asked to forget, and how often.
    next_forget: Duration,
    forget_every: Duration,
    retention: Duration,
    /// With [`Keep::Report`]: the traffic left out of `kept`.
    marks: Option<TrafficMarks>,
    output: O,
}

impl Judging<()> {
    /// A judging that has seen every one of `events` and keeps them.
    fn over(scenario: &ScenarioFile, events: Vec<Event>) -> Judging<()> {
        let mut judging = Judging::new(scenario, Keep::Timeline, ());
        for event in events {
            judging.observe(event);
        }
        judging
    }
}

impl<O: RunOutput> Judging<O> {
    fn new(scenario: &ScenarioFile, keep: Keep, output: O) -> Judging<O> {
        let ctx = CheckContext::from_scenario(scenario);
        Judging::with_context(scenario, &ctx, keep, output)
    }

    fn with_context(
        scenario: &ScenarioFile,
        ctx: &CheckContext,
        keep: Keep,
        output: O,
    ) -> Judging<O> {
        let ctx = ctx.clone();
        Judging {
            checkers: scenario
                .expect
                .checks
                .iter()
                .map(|name| check::build(*name, &ctx))
                .collect(),
            measuring: (!scenario.expect.checks.contains(&CheckName::Detection))
                .then(|| Detection::new(ctx.clone())),
            stats: RunStats::default(),
            seen: BTreeSet::new(),
            last_kind: "",
            view: RunView::new(&ctx),
            kept: (keep != Keep::Verdict).then(Vec::new),
            marks: (keep == Keep::Report).then(|| TrafficMarks::new(scenario.duration.0)),
            forget_every: (ctx.retention() / 8).max(Duration::from_secs(1)),
            next_forget: ctx.retention(),
            retention: ctx.retention(),
            output,
        }
    }

    fn observe(&mut self, event: Event) {
        self.judge(&event);
        self.keep(event);
    }

    /// Whether this judging keeps the events it judges.
    fn keeps(&self) -> bool {
        self.kept.is_some()
    }

    /// Keeps `event` (just judged) if the timeline is kept, or marks it if it is traffic
    /// and the report's sketch is kept.
    fn keep(&mut self, event: Event) {
        if let Some(kept) = &mut self.kept {
            let marked = self.marks.as_mut().is_some_and(|m| m.mark(&event));
            if !marked {
                kept.push(event);
            }
        }
    }

    /// Feeds `event` to the checkers and statistics.
    fn judge(&mut self, event: &Event) {
        let kind = event.kind.name();
        if !std::ptr::eq(kind, self.last_kind) {
            self.seen.insert(kind);
            self.last_kind = kind;
        }
        let (checkers, measuring) = (&mut self.checkers, &mut self.measuring);
        self.view.feed(event, |view| {
            for c in checkers.iter_mut() {
                c.observe(event, view);
            }
            if let Some(d) = measuring {
                d.observe(event, view);
            }
        });
        self.stats.observe(event);
        self.output.event(event);
        if event.t >= self.next_forget {
            // Deterministic: at the first event past each mark of simulated time.
            self.next_forget = event.t + self.forget_every;
            for c in &mut self.checkers {
                c.forget(event.t, &self.view);
            }
            if let Some(d) = &mut self.measuring {
                d.forget(event.t, &self.view);
            }
            self.view.forget(event.t, self.retention);
        }
    }

    /// The outcomes (a checker whose inputs never appeared says it could not judge instead of
    /// passing), the timeline with the violations merged in (empty unless kept), the figures.
    fn finish(self) -> (Vec<CheckOutcome>, Vec<Event>, RunStats, O) {
        let Judging {
            checkers,
            measuring,
            mut stats,
            seen,
            kept,
            view,
            mut output,
            ..
        } = self;
        for c in &checkers {
            c.measure(&mut stats);
        }
        if let Some(d) = &measuring {
            d.measure(&mut stats);
        }
        let mut order = Vec::new();
        let mut judging = Vec::new();
        let mut skipped = Vec::new();
        for c in checkers {
            match c.requires() {
                Some(need) if !need.any_of.iter().any(|n| seen.contains(n)) => {
                    order.push(false);
                    skipped.push(CheckOutcome {
                        name: c.name(),
                        passed: true,
                        detail: format!(
                            "skipped: it reads {}, and this run recorded none",
                            need.reported_by
                        ),
                        skipped: true,
                        vacuous: false,
                    });
                }
                _ => {
                    order.push(true);
                    judging.push(c);
                }
            }
        }
        let (judged, violations) = check::finish(judging, &view);
        output.violations(&violations);
        let timeline = match kept {
            Some(events) => check::merge(events, violations),
            None => Vec::new(),
        };
        let (mut judged, mut skipped) = (judged.into_iter(), skipped.into_iter());
        let outcomes = order
            .into_iter()
            .filter_map(|j| if j { judged.next() } else { skipped.next() })
            .collect();
        (outcomes, timeline, stats, output)
    }
}

fn verdict(
    scenario: &ScenarioFile,
    seed: u64,
    repro: String,
    checks: Vec<CheckOutcome>,
    sim: Duration,
    wall: Duration,
) -> Verdict {
    Verdict {
        event: "verdict",
        scenario: scenario.name.clone(),
        seed,
        passed: checks.iter().all(|c| c.passed),
        checks,
        repro,
        sim_ms: u64::try_from(sim.as_millis()).unwrap_or(u64::MAX),
        wall_ms: u64::try_from(wall.as_millis()).unwrap_or(u64::MAX),
        real_time: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::contained::{tests::Panicking, Contained};

    /// A checker that panics mid-run, with the standard checkers, over a simulated scenario:
    /// its check fails as crashed, the others judge, the timeline is whole, the report is
    /// written.
    #[test]
    fn a_checker_that_panics_fails_its_check_and_the_run_its_timeline_and_report_go_on() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let scenario =
            crate::scenario::load(&root.join("scenarios/06-partition-inside-grace.toml"))
                .expect("the scenario loads");
        let sim = Run::new(&scenario, 1).simulate();
        let events = sim.events.len();
        let mut judging = Judging::new(&scenario, Keep::Timeline, ());
        judging
            .checkers
            .push(Box::new(Contained::new(Box::new(Panicking::new(100)))));
        for event in sim.events {
            judging.observe(event);
        }
        let (checks, timeline, stats, ()) = judging.finish();
        let crashed = checks.last().expect("the panicking checker's outcome");
        assert!(!crashed.passed);
        assert!(crashed
            .detail
            .starts_with("panicking crashed: checker bug on event 100"));
        assert!(
            checks[..checks.len() - 1].iter().all(|c| c.passed),
            "{checks:?}"
        );
        assert_eq!(timeline.len(), events + 1, "every event and the crash");
        let verdict = verdict(
            &scenario,
            1,
            "repro".into(),
            checks,
            sim.elapsed,
            Duration::ZERO,
        );
        assert!(!verdict.passed);
        let outcome = RunOutcome {
            timeline,
            verdict,
            stats,
            marks: None,
        };
        let dir = std::env::temp_dir().join(format!("wsim-crash-report-{}", std::process::id()));
        let written = crate::report::write_run_report(&dir, "crash", &scenario, &outcome)
            .expect("the report is written");
        for file in [
            "timeline.html",
            "summary.md",
            "events.jsonl",
            "timeline.txt",
        ] {
            assert!(written.join(file).is_file(), "{file}");
        }
        let summary = std::fs::read_to_string(written.join("summary.md")).unwrap_or_default();
        assert!(summary.contains("panicking crashed"), "{summary}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
