//! The `[expect]` section of a scenario file: which checkers judge the run, and the bounds
//! and outcomes they judge it by.

use serde::Deserialize;

use crate::scenario::duration::Dur;

/// The checkers a scenario can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    /// Every link break longer than the keepalive bound is detected within bound + latency.
    Detection,
    /// After each fault heals, every client it cut off is connected again within a bound.
    Liveness,
    /// Every message is accepted once and reaches every room member once, in order.
    Delivery,
    /// No client disconnects unless a fault can explain it.
    NoSpuriousDisconnect,
    /// Away sessions resolve exactly as the grace period says.
    Grace,
    /// Every reconnect delay is within its backoff ceiling.
    Backoff,
    /// Connection attempts after a fault do not stampede.
    Herd,
    /// The proxy's idle kills stay under a cap.
    IdleKills,
    /// A reconnect inside the grace period resumes the session (from client observations).
    Resume,
    /// Clients see one gap-free numbered log per room (from client observations).
    RoomLog,
}

impl CheckName {
    /// Every checker, in report order.
    pub const ALL: [CheckName; 10] = [
        CheckName::Detection,
        CheckName::Liveness,
        CheckName::Delivery,
        CheckName::NoSpuriousDisconnect,
        CheckName::Grace,
        CheckName::Backoff,
        CheckName::Herd,
        CheckName::IdleKills,
        CheckName::Resume,
        CheckName::RoomLog,
    ];

    /// The snake_case name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::Detection => "detection",
            CheckName::Liveness => "liveness",
            CheckName::Delivery => "delivery",
            CheckName::NoSpuriousDisconnect => "no_spurious_disconnect",
            CheckName::Grace => "grace",
            CheckName::Backoff => "backoff",
            CheckName::Herd => "herd",
            CheckName::IdleKills => "idle_kills",
            CheckName::Resume => "resume",
            CheckName::RoomLog => "room_log",
        }
    }
}

/// `[expect]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectSection {
    /// Checkers that must pass (default: all).
    #[serde(default = "default_checks")]
    pub checks: Vec<CheckName>,
    /// Liveness bound: time after a fault ends by which its clients are connected again
    /// (default: `client.backoff.max` + `client.connect_timeout` + 5 s, the longest a correct
    /// client may legitimately wait).
    #[serde(default)]
    pub reconnect_within: Option<Dur>,
    /// The one grace outcome every away session must have: "reconnected", "left", or "none"
    /// (no session goes away). Unset: any outcome, as long as its timing is right.
    #[serde(default)]
    pub grace_outcome: Option<GraceOutcome>,
    /// Herd cap: most connection attempts in any one second after the first fault (default:
    /// no cap, the figure is only reported).
    #[serde(default)]
    pub max_connects_per_second: Option<usize>,
    /// Most idle kills by the proxy (default: no cap, the count is only reported).
    #[serde(default)]
    pub max_idle_kills: Option<usize>,
}

/// How a session that went away ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GraceOutcome {
    /// Its client came back within the grace period.
    Reconnected,
    /// The grace period expired.
    Left,
    /// No session goes away at all.
    None,
}

fn default_checks() -> Vec<CheckName> {
    CheckName::ALL.to_vec()
}

impl Default for ExpectSection {
    fn default() -> Self {
        ExpectSection {
            checks: default_checks(),
            reconnect_within: None,
            grace_outcome: None,
            max_connects_per_second: None,
            max_idle_kills: None,
        }
    }
}
