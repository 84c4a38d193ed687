//! Unit tests of the `delivery` checker: each rule caught, and what it must excuse.

use super::*;
use crate::check::tests::{ctx, ev, feed_and_finish, feed_forgetting_and_finish};

/// Runs the checker over `events`, with clients a, b and c connected from the start.
fn run(events: &[Event]) -> Vec<String> {
    let mut c = Delivery::new(ctx());
    let mut all: Vec<Event> = ["a", "b", "c"]
        .map(|client| {
            ev(
                0,
                "h",
                EventKind::Client {
                    client: client.into(),
                    event: ClientEvent::Connected { attempt: 1 },
                },
            )
        })
        .to_vec();
    all.extend_from_slice(events);
    feed_and_finish(&mut c, &ctx(), &all)
        .into_iter()
        .map(|v| v.detail)
        .collect()
}

fn opened(t: u64, client: &str) -> Event {
    ev(
        t,
        "server",
        EventKind::Server(ServerEvent::SessionOpened {
            client: client.into(),
            room: "r".into(),
            conn: 1,
            resumed: false,
        }),
    )
}

fn sent(t: u64, id: &str) -> Event {
    ev(
        t,
        "h",
        EventKind::Client {
            client: "a".into(),
            event: ClientEvent::MessageSent { msg_id: id.into() },
        },
    )
}

fn accepted(t: u64, id: &str) -> Event {
    ev(
        t,
        "server",
        EventKind::Server(ServerEvent::MessageAccepted {
            client: "a".into(),
            msg_id: id.into(),
            seq: 1,
        }),
    )
}

fn received(t: u64, id: &str, seq: u64) -> Event {
    ev(
        t,
        "h",
        EventKind::Client {
            client: "b".into(),
            event: ClientEvent::Message {
                msg_id: id.into(),
                seq,
                from: "a".into(),
                username: String::new(),
                text: String::new(),
            },
        },
    )
}

#[test]
fn clean_delivery_passes() {
    assert!(run(&[
        opened(0, "a"),
        opened(0, "b"),
        sent(1, "a:1"),
        accepted(2, "a:1"),
        received(3, "a:1", 1)
    ])
    .is_empty());
}

#[test]
fn catches_loss_duplicates_missing_delivery_and_disorder() {
    assert_eq!(
        run(&[sent(1, "a:1")]),
        ["message a:1 from a was never accepted (lost)"]
    );
    assert_eq!(
        run(&[sent(1, "a:1"), accepted(2, "a:1"), accepted(3, "a:1")]),
        ["message a:1 from a accepted twice"]
    );
    let base = [
        opened(0, "a"),
        opened(0, "b"),
        sent(1, "a:1"),
        accepted(2, "a:1"),
    ];
    assert_eq!(run(&base), ["message a:1 from a never reached b"]);
    let mut twice = base.to_vec();
    twice.extend([received(3, "a:1", 1), received(4, "a:1", 1)]);
    let v = run(&twice);
    assert!(
        v.contains(&"b received message a:1 from a twice".to_string()),
        "{v:?}"
    );
    let disorder = [received(3, "a:2", 5), received(4, "a:3", 4)];
    assert!(run(&disorder)[0].contains("out of order"));
}

#[test]
fn ids_are_only_unique_per_sender() {
    let other = ev(
        1,
        "h",
        EventKind::Client {
            client: "c".into(),
            event: ClientEvent::MessageSent {
                msg_id: "a:1".into(),
            },
        },
    );
    let v = run(&[sent(1, "a:1"), other, accepted(2, "a:1")]);
    assert_eq!(v, ["message a:1 from c was never accepted (lost)"]);
}

#[test]
fn excused_receivers_and_settling_time() {
    let base = [
        opened(0, "a"),
        opened(0, "b"),
        sent(1, "a:1"),
        accepted(2, "a:1"),
    ];
    let mut left = base.to_vec();
    left.push(ev(
        3,
        "server",
        EventKind::Server(ServerEvent::UserLeft {
            client: "b".into(),
            room: "r".into(),
        }),
    ));
    assert!(run(&left).is_empty());
    let mut resync = base.to_vec();
    resync.push(ev(
        3,
        "h",
        EventKind::Client {
            client: "b".into(),
            event: ClientEvent::Resumed {
                recovered: false,
                replayed: 0,
            },
        },
    ));
    assert!(run(&resync).is_empty());
    let mut restart = base.to_vec();
    restart.push(ev(
        3,
        "server",
        EventKind::Server(ServerEvent::ServerStarted { listen: "x".into() }),
    ));
    restart.push(accepted(4, "a:1"));
    assert!(run(&restart).is_empty(), "a new server may accept it again");
    // ctx() ends at 100 s; the settling time is 5 s.
    assert!(run(&[sent(96_000, "a:9")]).is_empty());
    assert_eq!(run(&[sent(94_000, "a:9")]).len(), 1);
}

#[test]
fn a_fault_healing_as_the_run_ends_excuses_what_it_held_up() {
    let partition = |end_ms: u64| {
        [
            ev(
                5_000,
                "sim",
                EventKind::FaultStart {
                    id: 0,
                    fault: crate::event::FaultDesc::Partition {
                        a: "h".into(),
                        b: "proxy".into(),
                        duration_ms: end_ms - 5_000,
                    },
                },
            ),
            sent(10_000, "a:1"),
            ev(
                end_ms,
                "sim",
                EventKind::FaultEnd {
                    id: 0,
                    fault: "partition",
                },
            ),
        ]
    };
    assert!(run(&partition(99_000)).is_empty(), "late, not lost");
    assert_eq!(
        run(&partition(90_000)),
        ["message a:1 from a was never accepted (lost)"],
        "10 s of healthy link to resend it"
    );
}

/// Three hours of a message every 10 s from a to b, forgetting as the judge does: a message
/// received twice late in the run and one never accepted are still caught, and what the
/// checker holds is what one retention (810 s here) needs, not the run's 1,080 messages.
#[test]
fn forgetting_keeps_the_verdict_and_bounds_the_state() {
    let mut events = vec![opened(0, "a"), opened(0, "b")];
    let last = 1_080u64;
    for n in 1..=last {
        let (t, id) = (n * 10_000, n.to_string());
        events.push(sent(t, &id));
        if n != 7 {
            events.push(accepted(t + 1, &id));
            events.push(received(t + 2, &id, n));
        }
    }
    // A repeat of a message received 100 s before.
    events.push(received(
        last * 10_000 + 5,
        &(last - 10).to_string(),
        last + 1,
    ));
    let mut c = Delivery::new(ctx());
    let mut all: Vec<Event> = ["a", "b"]
        .map(|client| {
            ev(
                0,
                "h",
                EventKind::Client {
                    client: client.into(),
                    event: ClientEvent::Connected { attempt: 1 },
                },
            )
        })
        .to_vec();
    all.extend(events);
    let found: Vec<String> = feed_forgetting_and_finish(&mut c, &ctx(), &all)
        .into_iter()
        .map(|v| v.detail)
        .collect();
    assert!(
        found
            .iter()
            .any(|d| d.contains("received message 1070 from a twice")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|d| d.contains("message 7 from a was never accepted")),
        "{found:?}"
    );
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(c.ordinals.len() < 120, "{} ordinals held", c.ordinals.len());
    assert!(c.accepted_ever.len() < 120, "{}", c.accepted_ever.len());
    assert!(c.msg_ids.len() < 120, "{} ids held", c.msg_ids.len());
    assert!(c.received.iter().all(|runs| runs.holes().count() <= 1));
    assert!(
        c.summary().starts_with("1080 messages sent, 1079 accepted"),
        "{}",
        c.summary()
    );
}

/// A server that reports no sessions: a message acknowledged to its sender is owed to every
/// member connected from well before until it settled, and a member that never gets it is
/// named; one that connected just before the acknowledgement, or was told to resync, is not.
#[test]
fn from_the_clients_eyes_every_member_connected_throughout_gets_each_message() {
    let rooms = ["a", "b", "c", "d"]
        .map(|c| (c.to_string(), std::sync::Arc::<str>::from("r")))
        .into_iter()
        .collect();
    let ctx = CheckContext { rooms, ..ctx() };
    let client = |t: u64, c: &str, event: ClientEvent| {
        ev(
            t,
            "h",
            EventKind::Client {
                client: c.into(),
                event,
            },
        )
    };
    let mut events = Vec::new();
    for c in ["a", "b", "c"] {
        events.push(client(0, c, ClientEvent::Connecting { attempt: 1 }));
        events.push(client(1, c, ClientEvent::Connected { attempt: 1 }));
    }
    // d connects a moment before the acknowledgement: it may have joined after acceptance.
    events.push(client(9_000, "d", ClientEvent::Connecting { attempt: 1 }));
    events.push(client(9_001, "d", ClientEvent::Connected { attempt: 1 }));
    events.push(client(
        10_000,
        "a",
        ClientEvent::MessageSent { msg_id: "1".into() },
    ));
    events.push(client(
        10_010,
        "a",
        ClientEvent::MessageAcked {
            msg_id: "1".into(),
            seq: 1,
        },
    ));
    events.push(received(10_012, "1", 1));
    let run = |events: &[Event]| -> Vec<String> {
        let mut c = Delivery::new(ctx.clone());
        feed_and_finish(&mut c, &ctx, events)
            .into_iter()
            .map(|v| v.detail)
            .collect()
    };
    assert_eq!(run(&events), ["message 1 from a never reached c"]);
    // c told to resync after it: excused.
    let mut resynced = events.clone();
    resynced.push(client(
        12_000,
        "c",
        ClientEvent::Resumed {
            recovered: false,
            replayed: 0,
        },
    ));
    assert!(run(&resynced).is_empty());
    // c gets it: nothing owed.
    let mut delivered = events.clone();
    delivered.push(client(
        10_013,
        "c",
        ClientEvent::Message {
            msg_id: "1".into(),
            seq: 1,
            from: "a".into(),
            username: String::new(),
            text: String::new(),
        },
    ));
    assert!(run(&delivered).is_empty());
}
