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

use wsim_client::{ClientEvent, ClientIdentity, DisconnectReason};
use wsim_proto::EventSink;

mod lines;

use lines::{read_line, Lines, LINE_MAX};

/// Lines held between a process and the run, each way. A process writing faster than the
/// run reads waits (its stdout pipe fills); commands to a process that does not read its
/// stdin beyond this many are dropped (it would never read them).
const LINES_HELD: usize = 1024;

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
    /// Where its events go (the run's close is recorded here).
    sink: EventSink<ClientEvent>,
}

/// A process's state as its lines and the run say, shared by its handle and its reader.
#[derive(Debug, Default)]
struct Status {
    /// Lines it wrote.
    lines: Cell<usize>,
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
            sink: sink.clone(),
        });
        let reader = Rc::clone(&client);
        tokio::task::spawn_local(async move {
            let mut lines_read = Lines::new(&reader.id, sink, Rc::clone(&reader.status));
            while let Some(Some(line)) = lines.recv().await {
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
                reader.id,
                reader.status.lines.get()
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
        if self.status.lines.get() == 0 && !self.status.closing.get() {
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
