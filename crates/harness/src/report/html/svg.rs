//! Writing SVG markup on the page's time scale: rectangles, lines, marks and text, each with
//! an optional hover title.

use std::fmt::Write as _;
use std::time::Duration;

use crate::event::Event;
use crate::render::text_line;

use super::style::*;

/// Escapes text for HTML and XML.
pub(super) fn esc(s: &str) -> String {
    crate::report::escape(s)
}

/// Seconds with milliseconds, as in the text timeline.
pub(super) fn secs(t: Duration) -> String {
    format!("{}.{:03} s", t.as_secs(), t.subsec_millis())
}

/// Hover text of a span: its first event's line and its last one's.
pub(super) fn span_title(from: &Event, to: Option<&Event>) -> String {
    let until = to.map_or_else(|| "(no end event)".to_string(), text_line);
    format!("{}\n{until}", text_line(from))
}

/// SVG markup being written, on a time scale of `end` seconds across the chart.
pub(super) struct Svg {
    pub(super) out: String,
    pub(super) end: f64,
}

impl Svg {
    pub(super) fn new(end: f64) -> Self {
        Svg {
            out: String::new(),
            end,
        }
    }

    /// The x of simulated time `t`.
    pub(super) fn x(&self, t: Duration) -> f64 {
        LABEL_W + CHART_W * (t.as_secs_f64() / self.end).clamp(0.0, 1.0)
    }

    /// `<tag class=… attrs/>`, with a hover `<title>` unless `title` is empty.
    pub(super) fn el(&mut self, tag: &str, class: &str, attrs: &str, title: &str) {
        let _ = write!(self.out, "<{tag} class=\"{class}\" {attrs}");
        if title.is_empty() {
            self.out.push_str("/>\n");
        } else {
            let _ = writeln!(self.out, "><title>{}</title></{tag}>", esc(title));
        }
    }

    pub(super) fn rect(&mut self, class: &str, (x0, x1): (f64, f64), y: f64, h: f64, title: &str) {
        let w = (x1 - x0).max(1.0);
        let a = format!("x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\"");
        self.el("rect", class, &a, title);
    }

    /// A bar from `t0` to `t1`.
    pub(super) fn span(
        &mut self,
        class: &str,
        t0: Duration,
        t1: Duration,
        y: f64,
        h: f64,
        title: &str,
    ) {
        self.rect(class, (self.x(t0), self.x(t1)), y, h, title);
    }

    pub(super) fn line(
        &mut self,
        class: &str,
        (x0, y0): (f64, f64),
        (x1, y1): (f64, f64),
        title: &str,
    ) {
        let a = format!("x1=\"{x0:.1}\" y1=\"{y0:.1}\" x2=\"{x1:.1}\" y2=\"{y1:.1}\"");
        self.el("line", class, &a, title);
    }

    pub(super) fn path(&mut self, class: &str, d: &str, title: &str) {
        self.el("path", class, &format!("d=\"{d}\""), title);
    }

    pub(super) fn circle(&mut self, class: &str, (x, y): (f64, f64), r: f64, title: &str) {
        let a = format!("cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r}\"");
        self.el("circle", class, &a, title);
    }

    pub(super) fn text(&mut self, class: &str, (x, y): (f64, f64), anchor: &str, text: &str) {
        let a = format!("x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\"");
        let _ = writeln!(self.out, "<text class=\"{class}\" {a}>{}</text>", esc(text));
    }
}
