//! Where a component's events go: [`EventSink`], a cheap handle on a callback the embedding
//! program supplies. The product never decides what happens to its events — an application
//! logs them, a simulator stamps them with simulated time and records them in its timeline.

use std::fmt;
use std::sync::Arc;

/// A handle for emitting events of type `E`. Cheap to clone (one `Arc`); every clone reaches
/// the same callback. `Send + Sync`, so it can live in shared state (an axum `State`) and in
/// `tokio::spawn`ed tasks.
pub struct EventSink<E> {
    /// `None`: the sink discards (so whoever would build events for it can skip that).
    deliver: Option<Arc<dyn Fn(E) + Send + Sync>>,
}

impl<E> Clone for EventSink<E> {
    fn clone(&self) -> Self {
        EventSink {
            deliver: self.deliver.clone(),
        }
    }
}

impl<E> fmt::Debug for EventSink<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EventSink")
    }
}

impl<E: 'static> EventSink<E> {
    /// A sink that hands every event to `deliver`, in the order they are emitted.
    #[must_use]
    pub fn new(deliver: impl Fn(E) + Send + Sync + 'static) -> Self {
        EventSink {
            deliver: Some(Arc::new(deliver)),
        }
    }

    /// A sink that drops every event.
    #[must_use]
    pub fn discard() -> Self {
        EventSink { deliver: None }
    }

    /// Whether this sink drops every event (made by [`EventSink::discard`]): an adapter that
    /// converts events for it can hand out a discarding sink of its own instead.
    #[must_use]
    pub fn is_discarding(&self) -> bool {
        self.deliver.is_none()
    }

    /// Emits `event`.
    pub fn emit(&self, event: E) {
        if let Some(deliver) = &self.deliver {
            deliver(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    #[allow(clippy::disallowed_methods)] // a sink is Send: shown on a real thread
    fn clones_deliver_to_the_same_callback_in_order() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let sink = EventSink::new(move |e: u32| log.lock().unwrap().push(e));
        let elsewhere = sink.clone();
        std::thread::spawn(move || elsewhere.emit(0))
            .join()
            .unwrap();
        let other = sink.clone();
        sink.emit(1);
        other.emit(2);
        let discard = EventSink::<u32>::discard();
        discard.emit(3);
        assert_eq!(*seen.lock().unwrap(), [0, 1, 2]);
        assert!(discard.is_discarding() && discard.clone().is_discarding());
        assert!(!sink.is_discarding());
    }
}
