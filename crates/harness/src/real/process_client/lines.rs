//! A client process's output, line by line: each line held up to a limit, checked against
//! docs/client-protocol.md and turned into a client event for the timeline, or a problem named
//! with the process and the line number.

use std::rc::Rc;
use std::time::Duration;

use serde_json::Value;
use wsim_client::{ClientEvent, DisconnectReason, PresenceKind};
use wsim_proto::EventSink;

use super::Status;

/// The longest line a process may write, in bytes. A longer one is not held: it is passed
/// on cut to this length, so it fails as not JSON, named with its number.
pub(super) const LINE_MAX: usize = 64 * 1024;

/// The next line of `from` (without its newline), at most `max` bytes of it kept — the rest
/// of a longer line is read and dropped, so a process cannot make the run hold more; `None`
/// at the end of the output.
pub(super) fn read_line(
    from: &mut impl std::io::BufRead,
    max: usize,
) -> std::io::Result<Option<String>> {
    let mut line = Vec::new();
    let mut read_any = false;
    loop {
        let buf = from.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        read_any = true;
        let (part, ended) = match buf.iter().position(|b| *b == b'\n') {
            Some(at) => (&buf[..at], Some(at + 1)),
            None => (buf, None),
        };
        let room = max.saturating_sub(line.len());
        line.extend_from_slice(&part[..part.len().min(room)]);
        let used = ended.unwrap_or(buf.len());
        from.consume(used);
        if ended.is_some() {
            break;
        }
    }
    if !read_any {
        return Ok(None);
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(String::from_utf8_lossy(&line).into_owned()))
}

/// A process's output being read: each line checked and turned into a client event.
pub(super) struct Lines {
    id: String,
    sink: EventSink<ClientEvent>,
    status: Rc<Status>,
    /// Connection attempts, and welcomes, it reported.
    attempts: u32,
    welcomes: u32,
}

impl Lines {
    pub(super) fn new(id: &str, sink: EventSink<ClientEvent>, status: Rc<Status>) -> Self {
        Lines {
            id: id.to_string(),
            sink,
            status,
            attempts: 0,
            welcomes: 0,
        }
    }

    /// Takes line `line`: its event goes to the timeline, or the problem is said.
    pub(super) fn take(&mut self, line: &str) -> Result<(), String> {
        let n = self.status.lines.get() + 1;
        self.status.lines.set(n);
        if line.trim().is_empty() {
            return Ok(());
        }
        let shown: String = line.chars().take(120).collect();
        let bad = |why: String| {
            format!(
                "the client process of {}, line {}: {why}: {shown}",
                self.id, n
            )
        };
        let value: Value =
            serde_json::from_str(line).map_err(|e| bad(format!("not JSON ({e})")))?;
        match parse(&value, self.attempts) {
            Ok(Parsed::Log) => Ok(()),
            Ok(Parsed::Event(event)) => {
                if self.status.closing.get() {
                    return Ok(());
                }
                match &event {
                    ClientEvent::Connecting { .. } => self.attempts += 1,
                    ClientEvent::Connected { .. } => self.status.connected.set(true),
                    ClientEvent::Disconnected { .. } => self.status.connected.set(false),
                    ClientEvent::Resumed { .. } => self.status.welcomed.set(true),
                    _ => {}
                }
                self.sink.emit(event);
                Ok(())
            }
            Ok(Parsed::Welcome {
                recovered,
                replayed,
            }) => {
                self.status.welcomed.set(true);
                self.welcomes += 1;
                if self.welcomes > 1 && !self.status.closing.get() {
                    self.sink.emit(ClientEvent::Resumed {
                        recovered,
                        replayed,
                    });
                }
                Ok(())
            }
            Err(why) => Err(bad(why)),
        }
    }
}

/// What one line says.
#[derive(Debug, PartialEq)]
enum Parsed {
    /// A client event for the timeline.
    Event(ClientEvent),
    /// A server's welcome (a resume if it is not the first).
    Welcome { recovered: bool, replayed: u64 },
    /// A line for people only.
    Log,
}

/// The event a line's JSON `value` names (`attempts`: the connection attempts it reported
/// before).
fn parse(value: &Value, attempts: u32) -> Result<Parsed, String> {
    let name = value
        .get("event")
        .and_then(Value::as_str)
        .ok_or("no \"event\" name")?;
    let text = |field: &str| {
        value
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("event {name} needs a string \"{field}\""))
    };
    let number = |field: &str| {
        value
            .get(field)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("event {name} needs a whole number \"{field}\""))
    };
    let flag = |field: &str| {
        value
            .get(field)
            .and_then(Value::as_bool)
            .ok_or_else(|| format!("event {name} needs a true/false \"{field}\""))
    };
    let event = match name {
        "log" => return Ok(Parsed::Log),
        "connecting" => ClientEvent::Connecting {
            attempt: attempts + 1,
        },
        "connected" => ClientEvent::Connected {
            attempt: attempts.max(1),
        },
        "disconnected" => {
            let reason = text("reason")?;
            let reason = REASONS
                .iter()
                .find(|r| r.as_str() == reason)
                .copied()
                .ok_or_else(|| {
                    let known: Vec<&str> = REASONS.iter().map(|r| r.as_str()).collect();
                    format!("unknown reason {reason:?} (one of {})", known.join(", "))
                })?;
            ClientEvent::Disconnected { reason }
        }
        "reconnecting" => ClientEvent::Reconnecting {
            // Without its own count, every attempt so far: a ceiling never too low.
            attempt: match value.get("attempt") {
                None => attempts + 1,
                Some(_) => u32::try_from(number("attempt")?).unwrap_or(u32::MAX),
            },
            delay: Duration::from_millis(number("delay_ms")?),
        },
        "welcome" => {
            return Ok(Parsed::Welcome {
                recovered: flag("recovered")?,
                replayed: number("replayed")?,
            })
        }
        "resumed" => ClientEvent::Resumed {
            recovered: flag("recovered")?,
            replayed: number("replayed")?,
        },
        "sent" => ClientEvent::MessageSent { msg_id: text("id")? },
        "buffered" => ClientEvent::MessageBuffered {
            msg_id: text("id")?,
            pending: usize::try_from(value.get("pending").and_then(Value::as_u64).unwrap_or(1))
                .unwrap_or(usize::MAX),
        },
        "acked" => ClientEvent::MessageAcked {
            msg_id: text("id")?,
            seq: number("seq")?,
        },
        "received" => ClientEvent::Message {
            msg_id: text("id")?,
            seq: number("seq")?,
            from: text("from")?,
            username: value
                .get("username")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            text: String::new(),
        },
        "presence" => {
            let kind = match text("kind")?.as_str() {
                "user_joined" => PresenceKind::Joined,
                "user_away" => PresenceKind::Away,
                "user_reconnected" => PresenceKind::Reconnected,
                "user_left" => PresenceKind::Left,
                other => {
                    return Err(format!(
                        "unknown presence kind {other:?} (user_joined, user_away, user_reconnected or user_left)"
                    ))
                }
            };
            ClientEvent::Presence {
                kind,
                username: text("username")?,
            }
        }
        other => {
            return Err(format!(
                "unknown event {other:?} (connecting, connected, disconnected, reconnecting, welcome, resumed, sent, buffered, acked, received, presence or log)"
            ))
        }
    };
    Ok(Parsed::Event(event))
}

/// The reasons a `disconnected` line may give.
const REASONS: [DisconnectReason; 7] = [
    DisconnectReason::PingTimeout,
    DisconnectReason::ServerSilent,
    DisconnectReason::ClosedByPeer,
    DisconnectReason::Reset,
    DisconnectReason::ConnectTimeout,
    DisconnectReason::ConnectFailed,
    DisconnectReason::ClientClosed,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(line: &str) -> Result<Parsed, String> {
        parse(&serde_json::from_str(line).expect("JSON"), 1)
    }

    #[test]
    fn every_event_of_the_line_protocol_parses_and_bad_lines_say_why() {
        assert_eq!(
            parsed(r#"{"event":"acked","id":"a:1","seq":4}"#),
            Ok(Parsed::Event(ClientEvent::MessageAcked {
                msg_id: "a:1".into(),
                seq: 4
            }))
        );
        assert_eq!(
            parsed(r#"{"event":"disconnected","reason":"reset"}"#),
            Ok(Parsed::Event(ClientEvent::Disconnected {
                reason: DisconnectReason::Reset
            }))
        );
        assert!(matches!(
            parsed(r#"{"event":"received","id":"b:2","seq":9,"from":"b"}"#),
            Ok(Parsed::Event(ClientEvent::Message { seq: 9, .. }))
        ));
        assert!(matches!(
            parsed(r#"{"event":"presence","kind":"user_away","username":"b"}"#),
            Ok(Parsed::Event(ClientEvent::Presence {
                kind: PresenceKind::Away,
                ..
            }))
        ));
        assert_eq!(
            parsed(r#"{"event":"welcome","recovered":true,"replayed":2}"#),
            Ok(Parsed::Welcome {
                recovered: true,
                replayed: 2
            })
        );
        assert_eq!(
            parsed(r#"{"event":"reconnecting","delay_ms":1500,"attempt":3}"#),
            Ok(Parsed::Event(ClientEvent::Reconnecting {
                attempt: 3,
                delay: Duration::from_millis(1500)
            }))
        );
        assert_eq!(
            parsed(r#"{"event":"reconnecting","delay_ms":20}"#),
            Ok(Parsed::Event(ClientEvent::Reconnecting {
                attempt: 2,
                delay: Duration::from_millis(20)
            }))
        );
        let why = parsed(r#"{"event":"reconnecting","delay_ms":-1}"#).unwrap_err();
        assert!(why.contains("needs a whole number \"delay_ms\""), "{why}");
        assert_eq!(parsed(r#"{"event":"log","text":"hi"}"#), Ok(Parsed::Log));
        let why = parsed(r#"{"event":"acked","id":"a:1"}"#).unwrap_err();
        assert!(why.contains("needs a whole number \"seq\""), "{why}");
        let why = parsed(r#"{"event":"teleported"}"#).unwrap_err();
        assert!(why.contains("unknown event \"teleported\""), "{why}");
        let why = parsed(r#"{"event":"disconnected","reason":"tired"}"#).unwrap_err();
        assert!(why.contains("unknown reason \"tired\""), "{why}");
        assert!(parsed(r#"{"no":"event"}"#).is_err());
    }

    #[test]
    fn a_line_that_is_not_json_is_named_with_its_number() {
        let mut lines = Lines::new("c-1", EventSink::discard(), Rc::default());
        assert!(lines.take(r#"{"event":"connecting"}"#).is_ok());
        let why = lines.take("hello there").unwrap_err();
        assert!(
            why.starts_with("the client process of c-1, line 2: not JSON")
                && why.ends_with("hello there"),
            "{why}"
        );
        assert!(lines
            .take(r#"{"event":"welcome","recovered":false,"replayed":0}"#)
            .is_ok());
        assert!(lines.status.welcomed.get());
    }

    #[test]
    fn a_line_is_held_only_up_to_its_limit_and_the_next_line_is_whole() {
        let long = "x".repeat(100);
        let input = format!("{long}\nshort\r\nlast");
        let mut from = std::io::BufReader::with_capacity(7, input.as_bytes());
        let got: Vec<String> =
            std::iter::from_fn(|| read_line(&mut from, 10).expect("read")).collect();
        assert_eq!(got, ["x".repeat(10), "short".into(), "last".into()]);
        let mut empty = std::io::BufReader::new(&b""[..]);
        assert_eq!(read_line(&mut empty, 10).expect("read"), None);
    }

    /// The run's close ends an up link at once; what the process says after is checked
    /// but not recorded.
    #[test]
    fn the_runs_close_is_the_clients_and_its_wind_down_is_not_recorded() {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = {
            let seen = std::sync::Arc::clone(&seen);
            EventSink::new(move |e: ClientEvent| seen.lock().expect("lock").push(e.name()))
        };
        let status: Rc<Status> = Rc::default();
        let mut lines = Lines::new("c-1", sink.clone(), Rc::clone(&status));
        for line in [r#"{"event":"connecting"}"#, r#"{"event":"connected"}"#] {
            assert!(lines.take(line).is_ok());
        }
        assert!(status.connected.get());
        status.close(&sink);
        status.close(&sink);
        assert!(lines
            .take(r#"{"event":"presence","kind":"user_away","username":"c-2"}"#)
            .is_ok());
        assert!(lines
            .take(r#"{"event":"disconnected","reason":"client_closed"}"#)
            .is_ok());
        let why = lines.take("bye!").unwrap_err();
        assert!(why.contains("line 5: not JSON"), "{why}");
        assert_eq!(
            *seen.lock().expect("lock"),
            ["connecting", "connected", "disconnected"]
        );
    }
}
