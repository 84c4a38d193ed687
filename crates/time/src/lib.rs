//! Timers a deterministic simulator can see.
//!
//! On a real network these are tokio's own timers. Inside a simulation that installed a
//! [`Ledger`] on its thread ([`install_ledger`]), each pending timer's deadline is also written
//! into the ledger, so the simulator knows when nothing can happen before the next deadline and
//! may skip the idle time in one step. Every future here is `Send` (it holds the ledger by
//! `Arc`), so code in `tokio::spawn`ed tasks — axum, hyper, tonic handlers — can use them.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! use std::time::Duration;
//!
//! wsim_time::sleep(Duration::from_secs(1)).await;
//! let late = wsim_time::timeout(Duration::from_secs(1), std::future::pending::<()>()).await;
//! assert!(late.is_err());
//! let mut heartbeat = wsim_time::interval(Duration::from_secs(20));
//! heartbeat.tick().await; // the first tick is immediate
//! # }
//! ```
//!
//! A timer set any other way is invisible to the ledger: a system that sets one must not claim
//! to announce its timers (the simulator then steps it tick by tick).
#![warn(missing_docs, unreachable_pub)]
// The timers' own crate: it reads tokio's clock (the simulated one inside a simulation), which
// the workspace's clippy.toml keeps every other product module from doing.
#![allow(clippy::disallowed_methods)]

mod interval;
mod ledger;
mod sleep;
mod timer;

pub use interval::{interval, interval_at, Interval};
pub use ledger::{install_ledger, Ledger};
pub use sleep::{sleep, sleep_until, timeout, timeout_at};
pub use timer::Timer;
pub use tokio::time::error::Elapsed;
pub use tokio::time::Instant;

#[cfg(test)]
mod tests;
