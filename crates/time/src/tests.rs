//! The timers announce while pending, withdraw when done, and are `Send`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;

/// Records every announced deadline and which entries are pending.
#[derive(Default)]
struct Recording {
    state: Mutex<(Vec<Instant>, Vec<u64>)>,
}

impl Recording {
    fn announced(&self) -> Vec<Instant> {
        self.state.lock().unwrap().0.clone()
    }
    fn pending(&self) -> usize {
        self.state.lock().unwrap().1.len()
    }
}

impl Ledger for Recording {
    fn announce(&self, deadline: Instant) -> u64 {
        let mut s = self.state.lock().unwrap();
        s.0.push(deadline);
        let entry = s.0.len() as u64;
        s.1.push(entry);
        entry
    }
    fn withdraw(&self, entry: u64) {
        self.state.lock().unwrap().1.retain(|&e| e != entry);
    }
}

fn assert_send<T: Send>(_: &T) {}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn every_timer_announces_its_deadline_while_pending_and_is_send() {
    let ledger = Arc::new(Recording::default());
    let outer = install_ledger(Some(Arc::clone(&ledger) as Arc<dyn Ledger>));
    let start = Instant::now();
    let s = Duration::from_secs;

    let nap = sleep(s(3));
    assert_send(&nap);
    nap.await;
    assert_eq!(ledger.announced(), [start + s(3)]);
    assert_eq!(ledger.pending(), 0);

    let limited = timeout(s(5), std::future::pending::<()>());
    assert_send(&limited);
    assert!(limited.await.is_err());
    assert_eq!(Instant::now(), start + s(8));
    assert_eq!(ledger.announced()[1], start + s(8));

    // A timeout whose future finishes first withdraws its entry at once.
    assert_eq!(timeout(s(100), async { 7 }).await, Ok(7));
    assert_eq!(ledger.pending(), 0);

    let mut ticks = interval(s(10));
    assert_eq!(ticks.tick().await, start + s(8));
    assert_eq!(ticks.tick().await, start + s(18));
    // A late tick is not made up for: the next is a period after it.
    tokio::time::advance(s(25)).await;
    assert_eq!(ticks.tick().await, start + s(28));
    assert_eq!(Instant::now(), start + s(43));
    assert_eq!(ticks.tick().await, start + s(53));
    assert_eq!(ledger.pending(), 0);
    assert_eq!(ticks.period(), s(10));

    // A spawned task's timers reach the ledger of the thread that polls them.
    let before = ledger.announced().len();
    tokio::spawn(sleep(s(1))).await.unwrap();
    assert_eq!(ledger.announced().len(), before + 1);

    install_ledger(outer);
    // Without a ledger the timers are tokio's alone.
    sleep(s(1)).await;
    assert_eq!(ledger.announced().len(), before + 1);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
#[should_panic(expected = "non-zero")]
async fn a_zero_interval_is_refused() {
    let _ = interval(Duration::ZERO);
}
