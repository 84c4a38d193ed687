//! The resilient WebSocket client: a sans-IO state machine ([`machine`]) with reconnect
//! backoff ([`backoff`]), driven over any network by a thin tokio driver ([`driver`]).

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
pub use event::{ClientEvent, PresenceKind};
pub use machine::{ClientMachine, MessageId, SendError};
