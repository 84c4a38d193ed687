//! The acceptance scenarios, asserted from the event stream.

use std::time::Duration;

use wsim::event::{ClientEvent, EventKind, FaultDesc, ServerEvent};

use crate::support::{client_events, scenario};

/// A 60 s partition of a client host: `fault_start`, every client on it `disconnected` within
/// the keepalive bound (+ latency), `fault_end`, then `connected` again; the other host's
/// clients notice nothing.
#[test]
fn sixty_second_partition_is_detected_within_the_bound_and_healed() {
    let s = scenario("02-partition-60s.toml");
    let bound = Duration::from_secs(40) + s.network.latency.max;
    for seed in [1, 2, 3] {
        let outcome = wsim::Run::new(&s, seed)
            .named("02-partition-60s.toml")
            .judge();
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
        let outcome = wsim::Run::new(&s, seed).named("01-blip-5s.toml").judge();
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
                EventKind::Client {
                    event: ClientEvent::MessageSent { msg_id, .. },
                    ..
                } => Some(msg_id.as_str()),
                _ => None,
            })
            .collect();
        assert!(sent.len() > 10);
        for id in sent {
            let accepted = events
                .iter()
                .filter(|e| matches!(&e.kind, EventKind::Server(ServerEvent::MessageAccepted { msg_id, .. }) if msg_id == id))
                .count();
            assert_eq!(
                accepted, 1,
                "seed {seed}: message {id} accepted {accepted} times"
            );
        }
    }
}

/// Issue 3: messages sent during a 60 s outage arrive exactly once after the reconnect.
#[test]
fn messages_sent_during_the_outage_arrive_exactly_once() {
    let s = scenario("02-partition-60s.toml");
    let outcome = wsim::Run::new(&s, 2).named("02-partition-60s.toml").judge();
    assert!(outcome.verdict.passed, "{:?}", outcome.verdict.checks);
    let events = &outcome.timeline;
    let buffered: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Client {
                event: ClientEvent::MessageBuffered { msg_id, .. },
                ..
            } => Some(msg_id.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        buffered.len() >= 10,
        "the outage buffered only {} messages",
        buffered.len()
    );
    for id in buffered {
        let accepted = events
            .iter()
            .filter(
                |e| matches!(&e.kind, EventKind::Server(ServerEvent::MessageAccepted { msg_id, .. }) if msg_id == id),
            )
            .count();
        assert_eq!(accepted, 1, "{id} accepted {accepted} times");
        let acked = events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::Client { event: ClientEvent::MessageAcked { msg_id, .. }, .. } if msg_id == id));
        assert!(acked, "{id} never acknowledged");
    }
}

/// Issue 3: after a server restart, 100 clients on one host spread their reconnects (the
/// herd checker reports the busiest second); without jitter all 100 arrive in one second.
#[test]
fn a_reconnect_storm_spreads_out_with_jitter() {
    use wsim_client::Jitter;
    let s = scenario("09-reconnect-storm.toml");
    let most = |s: &wsim::scenario::ScenarioFile| {
        let sim = wsim::Run::new(s, 1).simulate();
        let ctx = wsim::check::CheckContext::from_scenario(s);
        let mut herd = wsim::check::herd::Herd::new(ctx.clone());
        let mut view = wsim::view::RunView::new(&ctx);
        for e in &sim.events {
            view.feed(e, |v| wsim::check::Checker::observe(&mut herd, e, v));
        }
        herd.most_per_second()
    };
    let jittered = most(&s);
    let mut herd = s.clone();
    herd.client.backoff.jitter = Jitter::None;
    let stampede = most(&herd);
    println!("most connects in one second: {jittered} with full jitter, {stampede} without");
    assert_eq!(stampede, 100);
    assert!(jittered <= 40, "{jittered}");
}

/// Issue 4: a server restart gives every client `resumed { recovered: false }`, and nothing is
/// delivered twice.
#[test]
fn a_server_restart_is_reported_as_not_recovered_and_nothing_is_delivered_twice() {
    let s = scenario("08-server-restart.toml");
    let outcome = wsim::Run::new(&s, 3)
        .named("08-server-restart.toml")
        .judge();
    assert!(outcome.verdict.passed, "{:?}", outcome.verdict.checks);
    let events = &outcome.timeline;
    let restart = events
        .iter()
        .filter(|e| e.kind.name() == "server_started")
        .nth(1)
        .expect("a second server_started")
        .t;
    for i in 0..30 {
        let client = format!("u-{i}");
        let resumed: Vec<bool> = client_events(events, &client, "resumed")
            .iter()
            .filter(|e| e.t >= restart)
            .map(|e| matches!(e.kind, EventKind::Client { event: ClientEvent::Resumed { recovered, .. }, .. } if recovered))
            .collect();
        assert_eq!(resumed.first(), Some(&false), "{client}: {resumed:?}");
    }
    let mut seen = std::collections::BTreeSet::new();
    for e in events {
        if let EventKind::Client {
            client,
            event: ClientEvent::Message { msg_id, .. },
        } = &e.kind
        {
            assert!(
                seen.insert((client.clone(), msg_id.clone())),
                "{client} got {msg_id} twice"
            );
        }
    }
}

/// Issue 4: inside the grace period sessions resume (away → reconnected, history replayed);
/// beyond it users leave exactly one grace period after going away and come back unrecovered.
#[test]
fn grace_period_outcomes() {
    let inside = scenario("06-partition-inside-grace.toml");
    let outcome = wsim::Run::new(&inside, 1).named("06").judge();
    assert!(outcome.verdict.passed, "{:?}", outcome.verdict.checks);
    let events = &outcome.timeline;
    for i in 0..6 {
        let client = format!("phone-{i}");
        assert_eq!(
            client_events(events, &client, "user_away").len(),
            1,
            "{client}"
        );
        assert_eq!(
            client_events(events, &client, "user_reconnected").len(),
            1,
            "{client}"
        );
        assert!(
            client_events(events, &client, "user_left").is_empty(),
            "{client}"
        );
        let replay = client_events(events, &client, "history_replayed");
        assert!(
            matches!(replay[0].kind, EventKind::Server(ServerEvent::HistoryReplayed { recovered: true, count, .. }) if count > 0),
            "{client}: {:?}",
            replay[0].kind
        );
    }
    let beyond = scenario("07-partition-beyond-grace.toml");
    let outcome = wsim::Run::new(&beyond, 1).named("07").judge();
    assert!(outcome.verdict.passed, "{:?}", outcome.verdict.checks);
    let events = &outcome.timeline;
    for i in 0..6 {
        let client = format!("phone-{i}");
        let away = client_events(events, &client, "user_away")[0].t;
        let left = client_events(events, &client, "user_left")[0].t;
        assert_eq!(left - away, Duration::from_secs(30), "{client}");
        assert!(client_events(events, &client, "resumed")
            .iter()
            .any(|e| matches!(
                e.kind,
                EventKind::Client {
                    event: ClientEvent::Resumed {
                        recovered: false,
                        ..
                    },
                    ..
                }
            )));
    }
}

/// Scenario 22 provokes the ghost-session race on purpose: sessions the server opened for
/// attempts their clients had abandoned (away before the client ever saw them connected). Each
/// must be resumed by its client's next attempt — `user_reconnected`, never `user_left`, and no
/// attempt refused for want of a secret the client never received.
#[test]
fn ghost_sessions_are_resumed_by_the_clients_next_attempt() {
    let s = scenario("22-ghost-session.toml");
    for seed in [1, 2, 3] {
        let outcome = wsim::Run::new(&s, seed)
            .named("22-ghost-session.toml")
            .judge();
        assert!(
            outcome.verdict.passed,
            "seed {seed}: {:?}",
            outcome.verdict.checks
        );
        let mut unseen = std::collections::BTreeSet::new();
        let mut ghosts = 0;
        for e in &outcome.timeline {
            match &e.kind {
                EventKind::Server(ServerEvent::SessionOpened { client, .. }) => {
                    unseen.insert(client.clone());
                }
                EventKind::Client {
                    client,
                    event: ClientEvent::Connected { .. },
                } => {
                    unseen.remove(client);
                }
                EventKind::Server(ServerEvent::UserAway { client, .. })
                    if unseen.contains(client) =>
                {
                    ghosts += 1
                }
                EventKind::Server(ServerEvent::UserLeft { client, .. }) => {
                    panic!("seed {seed}: {client}'s session expired: it was locked out")
                }
                _ => {}
            }
        }
        assert!(
            ghosts >= 6,
            "seed {seed}: only {ghosts} ghost sessions provoked"
        );
    }
}
