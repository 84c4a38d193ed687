//! The JSON frames of docs/protocol.md: what clients send, and the frames the server writes.

use serde_json::{json, Value};

/// A frame from a client.
pub(crate) enum Inbound {
    /// `chat_message` with its id and text.
    Chat { id: String, text: String },
    /// Application heartbeat `ping`.
    Ping,
    /// Application heartbeat `pong`.
    Pong,
}

/// Why a text frame was not understood.
pub(crate) enum BadFrame {
    /// Not JSON at all: the connection is closed with 1007.
    NotJson,
    /// JSON, but not a frame the protocol knows: an `error` frame, the connection stays.
    Unknown(String),
}

/// Parses one text frame.
pub(crate) fn parse(text: &str) -> Result<Inbound, BadFrame> {
    let value: Value = serde_json::from_str(text).map_err(|_| BadFrame::NotJson)?;
    let field = |name: &str| value.get(name).and_then(Value::as_str);
    match field("type") {
        Some("chat_message") => match (field("id"), field("text")) {
            (Some(id), Some(text)) => Ok(Inbound::Chat {
                id: id.to_string(),
                text: text.to_string(),
            }),
            _ => Err(BadFrame::Unknown("chat_message needs id and text".into())),
        },
        Some("ping") => Ok(Inbound::Ping),
        Some("pong") => Ok(Inbound::Pong),
        Some(other) => Err(BadFrame::Unknown(format!("unknown type {other:?}"))),
        None => Err(BadFrame::Unknown("no type".into())),
    }
}

/// A room message as clients receive it.
#[derive(Debug, Clone)]
pub(crate) struct ChatOut {
    pub seq: u64,
    pub from: String,
    pub id: String,
    pub username: String,
    pub text: String,
}

pub(crate) fn chat(m: &ChatOut) -> String {
    json!({"type": "chat_message", "id": m.id, "from": m.from, "username": m.username,
           "text": m.text, "seq": m.seq})
    .to_string()
}

pub(crate) fn ack(id: &str, seq: u64) -> String {
    json!({"type": "ack", "id": id, "seq": seq}).to_string()
}

pub(crate) fn presence(kind: &str, username: &str) -> String {
    json!({"type": kind, "username": username}).to_string()
}

pub(crate) fn error(message: &str) -> String {
    json!({"type": "error", "message": message}).to_string()
}

pub(crate) fn pong() -> String {
    json!({"type": "pong"}).to_string()
}

/// The `welcome` frame.
pub(crate) struct Welcome<'a> {
    pub client_id: &'a str,
    pub username: &'a str,
    pub room: &'a str,
    pub key: &'a str,
    pub recovered: bool,
    pub replayed: usize,
    pub last_seq: u64,
}

pub(crate) fn welcome(w: &Welcome<'_>) -> String {
    json!({"type": "welcome", "client_id": w.client_id, "username": w.username, "room": w.room,
           "resume_secret": w.key, "recovered": w.recovered, "replayed": w.replayed,
           "last_seq": w.last_seq})
    .to_string()
}
