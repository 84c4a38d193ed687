//! Skipping idle time. turmoil steps every host by one fixed tick; most ticks of a scenario
//! are idle (every client waiting for its next ping, nothing on the wire). When every system
//! under test announces its timers ([`wsim_proto::clock::timer`]), the run keeps them in a
//! [`TimerLedger`] and [`ticks_until_work`] says how many ticks nothing can happen in, so one
//! step covers them all (turmoil's patched `Sim::step_ticks`, crates/turmoil/PATCH.md). The
//! result is the same run, event for event, as stepping tick by tick: a test replays every
//! standard scenario both ways and compares the timelines byte for byte.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use wsim_proto::clock::timer::TimerLedger;

use crate::clock;

/// The simulated deadlines of every pending announced timer of one run. Bounded by the
/// timers the hosts hold pending at once (an entry leaves when its timer fires or is dropped).
/// Behind a lock only because [`TimerLedger`]s must be `Send + Sync` (timers live in
/// `tokio::spawn`ed tasks too): a run touches it from its one thread, so it is never contended.
#[derive(Debug, Default)]
pub struct RunLedger {
    state: Mutex<LedgerState>,
}

#[derive(Debug, Default)]
struct LedgerState {
    next_entry: u64,
    by_entry: BTreeMap<u64, Duration>,
    deadlines: BTreeSet<(Duration, u64)>,
}

impl TimerLedger for RunLedger {
    fn announce(&self, deadline: tokio::time::Instant) -> u64 {
        let at = clock::sim_time_of(deadline);
        let mut s = self.lock();
        let entry = s.next_entry;
        s.next_entry += 1;
        s.by_entry.insert(entry, at);
        s.deadlines.insert((at, entry));
        entry
    }

    fn withdraw(&self, entry: u64) {
        let mut s = self.lock();
        if let Some(at) = s.by_entry.remove(&entry) {
            s.deadlines.remove(&(at, entry));
        }
    }
}

impl RunLedger {
    fn lock(&self) -> MutexGuard<'_, LedgerState> {
        // A panic elsewhere in the run cannot leave the ledger half-updated: each change is
        // one insertion or removal pair under the lock.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The earliest pending deadline at or after `now`. An entry before `now` belongs to a
    /// timer created but never awaited (nothing can fire for it), so it does not hold the run.
    pub(crate) fn next_deadline(&self, now: Duration) -> Option<Duration> {
        let s = self.lock();
        s.deadlines.range((now, 0)..).next().map(|&(at, _)| at)
    }

    /// How many timers are pending.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        self.lock().by_entry.len()
    }
}

/// What can make something happen next, as simulated times.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NextWork {
    /// The earliest pending timer deadline.
    pub timer: Option<Duration>,
    /// When the first message on the network becomes deliverable.
    pub delivery: Option<Duration>,
    /// When the next fault starts or ends.
    pub fault: Option<Duration>,
    /// When the run ends.
    pub end: Duration,
}

/// How many ticks of `tick` the step starting at `now` may cover so that it ends exactly where
/// tick-by-tick stepping would have done the next piece of work: a timer firing at the end of
/// a tick runs at the start of the next one, a message is handed over at the start of the tick
/// in which it becomes deliverable, a fault is applied at the first tick boundary at or after
/// its time, and the run stops at the first boundary at or after its end. At least 1.
pub(crate) fn ticks_until_work(now: Duration, tick: Duration, next: NextWork) -> u32 {
    let tick_ns = tick.as_nanos().max(1);
    let from_now = |t: Duration| t.saturating_sub(now).as_nanos();
    let floor = |t: Duration| from_now(t) / tick_ns;
    let ceil = |t: Duration| from_now(t).div_ceil(tick_ns);
    let mut ticks = ceil(next.end);
    if let Some(t) = next.timer {
        ticks = ticks.min(floor(t));
    }
    if let Some(t) = next.delivery {
        ticks = ticks.min(ceil(t).saturating_sub(1));
    }
    if let Some(t) = next.fault {
        ticks = ticks.min(ceil(t));
    }
    u32::try_from(ticks).unwrap_or(u32::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn at(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn work(timer: Option<u64>, delivery: Option<u64>, fault: Option<u64>, end: u64) -> NextWork {
        NextWork {
            timer: timer.map(at),
            delivery: delivery.map(at),
            fault: fault.map(at),
            end: at(end),
        }
    }

    #[test]
    fn a_timer_on_a_boundary_ends_the_step_there() {
        assert_eq!(
            ticks_until_work(at(100), MS, work(Some(120), None, None, 1000)),
            20
        );
        // 10 ms ticks: a timer inside a tick ends the step at that tick's start.
        let ten = Duration::from_millis(10);
        assert_eq!(
            ticks_until_work(at(100), ten, work(Some(125), None, None, 1000)),
            2
        );
        assert_eq!(
            ticks_until_work(at(100), ten, work(Some(130), None, None, 1000)),
            3
        );
    }

    #[test]
    fn a_message_is_handed_over_one_tick_before_it_is_due() {
        assert_eq!(
            ticks_until_work(at(100), MS, work(None, Some(110), None, 1000)),
            9
        );
        // Deliverable now or within the next tick: a single ordinary step.
        assert_eq!(
            ticks_until_work(at(100), MS, work(None, Some(100), None, 1000)),
            1
        );
        assert_eq!(
            ticks_until_work(at(100), MS, work(None, Some(101), None, 1000)),
            1
        );
    }

    #[test]
    fn faults_and_the_end_stop_at_the_first_boundary_at_or_after_them() {
        let ten = Duration::from_millis(10);
        assert_eq!(
            ticks_until_work(at(100), ten, work(None, None, Some(155), 1000)),
            6
        );
        assert_eq!(
            ticks_until_work(at(100), ten, work(None, None, None, 1000)),
            90
        );
        assert_eq!(
            ticks_until_work(at(100), ten, work(None, None, None, 1005)),
            91
        );
    }

    #[test]
    fn due_work_means_one_tick() {
        assert_eq!(
            ticks_until_work(at(100), MS, work(Some(100), None, None, 1000)),
            1
        );
        assert_eq!(
            ticks_until_work(at(100), MS, work(Some(40), Some(500), None, 1000)),
            1
        );
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // the paused test runtime's own clock
    fn the_ledger_forgets_fired_and_dropped_timers() {
        let ledger = RunLedger::default();
        clock::set_sim_fallback(Some(at(0)));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime");
        rt.block_on(async {
            let now = tokio::time::Instant::now();
            let a = ledger.announce(now + at(30));
            let b = ledger.announce(now + at(20));
            assert_eq!(ledger.next_deadline(at(0)), Some(at(20)));
            ledger.withdraw(b);
            assert_eq!(ledger.next_deadline(at(0)), Some(at(30)));
            assert_eq!(ledger.next_deadline(at(31)), None);
            ledger.withdraw(a);
            ledger.withdraw(a);
            assert_eq!(ledger.pending(), 0);
        });
        clock::set_sim_fallback(None);
    }
}
