//! The fault executor: applies planned faults to the turmoil world between steps and records
//! `fault_start` / `fault_end` on the `sim` host.
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
//! compose too: it stays down until the last of them ends, and restarts once.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use crate::client::HostSleep;
use crate::conn_delays::ConnDelays;
use crate::event::{ConnAction, EventKind, FaultDesc};
use crate::proxy::{Fate, ProxyControl};
use crate::scenario::duration::DurRange;
use crate::sim::link_faults::{Effect, LinkFaults};
use crate::sim::plan::{self, PlannedFault, Step};
use crate::timeline::Recorder;
use crate::wallclock::WallClock;
use wsim_proto::EventSink;

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

/// Applies a planned schedule in time order.
pub struct FaultExecutor {
    steps: Vec<Step>,
    next: usize,
    base_latency: DurRange,
    sink: EventSink<EventKind>,
    links: LinkFaults,
    /// Host → crash faults active on it.
    crashed: BTreeMap<String, u32>,
    /// The `proxy_conn` delays active on each client.
    delays: ConnDelays,
}

impl FaultExecutor {
    /// An executor for `faults` on a network whose normal latency is `base_latency`.
    #[must_use]
    pub fn new(
        faults: &[PlannedFault],
        base_latency: DurRange,
        sink: EventSink<EventKind>,
    ) -> Self {
        let steps = plan::steps(faults);
        FaultExecutor {
            steps,
            next: 0,
            base_latency,
            sink,
            links: LinkFaults::default(),
            crashed: BTreeMap::new(),
            delays: ConnDelays::default(),
        }
    }

    /// When the next change not yet applied is due, if any.
    #[must_use]
    pub fn next_due(&self) -> Option<Duration> {
        self.steps.get(self.next).map(|s| s.at)
    }

    /// Applies every change due at or before `now`; returns whether there was any.
    pub fn apply_due(
        &mut self,
        sim: &mut turmoil::Sim<'_>,
        world: &Handles<'_>,
        now: Duration,
    ) -> bool {
        let mut applied = false;
        while let Some(step) = self.steps.get(self.next) {
            if step.at > now {
                break;
            }
            let step = step.clone();
            self.next += 1;
            self.apply(sim, world, now, &step);
            applied = true;
        }
        applied
    }

    fn apply(
        &mut self,
        sim: &mut turmoil::Sim<'_>,
        world: &Handles<'_>,
        now: Duration,
        step: &Step,
    ) {
        let (proxy, clocks) = (world.proxy, world.clocks);
        let desc = &step.fault.desc;
        let clock = |host: &str| clocks.get(host).expect("every host has a wall clock");
        let sleep = |host: &str| world.sleeps.get(host).expect("validated: a client host");
        match (desc, desc.link()) {
            (FaultDesc::Crash { host, silent, .. }, _) if step.start => {
                // Overlapping crashes of one host: it goes down with the first, up with the last.
                let down = self.crashed.entry(host.clone()).or_default();
                *down += 1;
                let already_down = *down > 1;
                if already_down {
                    // Nothing more to bring down; the last of the crashes restarts it.
                } else if *silent {
                    let _held = world.recorder.hold();
                    // A power-off: whatever the host's stack would send as it dies is lost.
                    let others: Vec<String> =
                        clocks.keys().filter(|h| *h != host).cloned().collect();
                    for other in &others {
                        sim.partition(host.as_str(), other.as_str());
                    }
                    sim.crash(host.as_str());
                    for other in &others {
                        sim.repair(host.as_str(), other.as_str());
                    }
                    // The repair must not end another fault's hold or drop on those links.
                    self.links.reapply(sim, self.base_latency, host);
                } else {
                    let _held = world.recorder.hold();
                    sim.crash(host.as_str());
                }
            }
            (FaultDesc::Crash { host, .. }, _) => {
                let down = self.crashed.entry(host.clone()).or_default();
                *down = down.saturating_sub(1);
                if *down == 0 {
                    let _held = world.recorder.hold();
                    sim.bounce(host.as_str());
                }
            }
            (FaultDesc::Sleep { host, .. }, _) => {
                let link = (host.as_str(), "proxy");
                let id = step.fault.id;
                self.links
                    .change(sim, self.base_latency, link, id, Effect::Hold, step.start);
                if step.start {
                    sleep(host).fall_asleep();
                } else {
                    sleep(host).wake();
                }
            }
            (
                FaultDesc::ProxyConn {
                    client,
                    action,
                    delay_ms,
                    ..
                },
                _,
            ) => {
                let id = step.fault.id;
                let fate = match (action, step.start) {
                    (ConnAction::Blackhole, _) => Fate::Blackhole,
                    (ConnAction::Reset, _) => Fate::Reset,
                    (ConnAction::Delay, true) => {
                        self.delays
                            .start(client, id, Duration::from_millis(*delay_ms))
                    }
                    (ConnAction::Delay, false) => self.delays.end(client, id),
                };
                proxy.set_client_fate(client, fate);
            }
            (FaultDesc::ClockStep { host, by_ms }, _) if step.start => clock(host).step(*by_ms),
            (FaultDesc::ClockDrift { host, ppm, .. }, _) if step.start => {
                clock(host).start_drift(now, *ppm as f64);
            }
            (FaultDesc::ClockDrift { host, .. }, _) => clock(host).stop_drift(now),
            (_, Some((a, b))) => self.apply_link(sim, proxy, desc, step, a, b),
            (_, None) => {}
        }
        self.sink.emit(if step.start {
            EventKind::FaultStart {
                id: step.fault.id,
                fault: desc.clone(),
            }
        } else {
            EventKind::FaultEnd {
                id: step.fault.id,
                fault: desc.name(),
            }
        });
    }

    fn apply_link(
        &mut self,
        sim: &turmoil::Sim<'_>,
        proxy: &ProxyControl,
        desc: &FaultDesc,
        step: &Step,
        a: &str,
        b: &str,
    ) {
        let effect = match desc {
            FaultDesc::Partition { .. } => Effect::Hold,
            FaultDesc::OneWay { .. } => Effect::OneWay,
            FaultDesc::StateLoss { .. } => {
                if step.start {
                    // Every connection crosses proxy–server; a client host's only its own.
                    let client_host = [a, b].into_iter().find(|h| *h != "proxy" && *h != "server");
                    proxy.blackhole(|peer| client_host.is_none_or(|h| h == peer));
                }
                Effect::Drop
            }
            FaultDesc::Latency { min_ms, max_ms, .. } => Effect::Spike(DurRange {
                min: Duration::from_millis(*min_ms),
                max: Duration::from_millis(*max_ms),
            }),
            FaultDesc::Crash { .. }
            | FaultDesc::Sleep { .. }
            | FaultDesc::ProxyConn { .. }
            | FaultDesc::ClockStep { .. }
            | FaultDesc::ClockDrift { .. } => return,
        };
        self.links.change(
            sim,
            self.base_latency,
            (a, b),
            step.fault.id,
            effect,
            step.start,
        );
    }
}
