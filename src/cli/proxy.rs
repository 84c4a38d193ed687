//! `wsim proxy`: the relay proxy on a real network — idle kills, optionally a scenario's link
//! and proxy faults on the wall clock (`--scenario`, `--seed`), and the HTTP control API
//! (`--control ADDR`, off unless given; see docs/proxy-api.md).

use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use crate::cli::real::{block_on, raise_fd_limit};
use crate::cli::{
    opt_duration, Format, IdleMeasureArg, IdleModeArg, OptDuration, EXIT_BAD_INPUT, EXIT_PASS,
};
use wsim::real::faults::{self, Reach};
use wsim::render;
use wsim::timeline::Recorder;
use wsim_proto::clock::HostClock;
use wsim_proto::net::TokioConnector;

#[derive(Debug, clap::Args)]
pub(crate) struct ProxyArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Address of the server to relay to.
    #[arg(long, default_value = "127.0.0.1:9000")]
    upstream: String,
    /// Kill connections that carried no bytes for this long ("none": never). Default 30s, or
    /// the scenario's `[proxy] idle_timeout`.
    #[arg(long, value_parser = opt_duration)]
    idle_timeout: Option<OptDuration>,
    /// How idle connections die (default close, or the scenario's).
    #[arg(long, value_enum)]
    on_idle: Option<IdleModeArg>,
    /// Which traffic keeps a connection alive (default either, or the scenario's).
    #[arg(long, value_enum)]
    idle_measure: Option<IdleMeasureArg>,
    /// Apply this scenario's link and proxy faults on the wall clock, from the proxy's start
    /// (partition, one_way, state_loss, latency, proxy_conn, a crash of the proxy), logged as
    /// `fault_start` / `fault_end`. Faults of other hosts are listed and not applied.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// The seed that draws the scenario's fault times.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Serve the HTTP control API on this address (e.g. 127.0.0.1:8474): list connections,
    /// start and end faults, reset connections. Off unless given.
    #[arg(long)]
    control: Option<String>,
    /// Event output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub(crate) fn proxy(args: ProxyArgs) -> ExitCode {
    raise_fd_limit();
    let scenario = match &args.scenario {
        Some(path) => match wsim::scenario::load(path) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        },
        None => None,
    };
    let mut config = match &scenario {
        Some(s) => s.proxy_config(args.upstream.clone()),
        None => wsim_proxy::ProxyConfig {
            upstream: args.upstream.clone(),
            connect_timeout: Duration::from_secs(5),
            idle: wsim_proxy::IdleConfig::default(),
        },
    };
    if let Some(t) = args.idle_timeout {
        config.idle.timeout = t.0;
    }
    if let Some(m) = args.on_idle {
        config.idle.mode = m.into();
    }
    if let Some(m) = args.idle_measure {
        config.idle.measure = m.into();
    }
    let format = args.format;
    block_on(async move {
        let listener = match tokio::net::TcpListener::bind(&args.listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot listen on {}: {e}", args.listen);
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        };
        let api = match &args.control {
            Some(addr) => match tokio::net::TcpListener::bind(addr).await {
                Ok(l) => Some(l),
                Err(e) => {
                    eprintln!("error: cannot listen on {addr} for the control API: {e}");
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
            },
            None => None,
        };
        let bound = listener
            .local_addr()
            .map_or_else(|_| args.listen.clone(), |a| a.to_string());
        eprintln!(
            "wsim proxy: listening on {bound}, relaying to {}",
            args.upstream
        );
        let recorder = Recorder::live(move |event| match format {
            Format::Text => println!("{}", render::text_line(event)),
            Format::Jsonl => println!("{}", render::json_line(event)),
        });
        let clock = HostClock::start();
        let control = wsim_proxy::ProxyControl::new();
        if let Some(api) = api {
            let bound = api
                .local_addr()
                .map_or_else(|e| e.to_string(), |a| a.to_string());
            eprintln!(
                "wsim proxy: control API on http://{bound}/ (GET /connections, POST /faults, ...)"
            );
            let api_clock = clock;
            let sink = wsim_proto::EventSink::new(move |event: wsim_proxy::api::ApiEvent| {
                let t_ms = u64::try_from(
                    api_clock
                        .now()
                        .saturating_since(wsim_proto::MonoTime::ZERO)
                        .as_millis(),
                )
                .unwrap_or(u64::MAX);
                let mut line = serde_json::to_value(&event).unwrap_or_default();
                if let Some(map) = line.as_object_mut() {
                    map.insert("t_ms".into(), t_ms.into());
                    map.insert("host".into(), "proxy-api".into());
                }
                match format {
                    Format::Jsonl => println!("{line}"),
                    Format::Text => {
                        println!("{:>6}.{:03}  proxy-api  {line}", t_ms / 1000, t_ms % 1000)
                    }
                }
            });
            tokio::task::spawn_local(wsim_proxy::api::serve(api, Rc::clone(&control), sink));
        }
        if let Some(scenario) = &scenario {
            let hosts = wsim::real::faults::client_hosts_of(scenario);
            control.set_host_resolver(move |client| hosts.host_of(client));
            control
                .board()
                .reseed(wsim_proto::derive_rng(args.seed, "proxy/impairments"));
            let planned = wsim::schedule::plan::plan_faults(scenario, args.seed);
            let reach = Reach::default();
            for f in planned
                .iter()
                .filter(|f| !faults::applies_to_bare_proxy(&f.desc))
            {
                eprintln!(
                    "wsim proxy: not applied: fault {} ({}): a proxy applies link and proxy faults only; `wsim drive` runs the others",
                    f.id,
                    f.desc.name()
                );
            }
            let applied: Vec<_> = planned
                .into_iter()
                .filter(|f| faults::applies_to_bare_proxy(&f.desc))
                .collect();
            eprintln!(
                "wsim proxy: applying {} fault(s) of {} (seed {}) on the wall clock",
                applied.len(),
                scenario.name,
                args.seed
            );
            tokio::task::spawn_local(faults::run_schedule(
                applied,
                Rc::clone(&control),
                Rc::new(reach),
                clock,
                Duration::MAX,
                recorder.sink("sim"),
            ));
        }
        let sink = wsim::route::proxy_sink(&recorder.sink("proxy"));
        wsim_proxy::run(listener, TokioConnector, config, control, sink).await;
        ExitCode::from(EXIT_PASS)
    })
}
