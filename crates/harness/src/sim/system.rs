//! wsim's own client, server and proxy as systems under test: the default implementations of
//! the [`crate::sim::seam`] traits, configured from the scenario file.

use std::rc::Rc;

use wsim_client::handshake::WsUrl;
use wsim_client::{Client, ClientConfig, ClientIo, ClientMachine};
use wsim_proto::{LocalBoxFuture, MonoTime};
use wsim_proxy::ProxyConfig;
use wsim_server::{ServerConfig, ServerMachine};

use crate::naive::{NaiveClient, NaiveServer};
use crate::scenario::model::Implementation;
use crate::scenario::ScenarioFile;
use crate::sim::seam::Stepping;
use crate::sim::seam::{
    ClientApp, ClientHost, ClientUnderTest, HostResult, ProxyHost, ProxyUnderTest, ServerHost,
    ServerUnderTest, System,
};

/// wsim's session manager ([`wsim_server`]).
#[derive(Debug, Clone)]
pub struct WsimServer {
    /// Its settings.
    pub config: ServerConfig,
}

impl ServerUnderTest for WsimServer {
    fn announces_timers(&self) -> bool {
        true
    }

    fn run(&self, host: ServerHost) -> LocalBoxFuture<HostResult> {
        let machine = ServerMachine::new(self.config.clone(), host.rng);
        Box::pin(async move {
            wsim_server::serve(host.listener, machine, host.events).await;
            Ok(())
        })
    }
}

/// wsim's resilient client ([`wsim_client`]).
#[derive(Debug, Clone)]
pub struct WsimClient {
    /// Its settings.
    pub config: ClientConfig,
}

impl ClientUnderTest for WsimClient {
    fn announces_timers(&self) -> bool {
        true
    }

    fn start(&self, host: ClientHost) -> Box<dyn ClientApp> {
        let machine = ClientMachine::new(
            self.config.clone(),
            host.identity,
            host.rng,
            MonoTime::ZERO,
            host.start,
        );
        let io = ClientIo {
            sink: Some(host.events),
            app_events: false,
            wall: host.wall,
            sleep: Some(host.sleep),
        };
        let url = WsUrl::parse(&host.url).expect("the topology builds a valid URL");
        Box::new(Client::spawn(machine, host.connector, url, io))
    }
}

impl ClientApp for Client {
    fn send(&self, text: String) {
        // A full buffer refuses the message; the workload has no one to tell and moves on.
        let _ = Client::send(self, text);
    }
}

/// wsim's idle-killing proxy ([`wsim_proxy`]).
#[derive(Debug, Clone)]
pub struct WsimProxy {
    /// Its settings (the upstream is filled in from the host).
    pub config: ProxyConfig,
}

impl ProxyUnderTest for WsimProxy {
    fn announces_timers(&self) -> bool {
        true
    }

    fn run(&self, host: ProxyHost) -> LocalBoxFuture<HostResult> {
        let config = ProxyConfig {
            upstream: host.upstream,
            ..self.config.clone()
        };
        Box::pin(async move {
            wsim_proxy::run(
                host.listener,
                host.connector,
                config,
                host.control,
                host.events,
            )
            .await;
            Ok(())
        })
    }
}

impl System {
    /// The systems `scenario`'s `[system]` table names, configured by the scenario.
    #[must_use]
    pub fn for_scenario(scenario: &ScenarioFile) -> System {
        let mut system = System::wsim(scenario);
        if scenario.system.server == Implementation::Naive {
            system.server = Rc::new(NaiveServer {
                grace: scenario.server.grace.0,
                dedup_ttl: scenario.server.dedup_ttl.0,
            });
        }
        if scenario.system.client == Implementation::Naive {
            system.client = Rc::new(NaiveClient::default());
        }
        system
    }

    /// wsim's own client, server and proxy, configured by `scenario`.
    #[must_use]
    pub fn wsim(scenario: &ScenarioFile) -> System {
        System {
            server: Rc::new(WsimServer {
                config: scenario.server_config(),
            }),
            client: Rc::new(WsimClient {
                config: scenario.client_config(),
            }),
            proxy: Rc::new(WsimProxy {
                config: scenario.proxy_config(String::new()),
            }),
            stepping: Stepping::default(),
        }
    }
}
