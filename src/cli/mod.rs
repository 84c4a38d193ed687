//! The `wsim` command line: argument parsing and dispatch. Each command lives in its own file.
//!
//! Exit codes: 0 success (every check passed), 1 a check failed, 2 bad input (arguments or
//! scenario file).

mod choices;
mod drive;
mod explore;
mod grid;
mod proxy;
mod real;
mod run;
mod settings;
mod shrink;
mod sweep;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

pub(crate) use choices::{IdleMeasureArg, IdleModeArg, ImplementationArg};

/// Deterministic simulation test harness for resilient WebSocket systems.
#[derive(Debug, Parser)]
#[command(name = "wsim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `wsim serve --keyless-resume`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum KeylessArg {
    /// Trust the client id.
    #[value(name = "client_id", alias = "client-id")]
    ClientId,
    /// Require the session key.
    Key,
}

/// Output format of timelines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One aligned line per event, then a verdict for people.
    Text,
    /// One JSON object per line; the last line is the verdict.
    Jsonl,
}

/// Output format of `wsim run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunFormat {
    /// One aligned line per event, then a verdict for people.
    Text,
    /// One JSON object per line; the last line is the verdict.
    Jsonl,
    /// Lifecycle events, message totals per client and the checks: what the insta snapshots
    /// store.
    Digest,
    /// Only the verdict and the count of events: the run is judged as it goes and keeps no
    /// timeline, so memory does not grow with simulated time (what `wsim-dev bench` measures).
    Verdict,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulate one scenario with one seed: print its timeline and verdict.
    Run {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// The seed: the same scenario and seed always give the same timeline.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = RunFormat::Text)]
        format: RunFormat,
        /// Also write the run's report (timeline.html, summary.md, ...) under --report-dir.
        #[arg(long)]
        report: bool,
        /// Where reports are written.
        #[arg(long, default_value = "reports")]
        report_dir: PathBuf,
        /// Which server stands on the server host (overrides the scenario's `[system]`).
        #[arg(long, value_enum)]
        server: Option<ImplementationArg>,
        /// Which client each simulated user runs (overrides the scenario's `[system]`).
        #[arg(long, value_enum)]
        client: Option<ImplementationArg>,
        /// Step every tick instead of skipping idle ticks (the timeline is the same; this is
        /// how to check that, and how to run a system that does not announce its timers).
        #[arg(long)]
        every_tick: bool,
    },
    /// Run scenarios over many seeds in parallel: a table with a row per scenario, every failure with its
    /// reproduction command, reports under reports/, optional JUnit XML.
    Sweep(sweep::SweepArgs),
    /// Random worlds: each seed draws clients, settings and overlapping faults of every kind,
    /// runs them with every checker; failures are written out as scenario files and shrunk.
    Explore(explore::ExploreArgs),
    /// Minimise a failing run: drop and shorten faults, fix random ranges, fewer clients, a
    /// shorter run, while the same check still fails; write the result as a regression scenario.
    Shrink(shrink::ShrinkArgs),
    /// Settings advisor: run a scenario over every combination of --vary settings × seeds and
    /// print the survival matrix (pass rate, idle kills, detection p99).
    Grid(grid::GridArgs),
    /// Run the WebSocket server on a real network.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9000")]
        listen: String,
        /// How long a dropped session waits for its client.
        #[arg(long, default_value = "30s", value_parser = duration)]
        grace: Duration,
        /// Heartbeat: ping a connection silent for this long ("none" disables).
        #[arg(long, default_value = "20s", value_parser = opt_duration)]
        ping_interval: OptDuration,
        /// Heartbeat: drop a connection silent this long after a ping ("none": never).
        #[arg(long, default_value = "20s", value_parser = opt_duration)]
        ping_timeout: OptDuration,
        /// Largest accepted message in bytes.
        #[arg(long, default_value_t = 64 * 1024)]
        max_message_bytes: usize,
        /// Which session a client presenting no session key may resume: "client_id" (trust the
        /// id, the seed article's contract) or "key" (only with the key).
        #[arg(long, value_enum, default_value_t = KeylessArg::ClientId)]
        keyless_resume: KeylessArg,
        /// Most bytes queued for one connection; a connection over it (a client that does not
        /// read) is closed with 1013.
        #[arg(long, default_value_t = wsim_proto::wslink::SendQueueLimit::default().bytes)]
        send_queue_bytes: usize,
        /// Most frames queued for one connection; over it, closed with 1013.
        #[arg(long, default_value_t = wsim_proto::wslink::SendQueueLimit::default().frames)]
        send_queue_frames: usize,
        /// Event output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Run the relay proxy on a real network: idle kills, a scenario's link and proxy faults on
    /// the wall clock (--scenario), an HTTP control API (--control).
    Proxy(proxy::ProxyArgs),
    /// Drive a running server in any language: the scenario's client fleet and fault schedule
    /// in real time through wsim's proxy, judged by the black-box checkers, with reports.
    Drive(drive::DriveArgs),
    /// Print a scenario's [server] settings (as `wsim serve` flags, environment variables or
    /// JSON), to start a server under test with what `wsim drive` judges it by.
    Settings(settings::SettingsArgs),
    /// Interactive chat client on a real network: stdin lines become messages.
    Client {
        /// Server (or proxy) URL: ws://HOST:PORT/PATH, or wss://HOST[:PORT]/PATH for TLS.
        #[arg(long, default_value = "ws://127.0.0.1:9000/ws")]
        url: String,
        /// For wss://: a PEM file of CA certificates to trust besides the system's (a staging
        /// or self-signed certificate).
        #[arg(long)]
        ca_file: Option<std::path::PathBuf>,
        /// Room to join.
        #[arg(long, default_value = "lobby")]
        room: String,
        /// User name (also the client id unless --client-id is given).
        #[arg(long)]
        name: String,
        /// Stable client id (defaults to the name).
        #[arg(long)]
        client_id: Option<String>,
        /// When input ends, how long to wait for the server to acknowledge what was sent;
        /// then exit 1 naming what was left unacknowledged.
        #[arg(long, default_value = "10s", value_parser = duration)]
        drain_timeout: Duration,
        /// Event output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

/// Parses the command line and runs the command.
#[must_use]
pub fn main() -> ExitCode {
    wsim::trace::init_from_env();
    let cli = Cli::parse();
    let simulates = matches!(
        cli.command,
        Command::Run { .. }
            | Command::Sweep(_)
            | Command::Explore(_)
            | Command::Shrink(_)
            | Command::Grid(_)
    );
    if simulates {
        if let Err(refusal) = wsim::sim::guarantee::check_build() {
            eprintln!("error: {refusal}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    }
    match cli.command {
        Command::Run {
            scenario,
            seed,
            format,
            report,
            report_dir,
            server,
            client,
            every_tick,
        } => run::run(
            &scenario,
            seed,
            format,
            report.then_some(report_dir.as_path()),
            run::Overrides {
                server: server.map(Into::into),
                client: client.map(Into::into),
                every_tick,
            },
        ),
        Command::Sweep(args) => sweep::sweep(args),
        Command::Explore(args) => explore::explore(args),
        Command::Shrink(args) => shrink::shrink(args),
        Command::Grid(args) => grid::grid(args),
        Command::Serve {
            listen,
            grace,
            ping_interval,
            ping_timeout,
            max_message_bytes,
            keyless_resume,
            send_queue_bytes,
            send_queue_frames,
            format,
        } => {
            let config = wsim_server::ServerConfig {
                grace,
                heartbeat: wsim_proto::keepalive::KeepaliveConfig {
                    interval: ping_interval.0,
                    timeout: ping_timeout.0,
                },
                max_message_bytes,
                keyless_resume: match keyless_resume {
                    KeylessArg::ClientId => wsim_server::KeylessResume::ClientId,
                    KeylessArg::Key => wsim_server::KeylessResume::Key,
                },
                send_queue: wsim_proto::wslink::SendQueueLimit {
                    bytes: send_queue_bytes,
                    frames: send_queue_frames,
                },
                ..wsim_server::ServerConfig::default()
            };
            real::serve(&listen, config, format)
        }
        Command::Proxy(args) => proxy::proxy(args),
        Command::Drive(args) => drive::drive(args),
        Command::Settings(args) => settings::settings_command(args),
        Command::Client {
            url,
            ca_file,
            room,
            name,
            client_id,
            drain_timeout,
            format,
        } => real::client(
            &url,
            ca_file.as_deref(),
            &room,
            &name,
            client_id,
            drain_timeout,
            format,
        ),
    }
}

/// A duration argument ("20s", "500ms").
pub(crate) fn duration(s: &str) -> Result<Duration, String> {
    wsim::scenario::duration::parse_duration(s)
}

/// A duration argument that may be "none".
#[derive(Debug, Clone, Copy)]
pub(crate) struct OptDuration(pub(crate) Option<Duration>);

pub(crate) fn opt_duration(s: &str) -> Result<OptDuration, String> {
    if s.trim() == "none" {
        return Ok(OptDuration(None));
    }
    duration(s).map(|d| OptDuration(Some(d)))
}

/// Exit code: every check passed.
pub const EXIT_PASS: u8 = 0;
/// Exit code: a check failed.
pub const EXIT_FAIL: u8 = 1;
/// Exit code: bad input.
pub const EXIT_BAD_INPUT: u8 = 2;
