//! The fast path for the frame a client reads most: a server frame parsed in one pass into a
//! flat record of every field the protocol names, then into its [`ServerMessage`]. serde's
//! internally tagged enums buffer a whole frame before choosing the variant; a client in a busy
//! room reads a chat message per member per message, so this matters. Whatever the flat record
//! cannot take (an unknown `type`, a missing field, a field of an unexpected type, a duplicate
//! key) goes through [`crate::protocol::decode`], so the result is always the same as it would
//! be there.

use serde::Deserialize;

use crate::protocol::{self, DecodeError, ServerMessage};

/// Every field of every server frame, each optional; the `type` borrowed from the frame.
#[derive(Deserialize)]
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

/// Parses one server frame: as [`protocol::decode`] would, faster.
pub fn decode_server(text: &str) -> Result<ServerMessage, DecodeError> {
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
}
