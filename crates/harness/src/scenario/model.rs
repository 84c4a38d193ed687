//! The scenario file format, as deserialized from TOML. Every key is documented in
//! `scenarios/README.md`; unknown keys are errors so a typo never silently does nothing.

use serde::Deserialize;

use crate::client::HeartbeatMode;
use crate::client::Jitter;
use crate::fault::ConnAction;
use crate::proxy::{IdleMeasure, IdleMode};
use crate::scenario::duration::{Dur, DurRange, OptDur, SignedDur};
use crate::server::KeylessResume;
use crate::wslink::SendQueueLimit;

pub use crate::scenario::expect::{CheckName, ExpectSection, GraceOutcome};

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Short name, used in reports and verdicts.
    pub name: String,
    /// What the scenario shows, for people.
    #[serde(default)]
    pub description: String,
    /// Simulated time the run lasts.
    pub duration: Dur,
    /// How many seeds a sweep runs by default.
    #[serde(default = "default_seeds")]
    pub seeds: u32,
    /// Simulation step (default 1 ms).
    #[serde(default = "default_tick")]
    pub tick: Dur,
    /// Network settings.
    #[serde(default)]
    pub network: NetworkSection,
    /// Server settings.
    #[serde(default)]
    pub server: ServerSection,
    /// Proxy settings.
    #[serde(default)]
    pub proxy: ProxySection,
    /// Settings shared by every client.
    #[serde(default)]
    pub client: ClientSection,
    /// Client groups.
    pub clients: Vec<ClientGroup>,
    /// Fault schedule.
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    /// What the checkers must find.
    #[serde(default)]
    pub expect: ExpectSection,
    /// Which implementations run (default: wsim's own client, server and proxy).
    #[serde(default)]
    pub system: SystemSection,
}

/// `[system]`: which implementation stands where. wsim's own components are the default; the
/// others are the seed article's naive code, kept to show the checkers catching its bugs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SystemSection {
    /// What runs on the server host.
    pub server: Implementation,
    /// What runs for each simulated user.
    pub client: Implementation,
}

/// An implementation of a component.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Implementation {
    /// wsim's own.
    #[default]
    Wsim,
    /// The seed article's naive code (`SessionManager` for the server, `ResilientWebSocket`
    /// for the client), with its bugs.
    Naive,
}

impl Implementation {
    /// The name scenario files and `--server` / `--client` use.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Implementation::Wsim => "wsim",
            Implementation::Naive => "naive",
        }
    }
}

fn default_seeds() -> u32 {
    10
}

fn default_tick() -> Dur {
    Dur(std::time::Duration::from_millis(1))
}

/// `[network]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    /// One-way latency range of every link (default 1 ms to 10 ms).
    #[serde(default = "default_latency")]
    pub latency: DurRange,
}

fn default_latency() -> DurRange {
    DurRange {
        min: std::time::Duration::from_millis(1),
        max: std::time::Duration::from_millis(10),
    }
}

impl Default for NetworkSection {
    fn default() -> Self {
        NetworkSection {
            latency: default_latency(),
        }
    }
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Server heartbeat interval (default 20 s; "none" disables).
    #[serde(default = "default_ping")]
    pub ping_interval: OptDur,
    /// Server heartbeat timeout (default 20 s; "none" never times out).
    #[serde(default = "default_ping")]
    pub ping_timeout: OptDur,
    /// Largest accepted message in bytes (default 65536).
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// How long a dropped session waits for its client (default 30 s).
    #[serde(default = "default_grace")]
    pub grace: Dur,
    /// How long message ids are remembered for de-duplication (default 300 s).
    #[serde(default = "default_dedup_ttl")]
    pub dedup_ttl: Dur,
    /// Most message ids remembered per session (default 10000).
    #[serde(default = "default_dedup_limit")]
    pub dedup_limit: usize,
    /// Messages kept per room for replay (default 1000).
    #[serde(default = "default_history_limit")]
    pub history_limit: usize,
    /// Most sessions at once (default 100000).
    #[serde(default = "default_max_sessions")]
    pub max_sessions: usize,
    /// Which session a client presenting no key may resume (default "client_id").
    #[serde(default)]
    pub keyless_resume: KeylessResume,
    /// Most bytes queued for one connection (default 4 MiB).
    #[serde(default = "default_send_queue_bytes")]
    pub send_queue_bytes: usize,
    /// Most frames queued for one connection (default 4096).
    #[serde(default = "default_send_queue_frames")]
    pub send_queue_frames: usize,
}

fn default_send_queue_bytes() -> usize {
    SendQueueLimit::default().bytes
}
fn default_send_queue_frames() -> usize {
    SendQueueLimit::default().frames
}

fn default_grace() -> Dur {
    Dur(std::time::Duration::from_secs(30))
}
fn default_dedup_ttl() -> Dur {
    Dur(std::time::Duration::from_secs(300))
}
fn default_dedup_limit() -> usize {
    10_000
}
fn default_history_limit() -> usize {
    1000
}
fn default_max_sessions() -> usize {
    100_000
}

fn default_ping() -> OptDur {
    OptDur(Some(std::time::Duration::from_secs(20)))
}

fn default_max_message_bytes() -> usize {
    64 * 1024
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            ping_interval: default_ping(),
            ping_timeout: default_ping(),
            max_message_bytes: default_max_message_bytes(),
            grace: default_grace(),
            dedup_ttl: default_dedup_ttl(),
            dedup_limit: default_dedup_limit(),
            history_limit: default_history_limit(),
            max_sessions: default_max_sessions(),
            keyless_resume: KeylessResume::default(),
            send_queue_bytes: default_send_queue_bytes(),
            send_queue_frames: default_send_queue_frames(),
        }
    }
}

/// `[proxy]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxySection {
    /// Longest time to reach the server for a new connection (default 5 s).
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: Dur,
    /// Kill connections idle this long (default 30 s; "none" never).
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: OptDur,
    /// Which traffic counts: "either" (default), "client_to_server", "server_to_client".
    #[serde(default = "default_idle_measure")]
    pub idle_measure: IdleMeasure,
    /// How idle connections die: "close" (default), "reset", "blackhole".
    #[serde(default = "default_on_idle")]
    pub on_idle: IdleMode,
}

fn default_idle_timeout() -> OptDur {
    OptDur(Some(std::time::Duration::from_secs(30)))
}
fn default_idle_measure() -> IdleMeasure {
    IdleMeasure::Either
}
fn default_on_idle() -> IdleMode {
    IdleMode::Close
}

fn default_connect_timeout() -> Dur {
    Dur(std::time::Duration::from_secs(5))
}

impl Default for ProxySection {
    fn default() -> Self {
        ProxySection {
            connect_timeout: default_connect_timeout(),
            idle_timeout: default_idle_timeout(),
            idle_measure: default_idle_measure(),
            on_idle: default_on_idle(),
        }
    }
}

/// `[client]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSection {
    /// Keepalive ping interval (default 20 s; "none" disables keepalive and detection).
    #[serde(default = "default_ping")]
    pub ping_interval: OptDur,
    /// Pong timeout (default 20 s; "none" keeps pinging but never times out).
    #[serde(default = "default_ping")]
    pub ping_timeout: OptDur,
    /// "ws" (ping frames, default) or "app" (JSON ping/pong text frames).
    #[serde(default = "default_heartbeat")]
    pub heartbeat: HeartbeatMode,
    /// Drop the link when nothing at all arrived for this long (default 40 s; "none" disables).
    #[serde(default = "default_server_silence")]
    pub server_silence: OptDur,
    /// Longest connect plus handshake (default 5 s).
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: Dur,
    /// How long a dropped link may linger to send its close frame (default 1 s).
    #[serde(default = "default_close_timeout")]
    pub close_timeout: Dur,
    /// Give up after this many failed attempts in a row (default: never).
    #[serde(default)]
    pub max_retries: Option<u32>,
    /// Most messages waiting for an acknowledgement (default 1024).
    #[serde(default = "default_max_pending")]
    pub max_pending: usize,
    /// Uptime after which a link counts as healthy and the backoff resets (default 10 s).
    #[serde(default = "default_min_uptime")]
    pub min_uptime: Dur,
    /// Reconnect backoff.
    #[serde(default)]
    pub backoff: BackoffSection,
}

fn default_heartbeat() -> HeartbeatMode {
    HeartbeatMode::Ws
}
fn default_server_silence() -> OptDur {
    OptDur(Some(std::time::Duration::from_secs(40)))
}
fn default_close_timeout() -> Dur {
    Dur(std::time::Duration::from_secs(1))
}
fn default_max_pending() -> usize {
    1024
}

fn default_min_uptime() -> Dur {
    Dur(std::time::Duration::from_secs(10))
}

impl Default for ClientSection {
    fn default() -> Self {
        ClientSection {
            ping_interval: default_ping(),
            ping_timeout: default_ping(),
            heartbeat: default_heartbeat(),
            server_silence: default_server_silence(),
            connect_timeout: default_connect_timeout(),
            close_timeout: default_close_timeout(),
            max_retries: None,
            max_pending: default_max_pending(),
            min_uptime: default_min_uptime(),
            backoff: BackoffSection::default(),
        }
    }
}

/// `[client.backoff]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackoffSection {
    /// Ceiling of the first retry (default 1 s).
    #[serde(default = "default_backoff_initial")]
    pub initial: Dur,
    /// Largest ceiling (default 60 s).
    #[serde(default = "default_backoff_max")]
    pub max: Dur,
    /// Growth per failed attempt (default 2).
    #[serde(default = "default_backoff_factor")]
    pub factor: f64,
    /// "full" (default) or "none".
    #[serde(default = "default_jitter")]
    pub jitter: Jitter,
}

fn default_backoff_initial() -> Dur {
    Dur(std::time::Duration::from_secs(1))
}
fn default_backoff_max() -> Dur {
    Dur(std::time::Duration::from_secs(60))
}
fn default_backoff_factor() -> f64 {
    2.0
}
fn default_jitter() -> Jitter {
    Jitter::Full
}

impl Default for BackoffSection {
    fn default() -> Self {
        BackoffSection {
            initial: default_backoff_initial(),
            max: default_backoff_max(),
            factor: default_backoff_factor(),
            jitter: default_jitter(),
        }
    }
}

/// `[[clients]]`: a group of identical clients on one host.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientGroup {
    /// Prefix of the client ids: `<name>-0`, `<name>-1`, ... (default `c<group index>`).
    #[serde(default)]
    pub name: Option<String>,
    /// How many clients.
    pub count: u32,
    /// The simulated host they run on (default "clients").
    #[serde(default = "default_client_host")]
    pub host: String,
    /// The room they join (default "lobby").
    #[serde(default = "default_room")]
    pub room: String,
    /// How often each sends a chat message ("none", the default, sends nothing).
    #[serde(default = "default_send_every")]
    pub send_every: OptDur,
    /// When each client starts, drawn per client (default "0s").
    #[serde(default = "default_start")]
    pub start: DurRange,
}

fn default_client_host() -> String {
    "clients".into()
}
fn default_room() -> String {
    "lobby".into()
}
fn default_send_every() -> OptDur {
    OptDur(None)
}
fn default_start() -> DurRange {
    DurRange::fixed(std::time::Duration::ZERO)
}

/// The kinds of fault a scenario can schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Segments held both ways, delivered when the fault ends (a blip TCP survives).
    Partition,
    /// Segments from `between[0]` to `between[1]` are lost; the other direction flows.
    OneWay,
    /// A middlebox forgets every connection: established streams die, new ones are refused.
    StateLoss,
    /// Raised link latency for a while.
    Latency,
    /// A host crashes and restarts with fresh state.
    Crash,
    /// A client host sleeps: its clients freeze and its network is held.
    Sleep,
    /// The proxy blackholes, delays or resets one client's connection.
    ProxyConn,
    /// A host's wall clock steps forward or back (`by`).
    ClockStep,
    /// A host's wall clock runs fast or slow (`ppm`) for `duration`.
    ClockDrift,
}

impl FaultKind {
    /// Every kind.
    pub const ALL: [FaultKind; 9] = [
        FaultKind::Partition,
        FaultKind::OneWay,
        FaultKind::StateLoss,
        FaultKind::Latency,
        FaultKind::Crash,
        FaultKind::Sleep,
        FaultKind::ProxyConn,
        FaultKind::ClockStep,
        FaultKind::ClockDrift,
    ];

    /// The snake_case name, as in scenario files and `fault_start`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Partition => "partition",
            FaultKind::OneWay => "one_way",
            FaultKind::StateLoss => "state_loss",
            FaultKind::Latency => "latency",
            FaultKind::Crash => "crash",
            FaultKind::Sleep => "sleep",
            FaultKind::ProxyConn => "proxy_conn",
            FaultKind::ClockStep => "clock_step",
            FaultKind::ClockDrift => "clock_drift",
        }
    }
}

/// `[[faults]]`: one scheduled fault.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// The fault kind.
    pub kind: FaultKind,
    /// For link faults: the two hosts whose link it affects.
    #[serde(default)]
    pub between: Option<[String; 2]>,
    /// For `crash`: the host that crashes.
    #[serde(default)]
    pub host: Option<String>,
    /// When it starts (fixed, or drawn from a range per seed).
    pub at: DurRange,
    /// How long it lasts (fixed, or drawn from a range per seed); not for `clock_step`.
    #[serde(default)]
    pub duration: Option<DurRange>,
    /// For `latency`: the link's latency range during the spike.
    #[serde(default)]
    pub latency: Option<DurRange>,
    /// For `clock_step`: how far the clock steps ("-1h" steps back).
    #[serde(default)]
    pub by: Option<SignedDur>,
    /// For `clock_drift`: parts per million the clock runs fast (negative: slow).
    #[serde(default)]
    pub ppm: Option<f64>,
    /// For `crash`: a power-off that closes nothing (default false: connections are closed).
    #[serde(default)]
    pub silent: Option<bool>,
    /// For `proxy_conn`: the client whose connection is hit.
    #[serde(default)]
    pub client: Option<String>,
    /// For `proxy_conn`: "blackhole", "delay" or "reset".
    #[serde(default)]
    pub action: Option<ConnAction>,
    /// For `proxy_conn` with `action = "delay"`: how long each chunk is held back.
    #[serde(default)]
    pub delay: Option<Dur>,
}
