//! Timers that announce their deadlines. Every timer wsim's client, server and proxy set goes
//! through [`sleep`], [`sleep_until`], [`timeout`] or a driver's long-lived [`Timer`]: on a
//! real network they are plain `tokio::time` timers; inside a simulator that installed a
//! [`TimerLedger`] on the thread, each one's deadline is also written into the ledger while it
//! is pending, so the simulator knows when nothing can happen before the next deadline and may
//! skip the idle time in one step.
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

/// A driver's one long-lived timer: armed for the earliest deadline its machine has asked for,
/// and left armed when a deadline moves later (a frame arrived and pushed the next ping back),
/// so a busy connection neither creates a tokio timer nor re-announces one per frame. It may
/// therefore fire before the machine's current deadline: the machine's `handle_timeout` does
/// nothing then, and the driver arms the timer again.
pub struct Timer {
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
    armed: Option<Instant>,
    pending: Option<Announcement>,
}

impl Default for Timer {
    fn default() -> Self {
        Timer::new()
    }
}

impl std::fmt::Debug for Timer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timer").field("armed", &self.armed).finish()
    }
}

impl Timer {
    /// An unarmed timer. Must be created inside a tokio runtime.
    #[must_use]
    pub fn new() -> Self {
        Timer {
            sleep: Box::pin(tokio::time::sleep_until(Instant::now())),
            armed: None,
            pending: None,
        }
    }

    /// Makes the timer fire no later than `deadline`; an earlier armed deadline stays (the
    /// timer never fires later than asked, sometimes earlier). `None` leaves it as it is.
    pub fn arm_by(&mut self, deadline: Option<Instant>) {
        let Some(deadline) = deadline else { return };
        if self.armed.is_some_and(|armed| armed <= deadline) {
            return;
        }
        self.sleep.as_mut().reset(deadline);
        self.armed = Some(deadline);
        self.pending = None;
        self.pending = announce(deadline);
    }

    /// When the timer is armed to fire, if it is.
    #[must_use]
    pub fn armed(&self) -> Option<Instant> {
        self.armed
    }

    /// Waits until the armed deadline (forever while unarmed); the timer is then unarmed.
    /// Cancel-safe.
    pub async fn fired(&mut self) {
        if self.armed.is_none() {
            return std::future::pending().await;
        }
        self.sleep.as_mut().await;
        self.armed = None;
        self.pending = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// Counts what is pending.
    #[derive(Default)]
    struct Counting {
        announced: Cell<u64>,
        pending: Cell<i64>,
    }

    impl TimerLedger for Counting {
        fn announce(&self, _deadline: Instant) -> u64 {
            self.announced.set(self.announced.get() + 1);
            self.pending.set(self.pending.get() + 1);
            self.announced.get()
        }
        fn withdraw(&self, _entry: u64) {
            self.pending.set(self.pending.get() - 1);
        }
    }

    #[test]
    fn a_timer_keeps_its_earliest_deadline_fires_then_and_announces_only_changes() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime");
        rt.block_on(async {
            let ledger = Rc::new(Counting::default());
            let outer = install_ledger(Some(Rc::clone(&ledger) as Rc<dyn TimerLedger>));
            let start = Instant::now();
            let at = |s: u64| start + Duration::from_secs(s);
            let mut timer = Timer::new();
            assert_eq!(timer.armed(), None);
            timer.arm_by(Some(at(10)));
            // Later deadlines (a frame pushed the ping back) leave it armed as it was.
            timer.arm_by(Some(at(20)));
            timer.arm_by(None);
            assert_eq!(timer.armed(), Some(at(10)));
            assert_eq!(ledger.announced.get(), 1);
            timer.arm_by(Some(at(5)));
            assert_eq!(timer.armed(), Some(at(5)));
            assert_eq!((ledger.announced.get(), ledger.pending.get()), (2, 1));
            timer.fired().await;
            assert_eq!(Instant::now() - start, Duration::from_secs(5));
            assert_eq!((timer.armed(), ledger.pending.get()), (None, 0));
            // Unarmed, it never fires.
            let never = tokio::time::timeout(Duration::from_secs(3600), timer.fired()).await;
            assert!(never.is_err());
            // Armed again for a deadline already past, it fires at once.
            timer.arm_by(Some(at(1)));
            timer.fired().await;
            assert_eq!(Instant::now() - start, Duration::from_secs(3605));
            install_ledger(outer);
        });
    }
}
