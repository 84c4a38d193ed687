//! wsim patch: the queue that hands a stream's in-order segments from its host to its reader.
//! turmoil used a bounded tokio mpsc channel here: a semaphore permit, a block-list slot and an
//! atomic waker per segment, ~20 % of a chat-heavy simulation. A simulation runs on one
//! thread, so a locked queue with one waker does the same job: bounded (the stream's
//! capacity), `Closed` once the other end is gone, the reader woken on each segment and when
//! the sender goes.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

struct Inner<T> {
    queue: VecDeque<T>,
    capacity: usize,
    waker: Option<Waker>,
    sender_alive: bool,
    receiver_alive: bool,
}

/// Why a segment cannot be sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotReady {
    /// The queue holds `capacity` segments.
    Full,
    /// The reader is gone.
    Closed,
}

/// The host's end.
pub(crate) struct SegmentSender<T>(Arc<Mutex<Inner<T>>>);

/// The reader's end.
pub(crate) struct SegmentReceiver<T>(Arc<Mutex<Inner<T>>>);

/// A queue of at most `capacity` segments.
pub(crate) fn channel<T>(capacity: usize) -> (SegmentSender<T>, SegmentReceiver<T>) {
    let inner = Arc::new(Mutex::new(Inner {
        queue: VecDeque::new(),
        capacity,
        waker: None,
        sender_alive: true,
        receiver_alive: true,
    }));
    (SegmentSender(Arc::clone(&inner)), SegmentReceiver(inner))
}

fn lock<T>(inner: &Mutex<Inner<T>>) -> MutexGuard<'_, Inner<T>> {
    inner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<T> SegmentSender<T> {
    /// Whether a segment can be sent now.
    pub(crate) fn ready(&self) -> Result<(), NotReady> {
        let inner = lock(&self.0);
        if !inner.receiver_alive {
            Err(NotReady::Closed)
        } else if inner.queue.len() >= inner.capacity {
            Err(NotReady::Full)
        } else {
            Ok(())
        }
    }

    /// Queues `segment` (after [`SegmentSender::ready`] said it may) and wakes the reader.
    pub(crate) fn send(&self, segment: T) {
        let waker = {
            let mut inner = lock(&self.0);
            inner.queue.push_back(segment);
            inner.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Drop for SegmentSender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut inner = lock(&self.0);
            inner.sender_alive = false;
            inner.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> SegmentReceiver<T> {
    /// The next segment; `None` once the queue is empty and the sender gone.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut inner = lock(&self.0);
        if let Some(segment) = inner.queue.pop_front() {
            return Poll::Ready(Some(segment));
        }
        if !inner.sender_alive {
            return Poll::Ready(None);
        }
        match &inner.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => inner.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The next segment, if one is queued.
    pub(crate) fn try_recv(&mut self) -> Option<T> {
        lock(&self.0).queue.pop_front()
    }
}

impl<T> Drop for SegmentReceiver<T> {
    fn drop(&mut self) {
        let mut inner = lock(&self.0);
        inner.receiver_alive = false;
        inner.queue.clear();
    }
}

impl<T> fmt::Debug for SegmentReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SegmentReceiver")
            .field("queued", &lock(&self.0).queue.len())
            .finish()
    }
}
