//! The ledger a simulator installs on its thread, and a pending timer's entry in it.

use std::cell::RefCell;
use std::sync::Arc;

use tokio::time::Instant;

/// Where a simulator keeps the deadlines of the pending timers of the hosts it runs.
///
/// Installed per thread ([`install_ledger`]); a simulation runs every host on one thread.
pub trait Ledger: Send + Sync {
    /// A timer with `deadline` (on the calling host's clock) is now pending; returns the entry
    /// to withdraw when it fires or is dropped.
    fn announce(&self, deadline: Instant) -> u64;
    /// The timer of `entry` is no longer pending.
    fn withdraw(&self, entry: u64);
}

thread_local! {
    static LEDGER: RefCell<Option<Arc<dyn Ledger>>> = const { RefCell::new(None) };
}

/// Installs `ledger` for the timers set on this thread from now on (`None` removes it) and
/// returns the one it replaces. Timers already pending stay in the ledger they announced to.
pub fn install_ledger(ledger: Option<Arc<dyn Ledger>>) -> Option<Arc<dyn Ledger>> {
    LEDGER.with(|l| std::mem::replace(&mut *l.borrow_mut(), ledger))
}

/// A pending timer's entry in a ledger, withdrawn on drop.
pub(crate) struct Announcement {
    ledger: Arc<dyn Ledger>,
    entry: u64,
}

impl Drop for Announcement {
    fn drop(&mut self) {
        self.ledger.withdraw(self.entry);
    }
}

/// Announces `deadline` to this thread's ledger, if one is installed.
pub(crate) fn announce(deadline: Instant) -> Option<Announcement> {
    LEDGER.with(|l| {
        l.borrow().as_ref().map(|ledger| Announcement {
            ledger: Arc::clone(ledger),
            entry: ledger.announce(deadline),
        })
    })
}
