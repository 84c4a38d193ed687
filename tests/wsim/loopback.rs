//! The same client, server and proxy code over real loopback TCP (`tokio::net`).

use std::time::Duration;

use tokio::sync::mpsc;
use wsim::event::{ClientEvent, DisconnectReason, Event, EventKind, ServerEvent};
use wsim::timeline::Recorder;
use wsim_client::handshake::WsUrl;
use wsim_client::{Client, ClientConfig, ClientIdentity, ClientIo, ClientMachine};
use wsim_proto::clock::MonoTime;
use wsim_proto::keepalive::KeepaliveConfig;
use wsim_proto::net::TokioConnector;
use wsim_proto::wallclock::WallSource;
use wsim_proxy::ProxyConfig;
use wsim_proxy::ProxyControl;
use wsim_server::{ServerConfig, ServerMachine};

/// Waits (event-driven, bounded) for the first event matching `want`.
async fn wait_for(rx: &mut mpsc::UnboundedReceiver<Event>, want: impl Fn(&Event) -> bool) -> Event {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let e = rx.recv().await.expect("event stream open");
            if want(&e) {
                return e;
            }
        }
    })
    .await
    .expect("the event arrived in time")
}

#[test]
fn client_reconnects_for_real_after_its_connections_are_killed() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    tokio::task::LocalSet::new().block_on(&rt, async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let recorder = Recorder::live(move |e| {
            let _ = tx.send(e.clone());
        });
        let server = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let server_addr = server.local_addr().expect("addr");
        let proxy = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let proxy_addr = proxy.local_addr().expect("addr");
        tokio::task::spawn_local(wsim_server::serve(
            server,
            ServerMachine::new(ServerConfig::default(), wsim_proto::seed::os_rng()),
            wsim::route::server_sink(&recorder.sink("server")),
        ));
        let control = ProxyControl::new();
        tokio::task::spawn_local(wsim_proxy::run(
            proxy,
            TokioConnector,
            ProxyConfig {
                upstream: server_addr.to_string(),
                connect_timeout: Duration::from_secs(5),
                idle: wsim_proxy::IdleConfig::default(),
            },
            std::rc::Rc::clone(&control),
            wsim::route::proxy_sink(&recorder.sink("proxy")),
        ));
        let url = WsUrl::parse(&format!("ws://{proxy_addr}/ws")).expect("url");
        // Short intervals so a dead link is found within a second of real time.
        let config = ClientConfig {
            keepalive: KeepaliveConfig {
                interval: Some(Duration::from_millis(200)),
                timeout: Some(Duration::from_millis(300)),
            },
            server_silence: None,
            ..ClientConfig::default()
        };
        let mut clients = Vec::new();
        for name in ["alice", "bob"] {
            let machine = ClientMachine::new(
                config.clone(),
                ClientIdentity {
                    client_id: name.into(),
                    username: name.into(),
                    room: "lobby".into(),
                },
                wsim_proto::seed::derive_rng(1, name),
                MonoTime::ZERO,
                Duration::ZERO,
            );
            let io = ClientIo {
                sink: Some(wsim::route::client_sink(&recorder.sink("local"), name)),
                app_events: false,
                wall: WallSource::Real,
                sleep: None,
            };
            clients.push(Client::spawn(machine, TokioConnector, url.clone(), io));
            wait_for(&mut rx, |e| {
                matches!(&e.kind, EventKind::Client { client, event: ClientEvent::Connected { .. } } if client == name)
            })
            .await;
        }
        let id = clients[0].send("hello bob").expect("sent");
        let got = wait_for(&mut rx, |e| matches!(&e.kind, EventKind::Client { event: ClientEvent::Message { .. }, .. })).await;
        assert!(
            matches!(
                &got.kind,
                EventKind::Client { client, event: ClientEvent::Message { msg_id, seq: 1, from, .. } }
                    if client == "bob" && *msg_id == id && from == "alice"
            ),
            "{:?}",
            got.kind
        );
        if clients[0].pending() > 0 {
            wait_for(&mut rx, |e| {
                matches!(&e.kind, EventKind::Client { event: ClientEvent::MessageAcked { msg_id, .. }, .. } if *msg_id == id)
            })
            .await;
        }
        assert_eq!(clients[0].pending(), 0);

        // Kill every connection silently (a NAT forgetting them): keepalive must find out and
        // the clients must come back on their own.
        assert_eq!(control.blackhole(|_| true), 2);
        // Each client detects and reconnects on its own jittered schedule: in either order.
        let mut detected = std::collections::BTreeSet::new();
        while detected.len() < 2 {
            let e = wait_for(&mut rx, |e| {
                matches!(&e.kind, EventKind::Client { event: ClientEvent::Disconnected { reason: DisconnectReason::PingTimeout, .. }, .. })
            })
            .await;
            if let EventKind::Client { client, event: ClientEvent::Disconnected { .. } } = e.kind {
                detected.insert(client);
            }
        }
        let mut back = std::collections::BTreeSet::new();
        while back.len() < 2 {
            let e = wait_for(&mut rx, |e| matches!(&e.kind, EventKind::Client { event: ClientEvent::Connected { .. }, .. })).await;
            if let EventKind::Client { client, event: ClientEvent::Connected { .. } } = e.kind {
                back.insert(client);
            }
        }
        let id = clients[1].send("back again").expect("sent");
        wait_for(&mut rx, |e| {
            matches!(&e.kind, EventKind::Client { client, event: ClientEvent::Message { msg_id, .. } } if client == "alice" && *msg_id == id)
        })
        .await;
        clients[1].close();
        wait_for(&mut rx, |e| {
            matches!(&e.kind, EventKind::Server(ServerEvent::SessionClosed { client, .. }) if client == "bob")
        })
        .await;
    });
}
