//! The events sorted into what the page draws: client hosts and their clients, per-client
//! events, server and proxy events, fault windows and violations.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use crate::event::{Event, EventKind as K, FaultDesc as F};

use super::marks::{Lane, TrafficMarks};
use super::style::*;
use super::svg::*;

/// A fault window: its `fault_start` and matching `fault_end`.
pub(super) struct Fault<'a> {
    pub(super) start: &'a Event,
    pub(super) end: Option<&'a Event>,
    pub(super) id: u32,
    pub(super) desc: &'a F,
}

impl Fault<'_> {
    pub(super) fn label(&self) -> String {
        let what = match (self.desc, self.desc.link()) {
            (F::OneWay { .. }, Some((a, b))) => format!("{a} → {b}"),
            (F::Latency { max_ms, .. }, Some((a, b))) => format!("{a} ↔ {b} ≤ {max_ms} ms"),
            (_, Some((a, b))) => format!("{a} ↔ {b}"),
            (F::Crash { host, silent, .. }, _) if *silent => format!("{host} (silent)"),
            (F::Crash { host, .. } | F::Sleep { host, .. }, _) => host.clone(),
            (F::ProxyConn { client, action, .. }, _) => {
                format!(
                    "{client} {}{}",
                    format!("{action:?}").to_lowercase(),
                    self.delay()
                )
            }
            (F::ClockStep { host, by_ms }, _) => format!("{host} {:+} s", *by_ms as f64 / 1e3),
            (F::ClockDrift { host, ppm, .. }, _) => format!("{host} {ppm:+} ppm"),
            (_, None) => String::new(),
        };
        format!("#{} {} {what}", self.id, self.desc.name())
    }

    /// A `proxy_conn` delay, for its label.
    pub(super) fn delay(&self) -> String {
        match self.desc {
            F::ProxyConn { delay_ms, .. } if *delay_ms > 0 => format!(" {delay_ms} ms"),
            _ => String::new(),
        }
    }

    /// When the window closes: its end, its start if instantaneous, else the end of the run.
    pub(super) fn until(&self, end: Duration) -> Duration {
        match self.end {
            Some(e) => e.t,
            None if self.desc.duration().is_zero() => self.start.t,
            None => end,
        }
    }

    /// Whether the fault is aimed at a row's host or client.
    pub(super) fn hits(&self, row: &Row<'_>) -> bool {
        let (host, client) = match row {
            Row::Server => ("server", ""),
            Row::Proxy => ("proxy", ""),
            Row::Host(h, _) => (*h, ""),
            Row::Client(h, c) => (*h, *c),
        };
        let link = self.desc.link();
        match self.desc {
            F::ProxyConn { client: c, .. } => c == client || host == "proxy",
            F::Crash { host: h, .. }
            | F::Sleep { host: h, .. }
            | F::ClockStep { host: h, .. }
            | F::ClockDrift { host: h, .. } => h == host,
            _ => link.is_some_and(|(a, b)| a == host || b == host),
        }
    }
}

/// One horizontal row of the chart.
pub(super) enum Row<'a> {
    Server,
    Proxy,
    /// A client host and its clients.
    Host(&'a str, &'a [&'a str]),
    /// A client, on its host.
    Client(&'a str, &'a str),
}

/// The events sorted into what the page draws.
#[derive(Default)]
pub(super) struct Model<'a> {
    /// Client hosts in order of appearance, each with its clients in natural order.
    pub(super) hosts: Vec<(&'a str, Vec<&'a str>)>,
    pub(super) by_client: BTreeMap<&'a str, Vec<&'a Event>>,
    pub(super) server: Vec<&'a Event>,
    pub(super) proxy: Vec<&'a Event>,
    pub(super) faults: Vec<Fault<'a>>,
    pub(super) violations: Vec<&'a Event>,
}

/// Sort key that puts `web-2` before `web-10`.
pub(super) fn natural(s: &str) -> (&str, u64, &str) {
    let head = s.trim_end_matches(|c: char| c.is_ascii_digit());
    (head, s[head.len()..].parse().unwrap_or(0), s)
}

impl<'a> Model<'a> {
    pub(super) fn new(events: &'a [Event]) -> Self {
        let mut m = Model::default();
        let mut home: BTreeMap<&str, &str> = BTreeMap::new();
        for e in events {
            match &e.kind {
                K::FaultStart { id, fault } => {
                    let (end, id, desc) = (None, *id, fault);
                    m.faults.push(Fault {
                        start: e,
                        end,
                        id,
                        desc,
                    });
                }
                K::FaultEnd { id, .. } => {
                    let mut open = m.faults.iter_mut().rev().filter(|f| f.end.is_none());
                    if let Some(f) = open.find(|f| f.id == *id) {
                        f.end = Some(e);
                    }
                }
                K::Violation { .. } => m.violations.push(e),
                _ => {}
            }
            match &*e.host {
                "server" => m.server.push(e),
                "proxy" => m.proxy.push(e),
                _ => {}
            }
            let Some(c) = e.kind.client() else { continue };
            m.by_client.entry(c).or_default().push(e);
            if !matches!(&*e.host, "server" | "proxy" | "sim" | "check") {
                home.entry(c).or_insert(&e.host);
            }
        }
        for c in m.by_client.keys() {
            home.entry(c).or_insert(NO_HOST);
        }
        // Hosts in order of their clients' first events.
        let mut order: Vec<&str> = Vec::new();
        for e in events {
            let host = e.kind.client().and_then(|c| home.get(c));
            order.extend(host.filter(|h| !order.contains(h)));
        }
        for h in order {
            let mut cs: Vec<&str> = home.iter().filter(|c| *c.1 == h).map(|c| *c.0).collect();
            cs.sort_by(|a, b| natural(a).cmp(&natural(b)));
            m.hosts.push((h, cs));
        }
        m
    }

    /// Times the fault executor crashed `host`.
    pub(super) fn crashes(&self, host: &str) -> Vec<Delta> {
        let crash = |f: &&Fault<'_>| matches!(f.desc, F::Crash { host: h, .. } if h == host);
        let crashes = self.faults.iter().filter(crash);
        crashes.map(|f| (f.start.t, None)).collect()
    }
}

/// A span of a row: its opening event, its closing one, and when it ends.
pub(super) type Span<'a> = (&'a Event, Option<&'a Event>, Duration);

/// Spans of `evs` from an event named in `opens` to the next named in `shuts`, or to the first
/// of `cuts` after its start, or to `end`.
pub(super) fn spans<'a>(
    evs: &[&'a Event],
    cuts: &[Duration],
    end: Duration,
    opens: &[&str],
    shuts: &[&str],
) -> Vec<Span<'a>> {
    let (mut out, mut open) = (Vec::new(), None::<&Event>);
    let cut = |s: &Event| cuts.iter().copied().find(|c| *c > s.t);
    for &e in evs {
        let cut_before = open.and_then(|s| Some((s, cut(s)?)));
        if let Some((s, c)) = cut_before.filter(|(_, c)| *c <= e.t) {
            out.push((s, None, c));
            open = None;
        }
        if shuts.contains(&e.kind.name()) {
            out.extend(open.take().map(|s| (s, Some(e), e.t)));
        }
        if opens.contains(&e.kind.name()) && open.is_none() {
            open = Some(e);
        }
    }
    out.extend(open.map(|s| (s, None, cut(s).unwrap_or(end).min(end))));
    out
}

/// A client's connected spans.
pub(super) fn links<'a>(evs: &[&'a Event], end: Duration) -> Vec<Span<'a>> {
    spans(evs, &[], end, &["connected"], &["disconnected", "gave_up"])
}

/// Message marks of one kind on one row, merged per 2 px cell.
#[derive(Default)]
pub(super) struct Dots {
    pub(super) cells: BTreeSet<i64>,
    pub(super) n: usize,
    pub(super) first: Duration,
    pub(super) last: Duration,
}

impl Dots {
    /// The marks of `lane` on `svg`'s scale.
    pub(super) fn of(marks: &TrafficMarks, lane: &Lane, svg: &Svg) -> Self {
        Dots {
            cells: marks
                .times(lane)
                .map(|t| (svg.x(t) / 2.0).floor() as i64)
                .collect(),
            n: lane.n,
            first: lane.first,
            last: lane.last,
        }
    }

    pub(super) fn draw(&self, svg: &mut Svg, lane: usize, y: f64, client: &str) {
        let mut d = String::new();
        let mut cells = self.cells.iter().peekable();
        while let Some(&a) = cells.next() {
            let mut b = a;
            while cells.next_if_eq(&&(b + 1)).is_some() {
                b += 1;
            }
            let _ = write!(d, "M{} {y:.1}h{}", a * 2, (b - a + 1) * 2);
        }
        let (n, first, last) = (self.n, secs(self.first), secs(self.last));
        let title = format!("{client}: {n} × {}, {first} – {last}", MESSAGES[lane].0);
        svg.path(&format!("m{lane}"), &d, &title);
    }
}

/// A change of a count: +1/-1 at a time, or `None` to reset it to 0.
pub(super) type Delta = (Duration, Option<i64>);
