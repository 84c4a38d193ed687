//! `wsim proxy` on a real network, as a test suite in any language drives it: the control API
//! over plain HTTP (hold, release, reset, latency, one-way loss, state loss, bad requests)
//! and `--scenario`'s wall-clock schedule, logged as the simulation logs it. Loopback only;
//! every process is killed when its test ends.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn wsim() -> &'static str {
    env!("CARGO_BIN_EXE_wsim")
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

/// A `wsim proxy` relaying to `upstream` with its control API on: the process, the relay's
/// address and the API's.
fn controlled_proxy(upstream: &str) -> (ProxyProcess, String, String) {
    let proxy = ProxyProcess::start(&[
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        upstream,
        "--control",
        "127.0.0.1:0",
    ]);
    let relay = proxy.address_after("listening on ");
    let api = proxy.address_after("control API on http://");
    (proxy, relay, api)
}

#[test]
fn the_control_api_holds_releases_and_resets_a_clients_connection_over_plain_http() {
    let server = crate::serve::Server::start();
    let (proxy, relay, api) = controlled_proxy(&server.addr);
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
        &Path::new(env!("CARGO_MANIFEST_DIR"))
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
fn faults_from_the_control_api_delay_drop_and_refuse_as_documented() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let server = crate::serve::Server::start();
    let (proxy, relay, api) = controlled_proxy(&server.addr);
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
