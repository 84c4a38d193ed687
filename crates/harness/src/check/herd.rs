//! Checker `herd`: connection attempts do not stampede. It counts `connecting` events in every
//! one-second window (sliding, to the millisecond) and reports the most; with
//! `expect.max_connects_per_second` set it fails above that. A crowd dropped at one instant
//! (a server restart) retries all at once without jitter; with full jitter it spreads out.

use std::collections::VecDeque;
use std::time::Duration;

use crate::check::{CheckContext, Checker, Violation};
use crate::event::{ClientEvent, Event, EventKind};
use crate::view::RunView;

/// See the module documentation.
#[derive(Debug)]
pub struct Herd {
    ctx: CheckContext,
    window: VecDeque<Duration>,
    most: usize,
    /// The same over 100 ms: how close to "at the same instant" the crowd came.
    burst: VecDeque<Duration>,
    most_burst: usize,
    most_at: Duration,
    /// Connection attempts at start-up are not a herd: only those after the first fault count.
    fault_seen: bool,
}

impl Herd {
    /// A herd checker for a run with `ctx`.
    #[must_use]
    pub fn new(ctx: CheckContext) -> Self {
        Herd {
            ctx,
            window: VecDeque::new(),
            most: 0,
            burst: VecDeque::new(),
            most_burst: 0,
            most_at: Duration::ZERO,
            fault_seen: false,
        }
    }

    /// The most connection attempts seen in any one second after the first fault.
    #[must_use]
    pub fn most_per_second(&self) -> usize {
        self.most
    }
}

impl Checker for Herd {
    fn name(&self) -> &'static str {
        "herd"
    }

    fn observe(&mut self, event: &Event, _view: &RunView) {
        match &event.kind {
            EventKind::FaultStart { .. } => self.fault_seen = true,
            EventKind::Client {
                event: ClientEvent::Connecting { .. },
                ..
            } if self.fault_seen => {
                self.most_burst = self.most_burst.max(slide(
                    &mut self.burst,
                    event.t,
                    Duration::from_millis(100),
                ));
                if slide(&mut self.window, event.t, Duration::from_secs(1)) > self.most {
                    self.most = self.window.len();
                    self.most_at = event.t;
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, _view: &RunView) -> Vec<Violation> {
        match self.ctx.max_connects_per_second {
            Some(cap) if self.most > cap => vec![Violation {
                t: self.most_at,
                detail: format!(
                    "{} connection attempts within one second (cap {cap})",
                    self.most
                ),
            }],
            _ => Vec::new(),
        }
    }

    fn vacuous(&self) -> bool {
        self.ctx.max_connects_per_second.is_none()
    }

    fn summary(&self) -> String {
        let cap = self.ctx.max_connects_per_second.map_or_else(
            || " (no expect.max_connects_per_second to hold it to)".to_string(),
            |c| format!(" (cap {c})"),
        );
        format!(
            "most connects in one second: {}; in 100 ms: {}{cap}",
            self.most, self.most_burst
        )
    }
}

/// Adds `t` to a sliding window of length `span`; returns how many times it holds. Events of
/// one step may come from several hosts a little out of time order (with a coarse tick, by up
/// to a tick): an earlier `t` than the window's first counts as inside it.
fn slide(window: &mut VecDeque<Duration>, t: Duration, span: Duration) -> usize {
    while window
        .front()
        .is_some_and(|first| t.saturating_sub(*first) >= span)
    {
        window.pop_front();
    }
    window.push_back(t);
    window.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests::{ctx, ev, feed_and_finish};
    use crate::event::FaultDesc;

    fn connecting(t: u64) -> Event {
        ev(
            t,
            "h",
            EventKind::Client {
                client: "a".into(),
                event: ClientEvent::Connecting { attempt: 1 },
            },
        )
    }

    #[test]
    fn counts_the_busiest_second_after_the_first_fault() {
        let fault = ev(
            100,
            "sim",
            EventKind::FaultStart {
                id: 0,
                fault: FaultDesc::Crash {
                    host: "server".into(),
                    duration_ms: 1,
                    silent: false,
                },
            },
        );
        let mut events = vec![connecting(0), connecting(1), fault];
        events.extend([1_000, 1_500, 1_999, 2_000, 2_999, 3_500].map(connecting));
        let ctx = CheckContext {
            max_connects_per_second: Some(2),
            ..ctx()
        };
        let mut c = Herd::new(ctx.clone());
        let found = feed_and_finish(&mut c, &ctx, &events);
        // 1.000 s and 2.000 s are a full second apart: at most three share a window.
        assert_eq!(c.most_per_second(), 3);
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn attempts_a_little_out_of_time_order_count_and_do_not_panic() {
        // With a 10 ms tick, hosts stepped in one step report a few ms out of order.
        let mut window = VecDeque::new();
        let ms = Duration::from_millis;
        assert_eq!(slide(&mut window, ms(1_005), ms(100)), 1);
        assert_eq!(slide(&mut window, ms(1_001), ms(100)), 2);
        assert_eq!(slide(&mut window, ms(1_009), ms(100)), 3);
        // A later attempt still slides the old ones out.
        assert_eq!(slide(&mut window, ms(1_200), ms(100)), 1);
    }
}
