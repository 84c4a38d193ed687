//! `wsim grid`: the settings advisor. Runs one scenario over every combination of the given
//! settings × seeds and prints the survival matrix — pass rate, idle kills, detection p99 —
//! to answer "will my settings survive my load balancer?".

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::{EXIT_BAD_INPUT, EXIT_FAIL, EXIT_PASS};
use wsim::render::secs;
use wsim::scenario::edit::ScenarioDoc;
use wsim::sweep::plan::{self, label_of, SweepScenario};
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

/// One `--vary key=v1,v2`.
struct Axis {
    key: String,
    values: Vec<String>,
}

fn parse_axis(s: &str) -> Result<Axis, String> {
    let (key, values) = s
        .split_once('=')
        .ok_or_else(|| format!("--vary {s:?}: expected key=value1,value2,..."))?;
    let values: Vec<String> = values
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    if key.trim().is_empty() || values.is_empty() {
        return Err(format!("--vary {s:?}: expected key=value1,value2,..."));
    }
    Ok(Axis {
        key: key.trim().to_string(),
        values,
    })
}

/// Every combination of the axes' values, first axis slowest.
fn combinations(axes: &[Axis]) -> Vec<Vec<usize>> {
    let mut combos = vec![Vec::new()];
    for axis in axes {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                (0..axis.values.len()).map(move |i| {
                    let mut c = c.clone();
                    c.push(i);
                    c
                })
            })
            .collect();
    }
    combos
}

pub(crate) fn grid(args: GridArgs) -> ExitCode {
    let bad = |msg: String| {
        eprintln!("error: {msg}");
        ExitCode::from(EXIT_BAD_INPUT)
    };
    let axes: Vec<Axis> = match args.vary.iter().map(|s| parse_axis(s)).collect() {
        Ok(a) => a,
        Err(e) => return bad(e),
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
    let stem = label_of(&args.scenario);
    let dir = args.report_dir.join("grid").join(&stem);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return bad(format!("creating {}: {e}", dir.display()));
    }
    let combos = combinations(&axes);
    let mut scenarios = Vec::new();
    for combo in &combos {
        let label = combo
            .iter()
            .zip(&axes)
            .map(|(&i, a)| format!("{}={}", a.key, a.values[i]))
            .collect::<Vec<_>>()
            .join(" ");
        let mut doc = match ScenarioDoc::parse(&text) {
            Ok(d) => d,
            Err(e) => return bad(format!("{path}: {e}")),
        };
        for (&i, axis) in combo.iter().zip(&axes) {
            if let Err(e) = doc.set_text(&axis.key, &axis.values[i]) {
                return bad(format!("--vary {}: {e}", axis.key));
            }
        }
        let file_name: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '=' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let variant_path = dir.join(format!("{file_name}.toml"));
        let variant_text = format!("# `wsim grid` variant of {path}: {label}\n{doc}");
        if let Err(e) = std::fs::write(&variant_path, &variant_text) {
            return bad(format!("writing {}: {e}", variant_path.display()));
        }
        let scenario =
            match wsim::scenario::parse(&variant_path.display().to_string(), &variant_text) {
                Ok(s) => s,
                Err(e) => return bad(format!("{label}: {e}")),
            };
        scenarios.push(SweepScenario {
            label,
            path: variant_path.display().to_string(),
            scenario,
            seeds: seeds.clone(),
        });
    }
    let jobs = plan::jobs(&scenarios, None);
    let options = SweepOptions {
        workers: args.jobs.unwrap_or_else(sweeping::default_workers).max(1),
        quiet: args.quiet,
    };
    if !options.quiet {
        eprintln!(
            "grid over {} combinations × {} seeds = {} runs on {} workers",
            scenarios.len(),
            seeds.len(),
            jobs.len(),
            options.workers
        );
    }
    let result = sweeping::execute(&scenarios, &jobs, &options, &|_, _| None);
    let summaries = summary::summarize(&scenarios, &result.records);

    let mut head: Vec<&str> = axes.iter().map(|a| a.key.as_str()).collect();
    head.extend([
        "pass rate",
        "idle kills/run",
        "detect p99",
        "max",
        "failing checks",
    ]);
    let rows: Vec<Vec<String>> = combos
        .iter()
        .zip(&summaries)
        .enumerate()
        .map(|(index, (combo, s))| {
            let mut row: Vec<String> = combo
                .iter()
                .zip(&axes)
                .map(|(&i, a)| a.values[i].clone())
                .collect();
            let mut failing: Vec<&str> = result
                .records
                .iter()
                .filter(|r| r.job.scenario == index)
                .flat_map(|r| {
                    r.verdict
                        .checks
                        .iter()
                        .filter(|c| !c.passed)
                        .map(|c| c.name)
                })
                .collect();
            failing.sort_unstable();
            failing.dedup();
            row.extend([
                format!("{:.0}% ({}/{})", s.pass_rate() * 100.0, s.passed, s.runs),
                format!("{:.1}", s.idle_kills_per_run()),
                secs(s.detection(99)),
                secs(s.slowest_detection()),
                if failing.is_empty() {
                    "-".into()
                } else {
                    failing.join(",")
                },
            ]);
            row
        })
        .collect();
    println!(
        "survival of {path} over {} seeds per combination:\n",
        seeds.len()
    );
    print!("{}", summary::text_table(&head, &rows));
    let varying: Vec<usize> = (0..axes.len())
        .filter(|&a| axes[a].values.len() > 1)
        .collect();
    if let [down, across] = varying[..] {
        println!(
            "\npass rate, idle kills per run ({} down, {} across):\n",
            axes[down].key, axes[across].key
        );
        let mut head2: Vec<&str> = vec![""];
        head2.extend(axes[across].values.iter().map(String::as_str));
        let matrix: Vec<Vec<String>> = axes[down]
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut row = vec![v.clone()];
                row.extend((0..axes[across].values.len()).map(|j| {
                    let at = combos
                        .iter()
                        .position(|c| c[down] == i && c[across] == j)
                        .expect("every pair is a combination");
                    let s = &summaries[at];
                    format!(
                        "{:.0}%, {:.1} kills",
                        s.pass_rate() * 100.0,
                        s.idle_kills_per_run()
                    )
                }));
                row
            })
            .collect();
        print!("{}", summary::text_table(&head2, &matrix));
    }
    let failed = result.records.iter().filter(|r| !r.verdict.passed).count();
    if failed > 0 {
        println!("\n{failed} failed runs; first of each combination:");
        for (index, s) in scenarios.iter().enumerate() {
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
