//! wsim-server: a WebSocket session manager — sessions that survive a dropped connection for a
//! grace period (`user_away` → `user_reconnected`, or `user_left` when it expires), resume by
//! session key, de-duplication of retried messages, replay of missed history, heartbeats.
//!
//! A sans-IO state machine ([`ServerMachine`]) holds every policy; a thin tokio driver
//! ([`serve`]) runs it over any [`wsim_proto::net::Listener`]: `tokio::net` for real, a
//! simulator's network in tests. The server reports what happens as [`ServerEvent`]s.
#![warn(missing_docs)]

use wsim_proto::{clock, frame, keepalive, net, protocol, seed, wslink};

mod claim;
mod config;
mod dedup;
mod driver;
mod event;
mod join;
mod machine;
mod retained;
mod upgrade;

pub use claim::ClaimRefusal;
pub use config::{KeylessResume, SendQueueLimit, ServerConfig};
pub use driver::serve;
pub use event::ServerEvent;
pub use join::{JoinError, JoinRequest};
pub use machine::{ConnEnd, ConnId, ServerMachine};
