//! `wsim explore` profiles: which fault kinds a world mixes, how many faults and clients it has.

/// A fault kind a profile can draw (the scenario file's `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultMix {
    /// `partition`: held both ways, delivered on heal.
    Partition,
    /// `one_way`: one direction lost.
    OneWay,
    /// `state_loss`: a middlebox forgets every connection.
    StateLoss,
    /// `latency`: a latency spike.
    Latency,
    /// `crash`: the server or the proxy crashes and restarts.
    Crash,
    /// `sleep`: a client host sleeps.
    Sleep,
    /// `proxy_conn`: one client's connection blackholed, reset or delayed.
    ProxyConn,
    /// `clock_step`: a wall clock steps.
    ClockStep,
    /// `clock_drift`: a wall clock runs fast or slow.
    ClockDrift,
}

impl FaultMix {
    /// Every kind.
    pub const ALL: [FaultMix; 9] = [
        FaultMix::Partition,
        FaultMix::OneWay,
        FaultMix::StateLoss,
        FaultMix::Latency,
        FaultMix::Crash,
        FaultMix::Sleep,
        FaultMix::ProxyConn,
        FaultMix::ClockStep,
        FaultMix::ClockDrift,
    ];

    /// The scenario file's name for it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            FaultMix::Partition => "partition",
            FaultMix::OneWay => "one_way",
            FaultMix::StateLoss => "state_loss",
            FaultMix::Latency => "latency",
            FaultMix::Crash => "crash",
            FaultMix::Sleep => "sleep",
            FaultMix::ProxyConn => "proxy_conn",
            FaultMix::ClockStep => "clock_step",
            FaultMix::ClockDrift => "clock_drift",
        }
    }
}

/// What a profile's worlds look like.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Its name (`--profile NAME`).
    pub name: &'static str,
    /// What it is for.
    pub about: &'static str,
    /// The fault kinds drawn from (uniformly).
    pub mix: &'static [FaultMix],
    /// Fewest and most faults per world.
    pub faults: (usize, usize),
    /// Fewest and most clients per group.
    pub clients_per_group: (u32, u32),
    /// Most client groups.
    pub max_groups: usize,
}

/// Every profile, the default first.
pub const PROFILES: [Profile; 5] = [
    Profile {
        name: "default",
        about: "every fault kind, one to five faults, up to 4 groups of up to 8 clients",
        mix: &FaultMix::ALL,
        faults: (1, 5),
        clients_per_group: (1, 8),
        max_groups: 4,
    },
    Profile {
        name: "partitions",
        about: "network faults only: partitions, one-way loss, state loss, latency spikes",
        mix: &[
            FaultMix::Partition,
            FaultMix::OneWay,
            FaultMix::StateLoss,
            FaultMix::Latency,
        ],
        faults: (2, 6),
        clients_per_group: (1, 8),
        max_groups: 4,
    },
    Profile {
        name: "clocks",
        about: "wall-clock steps and drift mixed with partitions and sleeping hosts",
        mix: &[
            FaultMix::ClockStep,
            FaultMix::ClockDrift,
            FaultMix::Partition,
            FaultMix::Sleep,
        ],
        faults: (2, 6),
        clients_per_group: (1, 8),
        max_groups: 4,
    },
    Profile {
        name: "crashes",
        about: "server and proxy crashes (clean and silent) with partitions and connection faults",
        mix: &[FaultMix::Crash, FaultMix::Partition, FaultMix::ProxyConn],
        faults: (1, 4),
        clients_per_group: (1, 8),
        max_groups: 4,
    },
    Profile {
        name: "scale",
        about: "many clients (up to 6 groups of 10 to 40) under every fault kind",
        mix: &FaultMix::ALL,
        faults: (1, 3),
        clients_per_group: (10, 40),
        max_groups: 6,
    },
];

/// The profile named `name`.
#[must_use]
pub fn named(name: &str) -> Option<&'static Profile> {
    PROFILES.iter().find(|p| p.name == name)
}
