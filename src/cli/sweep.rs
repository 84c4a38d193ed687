//! `wsim sweep`: run scenarios over many seeds in parallel, print a table (a row per scenario) and every
//! failure with its reproduction command, write reports and JUnit XML.

use std::path::PathBuf;
use std::process::ExitCode;

use super::choices::ReportsArg;
use crate::cli::{EXIT_BAD_INPUT, EXIT_FAIL, EXIT_PASS};
use wsim::report::RunReports;
use wsim::sweep::plan::{self, Shard};
use wsim::sweep::summary;
use wsim::sweep::{self as sweeping, SweepOptions};

/// `wsim sweep`'s arguments.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Scenario files or directories searched recursively for *.toml [default: scenarios].
    pub paths: Vec<PathBuf>,
    /// Seeds for every scenario: N, A..B (both included) or a list "1..5,9" [default: 1..S for
    /// each file's `seeds = S`].
    #[arg(long)]
    pub seeds: Option<String>,
    /// Simulations run at once [default: one per core].
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Run only shard K of N (K/N): N machines with K = 1..N together run the whole sweep.
    #[arg(long)]
    pub shard: Option<String>,
    /// Write JUnit XML here (one test case per scenario × seed).
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Which runs get a report directory under --report-dir.
    #[arg(long, value_enum, default_value_t = ReportsArg::FirstAndFailed)]
    pub reports: ReportsArg,
    /// Where reports are written.
    #[arg(long, default_value = "reports")]
    pub report_dir: PathBuf,
    /// No progress output (the results table is still printed).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

pub(crate) fn sweep(args: SweepArgs) -> ExitCode {
    let bad = |msg: String| {
        eprintln!("error: {msg}");
        ExitCode::from(EXIT_BAD_INPUT)
    };
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        args.paths
    };
    let seeds = match args.seeds.as_deref().map(plan::parse_seeds).transpose() {
        Ok(s) => s,
        Err(e) => return bad(e.to_string()),
    };
    let shard = match args.shard.as_deref().map(str::parse::<Shard>).transpose() {
        Ok(s) => s,
        Err(e) => return bad(e.to_string()),
    };
    let files = match plan::discover(&paths) {
        Ok(f) => f,
        Err(e) => return bad(e.to_string()),
    };
    let scenarios = match plan::load_all(&files, seeds.as_deref()) {
        Ok(s) => s,
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let jobs = plan::jobs(&scenarios, shard);
    let options = SweepOptions {
        workers: args.jobs.unwrap_or_else(sweeping::default_workers).max(1),
        quiet: args.quiet,
    };
    let reports = RunReports {
        policy: args.reports.into(),
        dir: args.report_dir,
    };
    if !options.quiet {
        eprintln!(
            "sweeping {} scenario{} × seeds = {} runs{} on {} worker{}",
            scenarios.len(),
            if scenarios.len() == 1 { "" } else { "s" },
            jobs.len(),
            shard.map_or_else(String::new, |s| format!(" (shard {}/{})", s.index, s.count)),
            options.workers,
            if options.workers == 1 { "" } else { "s" },
        );
    }
    reports.clear_old(&scenarios, &jobs);
    let result = sweeping::execute(&scenarios, &jobs, &options, &reports);
    let summaries = summary::summarize(&scenarios, &result.records);
    let (head, rows) = summary::table_rows(&summaries);
    print!("{}", summary::text_table(&head, &rows));
    let failed = result.records.iter().filter(|r| !r.verdict.passed).count();
    println!();
    if failed > 0 {
        println!("FAILED: {failed} of {} runs", result.records.len());
        print!("{}", summary::failure_list(&scenarios, &result.records));
        println!();
    } else {
        println!("PASS: all {} runs", result.records.len());
    }
    println!("{}", result.throughput.line());
    match wsim::report::write_sweep_report(
        &reports.dir,
        &scenarios,
        &result.records,
        &summaries,
        &result.throughput,
    ) {
        Ok(path) => println!("report: {}", path.display()),
        Err(e) => eprintln!("warning: writing the sweep report: {e}"),
    }
    if let Some(path) = &args.junit {
        let xml = wsim::report::junit::junit_xml(&scenarios, &result.records);
        if let Err(e) = std::fs::write(path, xml) {
            return bad(format!("writing {}: {e}", path.display()));
        }
        println!("junit: {}", path.display());
    }
    ExitCode::from(if result.passed() {
        EXIT_PASS
    } else {
        EXIT_FAIL
    })
}
