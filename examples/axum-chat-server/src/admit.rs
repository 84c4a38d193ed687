//! The HTTP side: reads the upgrade request (form-decoded query) and refuses, before any
//! upgrade, what the server will not honour — 400, 409, 503 (and 426 for a wrong version).

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::state::{Refusal, Request};
use crate::{conn, Shared};

/// `GET /ws?room=…&username=…&client_id=…[&session_key=…&attempt=…][&last_seq=…[&epoch=…]]`.
pub(crate) async fn upgrade(
    State(shared): State<Arc<Shared>>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(WebSocketUpgradeRejection::InvalidWebSocketVersionHeader(_)) => {
            let mut answer = refuse(StatusCode::UPGRADE_REQUIRED, "only WebSocket version 13");
            let version = HeaderValue::from_static("13");
            answer
                .headers_mut()
                .insert(header::SEC_WEBSOCKET_VERSION, version);
            return answer;
        }
        Err(other) => return other.into_response(),
    };
    if !well_formed_key(headers.get(header::SEC_WEBSOCKET_KEY)) {
        return refuse(StatusCode::BAD_REQUEST, "malformed Sec-WebSocket-Key");
    }
    let Ok(Query(pairs)) = query else {
        return refuse(StatusCode::BAD_REQUEST, "unreadable query");
    };
    let req = match read_query(&pairs) {
        Ok(req) => req,
        Err(why) => return refuse(StatusCode::BAD_REQUEST, &why),
    };
    if let Err(refusal) = shared.state().check(&req, wsim_time::Instant::now()) {
        return refused(refusal, &shared);
    }
    let max = shared.settings().max_message_bytes;
    // tungstenite's default read buffer (128 KiB) is zeroed on every read and is most of an
    // idle connection's memory; chat frames are small, and a larger one still arrives whole.
    ws.read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| conn::run(shared, socket, req))
}

/// Bytes of each connection's WebSocket read buffer.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// The answer to an attempt [`crate::state::State`] will not honour.
fn refused(refusal: Refusal, shared: &Shared) -> Response {
    match refusal {
        Refusal::Conflict(why) => refuse(StatusCode::CONFLICT, why),
        Refusal::Full => {
            let mut answer = refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "the session limit is reached",
            );
            // Sessions free up as away ones end: within a grace period at the latest.
            let secs = shared.settings().grace.as_secs().max(1);
            answer
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            answer
        }
    }
}

/// A `text/plain` one-line reason.
fn refuse(status: StatusCode, why: &str) -> Response {
    (status, format!("{why}\n")).into_response()
}

/// 24 base64 characters that decode to 16 bytes (RFC 6455 §4.2.1).
fn well_formed_key(key: Option<&HeaderValue>) -> bool {
    let Some(key) = key.map(HeaderValue::as_bytes) else {
        return false;
    };
    let b64 = |c: &u8| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/';
    key.len() == 24
        && key[..21].iter().all(b64)
        && b"AQgw".contains(&key[21])
        && &key[22..] == b"=="
}

/// Reads the (already form-decoded) query; the first of repeated names counts.
fn read_query(pairs: &[(String, String)]) -> Result<Request, String> {
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.as_str())
    };
    let required = |name: &str| match get(name) {
        Some(value) if !value.is_empty() => Ok(value.to_owned()),
        _ => Err(format!("missing query parameter {name}")),
    };
    let number = |name: &str| match get(name) {
        None => Ok(None),
        Some(value) => value
            .parse::<u64>()
            .map(Some)
            .map_err(|_| format!("{name} is not an integer")),
    };
    let optional = |name: &str| get(name).filter(|v| !v.is_empty()).map(str::to_owned);
    Ok(Request {
        room: required("room")?,
        username: required("username")?,
        client_id: required("client_id")?,
        key: optional("session_key").or_else(|| optional("resume")),
        attempt: number("attempt")?,
        last_seq: number("last_seq")?,
        epoch: optional("epoch"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &str) -> Vec<(String, String)> {
        let uri: axum::http::Uri = format!("/ws?{query}").parse().unwrap();
        Query::try_from_uri(&uri).unwrap().0
    }

    #[test]
    fn the_query_is_form_decoded_and_checked() {
        let req = read_query(&pairs(
            "room=a+b&username=%C3%A9&client_id=c&resume=k&last_seq=3",
        ));
        let req = req.unwrap();
        assert_eq!((req.room.as_str(), req.username.as_str()), ("a b", "é"));
        assert_eq!(
            (req.key.as_deref(), req.last_seq, req.attempt),
            (Some("k"), Some(3), None)
        );
        assert!(read_query(&pairs("room=a&username=u")).is_err());
        assert!(read_query(&pairs("room=a&username=u&client_id=")).is_err());
        assert!(read_query(&pairs("room=a&username=u&client_id=c&attempt=x")).is_err());
        assert!(read_query(&pairs("room=a&username=u&client_id=c&last_seq=-1")).is_err());
    }

    #[test]
    fn a_websocket_key_is_16_bytes_of_base64() {
        let key = |k: &'static str| well_formed_key(Some(&HeaderValue::from_static(k)));
        assert!(key("dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!key("dGhlIHNhbXBsZSBub25jZR=="));
        assert!(!key("short"));
        assert!(!well_formed_key(None));
    }
}
