//! A long-lived timer for a connection's driver: re-armed often, announced only when its
//! deadline changes.

use tokio::time::Instant;

use crate::ledger::{announce, Announcement};

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
    use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use crate::{install_ledger, Ledger};

    /// Counts what is pending.
    #[derive(Default)]
    struct Counting {
        announced: AtomicU64,
        pending: AtomicI64,
    }

    impl Counting {
        fn announced(&self) -> u64 {
            self.announced.load(Ordering::Relaxed)
        }
        fn pending(&self) -> i64 {
            self.pending.load(Ordering::Relaxed)
        }
    }

    impl Ledger for Counting {
        fn announce(&self, _deadline: Instant) -> u64 {
            self.pending.fetch_add(1, Ordering::Relaxed);
            self.announced.fetch_add(1, Ordering::Relaxed) + 1
        }
        fn withdraw(&self, _entry: u64) {
            self.pending.fetch_sub(1, Ordering::Relaxed);
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
            let ledger = Arc::new(Counting::default());
            let outer = install_ledger(Some(Arc::clone(&ledger) as Arc<dyn Ledger>));
            let start = Instant::now();
            let at = |s: u64| start + Duration::from_secs(s);
            let mut timer = Timer::new();
            assert_eq!(timer.armed(), None);
            timer.arm_by(Some(at(10)));
            // Later deadlines (a frame pushed the ping back) leave it armed as it was.
            timer.arm_by(Some(at(20)));
            timer.arm_by(None);
            assert_eq!(timer.armed(), Some(at(10)));
            assert_eq!(ledger.announced(), 1);
            timer.arm_by(Some(at(5)));
            assert_eq!(timer.armed(), Some(at(5)));
            assert_eq!((ledger.announced(), ledger.pending()), (2, 1));
            timer.fired().await;
            assert_eq!(Instant::now() - start, Duration::from_secs(5));
            assert_eq!((timer.armed(), ledger.pending()), (None, 0));
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
