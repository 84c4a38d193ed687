//! A WebSocket chat server written from wsim's `docs/protocol.md` alone, on tokio-tungstenite:
//! rooms with numbered messages, sessions that survive a drop for a grace period, resume with
//! replay of what was missed, per-session de-duplication and a heartbeat.
//!
//! It shares no code with wsim's own server. It runs on a real network (`src/main.rs`) and,
//! unchanged, inside wsim's simulation (`tests/scenarios.rs`), because it only needs an
//! [`Accept`]or of byte streams, timers and `tokio::task::spawn_local`. Every timer goes through
//! `wsim_time` (tokio's own timers outside a simulation), so a simulation can skip the time in
//! which nothing is due.

mod admit;
mod conn;
mod state;
mod wire;

use std::future::Future;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

/// The server's settings; the defaults are the protocol's.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a dropped session waits for its client (30 s).
    pub grace: Duration,
    /// Ping after this much silence from a client (20 s; `None`: never).
    pub ping_interval: Option<Duration>,
    /// Drop a client that sends nothing this long after a ping (20 s).
    pub ping_timeout: Option<Duration>,
    /// How long message ids are remembered per session (300 s).
    pub dedup_ttl: Duration,
    /// Most message ids remembered per session (10 000): the oldest are forgotten first.
    pub dedup_limit: usize,
    /// Messages kept per room for replay (1000): the oldest are dropped first.
    pub history_limit: usize,
    /// Largest message accepted (64 KiB): larger closes with 1009.
    pub max_message_bytes: usize,
    /// Most frames queued for one connection (4096): a reader that slow is closed with 1013.
    pub send_queue_frames: usize,
    /// A deliberate bug, for showing that wsim's checkers catch it (`None` in real use).
    pub planted_bug: Option<PlantedBug>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            grace: Duration::from_secs(30),
            ping_interval: Some(Duration::from_secs(20)),
            ping_timeout: Some(Duration::from_secs(20)),
            dedup_ttl: Duration::from_secs(300),
            dedup_limit: 10_000,
            history_limit: 1000,
            max_message_bytes: 64 * 1024,
            send_queue_frames: 4096,
            planted_bug: None,
        }
    }
}

/// Deliberate bugs, one line each, that wsim's scenarios must catch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlantedBug {
    /// A session's grace timer does not check that it belongs to the session's *latest*
    /// drop: the timer of an earlier drop ends a session that reconnected and dropped again.
    StaleGraceTimer,
}

/// A source of accepted byte streams: a TCP listener, or a simulated one.
pub trait Accept {
    /// The stream of one accepted connection.
    type Stream: AsyncRead + AsyncWrite + Unpin + 'static;
    /// Waits for the next connection.
    fn accept(&mut self) -> impl Future<Output = io::Result<Self::Stream>>;
}

impl Accept for tokio::net::TcpListener {
    type Stream = tokio::net::TcpStream;
    async fn accept(&mut self) -> io::Result<Self::Stream> {
        let (stream, _) = tokio::net::TcpListener::accept(self).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

/// Serves chat on `listener` until accepting fails for good. Must run inside a
/// `tokio::task::LocalSet` (connections are `spawn_local`ed). `key_seed` seeds the session
/// keys the server draws for clients that bring none.
pub async fn serve<A: Accept>(mut listener: A, settings: Settings, key_seed: u64) {
    let server = Rc::new(state::Server::new(settings, key_seed));
    let mut failures = 0u32;
    loop {
        match listener.accept().await {
            Ok(stream) => {
                failures = 0;
                tokio::task::spawn_local(conn::run(Rc::clone(&server), stream));
            }
            Err(_) if failures < 100 => {
                // Out of descriptors and the like: back off a little and keep serving.
                failures += 1;
                wsim_time::sleep(Duration::from_millis(10)).await;
            }
            Err(_) => return,
        }
    }
}
