//! The HTML timeline: one self-contained page (inline CSS and SVG, no scripts, nothing loaded
//! from anywhere) that draws a run's events as swimlanes — a row per client under its host,
//! server and proxy rows, fault windows and violations — so a person can see what happened
//! instead of reading the log. Hovering any mark shows its event's text line.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

use crate::event::{Event, EventKind as K};
use crate::render::{fields_text, text_line};

pub(crate) mod marks;
mod model;
mod rows;
mod style;
mod svg;

use model::*;
use rows::*;
use style::*;
use svg::*;

/// Which time a timeline's stamps are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Clock {
    /// Simulated time.
    Simulated,
    /// Real time (`wsim drive`).
    Real,
}

/// A self-contained HTML page (inline CSS + inline SVG, no scripts loaded from anywhere, no
/// external resources) showing a run's timeline as swimlanes; its events are stamped with
/// `clock`. `traffic` draws the message traffic (`events` may leave it out).
pub(crate) fn timeline_html(
    title: &str,
    subtitle: &str,
    events: &[Event],
    traffic: &marks::TrafficMarks,
    end: Duration,
    clock: Clock,
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
                client_row(&mut svg, *y, c, evs, traffic, &server_crashes);
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
    page(title, subtitle, events.len(), (end, clock), &m, &svg.out)
}

/// The page around the chart: heading, legend, chart, then the violations and faults tables.
fn page(
    title: &str,
    subtitle: &str,
    n: usize,
    (end, clock): (Duration, Clock),
    m: &Model<'_>,
    svg: &str,
) -> String {
    let (title, subtitle, end) = (esc(title), esc(subtitle), secs(end));
    let time = match clock {
        Clock::Simulated => "simulated",
        Clock::Real => "of real time",
    };
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
<p class="meta">{clients} clients on {hosts} · {end} {time} · {n} events · {faults} faults · {violations} violations · hover over a mark for its event</p>
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
    use crate::event::{ClientEvent, DisconnectReason as R, FaultDesc as F};

    fn ev(ms: u64, host: &str, kind: K) -> Event {
        let (t, host) = (Duration::from_millis(ms), host.to_string());
        Event {
            t,
            host: host.into(),
            kind,
        }
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
                K::Client {
                    client: c.clone(),
                    event: ClientEvent::Connected { attempt: 1 },
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
                K::Client {
                    client: c,
                    event: ClientEvent::Disconnected {
                        reason: R::PingTimeout,
                    },
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
        let page = timeline_html(
            "t",
            "FAIL: detection",
            &events(),
            &marks::TrafficMarks::of(&events(), Duration::from_secs(100)),
            Duration::from_secs(100),
            Clock::Simulated,
        );
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
        let page = timeline_html(
            "a <b>",
            "PASS",
            &events(),
            &marks::TrafficMarks::of(&events(), Duration::from_secs(240)),
            Duration::from_secs(240),
            Clock::Simulated,
        );
        assert_eq!(
            page,
            timeline_html(
                "a <b>",
                "PASS",
                &events(),
                &marks::TrafficMarks::of(&events(), Duration::from_secs(240)),
                Duration::from_secs(240),
                Clock::Simulated
            )
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
            let out = crate::judge::Run::new(&scenario, 3).named(&path).judge();
            let verdict = out.verdict.text().trim().to_string();
            let title = format!("{name} · seed 3");
            let page = timeline_html(
                &title,
                &verdict,
                &out.timeline,
                &marks::TrafficMarks::of(&out.timeline, scenario.duration.0),
                scenario.duration.0,
                Clock::Simulated,
            );
            std::fs::write(dir.join(format!("{}.html", &name[..2])), page).unwrap();
        }
        // A client that never notices a dead link: detection violations.
        let intended = load("scenarios/02-partition-60s.toml");
        let mut broken = intended.clone();
        (broken.client.ping_timeout, broken.client.server_silence) = (OptDur(None), OptDur(None));
        let (checks, timeline) = crate::judge::check(
            &intended,
            crate::judge::Run::new(&broken, 1).simulate().events,
        );
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
            &marks::TrafficMarks::of(&timeline, intended.duration.0),
            intended.duration.0,
            Clock::Simulated,
        );
        std::fs::write(dir.join("02-broken.html"), page).unwrap();
    }
}
