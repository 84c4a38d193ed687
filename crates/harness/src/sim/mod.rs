//! The simulation layer: one turmoil world per (scenario, seed) ([`topology`]) with the
//! systems under test plugged in through the [`seam`] (wsim's own by default: [`system`]), the
//! seeded fault schedule ([`crate::schedule`]) applied to it (`faults`: the world as the fault
//! executor's target), `turmoil::net` behind the product's network seam ([`net`]), and the one
//! loop that steps it all ([`stepper`]), skipping idle ticks (`idle`). It only simulates:
//! [`crate::judge`] judges.

#[cfg(feature = "axum")]
mod axum;
pub(crate) mod faults;
pub mod guarantee;
mod idle;
pub(crate) mod link_faults;
pub mod net;
pub(crate) mod run;
pub mod seam;
#[doc(hidden)]
pub mod stepper;
pub mod system;
#[doc(hidden)]
pub mod topology;

#[cfg(feature = "axum")]
pub use axum::SimHttpStream;
pub(crate) use run::{simulate_into, simulate_system, simulate_unjudged};
pub use run::{Simulated, Simulation};
pub use seam::{
    ClientApp, ClientHost, ClientUnderTest, HostResult, ProxyHost, ProxyUnderTest, ServerHost,
    ServerUnderTest, Stepping, System,
};
pub use system::{WsimClient, WsimProxy, WsimServer};
pub use topology::{delivered_latency, PROXY_PORT, SERVER_PORT};
pub use wsim_proto::LocalBoxFuture;

/// What a system under test is handed and reports, re-exported so that a user's crate needs
/// only `wsim` as a dev-dependency.
pub mod types {
    pub use rand::RngCore;
    pub use wsim_client::{
        BackoffConfig, ClientConfig, ClientEvent, ClientIdentity, DisconnectReason, HeartbeatMode,
        HostSleep, PresenceKind,
    };
    pub use wsim_proto::clock::timer;
    pub use wsim_proto::keepalive::KeepaliveConfig;
    pub use wsim_proto::net::{Connector, Listener};
    pub use wsim_proto::{EventSink, SimRng, WallSource};
    pub use wsim_server::{ServerConfig, ServerEvent};
}
