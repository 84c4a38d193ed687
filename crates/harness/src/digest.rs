//! The reviewable digest of a run — what the insta snapshots store and `wsim run --format
//! digest` prints: every lifecycle event (connections, presence, faults, idle kills,
//! violations) as its aligned text line, message traffic as per-client totals, and the check
//! outcomes. No wall times, no addresses: the same scenario and seed give the same digest, and
//! a behaviour change shows up as a small diff.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::event::{ClientEvent, Event, EventKind, ProxyEvent, ServerEvent};
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
    let mut out = String::new();
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut accepted = 0usize;
    let mut proxy_conns = 0usize;
    for event in timeline {
        match &event.kind {
            EventKind::Client {
                client,
                event: ClientEvent::MessageSent { .. },
            } => tallies.entry(client).or_default().sent += 1,
            EventKind::Client {
                client,
                event: ClientEvent::MessageBuffered { .. },
            } => {
                tallies.entry(client).or_default().buffered += 1;
            }
            EventKind::Client {
                client,
                event: ClientEvent::MessageAcked { .. },
            } => {
                tallies.entry(client).or_default().acked += 1;
            }
            EventKind::Client {
                client,
                event: ClientEvent::Message { .. },
            } => {
                tallies.entry(client).or_default().received += 1;
            }
            EventKind::Client {
                client,
                event: ClientEvent::Presence { .. },
            } => {
                tallies.entry(client).or_default().presence += 1;
            }
            EventKind::Server(ServerEvent::MessageAccepted { .. }) => accepted += 1,
            EventKind::Proxy(ProxyEvent::ProxyConnOpened { .. }) => proxy_conns += 1,
            _ => {}
        }
        if !is_traffic(event) {
            out.push_str(&render::text_line(event));
            out.push('\n');
        }
    }
    let _ = writeln!(
        out,
        "\nmessages: {accepted} accepted by the server; proxy connections opened: {proxy_conns}"
    );
    for (client, t) in &tallies {
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
