//! The faults a run applies, as the scenario plans them and the timeline's `fault_start`
//! describes them: below both [`crate::scenario`] and [`crate::event`].

use std::time::Duration;

use serde::Serialize;

/// What a `proxy_conn` fault does to one client's connection through the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnAction {
    /// Swallow everything from now on, leaving both ends half-open.
    Blackhole,
    /// Hold every chunk back by `delay_ms` for the fault's duration.
    Delay,
    /// Drop the connection at once.
    Reset,
}

/// A fault the simulation applies, as it appears in `fault_start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum FaultDesc {
    /// Segments between `a` and `b` are held (both ways) and delivered when the fault ends, as
    /// TCP retransmission would after a short network blip.
    Partition {
        /// One side.
        a: String,
        /// The other side.
        b: String,
        /// How long the segments are held.
        duration_ms: u64,
    },
    /// Segments from `a` to `b` are dropped (the other direction flows); a stream that loses a
    /// segment never recovers.
    OneWay {
        /// The side whose segments are lost.
        a: String,
        /// The side that stops hearing from `a`.
        b: String,
        /// How long it lasts.
        duration_ms: u64,
    },
    /// A middlebox between `a` and `b` forgets every connection: in-flight segments are dropped
    /// and established streams never recover; new connections fail until the fault ends.
    StateLoss {
        /// One side.
        a: String,
        /// The other side.
        b: String,
        /// How long new connections are refused.
        duration_ms: u64,
    },
    /// `host` crashes (its connections are closed, unless `silent`) and restarts `duration_ms`
    /// later with fresh state.
    Crash {
        /// The host (`target` in JSON: the event's own `host` is the fault executor, `sim`).
        #[serde(rename = "target")]
        host: String,
        /// How long it stays down.
        duration_ms: u64,
        /// A power-off: its connections are not closed, their peers find out only by heartbeat.
        silent: bool,
    },
    /// The proxy acts on `client`'s current connection alone.
    ProxyConn {
        /// The client.
        client: String,
        /// What it does.
        action: ConnAction,
        /// For `delay`: how long each chunk is held back.
        delay_ms: u64,
        /// For `delay`: how long it lasts (0 for the instantaneous actions).
        duration_ms: u64,
    },
    /// Client host `host` sleeps: its clients are frozen and its network is held.
    Sleep {
        /// The host (`target` in JSON: the event's own `host` is the fault executor, `sim`).
        #[serde(rename = "target")]
        host: String,
        /// How long it sleeps.
        duration_ms: u64,
    },
    /// `host`'s wall clock steps by `by_ms` (negative: back). Timers do not notice.
    ClockStep {
        /// The host (`target` in JSON: the event's own `host` is the fault executor, `sim`).
        #[serde(rename = "target")]
        host: String,
        /// The step, in milliseconds.
        by_ms: i64,
    },
    /// `host`'s wall clock runs `ppm` parts per million fast (slow if negative) for a while.
    ClockDrift {
        /// The host (`target` in JSON: the event's own `host` is the fault executor, `sim`).
        #[serde(rename = "target")]
        host: String,
        /// Parts per million.
        ppm: i64,
        /// How long it drifts.
        duration_ms: u64,
    },
    /// The link between `a` and `b` gets the latency range `min_ms..=max_ms` for a while.
    Latency {
        /// One side.
        a: String,
        /// The other side.
        b: String,
        /// How long the spike lasts.
        duration_ms: u64,
        /// Lowest one-way latency during the spike.
        min_ms: u64,
        /// Highest one-way latency during the spike.
        max_ms: u64,
    },
}

impl FaultDesc {
    /// The snake_case name of the fault kind.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            FaultDesc::Partition { .. } => "partition",
            FaultDesc::OneWay { .. } => "one_way",
            FaultDesc::StateLoss { .. } => "state_loss",
            FaultDesc::Latency { .. } => "latency",
            FaultDesc::Crash { .. } => "crash",
            FaultDesc::Sleep { .. } => "sleep",
            FaultDesc::ProxyConn { .. } => "proxy_conn",
            FaultDesc::ClockStep { .. } => "clock_step",
            FaultDesc::ClockDrift { .. } => "clock_drift",
        }
    }

    /// The two hosts whose link the fault affects (none for a crash).
    #[must_use]
    pub fn link(&self) -> Option<(&str, &str)> {
        match self {
            FaultDesc::Partition { a, b, .. }
            | FaultDesc::OneWay { a, b, .. }
            | FaultDesc::StateLoss { a, b, .. }
            | FaultDesc::Latency { a, b, .. } => Some((a, b)),
            FaultDesc::Crash { .. }
            | FaultDesc::Sleep { .. }
            | FaultDesc::ProxyConn { .. }
            | FaultDesc::ClockStep { .. }
            | FaultDesc::ClockDrift { .. } => None,
        }
    }

    /// How long the fault lasts.
    #[must_use]
    pub fn duration(&self) -> Duration {
        match self {
            FaultDesc::Partition { duration_ms, .. }
            | FaultDesc::OneWay { duration_ms, .. }
            | FaultDesc::StateLoss { duration_ms, .. }
            | FaultDesc::Latency { duration_ms, .. }
            | FaultDesc::Crash { duration_ms, .. }
            | FaultDesc::Sleep { duration_ms, .. }
            | FaultDesc::ProxyConn { duration_ms, .. }
            | FaultDesc::ClockDrift { duration_ms, .. } => Duration::from_millis(*duration_ms),
            FaultDesc::ClockStep { .. } => Duration::ZERO,
        }
    }
}
