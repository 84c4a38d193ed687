//! A judged run on two threads: the simulation on the caller's, its checkers and statistics
//! on a judging thread fed batches of events through a bounded channel. The simulation stays
//! single-threaded and the judge sees the very event sequence an inline judge sees, so the
//! outcome is the same; only the wall time differs (the two overlap).
//!
//! Judged batches go back to the simulation's thread, which drops their events one by one as
//! it records new ones and then refills them: memory is freed by the thread that allocated it
//! (a thread freeing another's allocations made the simulation's own allocations several
//! times dearer), at the pace it is allocated.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};

use super::{conclude, Judging, Keep, RunOutcome, RunOutput};
use crate::clock::Stopwatch;
use crate::event::Event;
use crate::scenario::ScenarioFile;
use crate::sim::{self, System};
use crate::timeline::Recorder;

/// Events handed to the judging thread at a time.
const BATCH: usize = 512;

/// Batches waiting for the judge at most: with this many waiting, the simulation waits for
/// it. At most `2 × IN_FLIGHT + 5` batches exist (waiting, being judged, on their way back,
/// being dropped, being filled), so at most that many × [`BATCH`] events are outside the
/// judge's own state.
const IN_FLIGHT: usize = 8;

/// Simulates `scenario` with `seed` and `system` under test while a second thread judges its
/// events, and keeps what `keep` says; the outcome equals [`super::run_keeping`]'s.
///
/// # Panics
/// Re-raises a panic of the simulation or of a checker.
#[must_use]
pub(crate) fn run_pipelined<O: RunOutput>(
    scenario: &ScenarioFile,
    system: &System,
    seed: u64,
    repro: String,
    keep: Keep,
    output: O,
) -> (RunOutcome, O) {
    let wall = Stopwatch::start();
    let (judging, simulated) = std::thread::scope(|scope| {
        let (feed, batches) = channel();
        let judge = std::thread::Builder::new()
            .name("wsim-judge".into())
            .spawn_scoped(scope, move || {
                let mut judging = Judging::new(scenario, keep, output);
                batches.each(|batch| {
                    for event in batch.iter() {
                        judging.judge(event);
                    }
                    if judging.keeps() {
                        for event in batch.drain(..) {
                            judging.keep(event);
                        }
                    }
                });
                judging
            })
            .expect("spawning the judging thread");
        let feed = Rc::new(feed);
        let simulated = {
            // Closes the channel however the simulation ends (a panic unwinds through here),
            // so the judging thread always finishes and the scope can end.
            let _closing = Closing(&feed);
            let recorder = {
                let feed = Rc::clone(&feed);
                Recorder::streaming(move |event| feed.push(event))
            };
            sim::simulate_into(scenario, seed, system, &recorder)
        };
        let judging = judge
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (judging, simulated)
    });
    conclude(scenario, seed, repro, judging, simulated, wall)
}

/// The two ends of a run's event hand-over.
fn channel() -> (Feed, Batches) {
    let (to_judge, batches) = sync_channel::<Vec<Event>>(IN_FLIGHT);
    // Room for every batch that can be judged between two of the simulation's sends: the
    // judge never waits to give one back.
    let (give_back, judged) = sync_channel::<Vec<Event>>(IN_FLIGHT + 2);
    let feed = Feed {
        open: RefCell::new(Some(Open {
            to_judge,
            judged,
            batch: Vec::with_capacity(BATCH),
            dropping: Vec::new(),
            spare: Vec::new(),
        })),
    };
    (feed, Batches { batches, give_back })
}

/// The judge's end: batches in the order they were filled, each given back once judged.
struct Batches {
    batches: Receiver<Vec<Event>>,
    give_back: SyncSender<Vec<Event>>,
}

impl Batches {
    /// Hands every batch to `judge` (which may take its events) and gives it back, until the
    /// simulation's end closes.
    fn each(self, mut judge: impl FnMut(&mut Vec<Event>)) {
        for mut batch in self.batches {
            judge(&mut batch);
            if let Err(TrySendError::Full(batch)) = self.give_back.try_send(batch) {
                drop(batch);
            }
        }
    }
}

/// The simulation's end of the channels.
struct Open {
    to_judge: SyncSender<Vec<Event>>,
    judged: Receiver<Vec<Event>>,
    /// The batch being filled.
    batch: Vec<Event>,
    /// A judged batch whose events are still to be dropped: one event per event recorded, so
    /// each allocation freed is there for the next one to take (freeing a batch at once
    /// overflows the allocator's per-thread cache: every free and the allocations after it
    /// take its slow path).
    dropping: Vec<Event>,
    /// Emptied batches to fill next.
    spare: Vec<Vec<Event>>,
}

/// The simulation's end, until closed.
struct Feed {
    open: RefCell<Option<Open>>,
}

impl Feed {
    fn push(&self, event: Event) {
        let mut open = self.open.borrow_mut();
        let Some(Open {
            to_judge,
            judged,
            batch,
            dropping,
            spare,
        }) = open.as_mut()
        else {
            return;
        };
        drop(dropping.pop());
        batch.push(event);
        if batch.len() < BATCH {
            return;
        }
        for mut back in judged.try_iter() {
            if dropping.is_empty() {
                std::mem::swap(dropping, &mut back);
            } else {
                // The judge caught up after a while: beyond the batch being dropped, the rest
                // are dropped at once, so the batches stay bounded.
                back.clear();
            }
            spare.push(back);
        }
        let next = spare.pop().unwrap_or_else(|| Vec::with_capacity(BATCH));
        let full = std::mem::replace(batch, next);
        if to_judge.send(full).is_err() {
            // The judging thread is gone (it panicked): its join re-raises the panic.
            *open = None;
        }
    }

    /// Sends the last batch and closes the channel.
    fn close(&self) {
        if let Some(open) = self.open.borrow_mut().take() {
            if !open.batch.is_empty() {
                let _ = open.to_judge.send(open.batch);
            }
        }
    }
}

/// Closes a [`Feed`] when dropped.
struct Closing<'a>(&'a Feed);

impl Drop for Closing<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ClientEvent, EventKind};
    use std::collections::BTreeSet;

    fn event(n: u32) -> Event {
        Event {
            t: std::time::Duration::from_millis(u64::from(n)),
            host: "h".into(),
            kind: EventKind::Client {
                client: format!("c{n}"),
                event: ClientEvent::Connecting { attempt: n },
            },
        }
    }

    /// Events reach the judge complete and in order, through at most `2 × IN_FLIGHT + 5`
    /// batches however far the judge falls behind (it stalls now and then here).
    #[test]
    fn the_hand_over_keeps_order_and_its_bound() {
        const EVENTS: u32 = 100_000;
        let (feed, batches) = channel();
        let judge = std::thread::Builder::new()
            .spawn(move || {
                let (mut next, mut seen, mut stalls) = (0u32, BTreeSet::new(), 0u32);
                batches.each(|batch| {
                    seen.insert(batch.as_ptr() as usize);
                    for e in batch.iter() {
                        let EventKind::Client {
                            event: ClientEvent::Connecting { attempt, .. },
                            ..
                        } = e.kind
                        else {
                            panic!("another event");
                        };
                        assert_eq!(attempt, next, "out of order");
                        next += 1;
                    }
                    stalls += 1;
                    if stalls % 7 == 0 {
                        for _ in 0..2000 {
                            std::thread::yield_now();
                        }
                    }
                });
                (next, seen.len())
            })
            .expect("a thread");
        {
            let _closing = Closing(&feed);
            for n in 0..EVENTS {
                feed.push(event(n));
            }
        }
        let (received, batches) = judge.join().expect("the judge finished");
        assert_eq!(
            received, EVENTS,
            "every event, the last partial batch included"
        );
        assert!(
            batches <= 2 * IN_FLIGHT + 5,
            "{batches} batches for {EVENTS} events"
        );
        assert!(batches > 1, "batches are reused, not one for everything");
    }
}
