//! Placeholder, replaced by the swimlane renderer.

use std::time::Duration;

use crate::event::Event;

/// A self-contained HTML page showing a run's timeline as swimlanes.
#[must_use]
pub fn timeline_html(title: &str, subtitle: &str, events: &[Event], end: Duration) -> String {
    let _ = (events, end);
    format!("<html><body><h1>{title}</h1><p>{subtitle}</p></body></html>")
}
