//! The same client, server and proxy code over real loopback TCP (`tokio::net`).

use std::time::Duration;

use tokio::sync::mpsc;
use wsim::client::handshake::WsUrl;
use wsim::client::{ClientConfig, ClientDriver, ClientIdentity, ClientMachine};
use wsim::clock::MonoTime;
use wsim::event::{Event, EventKind};
use wsim::net::TokioConnector;
use wsim::proxy::control::ProxyControl;
use wsim::proxy::ProxyConfig;
use wsim::server::{ServerConfig, ServerMachine};
use wsim::timeline::Recorder;

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
fn chat_flows_through_the_proxy_over_real_tcp() {
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
        tokio::task::spawn_local(wsim::server::serve(
            server,
            ServerMachine::new(ServerConfig::default()),
            recorder.sink("server"),
        ));
        tokio::task::spawn_local(wsim::proxy::run(
            proxy,
            TokioConnector,
            ProxyConfig {
                upstream: server_addr.to_string(),
                connect_timeout: Duration::from_secs(5),
            },
            ProxyControl::new(),
            recorder.sink("proxy"),
        ));
        let url = WsUrl::parse(&format!("ws://{proxy_addr}/ws")).expect("url");
        let mut handles = Vec::new();
        for name in ["alice", "bob"] {
            let machine = ClientMachine::new(
                ClientConfig::default(),
                ClientIdentity {
                    client_id: name.into(),
                    username: name.into(),
                    room: "lobby".into(),
                },
                wsim::seed::derive_rng(1, name),
                MonoTime::ZERO,
                Duration::ZERO,
            );
            let (driver, handle) =
                ClientDriver::new(machine, TokioConnector, url.clone(), recorder.sink("local"));
            tokio::task::spawn_local(driver.run());
            wait_for(
                &mut rx,
                |e| matches!(&e.kind, EventKind::Connected { client, .. } if client == name),
            )
            .await;
            handles.push(handle);
        }
        handles[0].send("hello bob");
        let got = wait_for(&mut rx, |e| {
            matches!(&e.kind, EventKind::MessageReceived { .. })
        })
        .await;
        assert_eq!(
            got.kind,
            EventKind::MessageReceived {
                client: "bob".into(),
                msg_id: "alice:1".into(),
                seq: 1,
                from: "alice".into()
            }
        );
        handles[1].close();
        wait_for(
            &mut rx,
            |e| matches!(&e.kind, EventKind::SessionClosed { client, .. } if client == "bob"),
        )
        .await;
    });
}
