//! Builds the turmoil world for one (scenario, seed): hosts `server`, `proxy` and the
//! scenario's client hosts, each client host running its clients as local tasks (turmoil's
//! per-step cost grows with hosts, not tasks).

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use crate::client::handshake::WsUrl;
use crate::client::sleep::HostSleep;
use crate::client::{Client, ClientIdentity, ClientIo, ClientMachine};
use crate::clock::MonoTime;
use crate::proxy::control::ProxyControl;
use crate::scenario::load::group_name;
use crate::scenario::ScenarioFile;
use crate::seed::derive_rng;
use crate::server::ServerMachine;
use crate::sim::net::TurmoilConnector;
use crate::sim::plan::draw;
use crate::timeline::Recorder;
use crate::wallclock::{WallClock, WallSource, SIM_EPOCH_UNIX_MS};

/// The server's port inside the simulation.
pub const SERVER_PORT: u16 = 9000;
/// The proxy's port inside the simulation.
pub const PROXY_PORT: u16 = 8080;

/// One client to run, with its drawn start offset.
#[derive(Debug, Clone)]
struct ClientPlan {
    identity: ClientIdentity,
    start: Duration,
    send_every: Option<Duration>,
}

/// A built simulation and the handles the fault executor acts through.
pub struct World<'a> {
    /// The turmoil simulation.
    pub sim: turmoil::Sim<'a>,
    /// Fault injection into the proxy's live connections.
    pub proxy: Rc<ProxyControl>,
    /// Every host's wall clock, by host name.
    pub clocks: BTreeMap<String, Rc<WallClock>>,
    /// Every client host's sleep switch, by host name.
    pub sleeps: BTreeMap<String, Rc<HostSleep>>,
}

/// Builds the simulation of `scenario` for `seed`, recording into `recorder`.
pub fn build<'a>(scenario: &ScenarioFile, seed: u64, recorder: &Rc<Recorder>) -> World<'a> {
    let mut sim = turmoil::Builder::new()
        .rng_seed(seed)
        .epoch(SystemTime::UNIX_EPOCH + Duration::from_millis(SIM_EPOCH_UNIX_MS as u64))
        .tick_duration(scenario.tick.0)
        // The run loop stops at the scenario's duration; this only has to be longer.
        .simulation_duration(scenario.duration.0 + Duration::from_secs(3600))
        .min_message_latency(scenario.network.latency.min)
        .max_message_latency(scenario.network.latency.max)
        .tcp_capacity(4096)
        .build();

    let mut clocks = BTreeMap::new();
    for host in ["server", "proxy"]
        .into_iter()
        .map(str::to_string)
        .chain(scenario.client_hosts())
    {
        clocks.insert(host, WallClock::new());
    }
    let server_config = scenario.server_config();
    let server_sink = recorder.sink("server");
    let server_clock = Rc::clone(&clocks["server"]);
    sim.host("server", move || {
        let config = server_config.clone();
        let sink = server_sink.clone();
        let wall = WallSource::Sim(Rc::clone(&server_clock));
        async move {
            let listener = turmoil::net::TcpListener::bind(("0.0.0.0", SERVER_PORT)).await?;
            let machine = ServerMachine::new(config, derive_rng(seed, "server"));
            crate::server::serve(listener, machine, wall, sink).await;
            Ok(())
        }
    });

    let proxy_config = scenario.proxy_config(format!("server:{SERVER_PORT}"));
    let proxy_sink = recorder.sink("proxy");
    let proxy_control = ProxyControl::new();
    let control = Rc::clone(&proxy_control);
    sim.host("proxy", move || {
        let config = proxy_config.clone();
        let sink = proxy_sink.clone();
        let control = Rc::clone(&control);
        async move {
            let listener = turmoil::net::TcpListener::bind(("0.0.0.0", PROXY_PORT)).await?;
            crate::proxy::run(listener, TurmoilConnector, config, control, sink).await;
            Ok(())
        }
    });

    let mut sleeps = BTreeMap::new();
    for host in scenario.client_hosts() {
        let plans = client_plans(scenario, seed, &host);
        let host_sleep = HostSleep::new();
        sleeps.insert(host.clone(), Rc::clone(&host_sleep));
        let config = scenario.client_config();
        let sink = recorder.sink(&host);
        let host_clock = Rc::clone(&clocks[&host]);
        sim.host(host.as_str(), move || {
            let plans = plans.clone();
            let config = config.clone();
            let sink = sink.clone();
            let host_clock = Rc::clone(&host_clock);
            let host_sleep = Rc::clone(&host_sleep);
            async move {
                let url = WsUrl {
                    authority: format!("proxy:{PROXY_PORT}"),
                    path: "/ws".into(),
                };
                for plan in plans {
                    let rng = derive_rng(seed, &format!("client/{}", plan.identity.client_id));
                    let machine = ClientMachine::new(
                        config.clone(),
                        plan.identity.clone(),
                        rng,
                        MonoTime::ZERO,
                        plan.start,
                    );
                    let io = ClientIo {
                        sink: Some(sink.clone()),
                        app_events: false,
                        wall: WallSource::Sim(Rc::clone(&host_clock)),
                        sleep: Some(Rc::clone(&host_sleep)),
                    };
                    let client = Client::spawn(machine, TurmoilConnector, url.clone(), io);
                    let sleep = Rc::clone(&host_sleep);
                    tokio::task::spawn_local(chat(client, sleep, plan.start, plan.send_every));
                }
                std::future::pending::<()>().await;
                Ok(())
            }
        });
    }
    World {
        sim,
        proxy: proxy_control,
        clocks,
        sleeps,
    }
}

/// The workload of one simulated user: a message every `every`, starting one period after
/// `start`; a sleeping host sends nothing until it wakes. Without a period the handle is kept,
/// so the client stays open.
async fn chat(client: Client, sleep: Rc<HostSleep>, start: Duration, every: Option<Duration>) {
    let Some(every) = every else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::time::sleep(start).await;
    let mut n = 0u64;
    loop {
        tokio::time::sleep(every).await;
        sleep.until_awake().await;
        n += 1;
        // A full buffer refuses the message; the workload has no one to tell and moves on.
        let _ = client.send(format!("message {n}"));
    }
}

/// The clients of `host`, with ids `<group>-<i>` and start offsets drawn from the seed.
fn client_plans(scenario: &ScenarioFile, seed: u64, host: &str) -> Vec<ClientPlan> {
    let mut rng = derive_rng(seed, &format!("starts/{host}"));
    let mut plans = Vec::new();
    for (gi, group) in scenario.clients.iter().enumerate() {
        if group.host != host {
            continue;
        }
        let name = group_name(gi, group.name.as_deref());
        for i in 0..group.count {
            let client_id = format!("{name}-{i}");
            plans.push(ClientPlan {
                identity: ClientIdentity {
                    username: client_id.clone(),
                    client_id,
                    room: group.room.clone(),
                },
                start: draw(&mut rng, group.start),
                send_every: group.send_every.0,
            });
        }
    }
    plans
}
