//! wsim: a deterministic simulation test harness for resilient WebSocket systems.
//!
//! A [`scenario`] file describes a world — clients, a proxy, a server, the network between
//! them and the faults that hit it. [`sim`] builds that world inside turmoil's simulated
//! network for one seed, with the systems under test plugged in through [`sim::seam`] (wsim's
//! own client, server and proxy by default), and records every component's events into one
//! [`event`] timeline. [`check`]ers read the timeline and a [`verdict`] sums them up; [`sweep`]
//! runs many seeds, [`explore`] runs random worlds, [`shrink`] minimises a failing scenario,
//! [`grid`] varies settings, [`real`] runs the fleet and the faults on a real network,
//! [`report`] writes what happened.
//!
//! The data flows one way: scenario → world → events → checkers → verdict → report.

use wsim_client as client;
use wsim_proto::{keepalive, net, seed, wslink};
use wsim_proxy as proxy;
use wsim_server as server;

pub mod check;
pub mod clock;
mod conn_delays;
pub mod digest;
pub mod event;
pub mod explore;
pub mod grid;
pub mod judge;
pub mod naive;
pub mod real;
pub mod render;
pub mod report;
pub mod route;
pub mod scenario;
pub mod shrink;
pub mod sim;
pub mod standard;
pub mod stats;
pub mod suite;
pub mod sweep;
pub mod timeline;
pub mod trace;
pub mod verdict;
pub mod wallclock;

pub use event::{Event, EventKind};
pub use judge::{run, RunOutcome};
pub use scenario::{load, ScenarioFile};
pub use sim::{simulate, System};
pub use suite::{Suite, SuiteOutcome};
pub use verdict::Verdict;
