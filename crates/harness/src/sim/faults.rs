//! The simulated world as the fault executor's target ([`crate::schedule::FaultTarget`]): the
//! executor decides what changes when; this file says how each change is made in turmoil.
//!
//! turmoil's TCP has no retransmission, so each scenario fault maps onto the turmoil operation
//! that reproduces its real-world effect:
//! - `partition` → `hold` / `release`: segments wait and are then delivered in order, as TCP
//!   retransmission delivers them after a blip;
//! - `one_way` → `partition_oneway` / `repair_oneway`: segments from `a` to `b` are dropped,
//!   so a stream that sends in that direction is dead for good (no retransmission), while the
//!   other direction still flows;
//! - `state_loss` → the proxy blackholes every established connection crossing the link (a
//!   middlebox forgot them: both ends stay half-open, even when idle, which turmoil's own
//!   partition cannot do) plus `partition` / `repair`, so new connections are refused meanwhile;
//! - `latency` → a per-link latency override, then the scenario's range restored (min, then
//!   max, which restores the jitter too);
//! - `crash` → `crash` (the host's connections are closed, its state is lost), then `bounce`
//!   (the same software starts afresh);
//! - `proxy_conn` → the proxy blackholes, delays or resets one client's connection;
//! - `sleep` → the client host's [`HostSleep`] switch freezes its clients, and its network is
//!   held (the device's TCP stack sleeps too), then released on waking;
//! - `clock_step` / `clock_drift` → the host's [`WallClock`] (turmoil has no clock skew).
//!
//! Faults on one link compose ([`crate::sim::link_faults`]): a partition that ends while the
//! client host still sleeps leaves the link held, two latency spikes nest. Crashes of one host
//! compose in the executor: it stays down until the last of them ends, and restarts once.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use wsim_proto::EventSink;

use crate::client::HostSleep;
use crate::event::{EventKind, FaultDesc};
use crate::proxy::{Fate, ProxyControl};
use crate::scenario::duration::DurRange;
use crate::schedule::{FaultExecutor, FaultTarget, PlannedFault};
use crate::sim::link_faults::{Effect, LinkFaults};
use crate::sim::stepper::DueFaults;
use crate::timeline::Recorder;
use crate::wallclock::WallClock;

/// What the executor acts on besides turmoil itself.
pub struct Handles<'w> {
    /// The proxy's live connections.
    pub proxy: &'w ProxyControl,
    /// Every host's wall clock.
    pub clocks: &'w BTreeMap<String, Rc<WallClock>>,
    /// Every client host's sleep switch.
    pub sleeps: &'w BTreeMap<String, Rc<HostSleep>>,
    /// The run's timeline: what a crashed host's software emits as it is dropped is held and
    /// recorded in a fixed order ([`Recorder::hold`]).
    pub recorder: &'w Recorder,
}

/// A run's fault schedule on its simulated world: the executor, the world's handles and the
/// composed state of every faulted link.
pub struct SimFaults<'w> {
    executor: FaultExecutor,
    world: Handles<'w>,
    links: LinkFaults,
    base_latency: DurRange,
}

impl<'w> SimFaults<'w> {
    /// `faults` on `world`, whose links' normal latency is `base_latency`, recorded into `sink`.
    #[must_use]
    pub fn new(
        faults: &[PlannedFault],
        world: Handles<'w>,
        base_latency: DurRange,
        sink: EventSink<EventKind>,
    ) -> Self {
        SimFaults {
            executor: FaultExecutor::new(faults, sink),
            world,
            links: LinkFaults::default(),
            base_latency,
        }
    }
}

impl DueFaults for SimFaults<'_> {
    fn apply_due(&mut self, sim: &mut turmoil::Sim<'_>, now: Duration) -> bool {
        let mut target = SimTarget {
            sim,
            world: &self.world,
            links: &mut self.links,
            base_latency: self.base_latency,
        };
        self.executor.apply_due(&mut target, now)
    }

    fn next_due(&self) -> Option<Duration> {
        self.executor.next_due()
    }
}

/// One step's view of the world: turmoil, the handles, the links' composed state.
struct SimTarget<'a, 's, 'w> {
    sim: &'a mut turmoil::Sim<'s>,
    world: &'a Handles<'w>,
    links: &'a mut LinkFaults,
    base_latency: DurRange,
}

impl FaultTarget for SimTarget<'_, '_, '_> {
    fn link(&mut self, fault: &PlannedFault, a: &str, b: &str, start: bool) {
        let effect = match &fault.desc {
            FaultDesc::OneWay { .. } => Effect::OneWay,
            FaultDesc::StateLoss { .. } => {
                if start {
                    // Every connection crosses proxy–server; a client host's only its own.
                    let client_host = [a, b].into_iter().find(|h| *h != "proxy" && *h != "server");
                    self.world
                        .proxy
                        .blackhole(|peer| client_host.is_none_or(|h| h == peer));
                }
                Effect::Drop
            }
            FaultDesc::Latency { min_ms, max_ms, .. } => Effect::Spike(DurRange {
                min: Duration::from_millis(*min_ms),
                max: Duration::from_millis(*max_ms),
            }),
            _ => Effect::Hold,
        };
        let base = self.base_latency;
        self.links
            .change(self.sim, base, (a, b), fault.id, effect, start);
    }

    fn crash(&mut self, _fault: &PlannedFault, host: &str, silent: bool) {
        let _held = self.world.recorder.hold();
        if silent {
            // A power-off: whatever the host's stack would send as it dies is lost.
            let others: Vec<&String> = self.world.clocks.keys().filter(|h| *h != host).collect();
            for other in &others {
                self.sim.partition(host, other.as_str());
            }
            self.sim.crash(host);
            for other in &others {
                self.sim.repair(host, other.as_str());
            }
            // The repair must not end another fault's hold or drop on those links.
            self.links.reapply(self.sim, self.base_latency, host);
        } else {
            self.sim.crash(host);
        }
    }

    fn restart(&mut self, host: &str) {
        let _held = self.world.recorder.hold();
        self.sim.bounce(host);
    }

    fn sleep(&mut self, fault: &PlannedFault, host: &str, asleep: bool) {
        let base = self.base_latency;
        self.links.change(
            self.sim,
            base,
            (host, "proxy"),
            fault.id,
            Effect::Hold,
            asleep,
        );
        let switch = self
            .world
            .sleeps
            .get(host)
            .expect("validated: a client host");
        if asleep {
            switch.fall_asleep();
        } else {
            switch.wake();
        }
    }

    fn conn_fate(&mut self, client: &str, fate: Fate) {
        self.world.proxy.set_client_fate(client, fate);
    }

    fn clock(&self, host: &str) -> Option<&WallClock> {
        self.world.clocks.get(host).map(|c| &**c)
    }
}
