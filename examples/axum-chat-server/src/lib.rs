//! A WebSocket chat server on axum's `ws` module, written from wsim's `docs/protocol.md` alone:
//! rooms with consecutively numbered messages, sessions bound to a client-chosen key that
//! survive a drop for a grace period, resume with replay of what was missed, per-session
//! de-duplication, a heartbeat, and bounded everything.
//!
//! [`app`] is the whole server as an axum [`Router`]: serve it with `axum::serve` on a real
//! listener (`src/main.rs`) or on a simulated one. It spawns with `tokio::spawn` (as axum
//! does) and sets every timer through `wsim_time`, so a simulator can see them.

mod admit;
mod conn;
mod frames;
mod keys;
mod outbox;
mod state;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::routing::get;
use axum::Router;

/// Most sessions (live or away) at once: beyond it new sessions are refused with 503. It also
/// bounds how many emptied rooms keep their numbering and how many expired sessions' message
/// ids are kept for their clients' next sessions.
pub const MAX_SESSIONS: usize = 10_000;

/// Most bytes queued for one connection (4 MiB): a reader that slow is closed with 1013.
pub const SEND_QUEUE_BYTES: usize = 4 * 1024 * 1024;

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
    /// Resuming a session clears its de-duplication memory: a message retried after a
    /// reconnect (its ack was lost) is numbered and broadcast a second time.
    ForgetsDedupOnResume,
}

/// The whole server as a router: `GET /ws` upgrades to the chat protocol; anything else is
/// answered by axum (404, 405). `key_seed` seeds the server's `epoch` and the session keys it
/// draws for clients that bring none: give each start of a server a different seed, or its
/// clients cannot tell its incarnations apart.
pub fn app(settings: Settings, key_seed: u64) -> Router {
    let shared = Arc::new(Shared::new(settings, key_seed));
    Router::new()
        .route("/ws", get(admit::upgrade))
        .with_state(shared)
}

/// What every handler and connection shares.
#[derive(Debug)]
pub(crate) struct Shared {
    settings: Settings,
    state: Mutex<state::State>,
    next_conn: AtomicU64,
}

impl Shared {
    fn new(settings: Settings, key_seed: u64) -> Self {
        Shared {
            state: Mutex::new(state::State::new(settings.clone(), key_seed)),
            settings,
            next_conn: AtomicU64::new(1),
        }
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, state::State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Runs a session's grace timer: at its deadline the session ends unless it came back.
    pub(crate) fn start_grace(self: &Arc<Self>, grace: state::Grace) {
        let shared = Arc::clone(self);
        tokio::spawn(async move {
            wsim_time::sleep_until(grace.deadline).await;
            let now = wsim_time::Instant::now();
            shared.state().expire(&grace.id, grace.drop, now);
        });
    }
}
