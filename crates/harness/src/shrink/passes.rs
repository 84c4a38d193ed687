//! The shrinking passes. Each proposes smaller candidates of the current scenario — fixed
//! values for random ranges, fewer faults, shorter faults, fewer clients, no chatter, an
//! earlier schedule, a shorter run, settings back at their defaults — and keeps a candidate
//! only when the oracle says the same check still fails. Searches over a number (a count, a
//! duration) bisect it.

use std::time::Duration;

use crate::scenario::duration::format_duration;
use crate::scenario::edit::ScenarioDoc;
use crate::scenario::ScenarioFile;
use crate::schedule::plan::plan_faults;
use crate::shrink::oracle::Oracle;

/// The state a pass works on.
pub struct Work<'a> {
    /// The smallest failing scenario so far.
    pub doc: ScenarioDoc,
    /// Answers "does it still fail?".
    pub oracle: &'a mut Oracle,
    /// Every step kept, for people.
    pub steps: Vec<String>,
    /// Told about each kept step.
    pub log: &'a mut dyn FnMut(&str),
}

impl Work<'_> {
    /// The current scenario, parsed (it always parses: only valid candidates are kept).
    fn scenario(&self) -> ScenarioFile {
        crate::scenario::parse("shrink", &self.doc.to_string())
            .expect("only scenarios that load are kept")
    }

    /// Tries `candidate`; keeps it if it still fails. Returns whether it was kept.
    fn attempt(&mut self, candidate: ScenarioDoc, step: String) -> bool {
        if !self.oracle.fails(&candidate) {
            return false;
        }
        self.doc = candidate;
        (self.log)(&format!("[run {:>3}] {step}", self.oracle.runs));
        self.steps.push(step);
        true
    }

    /// A copy of the current scenario with `edit` applied, or `None` if the edit fails.
    fn edited(&self, edit: impl FnOnce(&mut ScenarioDoc) -> Option<()>) -> Option<ScenarioDoc> {
        let mut doc = self.doc.clone();
        edit(&mut doc).map(|()| doc)
    }

    /// Smallest value in `lo..=hi` (with `hi` known to fail) for which `make(value)` still
    /// fails, by bisection; keeps it. `describe` names the step.
    fn bisect_down(
        &mut self,
        lo: u64,
        hi: u64,
        make: &dyn Fn(&ScenarioDoc, u64) -> Option<ScenarioDoc>,
        describe: &dyn Fn(u64) -> String,
    ) -> bool {
        let (mut lo, mut hi) = (lo, hi);
        let start = hi;
        while lo < hi && !self.oracle.exhausted() {
            let mid = lo + (hi - lo) / 2;
            match make(&self.doc, mid) {
                Some(candidate) if self.oracle.fails(&candidate) => hi = mid,
                _ => lo = mid + 1,
            }
        }
        if hi < start {
            if let Some(candidate) = make(&self.doc, hi) {
                // Re-applied to the kept document: already known to fail.
                self.doc = candidate;
                let step = describe(hi);
                (self.log)(&format!("[run {:>3}] {step}", self.oracle.runs));
                self.steps.push(step);
                return true;
            }
        }
        false
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn dur(ms: u64) -> String {
    format_duration(Duration::from_millis(ms))
}

/// Replaces every random range with the value this seed drew (faults), or a fixed value
/// (latency, client start times) when the failure survives it.
pub fn fix_ranges(w: &mut Work<'_>) -> bool {
    let scenario = w.scenario();
    let plan = plan_faults(&scenario, w.oracle.seed);
    let mut changed = false;
    let fixed = w.edited(|doc| {
        for (i, (spec, planned)) in scenario.faults.iter().zip(&plan).enumerate() {
            if !spec.at.is_fixed() {
                doc.set_text(&format!("faults[{i}].at"), &dur(ms(planned.start)))
                    .ok()?;
            }
            if spec.duration.is_some_and(|d| !d.is_fixed()) {
                doc.set_text(
                    &format!("faults[{i}].duration"),
                    &dur(ms(planned.end - planned.start)),
                )
                .ok()?;
            }
        }
        Some(())
    });
    let random = scenario
        .faults
        .iter()
        .any(|f| !f.at.is_fixed() || f.duration.is_some_and(|d| !d.is_fixed()));
    if let Some(candidate) = fixed.filter(|_| random) {
        changed |= w.attempt(
            candidate,
            "fixed every fault's time and length to the values this seed drew".into(),
        );
    }
    let latency = scenario.network.latency;
    if !latency.is_fixed() {
        for value in [latency.max, latency.min] {
            let step = format!("fixed network latency to {}", format_duration(value));
            if let Some(c) = w.edited(|d| {
                d.set_text("network.latency", &format_duration(value))
                    .ok()
                    .map(drop)
            }) {
                if w.attempt(c, step) {
                    changed = true;
                    break;
                }
            }
        }
    }
    for (g, group) in scenario.clients.iter().enumerate() {
        if !group.start.is_fixed() {
            let value = format_duration(group.start.min);
            let step = format!("clients[{g}] all start at {value}");
            if let Some(c) = w.edited(|d| {
                d.set_text(&format!("clients[{g}].start"), &value)
                    .ok()
                    .map(drop)
            }) {
                changed |= w.attempt(c, step);
            }
        }
    }
    changed
}

/// Drops whole faults, last first.
pub fn drop_faults(w: &mut Work<'_>) -> bool {
    let scenario = w.scenario();
    let mut changed = false;
    for i in (0..scenario.faults.len()).rev() {
        let kind = scenario.faults[i].kind.as_str();
        if let Some(c) = w.edited(|d| d.remove_element("faults", i).ok()) {
            changed |= w.attempt(c, format!("dropped fault {i} ({kind})"));
        }
    }
    changed
}

/// Drops whole client groups, then bisects each group's count down.
pub fn fewer_clients(w: &mut Work<'_>) -> bool {
    let mut changed = false;
    let groups = w.scenario().clients.len();
    for g in (0..groups).rev() {
        if w.scenario().clients.len() > 1 {
            if let Some(c) = w.edited(|d| d.remove_element("clients", g).ok()) {
                changed |= w.attempt(c, format!("dropped client group {g}"));
            }
        }
    }
    for g in 0..w.scenario().clients.len() {
        let count = u64::from(w.scenario().clients[g].count);
        if count > 1 {
            let make = |doc: &ScenarioDoc, n: u64| {
                let mut doc = doc.clone();
                doc.set_text(&format!("clients[{g}].count"), &n.to_string())
                    .ok()?;
                Some(doc)
            };
            changed |= w.bisect_down(1, count, &make, &|n| {
                format!("clients[{g}]: {count} clients → {n}")
            });
        }
    }
    changed
}

/// Stops the chat traffic of each group that sends.
pub fn no_chatter(w: &mut Work<'_>) -> bool {
    let scenario = w.scenario();
    let mut changed = false;
    for (g, group) in scenario.clients.iter().enumerate() {
        if group.send_every.0.is_some() {
            if let Some(c) = w.edited(|d| {
                d.set_text(&format!("clients[{g}].send_every"), "none")
                    .ok()
                    .map(drop)
            }) {
                changed |= w.attempt(c, format!("clients[{g}] send no messages"));
            }
        }
    }
    changed
}

/// Bisection step for a duration of `ms`: whole seconds, or 100 ms below 10 s.
fn unit(ms: u64) -> u64 {
    if ms >= 10_000 {
        1000
    } else {
        100
    }
}

/// Bisects each fault's length down.
pub fn shorten_faults(w: &mut Work<'_>) -> bool {
    let mut changed = false;
    for i in 0..w.scenario().faults.len() {
        let Some(length) = w.scenario().faults[i].duration else {
            continue;
        };
        if !length.is_fixed() {
            continue;
        }
        let full = ms(length.min);
        let step = unit(full);
        if full <= step {
            continue;
        }
        let make = move |doc: &ScenarioDoc, n: u64| {
            let mut doc = doc.clone();
            doc.set_text(&format!("faults[{i}].duration"), &dur(n * step))
                .ok()?;
            Some(doc)
        };
        changed |= w.bisect_down(1, full / step, &make, &|n| {
            format!("fault {i}: length {} → {}", dur(full), dur(n * step))
        });
    }
    changed
}

/// Moves the whole fault schedule earlier (and the run's end with it).
pub fn earlier(w: &mut Work<'_>) -> bool {
    let scenario = w.scenario();
    if scenario.faults.is_empty() || scenario.faults.iter().any(|f| !f.at.is_fixed()) {
        return false;
    }
    let starts: Vec<u64> = scenario.faults.iter().map(|f| ms(f.at.min)).collect();
    let first = starts.iter().copied().min().unwrap_or(0);
    let end = ms(scenario.duration.0);
    let step = 1000;
    if first < step {
        return false;
    }
    // Shift earlier by `(max - n) * step`: bisecting n down moves the schedule as early as
    // the failure allows.
    let max = first / step;
    let make = move |doc: &ScenarioDoc, n: u64| {
        let shift = (max - n) * step;
        let mut doc = doc.clone();
        for (i, s) in starts.iter().enumerate() {
            doc.set_text(&format!("faults[{i}].at"), &dur(s - shift))
                .ok()?;
        }
        doc.set_text("duration", &dur(end - shift)).ok()?;
        Some(doc)
    };
    w.bisect_down(0, max, &make, &|n| {
        format!("moved every fault {} earlier", dur((max - n) * step))
    })
}

/// Bisects the run's duration down.
pub fn shorter_run(w: &mut Work<'_>) -> bool {
    let scenario = w.scenario();
    let full = ms(scenario.duration.0);
    let step = unit(full);
    let make = move |doc: &ScenarioDoc, n: u64| {
        let mut doc = doc.clone();
        doc.set_text("duration", &dur(n * step)).ok()?;
        Some(doc)
    };
    w.bisect_down(1, full / step, &make, &|n| {
        format!("run length {} → {}", dur(full), dur(n * step))
    })
}

/// Puts settings back to their defaults, one key at a time, so the result shows only the
/// settings the failure needs. Network latency stays fixed: its default is a random range.
pub fn defaults(w: &mut Work<'_>) -> bool {
    let mut changed = false;
    for table in ["server", "proxy", "client.backoff", "client"] {
        for key in w.doc.table_keys(table) {
            let path = format!("{table}.{key}");
            if key == "backoff" {
                continue;
            }
            if let Some(c) = w.edited(|d| d.remove(&path).ok().filter(|r| *r).map(drop)) {
                changed |= w.attempt(c, format!("{path} back to its default"));
            }
        }
        if w.doc.table_keys(table).is_empty() {
            // An empty table changes nothing: drop its header too.
            let _ = w.doc.remove(table);
        }
    }
    changed
}
