//! The proxy's HTTP control API (`wsim proxy --control ADDR`; off unless asked for): lists
//! live connections with the client each carries, starts and ends impairments on all
//! connections, one client host, one client or one direction, and resets connections. Plain
//! HTTP/1.1 and JSON, one request per connection, so a test suite in any language can drive
//! it with its standard HTTP client (`docs/proxy-api.md`, with the mapping from Toxiproxy's).
//!
//! | request | answer |
//! |---|---|
//! | `GET /connections` | `200` the live connections |
//! | `POST /connections/{conn}/reset` | `200` (`404` if it is gone) |
//! | `POST /connections/reset` (body: a scope, optional) | `200` `{"reset": n}` |
//! | `GET /faults` | `200` the active impairments |
//! | `POST /faults` (body: kind, parameters, scope) | `201` the impairment with its `id` |
//! | `DELETE /faults/{id}` | `200` the impairment ended (`404` if not active) |
//! | `POST /reset` | `200` `{"ended": n}`: every impairment ended (Toxiproxy's reset) |
//!
//! Bounded: a request head over 16 KiB or a body over 64 KiB is refused (`431` / `413`), a
//! request not complete within 5 s is dropped, and at most 64 requests are served at once
//! (`503` beyond).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::control::{Fate, ProxyControl};
use crate::impair::{Active, Impairment, Scope};
use crate::net::{Listener, Stream};
use wsim_proto::EventSink;

/// Largest request head.
pub const MAX_HEAD: usize = 16 * 1024;
/// Largest request body.
pub const MAX_BODY: usize = 64 * 1024;
/// Most requests served at once.
pub const MAX_REQUESTS: usize = 64;
/// Longest time a request may take to arrive.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// What the API changed, for the proxy's event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ApiEvent {
    /// An impairment was started through the API.
    ImpairmentStart {
        /// The impairment, with its id.
        #[serde(flatten)]
        active: Active,
    },
    /// An impairment was ended through the API.
    ImpairmentEnd {
        /// Its id.
        id: u64,
    },
    /// Connections were reset through the API.
    ConnectionsReset {
        /// How many.
        count: usize,
    },
}

/// Serves the control API on `listener` until the task is dropped.
pub async fn serve<L: Listener>(
    mut listener: L,
    control: Rc<ProxyControl>,
    sink: EventSink<ApiEvent>,
) {
    let busy = Rc::new(Cell::new(0usize));
    loop {
        let (stream, _peer) = wsim_proto::net::accept_next(&mut listener).await;
        let (control, sink, busy) = (Rc::clone(&control), sink.clone(), Rc::clone(&busy));
        tokio::task::spawn_local(async move {
            if busy.get() >= MAX_REQUESTS {
                respond(stream, 503, &json!({"error": "too many requests at once"})).await;
                return;
            }
            busy.set(busy.get() + 1);
            let read = crate::clock::timer::timeout(REQUEST_TIMEOUT, read_request(stream)).await;
            if let Ok(Some((stream, request))) = read {
                let (status, body) = match request {
                    Ok(req) => route(&control, &sink, &req),
                    Err((status, why)) => (status, json!({ "error": why })),
                };
                respond(stream, status, &body).await;
            }
            busy.set(busy.get() - 1);
        });
    }
}

/// A parsed request.
#[derive(Debug)]
struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

type Parsed = Result<Request, (u16, String)>;

/// Reads one request; `None` if the peer went away first.
async fn read_request<S: Stream>(mut stream: S) -> Option<(S, Parsed)> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        let head = match req.parse(&buf) {
            Ok(httparse::Status::Complete(head)) => head,
            Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
                return Some((stream, Err((431, "request head over 16 KiB".into()))));
            }
            Ok(httparse::Status::Partial) => continue,
            Err(httparse::Error::TooManyHeaders) => {
                return Some((stream, Err((431, "more than 32 headers".into()))));
            }
            Err(e) => return Some((stream, Err((400, format!("not HTTP: {e}"))))),
        };
        let length = match body_length(req.headers) {
            Ok(n) => n,
            Err(refusal) => return Some((stream, Err(refusal))),
        };
        if length > MAX_BODY {
            return Some((stream, Err((413, "body over 64 KiB".into()))));
        }
        let method = req.method.unwrap_or("").to_string();
        let path = req.path.unwrap_or("").to_string();
        let mut body = buf.split_off(head);
        while body.len() < length {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        body.truncate(length);
        return Some((stream, Ok(Request { method, path, body })));
    }
}

/// The body's length from the request's headers: `Content-Length` (once, a number), none
/// for no body; a chunked body is refused (`411`).
fn body_length(headers: &[httparse::Header<'_>]) -> Result<usize, (u16, String)> {
    if headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("transfer-encoding"))
    {
        return Err((
            411,
            "send the body with a Content-Length, not Transfer-Encoding".into(),
        ));
    }
    let mut lengths = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("content-length"))
        .map(|h| {
            std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
        });
    match (lengths.next(), lengths.next()) {
        (None, _) => Ok(0),
        (Some(Some(n)), None) => Ok(n),
        (Some(None), _) => Err((400, "Content-Length is not a number".into())),
        (Some(Some(_)), Some(_)) => Err((400, "more than one Content-Length".into())),
    }
}

async fn respond<S: Stream>(mut stream: S, status: u16, body: &Value) {
    let reason = match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let body = format!("{body}\n");
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    // The client may be gone; nothing to do about it.
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn route(control: &ProxyControl, sink: &EventSink<ApiEvent>, req: &Request) -> (u16, Value) {
    let path = req.path.split('?').next().unwrap_or("");
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method.as_str();
    match (method, segments.as_slice()) {
        ("GET", ["connections"]) => (200, to_json(&control.connections())),
        ("POST", ["connections", "reset"]) => match scope_of(&req.body) {
            Ok(scope) => {
                let count = control.set_fate_where(&scope, Fate::Reset);
                sink.emit(ApiEvent::ConnectionsReset { count });
                (200, json!({ "reset": count }))
            }
            Err(e) => (400, json!({ "error": e })),
        },
        ("POST", ["connections", conn, "reset"]) => match conn.parse::<u64>() {
            Ok(conn) if control.set_conn_fate(conn, Fate::Reset) => {
                sink.emit(ApiEvent::ConnectionsReset { count: 1 });
                (200, json!({ "reset": 1 }))
            }
            _ => (
                404,
                json!({ "error": format!("no live connection {conn}") }),
            ),
        },
        ("GET", ["faults"]) => (200, to_json(&control.board().list())),
        ("POST", ["faults"]) => match fault_of(&req.body) {
            Ok((impairment, scope, label)) => match control.start(impairment, scope, &label) {
                Ok(id) => {
                    let active = control
                        .board()
                        .list()
                        .into_iter()
                        .find(|a| a.id == id)
                        .expect("just started");
                    let body = to_json(&active);
                    sink.emit(ApiEvent::ImpairmentStart { active });
                    (201, body)
                }
                Err(e) => (400, json!({ "error": e.to_string() })),
            },
            Err(e) => (400, json!({ "error": e })),
        },
        ("DELETE", ["faults", id]) => match id
            .parse::<u64>()
            .ok()
            .and_then(|id| control.board().end(id))
        {
            Some(active) => {
                sink.emit(ApiEvent::ImpairmentEnd { id: active.id });
                (200, to_json(&active))
            }
            None => (404, json!({ "error": format!("no active fault {id}") })),
        },
        ("POST", ["reset"]) => {
            let ended = control.board().list();
            control.board().clear();
            for a in &ended {
                sink.emit(ApiEvent::ImpairmentEnd { id: a.id });
            }
            (200, json!({ "ended": ended.len() }))
        }
        (_, ["connections" | "faults" | "reset", ..]) => (
            405,
            json!({ "error": format!("{method} is not allowed on {path}") }),
        ),
        _ => (404, json!({ "error": format!("no such endpoint: {path}") })),
    }
}

fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_else(|e| json!({ "error": e.to_string() }))
}

/// The scope keys of a request body.
const SCOPE_KEYS: [&str; 4] = ["side", "host", "client", "direction"];

fn object_of(body: &[u8]) -> Result<serde_json::Map<String, Value>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("the body must be a JSON object".into()),
        Err(e) => Err(format!("the body is not JSON: {e}")),
    }
}

fn scope_from(map: &mut serde_json::Map<String, Value>) -> Result<Scope, String> {
    let mut scope = serde_json::Map::new();
    for key in SCOPE_KEYS {
        if let Some(v) = map.remove(key) {
            scope.insert(key.to_string(), v);
        }
    }
    serde_json::from_value(Value::Object(scope)).map_err(|e| format!("bad scope: {e}"))
}

fn scope_of(body: &[u8]) -> Result<Scope, String> {
    let mut map = object_of(body)?;
    let scope = scope_from(&mut map)?;
    match map.keys().next() {
        Some(k) => Err(format!("unknown field `{k}` (a scope has {SCOPE_KEYS:?})")),
        None => Ok(scope),
    }
}

/// Every kind a fault request may name.
const KINDS: &str = "hold, drop, latency, state_loss, down, partition, one_way, blackhole, delay";

/// A fault request: `{"kind": ..., <its parameters>, <scope keys>, "label": ...}`. Besides
/// the board's own kinds (`hold`, `drop`, `latency`, `state_loss`, `down`) it takes the
/// scenario names: `partition` (hold), `one_way` (drop; give a `direction`), `blackhole`
/// (drop both ways) and `delay` (`delay_ms`: latency of exactly that).
fn fault_of(body: &[u8]) -> Result<(Impairment, Scope, String), String> {
    let mut map = object_of(body)?;
    let scope = scope_from(&mut map)?;
    let label = match map.remove("label") {
        Some(Value::String(s)) => s,
        Some(_) => return Err("`label` must be a string".into()),
        None => "api".into(),
    };
    let kind = map
        .get("kind")
        .and_then(Value::as_str)
        .ok_or(format!("missing `kind` ({KINDS})"))?
        .to_string();
    let plain = |name: &str, map: &mut serde_json::Map<String, Value>| {
        if map.len() > 1 {
            let extra = map
                .keys()
                .find(|k| *k != "kind")
                .cloned()
                .unwrap_or_default();
            return Err(format!("unknown field `{extra}` for kind `{name}`"));
        }
        Ok(())
    };
    let impairment = match kind.as_str() {
        "partition" => plain("partition", &mut map).map(|()| Impairment::Hold)?,
        "one_way" if scope.direction.is_none() => {
            return Err(
                "kind `one_way` needs a `direction` (up or down; `blackhole` drops both)".into(),
            );
        }
        "one_way" | "blackhole" => plain(&kind, &mut map).map(|()| Impairment::Drop)?,
        "delay" => {
            let ms = map
                .remove("delay_ms")
                .and_then(|v| v.as_u64())
                .ok_or("kind `delay` needs `delay_ms` (an integer)")?;
            plain("delay", &mut map)?;
            Impairment::Latency {
                min_ms: ms,
                max_ms: ms,
            }
        }
        "hold" | "drop" | "latency" | "state_loss" | "down" => {
            serde_json::from_value(Value::Object(map)).map_err(|e| format!("bad fault: {e}"))?
        }
        other => return Err(format!("unknown kind `{other}` (one of {KINDS})")),
    };
    Ok((impairment, scope, label))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idle::Direction;
    use crate::impair::Side;

    fn request(method: &str, path: &str, body: &str) -> Request {
        Request {
            method: method.into(),
            path: path.into(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn faults_start_list_and_end_through_routes() {
        let control = ProxyControl::new();
        let sink = EventSink::discard();
        let body = r#"{"kind":"latency","min_ms":100,"max_ms":300,"side":"client","client":"web-1","direction":"down"}"#;
        let (status, started) = route(&control, &sink, &request("POST", "/faults", body));
        assert_eq!(status, 201, "{started}");
        let id = started["id"].as_u64().unwrap();
        let active = control.board().list();
        assert_eq!(active.len(), 1);
        assert_eq!(
            active[0].scope,
            Scope {
                side: Some(Side::Client),
                client: Some("web-1".into()),
                direction: Some(Direction::Down),
                host: None
            }
        );
        let (status, listed) = route(&control, &sink, &request("GET", "/faults", ""));
        assert_eq!((status, listed[0]["kind"].as_str()), (200, Some("latency")));
        let (status, _) = route(
            &control,
            &sink,
            &request("DELETE", &format!("/faults/{id}"), ""),
        );
        assert_eq!(status, 200);
        assert!(control.board().is_empty());
        let (status, _) = route(
            &control,
            &sink,
            &request("DELETE", &format!("/faults/{id}"), ""),
        );
        assert_eq!(status, 404);
    }

    #[test]
    fn body_lengths_are_read_strictly() {
        let h = |name: &'static str, value: &'static [u8]| httparse::Header { name, value };
        assert_eq!(body_length(&[]), Ok(0));
        assert_eq!(body_length(&[h("Content-Length", b" 12 ")]), Ok(12));
        assert_eq!(
            body_length(&[h("content-length", b"x")]).unwrap_err().0,
            400
        );
        let two = [h("Content-Length", b"1"), h("Content-Length", b"1")];
        assert_eq!(body_length(&two).unwrap_err().0, 400);
        let chunked = [h("Transfer-Encoding", b"chunked")];
        assert_eq!(body_length(&chunked).unwrap_err().0, 411);
    }

    #[test]
    fn scenario_names_and_bad_requests() {
        let control = ProxyControl::new();
        let sink = EventSink::discard();
        for (body, kind) in [
            (r#"{"kind":"partition"}"#, Impairment::Hold),
            (r#"{"kind":"one_way","direction":"up"}"#, Impairment::Drop),
            (
                r#"{"kind":"delay","delay_ms":50}"#,
                Impairment::Latency {
                    min_ms: 50,
                    max_ms: 50,
                },
            ),
            (
                r#"{"kind":"down","silent":true}"#,
                Impairment::Down { silent: true },
            ),
            (
                r#"{"kind":"state_loss","side":"upstream"}"#,
                Impairment::StateLoss,
            ),
        ] {
            let (status, v) = route(&control, &sink, &request("POST", "/faults", body));
            assert_eq!(status, 201, "{body}: {v}");
            assert_eq!(control.board().list().last().unwrap().impairment, kind);
        }
        let (status, v) = route(&control, &sink, &request("POST", "/reset", ""));
        assert_eq!((status, v["ended"].as_u64()), (200, Some(5)));
        for body in [
            "not json",
            r#"{"kind":"teleport"}"#,
            r#"{"kind":"partition","colour":"red"}"#,
            r#"{"kind":"latency","min_ms":9,"max_ms":1}"#,
            r#"{"kind":"hold","side":"sideways"}"#,
            r#"{"kind":"one_way"}"#,
        ] {
            let (status, v) = route(&control, &sink, &request("POST", "/faults", body));
            assert_eq!(status, 400, "{body}: {v}");
            assert!(v["error"].is_string());
        }
        // A misspelt kind is answered with every kind there is, the scenario names too.
        let (_, v) = route(
            &control,
            &sink,
            &request("POST", "/faults", r#"{"kind":"partiton"}"#),
        );
        let error = v["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("`partiton`") && error.contains("one_way") && error.contains("delay"),
            "{error}"
        );
        assert_eq!(route(&control, &sink, &request("GET", "/nope", "")).0, 404);
        assert_eq!(
            route(&control, &sink, &request("PUT", "/faults", "")).0,
            405
        );
        assert_eq!(
            route(
                &control,
                &sink,
                &request("POST", "/connections/7/reset", "")
            )
            .0,
            404
        );
    }

    /// Fuzz: requests mangled by a seeded stream (valid fault bodies with values replaced,
    /// random methods and paths, random bytes) are answered with a status and a JSON body —
    /// 2xx, or 4xx with an `error` — never with a panic. `WSIM_FUZZ_CASES=N` sends N instead
    /// of 20,000.
    #[test]
    fn any_request_is_answered_never_a_panic() {
        use rand::Rng;
        let cases = wsim_proto::fuzz::budget("WSIM_FUZZ_CASES", 20_000);
        let mut rng = wsim_proto::seed::derive_rng(1, "fuzz/proxy-api");
        let bodies = [
            r#"{"kind":"latency","min_ms":100,"max_ms":300,"side":"client","client":"web-1","direction":"down"}"#,
            r#"{"kind":"partition","host":"phones","side":"client","label":"x"}"#,
            r#"{"kind":"one_way","direction":"up"}"#,
            r#"{"kind":"delay","delay_ms":50}"#,
            r#"{"kind":"down","silent":true}"#,
            r#"{"kind":"state_loss","side":"upstream"}"#,
            r#"{"client":"web-1"}"#,
        ];
        let paths = [
            "/faults",
            "/faults/1",
            "/connections",
            "/connections/reset",
            "/connections/7/reset",
            "/reset",
            "/",
            "//faults//",
            "/faults/-1",
            "/faults/99999999999999999999",
        ];
        let methods = ["GET", "POST", "DELETE", "PUT", ""];
        let control = ProxyControl::new();
        let sink = EventSink::discard();
        for case in 0..cases {
            let mut body = bodies[rng.random_range(0..bodies.len())].to_string();
            match rng.random_range(0..4) {
                0 => body = wsim_proto::fuzz::replace_a_value(&body, &mut rng),
                1 => {
                    let cut = rng.random_range(0..=body.len());
                    body.truncate(cut);
                }
                2 => {
                    body = (0..rng.random_range(0..40))
                        .map(|_| char::from(rng.random_range(0u8..128)))
                        .collect()
                }
                _ => {}
            }
            let req = request(
                methods[rng.random_range(0..methods.len())],
                paths[rng.random_range(0..paths.len())],
                &body,
            );
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                route(&control, &sink, &req)
            }));
            let Ok((status, answer)) = outcome else {
                panic!("case {case} panicked on {req:?}");
            };
            assert!(
                (200..300).contains(&status) || (400..500).contains(&status),
                "case {case}: {status} {answer}"
            );
            if status >= 400 {
                assert!(
                    answer["error"].is_string(),
                    "case {case}: {status} {answer}"
                );
            }
            if rng.random_bool(0.01) {
                control.reset();
            }
        }
    }
}
