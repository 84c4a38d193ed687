//! What an exploration covered: how many faults of each kind, which kinds overlapped in time
//! (and how many faults were active at once), the range of every drawn setting, and each
//! checker's pass, fail and skip counts — what "N seeds passed" is a statement about.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::scenario::duration::format_duration;
use crate::scenario::ScenarioFile;
use crate::sweep::plan::SweepScenario;
use crate::sweep::runner::RunRecord;

/// The smallest and largest value a setting took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Smallest.
    pub min: u64,
    /// Largest.
    pub max: u64,
}

/// How one checker fared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckTally {
    /// Runs it passed.
    pub passed: usize,
    /// Runs it failed.
    pub failed: usize,
    /// Runs it could not judge.
    pub skipped: usize,
}

/// The explored space (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct Space {
    /// Worlds run.
    pub worlds: usize,
    /// Faults scheduled, by kind.
    pub faults: BTreeMap<&'static str, usize>,
    /// Worlds in which a fault of the first kind was active while one of the second was.
    pub overlaps: BTreeMap<(&'static str, &'static str), usize>,
    /// Worlds with at least two faults active at once.
    pub overlapping_worlds: usize,
    /// Most faults active at once in any world.
    pub max_at_once: usize,
    /// Worlds in which a fault starts in the very instant another starts or ends.
    pub coinciding_worlds: usize,
    /// Pairs of faults (any world) of which one starts in the instant the other starts or ends.
    pub coinciding_pairs: usize,
    /// Each drawn setting's range (milliseconds or counts).
    pub settings: BTreeMap<&'static str, Span>,
    /// Worlds whose proxy never idle-kills.
    pub no_idle_timeout: usize,
    /// Each checker's outcomes.
    pub checks: BTreeMap<&'static str, CheckTally>,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Space {
    /// The space `scenarios` covered, with the outcomes of `records`.
    #[must_use]
    pub fn of(scenarios: &[SweepScenario], records: &[RunRecord]) -> Space {
        let mut space = Space::default();
        for record in records {
            space.world(&scenarios[record.job.scenario].scenario);
            for c in &record.verdict.checks {
                let tally = space.checks.entry(c.name).or_default();
                match (c.skipped, c.passed) {
                    (true, _) => tally.skipped += 1,
                    (false, true) => tally.passed += 1,
                    (false, false) => tally.failed += 1,
                }
            }
        }
        space
    }

    fn setting(&mut self, name: &'static str, value: u64) {
        let span = self.settings.entry(name).or_insert(Span {
            min: value,
            max: value,
        });
        span.min = span.min.min(value);
        span.max = span.max.max(value);
    }

    fn world(&mut self, s: &ScenarioFile) {
        self.worlds += 1;
        self.setting("duration", ms(s.duration.0));
        self.setting("latency max", ms(s.network.latency.max));
        self.setting("tick", ms(s.tick.0));
        if let Some(p) = s.client.ping_interval.0 {
            self.setting("client ping interval", ms(p));
        }
        if let Some(p) = s.client.ping_timeout.0 {
            self.setting("client pong timeout", ms(p));
        }
        self.setting("grace", ms(s.server.grace.0));
        if let Some(p) = s.server.ping_interval.0 {
            self.setting("server heartbeat", ms(p));
        }
        match s.proxy.idle_timeout.0 {
            Some(t) => self.setting("proxy idle timeout", ms(t)),
            None => self.no_idle_timeout += 1,
        }
        self.setting("backoff initial", ms(s.client.backoff.initial.0));
        self.setting("backoff max", ms(s.client.backoff.max.0));
        let clients: u64 = s.clients.iter().map(|g| u64::from(g.count)).sum();
        self.setting("clients", clients);
        self.setting("client hosts", s.client_hosts().len() as u64);
        self.setting("faults", s.faults.len() as u64);
        let spans: Vec<(&'static str, Duration, Duration)> = s
            .faults
            .iter()
            .map(|f| {
                let start = f.at.min;
                let end = start + f.duration.map_or(Duration::ZERO, |d| d.min);
                (f.kind.as_str(), start, end)
            })
            .collect();
        for (kind, _, _) in &spans {
            *self.faults.entry(kind).or_default() += 1;
        }
        let mut pairs = std::collections::BTreeSet::new();
        let mut most = usize::from(!spans.is_empty());
        for (i, a) in spans.iter().enumerate() {
            let at_once = spans.iter().filter(|b| b.1 <= a.1 && a.1 <= b.2).count();
            most = most.max(at_once);
            for b in &spans[i + 1..] {
                if a.1 <= b.2 && b.1 <= a.2 {
                    pairs.insert(if a.0 <= b.0 { (a.0, b.0) } else { (b.0, a.0) });
                }
            }
        }
        if most > 1 {
            self.overlapping_worlds += 1;
        }
        let coinciding = spans
            .iter()
            .enumerate()
            .flat_map(|(i, a)| spans[i + 1..].iter().map(move |b| (a, b)))
            .filter(|(a, b)| a.1 == b.1 || (a.1 == b.2 && b.2 > b.1) || (b.1 == a.2 && a.2 > a.1))
            .count();
        if coinciding > 0 {
            self.coinciding_worlds += 1;
            self.coinciding_pairs += coinciding;
        }
        self.max_at_once = self.max_at_once.max(most);
        for pair in pairs {
            *self.overlaps.entry(pair).or_default() += 1;
        }
    }

    /// The report, for people.
    #[must_use]
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "explored: {} worlds", self.worlds);
        let kinds: Vec<String> = self
            .faults
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let _ = writeln!(out, "  faults by kind: {}", kinds.join(", "));
        let _ = writeln!(
            out,
            "  overlapping faults: {} worlds had two or more at once (at most {}); kinds that overlapped: {}",
            self.overlapping_worlds,
            self.max_at_once,
            self.overlaps.len()
        );
        let mut top: Vec<_> = self.overlaps.iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let top: Vec<String> = top
            .iter()
            .take(8)
            .map(|((a, b), n)| format!("{a}+{b} {n}"))
            .collect();
        if !top.is_empty() {
            let _ = writeln!(out, "    most often: {}", top.join(", "));
        }
        let _ = writeln!(
            out,
            "  coinciding faults: {} worlds had a fault start in the instant another started or ended ({} such pairs)",
            self.coinciding_worlds, self.coinciding_pairs
        );
        let counts = ["clients", "client hosts", "faults"];
        let settings: Vec<String> = self
            .settings
            .iter()
            .map(|(name, s)| {
                if counts.contains(name) {
                    format!("{name} {}..{}", s.min, s.max)
                } else {
                    let f = |v: u64| format_duration(Duration::from_millis(v));
                    format!("{name} {}..{}", f(s.min), f(s.max))
                }
            })
            .collect();
        let _ = writeln!(out, "  settings: {}", settings.join("; "));
        if self.no_idle_timeout > 0 {
            let _ = writeln!(
                out,
                "  proxy without idle timeout: {} worlds",
                self.no_idle_timeout
            );
        }
        let checks: Vec<String> = self
            .checks
            .iter()
            .map(|(name, t)| {
                let mut s = format!("{name} {}/{}", t.passed, t.passed + t.failed);
                if t.skipped > 0 {
                    let _ = write!(s, " ({} skipped)", t.skipped);
                }
                s
            })
            .collect();
        let _ = writeln!(out, "  checks passed: {}", checks.join(", "));
        out
    }
}
