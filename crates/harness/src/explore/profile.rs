//! `wsim explore` profiles: which fault kinds a world mixes, how many faults and clients it
//! has, on what tick.

use crate::scenario::model::FaultKind;

/// What a profile's worlds look like.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Its name (`--profile NAME`).
    pub name: &'static str,
    /// What it is for.
    pub about: &'static str,
    /// The fault kinds drawn from (uniformly).
    pub mix: &'static [FaultKind],
    /// Fewest and most faults per world.
    pub faults: (usize, usize),
    /// Fewest and most clients per group.
    pub clients_per_group: (u32, u32),
    /// Most client groups.
    pub max_groups: usize,
    /// The simulation tick's range in milliseconds (1 to 100, as a scenario may set it).
    pub ticks_ms: (u64, u64),
    /// The one-way latency's range in milliseconds, if not the usual 1 to 50 (a world's
    /// `[network] latency` is drawn inside it, its timeouts to match).
    pub latency_ms: Option<(u64, u64)>,
    /// The run's length in seconds, if not the usual 180 to 360.
    pub duration_s: Option<(u64, u64)>,
    /// Whether every world sets both the clients' heartbeat kind (`ws` or `app`) and the
    /// proxy's idle measure (`either`, `client_to_server`, `server_to_client`), drawn
    /// uniformly, instead of leaving them at their defaults more often than not.
    pub heartbeat_mix: bool,
}

/// What a profile leaves as the default profile has it.
const DEFAULT: Profile = Profile {
    name: "default",
    about: "every fault kind, one to five faults, up to 4 groups of up to 8 clients",
    mix: &FaultKind::ALL,
    faults: (1, 5),
    clients_per_group: (1, 8),
    max_groups: 4,
    ticks_ms: (1, 1),
    latency_ms: None,
    duration_s: None,
    heartbeat_mix: false,
};

/// Every profile, the default first.
pub const PROFILES: [Profile; 9] = [
    DEFAULT,
    Profile {
        name: "partitions",
        about: "network faults only: partitions, one-way loss, state loss, latency spikes",
        mix: &[
            FaultKind::Partition,
            FaultKind::OneWay,
            FaultKind::StateLoss,
            FaultKind::Latency,
        ],
        faults: (2, 6),
        ..DEFAULT
    },
    Profile {
        name: "clocks",
        about: "wall-clock steps and drift mixed with partitions and sleeping hosts",
        mix: &[
            FaultKind::ClockStep,
            FaultKind::ClockDrift,
            FaultKind::Partition,
            FaultKind::Sleep,
        ],
        faults: (2, 6),
        ..DEFAULT
    },
    Profile {
        name: "crashes",
        about: "server and proxy crashes (clean and silent) with partitions and connection faults",
        mix: &[FaultKind::Crash, FaultKind::Partition, FaultKind::ProxyConn],
        faults: (1, 4),
        ..DEFAULT
    },
    Profile {
        name: "scale",
        about: "many clients (up to 6 groups of 10 to 40) under every fault kind",
        faults: (1, 3),
        clients_per_group: (10, 40),
        max_groups: 6,
        ..DEFAULT
    },
    Profile {
        name: "coarse",
        about: "every fault kind on a coarse tick (1 to 100 ms), as users set one for speed",
        ticks_ms: (1, 100),
        ..DEFAULT
    },
    Profile {
        name: "satellite",
        about: "every fault kind over satellite-like links (100 to 600 ms one way), timeouts to match",
        clients_per_group: (1, 6),
        max_groups: 3,
        latency_ms: Some((100, 600)),
        ..DEFAULT
    },
    Profile {
        name: "long",
        about: "runs of one to three hours with three to twelve faults spread over them",
        faults: (3, 12),
        clients_per_group: (1, 6),
        max_groups: 3,
        duration_s: Some((3_600, 10_800)),
        ..DEFAULT
    },
    Profile {
        name: "heartbeats",
        about: "every heartbeat kind (ws, app) against every idle measure of the proxy, under every fault kind",
        heartbeat_mix: true,
        ..DEFAULT
    },
];

/// The profile named `name`.
#[must_use]
pub fn named(name: &str) -> Option<&'static Profile> {
    PROFILES.iter().find(|p| p.name == name)
}
