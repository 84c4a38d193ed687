//! `wss://` targets: `wsim drive` and `wsim client` speak TLS (rustls) to a loopback server
//! behind a TLS terminator with a self-signed certificate made for the test (rcgen). With the
//! certificate's CA file given, a drive through a partition passes — the proxy relays the TLS
//! bytes unchanged and still knows whose connection each is; without it the target is refused
//! before the run, naming the certificate problem. Loopback only; every process is killed and
//! the terminator's thread ends with the test.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::rustls;

use crate::support::wait_bounded;

fn wsim() -> &'static str {
    env!("CARGO_BIN_EXE_wsim")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tls-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A child process killed when dropped.
pub(crate) struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `wsim serve` with the scenario's settings on a free loopback port; its port.
#[allow(clippy::disallowed_methods)] // real processes on loopback, not the simulation
pub(crate) fn serve() -> (Killed, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(wsim())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args([
            "--grace",
            "10s",
            "--ping-interval",
            "4s",
            "--ping-timeout",
            "2s",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("wsim serve starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "wsim serve never listened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (Killed(child), port)
}

/// A TLS terminator for `localhost` in front of `upstream` (a thread of its own with a
/// runtime: the test's, not the simulation's); its port and the CA file (the self-signed
/// certificate) written into `dir`.
#[allow(clippy::disallowed_methods)] // a real loopback server for the test
fn terminator(dir: &Path, upstream: u16) -> (u16, PathBuf) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .expect("a self-signed certificate");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, certified.cert.pem()).expect("the CA file");
    let cert = certified.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into());
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("the certificate");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return; // a client that refused our certificate
                    };
                    let Ok(mut plain) =
                        tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                    else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
    });
    (port, ca)
}

/// `wsim drive tests/real/tls.toml` against `target` with `extra` flags: exit code, stdout,
/// stderr.
#[allow(clippy::disallowed_methods)] // a real process's output, read beside its wait
fn drive(dir: &Path, target: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/real/tls.toml");
    let mut child = Command::new(wsim())
        .arg("drive")
        .arg(scenario)
        .args(["--target", target, "--format", "jsonl"])
        .args(extra)
        .arg("--report-dir")
        .arg(dir.join("reports"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wsim drive starts");
    let (mut out, mut err) = (String::new(), String::new());
    let (mut stdout, mut stderr) = (
        child.stdout.take().expect("stdout"),
        child.stderr.take().expect("stderr"),
    );
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let status = wait_bounded(&mut child, Duration::from_secs(90), "wsim drive");
    let _ = stderr.read_to_string(&mut err);
    out.push_str(&reader.join().unwrap_or_default());
    (status.code(), out, err)
}

#[test]
fn a_wss_target_is_driven_through_the_proxy_and_a_bad_certificate_refused() {
    let dir = scratch("drive");
    let (_server, plain) = serve();
    let (port, ca) = terminator(&dir, plain);
    let target = format!("wss://localhost:{port}/ws");

    // Without the CA file: refused before the run, the TLS library's reason and the remedy.
    let (code, _, err) = drive(&dir, &target, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("certificate for localhost was refused")
            && err.contains("UnknownIssuer")
            && err.contains("--ca-file"),
        "{err}"
    );

    // With it: the run passes, the partition applied to TLS connections the proxy identified.
    let ca_flag = ca.display().to_string();
    let (code, out, err) = drive(&dir, &target, &["--ca-file", &ca_flag]);
    let events: Vec<serde_json::Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let verdict = events.last().cloned().unwrap_or_default();
    assert_eq!(code, Some(0), "{verdict}\n{err}");
    assert_eq!(verdict["passed"], true, "{verdict}");
    let count = |name: &str, client: &str| {
        events
            .iter()
            .filter(|e| {
                e["event"] == name && e["client"].as_str().is_some_and(|c| c.starts_with(client))
            })
            .count()
    };
    assert!(
        count("message_received", "stay") > 10,
        "messages flowed over TLS"
    );
    assert!(
        count("disconnected", "away") >= 2,
        "the partition of phones reached its TLS connections through the proxy"
    );
    assert_eq!(count("disconnected", "stay"), 0, "desks were never cut off");
    // `wsim client` refuses the same certificate without the CA file, naming it.
    let out = Command::new(wsim())
        .args(["client", "--url", &target, "--name", "probe"])
        .stdin(Stdio::null())
        .output()
        .expect("wsim client runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("UnknownIssuer") && err.contains("--ca-file"),
        "{err}"
    );
}
