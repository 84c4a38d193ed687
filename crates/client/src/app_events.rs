//! The application's event queue: bounded, so an application that stops reading events costs
//! at most the bound. Past it events are dropped and counted, and the first event kept after
//! the gap is preceded by [`ClientEvent::EventsDropped`], so the application knows.

use std::cell::Cell;

use tokio::sync::mpsc::{self, error::TrySendError};

use crate::event::ClientEvent;

/// The sending side, held by the driver.
#[derive(Debug)]
pub(crate) struct AppEvents {
    tx: mpsc::Sender<ClientEvent>,
    /// Events dropped since the application last had room for one.
    dropped: Cell<u64>,
}

impl AppEvents {
    /// A queue of at most `capacity` events and its receiving side.
    pub(crate) fn channel(capacity: usize) -> (Self, mpsc::Receiver<ClientEvent>) {
        let (tx, rx) = mpsc::channel(capacity);
        (
            AppEvents {
                tx,
                dropped: Cell::new(0),
            },
            rx,
        )
    }

    /// Queues `event`, or counts it dropped while the queue is full (or gone).
    pub(crate) fn deliver(&self, event: ClientEvent) {
        let dropped = self.dropped.get();
        if dropped > 0 {
            match self
                .tx
                .try_send(ClientEvent::EventsDropped { count: dropped })
            {
                Ok(()) => self.dropped.set(0),
                Err(TrySendError::Full(_)) => {
                    self.dropped.set(dropped + 1);
                    return;
                }
                Err(TrySendError::Closed(_)) => return,
            }
        }
        if let Err(TrySendError::Full(_)) = self.tx.try_send(event) {
            self.dropped.set(self.dropped.get() + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::ClientEvent::Connecting;

    #[test]
    fn a_full_queue_drops_and_says_how_many_before_the_next_event_kept() {
        let (app, mut rx) = AppEvents::channel(2);
        for attempt in 1..=5 {
            app.deliver(Connecting { attempt });
        }
        assert_eq!(rx.try_recv(), Ok(Connecting { attempt: 1 }));
        assert_eq!(rx.try_recv(), Ok(Connecting { attempt: 2 }));
        assert!(rx.try_recv().is_err());
        app.deliver(Connecting { attempt: 6 });
        assert_eq!(rx.try_recv(), Ok(ClientEvent::EventsDropped { count: 3 }));
        assert_eq!(rx.try_recv(), Ok(Connecting { attempt: 6 }));
    }
}
