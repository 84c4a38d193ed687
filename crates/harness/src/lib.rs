//! wsim: a deterministic simulation test harness for resilient WebSocket systems.
//!
//! Test *your* WebSocket server (or client) under wsim's scenarios — partitions, latency
//! spikes, proxy idle-kills, clock faults, crashes — from `cargo test`, deterministically: a
//! failing run names its seed and replays exactly.
//!
//! ```no_run
//! use wsim::{HostResult, LocalBoxFuture, ServerHost, ServerUnderTest, Suite};
//!
//! /// Your server: accept connections on `host.listener`, speak docs/protocol.md.
//! struct MyServer;
//!
//! impl ServerUnderTest for MyServer {
//!     fn run(&self, host: ServerHost) -> LocalBoxFuture<HostResult> {
//!         Box::pin(async move {
//!             let _ = host; // accept on host.listener, report on host.events
//!             Ok(())
//!         })
//!     }
//! }
//!
//! Suite::new().standard().seeds(1..=20).server(|| MyServer).assert_pass();
//! ```
//!
//! What a user writes is re-exported here: the [`Suite`]; the three systems under test
//! ([`ServerUnderTest`], [`ClientUnderTest`], [`ProxyUnderTest`]) and the hosts they are handed,
//! with every type a host holds; the events a client reports ([`ClientEvent`]); loading a
//! scenario ([`load()`]) and judging one run ([`Run`], [`Verdict`]). With the `axum` feature,
//! `axum::serve(host.listener, app)` runs an axum `Router` on the server host.
//!
//! Everything else (the scenario model, the simulator, the checkers, sweep, explore, shrink,
//! reports) is the `wsim` command line's and is not a stable API.
//!
//! Inside: a scenario file describes a world; `sim` builds it inside turmoil's simulated
//! network for one seed with the systems under test plugged in through its seam, and records
//! every component's events into one timeline; checkers read the timeline and a verdict sums
//! them up. The data flows one way: scenario → world → events → checkers → verdict → report.
#![warn(missing_docs)]

/// The repository README's Rust snippets, compiled as doctests (`cargo test -p wsim --features
/// axum --doc`: one of them is the axum recipe).
#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../../../README.md")]
mod readme {}

use wsim_client as client;
use wsim_proto::{keepalive, net, seed, wslink};
use wsim_proxy as proxy;
use wsim_server as server;

#[doc(hidden)]
pub mod check;
#[doc(hidden)]
pub mod clock;
#[doc(hidden)]
pub mod digest;
#[doc(hidden)]
pub mod event;
#[doc(hidden)]
pub mod explore;
#[doc(hidden)]
pub mod fault;
#[doc(hidden)]
pub mod fault_model;
#[doc(hidden)]
pub mod grid;
#[doc(hidden)]
pub mod judge;
#[doc(hidden)]
pub mod naive;
#[doc(hidden)]
pub mod real;
#[doc(hidden)]
pub mod render;
#[doc(hidden)]
pub mod report;
#[doc(hidden)]
pub mod route;
#[doc(hidden)]
pub mod scenario;
#[doc(hidden)]
pub mod schedule;
#[doc(hidden)]
pub mod shrink;
#[doc(hidden)]
pub mod sim;
#[doc(hidden)]
pub mod standard;
#[doc(hidden)]
pub mod stats;
#[doc(hidden)]
pub mod suite;
#[doc(hidden)]
pub mod sweep;
#[doc(hidden)]
pub mod timeline;
#[doc(hidden)]
pub mod trace;
#[doc(hidden)]
pub mod verdict;
#[doc(hidden)]
pub mod view;
#[doc(hidden)]
pub mod wallclock;

pub use event::{Event, EventKind};
pub use judge::{Keep, Run, RunOutcome};
pub use scenario::{load, ScenarioError, ScenarioFile};
pub use suite::{Suite, SuiteOutcome};
pub use verdict::Verdict;

pub use sim::net::{SimListener, SimStream, TurmoilConnector};
#[cfg(feature = "axum")]
pub use sim::SimHttpStream;
pub use sim::{
    ClientApp, ClientHost, ClientUnderTest, HostResult, LocalBoxFuture, ProxyHost, ProxyUnderTest,
    ServerHost, ServerUnderTest,
};

pub use rand::RngCore;
pub use wsim_client::{
    BackoffConfig, ClientConfig, ClientEvent, ClientIdentity, DisconnectReason, HeartbeatMode,
    HostSleep, PresenceKind,
};
pub use wsim_proto::keepalive::KeepaliveConfig;
pub use wsim_proto::net::{Connector, Listener};
pub use wsim_proto::{EventSink, SimRng, WallSource};
pub use wsim_proxy::{ProxyControl, ProxyEvent};
pub use wsim_server::{KeylessResume, SendQueueLimit, ServerConfig, ServerEvent};
