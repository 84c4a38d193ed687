//! Clients in any language: `wsim drive --client-cmd` runs each simulated user's client as a
//! process speaking JSON Lines (docs/client-protocol.md) — the seed article's
//! `ResilientWebSocket` in Node (the article's file unchanged) and a Python client on the
//! `websockets` library — against `wsim serve` through idle kills and a partition, and the
//! checkers judge them as they judge wsim's own client. A process that prints what is not the
//! protocol, dies, or says nothing is named in the verdict, and the run still ends on time.
//! Loopback only; every process is killed when its test ends.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::wait_bounded;
use crate::tls::serve;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `wsim drive SCENARIO` against a fresh `wsim serve` with `client_cmd`: the JSON verdict and
/// the events.
#[allow(clippy::disallowed_methods)] // a real process's output, read beside its wait
fn drive(
    name: &str,
    scenario: &str,
    client_cmd: &str,
) -> (serde_json::Value, Vec<serde_json::Value>) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("process-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    let (_server, port) = serve();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsim"))
        .current_dir(repo())
        .arg("drive")
        .arg(repo().join(scenario))
        .args(["--target", &format!("ws://127.0.0.1:{port}/ws")])
        .args([
            "--client-cmd",
            client_cmd,
            "--tolerance",
            "1s",
            "--format",
            "jsonl",
        ])
        .arg("--report-dir")
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("wsim drive starts");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let status = wait_bounded(&mut child, Duration::from_secs(90), "wsim drive");
    let out = reader.join().unwrap_or_default();
    let events: Vec<serde_json::Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let verdict = events.last().cloned().unwrap_or_default();
    assert_eq!(verdict["event"], "verdict", "{out}");
    assert_eq!(
        status.code(),
        Some(if verdict["passed"] == true { 0 } else { 1 })
    );
    (verdict, events)
}

fn check<'a>(verdict: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    verdict["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no check {name} in {verdict}"))
}

fn detail(verdict: &serde_json::Value, name: &str) -> String {
    check(verdict, name)["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The article's client is judged by every checker that applies, and the ones that fail name
/// what it does: no keepalive (a dead link is noticed only when the network says so), no
/// de-duplication (a replay shows messages twice), no memory of unacknowledged messages
/// (what it wrote into a dead link is lost).
#[test]
fn the_seed_articles_client_is_driven_as_a_process_and_its_gaps_named() {
    let Some(node) = crate::seed_client::node() else {
        return;
    };
    let cmd = format!(
        "exec {node} --experimental-websocket --no-warnings tests/clients/resilient-websocket.mjs"
    );
    let (verdict, events) = drive("node", "tests/real/process-clients.toml", &cmd);
    for name in [
        "detection",
        "delivery",
        "grace",
        "resume",
        "room_log",
        "no_spurious_disconnect",
    ] {
        assert_ne!(
            check(&verdict, name)["skipped"],
            true,
            "{name} judged: {verdict}"
        );
    }
    assert!(
        verdict["checks"]
            .as_array()
            .is_some_and(|c| c.iter().all(|c| c["name"] != "client_process")),
        "the adapter speaks the protocol: {verdict}"
    );
    let received = events
        .iter()
        .filter(|e| e["event"] == "message_received")
        .count();
    assert!(received > 10, "messages flowed: {received}");
    // No keepalive: the partition is noticed only when it heals, 6 s in.
    let detection = detail(&verdict, "detection");
    assert_eq!(check(&verdict, "detection")["passed"], false, "{verdict}");
    assert!(
        detection.contains("talk-") && detection.contains("detected fault #0 after 6"),
        "{detection}"
    );
    // No de-duplication: the resume's replay is shown again.
    let delivery = detail(&verdict, "delivery");
    assert!(
        delivery.contains("twice") || delivery.contains("out of order"),
        "{delivery}"
    );
    // Nothing kept to send again: what went into the dead link is lost.
    let room_log = detail(&verdict, "room_log");
    assert!(room_log.contains("never acknowledged"), "{room_log}");
    // The quiet room's idle kills and its reconnects are explained.
    assert_eq!(
        check(&verdict, "no_spurious_disconnect")["passed"],
        true,
        "{verdict}"
    );
}

/// A Python client with keepalive, resend and resume passes the same run.
#[test]
fn a_python_websockets_client_is_driven_as_a_process_and_passes() {
    let Some(py) = crate::drive::python() else {
        return;
    };
    let cmd = format!("exec {} tests/clients/websockets_client.py", py.display());
    let (verdict, events) = drive("python", "tests/real/process-clients.toml", &cmd);
    assert_eq!(verdict["passed"], true, "{verdict}");
    for name in ["detection", "delivery", "resume", "room_log", "backoff"] {
        assert_eq!(
            check(&verdict, name)["vacuous"],
            serde_json::Value::Null,
            "{name} judged: {verdict}"
        );
    }
    let away = events
        .iter()
        .filter(|e| e["event"] == "disconnected" && e["reason"] == "ping_timeout")
        .count();
    assert!(away >= 2, "its keepalive noticed the partition: {away}");
}

/// What is not the protocol is named with the process and the line; a process that dies is
/// named with its status; one that says nothing holds nothing up.
#[test]
#[allow(clippy::disallowed_methods)] // the real time a real run took
fn a_misbehaving_client_process_is_named_and_never_hangs_the_run() {
    let (verdict, _) = drive(
        "bad",
        "tests/real/process-bad.toml",
        "echo hello; echo '{\"event\":\"teleported\"}'; exit 3",
    );
    let problem = detail(&verdict, "client_process");
    assert_eq!(check(&verdict, "client_process")["passed"], false);
    assert!(
        problem.starts_with("the client process of c-0, line 1: not JSON")
            && problem.contains("hello"),
        "{problem}"
    );
    assert!(
        problem.contains("(and 2 more)"),
        "the unknown event and the exit: {problem}"
    );
    let started = std::time::Instant::now();
    let (verdict, _) = drive("silent", "tests/real/process-bad.toml", "exec sleep 100");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the run ended on time"
    );
    assert_eq!(verdict["passed"], false, "nothing was judged: {verdict}");
}
