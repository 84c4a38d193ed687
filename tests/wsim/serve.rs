//! `wsim serve` on loopback, driven with raw WebSocket frames in the seed article's format
//! (query parameters, `chat_message`, presence) and with every kind of bad input.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

/// A `wsim serve` process on an ephemeral port, killed on drop; its JSON Lines events go to a
/// file the test can read.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: String,
    events: std::path::PathBuf,
}

impl Server {
    pub(crate) fn start() -> Server {
        Self::start_with(&[])
    }

    /// `wsim serve` with extra flags.
    pub(crate) fn start_with(flags: &[&str]) -> Server {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let events =
            std::env::temp_dir().join(format!("wsim-serve-{}-{n}.jsonl", std::process::id()));
        let out = std::fs::File::create(&events).expect("event file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_wsim"))
            .args(["serve", "--listen", "127.0.0.1:0", "--format", "jsonl"])
            .args(flags)
            .stdout(Stdio::from(out))
            .stderr(Stdio::piped())
            .spawn()
            .expect("wsim serve starts");
        let stderr = child.stderr.take().expect("stderr");
        let mut line = String::new();
        BufReader::new(stderr)
            .read_line(&mut line)
            .expect("a banner");
        let addr = line
            .trim()
            .rsplit("ws://")
            .next()
            .and_then(|s| s.strip_suffix("/ws"))
            .expect("the banner names the address")
            .to_string();
        Server {
            child,
            addr,
            events,
        }
    }

    pub(crate) fn url(&self, query: &str) -> String {
        format!("ws://{}/ws?{query}", self.addr)
    }

    /// The process id (to read its memory use).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every event the server has printed so far.
    pub(crate) fn events(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.events)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.events);
    }
}

pub(crate) type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

pub(crate) async fn connect(url: &str) -> Ws {
    let addr = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .expect("host");
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("tcp");
    tokio_tungstenite::client_async(url, tcp)
        .await
        .expect("handshake")
        .0
}

/// The next text frame, parsed (skipping pings).
pub(crate) async fn next_json(ws: &mut Ws) -> serde_json::Value {
    let fut = async {
        loop {
            match ws.next().await.expect("a frame").expect("no error") {
                Message::Text(t) => return serde_json::from_str(&t).expect("json"),
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), fut)
        .await
        .expect("in time")
}

/// The close code the server ends the connection with.
async fn close_code(ws: &mut Ws) -> CloseCode {
    let fut = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(Some(frame)))) => return frame.code,
                Some(Ok(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), fut)
        .await
        .expect("in time")
}

pub(crate) fn block_on<F: std::future::Future<Output = ()>>(f: F) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f);
}

#[test]
fn the_seed_articles_client_works_unchanged() {
    let server = Server::start();
    block_on(async {
        let mut alice = connect(&server.url("room=general&username=Alice&client_id=123")).await;
        assert_eq!(next_json(&mut alice).await["type"], "welcome");
        let mut bob = connect(&server.url("room=general&username=Bob&client_id=456")).await;
        assert_eq!(next_json(&mut bob).await["type"], "welcome");
        let joined = next_json(&mut alice).await;
        assert_eq!(
            joined,
            serde_json::json!({"type":"user_joined","username":"Bob"})
        );

        let chat =
            r#"{"type":"chat_message","text":"hi","timestamp":"2024-01-01T00:00:00Z","id":"m1"}"#;
        alice.send(Message::text(chat)).await.expect("send");
        let ack = next_json(&mut alice).await;
        assert_eq!(ack, serde_json::json!({"type":"ack","id":"m1","seq":1}));
        let got = next_json(&mut bob).await;
        assert_eq!(
            (
                got["type"].as_str(),
                got["text"].as_str(),
                got["username"].as_str()
            ),
            (Some("chat_message"), Some("hi"), Some("Alice"))
        );

        // The seed client sends the same id again after a timeout: acknowledged, not re-sent.
        alice.send(Message::text(chat)).await.expect("send");
        assert_eq!(next_json(&mut alice).await, ack);

        bob.close(None).await.expect("close");
        assert_eq!(
            next_json(&mut alice).await,
            serde_json::json!({"type":"user_away","username":"Bob"})
        );
    });
}

#[test]
fn bad_input_closes_only_that_connection_with_the_right_code() {
    let server = Server::start();
    block_on(async {
        let mut witness = connect(&server.url("room=r&username=W&client_id=w")).await;
        next_json(&mut witness).await;
        let cases: [(&str, Message, CloseCode); 3] = [
            ("a", Message::text("{not json"), CloseCode::Invalid),
            (
                "b",
                Message::binary(vec![1u8, 2, 3]),
                CloseCode::Unsupported,
            ),
            ("c", Message::text("x".repeat(70 * 1024)), CloseCode::Size),
        ];
        for (id, frame, code) in cases {
            let mut ws =
                connect(&server.url(&format!("room=r&username={id}&client_id={id}"))).await;
            next_json(&mut ws).await;
            ws.send(frame).await.expect("send");
            assert_eq!(close_code(&mut ws).await, code, "client {id}");
        }
        // Unknown message types are answered, and the connection stays open.
        let mut ws = connect(&server.url("room=r&username=d&client_id=d")).await;
        next_json(&mut ws).await;
        ws.send(Message::text(r#"{"type":"dance"}"#))
            .await
            .expect("send");
        assert_eq!(next_json(&mut ws).await["type"], "error");
        ws.send(Message::text(r#"{"type":"ping"}"#))
            .await
            .expect("send");
        assert_eq!(next_json(&mut ws).await["type"], "pong");
        // The witness was served throughout (it saw the others come and go).
        assert_still_served(&mut witness).await;
    });
}

/// A witness sends a chat message and gets its ack: its session was never touched (it may
/// see others come and go, never leave itself).
pub(crate) async fn assert_still_served(witness: &mut Ws) {
    witness
        .send(Message::text(
            r#"{"type":"chat_message","text":"still here","id":"w1"}"#,
        ))
        .await
        .expect("send");
    loop {
        let m = next_json(witness).await;
        if m["type"] == "ack" {
            assert_eq!(m["id"], "w1");
            return;
        }
        assert_ne!(m["type"], "error", "the witness's message was refused: {m}");
    }
}

#[test]
fn missing_query_parameters_are_refused_with_400() {
    let server = Server::start();
    block_on(async {
        for query in ["room=r&username=u", "username=u&client_id=c", ""] {
            let url = server.url(query);
            let addr = url
                .trim_start_matches("ws://")
                .split('/')
                .next()
                .expect("host")
                .to_string();
            let tcp = tokio::net::TcpStream::connect(addr).await.expect("tcp");
            match tokio_tungstenite::client_async(url.as_str(), tcp).await {
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                    assert_eq!(response.status(), 400, "{query}");
                }
                other => panic!("{query}: expected HTTP 400, got {:?}", other.map(|_| ())),
            }
        }
    });
}
