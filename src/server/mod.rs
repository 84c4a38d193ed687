//! The WebSocket server: a sans-IO machine for rooms, numbering, broadcast and heartbeat
//! ([`machine`]), driven over any network by a thin tokio driver ([`driver`]).

pub mod config;
pub mod driver;
pub mod join;
pub mod machine;

pub use config::ServerConfig;
pub use driver::serve;
pub use machine::ServerMachine;
