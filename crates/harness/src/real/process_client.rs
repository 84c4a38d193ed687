//! Clients in any language for `wsim drive --client-cmd CMD` (Maelstrom's model): each
//! simulated user's client is a process started by `sh -c CMD`, told what to do in JSON Lines
//! on its standard input and saying what happened in JSON Lines on its standard output
//! (docs/client-protocol.md). Its lines become the timeline's client events, judged as wsim's
//! own client's are. A line that is not JSON, names an unknown event or lacks a field, and a
//! process that exits before the run ends, are each named — process, line number, the line —
//! in the verdict's `client_process` check; nothing waits on a process that stops talking.
//!
//! Each process has two threads (real time, never a simulation): one writes its commands, one
//! reads its lines into the run's task, so a process that neither reads nor writes blocks
//! nothing.

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::Duration;

use serde_json::Value;
use wsim_client::{ClientEvent, ClientIdentity, DisconnectReason, PresenceKind};
use wsim_proto::EventSink;

/// Lines held between a process and the run, each way. A process writing faster than the
/// run reads waits (its stdout pipe fills); commands to a process that does not read its
/// stdin beyond this many are dropped (it would never read them).
const LINES_HELD: usize = 1024;

/// The longest line a process may write, in bytes. A longer one is not held: it is passed
/// on cut to this length, so it fails as not JSON, named with its number.
const LINE_MAX: usize = 64 * 1024;

/// The next line of `from` (without its newline), at most `max` bytes of it kept — the rest
/// of a longer line is read and dropped, so a process cannot make the run hold more; `None`
/// at the end of the output.
fn read_line(from: &mut impl std::io::BufRead, max: usize) -> std::io::Result<Option<String>> {
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

/// Problems found with client processes, shared by the fleet (at most this many kept).
pub(crate) const PROBLEMS_KEPT: usize = 20;

/// Problems of a drive's client processes, in the order found.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    /// The first [`PROBLEMS_KEPT`].
    pub(crate) first: Vec<String>,
    /// How many in all.
    pub(crate) count: usize,
}

impl Problems {
    fn add(&mut self, problem: String) {
        self.count += 1;
        if self.first.len() < PROBLEMS_KEPT {
            self.first.push(problem);
        }
    }
}

/// One simulated user's client process.
pub(crate) struct ProcessClient {
    id: String,
    commands: std::sync::mpsc::SyncSender<String>,
    child: RefCell<Child>,
    /// What its lines said, shared with their reader.
    status: Rc<Status>,
    /// Lines it wrote.
    lines: Rc<Cell<usize>>,
    /// Where its events go (the run's close is recorded here).
    sink: EventSink<ClientEvent>,
}

/// A process's state as its lines and the run say, shared by its handle and its reader.
#[derive(Debug, Default)]
struct Status {
    /// Whether it said a server welcomed it.
    welcomed: Cell<bool>,
    /// Whether its link is up.
    connected: Cell<bool>,
    /// Set when the run closes it: its exit is then expected, and its events are checked,
    /// not recorded.
    closing: Cell<bool>,
}

impl Status {
    /// The run closes it: an up link ends now, in `sink` (once).
    fn close(&self, sink: &EventSink<ClientEvent>) {
        if !self.closing.replace(true) && self.connected.replace(false) {
            sink.emit(ClientEvent::Disconnected {
                reason: DisconnectReason::ClientClosed,
            });
        }
    }
}

impl ProcessClient {
    /// Starts `cmd` for `identity`, its events going to `sink`, its problems to `problems`.
    ///
    /// # Errors
    /// Why the process could not be started.
    #[allow(clippy::disallowed_methods)] // real processes and their pipes: the drive, not a simulation
    pub(crate) fn start(
        cmd: &str,
        identity: &ClientIdentity,
        sink: EventSink<ClientEvent>,
        problems: Rc<RefCell<Problems>>,
    ) -> std::io::Result<Rc<ProcessClient>> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .env("WSIM_CLIENT_ID", &identity.client_id)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let (stdin, stdout, stderr) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let (commands, to_write) = std::sync::mpsc::sync_channel::<String>(LINES_HELD);
        if let Some(mut stdin) = stdin {
            std::thread::spawn(move || {
                for line in to_write {
                    if writeln!(stdin, "{line}")
                        .and_then(|()| stdin.flush())
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
        // The last line it wrote to stderr, for the verdict if it dies.
        let last_err = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        if let Some(stderr) = stderr {
            let last_err = std::sync::Arc::clone(&last_err);
            std::thread::spawn(move || {
                let mut stderr = std::io::BufReader::new(stderr);
                while let Ok(Some(line)) = read_line(&mut stderr, LINE_MAX) {
                    if !line.trim().is_empty() {
                        if let Ok(mut last) = last_err.lock() {
                            *last = line.chars().take(200).collect();
                        }
                    }
                }
            });
        }
        let (lines_tx, mut lines) = tokio::sync::mpsc::channel::<Option<String>>(LINES_HELD);
        if let Some(stdout) = stdout {
            std::thread::spawn(move || {
                let mut stdout = std::io::BufReader::new(stdout);
                while let Ok(Some(line)) = read_line(&mut stdout, LINE_MAX) {
                    if lines_tx.blocking_send(Some(line)).is_err() {
                        return;
                    }
                }
                let _ = lines_tx.blocking_send(None);
            });
        }
        let client = Rc::new(ProcessClient {
            id: identity.client_id.clone(),
            commands,
            child: RefCell::new(child),
            status: Rc::default(),
            lines: Rc::new(Cell::new(0)),
            sink: sink.clone(),
        });
        let reader = Rc::clone(&client);
        tokio::task::spawn_local(async move {
            let mut lines_read = Lines::new(&reader.id, sink, Rc::clone(&reader.status));
            while let Some(Some(line)) = lines.recv().await {
                reader.lines.set(reader.lines.get() + 1);
                if let Err(why) = lines_read.take(&line) {
                    problems.borrow_mut().add(why);
                }
            }
            if reader.status.closing.get() {
                return;
            }
            // Its output ended before the run: it exited (or closed stdout). Give it a moment
            // to be reaped for its status.
            wsim_proto::clock::timer::sleep(Duration::from_millis(200)).await;
            let status = reader.child.borrow_mut().try_wait().ok().flatten();
            if reader.status.closing.get() {
                return;
            }
            let status = status.map_or_else(
                || "closed its output".to_string(),
                |s| format!("exited ({s})"),
            );
            let last = last_err.lock().map(|l| l.clone()).unwrap_or_default();
            let said = if last.is_empty() {
                String::new()
            } else {
                format!("; its last stderr line: {last}")
            };
            problems.borrow_mut().add(format!(
                "the client process of {} {status} after {} lines, before the run ended{said}",
                reader.id, lines_read.n
            ));
        });
        Ok(client)
    }

    /// Tells the process to connect to `url` as `identity`.
    pub(crate) fn connect(&self, url: &str, identity: &ClientIdentity) {
        let line = serde_json::json!({
            "cmd": "connect",
            "url": url,
            "client_id": identity.client_id,
            "username": identity.username,
            "room": identity.room,
        });
        let _ = self.commands.try_send(line.to_string());
    }

    /// Whether it said a server welcomed it.
    pub(crate) fn has_session(&self) -> bool {
        self.status.welcomed.get()
    }

    /// Tells it to close (the run is over: its exit is expected), and says so if it never
    /// wrote a line. Dropped, it is killed if it has not exited.
    ///
    /// As with wsim's own client, closing is the application's act, recorded when it is
    /// asked for: a link that was up ends here (`disconnected`, `client_closed`), and what the
    /// process reports while it winds down (its own `disconnected`, frames that crossed its
    /// close) is still checked but is not the run's — otherwise a checker would see the
    /// server announce a member gone before the member's own close reached the timeline.
    pub(crate) fn close(&self, problems: &RefCell<Problems>) {
        if self.lines.get() == 0 && !self.status.closing.get() {
            problems.borrow_mut().add(format!(
                "the client process of {} wrote nothing in the whole run (a client writes its \
                 events as JSON Lines on stdout: docs/client-protocol.md)",
                self.id
            ));
        }
        self.status.close(&self.sink);
        let _ = self.commands.try_send(r#"{"cmd":"close"}"#.to_string());
    }
}

impl Drop for ProcessClient {
    fn drop(&mut self) {
        let child = self.child.get_mut();
        if child.try_wait().ok().flatten().is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl crate::sim::seam::ClientApp for Rc<ProcessClient> {
    fn send(&self, text: String) {
        let line = serde_json::json!({ "cmd": "send", "text": text });
        let _ = self.commands.try_send(line.to_string());
    }
}

/// A process's output being read: each line checked and turned into a client event.
struct Lines {
    id: String,
    sink: EventSink<ClientEvent>,
    status: Rc<Status>,
    /// Lines read.
    n: usize,
    /// Connection attempts, and welcomes, it reported.
    attempts: u32,
    welcomes: u32,
}

impl Lines {
    fn new(id: &str, sink: EventSink<ClientEvent>, status: Rc<Status>) -> Self {
        Lines {
            id: id.to_string(),
            sink,
            status,
            n: 0,
            attempts: 0,
            welcomes: 0,
        }
    }

    /// Takes line `line`: its event goes to the timeline, or the problem is said.
    fn take(&mut self, line: &str) -> Result<(), String> {
        self.n += 1;
        if line.trim().is_empty() {
            return Ok(());
        }
        let shown: String = line.chars().take(120).collect();
        let bad = |why: String| {
            format!(
                "the client process of {}, line {}: {why}: {shown}",
                self.id, self.n
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
