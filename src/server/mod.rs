//! The WebSocket server: a sans-IO session manager for grace periods, presence,
//! de-duplication, history replay and heartbeat ([`machine`]), driven over any network by a thin tokio driver ([`driver`]).

pub(crate) mod claim;
pub mod config;
pub mod dedup;
pub mod driver;
pub mod join;
pub mod machine;
pub mod upgrade;

pub use config::ServerConfig;
pub use driver::serve;
pub use machine::ServerMachine;
