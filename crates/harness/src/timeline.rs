//! The recorder every component writes its events into, and the one place events are stamped.
//!
//! A run creates one [`Recorder`]; each host gets an [`EventSink`] bound to its name (the
//! components' own event types are routed into it by [`crate::route`]). Emitting
//! stamps the event with [`crate::clock::event_time`], mirrors it to `tracing`, and appends it
//! to the timeline (in simulation) or hands it to a live printer (on a real network).

use std::cell::RefCell;
use std::rc::Rc;

use crate::clock;
use wsim_proto::EventSink;

use crate::event::{Event, EventKind, Host};

/// Where emitted events go.
enum Target {
    /// Kept in order for checkers and output after the run.
    Memory(RefCell<Vec<Event>>),
    /// Handed to a callback as they happen (long-running real-network commands).
    Live(Box<dyn Fn(&Event)>),
    /// Handed over as they happen to whoever consumes a simulated run (its checkers), which
    /// keeps what it needs: nothing accumulates here.
    Stream(RefCell<Box<dyn FnMut(Event)>>),
    /// Dropped: its sinks discard, so no component event is even converted (what a run of the
    /// system under test costs without the harness's timeline and checkers).
    Discard,
}

/// The shared destination of all events of a run or process.
pub struct Recorder {
    target: Target,
}

impl Recorder {
    /// A recorder that keeps every event in memory, in order.
    #[must_use]
    pub fn in_memory() -> Rc<Recorder> {
        Rc::new(Recorder {
            target: Target::Memory(RefCell::new(Vec::new())),
        })
    }

    /// A recorder that passes each event to `f` as it happens and keeps nothing; outside a
    /// simulation its events are stamped with real time since this call.
    #[must_use]
    pub fn live(f: impl Fn(&Event) + 'static) -> Rc<Recorder> {
        clock::start_real_clock();
        Rc::new(Recorder {
            target: Target::Live(Box::new(f)),
        })
    }

    /// A recorder that hands each event of a simulated run to `f` as it happens and keeps
    /// nothing (events are stamped with simulated time).
    #[must_use]
    pub fn streaming(f: impl FnMut(Event) + 'static) -> Rc<Recorder> {
        Rc::new(Recorder {
            target: Target::Stream(RefCell::new(Box::new(f))),
        })
    }

    /// A recorder that drops every event: its sinks discard (see [`EventSink::is_discarding`]).
    #[must_use]
    pub fn discarding() -> Rc<Recorder> {
        Rc::new(Recorder {
            target: Target::Discard,
        })
    }

    /// A sink that stamps its events with the current event time and `host`, and records them.
    #[must_use]
    pub fn sink(self: &Rc<Self>, host: &str) -> EventSink<EventKind> {
        if matches!(self.target, Target::Discard) {
            return EventSink::discard();
        }
        let host: Host = host.into();
        let recorder = Rc::clone(self);
        EventSink::new(move |kind| {
            recorder.record(Event {
                t: clock::event_time(),
                host: host.clone(),
                kind,
            });
        })
    }

    /// Appends an already stamped event (used for checker violations).
    pub fn record(&self, event: Event) {
        if matches!(self.target, Target::Discard) {
            return;
        }
        crate::trace::mirror(&event);
        match &self.target {
            Target::Memory(log) => log.borrow_mut().push(event),
            Target::Live(f) => f(&event),
            Target::Stream(f) => (f.borrow_mut())(event),
            Target::Discard => {}
        }
    }

    /// Takes the recorded events out (empty for a live recorder).
    #[must_use]
    pub fn take(&self) -> Vec<Event> {
        match &self.target {
            Target::Memory(log) => std::mem::take(&mut *log.borrow_mut()),
            Target::Live(_) | Target::Stream(_) | Target::Discard => Vec::new(),
        }
    }
}
