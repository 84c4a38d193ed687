//! Timers that announce their deadlines: every timer wsim's client, server and proxy set goes
//! through these (the [`wsim_time`] crate, which a user's own server can use too). On a real
//! network they are plain `tokio::time` timers; inside a simulator that installed a
//! [`TimerLedger`] on the thread, each one's deadline is also written into the ledger while it
//! is pending, so the simulator knows when nothing can happen before the next deadline.

pub use wsim_time::{
    install_ledger, sleep, sleep_until, timeout, timeout_at, Ledger as TimerLedger, Timer,
};
