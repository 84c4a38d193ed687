//! wsim-client: a resilient WebSocket client — keepalive ping/pong, dead-peer detection,
//! exponential backoff with jitter, an offline send buffer, message ids and acknowledgements,
//! resume from the last-seen message.
//!
//! A sans-IO state machine ([`ClientMachine`]) holds every policy; a thin tokio driver
//! ([`Client`]) runs it over any [`wsim_proto::net::Connector`]: `tokio::net` for real, a
//! simulator's network in tests. The application reads [`ClientEvent`]s.
#![warn(missing_docs)]

use wsim_proto::{clock, frame, keepalive, net, protocol, seed, wallclock, wslink};

mod app_events;
mod backoff;
mod config;
mod driver;
mod event;
pub mod handshake;
mod machine;
mod nudge;
mod sleep;
#[cfg(feature = "tls")]
pub mod tls;

pub use backoff::{BackoffConfig, Jitter};
pub use config::{ClientConfig, ClientIdentity, HeartbeatMode};
pub use driver::{Client, ClientIo};
pub use event::{ClientEvent, DisconnectReason, PresenceKind};
pub use handshake::{UrlError, WsUrl};
pub use machine::{Action, ClientMachine, LinkEnd, MessageId, SendError, SessionClaim};
pub use sleep::HostSleep;
