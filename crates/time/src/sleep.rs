//! One-shot timers: sleeping and time limits.

use std::future::Future;
use std::time::Duration;

use tokio::time::error::Elapsed;
use tokio::time::Instant;

use crate::ledger::announce;

/// Sleeps until `deadline` on the host's clock (`tokio::time::sleep_until`, announced).
pub async fn sleep_until(deadline: Instant) {
    let _pending = announce(deadline);
    tokio::time::sleep_until(deadline).await;
}

/// Sleeps for `duration` on the host's clock (`tokio::time::sleep`, announced).
pub async fn sleep(duration: Duration) {
    sleep_until(Instant::now() + duration).await;
}

/// Runs `future` until `deadline`: `Err` when the time ran out first
/// (`tokio::time::timeout_at`, announced).
///
/// # Errors
/// [`Elapsed`] when `deadline` passed before `future` finished.
pub async fn timeout_at<F: Future>(deadline: Instant, future: F) -> Result<F::Output, Elapsed> {
    let _pending = announce(deadline);
    tokio::time::timeout_at(deadline, future).await
}

/// Runs `future` for at most `duration`: `Err` when the time ran out first
/// (`tokio::time::timeout`, announced).
///
/// # Errors
/// [`Elapsed`] when `duration` passed before `future` finished.
pub async fn timeout<F: Future>(duration: Duration, future: F) -> Result<F::Output, Elapsed> {
    timeout_at(Instant::now() + duration, future).await
}
