//! The reviewable digest of a run — what the insta snapshots store and `wsim run --format
//! digest` prints: every lifecycle event (connections, presence, faults, idle kills,
//! violations) as its aligned text line, message traffic as per-client totals, and the check
//! outcomes. No wall times, no addresses: the same scenario and seed give the same digest, and
//! a behaviour change shows up as a small diff.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::event::{ClientEvent, Event, EventKind, ProxyEvent, ServerEvent};
use crate::judge::RunOutput;
use crate::render;
use crate::verdict::Verdict;

/// Per-client message tallies.
#[derive(Debug, Default)]
struct Tally {
    sent: usize,
    buffered: usize,
    acked: usize,
    received: usize,
    presence: usize,
}

/// Whether `event` is message traffic (tallied, not listed).
fn is_traffic(event: &Event) -> bool {
    matches!(
        event.kind,
        EventKind::Client {
            event: ClientEvent::MessageSent { .. },
            ..
        } | EventKind::Client {
            event: ClientEvent::MessageBuffered { .. },
            ..
        } | EventKind::Client {
            event: ClientEvent::MessageAcked { .. },
            ..
        } | EventKind::Client {
            event: ClientEvent::Message { .. },
            ..
        } | EventKind::Client {
            event: ClientEvent::Presence { .. },
            ..
        } | EventKind::Server(ServerEvent::MessageAccepted { .. })
            | EventKind::Proxy(ProxyEvent::ProxyConnOpened { .. })
            | EventKind::Proxy(ProxyEvent::ProxyConnClosed { .. })
    )
}

/// The digest of a run's `timeline` and `verdict`.
#[must_use]
pub fn digest(timeline: &[Event], verdict: &Verdict) -> String {
    let mut digest = Digest::default();
    for event in timeline {
        digest.event(event);
    }
    digest.finish(verdict)
}

/// A digest being built as the run goes (a [`RunOutput`]): message traffic is counted, every
/// other event's line kept (memory follows the run's connections and faults, not its
/// messages); the violations that come at the end take their places among the lines by time.
#[derive(Debug, Default)]
pub struct Digest {
    tallies: BTreeMap<String, Tally>,
    accepted: usize,
    proxy_conns: usize,
    /// Every listed event's time and line.
    lines: Vec<(Duration, String)>,
    /// Violations given after the events, in time order.
    violations: Vec<(Duration, String)>,
}

impl Digest {
    fn tally(&mut self, client: &str) -> &mut Tally {
        if !self.tallies.contains_key(client) {
            self.tallies.insert(client.to_string(), Tally::default());
        }
        self.tallies.get_mut(client).expect("inserted above")
    }

    /// The digest, closed by `verdict`'s checks.
    #[must_use]
    pub fn finish(self, verdict: &Verdict) -> String {
        let mut out = String::new();
        let mut violations = self.violations.into_iter().peekable();
        for (t, line) in &self.lines {
            while let Some((_, v)) = violations.next_if(|v| v.0 < *t) {
                out.push_str(&v);
                out.push('\n');
            }
            out.push_str(line);
            out.push('\n');
        }
        for (_, v) in violations {
            out.push_str(&v);
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "\nmessages: {} accepted by the server; proxy connections opened: {}",
            self.accepted, self.proxy_conns
        );
        for (client, t) in &self.tallies {
            let _ = writeln!(
                out,
                "  {client:<12} sent={:<4} buffered={:<4} acked={:<4} received={:<4} presence={}",
                t.sent, t.buffered, t.acked, t.received, t.presence
            );
        }
        out.push_str(&verdict.checks_text());
        let _ = writeln!(out, "  simulated {} ms", verdict.sim_ms);
        out
    }
}

impl RunOutput for Digest {
    fn event(&mut self, event: &Event) {
        match &event.kind {
            EventKind::Client { client, event: e } => match e {
                ClientEvent::MessageSent { .. } => self.tally(client).sent += 1,
                ClientEvent::MessageBuffered { .. } => self.tally(client).buffered += 1,
                ClientEvent::MessageAcked { .. } => self.tally(client).acked += 1,
                ClientEvent::Message { .. } => self.tally(client).received += 1,
                ClientEvent::Presence { .. } => self.tally(client).presence += 1,
                _ => {}
            },
            EventKind::Server(ServerEvent::MessageAccepted { .. }) => self.accepted += 1,
            EventKind::Proxy(ProxyEvent::ProxyConnOpened { .. }) => self.proxy_conns += 1,
            _ => {}
        }
        if !is_traffic(event) {
            self.lines.push((event.t, render::text_line(event)));
        }
    }

    fn violations(&mut self, violations: &[Event]) {
        let lines = violations.iter().map(|v| (v.t, render::text_line(v)));
        self.violations.extend(lines);
    }
}
