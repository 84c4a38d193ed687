//! Tasks waiting for the next change of some single-threaded state (a host's sleep, a
//! connection's fate), woken together when it changes — what `tokio::sync::Notify`'s
//! `notify_waiters` does, but cheap to poll again: a waiting future keeps its place and
//! re-polling it compares a waker instead of re-registering. Waiters are woken in the order
//! they started waiting (as `Notify` does), and a waiter dropped before the change leaves
//! nothing behind: the list holds exactly the futures waiting now.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// See the module documentation.
#[derive(Debug, Default)]
pub struct WaitList {
    /// Counts changes.
    changes: Cell<u64>,
    /// Registration numbers, in the order waiters started waiting.
    next: Cell<u64>,
    /// The waiters of the current change, each in its own slot (a waiter finds its slot by
    /// index when polled again): its registration number and waker.
    slots: RefCell<Vec<Option<(u64, Waker)>>>,
    /// Slots given back by waiters dropped before the change, for reuse: there are never more
    /// slots than the most waiters at once.
    free: RefCell<Vec<usize>>,
}

impl WaitList {
    /// Wakes every waiter, in the order they started waiting.
    pub fn notify_all(&self) {
        self.changes.set(self.changes.get() + 1);
        self.free.borrow_mut().clear();
        let mut waiters: Vec<(u64, Waker)> = std::mem::take(&mut *self.slots.borrow_mut())
            .into_iter()
            .flatten()
            .collect();
        waiters.sort_unstable_by_key(|(place, _)| *place);
        for (_, waker) in waiters {
            waker.wake();
        }
    }

    /// Resolves at the first [`WaitList::notify_all`] after this call.
    pub fn wait(&self) -> Wait<'_> {
        Wait {
            list: self,
            since: self.changes.get(),
            slot: None,
        }
    }

    /// How many futures are waiting.
    #[must_use]
    pub fn waiting(&self) -> usize {
        self.slots.borrow().iter().flatten().count()
    }
}

/// A wait on a [`WaitList`]; see [`WaitList::wait`].
#[derive(Debug)]
#[must_use = "a future does nothing unless polled"]
pub struct Wait<'a> {
    list: &'a WaitList,
    /// The change count when the wait began.
    since: u64,
    /// This waiter's slot, once it waits.
    slot: Option<usize>,
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let list = self.list;
        if list.changes.get() != self.since {
            self.slot = None; // the change took every waker
            return Poll::Ready(());
        }
        let mut slots = list.slots.borrow_mut();
        if let Some(index) = self.slot {
            // Ours until the change or our drop.
            if let Some((_, waker)) = &mut slots[index] {
                if !waker.will_wake(cx.waker()) {
                    *waker = cx.waker().clone();
                }
            }
            return Poll::Pending;
        }
        let place = list.next.get();
        list.next.set(place + 1);
        let entry = Some((place, cx.waker().clone()));
        let index = match list.free.borrow_mut().pop() {
            Some(index) => {
                slots[index] = entry;
                index
            }
            None => {
                slots.push(entry);
                slots.len() - 1
            }
        };
        drop(slots);
        self.slot = Some(index);
        Poll::Pending
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        if let Some(index) = self.slot.take() {
            if self.list.changes.get() == self.since {
                self.list.slots.borrow_mut()[index] = None;
                self.list.free.borrow_mut().push(index);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::pin;
    use std::sync::{Arc, Mutex};
    use std::task::Wake;

    /// A waker that writes its name into a shared log when woken.
    struct Named(&'static str, Arc<Mutex<Vec<&'static str>>>);

    impl Wake for Named {
        fn wake(self: Arc<Self>) {
            self.1.lock().expect("not poisoned").push(self.0);
        }
    }

    #[test]
    fn waiters_are_woken_once_in_the_order_they_began_waiting_and_leave_nothing_behind() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let waker = |name| Waker::from(Arc::new(Named(name, Arc::clone(&log))));
        let (x, y) = (waker("x"), waker("y"));
        let list = WaitList::default();
        let mut a = pin!(list.wait());
        assert!(a.as_mut().poll(&mut Context::from_waker(&x)).is_pending());
        {
            // y waits, stops, and waits again: now after x.
            let mut b = pin!(list.wait());
            assert!(b.as_mut().poll(&mut Context::from_waker(&y)).is_pending());
        }
        assert_eq!(list.waiting(), 1, "a dropped waiter leaves nothing behind");
        assert_eq!(list.slots.borrow().len(), 2);
        let mut b = pin!(list.wait());
        assert!(b.as_mut().poll(&mut Context::from_waker(&y)).is_pending());
        // Polled again and again, a waiter keeps its place; y's second wait reused the slot
        // its first gave back, and still wakes after x.
        for _ in 0..100 {
            assert!(a.as_mut().poll(&mut Context::from_waker(&x)).is_pending());
        }
        assert_eq!(list.waiting(), 2);
        assert_eq!(list.slots.borrow().len(), 2, "slots are reused");
        // A wait created before the change (not yet polled) sees it too.
        let mut early = pin!(list.wait());
        list.notify_all();
        assert_eq!(*log.lock().expect("not poisoned"), ["x", "y"]);
        assert_eq!(list.waiting(), 0);
        let mut cx = Context::from_waker(Waker::noop());
        assert!(a.as_mut().poll(&mut cx).is_ready());
        assert!(b.as_mut().poll(&mut cx).is_ready());
        assert!(early.as_mut().poll(&mut cx).is_ready());
        assert!(pin!(list.wait()).poll(&mut cx).is_pending());
        assert_eq!(list.waiting(), 0);

        // x waits, y waits, x stops and waits again (in the slot it gave back): y began
        // waiting first now, and is woken first.
        log.lock().expect("not poisoned").clear();
        {
            let mut first = Box::pin(list.wait());
            assert!(first
                .as_mut()
                .poll(&mut Context::from_waker(&x))
                .is_pending());
            let mut y_wait = pin!(list.wait());
            assert!(y_wait
                .as_mut()
                .poll(&mut Context::from_waker(&y))
                .is_pending());
            drop(first);
            let mut again = pin!(list.wait());
            assert!(again
                .as_mut()
                .poll(&mut Context::from_waker(&x))
                .is_pending());
            list.notify_all();
        }
        assert_eq!(*log.lock().expect("not poisoned"), ["y", "x"]);
    }
}
