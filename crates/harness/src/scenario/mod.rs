//! Scenario files: the TOML format ([`model`], its `[expect]` section in [`expect`]),
//! durations and seeded ranges ([`duration`]), loading with precise errors ([`load()`],
//! [`error`]), and the component settings a scenario implies.

pub mod duration;
pub mod edit;
pub mod error;
pub mod expect;
#[cfg(test)]
mod fuzz;
pub mod load;
pub mod model;
pub mod roster;

pub use error::ScenarioError;
pub use load::{load, parse};
pub use model::{CheckName, FaultKind, ScenarioFile};

use crate::client::BackoffConfig;
use crate::client::ClientConfig;
use crate::keepalive::KeepaliveConfig;
use crate::proxy::IdleConfig;
use crate::proxy::ProxyConfig;
use crate::server::ServerConfig;

impl ScenarioFile {
    /// The settings every client of this scenario runs with.
    #[must_use]
    pub fn client_config(&self) -> ClientConfig {
        let c = &self.client;
        ClientConfig {
            keepalive: KeepaliveConfig {
                interval: c.ping_interval.0,
                timeout: c.ping_timeout.0,
            },
            heartbeat: c.heartbeat,
            server_silence: c.server_silence.0,
            connect_timeout: c.connect_timeout.0,
            close_timeout: c.close_timeout.0,
            max_retries: c.max_retries,
            max_pending: c.max_pending,
            backoff: BackoffConfig {
                initial: c.backoff.initial.0,
                max: c.backoff.max.0,
                factor: c.backoff.factor,
                jitter: c.backoff.jitter,
            },
            min_uptime: c.min_uptime.0,
        }
    }

    /// The settings the server of this scenario runs with.
    #[must_use]
    pub fn server_config(&self) -> ServerConfig {
        ServerConfig {
            heartbeat: KeepaliveConfig {
                interval: self.server.ping_interval.0,
                timeout: self.server.ping_timeout.0,
            },
            max_message_bytes: self.server.max_message_bytes,
            grace: self.server.grace.0,
            dedup_ttl: self.server.dedup_ttl.0,
            dedup_limit: self.server.dedup_limit,
            history_limit: self.server.history_limit,
            max_sessions: self.server.max_sessions,
            keyless_resume: self.server.keyless_resume,
            send_queue: crate::wslink::SendQueueLimit {
                bytes: self.server.send_queue_bytes,
                frames: self.server.send_queue_frames,
            },
            ..ServerConfig::default()
        }
    }

    /// The settings the proxy of this scenario runs with, relaying to `upstream`.
    #[must_use]
    pub fn proxy_config(&self, upstream: String) -> ProxyConfig {
        ProxyConfig {
            upstream,
            connect_timeout: self.proxy.connect_timeout.0,
            idle: IdleConfig {
                timeout: self.proxy.idle_timeout.0,
                measure: self.proxy.idle_measure,
                mode: self.proxy.on_idle,
            },
        }
    }

    /// The client hosts, in order of first appearance.
    #[must_use]
    pub fn client_hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = Vec::new();
        for g in &self.clients {
            if !hosts.contains(&g.host) {
                hosts.push(g.host.clone());
            }
        }
        hosts
    }
}
