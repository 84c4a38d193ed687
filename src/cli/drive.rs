//! `wsim drive`: a scenario's client fleet and fault schedule, in real time, against a running
//! server in any language, through wsim's proxy; judged by the black-box checkers; reports as
//! `wsim run --report` writes them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{duration, Format, EXIT_BAD_INPUT, EXIT_FAIL, EXIT_PASS};
use wsim::real::{DriveError, DriveOptions};
use wsim::render;

#[derive(Debug, clap::Args)]
pub(crate) struct DriveArgs {
    /// The scenario file (TOML): its clients, their settings and its faults.
    scenario: PathBuf,
    /// The server to drive: its WebSocket URL (ws://HOST:PORT/PATH, or wss://HOST:PORT/PATH
    /// for TLS, reached through the proxy with its bytes unchanged). It must speak
    /// docs/protocol.md and should run with the scenario's `[server]` settings.
    #[arg(long)]
    target: String,
    /// For a wss:// target: a PEM file of CA certificates to trust besides the system's (a
    /// staging or self-signed certificate).
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// Run each simulated user's client as a process of this shell command instead of wsim's
    /// own client: it reads commands and writes events as JSON Lines on stdin/stdout
    /// (docs/client-protocol.md), and the checkers judge what it says.
    #[arg(long)]
    client_cmd: Option<String>,
    /// The seed: fault times, client start offsets, jitter.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// For a server crash: a shell command that kills the server and starts it again (it gets
    /// WSIM_FAULT_ID, WSIM_DOWN_MS, WSIM_SILENT). A scenario with a server crash and no
    /// command is refused.
    #[arg(long)]
    restart_cmd: Option<String>,
    /// What the checkers allow for the real network and the target's pace, where a
    /// simulation allows its maximum latency.
    #[arg(long, default_value = "250ms", value_parser = duration)]
    tolerance: Duration,
    /// Where the report is written (<dir>/drive-<scenario>/seed-<N>/).
    #[arg(long, default_value = "reports")]
    report_dir: PathBuf,
    /// Output format: the timeline and the verdict.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Print only the verdict, not the timeline.
    #[arg(long, short)]
    quiet: bool,
}

pub(crate) fn drive(args: DriveArgs) -> ExitCode {
    crate::cli::real::raise_fd_limit();
    let scenario = match wsim::scenario::load(&args.scenario) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let mut repro = format!(
        "wsim drive {} --target {} --seed {}",
        args.scenario.display(),
        args.target,
        args.seed
    );
    if let Some(cmd) = &args.restart_cmd {
        repro.push_str(&format!(" --restart-cmd '{}'", cmd.replace('\'', r"'\''")));
    }
    if let Some(cmd) = &args.client_cmd {
        repro.push_str(&format!(" --client-cmd '{}'", cmd.replace('\'', r"'\''")));
    }
    if let Some(ca) = &args.ca_file {
        repro.push_str(&format!(" --ca-file {}", ca.display()));
    }
    let options = DriveOptions {
        target: args.target.clone(),
        seed: args.seed,
        restart_cmd: args.restart_cmd.clone(),
        tolerance: args.tolerance,
        repro,
        ca_file: args.ca_file.clone(),
        client_cmd: args.client_cmd.clone(),
    };
    // A malformed target is said before anything that reads as if the run had started.
    if let Err(e) = wsim::real::parse_target(&args.target) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    eprintln!(
        "wsim drive: {} against {} for {} s of real time (seed {})",
        scenario.name,
        args.target,
        scenario.duration.0.as_secs(),
        args.seed
    );
    eprintln!("wsim drive: {}", server_settings(&scenario));
    let outcome = match wsim::real::drive(&scenario, &options) {
        Ok(o) => o,
        Err(
            e @ (DriveError::Target { .. }
            | DriveError::Unreachable(_)
            | DriveError::TargetDown { .. }
            | DriveError::TargetUnresolved { .. }
            | DriveError::Tls { .. }
            | DriveError::ClientCmd { .. }),
        ) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_FAIL);
        }
    };
    let label = format!("drive-{}", wsim::sweep::plan::label_of(&args.scenario));
    match wsim::report::write_run_report(&args.report_dir, &label, &scenario, &outcome) {
        Ok(dir) => eprintln!("report: {}", dir.join("timeline.html").display()),
        Err(e) => eprintln!("warning: writing the report: {e}"),
    }
    if !args.quiet {
        for event in &outcome.timeline {
            match args.format {
                Format::Text => println!("{}", render::text_line(event)),
                Format::Jsonl => println!("{}", render::json_line(event)),
            }
        }
    }
    match args.format {
        Format::Text => print!("{}", outcome.verdict.text()),
        Format::Jsonl => println!("{}", outcome.verdict.json_line()),
    }
    ExitCode::from(if outcome.verdict.passed {
        EXIT_PASS
    } else {
        EXIT_FAIL
    })
}

/// What the checkers expect of the target: the scenario's `[server]` settings, and the
/// `wsim serve` flags that give them.
fn server_settings(scenario: &wsim::ScenarioFile) -> String {
    let config = scenario.server_config();
    let opt = |d: Option<Duration>| {
        d.map_or_else(|| "none".to_string(), |d| format!("{}ms", d.as_millis()))
    };
    let (interval, timeout) = (
        opt(config.heartbeat.interval),
        opt(config.heartbeat.timeout),
    );
    let grace = format!("{}ms", config.grace.as_millis());
    format!(
        "the checkers judge the target by the scenario's [server] settings: grace {grace}, heartbeat ping after {interval} of silence, timeout {timeout} (for wsim serve: --grace {grace} --ping-interval {interval} --ping-timeout {timeout}; `wsim settings FILE` prints them all, as flags, environment variables or JSON)"
    )
}
