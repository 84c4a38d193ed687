//! The JSON frames of `docs/protocol.md`: what clients send, what the server writes.

use axum::extract::ws::Utf8Bytes;
use serde::{Deserialize, Serialize};

/// A frame from a client. Unknown fields (`timestamp`, informational only) are ignored.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Incoming {
    ChatMessage { text: String, id: String },
    Ping,
    Pong,
}

/// Why a text frame was not taken.
#[derive(Debug)]
pub(crate) enum Refused {
    /// Not JSON at all: the connection is closed with 1007.
    NotJson,
    /// JSON, but an unknown `type` or missing fields: answered with an `error` frame.
    NotUnderstood(String),
}

/// Reads one text frame.
pub(crate) fn parse(text: &str) -> Result<Incoming, Refused> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| Refused::NotJson)?;
    Incoming::deserialize(value).map_err(|e| Refused::NotUnderstood(e.to_string()))
}

/// A frame to a client.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Frame<'a> {
    Welcome {
        client_id: &'a str,
        username: &'a str,
        room: &'a str,
        resume_secret: &'a str,
        recovered: bool,
        replayed: usize,
        last_seq: u64,
        epoch: &'a str,
    },
    Ack {
        id: &'a str,
        seq: u64,
    },
    ChatMessage {
        id: &'a str,
        from: &'a str,
        username: &'a str,
        text: &'a str,
        seq: u64,
    },
    UserJoined {
        username: &'a str,
    },
    UserAway {
        username: &'a str,
    },
    UserReconnected {
        username: &'a str,
    },
    UserLeft {
        username: &'a str,
    },
    Pong,
    Error {
        message: &'a str,
    },
}

impl Frame<'_> {
    /// The frame as a WebSocket text payload (cheap to clone for a broadcast).
    pub(crate) fn encode(&self) -> Utf8Bytes {
        serde_json::to_string(self)
            .expect("frames are plain structs of strings and numbers")
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_read_and_write_as_the_protocol_says() {
        let m = parse(r#"{"type":"chat_message","text":"hi","id":"c:1","timestamp":"x"}"#);
        assert!(matches!(m, Ok(Incoming::ChatMessage { text, id }) if text == "hi" && id == "c:1"));
        assert!(matches!(parse(r#"{"type":"ping"}"#), Ok(Incoming::Ping)));
        assert!(matches!(parse("not json"), Err(Refused::NotJson)));
        assert!(matches!(
            parse(r#"{"type":"nope"}"#),
            Err(Refused::NotUnderstood(_))
        ));
        assert!(matches!(
            parse(r#"{"type":"chat_message","text":"hi"}"#),
            Err(Refused::NotUnderstood(_))
        ));
        let ack = Frame::Ack { id: "c:1", seq: 7 }.encode();
        assert_eq!(ack.as_str(), r#"{"type":"ack","id":"c:1","seq":7}"#);
        let away = Frame::UserAway { username: "ann" }.encode();
        assert_eq!(away.as_str(), r#"{"type":"user_away","username":"ann"}"#);
    }
}
