//! `wsim proxy` on loopback kills an idle connection at its timeout, in each mode.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A `wsim proxy` process, killed on drop.
pub(crate) struct Proxy {
    child: Child,
    pub(crate) addr: String,
    events: std::sync::mpsc::Receiver<serde_json::Value>,
}

impl Proxy {
    fn start(upstream: &str, mode: &str) -> Proxy {
        Self::start_with(upstream, &["--idle-timeout", "300ms", "--on-idle", mode])
    }

    /// `wsim proxy` relaying to `upstream` with `flags`.
    pub(crate) fn start_with(upstream: &str, flags: &[&str]) -> Proxy {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wsim"))
            .args(["proxy", "--listen", "127.0.0.1:0", "--upstream", upstream])
            .args(flags)
            .args(["--format", "jsonl"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("wsim proxy starts");
        let mut banner = String::new();
        BufReader::new(child.stderr.take().expect("stderr"))
            .read_line(&mut banner)
            .expect("a banner");
        let addr = banner
            .split("listening on ")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .expect("the banner names the address")
            .to_string();
        // Events arrive on stdout as JSON Lines; a reader thread hands them over.
        let (tx, events) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        #[allow(clippy::disallowed_methods)] // a real process's pipe, not the simulation
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        Proxy {
            child,
            addr,
            events,
        }
    }

    /// Every event printed so far (without waiting).
    pub(crate) fn events_so_far(&self) -> Vec<serde_json::Value> {
        self.events.try_iter().collect()
    }

    fn idle_kill(&self) -> serde_json::Value {
        loop {
            let e = self
                .events
                .recv_timeout(Duration::from_secs(10))
                .expect("an event");
            if e["event"] == "idle_kill" {
                return e;
            }
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the client end sees after it stops talking.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Eof,
    Reset,
    Silence,
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// An echo server; returns its address.
async fn echo_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

async fn observe(s: &mut tokio::net::TcpStream) -> Seen {
    let mut buf = [0u8; 16];
    match tokio::time::timeout(Duration::from_millis(700), s.read(&mut buf)).await {
        Ok(Ok(0)) => Seen::Eof,
        Ok(Ok(_)) => panic!("the killed connection still echoes"),
        Ok(Err(_)) => Seen::Reset,
        Err(_) => Seen::Silence,
    }
}

fn idle_then_observe(mode: &str) -> (serde_json::Value, Seen) {
    block_on(async {
        let upstream = echo_server().await;
        let proxy = Proxy::start(&upstream, mode);
        let mut s = tokio::net::TcpStream::connect(&proxy.addr)
            .await
            .expect("connect");
        s.write_all(b"ping").await.expect("write");
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await.expect("echoed");
        // Stay quiet past the timeout, then see what the connection has become.
        let kill = tokio::task::spawn_blocking(move || {
            let kill = proxy.idle_kill();
            (kill, proxy)
        })
        .await
        .expect("joined");
        let (kill, _proxy) = kill;
        let mut seen = observe(&mut s).await;
        if seen == Seen::Silence {
            // Still open: does it still carry anything?
            let _ = s.write_all(b"again").await;
            seen = observe(&mut s).await;
        }
        (kill, seen)
    })
}

#[test]
fn close_mode_sends_end_of_stream() {
    let (kill, seen) = idle_then_observe("close");
    assert_eq!(kill["mode"], "close");
    assert!(kill["idle_ms"].as_u64().expect("idle_ms") >= 300);
    assert_eq!(seen, Seen::Eof);
}

#[test]
fn reset_mode_resets() {
    let (kill, seen) = idle_then_observe("reset");
    assert_eq!(kill["mode"], "reset");
    assert_eq!(seen, Seen::Reset);
}

#[test]
fn blackhole_mode_leaves_a_silent_half_open_connection() {
    let (kill, seen) = idle_then_observe("blackhole");
    assert_eq!(kill["mode"], "blackhole");
    assert_eq!(seen, Seen::Silence);
}
