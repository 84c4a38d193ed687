//! Unit tests of the `room_log` checker: each rule caught, and what it must excuse.

use super::*;
use crate::check::tests::{ctx, ev, feed_and_finish, feed_forgetting_and_finish};

fn acked(t: u64, c: &str, id: &str, seq: u64) -> Event {
    ev(
        t,
        "h",
        EventKind::Client {
            client: c.into(),
            event: ClientEvent::MessageAcked {
                msg_id: id.into(),
                seq,
            },
        },
    )
}

fn got(t: u64, c: &str, from: &str, id: &str, seq: u64) -> Event {
    ev(
        t,
        "h",
        EventKind::Client {
            client: c.into(),
            event: ClientEvent::Message {
                msg_id: id.into(),
                seq,
                from: from.into(),
                username: String::new(),
                text: String::new(),
            },
        },
    )
}

fn resumed(t: u64, c: &str, recovered: bool) -> Event {
    ev(
        t,
        "h",
        EventKind::Client {
            client: c.into(),
            event: ClientEvent::Resumed {
                recovered,
                replayed: 0,
            },
        },
    )
}

fn run(events: &[Event]) -> Vec<Violation> {
    let mut c = RoomLog::new(ctx());
    let mut all = Vec::new();
    for client in ["a", "b"] {
        all.push(ev(
            0,
            "h",
            EventKind::Client {
                client: client.into(),
                event: ClientEvent::Connecting { attempt: 1 },
            },
        ));
        all.push(ev(
            1,
            "h",
            EventKind::Client {
                client: client.into(),
                event: ClientEvent::Connected { attempt: 1 },
            },
        ));
    }
    all.extend_from_slice(events);
    feed_and_finish(&mut c, &ctx(), &all)
}

#[test]
fn a_gap_inside_a_session_is_caught_and_a_resync_or_own_message_excuses_it() {
    let base = [
        acked(10, "a", "1", 1),
        got(11, "b", "a", "1", 1),
        acked(20, "a", "2", 2),
        acked(30, "a", "3", 3),
        got(31, "b", "a", "3", 3),
    ];
    let v = run(&base);
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].detail.contains("b never saw seq 2 (a/2)"), "{v:?}");
    // A resync between the two numbers excuses it.
    let mut resynced = base.to_vec();
    resynced.insert(4, resumed(25, "b", false));
    assert!(run(&resynced).is_empty());
    // The client's own message excuses it.
    assert!(run(&base[..2]).is_empty());
}

#[test]
fn one_number_for_two_messages_and_a_retry_numbered_anew_are_caught() {
    let v = run(&[acked(10, "a", "1", 1), acked(20, "b", "1", 1)]);
    assert!(v[0].detail.contains("gave seq 1 to two messages"), "{v:?}");
    let v = run(&[acked(10, "a", "1", 1), acked(20, "a", "1", 2)]);
    assert!(
        v.iter().any(|v| v.detail.contains("numbered anew")),
        "{v:?}"
    );
}

#[test]
fn what_arrives_on_a_connection_begun_before_a_server_crash_is_not_judged() {
    let crash = ev(
        50,
        "server",
        EventKind::FaultStart {
            id: 0,
            fault: FaultDesc::Crash {
                host: "server".into(),
                duration_ms: 10,
                silent: false,
            },
        },
    );
    let attempt = |t, c: &str| {
        ev(
            t,
            "h",
            EventKind::Client {
                client: c.into(),
                event: ClientEvent::Connecting { attempt: 1 },
            },
        )
    };
    let connected = |t, c: &str| {
        ev(
            t,
            "h",
            EventKind::Client {
                client: c.into(),
                event: ClientEvent::Connected { attempt: 1 },
            },
        )
    };
    // b began connecting before the crash and completed after it: the old server may have
    // answered (its seq 7 is then the old incarnation's), so it is not judged; a's new
    // connection, begun after the crash, is the new incarnation's own.
    let events = [
        acked(10, "a", "1", 7),
        attempt(40, "b"),
        crash.clone(),
        ev(
            60,
            "server",
            EventKind::FaultEnd {
                id: 0,
                fault: "crash",
            },
        ),
        connected(70, "b"),
        got(71, "b", "a", "9", 7),
        attempt(80, "a"),
        connected(90, "a"),
        acked(95, "a", "2", 7),
    ];
    assert!(run(&events).is_empty(), "{:?}", run(&events));
    // Without the crash, seq 7 given to a/1 and a/2 is caught.
    let mut no_crash = events.to_vec();
    no_crash.retain(|e| !matches!(e.kind, EventKind::FaultStart { .. }));
    assert!(run(&no_crash)
        .iter()
        .any(|v| v.detail.contains("gave seq 7")));
}

#[test]
fn a_message_never_acknowledged_on_a_healthy_link_is_lost() {
    let sent = |t, id: &str| {
        ev(
            t,
            "h",
            EventKind::Client {
                client: "a".into(),
                event: ClientEvent::MessageSent { msg_id: id.into() },
            },
        )
    };
    // Connected at 1 ms; ctx() ends at 100 s, settling time 5 s.
    let v = run(&[sent(10, "1"), acked(20, "a", "1", 1), sent(30, "2")]);
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].detail.contains("a's message 2 was never acknowledged"),
        "{v:?}"
    );
    assert!(run(&[sent(97_000, "3")]).is_empty(), "too late to judge");
}

#[test]
fn a_message_numbered_twice_is_one_duplicate_acceptance_not_a_gap_at_every_client() {
    // a's message 1 is acked as seq 1; the server accepts its retry again as seq 3; b shows
    // seq 1, drops the copy numbered 3 by its id, and goes on to seq 4.
    let v = run(&[
        acked(10, "a", "1", 1),
        got(11, "b", "a", "1", 1),
        got(12, "a", "x", "2", 2),
        got(12, "b", "x", "2", 2),
        acked(20, "a", "1", 3),
        got(30, "a", "x", "4", 4),
        got(30, "b", "x", "4", 4),
    ]);
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].detail
            .contains("a's message 1 was numbered twice in room \"\": seq 1, then seq 3"),
        "{v:?}"
    );
}

#[test]
fn a_gap_right_after_a_resume_that_replayed_nothing_names_that_cause() {
    let events = [
        got(10, "b", "a", "1", 1),
        got(11, "b", "a", "2", 2),
        resumed(20, "b", true),
        got(30, "b", "a", "5", 5),
    ];
    let v = run(&events);
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].detail.contains("b never saw seq 3")
            && v[0]
                .detail
                .contains("resumed at 20 ms saying recovered: true and was replayed nothing"),
        "{v:?}"
    );
    // A gap the resume did not end is not blamed on it.
    let later = [
        got(10, "b", "a", "1", 1),
        resumed(20, "b", true),
        got(30, "b", "a", "2", 2),
        got(40, "b", "a", "5", 5),
    ];
    let v = run(&later);
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(!v[0].detail.contains("resumed at"), "{v:?}");
}

/// Three hours of a message every 10 s, forgetting as the judge does: a gap in the first
/// minute is still reported, once, a gap near the end too, and what the checker holds is what
/// one retention (810 s here) of messages needs, not the run's 1,080.
#[test]
fn forgetting_keeps_the_verdict_and_bounds_the_state() {
    let mut events = vec![
        acked(10, "a", "1", 1),
        got(11, "b", "a", "1", 1),
        acked(20, "a", "2", 2),
        acked(30, "a", "3", 3),
        got(31, "b", "a", "3", 3),
    ];
    let last = 1_080u64;
    for n in 4..=last {
        let t = n * 10_000;
        let id = n.to_string();
        events.push(acked(t, "a", &id, n));
        // b misses one message near the end.
        if n != last - 5 {
            events.push(got(t + 1, "b", "a", &id, n));
        }
    }
    let mut c = RoomLog::new(ctx());
    let mut all = vec![];
    for client in ["a", "b"] {
        all.push(ev(
            0,
            "h",
            EventKind::Client {
                client: client.into(),
                event: ClientEvent::Connected { attempt: 1 },
            },
        ));
    }
    all.extend(events);
    // Connected without a Connecting: every connection serves incarnation 0.
    let found = feed_forgetting_and_finish(&mut c, &ctx(), &all);
    assert_eq!(found.len(), 1, "one gap per session: {found:?}");
    assert!(
        found[0].detail.contains("b never saw seq 2 (a/2)"),
        "{found:?}"
    );
    assert!(c.numbered.len() < 120, "{} numbers held", c.numbered.len());
    assert!(c.msgs.len() < 120, "{} messages held", c.msgs.len());
    assert!(c.acked.len() < 120, "{} acks held", c.acked.len());
    assert!(c
        .views
        .by_name(|v| v.session.seen.holes().count() > 1)
        .is_empty());
    // Without the early gap, the late one is reported.
    let mut late = all.clone();
    let at = late
        .iter()
        .position(|e| e.t == Duration::from_millis(30))
        .expect("the third ack");
    late.insert(at, got(21, "b", "a", "2", 2));
    let mut c = RoomLog::new(ctx());
    let found = feed_forgetting_and_finish(&mut c, &ctx(), &late);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].detail.contains("never saw seq 1075"), "{found:?}");
}
