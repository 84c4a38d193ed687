//! wsim-client: a resilient WebSocket client — keepalive ping/pong, dead-peer detection,
//! exponential backoff with jitter, an offline send buffer, message ids and acknowledgements,
//! resume from the last-seen message.
//!
//! A sans-IO state machine ([`ClientMachine`]) holds every policy; a thin tokio driver
//! ([`Client`]) runs it over any [`wsim_proto::net::Connector`]: `tokio::net` for real, a
//! simulator's network in tests. The application reads [`ClientEvent`]s.
#![warn(missing_docs)]

use wsim_proto::{clock, frame, keepalive, net, protocol, seed, wallclock, wslink};

pub(crate) mod app_events;
pub mod backoff;
pub mod config;
pub mod driver;
pub mod event;
pub mod handshake;
pub mod machine;
pub mod sleep;

pub use config::{ClientConfig, ClientIdentity};
pub use driver::{Client, ClientIo};
pub use event::{ClientEvent, DisconnectReason, PresenceKind};
pub use machine::{ClientMachine, MessageId, SendError};
