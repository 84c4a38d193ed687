//! Real networks, for servers in any language: `wsim drive` runs a scenario's client fleet and
//! its faults (a partition, idle kills, a server restart through `--restart-cmd`) against
//! `wsim serve` and against a Python server wsim did not write (`tests/servers/chat_server.py`,
//! the `websockets` library installed from PyPI into `target/pyenv`), and catches that server's
//! planted bug; `wsim proxy --scenario` logs a schedule on the wall clock; the proxy's control
//! API is driven with plain HTTP. Loopback only; every process is killed when its test ends.

use std::io::{BufRead, BufReader, Read, Write};
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
    let dir = std::env::temp_dir().join(format!("wsim-drive-{}-{name}", std::process::id()));
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
    let reports = dir.join("reports");
    let mut child = Command::new(wsim())
        .arg("drive")
        .arg(scenario())
        .args([
            "--target",
            &server.url(),
            "--seed",
            "3",
            "--format",
            "jsonl",
            "-q",
        ])
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
        "resume",
        "room_log",
        "no_spurious_disconnect",
        "backoff",
    ] {
        let c = run.check(name);
        assert!(c["passed"] == true && c["skipped"].is_null(), "{name}: {c}");
    }
    // A black box: what needs the server's own events says so instead of passing.
    assert_eq!(run.check("grace")["skipped"], true);
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
fn python() -> Option<PathBuf> {
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
    assert!(run.report.join("timeline.html").is_file());
}

/// A `wsim proxy` process with its stdout (JSON Lines) and stderr read by threads.
struct ProxyProcess {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<serde_json::Value>,
    banner: std::sync::mpsc::Receiver<String>,
}

impl ProxyProcess {
    fn start(args: &[&str]) -> ProxyProcess {
        let mut child = Command::new(wsim())
            .arg("proxy")
            .args(args)
            .args(["--format", "jsonl"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("wsim proxy starts");
        let (tx, lines) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        #[allow(clippy::disallowed_methods)] // a real process's pipes, not the simulation
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        let (tx, banner) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        #[allow(clippy::disallowed_methods)]
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        ProxyProcess {
            child,
            lines,
            banner,
        }
    }

    /// The address the stderr line containing `marker` names (up to a space, comma or `/`).
    fn address_after(&self, marker: &str) -> String {
        loop {
            let line = self
                .banner
                .recv_timeout(Duration::from_secs(10))
                .expect("a banner line");
            if let Some(rest) = line.split(marker).nth(1) {
                return rest
                    .split([' ', ',', '/'])
                    .next()
                    .expect("an address")
                    .to_string();
            }
        }
    }

    fn next_event(&self, name: &str) -> serde_json::Value {
        loop {
            let e = self
                .lines
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("no {name} event within 10 s"));
            if e["event"] == name {
                return e;
            }
        }
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One plain HTTP/1.1 request; returns the status and the JSON body.
fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    let mut s = TcpStream::connect(addr).expect("the control API accepts");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("request written");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("an answer");
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

#[test]
fn the_control_api_holds_releases_and_resets_a_clients_connection_over_plain_http() {
    let server = crate::serve::Server::start();
    let proxy = ProxyProcess::start(&[
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &server.addr,
        "--control",
        "127.0.0.1:0",
    ]);
    let relay = proxy.address_after("listening on ");
    let api = proxy.address_after("control API on http://");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        let url = format!("ws://{relay}/ws?room=r&username=web&client_id=web-1");
        let tcp = tokio::net::TcpStream::connect(&relay).await.expect("tcp");
        let (mut ws, _) = tokio_tungstenite::client_async(url, tcp)
            .await
            .expect("upgrade");
        let welcome = ws.next().await.expect("welcome").expect("a frame");
        assert!(welcome.to_text().unwrap_or("").contains("welcome"));

        let (status, conns) = http(&api, "GET", "/connections", "");
        assert_eq!(status, 200);
        let conn = conns
            .as_array()
            .and_then(|c| c.iter().find(|c| c["client"] == "web-1"))
            .unwrap_or_else(|| panic!("web-1 not listed: {conns}"))
            .clone();

        // Hold this client's bytes going down: the acknowledgement waits for the heal.
        let (status, fault) = http(
            &api,
            "POST",
            "/faults",
            r#"{"kind":"partition","client":"web-1","direction":"down"}"#,
        );
        assert_eq!(status, 201, "{fault}");
        let chat = r#"{"type":"chat_message","text":"hi","id":"m1","timestamp":"x"}"#;
        ws.send(Message::text(chat)).await.expect("sent");
        let early = tokio::time::timeout(Duration::from_millis(700), ws.next()).await;
        assert!(early.is_err(), "a frame crossed a held link: {early:?}");
        let (status, listed) = http(&api, "GET", "/faults", "");
        assert_eq!((status, listed.as_array().map(Vec::len)), (200, Some(1)));
        let (status, _) = http(&api, "DELETE", &format!("/faults/{}", fault["id"]), "");
        assert_eq!(status, 200);
        let ack = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("the held ack arrives on heal")
            .expect("a frame")
            .expect("a frame");
        assert!(ack.to_text().unwrap_or("").contains(r#""ack""#), "{ack:?}");

        // Reset the connection by number: the client sees it end.
        let (status, _) = http(
            &api,
            "POST",
            &format!("/connections/{}/reset", conn["conn"]),
            "",
        );
        assert_eq!(status, 200);
        let end = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match ws.next().await {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await;
        assert!(end.is_ok(), "the reset connection stayed open");
    });
    // Bad requests get clear errors; every change is in the proxy's log.
    let (status, body) = http(&api, "POST", "/faults", r#"{"kind":"teleport"}"#);
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("teleport")),
        "{body}"
    );
    let (status, body) = http(&api, "POST", "/reset", "");
    assert_eq!((status, body["ended"].as_u64()), (200, Some(0)));
    assert_eq!(proxy.next_event("impairment_start")["kind"], "hold");
    assert!(proxy.next_event("impairment_end")["id"].is_u64());
    assert_eq!(proxy.next_event("proxy_conn_closed")["reason"], "reset");
}

#[test]
fn wsim_proxy_runs_a_scenarios_faults_on_the_wall_clock_and_logs_them_as_the_simulation_does() {
    let server = crate::serve::Server::start();
    let proxy = ProxyProcess::start(&[
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &server.addr,
        "--scenario",
        &repo()
            .join("tests/real/proxy-schedule.toml")
            .display()
            .to_string(),
        "--seed",
        "2",
    ]);
    let started = proxy.next_event("fault_start");
    // The same JSON Lines as a simulated run's fault_start.
    assert_eq!(started["host"], "sim");
    assert_eq!(started["fault"], "partition");
    assert_eq!(
        (started["a"].as_str(), started["b"].as_str()),
        (Some("web"), Some("proxy"))
    );
    let t0 = started["t_ms"].as_u64().expect("t_ms");
    assert!(
        (400..=1500).contains(&t0),
        "started at {t0} ms, planned 500..1000"
    );
    let ended = proxy.next_event("fault_end");
    assert_eq!(ended["id"], started["id"]);
    let latency = proxy.next_event("fault_start");
    assert_eq!(latency["fault"], "latency");
    assert_eq!(proxy.next_event("fault_end")["fault"], "latency");
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
}

#[test]
fn faults_from_the_control_api_delay_drop_and_refuse_as_documented() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let server = crate::serve::Server::start();
    let proxy = ProxyProcess::start(&[
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &server.addr,
        "--control",
        "127.0.0.1:0",
    ]);
    let relay = proxy.address_after("listening on ");
    let api = proxy.address_after("control API on http://");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let join = |client: &'static str| {
            let relay = relay.clone();
            async move {
                let tcp = tokio::net::TcpStream::connect(&relay).await.ok()?;
                let url = format!("ws://{relay}/ws?room=r&username={client}&client_id={client}");
                let (mut ws, _) = tokio_tungstenite::client_async(url, tcp).await.ok()?;
                let welcome = ws.next().await?.ok()?;
                welcome.to_text().ok()?.contains("welcome").then_some(ws)
            }
        };
        let chat = |id: &str| {
            Message::text(format!(
                r#"{{"type":"chat_message","text":"hi","id":"{id}","timestamp":"x"}}"#
            ))
        };
        let mut a = join("a").await.expect("a joins");
        // Latency on the upstream link: the ack crosses it twice (the message up, the ack
        // down), 300 ms each way.
        let (status, spike) = http(
            &api,
            "POST",
            "/faults",
            r#"{"kind":"latency","min_ms":300,"max_ms":300,"side":"upstream"}"#,
        );
        assert_eq!(status, 201, "{spike}");
        a.send(chat("m1")).await.expect("sent");
        let early = tokio::time::timeout(Duration::from_millis(450), a.next()).await;
        assert!(early.is_err(), "the ack beat a 2 × 300 ms spike: {early:?}");
        let ack = tokio::time::timeout(Duration::from_secs(5), a.next()).await;
        assert!(
            ack.is_ok_and(|m| m.is_some_and(|m| m.is_ok())),
            "the delayed ack never came"
        );
        http(&api, "DELETE", &format!("/faults/{}", spike["id"]), "");

        // One way (client → server lost): a's messages vanish, for good.
        let (status, loss) = http(
            &api,
            "POST",
            "/faults",
            r#"{"kind":"one_way","client":"a","direction":"up"}"#,
        );
        assert_eq!(status, 201, "{loss}");
        a.send(chat("m2")).await.expect("sent");
        http(&api, "DELETE", &format!("/faults/{}", loss["id"]), "");
        a.send(chat("m3")).await.expect("sent");
        let lost = tokio::time::timeout(Duration::from_millis(700), a.next()).await;
        assert!(
            lost.is_err(),
            "a stream that lost bytes still delivered: {lost:?}"
        );

        // State loss on a's host: a new connection is refused while it lasts.
        let (status, forgot) = http(&api, "POST", "/faults", r#"{"kind":"state_loss"}"#);
        assert_eq!(status, 201, "{forgot}");
        assert!(
            join("b").await.is_none(),
            "a connection got through a state loss"
        );
        http(&api, "DELETE", &format!("/faults/{}", forgot["id"]), "");
        assert!(
            join("c").await.is_some(),
            "refused after the state loss ended"
        );
    });
    assert_eq!(proxy.next_event("proxy_conn_closed")["reason"], "refused");
}
