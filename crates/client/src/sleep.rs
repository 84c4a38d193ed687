//! A client host's sleep — a laptop lid closed, a background tab throttled (socket.io #4040):
//! while the host sleeps, its clients' tasks and timers are frozen, and on waking every overdue
//! timer fires at once, as on a real device.
//!
//! Every client driver waits for its host to fall asleep alongside everything else it waits
//! for, so that wait is polled with every frame it reads: it waits on a [`WaitList`], where a
//! waiting future keeps its place (woken in the order the waits began, as with a `Notify`)
//! instead of re-registering on each poll.

use std::cell::Cell;
use std::rc::Rc;

use wsim_proto::wait_list::WaitList;

/// Whether a client host is asleep; shared by its clients and the fault executor.
#[derive(Debug, Default)]
pub struct HostSleep {
    asleep: Cell<bool>,
    changed: WaitList,
}

impl HostSleep {
    /// An awake host.
    #[must_use]
    pub fn new() -> Rc<Self> {
        Rc::new(HostSleep::default())
    }

    /// Puts the host to sleep.
    pub fn fall_asleep(&self) {
        self.asleep.set(true);
        self.changed.notify_all();
    }

    /// Wakes the host.
    pub fn wake(&self) {
        self.asleep.set(false);
        self.changed.notify_all();
    }

    /// Whether the host sleeps.
    #[must_use]
    pub fn is_asleep(&self) -> bool {
        self.asleep.get()
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
            if self.asleep.get() == asleep {
                return;
            }
            changed.await;
        }
    }
}
