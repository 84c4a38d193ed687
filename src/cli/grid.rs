//! `wsim grid`: the settings advisor. Runs one scenario over every combination of the given
//! settings × seeds and prints the survival matrix — pass rate, idle kills, detection p99 —
//! to answer "will my settings survive my load balancer?".

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::{EXIT_BAD_INPUT, EXIT_FAIL, EXIT_PASS};
use wsim::grid::{Axis, Grid};
use wsim::sweep::plan::{self, label_of};
use wsim::sweep::summary;
use wsim::sweep::{self as sweeping, SweepOptions};

/// `wsim grid`'s arguments.
#[derive(Debug, clap::Args)]
pub struct GridArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// A setting and its values, `key=v1,v2,...` (any scenario key: client.ping_interval,
    /// proxy.idle_timeout, server.grace, clients.count, faults[0].duration, ...). Repeatable.
    #[arg(long = "vary", required = true)]
    pub vary: Vec<String>,
    /// Seeds per combination [default: 1..S for the file's `seeds = S`].
    #[arg(long)]
    pub seeds: Option<String>,
    /// Simulations run at once [default: one per core].
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Where the variant scenario files (for reproduction commands) are written.
    #[arg(long, default_value = "reports")]
    pub report_dir: PathBuf,
    /// No progress output.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

pub(crate) fn grid(args: GridArgs) -> ExitCode {
    let bad = |msg: String| {
        eprintln!("error: {msg}");
        ExitCode::from(EXIT_BAD_INPUT)
    };
    let axes: Vec<Axis> = match args.vary.iter().map(|s| Axis::parse(s)).collect() {
        Ok(a) => a,
        Err(e) => return bad(e.to_string()),
    };
    let path = args.scenario.display().to_string();
    let text = match std::fs::read_to_string(&args.scenario) {
        Ok(t) => t,
        Err(e) => return bad(format!("{path}: cannot read the scenario file: {e}")),
    };
    let base = match wsim::scenario::parse(&path, &text) {
        Ok(s) => s,
        Err(e) => return bad(e.to_string()),
    };
    let seeds = match args.seeds.as_deref().map(plan::parse_seeds).transpose() {
        Ok(s) => s.unwrap_or_else(|| (1..=u64::from(base.seeds.max(1))).collect()),
        Err(e) => return bad(e.to_string()),
    };
    let dir = args.report_dir.join("grid").join(label_of(&args.scenario));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return bad(format!("creating {}: {e}", dir.display()));
    }
    let grid = match Grid::build(&path, &text, axes, &seeds, &dir) {
        Ok(g) => g,
        Err(e) => return bad(e.to_string()),
    };
    let jobs = plan::jobs(&grid.scenarios, None);
    let options = SweepOptions {
        workers: args.jobs.unwrap_or_else(sweeping::default_workers).max(1),
        quiet: args.quiet,
    };
    if !options.quiet {
        eprintln!(
            "grid over {} combinations × {} seeds = {} runs on {} workers",
            grid.scenarios.len(),
            seeds.len(),
            jobs.len(),
            options.workers
        );
    }
    let result = sweeping::execute(
        &grid.scenarios,
        &jobs,
        &options,
        &wsim::sweep::runner::NoReports,
    );
    let summaries = summary::summarize(&grid.scenarios, &result.records);
    let (head, rows) = grid.table(&result.records, &summaries);
    println!(
        "survival of {path} over {} seeds per combination:\n",
        seeds.len()
    );
    print!("{}", summary::text_table(&strs(&head), &rows));
    if let Some(m) = grid.matrix(&summaries) {
        println!(
            "\npass rate, idle kills per run ({} down, {} across):\n",
            m.down, m.across
        );
        print!("{}", summary::text_table(&strs(&m.head), &m.rows));
    }
    let failed = result.records.iter().filter(|r| !r.verdict.passed).count();
    if failed > 0 {
        println!("\n{failed} failed runs; first of each combination:");
        for (index, s) in grid.scenarios.iter().enumerate() {
            if let Some(r) = result
                .records
                .iter()
                .find(|r| r.job.scenario == index && !r.verdict.passed)
            {
                println!("  {}: {}", s.label, r.verdict.repro);
            }
        }
    }
    println!("\n{}", result.throughput.line());
    ExitCode::from(if result.passed() {
        EXIT_PASS
    } else {
        EXIT_FAIL
    })
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}
