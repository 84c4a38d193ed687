//! Timers that announce their deadlines. Every timer wsim's client, server and proxy set goes
//! through [`sleep`], [`sleep_until`] or [`timeout`]: on a real network they are plain
//! `tokio::time` timers; inside a simulator that installed a [`TimerLedger`] on the thread, each
//! one's deadline is also written into the ledger while it is pending, so the simulator knows
//! when nothing can happen before the next deadline and may skip the idle time in one step.
//!
//! A timer set any other way is invisible to the ledger: a system that sets one must not claim
//! to announce its timers (the simulator then steps it tick by tick).

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use tokio::time::Instant;

/// Where a simulator keeps the deadlines of the pending timers of the hosts it runs.
pub trait TimerLedger {
    /// A timer with `deadline` (on the calling host's clock) is now pending; returns the entry
    /// to withdraw when it fires or is dropped.
    fn announce(&self, deadline: Instant) -> u64;
    /// The timer of `entry` is no longer pending.
    fn withdraw(&self, entry: u64);
}

thread_local! {
    static LEDGER: RefCell<Option<Rc<dyn TimerLedger>>> = const { RefCell::new(None) };
}

/// Installs `ledger` for the timers set on this thread from now on (`None` removes it) and
/// returns the one it replaces. Timers already pending stay in the ledger they announced to.
pub fn install_ledger(ledger: Option<Rc<dyn TimerLedger>>) -> Option<Rc<dyn TimerLedger>> {
    LEDGER.with(|l| std::mem::replace(&mut *l.borrow_mut(), ledger))
}

/// A pending timer's entry in a ledger, withdrawn on drop.
struct Announcement {
    ledger: Rc<dyn TimerLedger>,
    entry: u64,
}

impl Drop for Announcement {
    fn drop(&mut self) {
        self.ledger.withdraw(self.entry);
    }
}

fn announce(deadline: Instant) -> Option<Announcement> {
    LEDGER.with(|l| {
        l.borrow().as_ref().map(|ledger| Announcement {
            ledger: Rc::clone(ledger),
            entry: ledger.announce(deadline),
        })
    })
}

/// Sleeps until `deadline` on the host's clock.
pub async fn sleep_until(deadline: Instant) {
    let _pending = announce(deadline);
    tokio::time::sleep_until(deadline).await;
}

/// Sleeps for `duration` on the host's clock.
pub async fn sleep(duration: Duration) {
    sleep_until(Instant::now() + duration).await;
}

/// Runs `future` for at most `duration`: `Err` when the time ran out first.
pub async fn timeout<F: Future>(
    duration: Duration,
    future: F,
) -> Result<F::Output, tokio::time::error::Elapsed> {
    let deadline = Instant::now() + duration;
    let _pending = announce(deadline);
    tokio::time::timeout_at(deadline, future).await
}
