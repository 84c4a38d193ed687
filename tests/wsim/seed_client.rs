//! The seed article's own client, `ResilientWebSocket` (JavaScript, unchanged), in Node against
//! `wsim serve` behind `wsim proxy` idle kills: every message it sends arrives once, in order,
//! and its room sees it go away and come back each time (the article's session contract:
//! recovery by `client_id` within the grace period).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::proxy_idle::Proxy;
use crate::serve::Server;
use crate::support::wait_bounded;

/// Node with a global `WebSocket` (Node 20 needs the flag), or `None` where it is missing.
pub(crate) fn node() -> Option<&'static str> {
    let ok = Command::new("node")
        .args([
            "--experimental-websocket",
            "-e",
            "process.exit(typeof WebSocket === 'function' ? 0 : 1)",
        ])
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some("node")
}

#[test]
fn the_seed_articles_client_survives_idle_kills_with_nothing_lost() {
    let Some(node) = node() else {
        // Every machine of this project has Node 20; CI must not skip this silently.
        assert!(
            std::env::var_os("CI").is_none(),
            "node (20+) is required for this test"
        );
        eprintln!("SKIPPED: node with a global WebSocket is not installed");
        return;
    };
    let server = Server::start();
    let proxy = Proxy::start_with(&server.addr, &["--idle-timeout", "2s"]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/seed-client/run.mjs");
    let mut child = Command::new(node)
        .arg("--experimental-websocket")
        .arg("--no-warnings")
        .arg(&script)
        .arg(format!("ws://{}/ws", proxy.addr))
        .arg(format!("ws://{}/ws", server.addr))
        .arg("3")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("node starts");
    // Bounded: the script gives up on its own after 20 s per step; this is the backstop.
    let status = wait_bounded(&mut child, Duration::from_secs(90), "the seed client run");
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout"), &mut out)
        .expect("output");
    let kills = proxy
        .events_so_far()
        .iter()
        .filter(|e| e["event"] == "idle_kill")
        .count();
    let refused: Vec<serde_json::Value> = server
        .events()
        .into_iter()
        .filter(|e| e["event"] == "resume_refused" || e["event"] == "handshake_refused")
        .collect();
    assert!(status.success(), "seed client run failed: {out}");
    assert!(
        kills >= 3,
        "the proxy killed the idle connection each cycle ({kills})"
    );
    assert!(refused.is_empty(), "no reconnect was refused: {refused:?}");
}
