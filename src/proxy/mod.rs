//! The proxy between clients and the server: a TCP relay that behaves like the HTTP
//! infrastructure real WebSocket connections cross.

pub mod relay;

use std::time::Duration;

use crate::net::{Connector, Listener};
use crate::timeline::EventSink;

/// Proxy settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// `host:port` of the server.
    pub upstream: String,
    /// Longest time to reach the server for a new connection (default 5 s).
    pub connect_timeout: Duration,
}

/// Accepts connections from `listener` and relays each to the upstream server.
pub async fn run<L: Listener, C: Connector>(
    mut listener: L,
    connector: C,
    config: ProxyConfig,
    sink: EventSink,
) {
    let mut next_conn = 0u64;
    loop {
        let Ok(client) = listener.accept().await else {
            continue;
        };
        next_conn += 1;
        tokio::task::spawn_local(relay::relay(
            next_conn,
            client,
            connector.clone(),
            config.upstream.clone(),
            config.connect_timeout,
            sink.clone(),
        ));
    }
}
