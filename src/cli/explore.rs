//! `wsim explore`: random worlds over a range of seeds, every failure written out as a scenario
//! file and shrunk, the explored space reported.

use std::path::PathBuf;
use std::process::ExitCode;

use super::choices::ImplementationArg;
use crate::cli::{EXIT_BAD_INPUT, EXIT_FAIL, EXIT_PASS};
use wsim::explore::profile::{self, PROFILES};
use wsim::explore::world::SystemChoice;
use wsim::explore::{self as exploring, Exploration};
use wsim::sweep::plan::{self, Shard};
use wsim::sweep::SweepOptions;

/// `wsim explore`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ExploreArgs {
    /// Seeds, one random world each: N, A..B (both included) or a list "1..5,9".
    #[arg(long, default_value = "1..100")]
    pub seeds: String,
    /// Which worlds: default, partitions, clocks, crashes, scale, coarse (ticks of 1 to 100 ms),
    /// satellite (100 to 600 ms links), long (runs of 1 to 3 hours), heartbeats (every
    /// heartbeat kind against every idle measure).
    #[arg(long, default_value = "default")]
    pub profile: String,
    /// Simulations run at once [default: one per core].
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Run only shard K of N (K/N).
    #[arg(long)]
    pub shard: Option<String>,
    /// Write JUnit XML here (one test case per seed).
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Which server stands on the server host (`naive`: the seed article's, with its bugs).
    #[arg(long, value_enum)]
    pub server: Option<ImplementationArg>,
    /// Which client each simulated user runs.
    #[arg(long, value_enum)]
    pub client: Option<ImplementationArg>,
    /// Where failing worlds and their shrunk regressions are written.
    #[arg(long, default_value = "reports/explore")]
    pub out: PathBuf,
    /// Most simulations spent shrinking each failing world (0: do not shrink).
    #[arg(long, default_value_t = 200)]
    pub shrink_runs: usize,
    /// Most failing worlds shrunk (the first ones); the rest are listed with their world.
    #[arg(long, default_value_t = 10)]
    pub shrink_limit: usize,
    /// Also write every passing world's scenario file under --out (to read or replay one).
    #[arg(long)]
    pub write_worlds: bool,
    /// No progress output.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

pub(crate) fn explore(args: ExploreArgs) -> ExitCode {
    let bad = |msg: String| {
        eprintln!("error: {msg}");
        ExitCode::from(EXIT_BAD_INPUT)
    };
    let Some(profile) = profile::named(&args.profile) else {
        let names: Vec<&str> = PROFILES.iter().map(|p| p.name).collect();
        return bad(format!(
            "--profile {:?}: no such profile; profiles are {}",
            args.profile,
            names.join(", ")
        ));
    };
    let seeds = match plan::parse_seeds(&args.seeds) {
        Ok(s) => s,
        Err(e) => return bad(e.to_string()),
    };
    let shard = match args.shard.as_deref().map(str::parse::<Shard>).transpose() {
        Ok(s) => s,
        Err(e) => return bad(e.to_string()),
    };
    let mut system = SystemChoice::default();
    if let Some(server) = args.server {
        system.server = server.into();
    }
    if let Some(client) = args.client {
        system.client = client.into();
    }
    let options = SweepOptions {
        workers: args
            .jobs
            .unwrap_or_else(wsim::sweep::default_workers)
            .max(1),
        quiet: args.quiet,
    };
    if !args.quiet {
        eprintln!(
            "exploring {} worlds of profile `{}` ({}){} on {} worker{}",
            seeds.len(),
            profile.name,
            profile.about,
            shard.map_or_else(String::new, |s| format!(", shard {}/{}", s.index, s.count)),
            options.workers,
            if options.workers == 1 { "" } else { "s" },
        );
    }
    let exploration = Exploration {
        profile,
        seeds,
        shard,
        system,
        options,
        out_dir: args.out.clone(),
        shrink_runs: args.shrink_runs,
        write_all: args.write_worlds,
        shrink_limit: args.shrink_limit,
    };
    let quiet = args.quiet;
    let mut log = |line: &str| {
        if !quiet {
            eprintln!("  {line}");
        }
    };
    let explored = match exploring::explore(&exploration, &mut log) {
        Ok(e) => e,
        Err(e) => return bad(e.to_string()),
    };
    let runs = explored.records.len();
    if explored.found.is_empty() {
        println!("PASS: all {runs} worlds");
    } else {
        println!("FAILED: {} of {runs} worlds", explored.found.len());
        for f in &explored.found {
            let (check, violation) = f.failed.first().cloned().unwrap_or_default();
            println!("  seed {}: {check}: {violation}", f.seed);
            println!(
                "    world:  wsim run {} --seed {}",
                f.file.display(),
                f.seed
            );
            match &f.shrunk {
                Some(shrunk) => {
                    println!(
                        "    shrunk: wsim run {} --seed {}",
                        shrunk.display(),
                        f.seed
                    );
                    println!("            ({})", f.shrink_note);
                }
                None => println!("    {}", f.shrink_note),
            }
        }
    }
    println!();
    print!("{}", explored.space.text());
    println!("{}", explored.throughput.line());
    if let Some(path) = &args.junit {
        let xml = wsim::report::junit::junit_xml(&explored.scenarios, &explored.records);
        if let Err(e) = std::fs::write(path, xml) {
            return bad(format!("writing {}: {e}", path.display()));
        }
        println!("junit: {}", path.display());
    }
    ExitCode::from(if explored.found.is_empty() {
        EXIT_PASS
    } else {
        EXIT_FAIL
    })
}
