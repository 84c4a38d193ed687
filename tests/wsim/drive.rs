//! Real networks, for servers in any language: `wsim drive` runs a scenario's client fleet and
//! its faults (a partition, idle kills, a server restart through `--restart-cmd`) against
//! `wsim serve` and against a Python server wsim did not write (`tests/servers/chat_server.py`,
//! the `websockets` library installed from PyPI into `target/pyenv`), and catches that server's
//! planted bug (the proxy on its own: `proxy_control.rs`). Loopback only; every process is
//! killed when its test ends.

use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use crate::support::wait_bounded;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn wsim() -> &'static str {
    env!("CARGO_BIN_EXE_wsim")
}

/// A free loopback port (bound and released: a server started right after takes it).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("drive-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Waits (bounded) until something accepts on `port`.
#[allow(clippy::disallowed_methods)] // real processes on loopback, not the simulation
fn wait_listening(port: u16) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "nothing listens on {port} after 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A server process started by a shell command line, whose pid lives in a file so that a
/// `--restart-cmd` can kill and replace it; whatever pid the file names is killed on drop.
struct Restartable {
    pidfile: PathBuf,
    start: String,
    port: u16,
}

impl Restartable {
    /// Starts `start` (a command line that must listen on `port`) in the background.
    fn start(dir: &Path, start: String, port: u16) -> Restartable {
        let pidfile = dir.join("server.pid");
        let server = Restartable {
            pidfile,
            start,
            port,
        };
        let status = Command::new("sh")
            .arg("-c")
            .arg(server.launch())
            .status()
            .expect("sh runs");
        assert!(status.success(), "the server's start command failed");
        wait_listening(port);
        server
    }

    /// Starts the server in the background, recording its pid.
    fn launch(&self) -> String {
        format!(
            "{} >>{log} 2>&1 </dev/null & echo $! > {pid}",
            self.start,
            log = self.pidfile.with_extension("log").display(),
            pid = self.pidfile.display()
        )
    }

    /// The command `wsim drive` runs for a server crash: kill (SIGKILL: a crash), wait (at
    /// most 5 s: a zombie nobody reaps stays "alive") until gone, start again.
    fn restart_cmd(&self) -> String {
        format!(
            "p=$(cat {pid}); kill -9 $p; for i in $(seq 100); do kill -0 $p 2>/dev/null || break; sleep 0.05; done; {launch}",
            pid = self.pidfile.display(),
            launch = self.launch()
        )
    }

    fn pid(&self) -> String {
        std::fs::read_to_string(&self.pidfile)
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.port)
    }
}

impl Drop for Restartable {
    fn drop(&mut self) {
        let pid = self.pid();
        if !pid.is_empty() {
            let _ = Command::new("kill").arg(&pid).status();
        }
    }
}

/// The scenario every drive test runs: 34 s of real time.
fn scenario() -> PathBuf {
    repo().join("tests/real/partition-idle-restart.toml")
}

/// What one `wsim drive` printed and wrote.
struct Driven {
    passed: bool,
    code: Option<i32>,
    verdict: serde_json::Value,
    events: Vec<serde_json::Value>,
    report: PathBuf,
}

impl Driven {
    fn check(&self, name: &str) -> &serde_json::Value {
        self.verdict["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["name"] == name))
            .unwrap_or_else(|| panic!("no check {name} in {}", self.verdict))
    }

    fn count(&self, event: &str) -> usize {
        self.events.iter().filter(|e| e["event"] == event).count()
    }
}

fn drive(server: &Restartable, dir: &Path) -> Driven {
    drive_at(server, &server.url(), dir)
}

/// `wsim drive` against `url`, `server` restarting at a crash.
fn drive_at(server: &Restartable, url: &str, dir: &Path) -> Driven {
    let reports = dir.join("reports");
    let mut child = Command::new(wsim())
        .arg("drive")
        .arg(scenario())
        .args(["--target", url, "--seed", "3", "--format", "jsonl", "-q"])
        .arg("--restart-cmd")
        .arg(server.restart_cmd())
        .arg("--report-dir")
        .arg(&reports)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("wsim drive starts");
    let mut out = String::new();
    let mut stdout = child.stdout.take().expect("stdout");
    // The run lasts 34 s of real time; this bounds it.
    let status = wait_bounded(&mut child, Duration::from_secs(120), "wsim drive");
    stdout.read_to_string(&mut out).expect("output");
    let verdict: serde_json::Value =
        serde_json::from_str(out.lines().last().unwrap_or("{}")).expect("a JSON verdict");
    let report = reports.join("drive-partition-idle-restart").join("seed-3");
    let events = std::fs::read_to_string(report.join("events.jsonl"))
        .expect("events.jsonl written")
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    Driven {
        passed: verdict["passed"] == true,
        code: status.code(),
        verdict,
        events,
        report,
    }
}

/// What every passing drive shows: the checkers that apply judged and passed, the faults
/// happened (the partition, idle kills, the restart), the report is written.
fn assert_passed_with_faults(run: &Driven, server: &Restartable, first_pid: &str) {
    assert!(run.passed, "{}", run.verdict);
    assert_eq!(run.code, Some(0));
    for name in [
        "detection",
        "liveness",
        "delivery",
        "resume",
        "room_log",
        "no_spurious_disconnect",
        "backoff",
    ] {
        let c = run.check(name);
        assert!(c["passed"] == true && c["skipped"].is_null(), "{name}: {c}");
    }
    // A black box: presence is judged from what its clients were told; what needs the
    // server's own events says so instead of passing.
    let grace = run.check("grace");
    assert!(
        grace["passed"] == true && grace["skipped"].is_null(),
        "{grace}"
    );
    assert!(
        run.count("presence") >= 1,
        "the clients recorded no presence frame"
    );
    assert_eq!(run.check("real_network")["skipped"], true);
    assert!(run.count("fault_start") >= 2 && run.count("fault_end") >= 2);
    assert!(run.count("idle_kill") >= 1, "no idle kill happened");
    // The partition was detected by keepalive, and the restart took the sessions.
    assert!(run.check("detection")["detail"]
        .as_str()
        .is_some_and(|d| !d.starts_with("0 breaks")));
    let resynced = run
        .events
        .iter()
        .filter(|e| e["event"] == "resumed" && e["recovered"] == false)
        .count();
    assert!(resynced >= 1, "nobody resynced after the restart");
    assert_ne!(
        server.pid(),
        first_pid,
        "--restart-cmd did not replace the server"
    );
    for file in ["timeline.html", "summary.md", "events.jsonl"] {
        assert!(run.report.join(file).is_file(), "{file} missing");
    }
    assert_opens_in_a_browser(&run.report.join("timeline.html"));
}

/// Loads `page` in headless Chromium (installed by `.ci/run` where apt is available) and
/// checks what it rendered: the swimlanes' SVG and the run's title.
fn assert_opens_in_a_browser(page: &Path) {
    let Ok(out) = Command::new("timeout")
        .args([
            "60",
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .output()
    else {
        eprintln!("SKIPPED: the browser check (no `timeout` command)");
        return;
    };
    if out.status.code() == Some(127) {
        assert!(
            std::env::var_os("WSIM_BROWSER").is_none(),
            "WSIM_BROWSER is set but chromium is not installed"
        );
        eprintln!("SKIPPED: the browser check (chromium is not installed)");
        return;
    }
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "chromium failed on {}",
        page.display()
    );
    assert!(
        dom.contains("<title>drive-partition-idle-restart"),
        "no title rendered"
    );
    assert!(dom.matches("<svg").count() >= 2, "no swimlanes rendered");
}

#[test]
fn drive_passes_against_wsim_serve_through_a_partition_idle_kills_and_a_restart() {
    let dir = scratch("serve");
    let port = free_port();
    let start = format!(
        "exec {} serve --listen 127.0.0.1:{port} --grace 10s --ping-interval 4s --ping-timeout 2s",
        wsim()
    );
    let server = Restartable::start(&dir, start, port);
    let first = server.pid();
    let run = drive(&server, &dir);
    assert_passed_with_faults(&run, &server, &first);
}

/// `target/pyenv` with `websockets` from PyPI (created once), or `None` where Python or the
/// registry is missing (which fails the test under CI).
pub(crate) fn python() -> Option<PathBuf> {
    static READY: Mutex<Option<bool>> = Mutex::new(None);
    let env = repo().join("target/pyenv");
    let py = env.join("bin/python3");
    let mut ready = READY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if ready.is_none() {
        let ok = Command::new("sh")
            .arg(repo().join("tests/servers/setup.sh"))
            .arg(&env)
            .status()
            .is_ok_and(|s| s.success());
        *ready = Some(ok);
    }
    if *ready == Some(true) {
        return Some(py);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "python3 with venv and pip (and PyPI) are required for this test: tests/servers/setup.sh failed"
    );
    eprintln!("SKIPPED: tests/servers/setup.sh could not install websockets");
    None
}

fn python_server(dir: &Path, py: &Path, bug: Option<&str>) -> Restartable {
    let port = free_port();
    let script = repo().join("tests/servers/chat_server.py");
    let mut start = format!(
        "exec {} {} --host 127.0.0.1 --port {port} --grace 10 --ping-interval 4 --ping-timeout 2",
        py.display(),
        script.display()
    );
    if let Some(bug) = bug {
        start.push_str(&format!(" --bug {bug}"));
    }
    Restartable::start(dir, start, port)
}

#[test]
fn drive_passes_against_a_python_server() {
    let Some(py) = python() else { return };
    let dir = scratch("python");
    let server = python_server(&dir, &py, None);
    let first = server.pid();
    let run = drive(&server, &dir);
    assert_passed_with_faults(&run, &server, &first);
}

#[test]
fn drive_catches_a_python_server_that_resumes_without_replaying() {
    let Some(py) = python() else { return };
    let dir = scratch("python-bug");
    let server = python_server(&dir, &py, Some("replay-nothing"));
    let run = drive(&server, &dir);
    assert!(
        !run.passed,
        "the planted bug went unnoticed: {}",
        run.verdict
    );
    assert_eq!(run.code, Some(1));
    // The partitioned clients resumed "recovered" and silently missed what the room said.
    let room_log = run.check("room_log");
    assert_eq!(room_log["passed"], false, "{room_log}");
    // Named as its cause: a resume that promised the history and sent none.
    assert!(
        room_log["detail"]
            .as_str()
            .is_some_and(|d| d.contains("saying recovered: true and was replayed nothing")),
        "{room_log}"
    );
    assert!(run.report.join("timeline.html").is_file());
}

#[test]
fn drive_catches_a_python_server_that_announces_a_connected_member_left() {
    let Some(py) = python() else { return };
    let dir = scratch("python-left");
    let server = python_server(&dir, &py, Some("left-while-connected"));
    let run = drive(&server, &dir);
    assert!(
        !run.passed,
        "the planted bug went unnoticed: {}",
        run.verdict
    );
    let grace = run.check("grace");
    assert_eq!(grace["passed"], false, "{grace}");
    assert!(
        grace["detail"]
            .as_str()
            .is_some_and(|d| d.contains("told user_left for away-")),
        "{grace}"
    );
}

#[test]
fn drive_ends_early_against_a_server_that_does_not_speak_the_protocol() {
    let Some(py) = python() else { return };
    let dir = scratch("python-echo");
    let port = free_port();
    let script = repo().join("tests/servers/echo_server.py");
    let start = format!(
        "exec {} {} --host 127.0.0.1 --port {port}",
        py.display(),
        script.display()
    );
    let server = Restartable::start(&dir, start, port);
    let run = drive(&server, &dir);
    assert!(!run.passed, "an echo server passed: {}", run.verdict);
    let target = run.check("target");
    assert!(
        target["detail"]
            .as_str()
            .is_some_and(|d| d.contains("sent no welcome") && d.contains("docs/protocol.md")),
        "{target}"
    );
    let wall_ms = run.verdict["wall_ms"].as_u64().unwrap_or(u64::MAX);
    assert!(wall_ms < 10_000, "the run went on for {wall_ms} ms");
    assert!(run.report.join("events.jsonl").is_file(), "no report");
}

#[test]
fn drive_ends_early_when_every_upgrade_is_refused() {
    let dir = scratch("wrong-path");
    let port = free_port();
    let start = format!("exec {} serve --listen 127.0.0.1:{port}", wsim());
    let server = Restartable::start(&dir, start, port);
    let run = drive_at(&server, &format!("ws://127.0.0.1:{port}/nope"), &dir);
    assert!(!run.passed, "{}", run.verdict);
    let target = run.check("target");
    assert!(
        target["detail"]
            .as_str()
            .is_some_and(|d| d.contains("refused every upgrade with HTTP 404")),
        "{target}"
    );
    let wall_ms = run.verdict["wall_ms"].as_u64().unwrap_or(u64::MAX);
    assert!(wall_ms < 10_000, "the run went on for {wall_ms} ms");
}

#[test]
fn drive_refuses_a_server_crash_without_a_restart_command_and_a_bad_target() {
    let out = Command::new(wsim())
        .arg("drive")
        .arg(scenario())
        .args(["--target", "ws://127.0.0.1:9/ws"])
        .output()
        .expect("wsim drive runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("fault 1 (crash): a server crash needs --restart-cmd"),
        "{err}"
    );
    let out = Command::new(wsim())
        .arg("drive")
        .arg(scenario())
        .args(["--target", "http://127.0.0.1:9/ws", "--restart-cmd", "true"])
        .output()
        .expect("wsim drive runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must start with ws://"));
    // Nothing listening: said at once, not after a run of failed connections.
    let port = free_port();
    let out = Command::new(wsim())
        .arg("drive")
        .arg(scenario())
        .args([
            "--target",
            &format!("ws://127.0.0.1:{port}/ws"),
            "--restart-cmd",
            "true",
        ])
        .output()
        .expect("wsim drive runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing answers at 127.0.0.1:"));
}

#[test]
fn drive_fails_a_run_whose_restart_command_failed() {
    // The server never went down (the command only fails), but the run did not do what the
    // scenario says: the verdict must not be a PASS, and must say why.
    let dir = scratch("restart-fails");
    let port = free_port();
    let start = format!("exec {} serve --listen 127.0.0.1:{port}", wsim());
    let server = Restartable::start(&dir, start, port);
    let scenario = dir.join("short-crash.toml");
    std::fs::write(
        &scenario,
        r#"name = "short-crash"
duration = "4s"
seeds = 1

[[clients]]
count = 1
host = "phones"

[[faults]]
kind = "crash"
host = "server"
at = "1s"
duration = "1s"
"#,
    )
    .expect("write scenario");
    let mut child = Command::new(wsim())
        .arg("drive")
        .arg(&scenario)
        .args(["--target", &server.url(), "--format", "jsonl", "-q"])
        .args(["--restart-cmd", "echo restart failing >&2; exit 3"])
        .arg("--report-dir")
        .arg(dir.join("reports"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wsim drive starts");
    let (mut out, mut err) = (String::new(), String::new());
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let status = wait_bounded(&mut child, Duration::from_secs(60), "wsim drive");
    stdout.read_to_string(&mut out).expect("output");
    stderr.read_to_string(&mut err).expect("errors");
    let verdict: serde_json::Value =
        serde_json::from_str(out.lines().last().unwrap_or("{}")).expect("a JSON verdict");
    assert_eq!(status.code(), Some(1), "{err}");
    assert_eq!(verdict["passed"], false);
    let check = verdict["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "restart_cmd"))
        .unwrap_or_else(|| panic!("no restart_cmd check in {verdict}"));
    assert_eq!(check["passed"], false);
    let detail = check["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("crash 0") && detail.contains("exit status: 3"),
        "{detail}"
    );
}

#[test]
fn settings_print_a_scenarios_server_settings_as_flags_env_and_json() {
    let settings = |format: &str| {
        let out = Command::new(wsim())
            .args(["settings", "--format", format])
            .arg(scenario())
            .output()
            .expect("wsim settings runs");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let flags = settings("flags");
    assert!(
        flags.starts_with("--grace 10000ms --ping-interval 4000ms --ping-timeout 2000ms "),
        "{flags}"
    );
    assert!(flags.contains("--keyless-resume client_id"), "{flags}");
    // Only flags on stdout: `wsim serve $(wsim settings F)` works as it is.
    assert_eq!(flags.lines().count(), 1, "{flags}");
    let env = settings("env");
    for line in [
        "WSIM_GRACE_MS=10000",
        "WSIM_PING_TIMEOUT_MS=2000",
        "WSIM_HISTORY_LIMIT=1000",
    ] {
        assert!(env.lines().any(|l| l == line), "{line} in {env}");
    }
    let json: serde_json::Value = serde_json::from_str(&settings("json")).expect("JSON");
    assert_eq!(json["grace_ms"], 10_000);
    assert_eq!(json["ping_interval_ms"], 4_000);
    assert_eq!(json["keyless_resume"], "client_id");
    // A broken file is bad input, named.
    let out = Command::new(wsim())
        .args(["settings", "no-such-file.toml"])
        .output()
        .expect("wsim settings runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-file.toml"));
}
