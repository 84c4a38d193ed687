//! Checker `backoff`: every reconnect delay lies within `[0, min(max, initial × factor^n)]`,
//! where `n` counts the failed attempts since the last healthy link (`n = attempt − 2` for a
//! `reconnect_scheduled` of attempt ≥ 2, 0 for attempt 1).

use crate::check::{CheckContext, Checker, Violation};
use crate::event::{ClientEvent, Event, EventKind};
use crate::view::RunView;

/// See the module documentation.
#[derive(Debug)]
pub struct Backoff {
    ctx: CheckContext,
    delays: usize,
    violations: Vec<Violation>,
}

impl Backoff {
    /// A backoff checker for a run with `ctx`.
    #[must_use]
    pub fn new(ctx: CheckContext) -> Self {
        Backoff {
            ctx,
            delays: 0,
            violations: Vec::new(),
        }
    }
}

impl Checker for Backoff {
    fn name(&self) -> &'static str {
        "backoff"
    }

    fn observe(&mut self, event: &Event, _view: &RunView) {
        if let EventKind::Client {
            client,
            event: ClientEvent::Reconnecting { attempt, delay },
        } = &event.kind
        {
            self.delays += 1;
            let delay_ms = delay.as_millis();
            let ceiling = self
                .ctx
                .backoff
                .ceiling(attempt.saturating_sub(2))
                .as_millis();
            if delay_ms > ceiling {
                self.violations.push(Violation {
                    t: event.t,
                    detail: format!(
                        "{client}: attempt {attempt} waits {delay_ms} ms, above its {ceiling} ms ceiling"
                    ),
                });
            }
        }
    }

    fn finish(&mut self, _view: &RunView) -> Vec<Violation> {
        self.violations.clone()
    }

    fn vacuous(&self) -> bool {
        self.delays == 0
    }

    fn summary(&self) -> String {
        format!("{} reconnect delays, each within its ceiling", self.delays)
    }
}
