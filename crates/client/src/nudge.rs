//! A wake-up with one waiter: the application's handle nudges its client's driver (a message
//! to send, a close) — a flag and a waker cell, cheap to wait on in every turn of the driver.
//! A nudge with nobody waiting is kept for the next wait, as `Notify::notify_one` would.

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::task::{Poll, Waker};

#[derive(Debug, Default)]
pub(crate) struct Nudge {
    pending: Cell<bool>,
    waiter: RefCell<Option<Waker>>,
}

impl Nudge {
    /// Wakes the waiter, or the next one to wait.
    pub(crate) fn nudge(&self) {
        self.pending.set(true);
        let waiter = self.waiter.borrow_mut().take();
        if let Some(waker) = waiter {
            waker.wake();
        }
    }

    /// Resolves once nudged (at once if a nudge is pending), taking the nudge.
    pub(crate) fn nudged(&self) -> impl Future<Output = ()> + '_ {
        poll_fn(move |cx| {
            if self.pending.replace(false) {
                return Poll::Ready(());
            }
            let mut waiter = self.waiter.borrow_mut();
            if !waiter.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *waiter = Some(cx.waker().clone());
            }
            Poll::Pending
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::pin;
    use std::task::Context;

    #[test]
    fn a_nudge_wakes_the_waiter_or_waits_for_it() {
        let nudge = Nudge::default();
        let mut cx = Context::from_waker(Waker::noop());
        // Kept for the next wait, once.
        nudge.nudge();
        assert!(pin!(nudge.nudged()).poll(&mut cx).is_ready());
        let mut wait = pin!(nudge.nudged());
        assert!(wait.as_mut().poll(&mut cx).is_pending());
        assert!(nudge.waiter.borrow().is_some());
        nudge.nudge();
        assert!(nudge.waiter.borrow().is_none(), "the waiter was woken");
        assert!(wait.as_mut().poll(&mut cx).is_ready());
        assert!(pin!(nudge.nudged()).poll(&mut cx).is_pending());
    }
}
