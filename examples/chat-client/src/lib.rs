//! A resilient WebSocket chat client written from wsim's `docs/protocol.md` alone, on
//! tokio-tungstenite: keepalive with dead-peer detection, reconnects with capped exponential
//! backoff and full jitter, an offline buffer of messages kept until acknowledged, and resume
//! of its session (its own session key, `attempt`, `last_seq`).
//!
//! It shares no code with wsim's client. It only needs a [`Connect`]or of byte streams, timers
//! (through `wsim_time`: tokio's own outside a simulation, seen by one inside) and
//! `tokio::task::spawn_local`, so it runs on a real network and, unchanged, inside wsim's
//! simulation (`tests/scenarios.rs`).

mod link;
mod random;

use std::cell::RefCell;
use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;

use crate::random::Random;

/// The client's settings; the defaults are the protocol's.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Ping after this much silence from the server (20 s; `None`: never).
    pub ping_interval: Option<Duration>,
    /// Drop the link when nothing arrives this long after a ping (20 s).
    pub ping_timeout: Option<Duration>,
    /// Ping with `{"type":"ping"}` text frames instead of WebSocket pings.
    pub app_heartbeat: bool,
    /// Longest TCP connect plus upgrade (5 s).
    pub connect_timeout: Duration,
    /// Ceiling of the first retry delay (1 s).
    pub backoff_initial: Duration,
    /// Largest retry delay ceiling (60 s).
    pub backoff_max: Duration,
    /// Growth of the ceiling per failed attempt (2).
    pub backoff_factor: f64,
    /// A link that stayed up this long resets the backoff (10 s).
    pub min_uptime: Duration,
    /// Most messages kept until acknowledged (1024); more are refused.
    pub max_pending: usize,
    /// A deliberate bug, for showing that wsim's checkers catch it (`None` in real use).
    pub planted_bug: Option<PlantedBug>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ping_interval: Some(Duration::from_secs(20)),
            ping_timeout: Some(Duration::from_secs(20)),
            app_heartbeat: false,
            connect_timeout: Duration::from_secs(5),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            backoff_factor: 2.0,
            min_uptime: Duration::from_secs(10),
            max_pending: 1024,
            planted_bug: None,
        }
    }
}

/// Deliberate bugs, one line each, that wsim's scenarios must catch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlantedBug {
    /// A message leaves the buffer when it is written, not when it is acknowledged: what the
    /// link swallows as it dies is lost.
    ForgetOnWrite,
}

/// Who the client is.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Stable across reconnects.
    pub client_id: String,
    /// Display name.
    pub username: String,
    /// The room to join.
    pub room: String,
}

/// What the client reports to its application.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Attempt `attempt` (since the last healthy link, from 1) begins.
    Connecting { attempt: u32 },
    /// The upgrade succeeded.
    Connected { attempt: u32 },
    /// The link ended, or an attempt failed, for `reason`.
    Disconnected { reason: Reason },
    /// Attempt `attempt` will start after `delay`.
    Reconnecting { attempt: u32, delay: Duration },
    /// The server answered a reconnect: `recovered` false means resync.
    Resumed { recovered: bool, replayed: u64 },
    /// A message was queued while offline.
    Buffered { id: String, pending: usize },
    /// A message was written to the link (kept until acknowledged).
    Sent { id: String },
    /// The server acknowledged a message as room sequence number `seq`.
    Acked { id: String, seq: u64 },
    /// A message from another member.
    Message {
        id: String,
        seq: u64,
        from: String,
        username: String,
        text: String,
    },
}

/// Why a link ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A ping went unanswered.
    PingTimeout,
    /// The server closed the connection.
    ClosedByPeer,
    /// The connection broke.
    Reset,
    /// Connecting took longer than the connect timeout.
    ConnectTimeout,
    /// Connecting failed (refused, or an HTTP answer instead of the upgrade).
    ConnectFailed,
}

/// Opens byte streams to the server.
pub trait Connect {
    /// A connected stream.
    type Stream: AsyncRead + AsyncWrite + Unpin + 'static;
    /// Connects to the server's `host:port`.
    fn connect(&self) -> impl Future<Output = io::Result<Self::Stream>>;
}

/// The host's power state: a sleeping host's client does nothing until it wakes.
pub trait Power {
    /// Resolves once the host is asleep.
    fn asleep(&self) -> Pin<Box<dyn Future<Output = ()> + '_>>;
    /// Resolves once the host is awake.
    fn awake(&self) -> Pin<Box<dyn Future<Output = ()> + '_>>;
}

/// A host that never sleeps.
pub struct AlwaysOn;

impl Power for AlwaysOn {
    fn asleep(&self) -> Pin<Box<dyn Future<Output = ()> + '_>> {
        Box::pin(std::future::pending())
    }
    fn awake(&self) -> Pin<Box<dyn Future<Output = ()> + '_>> {
        Box::pin(std::future::ready(()))
    }
}

/// The application's handle: send messages through it.
#[derive(Clone)]
pub struct Handle {
    outgoing: mpsc::UnboundedSender<String>,
}

impl Handle {
    /// Sends `text` to the room (buffered while offline, retried until acknowledged).
    pub fn send(&self, text: String) {
        let _ = self.outgoing.send(text);
    }
}

/// (sender, message id) pairs delivered, and their order for forgetting the oldest.
pub(crate) type Delivered = (BTreeSet<(String, String)>, VecDeque<(String, String)>);

/// Everything that outlives one link: the session and the messages not yet acknowledged.
pub(crate) struct Client<C, P> {
    pub settings: Settings,
    pub identity: Identity,
    /// `ws://host:port/path` without the query.
    pub url: String,
    pub connector: C,
    pub power: P,
    pub report: Rc<dyn Fn(Event)>,
    pub random: RefCell<Random>,
    /// The session key this client presents on every attempt.
    pub key: String,
    /// Attempts made with the key (never reset).
    pub attempts: RefCell<u64>,
    /// Highest room sequence number seen, once the client has had a session.
    pub last_seq: RefCell<Option<u64>>,
    /// Messages written or waiting, until acknowledged: (id, text).
    pub pending: RefCell<VecDeque<(String, String)>>,
    /// Messages delivered, by (sender, id), so a message numbered anew is not shown twice.
    pub delivered: RefCell<Delivered>,
    pub next_id: RefCell<u64>,
}

/// What a client is started with.
pub struct Setup<C, P> {
    /// Its settings.
    pub settings: Settings,
    /// Who it is.
    pub identity: Identity,
    /// The server's `ws://host:port/ws`.
    pub url: String,
    /// Opens streams to the server.
    pub connector: C,
    /// The host's power state.
    pub power: P,
    /// Seeds its session key and backoff jitter.
    pub seed: u64,
    /// How long after starting it first connects.
    pub start: Duration,
}

/// Starts a client (on the current `LocalSet`) as `setup` says; it reports to `report`.
pub fn start<C, P>(setup: Setup<C, P>, report: impl Fn(Event) + 'static) -> Handle
where
    C: Connect + 'static,
    P: Power + 'static,
{
    let mut random = Random::new(setup.seed);
    let key = random.key();
    let (outgoing, inbox) = mpsc::unbounded_channel();
    let client = Rc::new(Client {
        settings: setup.settings,
        identity: setup.identity,
        url: setup.url,
        connector: setup.connector,
        power: setup.power,
        report: Rc::new(report),
        random: RefCell::new(random),
        key,
        attempts: RefCell::new(0),
        last_seq: RefCell::new(None),
        pending: RefCell::new(VecDeque::new()),
        delivered: RefCell::new((BTreeSet::new(), VecDeque::new())),
        next_id: RefCell::new(0),
    });
    tokio::task::spawn_local(link::run(client, setup.start, inbox));
    Handle { outgoing }
}
