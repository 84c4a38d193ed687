//! A scenario's fault schedule on the wall clock of a real network: the same planned faults
//! (`at`, `duration` drawn from the seed, [`crate::sim::plan`]) applied as real time reaches
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

use crate::conn_delays::ConnDelays;
use crate::event::{ConnAction, EventKind, FaultDesc};
use crate::sim::plan::{self, PlannedFault};
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
    let hosts = crate::sim::topology::host_of_client(scenario);
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

/// Applies `faults` on the wall clock (`clock` started with the run), recording each start
/// and end into `sink`; returns when the last has ended or `end` is reached.
pub async fn run_schedule(
    faults: Vec<PlannedFault>,
    proxy: Rc<ProxyControl>,
    reach: Rc<Reach>,
    clock: HostClock,
    end: Duration,
    sink: EventSink<EventKind>,
) {
    let mut board_ids: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    let mut delays = ConnDelays::default();
    // In the simulation's order.
    for plan::Step { at, start, fault } in plan::steps(&faults) {
        if at > end {
            break;
        }
        clock.sleep_until(Some(MonoTime::ZERO + at)).await;
        let now = clock.now().saturating_since(MonoTime::ZERO);
        if start {
            let ids = apply_start(&fault, &proxy, &reach, &mut delays, now);
            board_ids.insert(fault.id, ids);
            sink.emit(EventKind::FaultStart {
                id: fault.id,
                fault: fault.desc.clone(),
            });
        } else {
            for id in board_ids.remove(&fault.id).unwrap_or_default() {
                proxy.board().end(id);
            }
            apply_end(&fault, &proxy, &reach, &mut delays, now);
            sink.emit(EventKind::FaultEnd {
                id: fault.id,
                fault: fault.desc.name(),
            });
        }
    }
}

/// Starts `fault`; returns the impairments it put on the proxy's board.
fn apply_start(
    fault: &PlannedFault,
    proxy: &ProxyControl,
    reach: &Reach,
    delays: &mut ConnDelays,
    now: Duration,
) -> Vec<u64> {
    let label = format!("scenario fault {}", fault.id);
    let start = |impairment: Impairment, scope: Scope| {
        // The board holds 1024 at once; a scenario has far fewer.
        proxy.start(impairment, scope, &label).ok()
    };
    let ids: Vec<Option<u64>> = match &fault.desc {
        FaultDesc::Partition { a, b, .. } => vec![start(Impairment::Hold, link_scope(a, b).0)],
        FaultDesc::OneWay { a, b, .. } => {
            let (mut scope, direction) = link_scope(a, b);
            scope.direction = Some(direction);
            vec![start(Impairment::Drop, scope)]
        }
        FaultDesc::StateLoss { a, b, .. } => vec![start(Impairment::StateLoss, link_scope(a, b).0)],
        FaultDesc::Latency {
            a,
            b,
            min_ms,
            max_ms,
            ..
        } => vec![start(
            Impairment::Latency {
                min_ms: *min_ms,
                max_ms: *max_ms,
            },
            link_scope(a, b).0,
        )],
        FaultDesc::ProxyConn {
            client,
            action,
            delay_ms,
            ..
        } => match action {
            ConnAction::Blackhole => {
                proxy.set_client_fate(client, Fate::Blackhole);
                vec![]
            }
            ConnAction::Reset => {
                proxy.set_client_fate(client, Fate::Reset);
                vec![]
            }
            ConnAction::Delay => {
                // The client's current connection alone, as in a simulation.
                let fate = delays.start(client, fault.id, Duration::from_millis(*delay_ms));
                proxy.set_client_fate(client, fate);
                vec![]
            }
        },
        FaultDesc::Crash {
            host,
            duration_ms,
            silent,
        } => {
            let side = match host.as_str() {
                "server" => Side::Upstream,
                "proxy" => Side::Client,
                _ => return vec![],
            };
            if host == "server" {
                if let Some(r) = &reach.restarter {
                    r.restart(fault.id, Duration::from_millis(*duration_ms), *silent);
                }
            }
            vec![start(
                Impairment::Down { silent: *silent },
                Scope {
                    side: Some(side),
                    ..Scope::default()
                },
            )]
        }
        FaultDesc::Sleep { host, .. } => match reach.sleeps.get(host) {
            Some(sleep) => {
                sleep.fall_asleep();
                vec![start(Impairment::Hold, link_scope(host, "proxy").0)]
            }
            None => vec![],
        },
        FaultDesc::ClockStep { host, by_ms } => {
            if let Some(c) = reach.clocks.get(host) {
                c.step(*by_ms);
            }
            vec![]
        }
        FaultDesc::ClockDrift { host, ppm, .. } => {
            if let Some(c) = reach.clocks.get(host) {
                c.start_drift(now, *ppm as f64);
            }
            vec![]
        }
    };
    ids.into_iter().flatten().collect()
}

fn apply_end(
    fault: &PlannedFault,
    proxy: &ProxyControl,
    reach: &Reach,
    delays: &mut ConnDelays,
    now: Duration,
) {
    match &fault.desc {
        FaultDesc::ProxyConn {
            client,
            action: ConnAction::Delay,
            ..
        } => {
            proxy.set_client_fate(client, delays.end(client, fault.id));
        }
        FaultDesc::Sleep { host, .. } => {
            if let Some(sleep) = reach.sleeps.get(host) {
                sleep.wake();
            }
        }
        FaultDesc::ClockDrift { host, .. } => {
            if let Some(c) = reach.clocks.get(host) {
                c.stop_drift(now);
            }
        }
        _ => {}
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
