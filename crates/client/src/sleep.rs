//! A client host's sleep — a laptop lid closed, a background tab throttled (socket.io #4040):
//! while the host sleeps, its clients' tasks and timers are frozen, and on waking every overdue
//! timer fires at once, as on a real device.
//!
//! Every client driver waits for its host to fall asleep alongside everything else it waits
//! for, so that wait is polled with every frame it reads: it waits on a [`WaitList`], where a
//! waiting future keeps its place (woken in the order the waits began, as with a `Notify`)
//! instead of re-registering on each poll.
//!
//! Sleeps nest: a host put to sleep twice (two overlapping sleep faults) wakes when the last
//! of them ends, not the first.

use std::cell::Cell;
use std::rc::Rc;

use wsim_proto::wait_list::WaitList;

/// Whether a client host is asleep; shared by its clients and the fault executor.
#[derive(Debug, Default)]
pub struct HostSleep {
    /// Sleeps begun and not yet ended: asleep while above zero.
    sleeps: Cell<u32>,
    changed: WaitList,
}

impl HostSleep {
    /// An awake host.
    #[must_use]
    pub fn new() -> Rc<Self> {
        Rc::new(HostSleep::default())
    }

    /// Puts the host to sleep (one more sleep, if it already sleeps).
    pub fn fall_asleep(&self) {
        let sleeps = self.sleeps.get();
        self.sleeps.set(sleeps.saturating_add(1));
        if sleeps == 0 {
            self.changed.notify_all();
        }
    }

    /// Ends one sleep: the host wakes once every sleep begun has ended.
    pub fn wake(&self) {
        let sleeps = self.sleeps.get();
        self.sleeps.set(sleeps.saturating_sub(1));
        if sleeps == 1 {
            self.changed.notify_all();
        }
    }

    /// Whether the host sleeps.
    #[must_use]
    pub fn is_asleep(&self) -> bool {
        self.sleeps.get() > 0
    }

    /// Resolves once the host is asleep.
    pub async fn until_asleep(&self) {
        self.until(true).await;
    }

    /// Resolves once the host is awake.
    pub async fn until_awake(&self) {
        self.until(false).await;
    }

    async fn until(&self, asleep: bool) {
        loop {
            let changed = self.changed.wait();
            if self.is_asleep() == asleep {
                return;
            }
            changed.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_sleeps_nest_and_the_host_wakes_with_the_last() {
        let host = HostSleep::new();
        host.fall_asleep();
        host.fall_asleep();
        host.wake();
        assert!(host.is_asleep(), "one sleep still holds it");
        host.wake();
        assert!(!host.is_asleep());
        host.wake();
        assert!(!host.is_asleep(), "an extra wake is nothing");
        host.fall_asleep();
        assert!(host.is_asleep(), "and does not cancel the next sleep");
    }
}
