//! The seam between the simulated world and the systems under test: a [`ServerUnderTest`],
//! a [`ClientUnderTest`] and a [`ProxyUnderTest`] are whatever runs on the server host, on each
//! simulated user and on the proxy host. The topology gives each one what a host of that kind
//! has — a listener or a connector, a seeded RNG, the host's wall clock, an event sink — and
//! nothing else. wsim's own components ([`crate::sim::system`]) go through this same seam.

use std::error::Error;
use std::rc::Rc;
use std::time::Duration;

use wsim_client::HostSleep;
use wsim_client::{ClientConfig, ClientEvent, ClientIdentity};
use wsim_proto::{EventSink, LocalBoxFuture, SimRng, WallSource};
use wsim_proxy::{ProxyControl, ProxyEvent};
use wsim_server::{ServerConfig, ServerEvent};

use crate::sim::net::{SimListener, TurmoilConnector};

/// How a host's run ends when it fails.
pub type HostResult = Result<(), Box<dyn Error>>;

/// What the server host hands its server each time it starts (at the beginning, and again
/// after every crash).
pub struct ServerHost {
    /// The host's listening socket (the server's port).
    pub listener: SimListener,
    /// A random stream seeded from the scenario seed, the same on every run of the seed.
    pub rng: SimRng,
    /// The host's wall clock (skewed, stepped and drifted by clock faults).
    pub wall: WallSource,
    /// The scenario's `[server]` settings. A server under test should honour the protocol's
    /// knobs among them — `grace`, `heartbeat`, `dedup_ttl`, `history_limit` — because the
    /// checkers judge the run against them; the rest are wsim's server's own.
    pub config: ServerConfig,
    /// Where the server reports what happens.
    pub events: EventSink<ServerEvent>,
}

/// A server: runs as the server host until it fails; started afresh, with fresh state, when
/// the host restarts after a crash.
pub trait ServerUnderTest {
    /// Runs the server on `host`.
    fn run(&self, host: ServerHost) -> LocalBoxFuture<HostResult>;

    /// Whether every timer this system sets goes through `wsim_proto::clock::timer` (`sleep`,
    /// `sleep_until`, `timeout`), which announces it to the run's ledger. When the server, the
    /// client and the proxy all say so, the run skips idle ticks; otherwise it steps every tick
    /// (a timer the ledger cannot see must not be skipped over). A run that skipped over a
    /// timer it was not told of fails with the host and the time it woke.
    fn announces_timers(&self) -> bool {
        false
    }
}

/// What one simulated user's client is given.
pub struct ClientHost {
    /// Opens connections over the simulated network.
    pub connector: TurmoilConnector,
    /// The URL to connect to (`ws://proxy:8080/ws`).
    pub url: String,
    /// Who the client is: client id, user name and room.
    pub identity: ClientIdentity,
    /// How long after the host starts the client first connects.
    pub start: Duration,
    /// The scenario's `[client]` settings. A client under test should honour `keepalive`,
    /// `heartbeat`, `connect_timeout` and `backoff`: the checkers judge detection times and
    /// reconnect delays against them.
    pub config: ClientConfig,
    /// A random stream seeded from the scenario seed and the client id.
    pub rng: SimRng,
    /// The host's wall clock.
    pub wall: WallSource,
    /// The host's sleep switch: while the host sleeps, the client must do nothing.
    pub sleep: Rc<HostSleep>,
    /// Where the client reports its lifecycle and what its application received.
    pub events: EventSink<ClientEvent>,
}

/// A running client, as the scenario's workload sees it.
pub trait ClientApp {
    /// The workload asks the client to send `text` (it may buffer or refuse it).
    fn send(&self, text: String);
}

/// A client: started once per simulated user, inside its host's task set.
pub trait ClientUnderTest {
    /// Starts a client for `host` and returns the handle the workload sends through; dropping
    /// the handle must not stop the client before the run ends.
    fn start(&self, host: ClientHost) -> Box<dyn ClientApp>;

    /// Whether every timer this system sets goes through `wsim_proto::clock::timer` (`sleep`,
    /// `sleep_until`, `timeout`), which announces it to the run's ledger. When the server, the
    /// client and the proxy all say so, the run skips idle ticks; otherwise it steps every tick
    /// (a timer the ledger cannot see must not be skipped over). A run that skipped over a
    /// timer it was not told of fails with the host and the time it woke.
    fn announces_timers(&self) -> bool {
        false
    }
}

/// What the proxy host hands its proxy each time it starts.
pub struct ProxyHost {
    /// The host's listening socket (the proxy's port).
    pub listener: SimListener,
    /// Opens connections to the server.
    pub connector: TurmoilConnector,
    /// The server's `host:port`.
    pub upstream: String,
    /// Per-connection fault injection (`proxy_conn` faults act through it).
    pub control: Rc<ProxyControl>,
    /// Where the proxy reports what happens.
    pub events: EventSink<ProxyEvent>,
}

/// A proxy: runs as the proxy host until it fails; started afresh after a crash.
pub trait ProxyUnderTest {
    /// Runs the proxy on `host`.
    fn run(&self, host: ProxyHost) -> LocalBoxFuture<HostResult>;

    /// Whether every timer this system sets goes through `wsim_proto::clock::timer` (`sleep`,
    /// `sleep_until`, `timeout`), which announces it to the run's ledger. When the server, the
    /// client and the proxy all say so, the run skips idle ticks; otherwise it steps every tick
    /// (a timer the ledger cannot see must not be skipped over). A run that skipped over a
    /// timer it was not told of fails with the host and the time it woke.
    fn announces_timers(&self) -> bool {
        false
    }
}

/// How a run advances simulated time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stepping {
    /// Skip idle ticks when every system under test announces its timers (the default):
    /// the same run, event for event, as [`Stepping::EveryTick`], in far fewer steps.
    #[default]
    SkipIdle,
    /// Step every tick (turmoil's own loop).
    EveryTick,
}

/// The systems under test of one run.
#[derive(Clone)]
pub struct System {
    /// What runs on the server host.
    pub server: Rc<dyn ServerUnderTest>,
    /// What runs for each simulated user.
    pub client: Rc<dyn ClientUnderTest>,
    /// What runs on the proxy host.
    pub proxy: Rc<dyn ProxyUnderTest>,
    /// How the run advances simulated time (idle ticks are skipped only when all three
    /// announce their timers).
    pub stepping: Stepping,
}

impl System {
    /// The same systems, advancing time as `stepping` says.
    #[must_use]
    pub fn with_stepping(mut self, stepping: Stepping) -> System {
        self.stepping = stepping;
        self
    }

    /// Whether every system under test announces its timers, so the run may skip idle time.
    #[must_use]
    pub fn announces_timers(&self) -> bool {
        self.server.announces_timers()
            && self.client.announces_timers()
            && self.proxy.announces_timers()
    }
}
