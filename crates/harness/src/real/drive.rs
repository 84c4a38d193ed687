//! `wsim drive`: a scenario's client fleet and fault schedule in real time against a running
//! server in any language that speaks `docs/protocol.md`. wsim's own proxy stands between the
//! fleet and the target (on loopback, an ephemeral port) and carries the faults; the fleet's
//! events, the proxy's and the faults' make the timeline, which the black-box checkers judge
//! with real-network tolerances. The schedule comes from the seed; the rest is real time and
//! does not replay byte for byte.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use wsim_client::handshake::WsUrl;
use wsim_client::{Client, ClientIo, ClientMachine, HostSleep};
use wsim_proto::clock::{HostClock, MonoTime};
use wsim_proto::net::TokioConnector;
use wsim_proto::WallSource;
use wsim_proxy::ProxyControl;

use crate::check::{CheckContext, CheckOutcome};
use crate::clock::{self, Stopwatch};
use crate::event::Event;
use crate::judge::{self, RunOutcome};
use crate::real::faults::{self, Reach, Restarter};
use crate::real::process_client::{Problems, ProcessClient};
use crate::real::restart::CommandRestarter;
use crate::real::target_watch::TargetWatch;
use crate::real::tls_target::TlsTarget;
use crate::route;
use crate::scenario::duration::DurRange;
use crate::scenario::ScenarioFile;
use crate::schedule::plan::plan_faults;
use crate::seed::derive_rng;
use crate::sim::topology::{chat, client_plans};
use crate::timeline::Recorder;
use crate::wallclock::{WallClock, SIM_EPOCH_UNIX_MS};

/// How to drive a target.
#[derive(Debug, Clone)]
pub struct DriveOptions {
    /// The target server's WebSocket URL (`ws://HOST:PORT/PATH`).
    pub target: String,
    /// The seed: it draws the fault times, the clients' start offsets and their jitter.
    pub seed: u64,
    /// Runs when a server crash begins: must kill the server and start it again.
    pub restart_cmd: Option<String>,
    /// What the checkers allow for the real network (loopback, scheduling, the target's own
    /// pace) where a simulation would allow its maximum latency.
    pub tolerance: Duration,
    /// How the run is reproduced (the command line).
    pub repro: String,
    /// For a `wss://` target: a PEM file of CA certificates trusted besides the system's (a
    /// staging or self-signed certificate).
    pub ca_file: Option<std::path::PathBuf>,
    /// Each simulated user's client is a process started by `sh -c` with this command,
    /// speaking JSON Lines (docs/client-protocol.md), instead of wsim's own client.
    pub client_cmd: Option<String>,
}

/// Why a drive could not start.
#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    /// The target is not a `ws://host:port/path` URL.
    #[error("--target {target}: {why}")]
    Target {
        /// The target given.
        target: String,
        /// What is wrong with it.
        why: String,
    },
    /// Some fault of the scenario cannot be applied on a real network.
    #[error("the scenario has faults wsim drive cannot apply:\n  {}", .0.join("\n  "))]
    Unreachable(Vec<String>),
    /// The target's host name does not resolve.
    #[error("the target's host does not resolve: {target}: {why}")]
    TargetUnresolved {
        /// The target's `host:port`.
        target: String,
        /// What resolving said.
        why: String,
    },
    /// Nothing answers at the target before the run starts.
    #[error("nothing answers at {target}: {why} (start the server first)")]
    TargetDown {
        /// The target's `host:port`.
        target: String,
        /// What connecting said.
        why: String,
    },
    /// A `wss://` target whose TLS does not work: an untrusted or mismatched certificate, an
    /// unreadable CA file, a server that does not speak TLS.
    #[error("TLS to {target}: {why}")]
    Tls {
        /// The target's `host:port`.
        target: String,
        /// What the TLS library said.
        why: String,
    },
    /// A `--client-cmd` process could not be started.
    #[error("cannot start the client command `{cmd}`: {why}")]
    ClientCmd {
        /// The command.
        cmd: String,
        /// What starting it said.
        why: String,
    },
    /// The proxy's loopback port could not be opened.
    #[error("cannot listen on loopback for the proxy: {0}")]
    Listen(std::io::Error),
    /// The runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
}

/// The target's `host:port` and path, or why `target` is not a `ws://host:port[/path]` or
/// `wss://host:port[/path]` URL.
///
/// # Errors
/// [`DriveError::Target`] naming what is wrong with it.
pub fn parse_target(target: &str) -> Result<(String, String), DriveError> {
    let bad = |why: &str| DriveError::Target {
        target: target.to_string(),
        why: why.to_string(),
    };
    let rest = target
        .strip_prefix("ws://")
        .or_else(|| target.strip_prefix("wss://"))
        .ok_or_else(|| bad("must start with ws:// or wss://"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/ws"),
    };
    if authority.is_empty() || !authority.contains(':') {
        return Err(bad("needs a host and a port (ws://127.0.0.1:9000/ws)"));
    }
    if path.contains('?') {
        return Err(bad("must not carry a query (the clients add theirs)"));
    }
    Ok((authority.to_string(), path.to_string()))
}

/// Checks that something accepts TCP connections at `upstream` (within 3 s).
fn probe(upstream: &str) -> Result<(), DriveError> {
    use std::net::ToSocketAddrs;
    let down = |why: String| DriveError::TargetDown {
        target: upstream.to_string(),
        why,
    };
    let addrs = upstream
        .to_socket_addrs()
        .map_err(|e| DriveError::TargetUnresolved {
            target: upstream.to_string(),
            why: e.to_string(),
        })?;
    let mut last = String::from("it resolves to no address");
    for addr in addrs {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(down(last))
}

/// The checkers' context on a real network: the scenario's settings, with the tolerance as
/// the latency every causal bound allows for.
#[must_use]
pub fn real_context(scenario: &ScenarioFile, tolerance: Duration) -> CheckContext {
    let mut ctx = CheckContext::from_scenario(scenario);
    ctx.latency = DurRange {
        min: Duration::ZERO,
        max: tolerance,
    };
    ctx
}

/// Drives `scenario` against `options.target` in real time and judges it.
pub fn drive(scenario: &ScenarioFile, options: &DriveOptions) -> Result<RunOutcome, DriveError> {
    let (upstream, path) = parse_target(&options.target)?;
    let planned = plan_faults(scenario, options.seed);
    let restarter: Option<Rc<CommandRestarter>> = options
        .restart_cmd
        .as_ref()
        .map(|cmd| Rc::new(CommandRestarter::new(cmd)));
    let hosts = scenario.client_hosts();
    let mut reach = Reach {
        restarter: restarter.clone().map(|r| r as Rc<dyn Restarter>),
        ..Reach::default()
    };
    for host in &hosts {
        reach.sleeps.insert(host.clone(), HostSleep::new());
        reach.clocks.insert(host.clone(), WallClock::new());
    }
    let mut refused = faults::unreachable_faults(&planned, &reach);
    if options.client_cmd.is_some() {
        // A process cannot be frozen or have its clock moved from here.
        for f in &planned {
            if matches!(
                f.desc,
                crate::event::FaultDesc::Sleep { .. }
                    | crate::event::FaultDesc::ClockStep { .. }
                    | crate::event::FaultDesc::ClockDrift { .. }
            ) {
                refused.push(format!(
                    "fault {} ({}): needs wsim's own client (a --client-cmd process cannot be frozen or have its clock moved)",
                    f.id,
                    f.desc.name()
                ));
            }
        }
        if options.target.starts_with("wss://") {
            return Err(DriveError::Target {
                target: options.target.clone(),
                why: "--client-cmd clients reach the target through the proxy at a ws:// URL; a wss:// target needs wsim's own client".to_string(),
            });
        }
    }
    if !refused.is_empty() {
        return Err(DriveError::Unreachable(refused));
    }
    let unapplied = faults::unapplied_faults(&planned, &reach);
    probe(&upstream)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(DriveError::Runtime)?;
    // A wss:// target's certificate is checked once before the run: a refusal is said now,
    // with the TLS library's reason, not as every client's failed attempts.
    let tls = TlsTarget::prepare(
        &options.target,
        options.ca_file.as_deref(),
        &upstream,
        &runtime,
    )
    .map_err(|why| DriveError::Tls {
        target: upstream.clone(),
        why,
    })?;
    let wall = Stopwatch::start();
    let fleet = tokio::task::LocalSet::new().block_on(
        &runtime,
        run_fleet(scenario, options, upstream, path, planned, reach, tls),
    )?;
    // The restart commands are reaped (or killed) before the verdict, which names any that
    // failed: the server crashes of the scenario then did not happen as written.
    let restart_problems = restarter.map(|r| r.finish()).unwrap_or_default();
    let mut ctx = real_context(scenario, options.tolerance);
    ctx.end = fleet.ran;
    let mut detail = format!(
        "skipped: a real-network run of seed {} (fault times from the seed; the network and the server in real time, not byte-replayable); clock and sleep faults apply to wsim's client hosts only; checkers allow {} ms for the network",
        options.seed,
        options.tolerance.as_millis()
    );
    for note in &unapplied {
        detail.push_str("; ");
        detail.push_str(note);
    }
    if let Some(cmd) = &options.client_cmd {
        detail.push_str(&format!("; each client a process of `{cmd}`"));
    }
    let mut notes = vec![CheckOutcome {
        name: "real_network",
        passed: true,
        detail,
        skipped: true,
        vacuous: false,
    }];
    if fleet.problems.count > 0 {
        let more = fleet.problems.count - 1;
        let first = fleet.problems.first.first().cloned().unwrap_or_default();
        notes.push(CheckOutcome {
            name: "client_process",
            passed: false,
            detail: if more > 0 {
                format!("{first} (and {more} more)")
            } else {
                first
            },
            skipped: false,
            vacuous: false,
        });
    }
    if let Some(why) = fleet.wrong_target {
        notes.push(CheckOutcome {
            name: "target",
            passed: false,
            detail: format!(
                "{why} (the run ended after {} ms of the scenario's {} ms)",
                fleet.ran.as_millis(),
                scenario.duration.0.as_millis()
            ),
            skipped: false,
            vacuous: false,
        });
    }
    if !restart_problems.is_empty() {
        notes.push(CheckOutcome {
            name: "restart_cmd",
            passed: false,
            detail: format!(
                "the server may not have come back after a crash, so the run does not show what the scenario asks: {}",
                restart_problems.join("; ")
            ),
            skipped: false,
            vacuous: false,
        });
    }
    Ok(judge::judge_real(
        scenario,
        ctx,
        options.seed,
        options.repro.clone(),
        fleet.events,
        notes,
        wall,
    ))
}

async fn run_fleet(
    scenario: &ScenarioFile,
    options: &DriveOptions,
    upstream: String,
    path: String,
    planned: Vec<crate::schedule::plan::PlannedFault>,
    reach: Reach,
    tls: Option<TlsTarget>,
) -> Result<Fleet, DriveError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(DriveError::Listen)?;
    let proxy_addr = listener.local_addr().map_err(DriveError::Listen)?;
    let kept = Rc::new(RefCell::new(Vec::new()));
    let client_config = scenario.client_config();
    let watch = Rc::new(RefCell::new(TargetWatch::new(
        client_config.connect_timeout,
    )));
    let recorder = {
        let (kept, watch) = (Rc::clone(&kept), Rc::clone(&watch));
        Recorder::live(move |event| {
            watch.borrow_mut().observe(event);
            kept.borrow_mut().push(event.clone());
        })
    };
    let clock = HostClock::start();
    let start_unix_ms = wsim_proto::clock::real_unix_ms();

    let control = ProxyControl::new();
    control
        .board()
        .reseed(derive_rng(options.seed, "proxy/impairments"));
    let hosts_of = faults::client_hosts_of(scenario);
    control.set_host_resolver(move |client| hosts_of.host_of(client));
    let proxy_config = scenario.proxy_config(upstream);
    tokio::task::spawn_local(wsim_proxy::run(
        listener,
        TokioConnector,
        proxy_config,
        Rc::clone(&control),
        route::proxy_sink(&recorder.sink("proxy")),
    ));

    // Through the proxy: a ws:// target is reached at the proxy's address; a wss:// one keeps
    // its own URL (its host for the certificate and the Host header) while the bytes go to
    // the proxy, which relays them unchanged (each connection named to it by its client).
    let url = match &tls {
        None => format!("ws://{proxy_addr}{path}"),
        Some(_) => options.target.clone(),
    };
    let mut clients = Vec::new();
    let mut processes: Vec<Rc<ProcessClient>> = Vec::new();
    let problems = Rc::new(RefCell::new(Problems::default()));
    for host in scenario.client_hosts() {
        let sleep = Rc::clone(&reach.sleeps[&host]);
        let host_clock = Rc::clone(&reach.clocks[&host]);
        let timeline = recorder.sink(&host);
        for plan in client_plans(scenario, options.seed, &host) {
            let id = plan.identity.client_id.clone();
            if let Some(cmd) = &options.client_cmd {
                let sink = route::client_sink(&timeline, &id);
                let process = ProcessClient::start(cmd, &plan.identity, sink, Rc::clone(&problems))
                    .map_err(|e| DriveError::ClientCmd {
                        cmd: cmd.clone(),
                        why: e.to_string(),
                    })?;
                let (connecting, identity, url) =
                    (Rc::clone(&process), plan.identity.clone(), url.clone());
                tokio::task::spawn_local(async move {
                    wsim_proto::clock::timer::sleep(plan.start).await;
                    connecting.connect(&url, &identity);
                });
                let app: Box<dyn crate::sim::seam::ClientApp> = Box::new(Rc::clone(&process));
                processes.push(process);
                tokio::task::spawn_local(chat(app, Rc::clone(&sleep), plan.start, plan.send_every));
                continue;
            }
            let machine = ClientMachine::new(
                client_config.clone(),
                plan.identity,
                derive_rng(options.seed, &format!("client/{id}")),
                MonoTime::ZERO,
                plan.start,
            );
            let wall_clock = Rc::clone(&host_clock);
            let io = ClientIo {
                sink: Some(route::client_sink(&timeline, &id)),
                app_events: false,
                wall: WallSource::provided(move || {
                    wall_clock.at(clock::event_time()) - SIM_EPOCH_UNIX_MS + start_unix_ms
                }),
                sleep: Some(Rc::clone(&sleep)),
            };
            let url = WsUrl::parse(&url).map_err(|e| DriveError::Target {
                target: options.target.clone(),
                why: e.to_string(),
            })?;
            let client = match &tls {
                None => Client::spawn(machine, TokioConnector, url, io),
                Some(tls) => tls
                    .spawn(machine, &proxy_addr.to_string(), &control, url, io)
                    .map_err(|why| DriveError::Tls {
                        target: options.target.clone(),
                        why,
                    })?,
            };
            let client = Rc::new(client);
            clients.push(Rc::clone(&client));
            let app: Box<dyn crate::sim::seam::ClientApp> = Box::new(Shared(client));
            tokio::task::spawn_local(chat(app, Rc::clone(&sleep), plan.start, plan.send_every));
        }
    }
    let end = scenario.duration.0;
    tokio::task::spawn_local(faults::run_schedule(
        planned,
        Rc::clone(&control),
        Rc::new(reach),
        clock,
        end,
        recorder.sink("sim"),
    ));
    // Until the scenario's end, unless the target turns out not to be one wsim can judge.
    let mut wrong_target = None;
    loop {
        let now = clock.now().saturating_since(MonoTime::ZERO);
        if now >= end {
            break;
        }
        let welcomed =
            clients.iter().any(|c| c.has_session()) || processes.iter().any(|p| p.has_session());
        wrong_target = watch.borrow().verdict(now, welcomed);
        if wrong_target.is_some() {
            break;
        }
        let next = (now + WATCH_EVERY).min(end);
        clock.sleep_until(Some(MonoTime::ZERO + next)).await;
    }
    let ran = clock.now().saturating_since(MonoTime::ZERO).min(end);
    for client in &clients {
        client.close();
    }
    drop(clients);
    if !processes.is_empty() {
        // Told to close, they have a moment to exit; dropped, those left are killed.
        for process in &processes {
            process.close(&problems);
        }
        clock
            .sleep_until(Some(clock.now() + Duration::from_millis(500)))
            .await;
        drop(processes);
    }
    drop(recorder);
    let events = std::mem::take(&mut *kept.borrow_mut());
    let problems = std::mem::take(&mut *problems.borrow_mut());
    Ok(Fleet {
        events,
        wrong_target,
        ran,
        problems,
    })
}

/// How often a drive asks whether its target can be judged at all.
const WATCH_EVERY: Duration = Duration::from_millis(100);

/// What a drive's fleet recorded.
struct Fleet {
    events: Vec<Event>,
    /// Why the run ended early: the target is not one wsim can judge.
    wrong_target: Option<String>,
    /// How long it ran.
    ran: Duration,
    /// What was wrong with its client processes (`--client-cmd`).
    problems: Problems,
}

/// A client shared between the workload and the run (which closes it at the end).
struct Shared(Rc<Client>);

impl crate::sim::seam::ClientApp for Shared {
    fn send(&self, text: String) {
        // A full buffer refuses the message; the workload moves on.
        let _ = self.0.send(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_ws_urls_with_host_and_port() {
        assert_eq!(
            parse_target("ws://127.0.0.1:9000/ws").unwrap(),
            ("127.0.0.1:9000".into(), "/ws".into())
        );
        assert_eq!(
            parse_target("ws://localhost:81").unwrap(),
            ("localhost:81".into(), "/ws".into())
        );
        assert_eq!(
            parse_target("wss://localhost:9443/chat").unwrap(),
            ("localhost:9443".into(), "/chat".into())
        );
        for bad in [
            "http://x:1/ws",
            "ws://nohost/ws",
            "wss://nohost/ws",
            "ws://x:1/ws?room=a",
        ] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }
}
