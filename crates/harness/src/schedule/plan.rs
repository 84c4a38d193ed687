//! Turns a scenario's fault schedule into concrete faults for one seed: every random range
//! (`at`, `duration`) is drawn once from the seed's "faults" stream.

use std::time::Duration;

use rand::Rng;

use crate::event::FaultDesc;
use crate::scenario::duration::DurRange;
use crate::scenario::{FaultKind, ScenarioFile};
use crate::seed::{derive_rng, SimRng};

/// One fault with its drawn times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFault {
    /// Index in the scenario's `[[faults]]`.
    pub id: u32,
    /// What it does, with drawn parameters.
    pub desc: FaultDesc,
    /// When it starts.
    pub start: Duration,
    /// When it ends.
    pub end: Duration,
}

/// One change a planned schedule makes: a fault starts or ends.
#[derive(Debug, Clone)]
pub struct Step {
    /// When.
    pub at: Duration,
    /// A start (else the end).
    pub start: bool,
    /// The fault.
    pub fault: PlannedFault,
}

/// The starts and ends of `faults` in the order they are applied: by time, at equal times ends
/// before starts, then scenario order. An instantaneous fault (a clock step) has no end. The
/// simulation's executor and the real-network schedule both follow it.
#[must_use]
pub fn steps(faults: &[PlannedFault]) -> Vec<Step> {
    let mut steps = Vec::new();
    for f in faults {
        steps.push(Step {
            at: f.start,
            start: true,
            fault: f.clone(),
        });
        if f.end > f.start {
            steps.push(Step {
                at: f.end,
                start: false,
                fault: f.clone(),
            });
        }
    }
    steps.sort_by_key(|s| (s.at, s.start, s.fault.id));
    steps
}

/// Draws the concrete fault schedule of `scenario` for `seed`, in scenario order.
#[must_use]
pub fn plan_faults(scenario: &ScenarioFile, seed: u64) -> Vec<PlannedFault> {
    let mut rng = derive_rng(seed, "faults");
    scenario
        .faults
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let start = draw(&mut rng, f.at);
            let length = f.duration.map_or(Duration::ZERO, |d| draw(&mut rng, d));
            let [a, b] = f.between.clone().unwrap_or_default();
            let duration_ms = millis(length);
            let host = || f.host.clone().expect("validated: host faults have a host");
            let desc = match f.kind {
                FaultKind::Crash => FaultDesc::Crash {
                    host: host(),
                    duration_ms,
                    silent: f.silent.unwrap_or(false),
                },
                FaultKind::ProxyConn => FaultDesc::ProxyConn {
                    client: f
                        .client
                        .clone()
                        .expect("validated: proxy_conn names a client"),
                    action: f.action.expect("validated: proxy_conn has an action"),
                    delay_ms: f.delay.map_or(0, |d| millis(d.0)),
                    duration_ms,
                },
                FaultKind::Sleep => FaultDesc::Sleep {
                    host: host(),
                    duration_ms,
                },
                FaultKind::ClockStep => FaultDesc::ClockStep {
                    host: host(),
                    by_ms: f.by.expect("validated: clock steps have `by`").0,
                },
                FaultKind::ClockDrift => FaultDesc::ClockDrift {
                    host: host(),
                    ppm: f.ppm.expect("validated: clock drifts have `ppm`").round() as i64,
                    duration_ms,
                },
                FaultKind::Partition => FaultDesc::Partition { a, b, duration_ms },
                FaultKind::OneWay => FaultDesc::OneWay { a, b, duration_ms },
                FaultKind::StateLoss => FaultDesc::StateLoss { a, b, duration_ms },
                FaultKind::Latency => {
                    let spike = f.latency.expect("validated: latency faults have a range");
                    FaultDesc::Latency {
                        a,
                        b,
                        duration_ms,
                        min_ms: millis(spike.min),
                        max_ms: millis(spike.max),
                    }
                }
            };
            PlannedFault {
                id: u32::try_from(i).unwrap_or(u32::MAX),
                desc,
                start,
                end: start + length,
            }
        })
        .collect()
}

/// A whole-millisecond value drawn uniformly from `range`.
pub fn draw(rng: &mut SimRng, range: DurRange) -> Duration {
    if range.is_fixed() {
        return range.min;
    }
    Duration::from_millis(rng.random_range(millis(range.min)..=millis(range.max)))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> ScenarioFile {
        crate::scenario::parse(
            "t.toml",
            r#"
name = "t"
duration = "600s"
[[clients]]
count = 1
[[faults]]
kind = "partition"
between = ["clients", "proxy"]
at = { min = "10s", max = "300s" }
duration = { min = "1s", max = "100s" }
[[faults]]
kind = "latency"
between = ["proxy", "server"]
at = "400s"
duration = "10s"
latency = { min = "2s", max = "3s" }
"#,
        )
        .unwrap()
    }

    #[test]
    fn draws_are_in_range_and_seeded() {
        let s = scenario();
        let a = plan_faults(&s, 1);
        assert_eq!(a, plan_faults(&s, 1));
        assert_ne!(a, plan_faults(&s, 2));
        for seed in 0..50 {
            let p = &plan_faults(&s, seed)[0];
            assert!(p.start >= Duration::from_secs(10) && p.start <= Duration::from_secs(300));
            let len = p.end - p.start;
            assert!(len >= Duration::from_secs(1) && len <= Duration::from_secs(100));
        }
    }

    #[test]
    fn fixed_values_are_kept() {
        let p = &plan_faults(&scenario(), 3)[1];
        assert_eq!(p.start, Duration::from_secs(400));
        assert_eq!(p.end, Duration::from_secs(410));
        assert_eq!(
            p.desc,
            FaultDesc::Latency {
                a: "proxy".into(),
                b: "server".into(),
                duration_ms: 10_000,
                min_ms: 2000,
                max_ms: 3000
            }
        );
    }
}
