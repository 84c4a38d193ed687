//! The recorder every component writes its events into, and the one place events are stamped.
//!
//! A run creates one [`Recorder`]; each host gets an [`EventSink`] bound to its name (the
//! components' own event types are routed into it by [`crate::route`]). Emitting
//! stamps the event with `crate::clock::event_time`, mirrors it to `tracing`, and appends it
//! to the timeline (in simulation) or hands it to a live printer (on a real network).
//!
//! Sinks are `Send + Sync` (a user's server keeps one in shared state and emits from
//! `tokio::spawn`ed tasks); a recorder is not. A sink therefore names its recorder by id and
//! finds it in this thread's registry when it emits. A simulation runs every host on the thread
//! that made its recorder, so every event of the run reaches it; an event emitted on another
//! thread, or after the recorder is gone, is dropped (and said so on `tracing`).

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicU64, Ordering};

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
    /// This recorder's name in its thread's registry.
    id: u64,
    target: Target,
    /// While a host's software is torn down: its events, to record in a fixed order.
    held: RefCell<Option<Vec<Event>>>,
}

/// Identities of recorders: unique in the process (an identity, not an order: nothing is
/// derived from its value).
static NEXT_RECORDER: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The recorders alive on this thread, by id: few at once (a run's, a judge's).
    static REGISTRY: RefCell<Vec<(u64, Weak<Recorder>)>> = const { RefCell::new(Vec::new()) };
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let id = self.id;
        // During thread teardown the registry may be gone already: nothing left to remove.
        let _ = REGISTRY.try_with(|r| r.borrow_mut().retain(|(each, _)| *each != id));
    }
}

/// Hands `event` to the recorder `id` of this thread, if it is alive here.
fn deliver(id: u64, event: Event) {
    let recorder = REGISTRY.with(|r| {
        r.borrow()
            .iter()
            .find(|(each, _)| *each == id)
            .and_then(|(_, weak)| weak.upgrade())
    });
    match recorder {
        Some(recorder) => recorder.record(event),
        None => tracing::warn!(
            host = %event.host,
            "wsim: an event was emitted on a thread that does not run its simulation, or after \
             the run ended; it was dropped (emit from the simulated host's tasks)"
        ),
    }
}

impl Recorder {
    /// A recorder with `target`, registered on this thread.
    fn registered(target: Target) -> Rc<Recorder> {
        let recorder = Rc::new(Recorder {
            id: NEXT_RECORDER.fetch_add(1, Ordering::Relaxed),
            target,
            held: RefCell::new(None),
        });
        REGISTRY.with(|r| {
            r.borrow_mut().push((recorder.id, Rc::downgrade(&recorder)));
        });
        recorder
    }

    /// A recorder that keeps every event in memory, in order.
    #[must_use]
    pub fn in_memory() -> Rc<Recorder> {
        Recorder::registered(Target::Memory(RefCell::new(Vec::new())))
    }

    /// A recorder that passes each event to `f` as it happens and keeps nothing; outside a
    /// simulation its events are stamped with real time since this call.
    #[must_use]
    pub fn live(f: impl Fn(&Event) + 'static) -> Rc<Recorder> {
        clock::start_real_clock();
        Recorder::registered(Target::Live(Box::new(f)))
    }

    /// A recorder that hands each event of a simulated run to `f` as it happens and keeps
    /// nothing (events are stamped with simulated time).
    #[must_use]
    pub fn streaming(f: impl FnMut(Event) + 'static) -> Rc<Recorder> {
        Recorder::registered(Target::Stream(RefCell::new(Box::new(f))))
    }

    /// A recorder that drops every event: its sinks discard (see [`EventSink::is_discarding`]).
    #[must_use]
    pub fn discarding() -> Rc<Recorder> {
        Recorder::registered(Target::Discard)
    }

    /// A sink that stamps its events with the current event time and `host`, and records them
    /// while this recorder is alive: the sink does not keep it alive (whoever made the recorder
    /// holds it for as long as its sinks may emit).
    #[must_use]
    pub fn sink(self: &Rc<Self>, host: &str) -> EventSink<EventKind> {
        if matches!(self.target, Target::Discard) {
            return EventSink::discard();
        }
        let host: Host = host.into();
        let id = self.id;
        EventSink::new(move |kind| {
            deliver(
                id,
                Event {
                    t: clock::event_time(),
                    host: host.clone(),
                    kind,
                },
            );
        })
    }

    /// Appends an already stamped event (used for checker violations).
    pub fn record(&self, event: Event) {
        if matches!(self.target, Target::Discard) {
            return;
        }
        if let Some(held) = self.held.borrow_mut().as_mut() {
            held.push(event);
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

    /// Holds the events emitted until the guard is dropped, then records them sorted by host
    /// and content. For a host's teardown (a crash): its tasks are dropped in an order that is
    /// tokio's, not the seed's, and so are the events their drops emit; sorted, the timeline
    /// is the same on every run of the seed.
    pub fn hold(&self) -> Held<'_> {
        *self.held.borrow_mut() = Some(Vec::new());
        Held { recorder: self }
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

/// Events held by [`Recorder::hold`]; recorded in a fixed order when dropped.
#[must_use]
pub struct Held<'r> {
    recorder: &'r Recorder,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let Some(held) = self.recorder.held.borrow_mut().take() else {
            return;
        };
        let mut keyed: Vec<(String, Event)> = held
            .into_iter()
            .map(|e| (crate::render::json_line(&e), e))
            .collect();
        // Stable, and by content: events equal in content keep their (equal) order.
        keyed.sort_by(|a, b| (a.1.t, &a.1.host, &a.0).cmp(&(b.1.t, &b.1.host, &b.0)));
        for (_, event) in keyed {
            self.recorder.record(event);
        }
    }
}
