//! Unit tests of the server machine: one test per rule of its contract (sessions, takeover and
//! grace here; frames in [`frames`]).

use super::*;
use crate::config::KeylessResume;
use crate::seed::derive_rng;
use std::time::Duration;

fn t(ms: u64) -> MonoTime {
    MonoTime::from_millis(ms)
}

fn join(id: &str) -> JoinRequest {
    JoinRequest {
        client_id: id.into(),
        username: format!("user-{id}"),
        room: "lobby".into(),
        session_key: Some(format!("key-{id}")),
        last_seq: None,
        epoch: None,
        attempt: None,
    }
}

/// A join request without a session key (the seed article's client).
fn keyless(id: &str) -> JoinRequest {
    JoinRequest {
        session_key: None,
        ..join(id)
    }
}

fn server() -> ServerMachine {
    ServerMachine::new(ServerConfig::default(), derive_rng(1, "server"))
}

type Drained = (Vec<(ConnId, Outbound)>, Vec<ConnId>, Vec<ServerEvent>);

fn drain(m: &mut ServerMachine) -> Drained {
    (
        std::iter::from_fn(|| m.poll_transmit()).collect(),
        std::iter::from_fn(|| m.poll_drop()).collect(),
        std::iter::from_fn(|| m.poll_event()).collect(),
    )
}

fn text(o: &Outbound) -> &str {
    match o {
        Outbound::Text(s) => s,
        other => panic!("not text: {other:?}"),
    }
}

/// The welcome sent on `conn`, parsed.
fn welcome(tx: &[(ConnId, Outbound)], conn: ConnId) -> (String, bool, u64, u64) {
    tx.iter()
        .filter(|(c, _)| *c == conn)
        .find_map(|(_, o)| match protocol::decode::<ServerMessage>(text(o)) {
            Ok(ServerMessage::Welcome {
                resume_secret,
                recovered,
                replayed,
                last_seq,
                ..
            }) => Some((resume_secret, recovered, replayed, last_seq)),
            _ => None,
        })
        .expect("a welcome")
}

fn chat(id: &str) -> Inbound {
    Inbound::Text(format!(r#"{{"type":"chat_message","text":"hi","id":"{id}"}}"#).into())
}

/// Members a (conn 1) and b (conn 2); returns a's secret.
fn two_members(m: &mut ServerMachine) -> String {
    m.handle_open(t(0), 1, join("a"));
    m.handle_open(t(0), 2, join("b"));
    welcome(&drain(m).0, 1).0
}

fn resume_join(id: &str, secret: &str, last_seq: Option<u64>) -> JoinRequest {
    JoinRequest {
        session_key: Some(secret.into()),
        last_seq,
        ..join(id)
    }
}

#[test]
fn a_session_opened_by_an_abandoned_attempt_is_resumed_with_the_same_key() {
    let mut m = server();
    // The ghost: the upgrade completed after the client had given up on the attempt.
    m.handle_open(t(0), 1, join("a"));
    m.handle_end(t(100), 1, ConnEnd::Closed);
    let _ = drain(&mut m);
    // The client's next attempt presents the same key: its own session, not a stranger's.
    assert_eq!(m.handle_claim(t(2_000), &join("a")), Ok(()));
    m.handle_open(t(2_000), 2, join("a"));
    let (tx, _, events) = drain(&mut m);
    assert!(events.contains(&ServerEvent::UserReconnected {
        client: "a".into(),
        room: "lobby".into()
    }));
    assert_eq!(welcome(&tx, 2).0, "key-a");
    // A stranger with the same client id and another key is refused before the upgrade.
    let stranger = resume_join("a", "other-key", None);
    assert_eq!(
        m.handle_claim(t(3_000), &stranger),
        Err(ClaimRefusal::KeyMismatch)
    );
    assert_eq!(ClaimRefusal::KeyMismatch.status(), 409);
}

#[test]
fn an_older_attempt_never_takes_over_from_a_newer_one() {
    let mut m = server();
    let attempt = |n| JoinRequest {
        attempt: Some(n),
        ..join("a")
    };
    m.handle_open(t(0), 1, attempt(1));
    // Attempt 3 resumes; attempt 2, delayed in the network, arrives after it.
    assert_eq!(m.handle_claim(t(10), &attempt(3)), Ok(()));
    m.handle_open(t(10), 2, attempt(3));
    let _ = drain(&mut m);
    assert_eq!(
        m.handle_claim(t(20), &attempt(2)),
        Err(ClaimRefusal::StaleAttempt)
    );
    // Had it slipped past the claim, the upgrade is still closed, never a takeover.
    m.handle_open(t(20), 3, attempt(2));
    let (_, drops, _) = drain(&mut m);
    assert_eq!(drops, [3]);
    assert_eq!(m.connections(), 1);
    // A newer attempt may take over (the client's own reconnect over a dead link).
    assert_eq!(m.handle_claim(t(30), &attempt(4)), Ok(()));
}

#[test]
fn keyless_clients_resume_by_client_id_unless_the_server_requires_a_key() {
    // client_id (default): the seed article's contract.
    let mut m = server();
    m.handle_open(t(0), 1, keyless("a"));
    m.handle_open(t(0), 2, keyless("b"));
    m.handle_end(t(10), 1, ConnEnd::Closed);
    let _ = drain(&mut m);
    assert_eq!(m.handle_claim(t(1_000), &keyless("a")), Ok(()));
    m.handle_open(t(1_000), 3, keyless("a"));
    let (tx, _, events) = drain(&mut m);
    assert!(welcome(&tx, 3).1, "recovered");
    assert_eq!(
        presence(&events),
        ["user_reconnected"],
        "the room sees the user come back"
    );
    // A keyless claim of a live keyless session takes it over.
    assert_eq!(m.handle_claim(t(2_000), &keyless("a")), Ok(()));
    m.handle_open(t(2_000), 4, keyless("a"));
    assert_eq!(drain(&mut m).1, [3]);
    // A session opened with a key is never resumed without it.
    m.handle_open(t(3_000), 5, join("k"));
    assert_eq!(
        m.handle_claim(t(3_000), &keyless("k")),
        Err(ClaimRefusal::KeyRequired)
    );

    // key: a keyless client may open a session but never claim one.
    let config = ServerConfig {
        keyless_resume: KeylessResume::Key,
        ..ServerConfig::default()
    };
    let mut m = ServerMachine::new(config, derive_rng(1, "server"));
    assert_eq!(m.handle_claim(t(0), &keyless("a")), Ok(()));
    m.handle_open(t(0), 1, keyless("a"));
    m.handle_end(t(10), 1, ConnEnd::Closed);
    assert_eq!(
        m.handle_claim(t(1_000), &keyless("a")),
        Err(ClaimRefusal::KeyRequired)
    );
    // The key the server drew and sent in `welcome` still works.
    let (tx, _, _) = drain(&mut m);
    let drawn = welcome(&tx, 1).0;
    assert_eq!(
        m.handle_claim(t(1_000), &resume_join("a", &drawn, Some(0))),
        Ok(())
    );
}

#[test]
fn join_welcomes_with_a_secret_and_tells_the_room() {
    let mut m = server();
    m.handle_open(t(0), 1, join("a"));
    m.handle_open(t(0), 2, keyless("b"));
    let (tx, drops, events) = drain(&mut m);
    assert!(drops.is_empty());
    let (key, recovered, _, _) = welcome(&tx, 1);
    assert_eq!(key, "key-a", "the client's own key is the session's");
    assert!(!recovered);
    let drawn = welcome(&tx, 2).0;
    assert_eq!(
        drawn.len(),
        32,
        "a keyless client gets a key drawn by the server"
    );
    assert!(tx
        .iter()
        .any(|(c, o)| *c == 1 && text(o) == r#"{"type":"user_joined","username":"user-b"}"#));
    assert!(events.contains(&ServerEvent::SessionOpened {
        client: "b".into(),
        room: "lobby".into(),
        conn: 2,
        resumed: false
    }));
}

#[test]
fn chat_is_numbered_acked_and_broadcast_to_others() {
    let mut m = server();
    two_members(&mut m);
    m.handle_inbound(t(10), 1, chat("a:1"));
    let (tx, _, events) = drain(&mut m);
    assert_eq!(
        tx,
        [
            (1, Outbound::Text(r#"{"type":"ack","id":"a:1","seq":1}"#.into())),
            (
                2,
                Outbound::Text(
                    r#"{"type":"chat_message","id":"a:1","from":"a","username":"user-a","text":"hi","seq":1}"#
                        .into()
                )
            ),
        ]
    );
    assert_eq!(
        events,
        [ServerEvent::MessageAccepted {
            client: "a".into(),
            msg_id: "a:1".into(),
            seq: 1
        }]
    );
}

/// Drops a's connection at `at`; returns the events.
fn drop_a(m: &mut ServerMachine, conn: ConnId, at: u64) -> Vec<ServerEvent> {
    m.handle_end(t(at), conn, ConnEnd::Reset);
    drain(m).2
}

fn presence(events: &[ServerEvent]) -> Vec<&'static str> {
    events
        .iter()
        .map(ServerEvent::name)
        .filter(|n| n.starts_with("user_"))
        .collect()
}

#[test]
fn reconnect_inside_the_grace_period_resumes_the_session() {
    let mut m = server();
    let secret = two_members(&mut m);
    assert_eq!(presence(&drop_a(&mut m, 1, 1_000)), ["user_away"]);
    m.handle_open(t(30_999), 3, resume_join("a", &secret, Some(0)));
    let (tx, _, events) = drain(&mut m);
    assert_eq!(presence(&events), ["user_reconnected"]);
    let (again, recovered, _, _) = welcome(&tx, 3);
    assert!(recovered);
    assert_eq!(again, secret);
    assert!(tx
        .iter()
        .any(|(c, o)| *c == 2 && text(o).contains("user_reconnected")));
}

#[test]
fn reconnect_exactly_at_or_after_the_grace_period_is_a_new_session() {
    for at in [31_000, 45_000] {
        let mut m = server();
        let secret = two_members(&mut m);
        drop_a(&mut m, 1, 1_000);
        m.handle_open(t(at), 3, resume_join("a", &secret, Some(0)));
        let (tx, _, events) = drain(&mut m);
        assert_eq!(presence(&events), ["user_left", "user_joined"], "at {at}");
        let (_, recovered, _, _) = welcome(&tx, 3);
        assert!(!recovered);
    }
    // Without a reconnect, the timer ends the session exactly one grace period later.
    let mut m = server();
    two_members(&mut m);
    drop_a(&mut m, 1, 1_000);
    assert_eq!(
        m.poll_timeout(),
        Some(t(20_000)),
        "b's heartbeat comes first"
    );
    m.handle_timeout(t(30_999));
    assert!(!presence(&drain(&mut m).2).contains(&"user_left"));
    m.handle_timeout(t(31_000));
    assert!(presence(&drain(&mut m).2).contains(&"user_left"));
}

#[test]
fn a_second_drop_restarts_the_grace_period() {
    let mut m = server();
    let secret = two_members(&mut m);
    drop_a(&mut m, 1, 1_000);
    m.handle_open(t(10_000), 3, resume_join("a", &secret, None));
    let _ = drain(&mut m);
    drop_a(&mut m, 3, 20_000);
    // The first drop's deadline (31 s) must not end the session.
    m.handle_timeout(t(31_000));
    assert!(!presence(&drain(&mut m).2).contains(&"user_left"));
    m.handle_timeout(t(49_999));
    assert!(!presence(&drain(&mut m).2).contains(&"user_left"));
    m.handle_timeout(t(50_000));
    assert_eq!(presence(&drain(&mut m).2), ["user_left"]);
}

#[test]
fn a_newer_connection_with_the_secret_takes_over_without_presence_change() {
    let mut m = server();
    let secret = two_members(&mut m);
    m.handle_open(t(10), 3, resume_join("a", &secret, Some(0)));
    let (tx, drops, events) = drain(&mut m);
    assert!(tx.iter().any(|(c, o)| *c == 1
        && matches!(
            o,
            Outbound::Close {
                code: frame::CLOSE_REPLACED,
                ..
            }
        )));
    assert_eq!(drops, [1]);
    assert!(presence(&events).is_empty());
    assert_eq!(m.connections(), 2);
}

#[test]
fn a_wrong_or_missing_secret_never_takes_over() {
    for session_key in [Some("guess".to_string()), None] {
        let mut m = server();
        two_members(&mut m);
        let j = JoinRequest {
            session_key,
            ..join("a")
        };
        // Refused before the upgrade...
        assert!(m.handle_claim(t(10), &j).is_err());
        assert_eq!(
            drain(&mut m).2,
            [ServerEvent::ResumeRefused { client: "a".into() }]
        );
        // ...and if the session was taken between the claim and the upgrade, closed.
        m.handle_open(t(10), 3, j);
        let (tx, drops, events) = drain(&mut m);
        assert!(matches!(
            &tx[..],
            [(
                3,
                Outbound::Close {
                    code: frame::CLOSE_RESUME_REFUSED,
                    ..
                }
            )]
        ));
        assert_eq!(drops, [3]);
        assert_eq!(events, [ServerEvent::ResumeRefused { client: "a".into() }]);
        // a's own connection is untouched and still served.
        m.handle_inbound(t(20), 1, chat("a:1"));
        assert!(drain(&mut m).0.iter().any(|(c, _)| *c == 1));
    }
}

mod frames;

/// The chat messages sent on `conn`, by sequence number.
fn chats(tx: &[(ConnId, Outbound)], conn: ConnId) -> Vec<u64> {
    tx.iter()
        .filter(|(c, _)| *c == conn)
        .filter_map(|(_, o)| match protocol::decode::<ServerMessage>(text(o)) {
            Ok(ServerMessage::ChatMessage { seq, .. }) => Some(seq),
            _ => None,
        })
        .collect()
}

/// A keyless client that never says what it has seen (the seed article's): after an orderly
/// end (a proxy's idle kill, its own close) its resume replays exactly what was sent while it
/// was away — not the room's history from before its session, not what it had read.
#[test]
fn a_keyless_resume_without_last_seq_after_an_orderly_end_replays_what_it_missed() {
    let mut m = server();
    m.handle_open(t(0), 1, keyless("a"));
    m.handle_inbound(t(10), 1, chat("a-1")); // seq 1, before b's session
    m.handle_open(t(20), 2, keyless("b"));
    m.handle_inbound(t(30), 1, chat("a-2")); // seq 2: b reads it
    let _ = drain(&mut m);
    m.handle_end(t(40), 2, ConnEnd::Closed);
    m.handle_inbound(t(50), 1, chat("a-3")); // seq 3: b is away
    let _ = drain(&mut m);
    m.handle_open(t(60), 3, keyless("b"));
    let (tx, _, _) = drain(&mut m);
    let (_, recovered, replayed, _) = welcome(&tx, 3);
    assert!(recovered);
    assert_eq!((replayed, chats(&tx, 3)), (1, vec![3]));
}

/// After a broken end (a reset, a heartbeat timeout), what was in flight may be lost: the
/// resume replays everything after the last message a pong proved read.
#[test]
fn a_keyless_resume_after_a_broken_end_replays_from_the_last_pong() {
    let config = ServerConfig::default();
    let interval = config.heartbeat.interval.expect("a heartbeat");
    let mut m = ServerMachine::new(config, derive_rng(1, "server"));
    m.handle_open(t(0), 1, keyless("a"));
    m.handle_open(t(0), 2, keyless("b"));
    m.handle_inbound(t(10), 1, chat("a-1")); // seq 1
    let _ = drain(&mut m);
    // b is silent for a ping interval: pinged, and its pong proves seq 1 read.
    let ping_at = interval.as_millis() as u64 + 5;
    m.handle_timeout(t(ping_at));
    let (tx, _, _) = drain(&mut m);
    assert!(tx
        .iter()
        .any(|(c, o)| *c == 2 && matches!(o, Outbound::Ping(_))));
    m.handle_inbound(t(ping_at + 1), 1, chat("a-2")); // seq 2, sent after the ping
    m.handle_inbound(t(ping_at + 2), 2, Inbound::Pong);
    m.handle_inbound(t(ping_at + 3), 1, chat("a-3")); // seq 3
    let _ = drain(&mut m);
    m.handle_end(t(ping_at + 4), 2, ConnEnd::Reset);
    m.handle_open(t(ping_at + 5), 3, keyless("b"));
    let (tx, _, _) = drain(&mut m);
    assert_eq!(
        chats(&tx, 3),
        vec![2, 3],
        "sent after the ping: not proved read"
    );
}

/// A client with a session key that resumes without `last_seq` has read no welcome of this
/// session (wsim's client sends `last_seq` once it has): everything since the session opened
/// is replayed, nothing from before it.
#[test]
fn a_keyed_resume_without_last_seq_replays_from_where_the_session_opened() {
    let mut m = server();
    m.handle_open(t(0), 1, join("a"));
    m.handle_inbound(t(10), 1, chat("a-1")); // seq 1, before b's session
    m.handle_open(t(20), 2, join("b"));
    m.handle_inbound(t(30), 1, chat("a-2")); // seq 2
    let _ = drain(&mut m);
    m.handle_end(t(40), 2, ConnEnd::Closed);
    m.handle_open(t(50), 3, join("b"));
    let (tx, _, _) = drain(&mut m);
    assert_eq!(chats(&tx, 3), vec![2]);
}

/// When a room's last session expires its history goes; the room keeps counting if it fills
/// again, and the names of emptied rooms kept are bounded by `max_sessions`.
#[test]
fn an_emptied_room_releases_its_history_and_keeps_counting() {
    let config = ServerConfig {
        max_sessions: 3,
        ..ServerConfig::default()
    };
    let grace = config.grace;
    let mut m = ServerMachine::new(config, derive_rng(1, "server"));
    m.handle_open(t(0), 1, join("a"));
    m.handle_inbound(t(10), 1, chat("a-1"));
    m.handle_inbound(t(20), 1, chat("a-2"));
    assert_eq!(m.rooms["lobby"].history.len(), 2);
    m.handle_end(t(30), 1, ConnEnd::Reset);
    let expired = t(30) + grace + Duration::from_millis(1);
    m.handle_timeout(expired);
    assert!(
        m.rooms["lobby"].history.is_empty(),
        "the history is released"
    );
    m.handle_open(expired, 2, join("c"));
    m.handle_inbound(expired, 2, chat("c-1"));
    let (tx, _, _) = drain(&mut m);
    assert!(tx
        .iter()
        .any(|(c, o)| *c == 2 && text(o).contains(r#""seq":3"#)));
    // Many rooms emptied: only the latest `max_sessions` empty ones are remembered.
    let mut now = expired;
    for (i, conn) in (10..20u64).enumerate() {
        let room_join = JoinRequest {
            room: format!("room-{i}"),
            ..join(&format!("u{i}"))
        };
        m.handle_open(now, conn, room_join);
        m.handle_end(now, conn, ConnEnd::Reset);
        now = now + grace + Duration::from_millis(1);
        m.handle_timeout(now);
    }
    let empty = m.rooms.values().filter(|r| r.members.is_empty()).count();
    assert_eq!(empty, 3, "the latest `max_sessions` emptied rooms are kept");
    assert!(m.rooms.contains_key("room-9"), "the latest emptied is kept");
    assert!(
        m.rooms.contains_key("room-7"),
        "the third latest emptied is kept"
    );
    assert!(
        !m.rooms.contains_key("room-0"),
        "the oldest emptied is forgotten"
    );
}
