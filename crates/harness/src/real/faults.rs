//! A scenario's fault schedule on the wall clock of a real network: the same planned faults
//! (`at`, `duration` drawn from the seed, [`crate::schedule::plan`]) applied as real time reaches
//! them, through the proxy's board of impairments, and logged as `fault_start` / `fault_end`
//! exactly as a simulation logs them. The times come from the seed; what the network and the
//! server do in between does not replay — a real run is not byte-replayable.
//!
//! How each fault is applied:
//! - `partition` → the proxy holds the link's bytes both ways, delivering them on heal;
//! - `one_way` → the proxy drops the link's bytes in that direction (the stream is dead that
//!   way for good);
//! - `state_loss` → established connections crossing the link are blackholed, new ones
//!   refused while it lasts;
//! - `latency` → each chunk crossing the link is delayed by a draw from the spike's range;
//! - `proxy_conn` → the client's current connection is blackholed or reset, or each of its
//!   chunks delayed while it lasts;
//! - `crash` of the server → the restart command runs (kill and start it again), and the proxy
//!   keeps the server unreachable until the crash ends (a silent crash's connections are
//!   blackholed, a clean one's reset); without a command it is refused before the run starts;
//! - `crash` of the proxy → every connection reset (blackholed if silent), new ones refused
//!   until it ends;
//! - `sleep`, `clock_step`, `clock_drift` → only on wsim's own client hosts (`wsim drive`): a
//!   sleeping host's clients freeze and its link is held; a host's wall clock steps or
//!   drifts. A server or proxy clock cannot be reached: such a fault is not applied, and the
//!   verdict says so.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use wsim_client::HostSleep;
use wsim_proto::clock::{HostClock, MonoTime};
use wsim_proto::EventSink;
use wsim_proxy::{Direction, Fate, Impairment, ProxyControl, Scope, Side};

use crate::event::{EventKind, FaultDesc};
use crate::schedule::{FaultExecutor, FaultTarget, PlannedFault};
use crate::wallclock::WallClock;

/// Runs the server's restart when a `crash` of the server begins.
pub trait Restarter {
    /// The crash `fault_id` begins; the server must be killed (and started again: the proxy
    /// keeps it unreachable for `down`). `silent`: a power-off.
    fn restart(&self, fault_id: u32, down: Duration, silent: bool);
}

/// What a real-network run can reach besides the proxy.
#[derive(Default)]
pub struct Reach {
    /// wsim's own client hosts' sleep switches (empty for a bare proxy).
    pub sleeps: BTreeMap<String, Rc<HostSleep>>,
    /// wsim's own client hosts' wall clocks (empty for a bare proxy).
    pub clocks: BTreeMap<String, Rc<WallClock>>,
    /// Restarts the server for a server crash.
    pub restarter: Option<Rc<dyn Restarter>>,
}

/// Why a fault of the schedule cannot be run on this real network (empty: all can): a server
/// crash without a way to restart the server, a crash of a client host.
#[must_use]
pub fn unreachable_faults(faults: &[PlannedFault], reach: &Reach) -> Vec<String> {
    let mut out = Vec::new();
    for f in faults {
        let why = match &f.desc {
            FaultDesc::Crash { host, .. } if host == "server" && reach.restarter.is_none() => {
                Some("a server crash needs --restart-cmd (a command that kills the server and starts it again)".to_string())
            }
            FaultDesc::Crash { host, .. } if host != "server" && host != "proxy" => {
                Some(format!("a crash of client host {host} is not supported on a real network"))
            }
            FaultDesc::Sleep { host, .. } if !reach.sleeps.contains_key(host) => {
                Some(format!("sleep of {host}: only wsim's own client hosts can sleep (wsim drive)"))
            }
            _ => None,
        };
        if let Some(why) = why {
            out.push(format!("fault {} ({}): {why}", f.id, f.desc.name()));
        }
    }
    out
}

/// The faults of the schedule a real run logs but cannot apply: a clock fault of the server
/// or the proxy (their clocks are the operating system's), for the verdict to say so.
#[must_use]
pub fn unapplied_faults(faults: &[PlannedFault], reach: &Reach) -> Vec<String> {
    faults
        .iter()
        .filter_map(|f| match &f.desc {
            FaultDesc::ClockStep { host, .. } | FaultDesc::ClockDrift { host, .. }
                if !reach.clocks.contains_key(host) =>
            {
                Some(format!(
                    "fault {} ({} of {host}) was not applied: only wsim's own client hosts' clocks can be changed",
                    f.id,
                    f.desc.name()
                ))
            }
            _ => None,
        })
        .collect()
}

/// Which client host each client of a scenario runs on, as the proxy resolves the client ids
/// it reads from upgrade requests: `<group>-<n>` is its group's host; any other id belongs to
/// the only client host when there is one (an outside client driven through `wsim proxy`).
#[derive(Debug, Clone, Default)]
pub struct HostMap {
    hosts: BTreeMap<String, String>,
    sole: Option<String>,
}

impl HostMap {
    /// The client host of `client`, if it has one.
    #[must_use]
    pub fn host_of(&self, client: &str) -> Option<String> {
        self.hosts.get(client).or(self.sole.as_ref()).cloned()
    }
}

/// The client hosts of `scenario`'s clients.
#[must_use]
pub fn client_hosts_of(scenario: &crate::scenario::ScenarioFile) -> HostMap {
    let hosts = scenario
        .roster()
        .map(|c| (c.id, c.group.host.clone()))
        .collect();
    let all = scenario.client_hosts();
    HostMap {
        hosts,
        sole: (all.len() == 1).then(|| all[0].clone()),
    }
}

/// Whether a bare proxy (`wsim proxy --scenario`) applies `fault`: link faults, faults of one
/// client's connection, and a crash of the proxy itself.
#[must_use]
pub fn applies_to_bare_proxy(fault: &FaultDesc) -> bool {
    match fault {
        FaultDesc::Crash { host, .. } => host == "proxy",
        FaultDesc::Sleep { .. } | FaultDesc::ClockStep { .. } | FaultDesc::ClockDrift { .. } => {
            false
        }
        FaultDesc::Partition { .. }
        | FaultDesc::OneWay { .. }
        | FaultDesc::StateLoss { .. }
        | FaultDesc::Latency { .. }
        | FaultDesc::ProxyConn { .. } => true,
    }
}

/// The proxy-side scope of the link `a`–`b` (`["<client host>", "proxy"]` or
/// `["proxy", "server"]`), and the direction of `a` → `b` through the proxy.
fn link_scope(a: &str, b: &str) -> (Scope, Direction) {
    let toward_server =
        |from: &str, to: &str| from != "server" && (to == "server" || from != "proxy");
    let direction = if toward_server(a, b) {
        Direction::Up
    } else {
        Direction::Down
    };
    let client_host = [a, b].into_iter().find(|h| *h != "proxy" && *h != "server");
    let scope = match client_host {
        Some(host) => Scope {
            side: Some(Side::Client),
            host: Some(host.to_string()),
            ..Scope::default()
        },
        None => Scope {
            side: Some(Side::Upstream),
            ..Scope::default()
        },
    };
    (scope, direction)
}

/// Applies `faults` on the wall clock (`clock` started with the run) through the one
/// executor, recording each start and end into `sink`; returns when the last has ended or
/// `end` is reached.
pub async fn run_schedule(
    faults: Vec<PlannedFault>,
    proxy: Rc<ProxyControl>,
    reach: Rc<Reach>,
    clock: HostClock,
    end: Duration,
    sink: EventSink<EventKind>,
) {
    let mut executor = FaultExecutor::new(&faults, sink);
    let mut target = ProxyTarget {
        proxy: &proxy,
        reach: &reach,
        by_fault: BTreeMap::new(),
        down: BTreeMap::new(),
    };
    while let Some(at) = executor.next_due().filter(|at| *at <= end) {
        clock.sleep_until(Some(MonoTime::ZERO + at)).await;
        let now = clock.now().saturating_since(MonoTime::ZERO);
        executor.apply_due(&mut target, now);
    }
}

/// A real network's proxy (and what else the run can reach) as the executor's target.
struct ProxyTarget<'a> {
    proxy: &'a ProxyControl,
    reach: &'a Reach,
    /// The impairments each active fault put on the proxy's board.
    by_fault: BTreeMap<u32, Vec<u64>>,
    /// The impairment keeping each crashed host down.
    down: BTreeMap<String, u64>,
}

impl ProxyTarget<'_> {
    /// Starts `impairment` on `scope` for `fault` (the board holds 1024 at once; a scenario
    /// has far fewer).
    fn start(&self, fault: &PlannedFault, impairment: Impairment, scope: Scope) -> Option<u64> {
        let label = format!("scenario fault {}", fault.id);
        self.proxy.start(impairment, scope, &label).ok()
    }

    fn end_all(&mut self, fault: &PlannedFault) {
        for id in self.by_fault.remove(&fault.id).unwrap_or_default() {
            self.proxy.board().end(id);
        }
    }
}

impl FaultTarget for ProxyTarget<'_> {
    fn link(&mut self, fault: &PlannedFault, a: &str, b: &str, start: bool) {
        if !start {
            self.end_all(fault);
            return;
        }
        let (mut scope, direction) = link_scope(a, b);
        let impairment = match &fault.desc {
            FaultDesc::OneWay { .. } => {
                scope.direction = Some(direction);
                Impairment::Drop
            }
            FaultDesc::StateLoss { .. } => Impairment::StateLoss,
            FaultDesc::Latency { min_ms, max_ms, .. } => Impairment::Latency {
                min_ms: *min_ms,
                max_ms: *max_ms,
            },
            _ => Impairment::Hold,
        };
        let ids = self.start(fault, impairment, scope).into_iter().collect();
        self.by_fault.insert(fault.id, ids);
    }

    fn crash(&mut self, fault: &PlannedFault, host: &str, silent: bool) {
        let side = match host {
            "server" => Side::Upstream,
            "proxy" => Side::Client,
            _ => return, // refused before the run (`unreachable_faults`)
        };
        if host == "server" {
            if let Some(r) = &self.reach.restarter {
                r.restart(fault.id, fault.desc.duration(), silent);
            }
        }
        let scope = Scope {
            side: Some(side),
            ..Scope::default()
        };
        if let Some(id) = self.start(fault, Impairment::Down { silent }, scope) {
            self.down.insert(host.to_string(), id);
        }
    }

    fn restart(&mut self, host: &str) {
        if let Some(id) = self.down.remove(host) {
            self.proxy.board().end(id);
        }
    }

    fn sleep(&mut self, fault: &PlannedFault, host: &str, asleep: bool) {
        let Some(switch) = self.reach.sleeps.get(host) else {
            return;
        };
        if asleep {
            switch.fall_asleep();
            let ids = self
                .start(fault, Impairment::Hold, link_scope(host, "proxy").0)
                .into_iter()
                .collect();
            self.by_fault.insert(fault.id, ids);
        } else {
            self.end_all(fault);
            switch.wake();
        }
    }

    fn conn_fate(&mut self, client: &str, fate: Fate) {
        self.proxy.set_client_fate(client, fate);
    }

    fn clock(&self, host: &str) -> Option<&WallClock> {
        self.reach.clocks.get(host).map(|c| &**c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_map_to_proxy_sides_and_directions() {
        let (scope, dir) = link_scope("phones", "proxy");
        assert_eq!(
            (scope.side, scope.host.as_deref(), dir),
            (Some(Side::Client), Some("phones"), Direction::Up)
        );
        let (scope, dir) = link_scope("proxy", "phones");
        assert_eq!((scope.side, dir), (Some(Side::Client), Direction::Down));
        let (scope, dir) = link_scope("proxy", "server");
        assert_eq!(
            (scope.side, scope.host, dir),
            (Some(Side::Upstream), None, Direction::Up)
        );
        let (_, dir) = link_scope("server", "proxy");
        assert_eq!(dir, Direction::Down);
    }
}
