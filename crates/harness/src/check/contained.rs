//! A checker's panic is wsim's own failure, not the system's: [`Contained`] wraps every
//! checker so that one that panics stops being fed and fails its check as `<name> crashed:
//! <message>`, while the run, the other checkers, the timeline and the report go on.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use crate::check::{Checker, Violation};
use crate::event::Event;
use crate::stats::RunStats;
use crate::view::RunView;

/// A checker whose panics are caught (see the module documentation).
pub(crate) struct Contained {
    inner: Box<dyn Checker>,
    name: &'static str,
    /// When the checker panicked (the event's time), and its message.
    crashed: Option<(Duration, String)>,
}

impl Contained {
    pub(crate) fn new(inner: Box<dyn Checker>) -> Self {
        let name = inner.name();
        Contained {
            inner,
            name,
            crashed: None,
        }
    }

    /// Runs `f` on the checker unless it has crashed; a panic marks it crashed at `t`.
    fn guard<R>(&mut self, t: Duration, f: impl FnOnce(&mut dyn Checker) -> R) -> Option<R> {
        if self.crashed.is_some() {
            return None;
        }
        let inner = &mut *self.inner;
        match catch_unwind(AssertUnwindSafe(|| f(inner))) {
            Ok(r) => Some(r),
            Err(payload) => {
                self.crashed = Some((t, panic_message(payload.as_ref())));
                None
            }
        }
    }
}

/// A panic's message, as `panic!` gave it.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

impl Checker for Contained {
    fn name(&self) -> &'static str {
        self.name
    }

    fn observe(&mut self, event: &Event, view: &RunView) {
        self.guard(event.t, |c| c.observe(event, view));
    }

    fn forget(&mut self, now: Duration, view: &RunView) {
        self.guard(now, |c| c.forget(now, view));
    }

    fn finish(&mut self, view: &RunView) -> Vec<Violation> {
        let found = self.guard(Duration::MAX, |c| c.finish(view));
        match (&self.crashed, found) {
            (None, Some(found)) => found,
            (Some((t, why)), _) => vec![Violation {
                t: if *t == Duration::MAX {
                    Duration::ZERO
                } else {
                    *t
                },
                detail: format!(
                    "{} crashed: {why} (a bug in wsim's checker, not in the system under test: \
                     the run and the other checks went on; please report it with the repro line)",
                    self.name
                ),
            }],
            (None, None) => Vec::new(),
        }
    }

    fn summary(&self) -> String {
        if self.crashed.is_some() {
            return format!("{} crashed", self.name);
        }
        let inner = &*self.inner;
        catch_unwind(AssertUnwindSafe(|| inner.summary())).unwrap_or_else(|p| {
            format!(
                "{} crashed summing up: {}",
                self.name,
                panic_message(p.as_ref())
            )
        })
    }

    fn measure(&self, stats: &mut RunStats) {
        if self.crashed.is_none() {
            let inner = &*self.inner;
            let _ = catch_unwind(AssertUnwindSafe(|| inner.measure(stats)));
        }
    }

    fn vacuous(&self) -> bool {
        self.crashed.is_none() && {
            let inner = &*self.inner;
            catch_unwind(AssertUnwindSafe(|| inner.vacuous())).unwrap_or(false)
        }
    }

    fn requires(&self) -> Option<crate::check::Requirement> {
        self.inner.requires()
    }
}

impl std::fmt::Debug for Contained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contained")
            .field("name", &self.name)
            .field("crashed", &self.crashed)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::check::tests::{ctx, ev};
    use crate::check::CheckName;
    use crate::event::{ClientEvent, EventKind};

    /// A checker that panics on its `n`th event: a stand-in for a bug in a checker.
    #[derive(Debug)]
    pub(crate) struct Panicking {
        pub(crate) after: usize,
        seen: usize,
    }

    impl Panicking {
        pub(crate) fn new(after: usize) -> Self {
            Panicking { after, seen: 0 }
        }
    }

    impl Checker for Panicking {
        fn name(&self) -> &'static str {
            "panicking"
        }
        fn observe(&mut self, _event: &Event, _view: &RunView) {
            self.seen += 1;
            assert!(self.seen < self.after, "checker bug on event {}", self.seen);
        }
        fn finish(&mut self, _view: &RunView) -> Vec<Violation> {
            Vec::new()
        }
        fn summary(&self) -> String {
            format!("{} events", self.seen)
        }
    }

    #[test]
    fn a_panicking_checker_fails_its_check_and_the_others_judge_on() {
        let ctx = ctx();
        let checkers: Vec<Box<dyn Checker>> = vec![
            Box::new(Contained::new(Box::new(Panicking::new(2)))),
            crate::check::build(CheckName::Backoff, &ctx),
        ];
        let events: Vec<Event> = (1..=3)
            .map(|i| {
                let client = "a".into();
                let event = ClientEvent::Connecting { attempt: i };
                ev(
                    u64::from(i) * 1_000,
                    "clients-1",
                    EventKind::Client { client, event },
                )
            })
            .collect();
        let (outcomes, timeline) = crate::check::run_checks(checkers, &ctx, events);
        assert!(!outcomes[0].passed);
        assert!(
            outcomes[0]
                .detail
                .starts_with("panicking crashed: checker bug on event 2"),
            "{:?}",
            outcomes[0]
        );
        assert!(
            outcomes[1].passed,
            "the other checker judged on: {:?}",
            outcomes[1]
        );
        // Every event is in the timeline, and the crash is a violation at the event's time.
        assert_eq!(timeline.len(), 4);
        assert!(matches!(timeline[2].kind, EventKind::Violation { .. }));
        assert_eq!(timeline[2].t, Duration::from_secs(2));
    }
}
