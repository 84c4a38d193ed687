//! The `--restart-cmd` of `wsim drive`: a server crash on a real network runs a shell command
//! that kills the server and starts it again. The command gets the crash in its environment
//! (`WSIM_FAULT_ID`, `WSIM_DOWN_MS`, `WSIM_SILENT`); the proxy keeps the server unreachable
//! until the crash ends, whatever the command does meanwhile. The command must return once the
//! new server is started (run it in the background); its output goes to stderr. Every command
//! started is waited for (at most 10 s, then killed with its process group) when the
//! restarter is dropped.
#![allow(clippy::disallowed_methods)] // a bounded wait on real processes, not simulated time

use std::cell::RefCell;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::real::faults::Restarter;

/// Longest wait for a restart command to finish when the run ends.
const REAP_WAIT: Duration = Duration::from_secs(10);

/// Runs a shell command for every server crash.
#[derive(Debug)]
pub struct CommandRestarter {
    command: String,
    /// Commands started and not yet reaped, with their crash's fault id.
    children: RefCell<Vec<(u32, Child)>>,
    /// What went wrong so far (a command that did not start, failed or hung).
    problems: RefCell<Vec<String>>,
}

impl CommandRestarter {
    /// A restarter running `command` with `sh -c`.
    #[must_use]
    pub fn new(command: &str) -> Self {
        CommandRestarter {
            command: command.to_string(),
            children: RefCell::new(Vec::new()),
            problems: RefCell::new(Vec::new()),
        }
    }

    /// Waits for every command started (at most 10 s in all, then kills what still runs with
    /// its process group) and says, crash by crash, what went wrong: a command that did not
    /// start, exited with a failure or did not return. Empty: every restart command succeeded.
    pub fn finish(&self) -> Vec<String> {
        let deadline = std::time::Instant::now() + REAP_WAIT;
        let children = std::mem::take(&mut *self.children.borrow_mut());
        for (fault_id, mut child) in children {
            loop {
                match child.try_wait() {
                    Ok(Some(status)) => {
                        if !status.success() {
                            self.problem(format!(
                                "crash {fault_id}: --restart-cmd exited with {status}"
                            ));
                        }
                        break;
                    }
                    Ok(None) if std::time::Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    _ => {
                        self.problem(format!(
                            "crash {fault_id}: --restart-cmd still running after {REAP_WAIT:?} (it must return once the server is started): killed with its process group"
                        ));
                        let group = format!("-{}", child.id());
                        let _ = Command::new("kill").args(["-9", "--", &group]).status();
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                }
            }
        }
        self.problems.borrow().clone()
    }

    fn problem(&self, what: String) {
        eprintln!("wsim drive: {what}");
        self.problems.borrow_mut().push(what);
    }
}

impl Restarter for CommandRestarter {
    fn restart(&self, fault_id: u32, down: Duration, silent: bool) {
        // Its output goes to stderr: stdout is the run's timeline. Its own process group, so
        // that a command still running when the run ends is killed with everything it started.
        let stdout = std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map_or_else(|_| Stdio::null(), Stdio::from);
        let started = Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .env("WSIM_FAULT_ID", fault_id.to_string())
            .env("WSIM_DOWN_MS", down.as_millis().to_string())
            .env("WSIM_SILENT", if silent { "1" } else { "0" })
            .stdin(Stdio::null())
            .stdout(stdout)
            .process_group(0)
            .spawn();
        match started {
            Ok(child) => {
                eprintln!(
                    "wsim drive: crash {fault_id}: ran --restart-cmd (pid {})",
                    child.id()
                );
                self.children.borrow_mut().push((fault_id, child));
            }
            Err(e) => self.problem(format!(
                "crash {fault_id}: --restart-cmd did not start: {e}"
            )),
        }
    }
}

impl Drop for CommandRestarter {
    fn drop(&mut self) {
        // Nothing is left running, whether or not the run asked how the commands went.
        let _ = self.finish();
    }
}
