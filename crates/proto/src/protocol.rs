//! The wire protocol: JSON text frames between clients and the server.
//!
//! A client connects to `/ws?room=R&username=U&client_id=C` and then exchanges the messages
//! below, tagged by `type`. The seed article's browser client (query parameters plus
//! `chat_message` frames) works unchanged; wsim's own client also reads acknowledgements and
//! sequence numbers. `docs/protocol.md` is the reference for people.

use serde::{Deserialize, Serialize};

/// A frame a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// A chat message for the room.
    ChatMessage {
        /// Client-chosen message id (unique per client); the server acknowledges it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The text.
        text: String,
        /// The client's wall-clock timestamp; informational only, never trusted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timestamp: Option<String>,
    },
    /// Application-level heartbeat (for clients that cannot send WebSocket pings).
    Ping,
    /// Answer to the server's application-level `ping`.
    Pong,
}

/// A frame the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Sent once after the handshake: the session the connection belongs to.
    Welcome {
        /// The client id of the session.
        client_id: String,
        /// The user name.
        username: String,
        /// The room.
        room: String,
        /// Secret to present (`resume=`) when reconnecting to this session.
        #[serde(default)]
        resume_secret: String,
        /// True when the connection resumed an existing session and every missed message will
        /// be replayed; false for a new session or when history was lost (resync needed).
        #[serde(default)]
        recovered: bool,
        /// How many missed messages follow as `chat_message` frames.
        #[serde(default)]
        replayed: u64,
        /// The room's latest sequence number when the session was (re)opened.
        #[serde(default)]
        last_seq: u64,
        /// The server incarnation the numbers belong to (a restarted server numbers its rooms
        /// afresh): a client presents it with `last_seq` when it reconnects.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        epoch: String,
    },
    /// The server accepted the client's message `id` as room sequence number `seq`.
    Ack {
        /// The client's message id.
        id: String,
        /// The room sequence number.
        seq: u64,
    },
    /// A chat message from another member of the room.
    ChatMessage {
        /// The sender's message id (empty when the sender gave none).
        id: String,
        /// The sender's client id.
        from: String,
        /// The sender's user name.
        username: String,
        /// The text.
        text: String,
        /// The room sequence number.
        seq: u64,
    },
    /// A user joined the room.
    UserJoined {
        /// The user name.
        username: String,
    },
    /// A user's connection dropped; their session waits for them (grace period).
    UserAway {
        /// The user name.
        username: String,
    },
    /// A user who was away resumed their session.
    UserReconnected {
        /// The user name.
        username: String,
    },
    /// A user left the room (or their grace period expired).
    UserLeft {
        /// The user name.
        username: String,
    },
    /// Application-level heartbeat.
    Ping,
    /// Answer to the client's application-level `ping`.
    Pong,
    /// The server could not act on a frame; the connection stays open.
    Error {
        /// What was wrong.
        message: String,
    },
}

/// Serializes a message to the text of one frame.
#[must_use]
pub fn encode<T: Serialize>(msg: &T) -> String {
    serde_json::to_string(msg).expect("protocol messages always serialize")
}

/// Why an inbound text frame could not be understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The frame is not JSON at all (close code 1007).
    #[error("malformed JSON: {0}")]
    Malformed(String),
    /// The frame is JSON but not a known message (answered with an `error`, connection kept).
    #[error("unsupported message: {0}")]
    Unsupported(String),
}

/// Parses one text frame, separating "not JSON" from "JSON we do not understand".
pub fn decode<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, DecodeError> {
    // The common case in one pass; only a frame that fails is parsed again, into a `Value`,
    // to tell which kind of failure it is.
    if let Ok(message) = serde_json::from_str(text) {
        return Ok(message);
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    serde_json::from_value(value).map_err(|e| DecodeError::Unsupported(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_article_chat_message_parses() {
        let m: ClientMessage = decode(
            r#"{"type":"chat_message","text":"hi","timestamp":"2024-01-01T00:00:00Z","id":"m1"}"#,
        )
        .unwrap();
        assert_eq!(
            m,
            ClientMessage::ChatMessage {
                id: Some("m1".into()),
                text: "hi".into(),
                timestamp: Some("2024-01-01T00:00:00Z".into())
            }
        );
    }

    #[test]
    fn malformed_and_unsupported_are_told_apart() {
        assert!(matches!(
            decode::<ClientMessage>("{nope"),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            decode::<ClientMessage>(r#"{"type":"dance"}"#),
            Err(DecodeError::Unsupported(_))
        ));
    }

    #[test]
    fn presence_matches_the_seed_article() {
        assert_eq!(
            encode(&ServerMessage::UserJoined {
                username: "Alice".into()
            }),
            r#"{"type":"user_joined","username":"Alice"}"#
        );
    }
}
