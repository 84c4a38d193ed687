//! Unit tests of the client machine at its boundaries: each kills a mutant its contract tests
//! let live (the life mark's digest, the epoch rule, the written count, presence frames, the
//! retry count, the attempt deadline).

use super::tests::*;
use super::*;

/// The mark in every message id is six hex digits of the session key's FNV-1a digest.
#[test]
fn the_life_mark_is_the_keys_fnv1a_digest() {
    assert_eq!(super::life_mark(b""), "1c9dc5");
    assert_eq!(super::life_mark(b"a"), "0c292c");
    assert_eq!(super::life_mark(b"foobar"), "9cf968");
}

#[test]
fn the_machine_reports_its_settings_and_whether_it_has_a_session() {
    let config = ClientConfig {
        max_pending: 7,
        ..ClientConfig::default()
    };
    let mut m = connected(config, 0);
    assert_eq!(m.config().max_pending, 7);
    assert!(!m.has_session(), "connected is not welcomed");
    m.handle_inbound(
        t(1),
        text(r#"{"type":"welcome","client_id":"c1","username":"Ann","room":"lobby","resume_secret":"s","recovered":false,"replayed":0,"last_seq":0}"#),
    );
    assert!(m.has_session());
}

#[test]
fn an_attempt_times_out_at_its_deadline_not_before() {
    let mut m = machine(ClientConfig::default());
    m.handle_timeout(t(500));
    drain(&mut m);
    let deadline = m.poll_timeout().expect("the attempt's deadline");
    assert_eq!(deadline, t(5_500));
    m.handle_timeout(t(5_499));
    assert!(
        events(&mut m).is_empty(),
        "still within the connect timeout"
    );
    m.handle_timeout(deadline);
    assert_eq!(
        disconnect_reason(&events(&mut m)),
        Some(DisconnectReason::ConnectTimeout)
    );
}

fn welcome(epoch: &str, recovered: bool, last_seq: u64) -> Inbound {
    text(&format!(
        r#"{{"type":"welcome","client_id":"c1","username":"Ann","room":"lobby","resume_secret":"s","recovered":{recovered},"replayed":0,"last_seq":{last_seq},"epoch":"{epoch}"}}"#
    ))
}

fn delivered_seqs(m: &mut ClientMachine) -> Vec<u64> {
    events(m)
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::Message { seq, .. } => Some(seq),
            _ => None,
        })
        .collect()
}

/// A welcome from another server epoch starts the numbers afresh even when it says recovered;
/// one from the same epoch (or with none) keeps them.
#[test]
fn a_new_epoch_resets_the_last_number_seen_and_the_same_epoch_keeps_it() {
    for (second, fresh) in [("e2", true), ("e1", false), ("", false)] {
        let mut m = connected(ClientConfig::default(), 0);
        m.handle_inbound(t(1), welcome("e1", false, 0));
        m.handle_inbound(t(2), chat(5));
        drain(&mut m);
        let _ = reconnect(&mut m, 10);
        m.handle_inbound(t(2_000), welcome(second, true, 0));
        drain(&mut m);
        m.handle_inbound(t(2_001), chat(3));
        let expected: &[u64] = if fresh { &[3] } else { &[] };
        assert_eq!(delivered_seqs(&mut m), expected, "second epoch {second:?}");
    }
}

/// An acknowledgement of a message in the middle of those written on the link leaves the
/// count of written ones right: the next message is written once, the others not again.
#[test]
fn an_ack_in_the_middle_keeps_the_written_count() {
    let mut m = connected(ClientConfig::default(), 0);
    let ids: Vec<String> = (0..3)
        .map(|i| m.send(t(1), format!("m{i}"), None).expect("sent"))
        .collect();
    drain(&mut m);
    m.handle_inbound(
        t(2),
        text(&format!(r#"{{"type":"ack","id":"{}","seq":1}}"#, ids[1])),
    );
    drain(&mut m);
    assert_eq!(m.pending_ids(), [ids[0].clone(), ids[2].clone()]);
    let next = m.send(t(3), "m3".into(), None).expect("sent");
    let texts = sent_texts(transmits(&mut m));
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0].contains(&next));
    assert_eq!(m.pending_ids(), [ids[0].clone(), ids[2].clone(), next]);
}

#[test]
fn presence_frames_become_presence_events() {
    let mut m = connected(ClientConfig::default(), 0);
    for (frame, kind) in [
        ("user_joined", PresenceKind::Joined),
        ("user_away", PresenceKind::Away),
        ("user_reconnected", PresenceKind::Reconnected),
        ("user_left", PresenceKind::Left),
    ] {
        m.handle_inbound(
            t(1),
            text(&format!(r#"{{"type":"{frame}","username":"Bob"}}"#)),
        );
        assert_eq!(
            events(&mut m),
            [ClientEvent::Presence {
                kind,
                username: "Bob".into()
            }]
        );
    }
}

/// `max_retries = 3`: the first two failures schedule retries, the third gives up.
#[test]
fn max_retries_counts_every_attempt() {
    let config = ClientConfig {
        max_retries: Some(3),
        ..ClientConfig::default()
    };
    let mut m = machine(config);
    let mut now = t(500);
    for attempt in 1..=3 {
        m.handle_timeout(now);
        m.handle_connect_failed(now);
        let evs = events(&mut m);
        let gave_up = evs.iter().any(|e| matches!(e, ClientEvent::GaveUp { .. }));
        assert_eq!(gave_up, attempt == 3, "attempt {attempt}: {evs:?}");
        now = m.poll_timeout().unwrap_or(now);
    }
    assert!(m.is_finished());
}
