//! A client host's sleep — a laptop lid closed, a background tab throttled (socket.io #4040):
//! while the host sleeps, its clients' tasks and timers are frozen, and on waking every overdue
//! timer fires at once, as on a real device.
//!
//! Every client driver waits for its host to fall asleep alongside everything else it waits
//! for, so that wait is polled on every frame it reads: a waiting future keeps one slot in
//! the host's waiter list (a waker, replaced only if the task's changes) instead of
//! re-registering with a `Notify` on each poll.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// Whether a client host is asleep; shared by its clients and the fault executor.
#[derive(Debug, Default)]
pub struct HostSleep {
    asleep: Cell<bool>,
    /// Counts changes: a waiter's slot belongs to the generation it was taken in.
    generation: Cell<u64>,
    /// The waiters of this generation: one slot each (`None`: given back).
    waiters: RefCell<Vec<Option<Waker>>>,
    /// Slots given back by waiters dropped in this generation, for reuse: the list never
    /// holds more slots than there are waiting futures.
    free: RefCell<Vec<usize>>,
}

impl HostSleep {
    /// An awake host.
    #[must_use]
    pub fn new() -> Rc<Self> {
        Rc::new(HostSleep::default())
    }

    /// Puts the host to sleep.
    pub fn fall_asleep(&self) {
        self.set(true);
    }

    /// Wakes the host.
    pub fn wake(&self) {
        self.set(false);
    }

    fn set(&self, asleep: bool) {
        self.asleep.set(asleep);
        self.generation.set(self.generation.get() + 1);
        self.free.borrow_mut().clear();
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for waker in waiters.into_iter().flatten() {
            waker.wake();
        }
    }

    /// Whether the host sleeps.
    #[must_use]
    pub fn is_asleep(&self) -> bool {
        self.asleep.get()
    }

    /// Resolves once the host is asleep.
    pub fn until_asleep(&self) -> SleepWait<'_> {
        self.until(true)
    }

    /// Resolves once the host is awake.
    pub fn until_awake(&self) -> SleepWait<'_> {
        self.until(false)
    }

    fn until(&self, asleep: bool) -> SleepWait<'_> {
        SleepWait {
            sleep: self,
            asleep,
            slot: None,
        }
    }

    /// How many waiter slots are taken (for tests of the bound).
    #[cfg(test)]
    fn slots(&self) -> usize {
        self.waiters.borrow().len() - self.free.borrow().len()
    }
}

/// Resolves once its host is asleep (or awake, as asked).
#[derive(Debug)]
#[must_use = "a future does nothing unless polled"]
pub struct SleepWait<'a> {
    sleep: &'a HostSleep,
    asleep: bool,
    /// (generation, index) of this future's slot in the waiter list.
    slot: Option<(u64, usize)>,
}

impl SleepWait<'_> {
    /// Gives the slot back, if it is of the current generation (a change empties the list).
    fn release(&mut self) {
        if let Some((generation, index)) = self.slot.take() {
            if generation == self.sleep.generation.get() {
                self.sleep.waiters.borrow_mut()[index] = None;
                self.sleep.free.borrow_mut().push(index);
            }
        }
    }
}

impl Future for SleepWait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let sleep = self.sleep;
        if sleep.asleep.get() == self.asleep {
            self.release();
            return Poll::Ready(());
        }
        let generation = sleep.generation.get();
        let mut waiters = sleep.waiters.borrow_mut();
        match self.slot {
            Some((taken, index)) if taken == generation => {
                let slot = &mut waiters[index];
                if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *slot = Some(cx.waker().clone());
                }
            }
            _ => {
                let waker = Some(cx.waker().clone());
                let index = match sleep.free.borrow_mut().pop() {
                    Some(index) => {
                        waiters[index] = waker;
                        index
                    }
                    None => {
                        waiters.push(waker);
                        waiters.len() - 1
                    }
                };
                drop(waiters);
                self.slot = Some((generation, index));
            }
        }
        Poll::Pending
    }
}

impl Drop for SleepWait<'_> {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn poll(f: &mut Pin<&mut SleepWait<'_>>, waker: &Waker) -> Poll<()> {
        f.as_mut().poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn waiters_wake_on_the_change_and_keep_one_slot_each() {
        let sleep = HostSleep::default();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&count));
        let mut a = std::pin::pin!(sleep.until_asleep());
        let mut b = std::pin::pin!(sleep.until_asleep());
        assert!(poll(&mut a, &waker).is_pending());
        assert!(poll(&mut b, &waker).is_pending());
        // Polled again and again (a frame each), a waiter keeps its one slot.
        for _ in 0..100 {
            assert!(poll(&mut a, &waker).is_pending());
        }
        assert_eq!(sleep.slots(), 2);
        // Waiters created and dropped give their slots back.
        for _ in 0..100 {
            let mut c = std::pin::pin!(sleep.until_asleep());
            assert!(poll(&mut c, &waker).is_pending());
        }
        assert_eq!(sleep.slots(), 2);
        assert!(sleep.waiters.borrow().len() <= 3);
        sleep.fall_asleep();
        assert_eq!(count.0.load(Ordering::Relaxed), 2);
        assert!(poll(&mut a, &waker).is_ready());
        assert!(poll(&mut b, &waker).is_ready());
        assert_eq!(sleep.slots(), 0);
        // Waiting for the other state: ready at once when it holds, woken when it comes.
        assert!(poll(&mut std::pin::pin!(sleep.until_asleep()), &waker).is_ready());
        let mut awake = std::pin::pin!(sleep.until_awake());
        assert!(poll(&mut awake, &waker).is_pending());
        sleep.wake();
        assert_eq!(count.0.load(Ordering::Relaxed), 3);
        assert!(poll(&mut awake, &waker).is_ready());
    }
}
