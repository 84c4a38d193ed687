//! Unit tests of the client machine: one test per rule of its contract.

use super::*;
use crate::seed::derive_rng;

pub(super) fn t(ms: u64) -> MonoTime {
    MonoTime::from_millis(ms)
}

pub(super) fn machine(config: ClientConfig) -> ClientMachine {
    ClientMachine::new(
        config,
        ClientIdentity {
            client_id: "c1".into(),
            username: "Ann".into(),
            room: "lobby".into(),
        },
        derive_rng(1, "test"),
        t(0),
        Duration::from_millis(500),
    )
}

pub(super) fn events(m: &mut ClientMachine) -> Vec<ClientEvent> {
    std::iter::from_fn(|| m.poll_event()).collect()
}

pub(super) fn actions(m: &mut ClientMachine) -> Vec<Action> {
    std::iter::from_fn(|| m.poll_action()).collect()
}

pub(super) fn transmits(m: &mut ClientMachine) -> Vec<Outbound> {
    std::iter::from_fn(|| m.poll_transmit()).collect()
}

pub(super) fn drain(m: &mut ClientMachine) {
    let _ = (events(m), actions(m), transmits(m));
}

/// A machine connected at `at` (first attempt started at 500 ms).
pub(super) fn connected(config: ClientConfig, at: u64) -> ClientMachine {
    let mut m = machine(config);
    m.handle_timeout(t(500));
    m.handle_connected(t(at));
    drain(&mut m);
    m
}

pub(super) fn disconnect_reason(events: &[ClientEvent]) -> Option<DisconnectReason> {
    events.iter().find_map(|e| match e {
        ClientEvent::Disconnected { reason } => Some(*reason),
        _ => None,
    })
}

pub(super) fn text(s: &str) -> Inbound {
    Inbound::Text(s.into())
}

pub(super) fn chat(seq: u64) -> Inbound {
    text(&format!(
        r#"{{"type":"chat_message","id":"x:{seq}","from":"x","username":"X","text":"t","seq":{seq}}}"#
    ))
}

pub(super) fn sent_texts(out: Vec<Outbound>) -> Vec<String> {
    out.into_iter()
        .filter_map(|o| match o {
            Outbound::Text(s) => Some(s.to_string()),
            _ => None,
        })
        .collect()
}

/// Reconnects a connected machine after its link ended; returns the attempt's action.
pub(super) fn reconnect(m: &mut ClientMachine, at: u64) -> Action {
    m.handle_link_end(t(at), LinkEnd::Eof);
    let until = m.poll_timeout().expect("a retry is scheduled");
    m.handle_timeout(until);
    let action = actions(m).pop().expect("connect");
    m.handle_connected(until + Duration::from_millis(5));
    action
}

#[test]
fn first_attempt_waits_for_the_start_delay_with_a_seeded_key() {
    let mut m = machine(ClientConfig::default());
    assert_eq!(m.poll_timeout(), Some(t(500)));
    m.handle_timeout(t(499));
    assert!(actions(&mut m).is_empty());
    m.handle_timeout(t(500));
    let a = actions(&mut m);
    assert!(matches!(
        &a[..],
        [Action::Connect { key, session: SessionClaim { key: session, last_seq: None, attempt: 1, epoch: None } }]
            if key.len() == 24 && session.len() == 32
    ));
    assert_eq!(events(&mut m), [ClientEvent::Connecting { attempt: 1 }]);
    let mut again = machine(ClientConfig::default());
    again.handle_timeout(t(500));
    assert_eq!(actions(&mut again), a, "the key comes from the seeded RNG");
}

#[test]
fn silent_link_is_detected_exactly_at_interval_plus_timeout() {
    let mut m = connected(ClientConfig::default(), 1_000);
    assert_eq!(m.poll_timeout(), Some(t(21_000)));
    m.handle_timeout(t(21_000));
    assert!(matches!(&transmits(&mut m)[..], [Outbound::Ping(_)]));
    m.handle_timeout(t(40_999));
    assert!(events(&mut m).is_empty());
    m.handle_timeout(t(41_000));
    assert_eq!(
        disconnect_reason(&events(&mut m)),
        Some(DisconnectReason::PingTimeout)
    );
    // The dead link is closed with a short linger, never awaited.
    assert_eq!(
        actions(&mut m),
        [Action::Disconnect {
            close: Some((frame::CLOSE_GOING_AWAY, "ping_timeout".into()))
        }]
    );
    assert!(!m.is_connected());
}

#[test]
fn app_heartbeat_sends_json_pings() {
    let config = ClientConfig {
        heartbeat: HeartbeatMode::App,
        ..ClientConfig::default()
    };
    let mut m = connected(config, 0);
    m.handle_timeout(t(20_000));
    assert_eq!(sent_texts(transmits(&mut m)), [r#"{"type":"ping"}"#]);
}

#[test]
fn any_inbound_frame_postpones_detection() {
    let mut m = connected(ClientConfig::default(), 1_000);
    m.handle_timeout(t(21_000));
    m.handle_inbound(t(30_000), text(r#"{"type":"user_joined","username":"B"}"#));
    m.handle_timeout(t(41_000));
    assert!(disconnect_reason(&events(&mut m)).is_none());
    assert_eq!(m.poll_timeout(), Some(t(50_000)));
}

#[test]
fn watchdog_drops_a_link_when_the_server_goes_silent() {
    // Keepalive off (as when only the server pings): the watchdog still finds the silence.
    let config = ClientConfig {
        keepalive: crate::keepalive::KeepaliveConfig {
            interval: None,
            timeout: None,
        },
        ..ClientConfig::default()
    };
    let mut m = connected(config, 0);
    m.handle_inbound(t(20_000), Inbound::Ping);
    assert_eq!(m.poll_timeout(), Some(t(60_000)));
    m.handle_timeout(t(59_999));
    assert!(events(&mut m).is_empty());
    m.handle_timeout(t(60_000));
    assert_eq!(
        disconnect_reason(&events(&mut m)),
        Some(DisconnectReason::ServerSilent)
    );
}

#[test]
fn stale_deadline_from_the_previous_connection_never_fires() {
    let mut m = connected(ClientConfig::default(), 1_000);
    m.handle_timeout(t(21_000)); // ping sent: old deadline 41 s
    let _ = reconnect(&mut m, 30_000);
    drain(&mut m);
    m.handle_timeout(t(41_000)); // the old connection's deadline
    assert!(events(&mut m).is_empty());
    assert!(m.is_connected());
    assert!(m.poll_timeout().expect("keepalive") > t(50_000));
}

#[test]
fn hanging_handshake_times_out() {
    let mut m = machine(ClientConfig::default());
    m.handle_timeout(t(500));
    drain(&mut m);
    assert_eq!(m.poll_timeout(), Some(t(5_500)));
    m.handle_timeout(t(5_500));
    assert_eq!(
        disconnect_reason(&events(&mut m)),
        Some(DisconnectReason::ConnectTimeout)
    );
    assert_eq!(actions(&mut m), [Action::Disconnect { close: None }]);
}

#[test]
fn offline_messages_are_buffered_and_sent_in_order_after_connecting() {
    let mut m = machine(ClientConfig::default());
    let a = m.send(t(0), "one".into(), None).unwrap();
    let b = m.send(t(1), "two".into(), None).unwrap();
    assert_ne!(a, b);
    assert_eq!(
        events(&mut m),
        [
            ClientEvent::MessageBuffered {
                msg_id: a.clone(),
                pending: 1
            },
            ClientEvent::MessageBuffered {
                msg_id: b.clone(),
                pending: 2
            },
        ]
    );
    assert!(transmits(&mut m).is_empty());
    m.handle_timeout(t(500));
    m.handle_connected(t(600));
    let texts = sent_texts(transmits(&mut m));
    assert!(texts[0].contains("\"one\"") && texts[0].contains(&a));
    assert!(texts[1].contains("\"two\"") && texts[1].contains(&b));
    assert_eq!(m.pending(), 2, "written is not acknowledged");
}

#[test]
fn the_buffer_is_bounded_and_overflow_is_an_error() {
    let config = ClientConfig {
        max_pending: 2,
        ..ClientConfig::default()
    };
    let mut m = machine(config);
    m.send(t(0), "1".into(), None).unwrap();
    m.send(t(0), "2".into(), None).unwrap();
    assert_eq!(
        m.send(t(0), "3".into(), None),
        Err(SendError::BufferFull { limit: 2 })
    );
    assert_eq!(m.pending(), 2);
}

#[test]
fn only_an_ack_removes_a_message_and_unacked_ones_are_resent_after_reconnect() {
    let mut m = connected(ClientConfig::default(), 0);
    let a = m.send(t(1), "a".into(), None).unwrap();
    let b = m.send(t(2), "b".into(), None).unwrap();
    drain(&mut m);
    m.handle_inbound(
        t(3),
        text(&format!(r#"{{"type":"ack","id":"{a}","seq":7}}"#)),
    );
    assert_eq!(
        events(&mut m),
        [ClientEvent::MessageAcked {
            msg_id: a.clone(),
            seq: 7
        }]
    );
    assert_eq!(m.pending(), 1);
    let _ = reconnect(&mut m, 10);
    let texts = sent_texts(transmits(&mut m));
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(
        texts[0].contains(&b),
        "the unacknowledged message is sent again"
    );
    let _ = events(&mut m);
    // A duplicate ack (the server de-duplicated the resend) changes nothing.
    m.handle_inbound(
        t(20),
        text(&format!(r#"{{"type":"ack","id":"{a}","seq":7}}"#)),
    );
    assert!(events(&mut m).is_empty());
}

#[test]
fn replays_never_deliver_a_sequence_number_twice() {
    let mut m = connected(ClientConfig::default(), 0);
    for seq in [1, 2, 3] {
        m.handle_inbound(t(seq), chat(seq));
    }
    // A replay overlapping what was seen, and an old straggler.
    for seq in [2, 3, 4, 1, 5] {
        m.handle_inbound(t(10 + seq), chat(seq));
    }
    let seqs: Vec<u64> = events(&mut m)
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::Message { seq, .. } => Some(seq),
            _ => None,
        })
        .collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
}

#[test]
fn the_same_message_under_a_new_number_is_delivered_once() {
    let mut m = connected(ClientConfig::default(), 0);
    let msg = |seq: u64| {
        text(&format!(
            r#"{{"type":"chat_message","id":"x:1","from":"x","username":"X","text":"t","seq":{seq}}}"#
        ))
    };
    m.handle_inbound(t(1), msg(7));
    m.handle_inbound(t(2), msg(9));
    let delivered = events(&mut m)
        .iter()
        .filter(|e| matches!(e, ClientEvent::Message { .. }))
        .count();
    assert_eq!(delivered, 1);
}

/// The memory of delivered messages is bounded (`DELIVERED_MEMORY`): a repeat of one of the
/// last 4,096 is dropped, a repeat of an older one is shown again.
#[test]
fn the_memory_of_delivered_messages_keeps_the_last_4096() {
    let mut m = connected(ClientConfig::default(), 0);
    let msg = |id: usize, seq: usize| {
        text(&format!(
            r#"{{"type":"chat_message","id":"x:{id}","from":"x","username":"X","text":"t","seq":{seq}}}"#
        ))
    };
    let delivered = |m: &mut ClientMachine| {
        events(m)
            .iter()
            .filter(|e| matches!(e, ClientEvent::Message { .. }))
            .count()
    };
    for id in 0..=super::DELIVERED_MEMORY {
        m.handle_inbound(t(1), msg(id, id + 1));
    }
    assert_eq!(delivered(&mut m), super::DELIVERED_MEMORY + 1);
    let seq = super::DELIVERED_MEMORY + 10;
    // x:1 is among the last 4,096: a repeat (under a new number) is dropped.
    m.handle_inbound(t(2), msg(1, seq));
    assert_eq!(delivered(&mut m), 0);
    // x:0 was forgotten when x:4096 came: shown again.
    m.handle_inbound(t(3), msg(0, seq + 1));
    assert_eq!(delivered(&mut m), 1);
}

#[test]
fn reconnect_presents_the_resume_token_and_reports_the_outcome() {
    let mut m = connected(ClientConfig::default(), 0);
    let key = m.session_key().to_string();
    m.handle_inbound(
        t(1),
        text(r#"{"type":"welcome","client_id":"c1","username":"Ann","room":"lobby","resume_secret":"s","recovered":false,"replayed":0,"last_seq":4}"#),
    );
    m.handle_inbound(t(2), chat(5));
    drain(&mut m);
    let action = reconnect(&mut m, 10);
    assert!(
        matches!(
            action,
            Action::Connect { session: SessionClaim { key: ref k, last_seq: Some(5), attempt: 2, .. }, .. } if *k == key
        ),
        "the same key as the first attempt, whatever the welcome said"
    );
    m.handle_inbound(
        t(2_000),
        text(r#"{"type":"welcome","client_id":"c1","username":"Ann","room":"lobby","resume_secret":"s","recovered":false,"replayed":0,"last_seq":2}"#),
    );
    assert!(events(&mut m).contains(&ClientEvent::Resumed {
        recovered: false,
        replayed: 0
    }));
    // Not recovered (the server restarted): sequence numbers start over and are delivered.
    m.handle_inbound(t(2_001), chat(3));
    assert!(events(&mut m)
        .iter()
        .any(|e| matches!(e, ClientEvent::Message { seq: 3, .. })));
}

#[test]
fn an_acknowledgement_counts_as_a_room_number_seen() {
    let mut m = connected(ClientConfig::default(), 0);
    m.handle_inbound(
        t(1),
        text(r#"{"type":"welcome","client_id":"c1","username":"Ann","room":"lobby","resume_secret":"s","recovered":false,"replayed":0,"last_seq":4}"#),
    );
    let id = m.send(t(2), "hello".into(), None).expect("sent");
    drain(&mut m);
    m.handle_inbound(
        t(3),
        text(&format!(r#"{{"type":"ack","id":"{id}","seq":9}}"#)),
    );
    // An older number acknowledged again (a retry de-duplicated) moves nothing back.
    m.handle_inbound(t(4), text(r#"{"type":"ack","id":"other","seq":7}"#));
    drain(&mut m);
    let action = reconnect(&mut m, 10);
    assert!(
        matches!(
            action,
            Action::Connect {
                session: SessionClaim {
                    last_seq: Some(9),
                    ..
                },
                ..
            }
        ),
        "a lone sender resumes from its own last number, not from its welcome: {action:?}"
    );
}

#[test]
fn backoff_grows_while_failing_and_resets_after_a_healthy_link() {
    let mut m = machine(ClientConfig::default());
    let mut now = t(500);
    let mut delays = Vec::new();
    for _ in 0..6 {
        m.handle_timeout(now);
        m.handle_connect_failed(now);
        for e in events(&mut m) {
            if let ClientEvent::Reconnecting { attempt, delay } = e {
                delays.push((attempt, delay));
            }
        }
        now = m.poll_timeout().expect("retry");
    }
    let attempts: Vec<u32> = delays.iter().map(|d| d.0).collect();
    assert_eq!(attempts, [2, 3, 4, 5, 6, 7]);
    for (i, (_, delay)) in delays.iter().enumerate() {
        assert!(
            *delay <= Duration::from_secs(1 << i),
            "retry {i}: {delay:?}"
        );
    }
    m.handle_timeout(now);
    m.handle_connected(now);
    m.handle_link_end(now + Duration::from_secs(11), LinkEnd::Error);
    let ev = events(&mut m);
    assert!(
        ev.iter().any(|e| matches!(
            e,
            ClientEvent::Reconnecting { attempt: 1, delay } if *delay <= Duration::from_secs(1)
        )),
        "{ev:?}"
    );
}

#[test]
fn max_retries_gives_up() {
    let config = ClientConfig {
        max_retries: Some(2),
        ..ClientConfig::default()
    };
    let mut m = machine(config);
    let mut now = t(500);
    for _ in 0..2 {
        m.handle_timeout(now);
        m.handle_connect_failed(now);
        now = m.poll_timeout().unwrap_or(now);
    }
    assert!(events(&mut m).contains(&ClientEvent::GaveUp {
        reason: DisconnectReason::ConnectFailed
    }));
    assert!(m.is_finished());
    assert_eq!(m.poll_timeout(), None);
    assert_eq!(m.send(now, "x".into(), None), Err(SendError::Closed));
}

#[test]
fn close_frames_and_app_ping() {
    let mut m = connected(ClientConfig::default(), 1_000);
    m.handle_inbound(t(2_000), text(r#"{"type":"ping"}"#));
    assert_eq!(sent_texts(transmits(&mut m)), [r#"{"type":"pong"}"#]);
    m.handle_inbound(t(3_000), Inbound::Close(Some(1001)));
    assert_eq!(
        disconnect_reason(&events(&mut m)),
        Some(DisconnectReason::ClosedByPeer)
    );
    // Replaced by a newer connection of the same session: do not fight it.
    let mut m = connected(ClientConfig::default(), 1_000);
    m.handle_inbound(t(2_000), Inbound::Close(Some(frame::CLOSE_REPLACED)));
    assert!(m.is_finished());
}

#[test]
fn closing_stops_everything() {
    let mut m = connected(ClientConfig::default(), 1_000);
    m.close(t(2_000));
    assert!(m.is_finished());
    assert_eq!(
        actions(&mut m),
        [Action::Disconnect {
            close: Some((frame::CLOSE_NORMAL, "client_closed".into()))
        }]
    );
    assert_eq!(
        disconnect_reason(&events(&mut m)),
        Some(DisconnectReason::ClientClosed)
    );
    assert_eq!(m.poll_timeout(), None);
}

#[test]
fn a_refused_upgrade_says_its_status_then_fails_the_attempt() {
    let mut m = machine(ClientConfig::default());
    m.handle_timeout(t(500));
    m.handle_upgrade_refused(t(510), 404);
    let seen: Vec<ClientEvent> = events(&mut m)
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                ClientEvent::UpgradeRefused { .. } | ClientEvent::Disconnected { .. }
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ClientEvent::UpgradeRefused { status: 404 },
            ClientEvent::Disconnected {
                reason: DisconnectReason::ConnectFailed
            }
        ]
    );
    // Not connecting: nothing to refuse.
    m.handle_upgrade_refused(t(520), 503);
    assert!(!events(&mut m)
        .iter()
        .any(|e| matches!(e, ClientEvent::UpgradeRefused { .. })));
}
