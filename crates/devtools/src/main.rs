//! `wsim-dev`: wsim's developer tools, kept out of the `wsim` binary and library a user
//! installs. `bench` times a fixed set of runs, each in a child process of this binary;
//! `memory` measures what an idle session costs a real server; the other commands are what
//! `bench` and `memory` run as children (a judged run, its floor, the run unjudged, the
//! standard sweep, a server on loopback).
//!
//! Exit codes: 0 success, 1 a run failed, 2 bad input.

mod bench;
mod children;
mod floor;
mod memory;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Every run passed / the tool did its job.
const EXIT_PASS: u8 = 0;
/// A run failed.
const EXIT_FAIL: u8 = 1;
/// Bad arguments or input.
const EXIT_BAD_INPUT: u8 = 2;

/// wsim's developer tools: the benchmark and the memory probe.
#[derive(Debug, Parser)]
#[command(name = "wsim-dev", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Benchmark the simulation: a fixed set of runs, each timed in a child process, with
    /// simulated:wall ratio, events per second and peak memory (`--baseline` compares another
    /// wsim-dev binary).
    Bench(bench::BenchArgs),
    /// Measure what an idle session costs a real server: open N sessions to a wsim server on
    /// loopback and print its resident memory per session.
    Memory(memory::MemoryArgs),
    /// One judged run, keeping no timeline: its verdict and the count of events.
    Judged {
        /// The scenario file.
        scenario: PathBuf,
        /// The seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// The floor of a scenario's traffic: the same clients and frames on bare turmoil +
    /// tokio-tungstenite, no protocol, no event, no checker.
    Floor {
        /// The scenario file.
        scenario: PathBuf,
        /// The seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// The scenario's systems under test with their events discarded at the source and no
    /// checker (between the floor and a judged run).
    Unjudged {
        /// The scenario file.
        scenario: PathBuf,
        /// The seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Every scenario file under a directory over its seeds, no report: the sweep's table.
    Sweep {
        /// The directory of scenario files.
        dir: PathBuf,
        /// Simulations run at once [default: one per core].
        #[arg(long, short = 'j')]
        jobs: Option<usize>,
    },
    /// wsim's server on a real network, its events discarded (what `memory` measures).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let simulates = !matches!(cli.command, Command::Memory(_) | Command::Serve { .. });
    if simulates {
        if let Err(refusal) = wsim::sim::guarantee::check_build() {
            eprintln!("error: {refusal}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    }
    match cli.command {
        Command::Bench(args) => bench::bench(args),
        Command::Memory(args) => memory::memory(args),
        Command::Judged { scenario, seed } => children::judged(&scenario, seed),
        Command::Floor { scenario, seed } => children::floor(&scenario, seed),
        Command::Unjudged { scenario, seed } => children::unjudged(&scenario, seed),
        Command::Sweep { dir, jobs } => children::sweep(&dir, jobs),
        Command::Serve { listen } => children::serve(&listen),
    }
}
