//! Test-only systems under test: the seed article's naive code, ported to Rust and plugged in
//! through the same [`crate::sim::seam`] as wsim's own components. They exist to show the
//! checkers catching the article's bugs (`tests/wsim/checker_teeth.rs`); a scenario selects
//! them with `[system] server = "naive"` / `client = "naive"`. Never ship them.
//!
//! - [`NaiveServer`]: seed 002's `SessionManager` and `MessageDeduplicator`;
//! - [`NaiveClient`]: the seed article's `ResilientWebSocket`.

mod client;
mod server;

pub use client::NaiveClient;
pub use server::NaiveServer;
