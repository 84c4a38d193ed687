//! `wsim shrink`: minimise a failing run into a regression scenario, write it, and say on how
//! many seeds it fails.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{EXIT_BAD_INPUT, EXIT_FAIL, EXIT_PASS};
use wsim::shrink::{self, ShrinkRequest};
use wsim::sweep as sweeping;
use wsim::sweep::plan::{label_of, SweepScenario};

/// `wsim shrink`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ShrinkArgs {
    /// The scenario file of the failing run.
    pub scenario: PathBuf,
    /// The failing seed.
    #[arg(long)]
    pub seed: u64,
    /// Where to write the minimal scenario [default: scenarios/regressions/<name>-seed-<N>.toml].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The check to keep failing [default: the first failing check].
    #[arg(long)]
    pub check: Option<String>,
    /// Most simulations to run while shrinking.
    #[arg(long, default_value_t = 400)]
    pub max_runs: usize,
    /// Other seeds (1, 2, ...) that must keep failing too once random ranges are fixed, so the
    /// result does not hinge on one seed's jitter (0: only --seed).
    #[arg(long, default_value_t = 3)]
    pub witness_seeds: usize,
    /// After shrinking, run the result on seeds 1..=N and report how many fail.
    #[arg(long, default_value_t = 10)]
    pub verify_seeds: u64,
}

pub(crate) fn shrink(args: ShrinkArgs) -> ExitCode {
    let path = args.scenario.display().to_string();
    let text = match std::fs::read_to_string(&args.scenario) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {path}: cannot read the scenario file: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let request = ShrinkRequest {
        path: &path,
        text: &text,
        seed: args.seed,
        check: args.check.as_deref(),
        max_runs: args.max_runs,
        witnesses: args.witness_seeds,
    };
    let shrunk = match shrink::shrink(&request, &mut |line| eprintln!("{line}")) {
        Ok(s) => s,
        Err(e @ shrink::ShrinkError::Scenario(_)) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_FAIL);
        }
    };
    let out = args.out.unwrap_or_else(|| {
        Path::new("scenarios/regressions").join(format!(
            "{}-seed-{}.toml",
            label_of(&args.scenario),
            args.seed
        ))
    });
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("error: creating {}: {e}", dir.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    }
    if let Err(e) = std::fs::write(&out, &shrunk.text) {
        eprintln!("error: writing {}: {e}", out.display());
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    println!(
        "shrunk {} → {} in {} simulations ({} steps kept)",
        shrunk.before,
        shrunk.after,
        shrunk.runs,
        shrunk.steps.len()
    );
    println!("wrote {}", out.display());
    if args.verify_seeds > 0 {
        let scenario = match wsim::scenario::load(&out) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_FAIL);
            }
        };
        let seeds: Vec<u64> = (1..=args.verify_seeds).collect();
        let failing = sweeping::seeds_failing(
            SweepScenario {
                label: label_of(&out),
                path: out.display().to_string(),
                scenario,
                seeds: seeds.clone(),
                replay: None,
            },
            &shrunk.target,
            sweeping::default_workers(),
        );
        println!(
            "check `{}` fails on {} of {} seeds (1..={}){}",
            shrunk.target,
            failing.len(),
            seeds.len(),
            args.verify_seeds,
            if failing.len() == seeds.len() || failing.is_empty() {
                String::new()
            } else {
                format!(
                    "; it still depends on the seed through latency and backoff jitter: {:?}",
                    failing
                )
            }
        );
    }
    println!(
        "reproduce: {}",
        wsim::verdict::repro_command(&out.display().to_string(), args.seed)
    );
    ExitCode::from(EXIT_PASS)
}
