//! Every fault of the run with when it started and ended, and what the faults on one client's
//! path add up to: overlapping partitions hold the path as one, slowdowns on different hops
//! add up, a partition holds longer by the slowdowns it overlaps, and a frame they held
//! arrives late. Checkers that explain a loss by the faults on its path read these instead of
//! keeping fault windows of their own.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::event::{Event, EventKind};
use crate::fault::{ConnAction, FaultDesc};
use crate::fault_model::FaultModel;

/// One fault of the run, from its start to its end.
#[derive(Debug, Clone)]
pub struct FaultWindow {
    /// Scenario index.
    pub id: u32,
    /// What it is.
    pub desc: FaultDesc,
    /// When it started.
    pub start: Duration,
    /// When it ended, once it has.
    pub end: Option<Duration>,
}

/// Every fault started so far (the run's faults are the scenario's: bounded by its file).
#[derive(Debug, Default)]
pub struct FaultHistory {
    windows: Vec<FaultWindow>,
}

impl FaultHistory {
    /// Records a fault's start or end.
    pub fn observe(&mut self, event: &Event) {
        match &event.kind {
            EventKind::FaultStart { id, fault } => self.windows.push(FaultWindow {
                id: *id,
                desc: fault.clone(),
                start: event.t,
                end: None,
            }),
            EventKind::FaultEnd { id, .. } => {
                for w in &mut self.windows {
                    if w.id == *id && w.end.is_none() {
                        w.end = Some(event.t);
                    }
                }
            }
            _ => {}
        }
    }

    /// Every fault so far, in the order they started.
    #[must_use]
    pub fn windows(&self) -> &[FaultWindow] {
        &self.windows
    }

    /// `w` as it acts on `client`'s path together with the faults there that overlap it: a
    /// chain of overlapping partitions as one (or slowdowns on several hops summed), then held
    /// longer by the slowdowns it overlaps. `w` itself if nothing adds to it.
    #[must_use]
    pub fn along_path(
        &self,
        model: &FaultModel,
        w: &FaultWindow,
        host: &str,
        client: &str,
    ) -> FaultWindow {
        let merged = self
            .merged_partition(model, w, host, client)
            .or_else(|| self.merged_slowdown(model, w, host, client));
        let w = merged.as_ref().unwrap_or(w);
        self.slowed_partition(model, w, host, client)
            .unwrap_or_else(|| w.clone())
    }

    /// Partitions on `client`'s path that overlap hold it as one: two 14 s partitions
    /// overlapping by a second cut the path for 27 s, which a heartbeat that neither alone
    /// trips can notice — whether they cut the same link or the client's link and then the
    /// proxy's (a ping held by the first is released into the second). The chain of
    /// partitions on the path overlapping `w`, as one window (`None` if `w` is no partition
    /// or overlaps none).
    fn merged_partition(
        &self,
        model: &FaultModel,
        w: &FaultWindow,
        host: &str,
        client: &str,
    ) -> Option<FaultWindow> {
        let FaultDesc::Partition { a, b, .. } = &w.desc else {
            return None;
        };
        // Each partition's planned span (its end is known when it starts).
        let span = |o: &FaultWindow| match &o.desc {
            FaultDesc::Partition { duration_ms, .. } if model.affects(&o.desc, host, client) => {
                Some((
                    o.start,
                    o.start + Duration::from_millis(*duration_ms),
                    o.end,
                ))
            }
            _ => None,
        };
        let (mut start, mut planned_end, mut end) = span(w)?;
        let mut merged_any = false;
        let mut grew = true;
        while grew {
            grew = false;
            for (s, e, actual) in self.windows.iter().filter_map(span) {
                let overlaps = s <= planned_end && e >= start;
                if overlaps && (s < start || e > planned_end) {
                    start = start.min(s);
                    planned_end = planned_end.max(e);
                    end = later(actual, end);
                    grew = true;
                    merged_any = true;
                }
            }
        }
        merged_any.then(|| FaultWindow {
            id: w.id,
            desc: FaultDesc::Partition {
                a: a.clone(),
                b: b.clone(),
                duration_ms: u64::try_from(planned_end.saturating_sub(start).as_millis())
                    .unwrap_or(u64::MAX),
            },
            start,
            end,
        })
    }

    /// Slowdowns on different hops of `client`'s path add up: a frame and its answer cross
    /// every hop, so a 2 s spike on the client's link and a 3.9 s one on the proxy's, each
    /// too short alone to outlast an 8 s pong wait, outlast it together. `w` (a latency spike
    /// or a proxy delay of the client's connection) as one slowdown as large as the largest
    /// one-way delay it overlaps on each hop, summed over the hops (`None` if `w` is neither
    /// or overlaps nothing on another hop).
    fn merged_slowdown(
        &self,
        model: &FaultModel,
        w: &FaultWindow,
        host: &str,
        client: &str,
    ) -> Option<FaultWindow> {
        let (own_hop, _) = slowdown_hop(&w.desc)?;
        let per_hop =
            self.slowdowns_per_hop(model, host, client, w.start, w.start + w.desc.duration());
        if per_hop.keys().all(|h| *h == own_hop) {
            return None;
        }
        let total: u64 = per_hop.values().sum();
        let mut desc = w.desc.clone();
        match &mut desc {
            FaultDesc::Latency { max_ms, .. } => *max_ms = total,
            FaultDesc::ProxyConn { delay_ms, .. } => *delay_ms = total,
            _ => return None,
        }
        Some(FaultWindow { desc, ..w.clone() })
    }

    /// The largest one-way delay of the slowdowns on `client`'s path planned to overlap
    /// `start..end`, per hop.
    fn slowdowns_per_hop(
        &self,
        model: &FaultModel,
        host: &str,
        client: &str,
        start: Duration,
        end: Duration,
    ) -> BTreeMap<String, u64> {
        let mut per_hop: BTreeMap<String, u64> = BTreeMap::new();
        for o in &self.windows {
            let Some((h, delay)) = slowdown_hop(&o.desc) else {
                continue;
            };
            let planned_end = o.start + o.desc.duration();
            if o.start <= end && planned_end >= start && model.affects(&o.desc, host, client) {
                let d = per_hop.entry(h).or_default();
                *d = (*d).max(delay);
            }
        }
        per_hop
    }

    /// A partition and slowdowns on `client`'s path that overlap it add up too: a ping slowed
    /// on one hop (its answer too) is then held by the partition on another, so the client
    /// hears nothing for the partition plus the round trips the slowdowns stretch — a 3.9 s
    /// partition of the client's link during a 2.3 s spike on the proxy's outlasts a 6 s
    /// patience neither outlasts alone. `w` (a partition, merged or not) held longer by twice
    /// the largest delay it overlaps on each hop, summed over the hops, and ending with the
    /// last of them (`None` if `w` is no partition or overlaps no slowdown).
    fn slowed_partition(
        &self,
        model: &FaultModel,
        w: &FaultWindow,
        host: &str,
        client: &str,
    ) -> Option<FaultWindow> {
        let FaultDesc::Partition { a, b, duration_ms } = &w.desc else {
            return None;
        };
        let planned_end = w.start + Duration::from_millis(*duration_ms);
        let per_hop = self.slowdowns_per_hop(model, host, client, w.start, planned_end);
        if per_hop.is_empty() {
            return None;
        }
        let mut end = w.end;
        for o in &self.windows {
            let overlaps = o.start <= planned_end && o.start + o.desc.duration() >= w.start;
            if overlaps && slowdown_hop(&o.desc).is_some() && model.affects(&o.desc, host, client) {
                end = later(o.end, end);
            }
        }
        let stretch: u64 = per_hop.values().map(|d| 2 * d).sum();
        Some(FaultWindow {
            id: w.id,
            desc: FaultDesc::Partition {
                a: a.clone(),
                b: b.clone(),
                duration_ms: duration_ms.saturating_add(stretch),
            },
            start: w.start,
            end,
        })
    }

    /// Four one-way trips at the highest latency of a spike on `client`'s path between `from`
    /// and `to` (or two of a proxy's delay of its connection): what a frame held by a fault (a
    /// pong, a close) needs, beyond the normal latency, to arrive once the fault heals.
    #[must_use]
    pub fn spike_slack(
        &self,
        model: &FaultModel,
        host: &str,
        client: &str,
        from: Duration,
        to: Duration,
    ) -> Duration {
        self.windows
            .iter()
            .filter(|w| w.start <= to && w.end.is_none_or(|e| e >= from))
            .filter(|w| model.affects(&w.desc, host, client))
            .filter_map(|w| match w.desc {
                FaultDesc::Latency { max_ms, .. } => Some(4 * Duration::from_millis(max_ms)),
                // The proxy holds each chunk of this client's connection back: the answer to
                // a held frame (and the frame, if it had not crossed yet) waits too.
                FaultDesc::ProxyConn {
                    action: ConnAction::Delay,
                    delay_ms,
                    ..
                } => Some(2 * Duration::from_millis(delay_ms)),
                _ => None,
            })
            .max()
            .unwrap_or_default()
    }

    /// The latest time a frame sent to `client` at `at` may arrive: the end of the chain of
    /// faults on its path under way at `at` (`at` itself if none; `None` while one of them
    /// has not ended).
    #[must_use]
    pub fn last_heard_by(
        &self,
        model: &FaultModel,
        host: &str,
        client: &str,
        at: Duration,
    ) -> Option<Duration> {
        let mut heard = at;
        let mut grew = true;
        while grew {
            grew = false;
            for w in &self.windows {
                if w.start > heard || !model.affects(&w.desc, host, client) {
                    continue;
                }
                match w.end {
                    None => return None,
                    Some(end) if end > heard => {
                        heard = end;
                        grew = true;
                    }
                    Some(_) => {}
                }
            }
        }
        Some(heard)
    }
}

/// The later of two ends, `None` (not ended yet) being the latest.
fn later(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    a.zip(b).map(|(a, b)| a.max(b))
}

/// The hop a slowdown (a latency spike, a proxy's delay of a connection) is on, and its
/// one-way delay in milliseconds; `None` for any other fault.
fn slowdown_hop(d: &FaultDesc) -> Option<(String, u64)> {
    match d {
        FaultDesc::Latency { a, b, max_ms, .. } => {
            let (x, y) = if a <= b { (a, b) } else { (b, a) };
            Some((format!("{x}|{y}"), *max_ms))
        }
        FaultDesc::ProxyConn {
            action: ConnAction::Delay,
            delay_ms,
            ..
        } => Some(("proxy-delay".to_string(), *delay_ms)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests::{ctx, ev};

    fn history(faults: &[(u64, u64, FaultDesc)]) -> FaultHistory {
        let mut h = FaultHistory::default();
        for (id, (start, end, fault)) in (0..).zip(faults) {
            let name = fault.name();
            h.observe(&ev(
                *start,
                "sim",
                EventKind::FaultStart {
                    id,
                    fault: fault.clone(),
                },
            ));
            h.observe(&ev(*end, "sim", EventKind::FaultEnd { id, fault: name }));
        }
        h
    }

    fn partition(a: &str, b: &str, ms: u64) -> FaultDesc {
        FaultDesc::Partition {
            a: a.into(),
            b: b.into(),
            duration_ms: ms,
        }
    }

    fn spike(a: &str, b: &str, ms: u64) -> FaultDesc {
        FaultDesc::Latency {
            a: a.into(),
            b: b.into(),
            duration_ms: 10_000,
            min_ms: ms,
            max_ms: ms,
        }
    }

    #[test]
    fn overlapping_partitions_on_the_path_hold_it_as_one() {
        let h = history(&[
            (10_000, 24_000, partition("c", "proxy", 14_000)),
            (23_000, 37_000, partition("proxy", "server", 14_000)),
            (30_000, 31_000, partition("elsewhere", "server", 1_000)),
        ]);
        let one = h.along_path(&ctx(), &h.windows()[0], "c", "a");
        assert_eq!(
            (one.start, one.end),
            (Duration::from_secs(10), Some(Duration::from_secs(37)))
        );
        assert_eq!(one.desc.duration(), Duration::from_secs(27));
        // Off the path, the partition acts alone.
        let alone = h.along_path(&ctx(), &h.windows()[2], "c", "a");
        assert_eq!(alone.desc.duration(), Duration::from_secs(1));
    }

    #[test]
    fn slowdowns_on_two_hops_add_up_and_stretch_a_partition() {
        let h = history(&[
            (0, 10_000, spike("c", "proxy", 2_000)),
            (1_000, 11_000, spike("proxy", "server", 3_900)),
            (2_000, 5_000, partition("c", "proxy", 3_000)),
        ]);
        let summed = h.along_path(&ctx(), &h.windows()[0], "c", "a");
        assert!(matches!(
            summed.desc,
            FaultDesc::Latency { max_ms: 5_900, .. }
        ));
        // Held longer by both round trips, and over when the last spike is.
        let held = h.along_path(&ctx(), &h.windows()[2], "c", "a");
        assert_eq!(
            held.desc.duration(),
            Duration::from_millis(3_000 + 2 * 5_900)
        );
        assert_eq!(held.end, Some(Duration::from_secs(11)));
        let s = Duration::from_secs;
        assert_eq!(
            h.spike_slack(&ctx(), "c", "a", s(4), s(20)),
            s(4) * 3_900 / 1_000
        );
        assert_eq!(h.last_heard_by(&ctx(), "c", "a", s(3)), Some(s(11)));
        assert_eq!(h.last_heard_by(&ctx(), "c", "a", s(12)), Some(s(12)));
    }
}
