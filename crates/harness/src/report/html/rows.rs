//! Drawing the chart's rows: a client's swimlane, count charts for hosts, the server and the
//! proxy, fault labels and the time axis.

use std::fmt::Write as _;
use std::time::Duration;

use crate::event::{ClientEvent, Event, EventKind as K, ProxyEvent, ServerEvent};
use crate::render::text_line;

use super::marks::TrafficMarks;
use super::model::*;
use super::style::*;
use super::svg::*;

/// One client's row: the server's view (present, away) behind the client's (connected,
/// attempts, backoff waits), its messages, and markers on top.
pub(super) fn client_row(
    svg: &mut Svg,
    y: f64,
    name: &str,
    evs: &[&Event],
    marks: &TrafficMarks,
    cuts: &[Duration],
) {
    let (end, mid) = (Duration::from_secs_f64(svg.end), y + 8.0);
    let back = ["user_joined", "user_reconnected"];
    let gone = ["user_joined", "user_reconnected", "user_left"];
    for (from, to, until) in spans(evs, cuts, end, &["user_away"], &gone) {
        let title = span_title(from, to);
        svg.span("band", from.t, until, y + 0.5, ROW_H - 1.0, "");
        svg.span("away", from.t, until, y + 14.5, 2.5, &title);
    }
    for (from, to, until) in spans(evs, cuts, end, &back, &["user_away", "user_left"]) {
        svg.span("pres", from.t, until, y + 14.5, 2.5, &span_title(from, to));
    }
    for (from, to, until) in links(evs, end) {
        svg.span("conn", from.t, until, y + 4.0, 8.0, &span_title(from, to));
    }
    let done = ["connected", "disconnected", "gave_up"];
    for (from, to, until) in spans(evs, &[], end, &["connecting"], &done) {
        let (x0, x1, title) = (svg.x(from.t), svg.x(until), span_title(from, to));
        svg.line("try", (x0, mid), (x1, mid), &title);
    }
    for (i, lane) in marks.lanes(name).into_iter().flatten().enumerate() {
        if lane.n > 0 {
            let dots = Dots::of(marks, lane, svg);
            dots.draw(svg, i, y + MESSAGES[i].1, name);
        }
    }
    let mut connected = false;
    for &e in evs {
        let (x, t) = (svg.x(e.t), || text_line(e));
        match &e.kind {
            K::Client {
                event: ClientEvent::Reconnecting { delay, .. },
                ..
            } => {
                let x1 = svg.x(e.t + *delay);
                svg.line("wait", (x, mid), (x1, mid), &t());
            }
            K::Client {
                event: ClientEvent::Connecting { .. },
                ..
            } => svg.line("tick", (x, y + 4.0), (x, y + 12.0), &t()),
            K::Client {
                event: ClientEvent::Connected { .. },
                ..
            } => connected = true,
            K::Client {
                event: ClientEvent::Disconnected { reason, .. },
                ..
            } if std::mem::take(&mut connected) => {
                let d = format!("M{:.1} {:.1}h10l-5 9z", x - 5.0, y + 3.0);
                svg.path(&format!("r-{} dis", reason.as_str()), &d, &t());
            }
            K::Client {
                event: ClientEvent::Disconnected { reason, .. },
                ..
            } => {
                svg.circle(&format!("r-{}", reason.as_str()), (x, mid), 2.6, &t());
            }
            K::Client {
                event: ClientEvent::GaveUp { .. },
                ..
            } => {
                let d = format!("M{:.1} {:.1}l8 8m0 -8l-8 8", x - 4.0, y + 4.0);
                svg.path("gave", &d, &t());
            }
            K::Client {
                event: ClientEvent::Resumed { recovered, .. },
                ..
            } if !recovered => svg.circle("ring", (x, mid), 3.2, &t()),
            K::Server(ServerEvent::UserLeft { .. }) => {
                let d = format!("M{:.1} {:.1}l6 6m0 -6l-6 6", x - 3.0, y + 11.0);
                svg.path("left", &d, &t());
            }
            K::Proxy(ProxyEvent::IdleKill { .. }) => {
                let d = format!("M{x:.1} {:.1}l4 4l-4 4l-4 -4z", y + 4.0);
                svg.path("kill", &d, &t());
            }
            _ => {}
        }
    }
}

/// A step chart of a running count (+1/-1 at a time; `None` resets it to 0).
pub(super) fn count_row(svg: &mut Svg, y: f64, mut deltas: Vec<Delta>, class: &str, what: &str) {
    deltas.sort_by_key(|d| d.0);
    let (mut n, mut steps) = (0, Vec::new());
    for (t, d) in deltas {
        n = d.map_or(0, |d| (n + d).max(0));
        steps.push((t, n));
    }
    let peak = steps.iter().map(|s| s.1).max().unwrap_or(0).max(1);
    let (base, top) = (y + SUM_H - 2.0, y + 5.0);
    let mut d = format!("M{LABEL_W} {base:.1}");
    for (t, v) in steps {
        let y = base - (base - top) * v as f64 / peak as f64;
        let _ = write!(d, "H{:.1}V{y:.1}", svg.x(t));
    }
    let _ = write!(d, "H{RIGHT}V{base:.1}Z");
    let title = format!("{what} (peak {peak})");
    svg.path(&format!("area {class}"), &d, &title);
}

/// A label in the first lane above the chart where it fits: inside `x0..x1` if that is wide
/// enough, else right of it (left near the right edge).
pub(super) struct Label {
    pub(super) lane: usize,
    pub(super) x: f64,
    pub(super) anchor: &'static str,
    pub(super) inside: bool,
}

pub(super) fn place(lanes: &mut Vec<f64>, (x0, x1): (f64, f64), gap: f64, text: &str) -> Label {
    let w = text.chars().count() as f64 * CHAR_W;
    let (x, anchor, inside, lo, hi) = if x1 - x0 >= w + 10.0 {
        (x0 + 5.0, "start", true, x0, x1)
    } else if x1 + gap + w <= RIGHT + 20.0 {
        (x1 + gap, "start", false, x0, x1 + gap + w)
    } else {
        (x0 - gap, "end", false, x0 - gap - w, x1)
    };
    let free = lanes.iter().position(|last| *last + 8.0 <= lo);
    let lane = free.unwrap_or(lanes.len());
    if lane == lanes.len() {
        lanes.push(hi);
    }
    lanes[lane] = hi;
    Label {
        lane,
        x,
        anchor,
        inside,
    }
}

/// Row backgrounds and the label column; a client named in a violation is labelled in red.
pub(super) fn labels(svg: &mut Svg, m: &Model<'_>, rows: &[(f64, f64, Row<'_>)]) {
    let named = |c: &str| {
        let words = |d: &str| d.split([' ', ':', ',', ';', '(', ')']).any(|w| w == c);
        m.violations
            .iter()
            .any(|v| matches!(&v.kind, K::Violation { detail, .. } if words(detail)))
    };
    for (i, (y, h, row)) in rows.iter().enumerate() {
        let class = if matches!(row, Row::Client(..)) {
            ["r0", "r1"][i % 2]
        } else {
            "rh"
        };
        svg.rect(class, (0.0, RIGHT), *y, *h, "");
        let (name, sub) = match row {
            Row::Server => ("server", "open sessions".to_string()),
            Row::Proxy => ("proxy", "open connections".to_string()),
            Row::Host(name, [_]) => (*name, "1 client · connected".to_string()),
            Row::Host(name, cs) => (*name, format!("{} clients · connected", cs.len())),
            Row::Client(_, c) => {
                let class = if named(c) { "bad" } else { "" };
                svg.text(class, (18.0, y + 12.5), "start", c);
                continue;
            }
        };
        svg.text("h", (8.0, y + 13.0), "start", name);
        svg.text("s", (8.0, y + 25.0), "start", &sub);
    }
}

/// The time axis: gridlines and labels above and below the rows, at most 16 ticks (every 1,
/// 2, 5, 10, 15 or 30 s, 1, 2, 5, 10 or 30 min, or hours).
pub(super) fn axis(svg: &mut Svg, bottom: f64) {
    let steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800];
    let end = svg.end;
    let fits = |s: &u64| end / *s as f64 <= 16.0;
    let hours = 3600 * (svg.end / 16.0 / 3600.0).ceil() as u64;
    let step = steps.into_iter().find(fits).unwrap_or(hours);
    for t in (0..).map(|i| i * step).take_while(|t| *t as f64 <= end) {
        let (x, label) = (svg.x(Duration::from_secs(t)), format!("{t} s"));
        svg.line("grid", (x, AXIS_H), (x, bottom), "");
        let anchor = match x {
            _ if t == 0 => "start",
            x if x > RIGHT - 20.0 => "end",
            _ => "middle",
        };
        svg.text("", (x, AXIS_H - 6.0), anchor, &label);
        svg.text("", (x, bottom + 15.0), anchor, &label);
    }
    svg.line("axis", (LABEL_W, AXIS_H), (LABEL_W, bottom), "");
}

/// The server row: open sessions over time, and when the server (re)started.
pub(super) fn server_row(svg: &mut Svg, y: f64, m: &Model<'_>) {
    let mut d = m.crashes("server");
    for e in &m.server {
        match e.kind {
            K::Server(ServerEvent::SessionOpened { .. }) => d.push((e.t, Some(1))),
            K::Server(ServerEvent::SessionClosed { .. }) => d.push((e.t, Some(-1))),
            K::Server(ServerEvent::ServerStarted { .. }) => d.push((e.t, None)),
            _ => {}
        }
    }
    count_row(svg, y, d, "sessions", "open sessions on the server");
    let starts = m
        .server
        .iter()
        .filter(|e| e.kind.name() == "server_started");
    for e in starts {
        let (x, top) = (svg.x(e.t), y + 2.0);
        svg.path(
            "start",
            &format!("M{x:.1} {:.1}V{top:.1}l6 3l-6 3", y + SUM_H),
            &text_line(e),
        );
    }
}

/// The proxy row: connections open through it over time, and its idle kills.
pub(super) fn proxy_row(svg: &mut Svg, y: f64, m: &Model<'_>) {
    let mut d = m.crashes("proxy");
    for e in &m.proxy {
        match e.kind {
            K::Proxy(ProxyEvent::ProxyConnOpened { .. }) => d.push((e.t, Some(1))),
            K::Proxy(ProxyEvent::ProxyConnClosed { .. }) => d.push((e.t, Some(-1))),
            _ => {}
        }
    }
    count_row(svg, y, d, "conns", "connections open through the proxy");
    for e in m.proxy.iter().filter(|e| e.kind.name() == "idle_kill") {
        let d = format!("M{:.1} {:.1}l5 5l-5 5l-5 -5z", svg.x(e.t), y + 10.0);
        svg.path("kill", &d, &text_line(e));
    }
}
