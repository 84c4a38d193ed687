//! Checker `idle_kills`: counts the proxy's idle kills and, with `expect.max_idle_kills` set,
//! fails above that — a keepalive shorter than the proxy's idle timeout must keep every link
//! alive, while one equal to it races the proxy's timer (seed 002's 30 s heartbeat behind a
//! 30 s load balancer).

use crate::check::{CheckContext, Checker, Violation};
use crate::event::{Event, EventKind, ProxyEvent};
use crate::view::RunView;

/// See the module documentation.
#[derive(Debug)]
pub struct IdleKills {
    ctx: CheckContext,
    kills: usize,
    violations: Vec<Violation>,
}

impl IdleKills {
    /// An idle-kill checker for a run with `ctx`.
    #[must_use]
    pub fn new(ctx: CheckContext) -> Self {
        IdleKills {
            ctx,
            kills: 0,
            violations: Vec::new(),
        }
    }
}

impl Checker for IdleKills {
    fn name(&self) -> &'static str {
        "idle_kills"
    }

    fn observe(&mut self, event: &Event, _view: &RunView) {
        if let EventKind::Proxy(ProxyEvent::IdleKill {
            client, idle_ms, ..
        }) = &event.kind
        {
            self.kills += 1;
            if self.ctx.max_idle_kills.is_some_and(|cap| self.kills > cap) {
                self.violations.push(Violation {
                    t: event.t,
                    detail: format!(
                        "the proxy killed {}'s connection after {idle_ms} ms idle",
                        client.as_deref().unwrap_or("a client")
                    ),
                });
            }
        }
    }

    fn finish(&mut self, _view: &RunView) -> Vec<Violation> {
        self.violations.clone()
    }

    fn vacuous(&self) -> bool {
        self.ctx.max_idle_kills.is_none()
    }

    fn summary(&self) -> String {
        let cap = self.ctx.max_idle_kills.map_or_else(
            || " (no expect.max_idle_kills to hold them to)".to_string(),
            |c| format!(" (cap {c})"),
        );
        format!("{} idle kills by the proxy{cap}", self.kills)
    }
}
