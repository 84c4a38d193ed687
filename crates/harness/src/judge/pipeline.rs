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
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};

use super::{conclude, Judging, Keep, RunOutcome};
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
pub fn run_pipelined(
    scenario: &ScenarioFile,
    system: &System,
    seed: u64,
    repro: String,
    keep: Keep,
) -> RunOutcome {
    let wall = Stopwatch::start();
    let (judging, simulated) = std::thread::scope(|scope| {
        let (to_judge, batches) = sync_channel::<Vec<Event>>(IN_FLIGHT);
        // Room for every batch that can be judged between two of the simulation's sends: the
        // judge never waits to give one back.
        let (give_back, judged) = sync_channel::<Vec<Event>>(IN_FLIGHT + 2);
        let judge = std::thread::Builder::new()
            .name("wsim-judge".into())
            .spawn_scoped(scope, move || {
                let mut judging = Judging::new(scenario, keep);
                for mut batch in batches {
                    for event in &batch {
                        judging.judge(event);
                    }
                    if judging.keeps() {
                        for event in batch.drain(..) {
                            judging.keep(event);
                        }
                    }
                    if let Err(TrySendError::Full(batch)) = give_back.try_send(batch) {
                        drop(batch);
                    }
                }
                judging
            })
            .expect("spawning the judging thread");
        let feed = Rc::new(Feed {
            open: RefCell::new(Some(Open {
                to_judge,
                judged,
                batch: Vec::with_capacity(BATCH),
                judged_back: VecDeque::new(),
                spare: Vec::new(),
            })),
        });
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

/// The simulation's end of the channels.
struct Open {
    to_judge: SyncSender<Vec<Event>>,
    judged: Receiver<Vec<Event>>,
    /// The batch being filled.
    batch: Vec<Event>,
    /// Judged batches whose events are still to be dropped, the one being dropped first: one
    /// event per event recorded, so each allocation freed is there for the next one to take
    /// (freeing a batch at once overflows the allocator's per-thread cache: every free and
    /// the allocations after it take its slow path).
    judged_back: VecDeque<Vec<Event>>,
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
            judged_back,
            spare,
        }) = open.as_mut()
        else {
            return;
        };
        if let Some(dropping) = judged_back.front_mut() {
            drop(dropping.pop());
            if dropping.is_empty() {
                spare.extend(judged_back.pop_front());
            }
        }
        batch.push(event);
        if batch.len() < BATCH {
            return;
        }
        judged_back.extend(judged.try_iter());
        // Beyond one batch being dropped (the judge caught up after a while), the rest are
        // dropped at once: the batches stay bounded.
        while judged_back.len() > 1 {
            if let Some(mut extra) = judged_back.pop_back() {
                extra.clear();
                spare.push(extra);
            }
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
