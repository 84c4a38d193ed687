//! wsim: a deterministic simulation test harness for resilient WebSocket systems — and the
//! resilient system itself.
//!
//! - [`client`]: a reconnecting WebSocket client (sans-IO machine + tokio driver);
//! - [`server`]: the server (rooms, broadcast, heartbeat; sans-IO machine + tokio driver);
//! - [`proxy`]: a TCP relay like the HTTP infrastructure between them;
//! - [`sim`]: all three inside a turmoil-simulated network, driven by [`scenario`] files
//!   with seeded faults, checked by [`check`]ers that read the one [`event`] stream.
//!
//! The same client, server and proxy run on a real network through [`net`]'s tokio seam.

pub mod bugs;
pub mod check;
pub mod cli;
pub mod client;
pub mod clock;
pub mod digest;
pub mod event;
pub mod frame;
pub mod keepalive;
pub mod net;
pub mod protocol;
pub mod proxy;
pub mod render;
pub mod report;
pub mod scenario;
pub mod seed;
pub mod server;
pub mod shrink;
pub mod sim;
pub mod sweep;
pub mod timeline;
pub mod trace;
pub mod verdict;
pub mod wallclock;
pub mod wslink;
