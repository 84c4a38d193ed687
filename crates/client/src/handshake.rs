//! Building the client's WebSocket upgrade request: the URL with the identity as query
//! parameters and a `Sec-WebSocket-Key` drawn from the seeded RNG (never OS randomness).

use tokio_tungstenite::tungstenite::http::{self, Request};

use crate::config::ClientIdentity;
use crate::machine::SessionClaim;

/// The parts of a `ws://host:port/path` or `wss://host[:port]/path` URL the client needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsUrl {
    /// `host:port`, used to connect and as the `Host` header.
    pub authority: String,
    /// The path, e.g. `/ws`.
    pub path: String,
    /// `wss://`: the connection speaks TLS, verifying the certificate for [`WsUrl::host`].
    pub tls: bool,
}

/// Why a URL is not a usable WebSocket URL.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    /// Neither `ws://` nor `wss://`.
    #[error("`{0}` is not a ws:// or wss:// URL")]
    Scheme(String),
    /// The URL has no `host:port` (a `ws://` URL needs its port; `wss://` defaults to 443).
    #[error("`{0}` has no host:port")]
    Authority(String),
    /// A `wss://` URL in a build without TLS (the `tls` feature of `wsim-client`).
    #[error("`{0}` needs TLS: build wsim-client with its `tls` feature")]
    NeedsTls(String),
    /// TLS could not be set up for a `wss://` URL (no root certificate, say).
    #[error("TLS for {0}")]
    Tls(String),
}

impl WsUrl {
    /// Parses `ws://host:port/path` or `wss://host[:port]/path` (the path defaults to `/ws`;
    /// a query is dropped).
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let (rest, tls) = match (url.strip_prefix("ws://"), url.strip_prefix("wss://")) {
            (Some(rest), _) => (rest, false),
            (None, Some(rest)) => (rest, true),
            (None, None) => return Err(UrlError::Scheme(url.to_string())),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/ws"),
        };
        let path = path.split('?').next().unwrap_or("/ws");
        let has_port = authority
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
        let authority = match (has_port, tls) {
            (true, _) => authority.to_string(),
            (false, true) if !authority.is_empty() && !authority.contains(':') => {
                format!("{authority}:443")
            }
            _ => return Err(UrlError::Authority(url.to_string())),
        };
        Ok(WsUrl {
            authority,
            path: path.to_string(),
            tls,
        })
    }

    /// The host name (or address) the URL names, without its port: what a TLS certificate
    /// is verified for.
    #[must_use]
    pub fn host(&self) -> &str {
        let host = self
            .authority
            .rsplit_once(':')
            .map_or(self.authority.as_str(), |(h, _)| h);
        host.trim_start_matches('[').trim_end_matches(']')
    }
}

/// The upgrade request for `identity` at `url` with handshake key `key`, presenting the
/// session key (and the last seen sequence number, once the client has had a session).
pub fn request(
    url: &WsUrl,
    identity: &ClientIdentity,
    key: &str,
    session: &SessionClaim,
) -> http::Result<Request<()>> {
    let mut uri = format!(
        "{}://{}{}?room={}&username={}&client_id={}",
        if url.tls { "wss" } else { "ws" },
        url.authority,
        url.path,
        percent_encode(&identity.room),
        percent_encode(&identity.username),
        percent_encode(&identity.client_id)
    );
    uri.push_str("&session_key=");
    uri.push_str(&percent_encode(&session.key));
    uri.push_str(&format!("&attempt={}", session.attempt));
    if let Some(seq) = session.last_seq {
        uri.push_str(&format!("&last_seq={seq}"));
        if let Some(epoch) = &session.epoch {
            uri.push_str("&epoch=");
            uri.push_str(&percent_encode(epoch));
        }
    }
    Request::builder()
        .method("GET")
        .uri(uri)
        .header("Host", &url.authority)
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", key)
        .body(())
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
#[must_use]
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Base64 (standard alphabet, padded) of a 16-byte handshake nonce.
#[must_use]
pub fn encode_key(bytes: &[u8; 16]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(24);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_base64_of_16_bytes() {
        // RFC 6455 section 1.3 example nonce "the sample nonce".
        assert_eq!(encode_key(b"the sample nonce"), "dGhlIHNhbXBsZSBub25jZQ==");
    }

    #[test]
    fn url_parsing() {
        assert_eq!(
            WsUrl::parse("ws://127.0.0.1:8080/ws").unwrap(),
            WsUrl {
                authority: "127.0.0.1:8080".into(),
                path: "/ws".into(),
                tls: false,
            }
        );
        assert_eq!(WsUrl::parse("ws://proxy:80").unwrap().path, "/ws");
        let secure = WsUrl::parse("wss://chat.example.com/socket").unwrap();
        assert_eq!(
            (secure.authority.as_str(), secure.path.as_str(), secure.tls),
            ("chat.example.com:443", "/socket", true)
        );
        assert_eq!(secure.host(), "chat.example.com");
        assert_eq!(WsUrl::parse("wss://[::1]:9443/ws").unwrap().host(), "::1");
        assert!(WsUrl::parse("ws://nohost/ws").is_err());
        assert!(WsUrl::parse("http://x:1/ws").is_err());
        assert!(WsUrl::parse("wss:///ws").is_err());
    }

    #[test]
    fn identity_goes_into_the_query() {
        let id = ClientIdentity {
            client_id: "web-1".into(),
            username: "Ann Lee".into(),
            room: "general".into(),
        };
        let url = WsUrl::parse("ws://proxy:8080/ws").unwrap();
        let first = SessionClaim {
            key: "k3y".into(),
            last_seq: None,
            epoch: None,
            attempt: 1,
        };
        let req = request(&url, &id, "k", &first).unwrap();
        assert_eq!(
            req.uri().to_string(),
            "ws://proxy:8080/ws?room=general&username=Ann%20Lee&client_id=web-1&session_key=k3y&attempt=1"
        );
        let again = SessionClaim {
            last_seq: Some(42),
            epoch: Some("00ab".into()),
            attempt: 2,
            ..first
        };
        let req = request(&url, &id, "k", &again).unwrap();
        assert!(req
            .uri()
            .to_string()
            .ends_with("&session_key=k3y&attempt=2&last_seq=42&epoch=00ab"));
    }
}
