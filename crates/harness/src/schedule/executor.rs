//! The one fault executor: walks a planned schedule in time order (ends before starts at equal
//! times, then scenario order: [`plan::steps`]) and applies each change to a [`FaultTarget`],
//! recording `fault_start` / `fault_end` as it goes. What composes across faults is decided
//! here, once, for every target: overlapping crashes of one host take it down with the first
//! and bring it back with the last; overlapping `proxy_conn` delays on one client restore each
//! other's fate as they end; clocks step and drift on the hosts the target can reach. How a
//! change is made — turmoil operations or the real proxy's board — is the target's business.

use std::collections::BTreeMap;
use std::time::Duration;

use wsim_proto::EventSink;
use wsim_proxy::Fate;

use crate::event::EventKind;
use crate::fault::{ConnAction, FaultDesc};
use crate::schedule::conn_delays::ConnDelays;
use crate::schedule::plan::{self, PlannedFault, Step};
use crate::wallclock::WallClock;

/// What a fault changes, as a target applies it.
pub trait FaultTarget {
    /// A link fault (`partition`, `one_way`, `state_loss`, `latency`) on `a`–`b` starts or
    /// ends.
    fn link(&mut self, fault: &PlannedFault, a: &str, b: &str, start: bool);
    /// `host` goes down: the first of its overlapping crashes (`fault`) begins.
    fn crash(&mut self, fault: &PlannedFault, host: &str, silent: bool);
    /// `host` comes back with fresh state: the last of its overlapping crashes ended.
    fn restart(&mut self, host: &str);
    /// Client host `host` falls asleep (its clients freeze, its link is held) or wakes.
    fn sleep(&mut self, fault: &PlannedFault, host: &str, asleep: bool);
    /// The proxy gives `client`'s current connection `fate`.
    fn conn_fate(&mut self, client: &str, fate: Fate);
    /// `host`'s wall clock, if the target can reach it.
    fn clock(&self, host: &str) -> Option<&WallClock>;
}

/// Applies a planned schedule in time order.
pub struct FaultExecutor {
    steps: Vec<Step>,
    next: usize,
    sink: EventSink<EventKind>,
    /// Host → crash faults active on it.
    crashed: BTreeMap<String, u32>,
    /// The `proxy_conn` delays active on each client.
    delays: ConnDelays,
}

impl FaultExecutor {
    /// An executor for `faults`, recording into `sink`.
    #[must_use]
    pub fn new(faults: &[PlannedFault], sink: EventSink<EventKind>) -> Self {
        FaultExecutor {
            steps: plan::steps(faults),
            next: 0,
            sink,
            crashed: BTreeMap::new(),
            delays: ConnDelays::default(),
        }
    }

    /// When the next change not yet applied is due, if any.
    #[must_use]
    pub fn next_due(&self) -> Option<Duration> {
        self.steps.get(self.next).map(|s| s.at)
    }

    /// Applies every change due at or before `now` to `target`; whether there was any.
    pub fn apply_due(&mut self, target: &mut impl FaultTarget, now: Duration) -> bool {
        let mut applied = false;
        while let Some(step) = self.steps.get(self.next).filter(|s| s.at <= now) {
            let step = step.clone();
            self.next += 1;
            self.apply(target, now, &step);
            applied = true;
        }
        applied
    }

    fn apply(&mut self, target: &mut impl FaultTarget, now: Duration, step: &Step) {
        let fault = &step.fault;
        match &fault.desc {
            FaultDesc::Crash { host, silent, .. } => {
                let down = self.crashed.entry(host.clone()).or_default();
                if step.start {
                    *down += 1;
                    if *down == 1 {
                        target.crash(fault, host, *silent);
                    }
                } else {
                    *down = down.saturating_sub(1);
                    if *down == 0 {
                        target.restart(host);
                    }
                }
            }
            FaultDesc::Sleep { host, .. } => target.sleep(fault, host, step.start),
            FaultDesc::ProxyConn {
                client,
                action,
                delay_ms,
                ..
            } => {
                let fate = match (action, step.start) {
                    (ConnAction::Blackhole, _) => Fate::Blackhole,
                    (ConnAction::Reset, _) => Fate::Reset,
                    (ConnAction::Delay, true) => {
                        self.delays
                            .start(client, fault.id, Duration::from_millis(*delay_ms))
                    }
                    (ConnAction::Delay, false) => self.delays.end(client, fault.id),
                };
                target.conn_fate(client, fate);
            }
            FaultDesc::ClockStep { host, by_ms } => {
                if let Some(clock) = target.clock(host).filter(|_| step.start) {
                    clock.step(*by_ms);
                }
            }
            FaultDesc::ClockDrift { host, ppm, .. } => {
                if let Some(clock) = target.clock(host) {
                    if step.start {
                        clock.start_drift(now, *ppm as f64);
                    } else {
                        clock.stop_drift(now);
                    }
                }
            }
            FaultDesc::Partition { a, b, .. }
            | FaultDesc::OneWay { a, b, .. }
            | FaultDesc::StateLoss { a, b, .. }
            | FaultDesc::Latency { a, b, .. } => target.link(fault, a, b, step.start),
        }
        self.sink.emit(if step.start {
            EventKind::FaultStart {
                id: fault.id,
                fault: fault.desc.clone(),
            }
        } else {
            EventKind::FaultEnd {
                id: fault.id,
                fault: fault.desc.name(),
            }
        });
    }
}
