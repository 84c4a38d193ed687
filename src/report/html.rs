//! The HTML timeline: one self-contained page (inline CSS and SVG, no scripts, nothing loaded
//! from anywhere) that draws a run's events as swimlanes — a row per client under its host,
//! server and proxy rows, fault windows and violations — so a person can see what happened
//! instead of reading the log. Hovering any mark shows its event's text line.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use crate::event::{DisconnectReason as R, Event, EventKind as K, FaultDesc as F};
use crate::render::{fields_text, text_line};

/// Width of the label column left of the chart.
const LABEL_W: f64 = 140.0;
/// Width of the time axis.
const CHART_W: f64 = 1400.0;
/// The right edge of the chart.
const RIGHT: f64 = LABEL_W + CHART_W;
/// Height of a client row.
const ROW_H: f64 = 18.0;
/// Height of the server, proxy and client-host rows, which plot a count.
const SUM_H: f64 = 30.0;
/// Height of one label lane above the rows (faults, violations).
const LANE_H: f64 = 17.0;
/// Height of the time axis labels.
const AXIS_H: f64 = 20.0;
/// Rough width of a character of the 11 px label font.
const CHAR_W: f64 = 6.2;
/// The group of clients seen only in server or proxy events.
const NO_HOST: &str = "(no client events)";

const STYLE: &str = "body{font:13px system-ui,sans-serif;color:#1f2937;margin:16px 12px}
h1{font-size:20px;margin:0 0 6px}h2{font-size:15px;margin:22px 0 6px}.meta{color:#6b7280}
.sub{white-space:pre-wrap;font:12px ui-monospace,monospace;padding:6px 10px;border-radius:4px;
background:#f3f4f6;display:inline-block}.pass{background:#dcfce7}.fail{background:#fee2e2}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;margin:8px 0 12px;font-size:12px;max-width:1500px}
.legend span{display:inline-flex;align-items:center;gap:5px}.chart{overflow-x:auto}
table{border-collapse:collapse;font-size:12px}td,th{padding:3px 10px;text-align:left;
border-bottom:1px solid #e5e7eb;vertical-align:top}td.t{text-align:right;white-space:nowrap}
svg text{font:11px system-ui,sans-serif;fill:#374151}text.h{font-weight:600}
text.s{font-size:10px;fill:#6b7280}text.bad,td.bad{fill:#b91c1c;color:#b91c1c;font-weight:600}
.grid{stroke:#e5e7eb}.axis{stroke:#9ca3af}.r0{fill:#fff}.r1{fill:#f8fafc}.rh{fill:#f1f5f9}
.conn{fill:#3da066}.pres{fill:#64748b}.away{fill:#f5b301}.band{fill:#f5b301;opacity:.22}
.try{stroke:#64748b;stroke-width:1.5}.tick{stroke:#334155}.dis{stroke:#fff;stroke-width:.8}
.wait{stroke:#94a3b8;stroke-dasharray:2 2}.viol{stroke:#dc2626;stroke-width:1.5}
.vm{fill:#dc2626;stroke:#fff}.ring{fill:#fff;stroke:#9333ea;stroke-width:1.5}
.gave{stroke:#111827;stroke-width:2}.left{stroke:#334155;stroke-width:1.5}
.kill{fill:#92400e;stroke:#fff;stroke-width:.6}.start{fill:#15803d;stroke:#15803d;stroke-width:1.5}
.fw{fill-opacity:.07}.fh{fill-opacity:.15}.fl{stroke-width:1.5;stroke-dasharray:4 2}
.m0,.m1,.m2,.m3{fill:none;stroke-width:2}.m0{stroke:#2563eb;stroke-width:2.5}
.m1{stroke:#ea580c;stroke-width:2.5}.m2{stroke:#14532d}.m3{stroke:#fff;stroke-opacity:.75}
.sessions{fill:#2563eb;stroke:#2563eb}.conns{fill:#7c3aed;stroke:#7c3aed}
.up{fill:#3da066;stroke:#3da066}.area{fill-opacity:.35}";

/// Legend swatches for the marks every page may have (22×14 px each).
const LEGEND: &str = r#"<rect class="conn" y="3" width="22" height="8"/>|connected
<line class="tick" x1="3" x2="3" y1="3" y2="11"/><line class="try" x1="3" x2="22" y1="7" y2="7"/>|connection attempt
<line class="wait" x1="0" x2="22" y1="7" y2="7"/>|backoff wait
<circle class="ring" cx="11" cy="7" r="3.2"/>|resumed, session lost
<path class="gave" d="M7 3l8 8m0 -8l-8 8"/>|gave up
<path class="m0" d="M2 7h2M7 7h4M15 7h2M20 7h2"/>|message sent
<path class="m1" d="M2 7h2M7 7h4M15 7h2M20 7h2"/>|message buffered
<path class="m2" d="M2 7h2M7 7h4M15 7h2M20 7h2"/>|message acked
<rect class="conn" y="2" width="22" height="10"/><path class="m3" d="M2 7h2M7 7h4M15 7h2"/>|message received
<rect class="pres" y="10" width="22" height="3"/>|server: present
<rect class="band" width="22" height="14"/><rect class="away" y="10" width="22" height="3"/>|server: away (grace)
<path class="left" d="M8 4l6 6m0 -6l-6 6"/>|server: user left
<path class="start" d="M8 14V1l6 3l-6 3"/>|server started
<path class="kill" d="M11 2l5 5l-5 5l-5 -5z"/>|proxy idle kill
<circle class="r-connect_timeout" cx="11" cy="7" r="2.6"/>|attempt failed (colour: reason)
<line class="viol" x1="11" x2="11" y1="0" y2="14"/><circle class="vm" cx="11" cy="5" r="4.5"/>|violation"#;

/// Disconnect reasons and their markers' colours.
const REASONS: [(R, &str); 7] = [
    (R::PingTimeout, "#e8590c"),
    (R::ServerSilent, "#c2255c"),
    (R::ClosedByPeer, "#1c7ed6"),
    (R::Reset, "#0c8599"),
    (R::ConnectTimeout, "#7048e8"),
    (R::ConnectFailed, "#868e96"),
    (R::ClientClosed, "#212529"),
];

/// Fault kinds and their windows' colours.
const FAULTS: [(&str, &str); 9] = [
    ("partition", "#7c3aed"),
    ("one_way", "#a21caf"),
    ("state_loss", "#4338ca"),
    ("latency", "#0284c7"),
    ("crash", "#57534e"),
    ("sleep", "#4d7c0f"),
    ("proxy_conn", "#db2777"),
    ("clock_step", "#0d9488"),
    ("clock_drift", "#0d9488"),
];

/// Message events, each drawn as marks in its own lane (offset from the row's top).
const MESSAGES: [(&str, f64); 4] = [
    ("message_sent", 2.0),
    ("message_buffered", 2.0),
    ("message_acked", 5.5),
    ("message_received", 10.5),
];

/// Escapes text for HTML and XML.
fn esc(s: &str) -> String {
    crate::report::escape(s)
}

/// Seconds with milliseconds, as in the text timeline.
fn secs(t: Duration) -> String {
    format!("{}.{:03} s", t.as_secs(), t.subsec_millis())
}

/// Hover text of a span: its first event's line and its last one's.
fn span_title(from: &Event, to: Option<&Event>) -> String {
    let until = to.map_or_else(|| "(no end event)".to_string(), text_line);
    format!("{}\n{until}", text_line(from))
}

/// SVG markup being written, on a time scale of `end` seconds across the chart.
struct Svg {
    out: String,
    end: f64,
}

impl Svg {
    fn new(end: f64) -> Self {
        Svg {
            out: String::new(),
            end,
        }
    }

    /// The x of simulated time `t`.
    fn x(&self, t: Duration) -> f64 {
        LABEL_W + CHART_W * (t.as_secs_f64() / self.end).clamp(0.0, 1.0)
    }

    /// `<tag class=… attrs/>`, with a hover `<title>` unless `title` is empty.
    fn el(&mut self, tag: &str, class: &str, attrs: &str, title: &str) {
        let _ = write!(self.out, "<{tag} class=\"{class}\" {attrs}");
        if title.is_empty() {
            self.out.push_str("/>\n");
        } else {
            let _ = writeln!(self.out, "><title>{}</title></{tag}>", esc(title));
        }
    }

    fn rect(&mut self, class: &str, (x0, x1): (f64, f64), y: f64, h: f64, title: &str) {
        let w = (x1 - x0).max(1.0);
        let a = format!("x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\"");
        self.el("rect", class, &a, title);
    }

    /// A bar from `t0` to `t1`.
    fn span(&mut self, class: &str, t0: Duration, t1: Duration, y: f64, h: f64, title: &str) {
        self.rect(class, (self.x(t0), self.x(t1)), y, h, title);
    }

    fn line(&mut self, class: &str, (x0, y0): (f64, f64), (x1, y1): (f64, f64), title: &str) {
        let a = format!("x1=\"{x0:.1}\" y1=\"{y0:.1}\" x2=\"{x1:.1}\" y2=\"{y1:.1}\"");
        self.el("line", class, &a, title);
    }

    fn path(&mut self, class: &str, d: &str, title: &str) {
        self.el("path", class, &format!("d=\"{d}\""), title);
    }

    fn circle(&mut self, class: &str, (x, y): (f64, f64), r: f64, title: &str) {
        let a = format!("cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r}\"");
        self.el("circle", class, &a, title);
    }

    fn text(&mut self, class: &str, (x, y): (f64, f64), anchor: &str, text: &str) {
        let a = format!("x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\"");
        let _ = writeln!(self.out, "<text class=\"{class}\" {a}>{}</text>", esc(text));
    }
}

/// A fault window: its `fault_start` and matching `fault_end`.
struct Fault<'a> {
    start: &'a Event,
    end: Option<&'a Event>,
    id: u32,
    desc: &'a F,
}

impl Fault<'_> {
    fn label(&self) -> String {
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
    fn delay(&self) -> String {
        match self.desc {
            F::ProxyConn { delay_ms, .. } if *delay_ms > 0 => format!(" {delay_ms} ms"),
            _ => String::new(),
        }
    }

    /// When the window closes: its end, its start if instantaneous, else the end of the run.
    fn until(&self, end: Duration) -> Duration {
        match self.end {
            Some(e) => e.t,
            None if self.desc.duration().is_zero() => self.start.t,
            None => end,
        }
    }

    /// Whether the fault is aimed at a row's host or client.
    fn hits(&self, row: &Row<'_>) -> bool {
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
enum Row<'a> {
    Server,
    Proxy,
    /// A client host and its clients.
    Host(&'a str, &'a [&'a str]),
    /// A client, on its host.
    Client(&'a str, &'a str),
}

/// The events sorted into what the page draws.
#[derive(Default)]
struct Model<'a> {
    /// Client hosts in order of appearance, each with its clients in natural order.
    hosts: Vec<(&'a str, Vec<&'a str>)>,
    by_client: BTreeMap<&'a str, Vec<&'a Event>>,
    server: Vec<&'a Event>,
    proxy: Vec<&'a Event>,
    faults: Vec<Fault<'a>>,
    violations: Vec<&'a Event>,
}

/// Sort key that puts `web-2` before `web-10`.
fn natural(s: &str) -> (&str, u64, &str) {
    let head = s.trim_end_matches(|c: char| c.is_ascii_digit());
    (head, s[head.len()..].parse().unwrap_or(0), s)
}

impl<'a> Model<'a> {
    fn new(events: &'a [Event]) -> Self {
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
            match e.host.as_str() {
                "server" => m.server.push(e),
                "proxy" => m.proxy.push(e),
                _ => {}
            }
            let Some(c) = e.kind.client() else { continue };
            m.by_client.entry(c).or_default().push(e);
            if !matches!(e.host.as_str(), "server" | "proxy" | "sim" | "check") {
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
    fn crashes(&self, host: &str) -> Vec<Delta> {
        let crash = |f: &&Fault<'_>| matches!(f.desc, F::Crash { host: h, .. } if h == host);
        let crashes = self.faults.iter().filter(crash);
        crashes.map(|f| (f.start.t, None)).collect()
    }
}

/// A span of a row: its opening event, its closing one, and when it ends.
type Span<'a> = (&'a Event, Option<&'a Event>, Duration);

/// Spans of `evs` from an event named in `opens` to the next named in `shuts`, or to the first
/// of `cuts` after its start, or to `end`.
fn spans<'a>(
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
fn links<'a>(evs: &[&'a Event], end: Duration) -> Vec<Span<'a>> {
    spans(evs, &[], end, &["connected"], &["disconnected", "gave_up"])
}

/// Message marks of one kind on one row, merged per 2 px cell.
#[derive(Default)]
struct Dots {
    cells: BTreeSet<i64>,
    n: usize,
    first: Duration,
    last: Duration,
}

impl Dots {
    fn add(&mut self, x: f64, t: Duration) {
        self.first = if self.n == 0 { t } else { self.first };
        (self.n, self.last) = (self.n + 1, t);
        self.cells.insert((x / 2.0).floor() as i64);
    }

    fn draw(&self, svg: &mut Svg, lane: usize, y: f64, client: &str) {
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

/// One client's row: the server's view (present, away) behind the client's (connected,
/// attempts, backoff waits), its messages, and markers on top.
fn client_row(svg: &mut Svg, y: f64, name: &str, evs: &[&Event], cuts: &[Duration]) {
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
    let mut dots: [Dots; 4] = Default::default();
    for e in evs {
        if let Some(i) = MESSAGES.iter().position(|m| m.0 == e.kind.name()) {
            dots[i].add(svg.x(e.t), e.t);
        }
    }
    for (i, d) in dots.iter().enumerate().filter(|d| d.1.n > 0) {
        d.draw(svg, i, y + MESSAGES[i].1, name);
    }
    let mut connected = false;
    for &e in evs {
        let (x, t) = (svg.x(e.t), || text_line(e));
        match &e.kind {
            K::ReconnectScheduled { delay_ms, .. } => {
                let x1 = svg.x(e.t + Duration::from_millis(*delay_ms));
                svg.line("wait", (x, mid), (x1, mid), &t());
            }
            K::Connecting { .. } => svg.line("tick", (x, y + 4.0), (x, y + 12.0), &t()),
            K::Connected { .. } => connected = true,
            K::Disconnected { reason, .. } if std::mem::take(&mut connected) => {
                let d = format!("M{:.1} {:.1}h10l-5 9z", x - 5.0, y + 3.0);
                svg.path(&format!("r-{} dis", reason.as_str()), &d, &t());
            }
            K::Disconnected { reason, .. } => {
                svg.circle(&format!("r-{}", reason.as_str()), (x, mid), 2.6, &t());
            }
            K::GaveUp { .. } => {
                let d = format!("M{:.1} {:.1}l8 8m0 -8l-8 8", x - 4.0, y + 4.0);
                svg.path("gave", &d, &t());
            }
            K::Resumed { recovered, .. } if !recovered => svg.circle("ring", (x, mid), 3.2, &t()),
            K::UserLeft { .. } => {
                let d = format!("M{:.1} {:.1}l6 6m0 -6l-6 6", x - 3.0, y + 11.0);
                svg.path("left", &d, &t());
            }
            K::IdleKill { .. } => {
                let d = format!("M{x:.1} {:.1}l4 4l-4 4l-4 -4z", y + 4.0);
                svg.path("kill", &d, &t());
            }
            _ => {}
        }
    }
}

/// A change of a count: +1/-1 at a time, or `None` to reset it to 0.
type Delta = (Duration, Option<i64>);

/// A step chart of a running count (+1/-1 at a time; `None` resets it to 0).
fn count_row(svg: &mut Svg, y: f64, mut deltas: Vec<Delta>, class: &str, what: &str) {
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
struct Label {
    lane: usize,
    x: f64,
    anchor: &'static str,
    inside: bool,
}

fn place(lanes: &mut Vec<f64>, (x0, x1): (f64, f64), gap: f64, text: &str) -> Label {
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

/// A self-contained HTML page (inline CSS + inline SVG, no scripts loaded from anywhere, no
/// external resources) showing a run's timeline as swimlanes.
pub(crate) fn timeline_html(
    title: &str,
    subtitle: &str,
    events: &[Event],
    end: Duration,
) -> String {
    let end = events.iter().map(|e| e.t).fold(end, Duration::max);
    let end = end.max(Duration::from_millis(1));
    let m = Model::new(events);
    let mut svg = Svg::new(end.as_secs_f64());

    // Label lanes above the rows: fault windows, then violations (one mark per check and time).
    let mut lanes = Vec::new();
    let mut faults = Vec::new();
    for f in &m.faults {
        let (xs, label) = ((svg.x(f.start.t), svg.x(f.until(end))), f.label());
        faults.push((f, xs, place(&mut lanes, xs, 5.0, &label), label));
    }
    let fault_lanes = lanes.len() as f64;
    let mut groups: Vec<(&str, f64, Vec<&Event>)> = Vec::new();
    for v in &m.violations {
        let (K::Violation { check, .. }, x) = (&v.kind, svg.x(v.t)) else {
            continue;
        };
        let same = |g: &&mut (&str, f64, Vec<&Event>)| g.0 == *check && (g.1 - x).abs() < 3.0;
        match groups.iter_mut().find(same) {
            Some(g) => g.2.push(v),
            None => groups.push((check, x, vec![v])),
        }
    }
    let mut lanes = Vec::new();
    let mut marks = Vec::new();
    for (check, x, vs) in groups {
        let label = match vs.len() {
            1 => check.to_string(),
            n => format!("{check} ×{n}"),
        };
        let title: Vec<String> = vs.iter().map(|v| text_line(v)).collect();
        let at = place(&mut lanes, (x - 6.0, x + 6.0), 4.0, &label);
        marks.push((x, at, label, title));
    }
    let lanes_top = AXIS_H + 4.0;
    let viol_top = lanes_top + fault_lanes * LANE_H;
    let top = viol_top + lanes.len() as f64 * LANE_H + 4.0;

    let mut rows = vec![(top, SUM_H, Row::Server), (top + SUM_H, SUM_H, Row::Proxy)];
    let mut y = top + 2.0 * SUM_H;
    for (h, cs) in &m.hosts {
        rows.push((y, SUM_H, Row::Host(h, cs)));
        y += SUM_H;
        for c in cs {
            rows.push((y, ROW_H, Row::Client(h, c)));
            y += ROW_H;
        }
    }
    let (bottom, w) = (y, RIGHT + 12.0);
    let h = bottom + AXIS_H + 4.0;
    let _ = writeln!(
        svg.out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#
    );
    labels(&mut svg, &m, &rows);
    axis(&mut svg, bottom);

    // Marks on top of the rows.
    let mut late = Svg::new(svg.end);
    // Fault windows: faint across every row, stronger on the rows they aim at, labelled above.
    for (f, (x0, x1), at, label) in &faults {
        let class = format!("f-{}", f.desc.name());
        let title = span_title(f.start, f.end);
        let ly = lanes_top + at.lane as f64 * LANE_H;
        // An instant (a clock step, a reset): a dashed line, and a stroke on the rows it hits.
        let instant = x1 - x0 < 1.0;
        let (hit, xs) = match instant {
            true => (class.clone(), (x0 - 1.5, x0 + 1.5)),
            false => (format!("{class} fh"), (*x0, *x1)),
        };
        if instant {
            let line = format!("{class} fl");
            svg.line(&line, (*x0, ly + 2.0), (*x0, bottom), &title);
        } else {
            svg.rect(&format!("{class} fw"), xs, top, bottom - top, "");
            svg.rect(&class, xs, ly + 2.0, 12.0, &title);
        }
        let mut run: Option<(f64, f64)> = None;
        let hits = rows.iter().map(|r| (r.0, r.1, f.hits(&r.2)));
        let to = if instant { &mut late } else { &mut svg };
        for (y, h, on) in hits.chain([(bottom, 0.0, false)]) {
            if on {
                run = Some((run.map_or(y, |r| r.0), y + h));
            } else if let Some((a, b)) = run.take() {
                to.rect(&hit, xs, a, b - a, &title);
            }
        }
        let class = if at.inside { "w" } else { &class };
        svg.text(class, (at.x, ly + 12.0), at.anchor, label);
    }

    let server_crashes: Vec<Duration> = m.crashes("server").iter().map(|c| c.0).collect();
    for (y, _, row) in &rows {
        match row {
            Row::Client(_, c) => {
                let evs = m.by_client.get(c).map_or(&[][..], |v| v);
                client_row(&mut svg, *y, c, evs, &server_crashes);
            }
            Row::Server => server_row(&mut svg, *y, &m),
            Row::Proxy => proxy_row(&mut svg, *y, &m),
            Row::Host(h, clients) => {
                let mut d = Vec::new();
                for evs in clients.iter().filter_map(|c| m.by_client.get(c)) {
                    for (from, to, until) in links(evs, end) {
                        d.push((from.t, Some(1)));
                        d.extend(to.map(|_| (until, Some(-1))));
                    }
                }
                count_row(&mut svg, *y, d, "up", &format!("clients on {h} connected"));
            }
        }
    }

    svg.out.push_str(&late.out);
    // Violations: a red line through every row and a marker with the check's name.
    for (x, at, label, title) in &marks {
        let (ly, title) = (viol_top + at.lane as f64 * LANE_H + 8.0, title.join("\n"));
        svg.line("viol", (*x, ly), (*x, bottom), &title);
        svg.circle("vm", (*x, ly), 5.5, &title);
        svg.text("bad", (at.x, ly + 4.0), at.anchor, label);
    }
    svg.out.push_str("</svg>\n");
    page(title, subtitle, events.len(), end, &m, &svg.out)
}

/// Row backgrounds and the label column; a client named in a violation is labelled in red.
fn labels(svg: &mut Svg, m: &Model<'_>, rows: &[(f64, f64, Row<'_>)]) {
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
fn axis(svg: &mut Svg, bottom: f64) {
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
fn server_row(svg: &mut Svg, y: f64, m: &Model<'_>) {
    let mut d = m.crashes("server");
    for e in &m.server {
        match e.kind {
            K::SessionOpened { .. } => d.push((e.t, Some(1))),
            K::SessionClosed { .. } => d.push((e.t, Some(-1))),
            K::ServerStarted { .. } => d.push((e.t, None)),
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
fn proxy_row(svg: &mut Svg, y: f64, m: &Model<'_>) {
    let mut d = m.crashes("proxy");
    for e in &m.proxy {
        match e.kind {
            K::ProxyConnOpened { .. } => d.push((e.t, Some(1))),
            K::ProxyConnClosed { .. } => d.push((e.t, Some(-1))),
            _ => {}
        }
    }
    count_row(svg, y, d, "conns", "connections open through the proxy");
    for e in m.proxy.iter().filter(|e| e.kind.name() == "idle_kill") {
        let d = format!("M{:.1} {:.1}l5 5l-5 5l-5 -5z", svg.x(e.t), y + 10.0);
        svg.path("kill", &d, &text_line(e));
    }
}

/// The page around the chart: heading, legend, chart, then the violations and faults tables.
fn page(title: &str, subtitle: &str, n: usize, end: Duration, m: &Model<'_>, svg: &str) -> String {
    let (title, subtitle, end) = (esc(title), esc(subtitle), secs(end));
    let mut css = STYLE.to_string();
    for (r, color) in REASONS {
        let _ = write!(css, "\n.r-{}{{fill:{color}}}", r.as_str());
    }
    for (k, color) in FAULTS {
        let _ = write!(css, "\n.f-{k}{{fill:{color}}}line.f-{k}{{stroke:{color}}}");
    }
    let status = match () {
        () if subtitle.starts_with("PASS") => " pass",
        () if subtitle.starts_with("FAIL") => " fail",
        () => "",
    };
    let clients: usize = m.hosts.iter().map(|h| h.1.len()).sum();
    let hosts = match m.hosts.len() {
        1 => "1 host".to_string(),
        n => format!("{n} hosts"),
    };
    let (faults, violations) = (m.faults.len(), m.violations.len());
    let mut out = format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
{css}
svg text.w{{fill:#fff}}
</style>
</head>
<body>
<h1>{title}</h1>
<div class="sub{status}">{subtitle}</div>
<p class="meta">{clients} clients on {hosts} · {end} simulated · {n} events · {faults} faults · {violations} violations · hover over a mark for its event</p>
<div class="legend">
"#
    );
    let mut legend: Vec<(String, String)> = LEGEND
        .lines()
        .filter_map(|l| l.split_once('|'))
        .map(|(s, l)| (s.to_string(), l.to_string()))
        .collect();
    let lost = REASONS.iter().map(|(r, _)| {
        let swatch = format!("<path class=\"r-{} dis\" d=\"M6 2h10l-5 9z\"/>", r.as_str());
        (swatch, format!("link lost: {}", r.as_str()))
    });
    legend.splice(5..5, lost);
    let kinds: BTreeSet<&str> = m.faults.iter().map(|f| f.desc.name()).collect();
    for k in kinds {
        let swatch = format!("<rect class=\"f-{k} fh\" width=\"22\" height=\"14\"/><rect class=\"f-{k}\" width=\"22\" height=\"4\"/>");
        legend.push((swatch, format!("fault: {k}")));
    }
    for (swatch, label) in legend {
        let label = esc(&label);
        let _ = writeln!(
            out,
            r#"<span><svg width="22" height="14">{swatch}</svg>{label}</span>"#
        );
    }
    let _ = writeln!(out, "</div>\n<div class=\"chart\">\n{svg}</div>");
    if !m.violations.is_empty() {
        out.push_str(
            "<h2>Violations</h2>\n<table>\n<tr><th>time</th><th>check</th><th>detail</th></tr>\n",
        );
        for v in &m.violations {
            let K::Violation { check, detail } = &v.kind else {
                continue;
            };
            let (t, check, detail) = (secs(v.t), esc(check), esc(detail));
            let _ = writeln!(
                out,
                r#"<tr><td class="t">{t}</td><td class="bad">{check}</td><td>{detail}</td></tr>"#
            );
        }
        out.push_str("</table>\n");
    }
    if !m.faults.is_empty() {
        out.push_str(
            "<h2>Faults</h2>\n<table>\n<tr><th>start</th><th>end</th><th>fault</th></tr>\n",
        );
        for f in &m.faults {
            let (t, what) = (secs(f.start.t), esc(fields_text(f.start).trim_start()));
            let until = f.end.map_or_else(|| "—".to_string(), |e| secs(e.t));
            let _ = writeln!(
                out,
                r#"<tr><td class="t">{t}</td><td class="t">{until}</td><td>{what}</td></tr>"#
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ms: u64, host: &str, kind: K) -> Event {
        let (t, host) = (Duration::from_millis(ms), host.to_string());
        Event { t, host, kind }
    }

    /// web-0 connected 10–30 s, a partition 15–25 s, a violation at 40 s; 100 s in all.
    fn events() -> Vec<Event> {
        let (c, a, b) = (
            "web-0".to_string(),
            "clients-1".to_string(),
            "proxy".to_string(),
        );
        let fault = F::Partition {
            a,
            b,
            duration_ms: 10_000,
        };
        let detail = "web-0 <late> & \"slow\"".to_string();
        vec![
            ev(
                10_000,
                "clients-1",
                K::Connected {
                    client: c.clone(),
                    attempt: 1,
                },
            ),
            ev(15_000, "sim", K::FaultStart { id: 0, fault }),
            ev(
                25_000,
                "sim",
                K::FaultEnd {
                    id: 0,
                    fault: "partition",
                },
            ),
            ev(
                30_000,
                "clients-1",
                K::Disconnected {
                    client: c,
                    reason: R::PingTimeout,
                },
            ),
            ev(
                40_000,
                "check",
                K::Violation {
                    check: "detection",
                    detail,
                },
            ),
        ]
    }

    fn line_with<'a>(page: &'a str, needle: &str) -> &'a str {
        page.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle}"))
    }

    #[test]
    fn draws_the_connected_span_the_fault_window_and_the_violation() {
        let page = timeline_html("t", "FAIL: detection", &events(), Duration::from_secs(100));
        // 1400 px for 100 s, after the 140 px label column.
        let bar = line_with(&page, "<rect class=\"conn\" x=\"280.0\"");
        assert!(bar.contains("width=\"280.0\""), "{bar}");
        assert!(
            bar.contains("<title>    10.000  clients-1   web-0       connected"),
            "{bar}"
        );
        let window = line_with(&page, "<rect class=\"f-partition fw\"");
        assert!(window.contains("x=\"350.0\" y=") && window.contains("width=\"140.0\""));
        assert!(page.contains(">#0 partition clients-1 ↔ proxy</text>"));
        assert!(page.contains("<path class=\"r-ping_timeout dis\" d=\"M555.0 "));
        assert!(page.contains("<line class=\"viol\" x1=\"700.0\""));
        assert!(page.contains("text-anchor=\"start\">detection</text>"));
        assert!(page.contains("<td>web-0 &lt;late&gt; &amp; &quot;slow&quot;</td>"));
        assert!(!page.contains("<late>"));
        assert!(
            page.contains("<text class=\"bad\" x=\"18.0\""),
            "the client is named in red"
        );
    }

    #[test]
    fn is_self_contained_and_deterministic() {
        let page = timeline_html("a <b>", "PASS", &events(), Duration::from_secs(240));
        assert_eq!(
            page,
            timeline_html("a <b>", "PASS", &events(), Duration::from_secs(240))
        );
        assert!(page.contains("<title>a &lt;b&gt;</title>"));
        let rest = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        for banned in ["<script", "http:", "https:", "url(", "@import"] {
            assert!(!rest.contains(banned), "{banned}");
        }
        assert!(page.contains(">30 s</text>") && page.contains(">240 s</text>"));
        assert!(!page.contains(">10 s</text>"));
    }

    /// Renders real runs to /tmp/wsim-html for a look in a browser.
    #[test]
    #[ignore = "writes pages to /tmp/wsim-html for a person to look at"]
    fn render_real_runs() {
        use crate::scenario::duration::OptDur;
        let dir = std::path::Path::new("/tmp/wsim-html");
        std::fs::create_dir_all(dir).unwrap();
        let load = |name: &str| crate::scenario::load(std::path::Path::new(name)).unwrap();
        for name in [
            "02-partition-60s",
            "07-partition-beyond-grace",
            "09-reconnect-storm",
            "15-flap-within-grace",
            "16-clock-skew-and-step",
            "21-one-connection-faults",
        ] {
            let path = format!("scenarios/{name}.toml");
            let scenario = load(&path);
            let out = crate::sim::run(&scenario, &path, 3);
            let verdict = out.verdict.text().trim().to_string();
            let title = format!("{name} · seed 3");
            let page = timeline_html(&title, &verdict, &out.timeline, scenario.duration.0);
            std::fs::write(dir.join(format!("{}.html", &name[..2])), page).unwrap();
        }
        // A client that never notices a dead link: detection violations.
        let intended = load("scenarios/02-partition-60s.toml");
        let mut broken = intended.clone();
        (broken.client.ping_timeout, broken.client.server_silence) = (OptDur(None), OptDur(None));
        let (checks, timeline) =
            crate::sim::check(&intended, crate::sim::simulate(&broken, 1).events);
        let failed: Vec<_> = checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name)
            .collect();
        let subtitle = format!("FAIL: {}", failed.join(", "));
        let page = timeline_html(
            "02 without ping timeout · seed 1",
            &subtitle,
            &timeline,
            intended.duration.0,
        );
        std::fs::write(dir.join("02-broken.html"), page).unwrap();
    }
}
