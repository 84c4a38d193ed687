//! wsim-proto: what wsim's client, server and proxy share — the wire protocol and its frames,
//! the keepalive policy, the WebSocket link their drivers speak over, and the seams through
//! which an embedding program gives them time, randomness, a network and a place for events.
//!
//! - [`protocol`] / [`frame`]: the JSON messages and the WebSocket frames that carry them;
//! - [`keepalive`]: ping / pong-timeout policy as a sans-IO state machine;
//! - [`wslink`]: one WebSocket connection over any [`net::Stream`], with a bounded send queue;
//! - [`local_split`]: a stream's reading and writing halves on one thread, without a lock;
//! - [`net`]: the [`net::Connector`] / [`net::Listener`] seam (`tokio::net` here; a simulator
//!   brings its own);
//! - [`clock`], [`wallclock`], [`seed`], [`sink`]: time, wall time, randomness and events.
#![warn(missing_docs)]

pub mod clock;
mod flat_scan;
pub mod frame;
#[cfg(feature = "fuzz")]
pub mod fuzz;
pub mod keepalive;
pub mod local_split;
pub mod net;
pub mod protocol;
pub mod query;
pub mod seed;
pub mod server_frame;
pub mod sink;
pub mod wait_list;
pub mod wallclock;
pub mod wslink;

pub use clock::{HostClock, MonoTime};
pub use net::{Connector, Listener, LocalBoxFuture, Stream, TokioConnector};
pub use seed::{derive_rng, SimRng};
pub use sink::EventSink;
pub use wallclock::WallSource;
