//! Server settings.

use std::time::Duration;

use crate::keepalive::KeepaliveConfig;

/// How the server keeps connections alive and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Server heartbeat: ping after `interval` of silence, close when nothing arrives within
    /// `timeout` (default 20 s / 20 s).
    pub heartbeat: KeepaliveConfig,
    /// Largest accepted frame or message, in bytes (default 64 KiB); larger closes with 1009.
    pub max_message_bytes: usize,
    /// Longest time a WebSocket handshake may take after TCP accept (default 5 s).
    pub handshake_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            heartbeat: KeepaliveConfig {
                interval: Some(Duration::from_secs(20)),
                timeout: Some(Duration::from_secs(20)),
            },
            max_message_bytes: 64 * 1024,
            handshake_timeout: Duration::from_secs(5),
        }
    }
}
