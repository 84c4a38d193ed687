//! Server settings.

use std::time::Duration;

use serde::Deserialize;

use crate::keepalive::KeepaliveConfig;
pub use crate::wslink::SendQueueLimit;

/// How the server keeps connections alive and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Server heartbeat: ping after `interval` of silence, close when nothing arrives within
    /// `timeout` (default 20 s / 20 s).
    pub heartbeat: KeepaliveConfig,
    /// Largest accepted frame or message, in bytes (default 64 KiB); larger closes with 1009.
    pub max_message_bytes: usize,
    /// The path clients upgrade at (default `/ws`); any other path gets HTTP 404.
    pub path: String,
    /// Which sessions a client that presents no session key may resume (default
    /// [`KeylessResume::ClientId`], the seed article's contract).
    pub keyless_resume: KeylessResume,
    /// Most bytes and frames queued for one connection to write; a connection over either is
    /// closed with 1013 (its session waits out the grace period as after any drop).
    pub send_queue: SendQueueLimit,
    /// Longest time a WebSocket handshake may take after TCP accept (default 5 s).
    pub handshake_timeout: Duration,
    /// How long a dropped session waits for its client (default 30 s), measured on the
    /// server's monotonic clock.
    pub grace: Duration,
    /// How long message ids are remembered for de-duplication (default 300 s).
    pub dedup_ttl: Duration,
    /// Most message ids remembered per session (default 10 000); the oldest are forgotten first.
    pub dedup_limit: usize,
    /// Messages kept per room for replay (default 1000).
    pub history_limit: usize,
    /// Most sessions at once (default 100 000); more are refused with close code 1013.
    pub max_sessions: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            heartbeat: KeepaliveConfig {
                interval: Some(Duration::from_secs(20)),
                timeout: Some(Duration::from_secs(20)),
            },
            max_message_bytes: 64 * 1024,
            path: "/ws".to_string(),
            keyless_resume: KeylessResume::ClientId,
            send_queue: SendQueueLimit::default(),
            handshake_timeout: Duration::from_secs(5),
            grace: Duration::from_secs(30),
            dedup_ttl: Duration::from_secs(300),
            dedup_limit: 10_000,
            history_limit: 1000,
            max_sessions: 100_000,
        }
    }
}

/// Which session a connection that presents no session key may resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeylessResume {
    /// Trust the client id, as the seed article does: a keyless connection resumes (or takes
    /// over) the session of its `client_id` if that session was opened without a key too.
    #[default]
    ClientId,
    /// Require the key: a keyless connection may only open a new session; claiming an
    /// existing one is refused (HTTP 409) until it expires.
    Key,
}

impl KeylessResume {
    /// The setting's name in scenario files and on the command line.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            KeylessResume::ClientId => "client_id",
            KeylessResume::Key => "key",
        }
    }
}
