//! Client settings and identity.

use std::time::Duration;

use crate::backoff::BackoffConfig;
use crate::keepalive::KeepaliveConfig;

/// Who a client is: sent as query parameters of the WebSocket URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// Stable id of the client across reconnects (`client_id`).
    pub client_id: String,
    /// Display name (`username`).
    pub username: String,
    /// The room to join (`room`).
    pub room: String,
}

/// How keepalive pings travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HeartbeatMode {
    /// WebSocket ping/pong control frames.
    Ws,
    /// JSON `{"type":"ping"}` / `{"type":"pong"}` text frames, as browsers must (they cannot
    /// send WebSocket pings).
    App,
}

/// How a client keeps its link alive, reconnects and buffers.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// Keepalive ping and dead-peer detection (default 20 s / 20 s).
    pub keepalive: KeepaliveConfig,
    /// Ping frames or application pings (default `Ws`).
    pub heartbeat: HeartbeatMode,
    /// Watchdog for a server that went silent: drop the link when nothing at all arrived for this
    /// long (default 40 s, twice the server's 20 s heartbeat; `None` disables).
    pub server_silence: Option<Duration>,
    /// Longest TCP connect plus WebSocket handshake (default 5 s).
    pub connect_timeout: Duration,
    /// How long a dropped link may linger to send its close frame (default 1 s); reconnecting
    /// never waits for it.
    pub close_timeout: Duration,
    /// Delays between connection attempts.
    pub backoff: BackoffConfig,
    /// A link that stayed up this long resets the backoff (default 10 s).
    pub min_uptime: Duration,
    /// Give up after this many failed attempts in a row (default: never).
    pub max_retries: Option<u32>,
    /// Most messages waiting for an acknowledgement (default 1024); more is an error.
    pub max_pending: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            keepalive: KeepaliveConfig {
                interval: Some(Duration::from_secs(20)),
                timeout: Some(Duration::from_secs(20)),
            },
            heartbeat: HeartbeatMode::Ws,
            server_silence: Some(Duration::from_secs(40)),
            connect_timeout: Duration::from_secs(5),
            close_timeout: Duration::from_secs(1),
            backoff: BackoffConfig::default(),
            min_uptime: Duration::from_secs(10),
            max_retries: None,
            max_pending: 1024,
        }
    }
}
