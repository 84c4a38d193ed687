//! The fast path for the frame a client reads most: a server frame parsed in one pass into a
//! flat record of every field the protocol names, then into its [`ServerMessage`]. serde's
//! internally tagged enums buffer a whole frame before choosing the variant; a client in a busy
//! room reads a chat message per member per message, so this matters. Whatever the flat record
//! cannot take (an unknown `type`, a missing field, a field of an unexpected type, a duplicate
//! key) goes through [`crate::protocol::decode`], so the result is always the same as it would
//! be there.

use serde::Deserialize;

use crate::flat_scan;
use crate::protocol::{self, DecodeError, ServerMessage};

/// Every field of every server frame, each optional; the `type` borrowed from the frame.
#[derive(Deserialize, Debug, PartialEq, Eq)]
struct Flat<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    id: Option<String>,
    from: Option<String>,
    username: Option<String>,
    text: Option<String>,
    seq: Option<u64>,
    client_id: Option<String>,
    room: Option<String>,
    resume_secret: Option<String>,
    recovered: Option<bool>,
    replayed: Option<u64>,
    last_seq: Option<u64>,
    epoch: Option<String>,
    message: Option<String>,
}

impl Flat<'_> {
    /// The message, if the record holds exactly what its `type` needs.
    fn message(self) -> Option<ServerMessage> {
        Some(match &*self.kind {
            "chat_message" => ServerMessage::ChatMessage {
                id: self.id?,
                from: self.from?,
                username: self.username?,
                text: self.text?,
                seq: self.seq?,
            },
            "ack" => ServerMessage::Ack {
                id: self.id?,
                seq: self.seq?,
            },
            "welcome" => ServerMessage::Welcome {
                client_id: self.client_id?,
                username: self.username?,
                room: self.room?,
                resume_secret: self.resume_secret.unwrap_or_default(),
                recovered: self.recovered.unwrap_or_default(),
                replayed: self.replayed.unwrap_or_default(),
                last_seq: self.last_seq.unwrap_or_default(),
                epoch: self.epoch.unwrap_or_default(),
            },
            "user_joined" => ServerMessage::UserJoined {
                username: self.username?,
            },
            "user_away" => ServerMessage::UserAway {
                username: self.username?,
            },
            "user_reconnected" => ServerMessage::UserReconnected {
                username: self.username?,
            },
            "user_left" => ServerMessage::UserLeft {
                username: self.username?,
            },
            "ping" => ServerMessage::Ping,
            "pong" => ServerMessage::Pong,
            "error" => ServerMessage::Error {
                message: self.message?,
            },
            _ => return None,
        })
    }
}

impl<'a> Flat<'a> {
    /// The record of a frame `flat_scan::scan` read (`None` without a `type`, which serde
    /// would refuse too).
    fn from_scan(fields: flat_scan::Fields<'a>) -> Option<Flat<'a>> {
        let own = |s: Option<&str>| s.map(str::to_owned);
        Some(Flat {
            kind: std::borrow::Cow::Borrowed(fields.kind?),
            id: own(fields.id),
            from: own(fields.from),
            username: own(fields.username),
            text: own(fields.text),
            seq: fields.seq,
            client_id: own(fields.client_id),
            room: own(fields.room),
            resume_secret: own(fields.resume_secret),
            recovered: fields.recovered,
            replayed: fields.replayed,
            last_seq: fields.last_seq,
            epoch: own(fields.epoch),
            message: own(fields.message),
        })
    }
}

/// Parses one server frame: as [`protocol::decode`] would, faster. A plain flat frame is
/// scanned without serde (`flat_scan`); any other goes through serde into the flat record;
/// what that cannot take goes to [`protocol::decode`].
pub fn decode_server(text: &str) -> Result<ServerMessage, DecodeError> {
    if let Some(fields) = flat_scan::scan(text) {
        // The scan read what serde would: the same record, the same answer.
        return match Flat::from_scan(fields).and_then(Flat::message) {
            Some(message) => Ok(message),
            None => protocol::decode(text),
        };
    }
    if let Some(message) = serde_json::from_str::<Flat>(text)
        .ok()
        .and_then(Flat::message)
    {
        return Ok(message);
    }
    protocol::decode(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_tagged_decoder_on_every_kind_and_on_odd_frames() {
        let frames = [
            r#"{"type":"chat_message","id":"a:1","from":"a","username":"A","text":"hi \"q\" é","seq":7}"#,
            r#"{"type":"ack","id":"a:1","seq":7}"#,
            r#"{"type":"welcome","client_id":"a","username":"A","room":"r","resume_secret":"k","recovered":true,"replayed":2,"last_seq":9,"epoch":"e"}"#,
            r#"{"type":"welcome","client_id":"a","username":"A","room":"r"}"#,
            r#"{"type":"user_joined","username":"A"}"#,
            r#"{"type":"user_away","username":"A","extra":[1,{"x":2}]}"#,
            r#"{"type":"user_reconnected","username":"A"}"#,
            r#"{"type":"user_left","username":"A"}"#,
            r#"{"type":"ping"}"#,
            r#"{"type":"pong","seq":"not a number"}"#,
            r#"{"type":"error","message":"no"}"#,
            // Odd frames the fast path hands over: the same answer either way.
            r#"{"type":"user_joined","username":"A","id":5}"#,
            r#"{"type":"ack","id":"a:1"}"#,
            r#"{"type":"dance"}"#,
            r#"{"seq":1}"#,
            r#"{"type":"ack","id":"a","id":"b","seq":1}"#,
            // An escaped `type` cannot be borrowed from the frame: still the same answer.
            r#"{"type":"p\u0069ng"}"#,
            "not json",
        ];
        for frame in frames {
            assert_eq!(
                decode_server(frame),
                protocol::decode::<ServerMessage>(frame),
                "{frame}"
            );
        }
    }

    /// Frames built from random pieces — plain and escaped strings, keys known and unknown,
    /// integers, floats, signs, leading zeros, booleans, nulls, nested values, duplicates,
    /// odd whitespace, stray bytes: wherever the scanner answers, serde reads the same record,
    /// and the decoder answers as the tagged decoder does on every frame.
    #[test]
    fn the_scanner_answers_only_as_serde_would() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
        const KEYS: [&str; 18] = [
            "type",
            "id",
            "from",
            "username",
            "text",
            "seq",
            "client_id",
            "room",
            "resume_secret",
            "recovered",
            "replayed",
            "last_seq",
            "epoch",
            "message",
            "kind",
            "extra",
            "ty\\u0070e",
            "Type",
        ];
        const TYPES: [&str; 8] = [
            "chat_message",
            "ack",
            "welcome",
            "user_joined",
            "ping",
            "pong",
            "error",
            "dance",
        ];
        const VALUES: [&str; 24] = [
            "\"a:1\"",
            "\"\"",
            "\"h\u{e9}llo w\u{f6}rld\"",
            "\"q\\\"uote\"",
            "\"\\u0041\"",
            "\"tab\there\"",
            "7",
            "0",
            "007",
            "-3",
            "1.5",
            "2e3",
            "18446744073709551615",
            "18446744073709551616",
            "true",
            "false",
            "null",
            "[1,2]",
            "{\"x\":1}",
            "tru",
            "\"unterminated",
            "7x",
            "\"\u{1f600}\"",
            "\"a\"",
        ];
        const SPACE: [&str; 6] = ["", "", "", " ", "\n\t", "\r"];
        let mut scanned = 0;
        for _ in 0..20_000 {
            let mut frame = String::from(SPACE[rng.random_range(0..SPACE.len())]);
            frame.push('{');
            let n = rng.random_range(0..7);
            for i in 0..n {
                if i > 0 {
                    frame.push(',');
                }
                frame.push_str(SPACE[rng.random_range(0..SPACE.len())]);
                let key = KEYS[rng.random_range(0..KEYS.len())];
                frame.push_str(&format!("\"{key}\""));
                frame.push_str(SPACE[rng.random_range(0..SPACE.len())]);
                frame.push(':');
                frame.push_str(SPACE[rng.random_range(0..SPACE.len())]);
                if key == "type" && rng.random_bool(0.8) {
                    frame.push_str(&format!("\"{}\"", TYPES[rng.random_range(0..TYPES.len())]));
                } else {
                    frame.push_str(VALUES[rng.random_range(0..VALUES.len())]);
                }
                frame.push_str(SPACE[rng.random_range(0..SPACE.len())]);
            }
            frame.push('}');
            match rng.random_range(0..20) {
                0 => frame.push_str(" x"),
                1 => {
                    frame.pop();
                }
                2 => frame.push_str(" \n"),
                _ => {}
            }
            if let Some(fields) = crate::flat_scan::scan(&frame) {
                scanned += 1;
                let by_serde = serde_json::from_str::<Flat>(&frame);
                match (Flat::from_scan(fields), by_serde) {
                    (Some(ours), Ok(theirs)) => assert_eq!(ours, theirs, "{frame}"),
                    (None, Err(_)) => {}
                    (ours, theirs) => panic!("{frame}: scanned {ours:?}, serde {theirs:?}"),
                }
            }
            assert_eq!(
                decode_server(&frame),
                protocol::decode::<ServerMessage>(&frame),
                "{frame}"
            );
        }
        assert!(scanned > 2_000, "the scanner answered {scanned} times");
    }

    #[test]
    fn the_frames_wsim_sends_are_scanned() {
        for frame in [
            r#"{"type":"chat_message","id":"a:1","from":"a","username":"A","text":"hi","seq":7}"#,
            r#"{"type":"ack","id":"a:1","seq":7}"#,
            r#"{"type":"user_joined","username":"A"}"#,
            r#"{"type":"ping"}"#,
        ] {
            assert!(crate::flat_scan::scan(frame).is_some(), "{frame}");
        }
    }
}
