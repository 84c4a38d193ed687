//! Fuzz test of the client machine: whatever frames a server sends, the client never panics.

use super::tests::{connected, drain, t, text};
use super::*;
use crate::seed::derive_rng;

/// Fuzz: a server (or anything on the path) sending arbitrary frames — mangled protocol
/// messages, wrong types, huge or repeated numbers, closes with any code, in any order, with
/// link ends and reconnects between — never makes the client panic, and what it keeps stays
/// bounded. `WSIM_FUZZ_CASES=N` sends N frames instead of 50,000.
#[test]
fn any_frames_from_the_server_never_panic_the_client() {
    use rand::Rng;
    let cases = wsim_proto::fuzz::budget("WSIM_FUZZ_CASES", 50_000);
    let mut rng = derive_rng(1, "fuzz/client-inbound");
    let valid = [
        r#"{"type":"welcome","client_id":"c1","username":"Ann","room":"lobby","resume_secret":"s","recovered":true,"replayed":0,"last_seq":4,"epoch":"e"}"#,
        r#"{"type":"chat_message","id":"x:1","from":"x","username":"X","text":"t","seq":5}"#,
        r#"{"type":"ack","id":"c1:1","seq":6}"#,
        r#"{"type":"user_away","username":"X"}"#,
        r#"{"type":"user_left","username":"X"}"#,
        r#"{"type":"ping"}"#,
        r#"{"type":"error","message":"no"}"#,
    ];
    let mut m = connected(ClientConfig::default(), 1_000);
    let mut now = 1_000;
    let mut connected_frames = 0;
    for case in 0..cases {
        now += rng.random_range(0..50);
        let frame = match rng.random_range(0..10) {
            0 if rng.random_bool(0.1) => Inbound::Close(rng.random_bool(0.5).then(|| rng.random())),
            0 => Inbound::Pong,
            1 => Inbound::Ping,
            2 => Inbound::Binary,
            3 => {
                let bytes: Vec<u8> = (0..rng.random_range(0..40)).map(|_| rng.random()).collect();
                text(&String::from_utf8_lossy(&bytes))
            }
            4 => {
                // A value replaced: a number, string or structure where another belongs.
                let base = valid[rng.random_range(0..valid.len())];
                text(&wsim_proto::fuzz::replace_a_value(base, &mut rng))
            }
            _ => {
                let base = valid[rng.random_range(0..valid.len())];
                let seq = rng.random_range(0..20u64);
                text(&base.replace(":5}", &format!(":{seq}}}")))
            }
        };
        if m.is_finished() {
            // Told to stop for good (a takeover, a refusal): a new client takes its place.
            m = connected(ClientConfig::default(), now);
        } else if !m.is_connected() {
            // Back on a new link (past any backoff), as the driver would be.
            now += 61_000;
            m.handle_timeout(t(now));
            m.handle_connected(t(now));
            drain(&mut m);
        }
        connected_frames += u64::from(m.is_connected());
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            m.handle_inbound(t(now), frame.clone());
            if rng.random_bool(0.02) {
                m.handle_link_end(t(now), LinkEnd::Eof);
            }
            if rng.random_bool(0.05) {
                let _ = m.send(t(now), "hello".into(), None);
            }
            m.handle_timeout(t(now));
            drain(&mut m);
        }));
        assert!(outcome.is_ok(), "case {case} panicked on {frame:?}");
    }
    assert!(
        m.pending() <= ClientConfig::default().max_pending,
        "the outbox is bounded"
    );
    assert!(
        connected_frames > cases * 9 / 10,
        "{connected_frames} of {cases} frames reached a connected client"
    );
}
