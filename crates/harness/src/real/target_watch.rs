//! Whether a drive's target is the right kind of server at all, decided in the run's first
//! seconds: a target that completes the WebSocket upgrade but never sends `welcome` does not
//! speak docs/protocol.md, and one that refuses every upgrade with the same HTTP status is the
//! wrong URL or not ready. Either ends the run early with a verdict that says so, instead of
//! running the scenario's full time against it.

use std::time::Duration;

use crate::event::{ClientEvent, Event, EventKind};

/// Refusals needed (all with the same status, none accepted) before the target is judged
/// to refuse everyone.
const REFUSALS: usize = 3;

/// Watches a drive's events for a target that cannot be judged.
#[derive(Debug)]
pub(crate) struct TargetWatch {
    connect_timeout: Duration,
    /// When the first upgrade completed.
    first_upgrade: Option<Duration>,
    /// The status of every refused upgrade so far, and when the first came.
    refusals: Vec<u16>,
    first_refusal: Option<Duration>,
}

impl TargetWatch {
    /// A watch for clients whose connect timeout is `connect_timeout`.
    pub(crate) fn new(connect_timeout: Duration) -> Self {
        TargetWatch {
            connect_timeout,
            first_upgrade: None,
            refusals: Vec::new(),
            first_refusal: None,
        }
    }

    /// Sees the next event of the run.
    pub(crate) fn observe(&mut self, event: &Event) {
        match &event.kind {
            EventKind::Client {
                event: ClientEvent::Connected { .. },
                ..
            } => {
                self.first_upgrade.get_or_insert(event.t);
            }
            EventKind::Client {
                event: ClientEvent::UpgradeRefused { status },
                ..
            } => {
                self.first_refusal.get_or_insert(event.t);
                if self.refusals.len() < REFUSALS {
                    self.refusals.push(*status);
                }
            }
            _ => {}
        }
    }

    /// Why the run should end now, at `now`, if it should: `welcomed` says whether any client
    /// has been welcomed into a session yet.
    pub(crate) fn verdict(&self, now: Duration, welcomed: bool) -> Option<String> {
        if welcomed {
            return None;
        }
        if let Some(upgraded) = self.first_upgrade {
            return (now >= upgraded + self.connect_timeout).then(|| {
                format!(
                    "the target upgraded the connection but sent no welcome within the connect \
                     timeout ({} ms): does it speak docs/protocol.md?",
                    self.connect_timeout.as_millis()
                )
            });
        }
        let first = self.first_refusal?;
        let status = self.refusals[0];
        let same = self.refusals.len() >= REFUSALS && self.refusals.iter().all(|s| *s == status);
        (same && now >= first + self.connect_timeout).then(|| {
            format!(
                "the target refused every upgrade with HTTP {status} ({} attempts, none \
                 accepted): is the URL's path right, and is the server ready?",
                self.refusals.len()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests::ev;

    fn client(t: u64, event: ClientEvent) -> Event {
        let client = "a".into();
        ev(t, "clients-1", EventKind::Client { client, event })
    }

    #[test]
    fn an_upgrade_without_a_welcome_ends_the_run_after_the_connect_timeout() {
        let mut watch = TargetWatch::new(Duration::from_secs(2));
        let s = Duration::from_millis;
        assert_eq!(watch.verdict(s(10_000), false), None, "nothing tried yet");
        watch.observe(&client(1_000, ClientEvent::Connected { attempt: 1 }));
        assert_eq!(watch.verdict(s(2_999), false), None);
        let why = watch.verdict(s(3_000), false).expect("no welcome");
        assert!(why.contains("sent no welcome"), "{why}");
        assert_eq!(watch.verdict(s(3_000), true), None, "a welcome came");
    }

    #[test]
    fn the_same_refusal_every_time_ends_the_run_and_mixed_ones_do_not() {
        let s = Duration::from_millis;
        let refused = |t, status| client(t, ClientEvent::UpgradeRefused { status });
        let mut watch = TargetWatch::new(Duration::from_secs(2));
        for t in [100, 200, 300] {
            watch.observe(&refused(t, 404));
        }
        assert_eq!(
            watch.verdict(s(2_000), false),
            None,
            "within the connect timeout"
        );
        let why = watch.verdict(s(2_100), false).expect("refused");
        assert!(why.contains("HTTP 404 (3 attempts"), "{why}");

        let mut mixed = TargetWatch::new(Duration::from_secs(2));
        for (t, status) in [(100, 503), (200, 404), (300, 503)] {
            mixed.observe(&refused(t, status));
        }
        assert_eq!(mixed.verdict(s(9_000), false), None);
        // Once a client got in, refusals are the server's business (a session limit).
        watch.observe(&client(2_200, ClientEvent::Connected { attempt: 2 }));
        assert_eq!(watch.verdict(s(9_000), true), None);
    }
}
