//! The server's side of the WebSocket opening handshake (RFC 6455 §4.2), read by hand so that
//! every request the server will not upgrade gets an HTTP answer with a one-line reason —
//! garbage, a plain GET, a wrong path or version, a bad join query, a session claim the server
//! will not honour — and no client ever believes it is connected when it is not. Sans-IO: the
//! driver feeds the bytes read so far and writes the responses built here.

use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::join::{JoinError, JoinRequest};

/// Longest request head (request line and headers) the server reads; longer gets HTTP 431.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;

/// Most header lines in a request head; more gets HTTP 431.
const MAX_HEADERS: usize = 64;

/// A request the server will upgrade, once the session manager accepts its claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    /// Who is joining where.
    pub join: JoinRequest,
    /// The `Sec-WebSocket-Key` to answer.
    pub key: String,
    /// Bytes of the request head (what follows is the client's first frames).
    pub head_len: usize,
}

/// An HTTP answer that ends the connection instead of upgrading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRefusal {
    /// The status code.
    pub status: u16,
    /// One line for people (sent as the body).
    pub reason: String,
}

impl HttpRefusal {
    fn new(status: u16, reason: impl Into<String>) -> Self {
        HttpRefusal {
            status,
            reason: reason.into(),
        }
    }

    /// The full HTTP response: status line, headers, the reason as a `text/plain` body.
    #[must_use]
    pub fn response(&self) -> Vec<u8> {
        let body = format!("{}\n", self.reason);
        let mut extra = String::new();
        match self.status {
            405 => extra.push_str("Allow: GET\r\n"),
            426 => extra.push_str("Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n"),
            503 => extra.push_str("Retry-After: 5\r\n"),
            _ => {}
        }
        format!(
            "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
            self.status,
            reason_phrase(self.status),
            body.len()
        )
        .into_bytes()
    }
}

/// The `101 Switching Protocols` answer to a request with `Sec-WebSocket-Key: key`.
#[must_use]
pub fn switching_protocols(key: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    )
    .into_bytes()
}

/// Reads the request head in `buf` (everything received so far): `Ok(None)` while it is
/// incomplete, the upgrade when it is a valid WebSocket join at `path`, or the HTTP refusal.
pub fn parse(buf: &[u8], path: &str) -> Result<Option<Upgrade>, HttpRefusal> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let head_len = match request.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD_BYTES => {
            return Err(HttpRefusal::new(
                431,
                format!("request head larger than {MAX_HEAD_BYTES} bytes"),
            ));
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(HttpRefusal::new(
                431,
                format!("more than {MAX_HEADERS} header lines"),
            ));
        }
        Err(e) => {
            return Err(HttpRefusal::new(
                400,
                format!("malformed HTTP request: {e}"),
            ))
        }
    };
    let method = request.method.unwrap_or("");
    if method != "GET" {
        return Err(HttpRefusal::new(
            405,
            format!("method {method} not allowed: a WebSocket upgrade is a GET"),
        ));
    }
    let target = request.path.unwrap_or("");
    let (req_path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    if req_path != path {
        return Err(HttpRefusal::new(
            404,
            format!("no WebSocket endpoint at {req_path}: connect to {path}"),
        ));
    }
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
    };
    let has_token = |name: &str, token: &str| {
        header(name).is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    if !has_token("Upgrade", "websocket") {
        return Err(HttpRefusal::new(
            400,
            "not a WebSocket upgrade request: `Upgrade: websocket` is missing",
        ));
    }
    if !has_token("Connection", "upgrade") {
        return Err(HttpRefusal::new(
            400,
            "not a WebSocket upgrade request: `Connection: Upgrade` is missing",
        ));
    }
    if header("Sec-WebSocket-Version").as_deref() != Some("13") {
        return Err(HttpRefusal::new(
            426,
            "unsupported WebSocket version: only 13 is supported",
        ));
    }
    let Some(key) = header("Sec-WebSocket-Key").filter(|k| is_websocket_key(k)) else {
        return Err(HttpRefusal::new(
            400,
            "`Sec-WebSocket-Key` is missing or not 16 base64-encoded bytes",
        ));
    };
    let join = JoinRequest::from_query(query)
        .map_err(|e: JoinError| HttpRefusal::new(400, e.to_string()))?;
    Ok(Some(Upgrade {
        join,
        key,
        head_len,
    }))
}

/// Whether `key` is base64 of 16 bytes (24 characters, two `=` of padding).
fn is_websocket_key(key: &str) -> bool {
    key.len() == 24
        && key.ends_with("==")
        && key[..22]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn request(target: &str, extra: &str) -> String {
        format!(
            "GET {target} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {KEY}\r\n{extra}\r\n"
        )
    }

    fn status(buf: &str) -> u16 {
        parse(buf.as_bytes(), "/ws").expect_err("refused").status
    }

    #[test]
    fn a_valid_join_is_upgraded_with_the_rfc_accept_key() {
        let head = request("/ws?room=r&username=u&client_id=c", "");
        let mut buf = head.clone().into_bytes();
        buf.extend_from_slice(b"\x81\x85first frame");
        let up = parse(&buf, "/ws").unwrap().unwrap();
        assert_eq!(up.join.client_id, "c");
        assert_eq!(up.head_len, head.len());
        let response = String::from_utf8(switching_protocols(&up.key)).unwrap();
        // RFC 6455 §1.3's example.
        assert!(response.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    }

    #[test]
    fn an_incomplete_head_waits_for_more() {
        let head = request("/ws?room=r&username=u&client_id=c", "");
        assert_eq!(parse(&head.as_bytes()[..30], "/ws"), Ok(None));
    }

    #[test]
    fn every_refusal_has_its_status() {
        assert_eq!(status("\x16\x03\x01garbage\r\n\r\n"), 400);
        assert_eq!(status("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
        assert_eq!(
            status(&request("/foo?room=r&username=u&client_id=c", "")),
            404
        );
        assert_eq!(
            status(&request("/ws?room=r&username=u", "")),
            400,
            "missing client_id"
        );
        let post = request("/ws?room=r&username=u&client_id=c", "").replacen("GET", "POST", 1);
        assert_eq!(status(&post), 405);
        let v8 = request("/ws?room=r&username=u&client_id=c", "")
            .replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8");
        assert_eq!(status(&v8), 426);
        let nokey = request("/ws?room=r&username=u&client_id=c", "").replace(KEY, "short");
        assert_eq!(status(&nokey), 400);
        let huge = format!("GET /ws?{} HTTP/1.1\r\n", "a".repeat(MAX_HEAD_BYTES));
        assert_eq!(status(&huge), 431);
    }

    /// Fuzz: valid joins mutated by a seeded stream (bytes changed, cut, doubled; header
    /// lines dropped; random bytes) are answered — upgraded, refused with a 4xx status and a
    /// reason, or waited on while short of a head — never with a panic. `WSIM_FUZZ_CASES=N`
    /// runs N inputs instead of 20,000.
    #[test]
    fn any_bytes_are_upgraded_refused_or_waited_on_never_a_panic() {
        use rand::Rng;
        let cases: usize = usize::try_from(wsim_proto::fuzz::budget("WSIM_FUZZ_CASES", 20_000))
            .unwrap_or(usize::MAX);
        let mut rng = wsim_proto::seed::derive_rng(1, "fuzz/upgrade");
        let valid = request(
            "/ws?room=r&username=u%20v&client_id=c&last_seq=4&epoch=e",
            "",
        );
        let (mut upgraded, mut refused, mut waiting) = (0, 0, 0);
        for case in 0..cases {
            let mut buf = valid.clone().into_bytes();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..buf.len().max(1));
                match rng.random_range(0..6) {
                    0 => {
                        let i = at.min(buf.len() - 1);
                        buf[i] = rng.random();
                    }
                    1 => buf.truncate(at),
                    2 => {
                        let tail = buf[at..].to_vec();
                        buf.extend_from_slice(&tail);
                    }
                    3 => {
                        let junk: Vec<u8> =
                            (0..rng.random_range(0..64)).map(|_| rng.random()).collect();
                        buf.splice(at..at, junk);
                    }
                    4 => {
                        buf = (0..rng.random_range(0..512))
                            .map(|_| rng.random())
                            .collect()
                    }
                    _ => {
                        let text = String::from_utf8_lossy(&buf).into_owned();
                        let lines: Vec<&str> = text.split("\r\n").collect();
                        let drop = rng.random_range(0..lines.len());
                        let kept: Vec<&str> = lines
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| *i != drop)
                            .map(|(_, l)| *l)
                            .collect();
                        buf = kept.join("\r\n").into_bytes();
                    }
                }
                if buf.is_empty() {
                    break;
                }
            }
            let outcome = std::panic::catch_unwind(|| parse(&buf, "/ws"));
            match outcome {
                Err(_) => panic!(
                    "case {case} panicked on {:?}",
                    String::from_utf8_lossy(&buf)
                ),
                Ok(Ok(Some(_))) => upgraded += 1,
                Ok(Ok(None)) => {
                    assert!(
                        buf.len() < MAX_HEAD_BYTES,
                        "case {case}: waits on a full head"
                    );
                    waiting += 1;
                }
                Ok(Err(refusal)) => {
                    assert!(
                        (400..500).contains(&refusal.status),
                        "case {case}: {refusal:?}"
                    );
                    assert!(!refusal.reason.is_empty(), "case {case}: no reason");
                    refused += 1;
                }
            }
        }
        assert!(
            upgraded > 0 && refused > 0 && waiting > 0,
            "{upgraded} {refused} {waiting}"
        );
    }

    #[test]
    fn a_refusal_is_a_complete_http_response_with_its_reason() {
        let text = String::from_utf8(HttpRefusal::new(404, "no such path").response()).unwrap();
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"));
        assert!(text.contains("Content-Length: 13\r\n"));
        assert!(text.ends_with("\r\n\r\nno such path\n"));
    }
}
