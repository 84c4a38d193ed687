//! `wsim client` on a real network: it ends when its input ends and everything was
//! acknowledged; against a server that does not speak the protocol it warns once and exits
//! after a bounded wait naming what was left unacknowledged.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::serve::Server;
use crate::support::wait_bounded;

/// Runs `wsim client` against `url` with `input` on stdin; returns (exit code, stderr).
fn run_client(url: &str, input: &str, extra: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsim"))
        .args(["client", "--url", url, "--name", "cli"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wsim client starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let status = wait_bounded(&mut child, Duration::from_secs(30), "wsim client");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
        .expect("stderr");
    (status.code(), err)
}

#[test]
fn exits_when_input_ends_and_everything_is_acknowledged() {
    let server = Server::start();
    let (code, err) = run_client(&format!("ws://{}/ws", server.addr), "hello\nworld\n", &[]);
    assert_eq!(code, Some(0), "{err}");
}

#[test]
#[allow(clippy::disallowed_methods)] // the silent server runs on its own thread
fn warns_once_and_gives_up_on_a_server_that_never_acknowledges() {
    // A WebSocket server that accepts and reads, and never says a word.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        return;
                    };
                    tokio::spawn(async move {
                        if let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await {
                            use futures_util::StreamExt;
                            while let Some(Ok(_)) = ws.next().await {}
                        }
                    });
                }
            });
    });
    let (code, err) = run_client(
        &format!("ws://{addr}/ws"),
        "hello\n",
        &["--drain-timeout", "7s"],
    );
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.matches("sent no `welcome`").count(), 1, "{err}");
    assert!(
        err.contains("1 message(s) still unacknowledged")
            // The first message of this life of client `cli`: `cli:<6 hex digits>.1`.
            && err
                .split("cli:")
                .nth(1)
                .is_some_and(|rest| rest.get(6..8) == Some(".1")),
        "{err}"
    );
}
