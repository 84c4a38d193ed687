//! One connection's bounded outgoing queue, filled under the server's lock by whoever has
//! something for it and drained by the connection's driver; it also keeps the marks that say
//! which room messages a keyless client has been sent and has provably read.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::extract::ws::{Message, Utf8Bytes};
use tokio::sync::Notify;

/// Close code for a reader too slow to keep its queue under the bound.
pub(crate) const SLOW_READER: u16 = 1013;

/// Something for the driver to write.
#[derive(Debug)]
enum Item {
    /// A JSON frame; `seq` when it carries a room number (a message, an ack).
    Text(Utf8Bytes, Option<u64>),
    /// A WebSocket ping with this payload.
    Ping(u64),
}

#[derive(Debug, Default)]
struct Queue {
    items: VecDeque<Item>,
    bytes: usize,
    /// Set once: the driver sends this close frame and stops.
    close: Option<(u16, &'static str)>,
    /// The highest room number queued, handed to the driver, and proved read by a pong.
    queued: u64,
    written: u64,
    proven: u64,
}

/// A connection's outgoing queue: at most `max_frames` frames and `max_bytes` bytes.
#[derive(Debug)]
pub(crate) struct Outbox {
    id: u64,
    max_frames: usize,
    max_bytes: usize,
    queue: Mutex<Queue>,
    notify: Notify,
}

impl Outbox {
    pub(crate) fn new(id: u64, max_frames: usize, max_bytes: usize) -> Self {
        Outbox {
            id,
            max_frames,
            max_bytes,
            queue: Mutex::new(Queue::default()),
            notify: Notify::new(),
        }
    }

    /// The connection's number, unique in the server.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a frame; a queue already at its bound closes the connection with 1013 instead.
    pub(crate) fn push(&self, frame: Utf8Bytes, seq: Option<u64>) {
        let mut q = self.lock();
        if q.close.is_some() {
            return;
        }
        if q.items.len() >= self.max_frames || q.bytes + frame.len() > self.max_bytes {
            drop(q);
            self.close(SLOW_READER, "slow reader");
            return;
        }
        Self::enqueue(&mut q, frame, seq);
        drop(q);
        self.notify.notify_one();
    }

    /// Queues the welcome and the replay: bounded by the room's history, not by the queue.
    pub(crate) fn push_opening(&self, frames: impl IntoIterator<Item = (Utf8Bytes, Option<u64>)>) {
        let mut q = self.lock();
        for (frame, seq) in frames {
            Self::enqueue(&mut q, frame, seq);
        }
        drop(q);
        self.notify.notify_one();
    }

    fn enqueue(q: &mut Queue, frame: Utf8Bytes, seq: Option<u64>) {
        q.bytes += frame.len();
        if let Some(seq) = seq {
            q.queued = q.queued.max(seq);
        }
        q.items.push_back(Item::Text(frame, seq));
    }

    /// Queues a ping behind everything queued; returns the room number a pong to it proves
    /// read. A full queue closes the connection as for any frame.
    pub(crate) fn push_ping(&self, payload: u64) -> u64 {
        let mut q = self.lock();
        if q.close.is_none() && q.items.len() >= self.max_frames {
            drop(q);
            self.close(SLOW_READER, "slow reader");
            return 0;
        }
        q.items.push_back(Item::Ping(payload));
        let mark = q.queued;
        drop(q);
        self.notify.notify_one();
        mark
    }

    /// Asks the driver to close the connection with `code` (the first request wins); what is
    /// still queued is dropped.
    pub(crate) fn close(&self, code: u16, reason: &'static str) {
        let mut q = self.lock();
        if q.close.is_none() {
            q.close = Some((code, reason));
            q.items.clear();
            q.bytes = 0;
        }
        drop(q);
        self.notify.notify_one();
    }

    /// The close asked for, if any.
    pub(crate) fn closing(&self) -> Option<(u16, &'static str)> {
        self.lock().close
    }

    /// Whether there is anything to write.
    pub(crate) fn has_items(&self) -> bool {
        !self.lock().items.is_empty()
    }

    /// Takes the next frame to write (the driver calls this once the socket can take it).
    pub(crate) fn pop(&self) -> Option<Message> {
        let mut q = self.lock();
        let item = q.items.pop_front()?;
        Some(match item {
            Item::Text(frame, seq) => {
                q.bytes -= frame.len();
                if let Some(seq) = seq {
                    q.written = q.written.max(seq);
                }
                Message::Text(frame)
            }
            Item::Ping(payload) => Message::Ping(payload.to_be_bytes().to_vec().into()),
        })
    }

    /// Waits until something was queued or a close was asked for (cancel-safe).
    pub(crate) async fn changed(&self) {
        self.notify.notified().await;
    }

    /// The client has read everything up to room number `from` when this connection opens.
    pub(crate) fn start_marks(&self, from: u64) {
        let mut q = self.lock();
        q.queued = from;
        q.written = from;
        q.proven = from;
    }

    /// A pong answered a ping queued when `mark` was the highest number queued.
    pub(crate) fn prove(&self, mark: u64) {
        let mut q = self.lock();
        q.proven = q.proven.max(mark);
    }

    /// The last room number the client is known to have read: all that was written when
    /// the peer ended the connection in order, else what the last answered ping proved.
    pub(crate) fn read_mark(&self, ended_in_order: bool) -> u64 {
        let q = self.lock();
        if ended_in_order {
            q.written
        } else {
            q.proven
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_closes_with_1013_and_marks_follow_writes_and_pongs() {
        let out = Outbox::new(1, 2, 1 << 20);
        out.start_marks(4);
        out.push("a".into(), Some(5));
        let mark = out.push_ping(9);
        assert_eq!(mark, 5);
        assert!(matches!(out.pop(), Some(Message::Text(_))));
        assert_eq!((out.read_mark(true), out.read_mark(false)), (5, 4));
        out.prove(mark);
        assert_eq!(out.read_mark(false), 5);
        out.push("b".into(), Some(6));
        out.push("c".into(), Some(7));
        assert_eq!(out.closing(), Some((SLOW_READER, "slow reader")));
        assert!(!out.has_items());
    }
}
