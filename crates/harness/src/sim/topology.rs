//! Builds the turmoil world for one (scenario, seed): hosts `server`, `proxy` and the
//! scenario's client hosts, each client host running its clients as local tasks (turmoil's
//! per-step cost grows with hosts, not tasks).

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use wsim_client::ClientIdentity;
use wsim_client::HostSleep;
use wsim_proxy::ProxyControl;

use crate::route;
use crate::scenario::duration::DurRange;
use crate::scenario::ScenarioFile;
use crate::schedule::plan::draw;
use crate::seed::derive_rng;
use crate::sim::net::{SimListener, TurmoilConnector};
use crate::sim::seam::{ClientApp, ClientHost, ProxyHost, ServerHost, System};
use crate::timeline::Recorder;
use crate::wallclock::{self, WallClock, SIM_EPOCH_UNIX_MS};

/// The server's port inside the simulation.
pub const SERVER_PORT: u16 = 9000;
/// The proxy's port inside the simulation.
pub const PROXY_PORT: u16 = 8080;

/// One client to run, with its drawn start offset.
#[derive(Debug, Clone)]
pub struct ClientPlan {
    /// Who the client is: its id (also its username) and room.
    pub identity: ClientIdentity,
    /// When it starts, drawn from its group's range.
    pub start: Duration,
    /// How often it sends a chat message, if it does.
    pub send_every: Option<Duration>,
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

/// Builds the simulation of `scenario` for `seed` with `system` under test, recording into
/// `recorder`.
pub fn build<'a>(
    scenario: &ScenarioFile,
    seed: u64,
    system: &System,
    recorder: &Rc<Recorder>,
) -> World<'a> {
    let mut sim = sim_builder(scenario, seed).build();

    let mut clocks = BTreeMap::new();
    for host in ["server", "proxy"]
        .into_iter()
        .map(str::to_string)
        .chain(scenario.client_hosts())
    {
        clocks.insert(host, WallClock::new());
    }

    let server = Rc::clone(&system.server);
    let server_events = route::server_sink(&recorder.sink("server"));
    let server_clock = Rc::clone(&clocks["server"]);
    let server_config = scenario.server_config();
    let server_starts = Rc::new(std::cell::Cell::new(0u32));
    sim.host("server", move || {
        let rng = incarnation_rng(seed, "server", &server_starts);
        let server = Rc::clone(&server);
        let events = server_events.clone();
        let wall = wallclock::source(&server_clock);
        let server_config = server_config.clone();
        async move {
            let listener = SimListener::bind(SERVER_PORT).await?;
            let host = ServerHost {
                listener,
                rng,
                wall,
                config: server_config.clone(),
                events,
            };
            server.run(host).await
        }
    });

    let proxy = Rc::clone(&system.proxy);
    let proxy_events = route::proxy_sink(&recorder.sink("proxy"));
    let proxy_control = ProxyControl::new();
    let control = Rc::clone(&proxy_control);
    sim.host("proxy", move || {
        let proxy = Rc::clone(&proxy);
        let events = proxy_events.clone();
        let control = Rc::clone(&control);
        async move {
            let listener = SimListener::bind(PROXY_PORT).await?;
            let host = ProxyHost {
                listener,
                connector: TurmoilConnector,
                upstream: format!("server:{SERVER_PORT}"),
                control,
                events,
            };
            proxy.run(host).await
        }
    });

    let mut sleeps = BTreeMap::new();
    for host in scenario.client_hosts() {
        let plans = client_plans(scenario, seed, &host);
        let host_sleep = HostSleep::new();
        sleeps.insert(host.clone(), Rc::clone(&host_sleep));
        let client = Rc::clone(&system.client);
        let client_config = scenario.client_config();
        let timeline = recorder.sink(&host);
        let host_clock = Rc::clone(&clocks[&host]);
        let starts = Rc::new(std::cell::Cell::new(0u32));
        sim.host(host.as_str(), move || {
            // Purposes per start: a restarted host draws afresh, as a rebooted one would.
            let start = starts.get();
            starts.set(start + 1);
            let plans = plans.clone();
            let client_config = client_config.clone();
            let client = Rc::clone(&client);
            let timeline = timeline.clone();
            let host_clock = Rc::clone(&host_clock);
            let host_sleep = Rc::clone(&host_sleep);
            async move {
                for plan in plans {
                    let id = plan.identity.client_id.clone();
                    let app = client.start(ClientHost {
                        connector: TurmoilConnector,
                        url: format!("ws://proxy:{PROXY_PORT}/ws"),
                        identity: plan.identity,
                        start: plan.start,
                        config: client_config.clone(),
                        rng: derive_rng(seed, &restart_purpose(&format!("client/{id}"), start)),
                        wall: wallclock::source(&host_clock),
                        sleep: Rc::clone(&host_sleep),
                        events: route::client_sink(&timeline, &id),
                    });
                    let sleep = Rc::clone(&host_sleep);
                    tokio::task::spawn_local(chat(app, sleep, plan.start, plan.send_every));
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

/// turmoil configured for `scenario` and `seed`: its tick, latencies, a fixed epoch, streams
/// with room for 4,096 unread segments.
pub fn sim_builder(scenario: &ScenarioFile, seed: u64) -> turmoil::Builder {
    let mut builder = turmoil::Builder::new();
    builder
        .rng_seed(seed)
        .epoch(SystemTime::UNIX_EPOCH + Duration::from_millis(SIM_EPOCH_UNIX_MS as u64))
        .tick_duration(scenario.tick.0)
        // The run loop stops at the scenario's duration; this only has to be longer.
        .simulation_duration(scenario.duration.0 + Duration::from_secs(3600))
        .min_message_latency(scenario.network.latency.min)
        .max_message_latency(scenario.network.latency.max)
        .tcp_capacity(4096);
    builder
}

/// The name of a random stream for a host's `start`-th start: the first start keeps the plain
/// name, so a run without restarts draws as it always did.
fn restart_purpose(purpose: &str, start: u32) -> String {
    if start == 0 {
        purpose.to_string()
    } else {
        format!("{purpose}/restart-{start}")
    }
}

/// The random stream of the next start of a host whose starts `starts` counts: a restarted
/// server draws new session keys and a new incarnation id, as a rebooted one would.
fn incarnation_rng(seed: u64, purpose: &str, starts: &std::cell::Cell<u32>) -> crate::seed::SimRng {
    let start = starts.get();
    starts.set(start + 1);
    derive_rng(seed, &restart_purpose(purpose, start))
}

/// The workload of one simulated user: a message every `every`, starting one period after
/// `start`; a sleeping host sends nothing until it wakes. Without a period the handle is kept,
/// so the client stays open.
pub(crate) async fn chat(
    client: Box<dyn ClientApp>,
    sleep: Rc<HostSleep>,
    start: Duration,
    every: Option<Duration>,
) {
    let Some(every) = every else {
        std::future::pending::<()>().await;
        return;
    };
    wsim_proto::clock::timer::sleep(start).await;
    let mut n = 0u64;
    loop {
        wsim_proto::clock::timer::sleep(every).await;
        sleep.until_awake().await;
        n += 1;
        client.send(format!("message {n}"));
    }
}

/// The clients of `host`, with ids `<group>-<i>` and start offsets drawn from the seed.
pub fn client_plans(scenario: &ScenarioFile, seed: u64, host: &str) -> Vec<ClientPlan> {
    let mut rng = derive_rng(seed, &format!("starts/{host}"));
    scenario
        .roster()
        .filter(|c| c.group.host == host)
        .map(|c| ClientPlan {
            identity: ClientIdentity {
                username: c.id.clone(),
                client_id: c.id,
                room: c.group.room.clone(),
            },
            start: draw(&mut rng, c.group.start),
            send_every: c.group.send_every.0,
        })
        .collect()
}

/// The one-way latency range links deliver with: segments are handed over on tick
/// boundaries, so the scenario's highest latency rounds up to the tick.
#[must_use]
pub fn delivered_latency(scenario: &ScenarioFile) -> DurRange {
    DurRange {
        min: scenario.network.latency.min,
        max: round_up(scenario.network.latency.max, scenario.tick.0),
    }
}

/// `d` rounded up to a whole number of `tick`s.
fn round_up(d: Duration, tick: Duration) -> Duration {
    let tick_ns = tick.as_nanos().max(1);
    let ticks = d.as_nanos().div_ceil(tick_ns);
    Duration::from_nanos(u64::try_from(ticks * tick_ns).unwrap_or(u64::MAX))
}
