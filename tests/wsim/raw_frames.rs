//! `wsim serve` against raw sockets: malformed frames get their RFC 6455 close code at once,
//! requests that are not WebSocket joins get an HTTP error with a reason, the event log names
//! the cause, and a witness in the same room is never affected.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::serve::{assert_still_served, block_on, connect, next_json, Server};

/// How long a close frame may take to arrive: "at once" on loopback.
const AT_ONCE: Duration = Duration::from_millis(500);

/// Opens a raw TCP connection and completes the upgrade for `client_id`; returns the stream
/// positioned after the 101 response.
async fn raw_join(server: &Server, client_id: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(&server.addr).await.expect("tcp");
    let request = format!(
        "GET /ws?room=r&username={client_id}&client_id={client_id} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.expect("write");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        tcp.read_exact(&mut b).await.expect("response head");
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    tcp
}

/// A client frame: `first` is the FIN/RSV/opcode byte; masked unless `masked` is false.
fn frame(first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut out = vec![first];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | u8::try_from(n).expect("small")),
        n if n <= 0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&u16::try_from(n).expect("fits").to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        let mask = [1u8, 2, 3, 4];
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// Reads server frames until a close frame; returns its code (`None`: the connection ended
/// without one).
async fn close_code(tcp: &mut TcpStream) -> Option<u16> {
    loop {
        let mut h = [0u8; 2];
        tcp.read_exact(&mut h).await.ok()?;
        let len = match h[1] & 0x7f {
            126 => {
                let mut b = [0u8; 2];
                tcp.read_exact(&mut b).await.ok()?;
                u64::from(u16::from_be_bytes(b))
            }
            127 => {
                let mut b = [0u8; 8];
                tcp.read_exact(&mut b).await.ok()?;
                u64::from_be_bytes(b)
            }
            n => u64::from(n),
        };
        let mut payload = vec![0u8; usize::try_from(len).expect("fits")];
        tcp.read_exact(&mut payload).await.ok()?;
        if h[0] & 0x0f == 0x8 {
            return Some(u16::from_be_bytes([payload[0], payload[1]]));
        }
    }
}

#[test]
fn malformed_frames_get_their_close_code_at_once_and_only_their_connection_suffers() {
    let server = Server::start();
    block_on(async {
        let mut witness = connect(&server.url("room=r&username=W&client_id=w")).await;
        assert_eq!(next_json(&mut witness).await["type"], "welcome");
        let oversized = {
            // A header announcing 70 KiB, and only part of the payload.
            let mut f = vec![0x81, 0x80 | 127];
            f.extend_from_slice(&(70u64 * 1024).to_be_bytes());
            f.extend_from_slice(&[1, 2, 3, 4]);
            f.extend_from_slice(&[b'x'; 1000]);
            f
        };
        let cases: Vec<(&str, Vec<u8>, u16)> = vec![
            ("utf8", frame(0x81, &[0xff, 0xfe, 0xfd], true), 1007),
            ("unmasked", frame(0x81, br#"{"type":"ping"}"#, false), 1002),
            ("opcode3", frame(0x83, b"x", true), 1002),
            ("opcodeB", frame(0x8b, b"x", true), 1002),
            ("rsv1", frame(0xc1, b"{}", true), 1002),
            ("orphan", frame(0x80, b"x", true), 1002),
            ("fragping", frame(0x09, b"x", true), 1002),
            ("bigping", frame(0x89, &[0u8; 126], true), 1002),
            ("toobig", oversized, 1009),
        ];
        for (id, bytes, want) in cases {
            let mut tcp = raw_join(&server, id).await;
            tcp.write_all(&bytes).await.expect("write");
            let got = tokio::time::timeout(AT_ONCE, close_code(&mut tcp))
                .await
                .unwrap_or_else(|_| panic!("{id}: no close frame within {AT_ONCE:?}"));
            assert_eq!(got, Some(want), "{id}");
        }
        // The witness is still served.
        assert_still_served(&mut witness).await;
    });
    // The event log names each cause.
    let causes: Vec<String> = server
        .events()
        .iter()
        .filter(|e| e["event"] == "session_closed")
        .filter_map(|e| e["reason"].as_str().map(str::to_string))
        .collect();
    assert!(
        causes.iter().any(|r| r.starts_with("protocol_error (1007"))
            && causes
                .iter()
                .filter(|r| r.starts_with("protocol_error (1002"))
                .count()
                == 7
            && causes.iter().any(|r| r.starts_with("protocol_error (1009")),
        "{causes:?}"
    );
}

/// A seeded stream of test bytes (splitmix64): the fuzz inputs replay from their case number.
struct Bytes(u64);

impl Bytes {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// One frame's bytes: a random first byte, mask bit and length (short, 16- or 64-bit,
    /// sometimes lying), and a payload of random bytes or a mangled protocol message.
    fn frame(&mut self) -> Vec<u8> {
        let first = if self.below(3) == 0 {
            0x81
        } else {
            self.next() as u8
        };
        let payload: Vec<u8> = match self.below(3) {
            0 => (0..self.below(300)).map(|_| self.next() as u8).collect(),
            1 => {
                let texts = [
                    r#"{"type":"chat","id":"m1","text":"hi"}"#,
                    r#"{"type":"ping"}"#,
                    r#"{"type":"pong"}"#,
                    r#"{"type":"chat","id":"","text":""}"#,
                    r#"{"type":"chat","id":1,"text":null}"#,
                    r#"{"type":"nope"}"#,
                    "[]",
                    "null",
                ];
                let mut t = texts[self.below(texts.len() as u64) as usize]
                    .as_bytes()
                    .to_vec();
                if !t.is_empty() && self.below(2) == 0 {
                    let i = self.below(t.len() as u64) as usize;
                    t[i] = self.next() as u8;
                }
                t
            }
            _ => Vec::new(),
        };
        let mut out = frame(first, &payload, self.below(8) != 0);
        if self.below(10) == 0 {
            // A length that lies: the header announces more (or less) than follows.
            out[1] = (out[1] & 0x80) | (self.below(128) as u8);
        }
        if self.below(10) == 0 {
            out.truncate(self.below(out.len() as u64 + 1) as usize);
        }
        out
    }
}

/// Fuzz: connections that send random frames after a valid join (random opcodes, mask bits,
/// lying lengths, mangled protocol messages), then end their side, are each ended by the
/// server within 2 s — a close frame or the end of the stream — and a witness in the same room
/// is served throughout. 20 connections at a time; `WSIM_FUZZ_CASES=N` sends N instead of 100.
#[test]
fn random_frames_end_only_their_own_connection() {
    let cases = wsim_proto::fuzz::budget("WSIM_FUZZ_CASES", 100);
    // No heartbeat: the witness reads only between batches.
    let server = Server::start_with(&["--ping-interval", "none"]);
    let one = |case: u64| {
        let server = &server;
        async move {
            let mut bytes = Bytes(case);
            let mut tcp = raw_join(server, &format!("fuzz-{case}")).await;
            for _ in 0..=bytes.below(4) {
                if tcp.write_all(&bytes.frame()).await.is_err() {
                    break; // already closed by the server
                }
            }
            let _ = tcp.shutdown().await;
            let mut rest = Vec::new();
            let ended =
                tokio::time::timeout(Duration::from_secs(2), tcp.read_to_end(&mut rest)).await;
            assert!(
                ended.is_ok(),
                "case {case}: the server kept the connection open"
            );
        }
    };
    block_on(async {
        let mut witness = connect(&server.url("room=r&username=W&client_id=w")).await;
        assert_eq!(next_json(&mut witness).await["type"], "welcome");
        let mut case = 0;
        while case < cases {
            let batch = (case..cases.min(case + 20)).map(one);
            futures_util::future::join_all(batch).await;
            case += 20;
            assert_still_served(&mut witness).await;
        }
    });
}

/// Sends `request` raw and returns the HTTP response (status line, then the body).
async fn http(server: &Server, request: &[u8]) -> (String, String) {
    let mut tcp = TcpStream::connect(&server.addr).await.expect("tcp");
    tcp.write_all(request).await.expect("write");
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut response))
        .await
        .expect("answered in time")
        .expect("read");
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text.lines().next().unwrap_or("").to_string();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

#[test]
fn requests_that_are_not_websocket_joins_get_an_http_error_with_a_reason() {
    let server = Server::start();
    block_on(async {
        let upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                format!(
                    "GET /foo?room=r&username=u&client_id=c HTTP/1.1\r\nHost: x\r\n{upgrade}\r\n"
                )
                .into_bytes(),
                "404",
            ),
            (
                b"GET /ws?room=r&username=u&client_id=c HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
                "400",
            ),
            (b"\x16\x03\x01\x02\x00garbage\r\n\r\n".to_vec(), "400"),
            (
                format!("GET /ws?room=r HTTP/1.1\r\nHost: x\r\n{upgrade}\r\n").into_bytes(),
                "400",
            ),
        ];
        for (request, want) in cases {
            let (status, body) = http(&server, &request).await;
            assert!(
                status.starts_with(&format!("HTTP/1.1 {want} ")),
                "{status} for {:?}",
                String::from_utf8_lossy(&request)
            );
            assert!(!body.trim().is_empty(), "a reason for {status}");
        }
    });
    // The log line may trail the answer by a moment.
    let mut refused = Vec::new();
    for _ in 0..100 {
        refused = server
            .events()
            .into_iter()
            .filter(|e| e["event"] == "handshake_refused")
            .collect();
        if refused.len() >= 4 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(refused.len(), 4, "each refusal is logged: {refused:?}");
    assert!(refused
        .iter()
        .all(|e| e["reason"].as_str().is_some_and(|r| !r.is_empty())));
}
