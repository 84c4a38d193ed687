//! `wsim serve`, `wsim proxy` and `wsim client`: the same components on a real network
//! (`tokio::net`), printing their events live.

use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use tokio::io::AsyncBufReadExt;

use crate::cli::{Format, EXIT_BAD_INPUT, EXIT_FAIL, EXIT_PASS};
use wsim::render;
use wsim::timeline::Recorder;
use wsim_client::handshake::WsUrl;
use wsim_client::{Client, ClientConfig, ClientEvent, ClientIdentity, ClientIo, ClientMachine};
use wsim_proto::clock::MonoTime;
use wsim_proto::net::TokioConnector;
use wsim_proto::wallclock::WallSource;
use wsim_server::ServerConfig;

pub(crate) use wsim::real::raise_fd_limit;

/// A recorder that prints each event as it happens.
fn printer(format: Format) -> Rc<Recorder> {
    Recorder::live(move |event| match format {
        Format::Text => println!("{}", render::text_line(event)),
        Format::Jsonl => println!("{}", render::json_line(event)),
    })
}

/// Runs `f` on a single-threaded runtime inside a `LocalSet` (the drivers spawn local tasks).
pub(crate) fn block_on<F: std::future::Future<Output = ExitCode>>(f: F) -> ExitCode {
    wsim::real::block_on(f).unwrap_or_else(|e| {
        eprintln!("error: cannot start the runtime: {e}");
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

pub(crate) fn serve(listen: &str, config: ServerConfig, format: Format) -> ExitCode {
    raise_fd_limit();
    block_on(async {
        // The printer lives as long as the server: its sinks reach it by name, not by owning it.
        let printer = printer(format);
        let sink = wsim::route::server_sink(&printer.sink("server"));
        match wsim::real::serve(listen, "wsim serve", config, sink).await {
            Ok(()) => ExitCode::from(EXIT_PASS),
            Err(e) => {
                eprintln!("error: cannot listen on {listen}: {e}");
                ExitCode::from(EXIT_BAD_INPUT)
            }
        }
    })
}

/// A TLS connector for `url` (system roots plus `ca_file`) whose certificate a first
/// handshake has accepted, or why not, in the TLS library's words.
async fn tls_connector(
    url: &WsUrl,
    ca_file: Option<&std::path::Path>,
) -> Result<wsim_client::tls::TlsConnector<TokioConnector>, String> {
    use wsim_client::tls;
    let config = tls::client_config(ca_file).map_err(|e| e.to_string())?;
    let connector =
        tls::TlsConnector::new(TokioConnector, config, url.host()).map_err(|e| e.to_string())?;
    let probe = tls::probe(&connector, &url.authority);
    match tokio::time::timeout(Duration::from_secs(5), probe).await {
        Ok(Ok(())) => Ok(connector),
        Ok(Err(e)) if ca_file.is_none() && e.to_string().contains("certificate") => Err(format!(
            "the server's certificate was refused: {e} (a staging or self-signed certificate? \
             give its CA with --ca-file)"
        )),
        Ok(Err(e)) => Err(format!("the server's certificate was refused: {e}")),
        Err(_) => Err("no TLS handshake within 5 s (does it speak TLS?)".to_string()),
    }
}

/// How long after a link comes up the server's `welcome` must arrive.
const WELCOME_WAIT: Duration = Duration::from_secs(5);

pub(crate) fn client(
    url: &str,
    ca_file: Option<&std::path::Path>,
    room: &str,
    name: &str,
    client_id: Option<String>,
    drain_wait: Duration,
    format: Format,
) -> ExitCode {
    let url = match WsUrl::parse(url) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let identity = ClientIdentity {
        client_id: client_id.unwrap_or_else(|| name.to_string()),
        username: name.to_string(),
        room: room.to_string(),
    };
    let client_id = identity.client_id.clone();
    block_on(async move {
        let rng = wsim_proto::seed::os_rng();
        let machine = ClientMachine::new(
            ClientConfig::default(),
            identity,
            rng,
            MonoTime::ZERO,
            std::time::Duration::ZERO,
        );
        let printer = printer(format);
        let sink = wsim::route::client_sink(&printer.sink("client"), &client_id);
        let io = ClientIo {
            sink: Some(sink),
            app_events: true,
            wall: WallSource::Real,
            sleep: None,
        };
        let mut client = if url.tls {
            match tls_connector(&url, ca_file).await {
                Ok(connector) => Client::spawn(machine, connector, url, io),
                Err(why) => {
                    eprintln!("error: TLS to {}: {why}", url.authority);
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
            }
        } else {
            Client::spawn(machine, TokioConnector, url, io)
        };
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        let mut stdin_open = true;
        // Set once stdin has ended: the latest time to wait for acknowledgements.
        let clock = wsim_proto::clock::HostClock::start();
        let mut drain_deadline: Option<MonoTime> = None;
        // Set when a link comes up: when the server's `welcome` must have arrived by.
        let mut welcome_deadline: Option<MonoTime> = None;
        let mut warned = false;
        loop {
            if drain_deadline.is_some() && client.pending() == 0 {
                client.close();
                return ExitCode::from(EXIT_PASS);
            }
            tokio::select! {
                biased;
                event = client.next_event() => match event {
                    Some(ClientEvent::Message { username, text, .. }) => println!("<{username}> {text}"),
                    Some(ClientEvent::Presence { kind, username }) => println!("* {username}: {kind:?}"),
                    Some(ClientEvent::Connected { .. }) if !warned => {
                        welcome_deadline = Some(clock.now() + WELCOME_WAIT);
                    }
                    Some(ClientEvent::UpgradeRefused { status }) => {
                        eprintln!("warning: the server answered the upgrade request with HTTP {status}; retrying");
                    }
                    Some(ClientEvent::GaveUp { .. }) | None => break,
                    Some(_) => {}
                },
                () = clock.sleep_until(welcome_deadline), if welcome_deadline.is_some() => {
                    welcome_deadline = None;
                    if !client.has_session() {
                        warned = true;
                        eprintln!(
                            "warning: connected, but the server sent no `welcome` within {}s: it does not seem to speak wsim's protocol (docs/protocol.md), so messages will not be acknowledged",
                            WELCOME_WAIT.as_secs()
                        );
                    }
                }
                () = clock.sleep_until(drain_deadline), if drain_deadline.is_some() => {
                    let ids = client.pending_ids();
                    eprintln!(
                        "error: input ended; {} message(s) still unacknowledged after {}s: {}",
                        ids.len(),
                        drain_wait.as_secs_f64(),
                        ids.join(", ")
                    );
                    client.close();
                    return ExitCode::from(EXIT_FAIL);
                }
                line = lines.next_line(), if stdin_open => match line {
                    Ok(Some(line)) if !line.trim().is_empty() => {
                        if let Err(e) = client.send(line) {
                            eprintln!("not sent: {e}");
                        }
                    }
                    Ok(Some(_)) => {}
                    // End of input: exit once every message is acknowledged, or at the deadline.
                    Ok(None) | Err(_) => {
                        stdin_open = false;
                        drain_deadline = Some(clock.now() + drain_wait);
                    }
                },
            }
        }
        ExitCode::from(EXIT_PASS)
    })
}
