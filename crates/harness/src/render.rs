//! Renders events as the two stable output formats: aligned text lines and JSON Lines.

use std::fmt::Write as _;

use serde_json::Value;

use crate::event::Event;

/// Width of the host column in text timelines.
const HOST_WIDTH: usize = 10;
/// Width of the client column in text timelines.
const CLIENT_WIDTH: usize = 10;
/// Width of the event-name column in text timelines.
const EVENT_WIDTH: usize = 19;

/// One event as a JSON object on one line (no trailing newline).
#[must_use]
pub fn json_line(event: &Event) -> String {
    serde_json::to_string(event).expect("events always serialize")
}

/// One event as an aligned text line: `seconds  host  client  event  key=value...`.
#[must_use]
pub fn text_line(event: &Event) -> String {
    let ms = event.t_ms();
    let mut line = format!(
        "{:>6}.{:03}  {:<hw$}  {:<cw$}  {:<ew$}",
        ms / 1000,
        ms % 1000,
        event.host,
        event.kind.client().unwrap_or("-"),
        event.kind.name(),
        hw = HOST_WIDTH,
        cw = CLIENT_WIDTH,
        ew = EVENT_WIDTH,
    );
    line.push_str(&fields_text(event));
    line.truncate(line.trim_end().len());
    line
}

/// The event's fields (all but `event`, and `client` when it has the client column) as
/// ` key=value` pairs in contract order.
#[must_use]
pub fn fields_text(event: &Event) -> String {
    let mut out = String::new();
    let client_column = event.kind.client().is_some();
    if let Ok(Value::Object(map)) = serde_json::to_value(&event.kind) {
        for (k, v) in &map {
            if k == "event" || (k == "client" && client_column) {
                continue;
            }
            let _ = write!(out, " {k}={}", value_text(v));
        }
    }
    out
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) if !s.is_empty() && !s.contains([' ', '"', '=']) => s.clone(),
        other => other.to_string(),
    }
}

/// Milliseconds as seconds with one decimal, or `-`.
#[must_use]
pub fn secs(ms: Option<u64>) -> String {
    ms.map_or_else(|| "-".into(), |ms| format!("{:.1}s", ms as f64 / 1000.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ClientEvent, DisconnectReason, EventKind};
    use std::time::Duration;

    #[test]
    fn text_line_is_aligned_and_has_fields_in_order() {
        let ev = Event {
            t: Duration::from_millis(61_234),
            host: "clients-1".into(),
            kind: EventKind::Client {
                client: "web-0".into(),
                event: ClientEvent::Reconnecting {
                    attempt: 2,
                    delay: Duration::from_secs(1),
                },
            },
        };
        assert_eq!(
            text_line(&ev),
            "    61.234  clients-1   web-0       reconnect_scheduled attempt=2 delay_ms=1000"
        );
    }

    #[test]
    fn strings_with_spaces_are_quoted() {
        let ev = Event {
            t: Duration::ZERO,
            host: "check".into(),
            kind: EventKind::Violation {
                check: "detection",
                detail: "not detected".into(),
            },
        };
        assert!(text_line(&ev).ends_with("check=detection detail=\"not detected\""));
        let ev = Event {
            t: Duration::ZERO,
            host: "c".into(),
            kind: EventKind::Client {
                client: "x".into(),
                event: ClientEvent::Disconnected {
                    reason: DisconnectReason::Reset,
                },
            },
        };
        assert!(text_line(&ev).ends_with("disconnected        reason=reset"));
    }
}
