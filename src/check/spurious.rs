//! Checker `no_spurious_disconnect`: a client only disconnects (or fails to connect) when a
//! fault on its path could have caused it. A fault explains disconnects from its start until
//! `max(end, start + keepalive bound) + connect timeout + 4 × max latency`, and only if it can
//! disconnect a healthy client at all (`CheckContext::can_disconnect`).

use std::time::Duration;

use crate::check::links::Links;
use crate::check::{CheckContext, Checker, Violation};
use crate::event::{DisconnectReason, Event, EventKind, FaultDesc};

#[derive(Debug, Clone)]
struct Window {
    desc: FaultDesc,
    start: Duration,
    end: Option<Duration>,
}

/// See the module documentation.
#[derive(Debug)]
pub struct NoSpuriousDisconnect {
    ctx: CheckContext,
    links: Links,
    faults: Vec<(u32, Window)>,
    violations: Vec<Violation>,
    disconnects: usize,
}

impl NoSpuriousDisconnect {
    /// A checker for a run with `ctx`.
    #[must_use]
    pub fn new(ctx: CheckContext) -> Self {
        NoSpuriousDisconnect {
            ctx,
            links: Links::default(),
            faults: Vec::new(),
            violations: Vec::new(),
            disconnects: 0,
        }
    }

    fn explains(&self, w: &Window, host: &str, t: Duration) -> bool {
        if !self.ctx.on_path(w.desc.link(), host) || !self.ctx.can_disconnect(&w.desc) {
            return false;
        }
        let bound = self.ctx.keepalive.detection_bound().unwrap_or_default();
        let Some(end) = w.end else {
            return t >= w.start;
        };
        let until =
            end.max(w.start + bound) + self.ctx.connect_timeout + 4 * self.ctx.latency.max;
        t >= w.start && t <= until
    }
}

impl Checker for NoSpuriousDisconnect {
    fn name(&self) -> &'static str {
        "no_spurious_disconnect"
    }

    fn observe(&mut self, event: &Event) {
        match &event.kind {
            EventKind::FaultStart { id, fault } => self.faults.push((
                *id,
                Window {
                    desc: fault.clone(),
                    start: event.t,
                    end: None,
                },
            )),
            EventKind::FaultEnd { id, .. } => {
                for (fid, w) in &mut self.faults {
                    if fid == id && w.end.is_none() {
                        w.end = Some(event.t);
                    }
                }
            }
            EventKind::Disconnected { client, reason } if *reason != DisconnectReason::ClientClosed => {
                self.disconnects += 1;
                let explained = self
                    .faults
                    .iter()
                    .any(|(_, w)| self.explains(w, &event.host, event.t));
                if !explained {
                    self.violations.push(Violation {
                        t: event.t,
                        detail: format!(
                            "{client} disconnected ({}) with no fault on its path to explain it",
                            serde_json::to_value(reason)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_string))
                                .unwrap_or_default()
                        ),
                    });
                }
            }
            _ => {}
        }
        self.links.observe(event);
    }

    fn finish(&mut self) -> Vec<Violation> {
        self.violations.clone()
    }

    fn summary(&self) -> String {
        format!("{} disconnects, each explained by a fault", self.disconnects)
    }
}
