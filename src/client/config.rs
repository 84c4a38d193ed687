//! Client settings and identity.

use std::time::Duration;

use crate::client::backoff::BackoffConfig;
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

/// How a client keeps its link alive and reconnects.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// WebSocket ping keepalive and dead-peer detection (default 20 s / 20 s).
    pub keepalive: KeepaliveConfig,
    /// Longest time a TCP connect plus WebSocket handshake may take (default 5 s).
    pub connect_timeout: Duration,
    /// Delays between connection attempts.
    pub backoff: BackoffConfig,
    /// A link that stayed up this long resets the backoff (default 10 s).
    pub min_uptime: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            keepalive: KeepaliveConfig {
                interval: Some(Duration::from_secs(20)),
                timeout: Some(Duration::from_secs(20)),
            },
            connect_timeout: Duration::from_secs(5),
            backoff: BackoffConfig::default(),
            min_uptime: Duration::from_secs(10),
        }
    }
}
