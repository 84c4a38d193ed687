//! The one loop that steps a simulated world to its end, for every run mode (judged,
//! unjudged, the floor): faults applied at their tick, idle ticks skipped when the run keeps a
//! [`RunLedger`], and the run's thread-locals (the timer ledger, the clock's fallback)
//! installed for the loop's life and restored by a guard however it ends.

use std::sync::Arc;
use std::time::Duration;

use crate::clock;
pub use crate::sim::idle::RunLedger;
use crate::sim::idle::{self, NextWork};
use wsim_proto::clock::timer::{self, TimerLedger};

/// What the step loop needs from a run's fault schedule.
pub trait DueFaults {
    /// Applies every fault step due at `now`; whether there was any (a fault may wake tasks
    /// no timer announced, so the step after one is a single tick).
    fn apply_due(&mut self, sim: &mut turmoil::Sim<'_>, now: Duration) -> bool;
    /// When the next fault step is due.
    fn next_due(&self) -> Option<Duration>;
}

/// How a stepped world ended.
#[derive(Debug)]
pub struct Stepped {
    /// Why the loop stopped early (a host failed or panicked, or woke unannounced inside an
    /// idle skip), if it did.
    pub error: Option<String>,
    /// Simulated time reached.
    pub elapsed: Duration,
    /// Steps taken.
    pub steps: u64,
}

/// The run's thread-locals, installed while it lives: its timer ledger (or none) and the
/// clock's fallback time. Dropping it restores what was there before.
pub struct RunScope {
    outer: Option<Arc<dyn TimerLedger>>,
}

impl RunScope {
    /// Installs `ledger` as the thread's timer ledger for the life of the scope.
    pub fn enter(ledger: Option<&Arc<RunLedger>>) -> Self {
        let ledger = ledger.map(|l| Arc::clone(l) as Arc<dyn TimerLedger>);
        RunScope {
            outer: timer::install_ledger(ledger),
        }
    }
}

impl Drop for RunScope {
    fn drop(&mut self) {
        timer::install_ledger(self.outer.take());
        clock::set_sim_fallback(None);
    }
}

/// Steps `sim` until `end`: with a `ledger`, each step covers every tick in which nothing can
/// happen (the same run, event for event, as stepping tick by tick); without one, one tick.
pub fn step_to_end(
    sim: &mut turmoil::Sim<'_>,
    end: Duration,
    ledger: Option<&RunLedger>,
    faults: &mut impl DueFaults,
) -> Stepped {
    let tick = sim.tick_duration();
    let mut steps = 0u64;
    let mut error = None;
    while sim.elapsed() < end {
        clock::set_sim_fallback(Some(sim.elapsed()));
        let now = sim.elapsed();
        let faulted = faults.apply_due(sim, now);
        let ticks = match ledger {
            Some(_) if faulted || now.is_zero() => 1,
            Some(ledger) => idle::ticks_until_work(
                now,
                tick,
                NextWork {
                    timer: ledger.next_deadline(now),
                    delivery: sim.next_delivery(),
                    fault: faults.next_due(),
                    end,
                },
            ),
            None => 1,
        };
        steps += 1;
        if let Err(e) = sim.step_ticks(ticks) {
            error = Some(e.to_string());
            break;
        }
        if let Some((host, at)) = sim.take_early_wake() {
            error = Some(format!(
                "host {host} woke at {at:?} inside an idle skip: a system that announces its \
                 timers set one without wsim_proto::clock::timer"
            ));
            break;
        }
    }
    Stepped {
        error,
        elapsed: sim.elapsed(),
        steps,
    }
}
