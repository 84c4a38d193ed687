//! The example client under wsim's standard scenarios (against wsim's server), through wsim's
//! public API only: it must pass them, and its planted bug must be caught, with a replay line
//! that reproduces it.

use std::rc::Rc;

use example_chat_client::{
    start, Connect, Event, Handle, Identity, PlantedBug, Power, Reason, Settings, Setup,
};
use wsim::{
    ClientApp, ClientEvent, ClientHost, ClientUnderTest, Connector, DisconnectReason, EventSink,
    HeartbeatMode, HostSleep, RngCore, SimStream, Suite, TurmoilConnector,
};

/// The example client for each simulated user.
struct ChatClient {
    bug: Option<PlantedBug>,
}

impl ClientUnderTest for ChatClient {
    fn start(&self, mut host: ClientHost) -> Box<dyn ClientApp> {
        // The scenario's client settings: the checkers judge the run against them.
        let c = &host.config;
        let settings = Settings {
            ping_interval: c.keepalive.interval,
            ping_timeout: c.keepalive.timeout,
            app_heartbeat: c.heartbeat == HeartbeatMode::App,
            connect_timeout: c.connect_timeout,
            backoff_initial: c.backoff.initial,
            backoff_max: c.backoff.max,
            backoff_factor: c.backoff.factor,
            min_uptime: c.min_uptime,
            max_pending: c.max_pending,
            planted_bug: self.bug,
        };
        let identity = Identity {
            client_id: host.identity.client_id.clone(),
            username: host.identity.username.clone(),
            room: host.identity.room.clone(),
        };
        // `ws://proxy:8080/ws`: connect to `proxy:8080`.
        let authority = host
            .url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap_or_default();
        let connector = Simulated(host.connector, authority.to_string());
        let seed = host.rng.next_u64();
        let events = host.events.clone();
        let setup = Setup {
            settings,
            identity,
            url: host.url.clone(),
            connector,
            power: Sleep(host.sleep),
            seed,
            start: host.start,
        };
        let handle = start(setup, move |event| report(&events, event));
        Box::new(App(handle))
    }

    fn announces_timers(&self) -> bool {
        true // every timer goes through wsim_time
    }
}

/// The example's events, told to wsim as the client events its checkers read.
fn report(events: &EventSink<ClientEvent>, event: Event) {
    events.emit(match event {
        Event::Connecting { attempt } => ClientEvent::Connecting { attempt },
        Event::Connected { attempt } => ClientEvent::Connected { attempt },
        Event::Disconnected { reason } => ClientEvent::Disconnected {
            reason: match reason {
                Reason::PingTimeout => DisconnectReason::PingTimeout,
                Reason::ClosedByPeer => DisconnectReason::ClosedByPeer,
                Reason::Reset => DisconnectReason::Reset,
                Reason::ConnectTimeout => DisconnectReason::ConnectTimeout,
                Reason::ConnectFailed => DisconnectReason::ConnectFailed,
            },
        },
        Event::Reconnecting { attempt, delay } => ClientEvent::Reconnecting { attempt, delay },
        Event::Resumed {
            recovered,
            replayed,
        } => ClientEvent::Resumed {
            recovered,
            replayed,
        },
        Event::Buffered { id, pending } => ClientEvent::MessageBuffered {
            msg_id: id,
            pending,
        },
        Event::Sent { id } => ClientEvent::MessageSent { msg_id: id },
        Event::Acked { id, seq } => ClientEvent::MessageAcked { msg_id: id, seq },
        Event::Message {
            id,
            seq,
            from,
            username,
            text,
        } => ClientEvent::Message {
            msg_id: id,
            seq,
            from,
            username,
            text,
        },
    });
}

struct App(Handle);

impl ClientApp for App {
    fn send(&self, text: String) {
        self.0.send(text);
    }
}

/// wsim's simulated network as the example's [`Connect`].
struct Simulated(TurmoilConnector, String);

impl Connect for Simulated {
    type Stream = SimStream;
    async fn connect(&self) -> std::io::Result<SimStream> {
        self.0.connect(&self.1).await
    }
}

/// The simulated host's sleep switch as the example's [`Power`].
struct Sleep(Rc<HostSleep>);

impl Power for Sleep {
    fn asleep(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>> {
        Box::pin(self.0.until_asleep())
    }
    fn awake(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>> {
        Box::pin(self.0.until_awake())
    }
}

/// Seeds per scenario: 20, or `EXAMPLE_SEEDS` (a quicker local loop).
fn seeds() -> u64 {
    std::env::var("EXAMPLE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

#[test]
fn passes_the_standard_scenarios() {
    Suite::new()
        .standard()
        .seeds(1..=seeds())
        .client(|| ChatClient { bug: None })
        .assert_pass();
}

#[test]
fn is_deterministic() {
    Suite::new()
        .standard()
        .client(|| ChatClient { bug: None })
        .assert_deterministic(1);
}

#[test]
fn forgetting_on_write_is_caught_by_seed_and_replayed() {
    // The long-partition scenario of wsim's standard suite, where a forgetful buffer loses
    // what the dying link swallowed.
    let report = Suite::new()
        .standard_scenario("02-partition-60s")
        .seeds(1..=3)
        .client(|| ChatClient {
            bug: Some(PlantedBug::ForgetOnWrite),
        })
        .assert_caught();
    println!("{report}");
    assert!(report.contains("delivery: "), "{report}");
    assert!(report.contains("replay: WSIM_SEED="), "{report}");
}
