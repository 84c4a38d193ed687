//! The acceptance scenarios, asserted from the event stream.

use std::time::Duration;

use wsim::event::{EventKind, FaultDesc};

use crate::support::{client_events, scenario};

/// A 60 s partition of a client host: `fault_start`, every client on it `disconnected` within
/// the keepalive bound (+ latency), `fault_end`, then `connected` again; the other host's
/// clients notice nothing.
#[test]
fn sixty_second_partition_is_detected_within_the_bound_and_healed() {
    let s = scenario("02-partition-60s.toml");
    let bound = Duration::from_secs(40) + s.network.latency.max;
    for seed in [1, 2, 3] {
        let outcome = wsim::sim::run(&s, "02-partition-60s.toml", seed);
        assert!(
            outcome.verdict.passed,
            "seed {seed}: {:?}",
            outcome.verdict.checks
        );
        let events = &outcome.timeline;
        let (start, end) = {
            let start = events
                .iter()
                .find_map(|e| match &e.kind {
                    EventKind::FaultStart {
                        fault: FaultDesc::Partition { duration_ms, .. },
                        ..
                    } => {
                        assert_eq!(*duration_ms, 60_000);
                        Some(e.t)
                    }
                    _ => None,
                })
                .expect("fault_start");
            let end = events
                .iter()
                .find(|e| e.kind.name() == "fault_end")
                .expect("fault_end")
                .t;
            (start, end)
        };
        assert_eq!(end - start, Duration::from_secs(60));
        for i in 0..10 {
            let client = format!("mobile-{i}");
            let down = client_events(events, &client, "disconnected");
            let first = down.iter().find(|e| e.t >= start).expect("a disconnect");
            assert!(
                first.t - start <= bound,
                "seed {seed}: {client} detected after {:?}",
                first.t - start
            );
            assert!(
                first.t < end,
                "{client} detected only after the partition healed"
            );
            let back = client_events(events, &client, "connected");
            assert!(
                back.iter().any(|e| e.t >= end),
                "{client} never reconnected"
            );
        }
        for i in 0..5 {
            let client = format!("desk-{i}");
            assert!(
                client_events(events, &client, "disconnected").is_empty(),
                "{client} on the healthy host disconnected"
            );
        }
    }
}

/// A 5 s partition: no disconnect, and every message sent is accepted exactly once.
#[test]
fn five_second_partition_goes_unnoticed_and_loses_nothing() {
    let s = scenario("01-blip-5s.toml");
    for seed in [1, 2, 3] {
        let outcome = wsim::sim::run(&s, "01-blip-5s.toml", seed);
        assert!(
            outcome.verdict.passed,
            "seed {seed}: {:?}",
            outcome.verdict.checks
        );
        let events = &outcome.timeline;
        assert!(events.iter().any(|e| e.kind.name() == "fault_start"));
        assert!(
            !events.iter().any(|e| e.kind.name() == "disconnected"),
            "seed {seed}: a client disconnected"
        );
        let sent: Vec<&str> = events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::MessageSent { msg_id, .. } => Some(msg_id.as_str()),
                _ => None,
            })
            .collect();
        assert!(sent.len() > 10);
        for id in sent {
            let accepted = events
                .iter()
                .filter(|e| matches!(&e.kind, EventKind::MessageAccepted { msg_id, .. } if msg_id == id))
                .count();
            assert_eq!(
                accepted, 1,
                "seed {seed}: message {id} accepted {accepted} times"
            );
        }
    }
}

/// Every scenario passes its own expectations on a few seeds.
#[test]
fn every_scenario_passes_its_expectations() {
    for path in crate::support::all_scenarios() {
        let s = wsim::scenario::load(&path).expect("loads");
        for seed in [3, 4] {
            let v = wsim::sim::run(&s, &path.display().to_string(), seed).verdict;
            assert!(v.passed, "{} seed {seed}: {:?}", path.display(), v.checks);
        }
    }
}
