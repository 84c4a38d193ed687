//! Unit tests of the server machine's handling of frames on a session: de-duplication and its
//! TTL, replay, bad input, heartbeats, the session limit, and numbers from another incarnation.

use super::*;

#[test]
fn duplicates_are_acked_again_not_rebroadcast_and_ids_are_per_session() {
    let mut m = server();
    two_members(&mut m);
    m.handle_inbound(t(10), 1, chat("m1"));
    let _ = drain(&mut m);
    m.handle_inbound(t(20), 1, chat("m1"));
    let (tx, _, events) = drain(&mut m);
    assert_eq!(
        tx,
        [(
            1,
            Outbound::Text(r#"{"type":"ack","id":"m1","seq":1}"#.into())
        )]
    );
    assert_eq!(
        events,
        [ServerEvent::DuplicateDropped {
            client: "a".into(),
            msg_id: "m1".into()
        }]
    );
    // Another session may use the same id: it is a different message.
    m.handle_inbound(t(30), 2, chat("m1"));
    let (_, _, events) = drain(&mut m);
    assert!(matches!(
        &events[..],
        [ServerEvent::MessageAccepted { seq: 2, .. }]
    ));
}

#[test]
fn ids_are_forgotten_after_the_ttl() {
    let mut m = server();
    two_members(&mut m);
    m.handle_inbound(t(0), 1, chat("m1"));
    m.handle_inbound(t(299_999), 1, chat("m1"));
    assert!(matches!(
        drain(&mut m).2.last(),
        Some(ServerEvent::DuplicateDropped { .. })
    ));
    m.handle_inbound(t(300_000), 1, chat("m1"));
    assert!(matches!(
        drain(&mut m).2.last(),
        Some(ServerEvent::MessageAccepted { seq: 2, .. })
    ));
}

#[test]
fn replay_from_any_position_and_a_gap_is_never_silent() {
    let config = ServerConfig {
        history_limit: 5,
        ..ServerConfig::default()
    };
    let mut m = ServerMachine::new(config, derive_rng(1, "server"));
    let secret = two_members(&mut m);
    drop_a(&mut m, 1, 0);
    for i in 1..=8 {
        m.handle_inbound(t(i), 2, chat(&format!("b{i}")));
    }
    let _ = drain(&mut m);
    // History keeps seq 4..=8.
    let mut conn = 10;
    for (seen, recovered, first) in [
        (8, true, None),
        (5, true, Some(6)),
        (3, true, Some(4)),
        (2, false, None),
        (0, false, None),
    ] {
        conn += 1;
        m.handle_open(t(100), conn, resume_join("a", &secret, Some(seen)));
        let (tx, _, _) = drain(&mut m);
        let (_, rec, replayed, last_seq) = welcome(&tx, conn);
        assert_eq!((rec, last_seq), (recovered, 8), "seen {seen}");
        let seqs: Vec<u64> = tx
            .iter()
            .filter(|(c, _)| *c == conn)
            .filter_map(|(_, o)| match protocol::decode::<ServerMessage>(text(o)) {
                Ok(ServerMessage::ChatMessage { seq, .. }) => Some(seq),
                _ => None,
            })
            .collect();
        assert_eq!(replayed, seqs.len() as u64);
        assert_eq!(seqs.first().copied(), first, "seen {seen}");
        assert!(
            seqs.windows(2).all(|w| w[0] + 1 == w[1]),
            "in order: {seqs:?}"
        );
    }
}

#[test]
fn bad_input_closes_only_that_connection_with_the_right_code() {
    for (frame, code) in [
        (
            Inbound::Text("{not json".into()),
            frame::CLOSE_INVALID_PAYLOAD,
        ),
        (Inbound::Binary, frame::CLOSE_UNSUPPORTED_DATA),
    ] {
        let mut m = server();
        two_members(&mut m);
        m.handle_inbound(t(10), 1, frame);
        let (tx, drops, _) = drain(&mut m);
        assert!(
            matches!(&tx[0], (1, Outbound::Close { code: c, .. }) if *c == code),
            "{tx:?}"
        );
        assert_eq!(drops, [1]);
        assert_eq!(m.connections(), 1);
        m.handle_inbound(t(20), 2, Inbound::Text(r#"{"type":"ping"}"#.into()));
        let (tx, _, _) = drain(&mut m);
        assert_eq!(tx, [(2, Outbound::Text(r#"{"type":"pong"}"#.into()))]);
    }
    let mut m = server();
    two_members(&mut m);
    m.handle_end(
        t(10),
        2,
        ConnEnd::Violation {
            code: frame::CLOSE_TOO_BIG,
            reason: "too big".into(),
        },
    );
    let (tx, drops, _) = drain(&mut m);
    assert!(matches!(
        &tx[0],
        (
            2,
            Outbound::Close {
                code: frame::CLOSE_TOO_BIG,
                ..
            }
        )
    ));
    assert_eq!(drops, [2]);
}

#[test]
fn unknown_message_type_is_answered_and_the_connection_kept() {
    let mut m = server();
    two_members(&mut m);
    m.handle_inbound(t(10), 1, Inbound::Text(r#"{"type":"dance"}"#.into()));
    let (tx, drops, _) = drain(&mut m);
    assert!(drops.is_empty());
    assert!(text(&tx[0].1).starts_with(r#"{"type":"error""#));
    assert_eq!(m.connections(), 2);
}

#[test]
fn heartbeat_pings_then_drops_a_silent_connection_and_the_session_waits() {
    let mut m = server();
    two_members(&mut m);
    m.handle_inbound(t(5_000), 2, Inbound::Pong);
    assert_eq!(m.poll_timeout(), Some(t(20_000)));
    m.handle_timeout(t(20_000));
    let (tx, _, _) = drain(&mut m);
    assert_eq!(tx, [(1, Outbound::Ping(Vec::new()))]);
    m.handle_timeout(t(39_999));
    assert!(drain(&mut m).1.is_empty());
    m.handle_timeout(t(40_000));
    let (_, drops, events) = drain(&mut m);
    assert_eq!(drops, [1]);
    assert!(events.contains(&ServerEvent::HeartbeatTimeout { client: "a".into() }));
    assert_eq!(presence(&events), ["user_away"]);
    assert_eq!(m.sessions(), 2);
    m.handle_timeout(t(69_999));
    assert!(!drain(&mut m).2.contains(&ServerEvent::UserLeft {
        client: "a".into(),
        room: "lobby".into()
    }));
    m.handle_timeout(t(40_000) + Duration::from_secs(30));
    assert!(drain(&mut m).2.contains(&ServerEvent::UserLeft {
        client: "a".into(),
        room: "lobby".into()
    }));
}

#[test]
fn the_session_limit_refuses_new_sessions() {
    let config = ServerConfig {
        max_sessions: 1,
        ..ServerConfig::default()
    };
    let mut m = ServerMachine::new(config, derive_rng(1, "server"));
    m.handle_open(t(0), 1, join("a"));
    assert_eq!(
        m.handle_claim(t(0), &join("b")),
        Err(ClaimRefusal::TooManySessions)
    );
    assert_eq!(ClaimRefusal::TooManySessions.status(), 503);
    assert!(
        drain(&mut m)
            .2
            .iter()
            .any(|e| matches!(e, ServerEvent::HandshakeRefused { status: 503, .. })),
        "the refused upgrade is an event"
    );
    m.handle_open(t(0), 2, join("b"));
    let (tx, drops, _) = drain(&mut m);
    assert!(tx.iter().any(|(c, o)| *c == 2
        && matches!(
            o,
            Outbound::Close {
                code: frame::CLOSE_TRY_AGAIN_LATER,
                ..
            }
        )));
    assert_eq!(drops, [2]);
}

#[test]
fn a_retry_after_the_session_expired_is_still_a_duplicate() {
    let mut m = server();
    two_members(&mut m);
    m.handle_inbound(t(10), 1, chat("m1"));
    let _ = drain(&mut m);
    drop_a(&mut m, 1, 1_000);
    m.handle_timeout(t(31_000));
    assert!(presence(&drain(&mut m).2).contains(&"user_left"));
    // The client's next session (a new one: the old expired) retries its unacked m1.
    m.handle_open(t(40_000), 3, join("a"));
    let _ = drain(&mut m);
    m.handle_inbound(t(40_010), 3, chat("m1"));
    let (tx, _, events) = drain(&mut m);
    assert_eq!(
        tx,
        [(
            3,
            Outbound::Text(r#"{"type":"ack","id":"m1","seq":1}"#.into())
        )]
    );
    assert!(matches!(
        &events[..],
        [ServerEvent::DuplicateDropped { .. }]
    ));
    // Past the TTL it is a new message.
    drop_a(&mut m, 3, 41_000);
    m.handle_timeout(t(71_000));
    m.handle_open(t(400_000), 4, join("a"));
    let _ = drain(&mut m);
    m.handle_inbound(t(400_010), 4, chat("m1"));
    let (_, _, events) = drain(&mut m);
    assert!(matches!(
        &events[..],
        [ServerEvent::MessageAccepted { seq: 2, .. }]
    ));
}

/// The `epoch` of the welcome sent on `conn`.
fn epoch_of(tx: &[(ConnId, Outbound)], conn: ConnId) -> String {
    tx.iter()
        .filter(|(c, _)| *c == conn)
        .find_map(|(_, o)| match protocol::decode::<ServerMessage>(text(o)) {
            Ok(ServerMessage::Welcome { epoch, .. }) => Some(epoch),
            _ => None,
        })
        .expect("a welcome")
}

#[test]
fn numbers_from_another_incarnation_replay_the_session_from_its_start() {
    let mut m = server();
    m.handle_open(t(0), 1, join("a"));
    m.handle_open(t(0), 2, join("b"));
    let (tx, _, _) = drain(&mut m);
    let (secret, _, _, _) = welcome(&tx, 1);
    let epoch = epoch_of(&tx, 1);
    assert_eq!(epoch.len(), 16, "an incarnation id: {epoch:?}");
    for (i, id) in ["b1", "b2", "b3"].into_iter().enumerate() {
        m.handle_inbound(t(10 + i as u64), 2, chat(id));
    }
    let _ = drain(&mut m);
    drop_a(&mut m, 1, 1_000);
    // a never read this incarnation's welcome: it presents seq 2 of an older incarnation.
    let foreign = JoinRequest {
        epoch: Some("00000000000000ff".into()),
        ..resume_join("a", &secret, Some(2))
    };
    m.handle_open(t(2_000), 3, foreign);
    let (tx, _, _) = drain(&mut m);
    let (_, recovered, replayed, _) = welcome(&tx, 3);
    assert!(recovered);
    assert_eq!(
        replayed, 3,
        "everything since its session opened, not after seq 2"
    );
    // The same numbers with this incarnation's epoch mean what they say.
    drop_a(&mut m, 3, 3_000);
    let native = JoinRequest {
        epoch: Some(epoch),
        ..resume_join("a", &secret, Some(2))
    };
    m.handle_open(t(4_000), 4, native);
    let (_, _, replayed, _) = welcome(&drain(&mut m).0, 4);
    assert_eq!(replayed, 1);
}

#[test]
fn a_pong_that_brings_the_next_ping_forward_moves_the_wake_up_forward() {
    // A timeout longer than the interval: after a ping the deadline is the timeout; the pong
    // makes the next ping due an interval after it, earlier than that.
    let config = ServerConfig {
        heartbeat: crate::keepalive::KeepaliveConfig {
            interval: Some(Duration::from_secs(15)),
            timeout: Some(Duration::from_secs(20)),
        },
        ..ServerConfig::default()
    };
    let mut m = ServerMachine::new(config, derive_rng(1, "server"));
    m.handle_open(t(0), 1, join("a"));
    drain(&mut m);
    assert_eq!(m.poll_timeout(), Some(t(15_000)));
    m.handle_timeout(t(15_000));
    assert_eq!(drain(&mut m).0, [(1, Outbound::Ping(Vec::new()))]);
    assert_eq!(m.poll_timeout(), Some(t(35_000)), "the pong's deadline");
    m.handle_inbound(t(16_000), 1, Inbound::Pong);
    assert_eq!(m.poll_timeout(), Some(t(31_000)), "the next ping's");
    m.handle_timeout(t(31_000));
    assert_eq!(drain(&mut m).0, [(1, Outbound::Ping(Vec::new()))]);
}

/// A frame of exactly `max_message_bytes` is a message; one byte more closes the connection
/// as too big.
#[test]
fn the_message_size_limit_is_inclusive() {
    let frame = |len: usize| {
        let head = r#"{"type":"chat_message","id":"x","text":""#;
        let tail = r#""}"#;
        let text = "a".repeat(len - head.len() - tail.len());
        Inbound::Text(format!("{head}{text}{tail}").into())
    };
    for (extra, closed) in [(0, false), (1, true)] {
        let config = ServerConfig {
            max_message_bytes: 200,
            ..ServerConfig::default()
        };
        let mut m = ServerMachine::new(config, derive_rng(1, "server"));
        two_members(&mut m);
        m.handle_inbound(t(10), 1, frame(200 + extra));
        let (tx, drops, _) = drain(&mut m);
        let too_big = tx.iter().any(|(c, o)| {
            *c == 1
                && matches!(
                    o,
                    Outbound::Close {
                        code: frame::CLOSE_TOO_BIG,
                        ..
                    }
                )
        });
        assert_eq!((too_big, !drops.is_empty()), (closed, closed), "+{extra}");
    }
}

/// With no history kept, a client that missed a message cannot recover it (told so); one that
/// missed nothing is.
#[test]
fn without_history_only_a_client_that_missed_nothing_recovers() {
    let config = ServerConfig {
        history_limit: 0,
        ..ServerConfig::default()
    };
    let mut m = ServerMachine::new(config, derive_rng(1, "server"));
    let secret = two_members(&mut m);
    drop_a(&mut m, 1, 0);
    m.handle_inbound(t(1), 2, chat("b1"));
    m.handle_inbound(t(2), 2, chat("b2"));
    let _ = drain(&mut m);
    for (conn, seen, recovered) in [(10, 1, false), (11, 2, true)] {
        m.handle_open(t(100), conn, resume_join("a", &secret, Some(seen)));
        let (tx, _, _) = drain(&mut m);
        let (_, rec, replayed, last_seq) = welcome(&tx, conn);
        assert_eq!((rec, replayed, last_seq), (recovered, 0, 2), "seen {seen}");
    }
}

#[test]
fn the_machine_reports_its_settings() {
    let config = ServerConfig {
        history_limit: 17,
        ..ServerConfig::default()
    };
    let m = ServerMachine::new(config, derive_rng(1, "server"));
    assert_eq!(m.config().history_limit, 17);
}
