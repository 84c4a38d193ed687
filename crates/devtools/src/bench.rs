//! `wsim-dev bench`: the benchmark. Runs a fixed set of simulations, each in a child process
//! of this binary (and, with `--baseline`, of another wsim-dev binary side by side), and prints per
//! run the simulated time, the wall time, their ratio, events per second and peak memory (the
//! child's maximum resident set, from `wait4`). No test times anything: figures come from here.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use wsim::clock::Stopwatch;

use crate::{EXIT_BAD_INPUT, EXIT_FAIL, EXIT_PASS};

/// The runs of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub(crate) enum BenchName {
    /// 100 clients, one room, a message each per 5 s, 10 minutes, 1 ms tick, no faults.
    Reference,
    /// The same without chat traffic: keepalive only.
    Quiet,
    /// 300 clients on 3 hosts in one room, a message each per 15 s, a server crash.
    #[value(name = "crash-300")]
    Crash300,
    /// 10,000 clients on 10 hosts in 10 rooms, a message each per 60 s, 2 minutes.
    #[value(name = "scale-10k")]
    Scale10k,
    /// The full default sweep: every standard scenario over its seeds.
    Sweep,
    /// The floors of the reference and crash-300 runs' traffic (`wsim-dev floor`): the same
    /// clients and frames on bare turmoil + tokio-tungstenite, no system and no checker — the
    /// most any run of that traffic can reach; and the same two runs unjudged (`wsim-dev
    /// unjudged`): wsim's client, server and proxy with their events discarded, no checker.
    /// Floor, unjudged and judged run side by side say what the network, the system under test
    /// and the harness each cost.
    Floor,
}

impl BenchName {
    const ALL: [BenchName; 6] = [
        BenchName::Reference,
        BenchName::Quiet,
        BenchName::Crash300,
        BenchName::Scale10k,
        BenchName::Sweep,
        BenchName::Floor,
    ];

    fn label(self) -> &'static str {
        match self {
            BenchName::Reference => "reference",
            BenchName::Quiet => "quiet",
            BenchName::Crash300 => "crash-300",
            BenchName::Scale10k => "scale-10k",
            BenchName::Sweep => "sweep",
            BenchName::Floor => "floor",
        }
    }

    /// The scenario file of a single-run bench.
    fn scenario(self) -> Option<&'static str> {
        match self {
            BenchName::Reference => Some(include_str!("../bench/reference.toml")),
            BenchName::Quiet => Some(include_str!("../bench/quiet.toml")),
            BenchName::Crash300 => Some(include_str!("../bench/crash-300.toml")),
            BenchName::Scale10k => Some(include_str!("../bench/scale-10k.toml")),
            BenchName::Sweep | BenchName::Floor => None,
        }
    }
}

/// `wsim-dev bench` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
    /// Only these runs (repeatable) [default: all].
    #[arg(long, value_enum)]
    only: Vec<BenchName>,
    /// Another wsim-dev binary (an older build) to run the same set with, side by side.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Sweep workers [default: one per core].
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
}

/// What one child run measured.
#[derive(Debug, Clone)]
struct Measured {
    /// Simulated time, summed over runs.
    simulated: Duration,
    wall: Duration,
    /// Events recorded, when the binary reports them.
    events: Option<u64>,
    /// Peak resident memory of the child, KiB.
    peak_kib: u64,
    /// Runs (1, or the sweep's count).
    runs: u64,
    /// The child's verdict line (`PASS …` / `FAIL …`) or why it failed.
    verdict: String,
    passed: bool,
}

pub(crate) fn bench(args: BenchArgs) -> ExitCode {
    let current = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("error: cannot find this binary: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    if let Some(base) = &args.baseline {
        if !base.is_file() {
            eprintln!("error: --baseline {}: no such file", base.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    }
    let dir = std::env::temp_dir().join(format!("wsim-bench-{}", std::process::id()));
    let _cleanup = RemoveOnDrop(dir.clone());
    if let Err(e) = write_inputs(&dir) {
        eprintln!(
            "error: writing the bench scenarios to {}: {e}",
            dir.display()
        );
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let jobs = args
        .jobs
        .unwrap_or_else(wsim::sweep::default_workers)
        .max(1);
    let mut names = if args.only.is_empty() {
        BenchName::ALL.to_vec()
    } else {
        args.only.clone()
    };
    names.sort();
    names.dedup();
    let mut binaries = vec![("current", current)];
    if let Some(base) = args.baseline {
        binaries.push(("baseline", base));
    }
    println!(
        "{:<22} {:>11} {:>10} {:>9} {:>12} {:>10}  verdict",
        "run", "simulated", "wall", "ratio", "events/s", "peak RSS"
    );
    let mut all_passed = true;
    for name in names {
        for (which, exe) in &binaries {
            let label = if binaries.len() > 1 {
                format!("{} ({which})", name.label())
            } else {
                name.label().to_string()
            };
            let measured = match name {
                BenchName::Sweep => vec![(label, run_sweep(exe, &dir, jobs))],
                BenchName::Floor => [BenchName::Reference, BenchName::Crash300]
                    .into_iter()
                    .flat_map(|of| {
                        let file = dir.join(format!("{}.toml", of.label()));
                        let floor = label.replace("floor", &format!("floor of {}", of.label()));
                        let unjudged = label.replace("floor", &format!("unjudged {}", of.label()));
                        [
                            (floor, run_floor(exe, &file)),
                            (unjudged, run_unjudged(exe, &file)),
                        ]
                    })
                    .collect(),
                single => vec![(
                    label,
                    run_single(exe, &dir.join(format!("{}.toml", single.label()))),
                )],
            };
            for (label, measured) in &measured {
                match measured {
                    Ok(m) => {
                        all_passed &= m.passed;
                        println!("{}", row(label, m));
                    }
                    Err(e) => {
                        all_passed = false;
                        println!("{label:<22} error: {e}");
                    }
                }
            }
            if name == BenchName::Floor {
                // Each run's floor and unjudged rows, in that order: what they leave of the
                // run's target.
                let runs = [BenchName::Reference, BenchName::Crash300];
                for (of, pair) in runs.into_iter().zip(measured.chunks(2)) {
                    if let [(_, Ok(floor)), (_, Ok(unjudged))] = pair {
                        if let Some(line) = bound(of, floor, unjudged) {
                            println!("{line}");
                        }
                    }
                }
            }
        }
    }
    ExitCode::from(if all_passed { EXIT_PASS } else { EXIT_FAIL })
}

/// The target ratio of a run (issue 13), if it has one.
fn target(of: BenchName) -> Option<f64> {
    match of {
        BenchName::Reference => Some(300.0),
        BenchName::Crash300 => Some(100.0),
        BenchName::Quiet => Some(1000.0),
        BenchName::Scale10k | BenchName::Sweep | BenchName::Floor => None,
    }
}

/// What the floor and the unjudged run of `of` leave of its target: the wall time the target
/// allows, what the network alone takes of it, and what the system under test takes before
/// any checker runs. `None` for a run without a target.
fn bound(of: BenchName, floor: &Measured, unjudged: &Measured) -> Option<String> {
    let target = target(of)?;
    let budget = floor.simulated.as_secs_f64() / target;
    let (network, system) = (floor.wall.as_secs_f64(), unjudged.wall.as_secs_f64());
    let verdict = if network >= budget {
        "the network alone is over it".to_string()
    } else if system >= budget {
        format!(
            "the system under test unjudged takes {system:.2} s: over it before any checker runs"
        )
    } else {
        format!(
            "the system under test unjudged takes {system:.2} s, leaving {:.2} s for every \
             checker",
            budget - system
        )
    };
    Some(format!(
        "  {} at {target:.0}:1 must take at most {budget:.2} s: the floor takes {network:.2} s \
         ({:.0} % of it); {verdict}",
        of.label(),
        100.0 * network / budget
    ))
}

/// One table row.
fn row(label: &str, m: &Measured) -> String {
    let wall = m.wall.as_secs_f64();
    let ratio = m.simulated.as_secs_f64() / wall.max(1e-9);
    let events = m
        .events
        .map_or_else(|| "—".into(), |n| si(n as f64 / wall.max(1e-9)));
    let simulated = if m.runs > 1 {
        format!("{:.1} h", m.simulated.as_secs_f64() / 3600.0)
    } else {
        format!("{} s", m.simulated.as_secs())
    };
    let mut out = format!(
        "{label:<22} {simulated:>11} {:>9.1}s {:>8.0}:1 {events:>12} {:>7} MB  {}",
        wall,
        ratio,
        m.peak_kib / 1024,
        m.verdict
    );
    if m.runs > 1 {
        let per_hour = m.runs as f64 / wall.max(1e-9) * 3600.0;
        let _ = write!(out, " — {} runs, {per_hour:.0} seeds per hour", m.runs);
    }
    out
}

/// `x` with a k/M suffix.
fn si(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

/// Writes the bench scenarios, and the standard suite for the sweep, under `dir`.
fn write_inputs(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("sweep"))?;
    for name in BenchName::ALL {
        if let Some(text) = name.scenario() {
            std::fs::write(dir.join(format!("{}.toml", name.label())), text)?;
        }
    }
    for (file, text) in wsim::standard::SCENARIOS {
        std::fs::write(dir.join("sweep").join(file), text)?;
    }
    Ok(())
}

/// Runs `exe judged FILE --seed 1`: a judged run keeping no timeline.
fn run_single(exe: &Path, file: &Path) -> Result<Measured, String> {
    let file_arg = file.to_string_lossy();
    measured_run(exe, &["judged", &file_arg, "--seed", "1"])
}

/// Runs `exe floor FILE --seed 1`.
fn run_floor(exe: &Path, file: &Path) -> Result<Measured, String> {
    let file_arg = file.to_string_lossy();
    measured_run(exe, &["floor", &file_arg, "--seed", "1"])
}

/// Runs `exe unjudged FILE --seed 1`.
fn run_unjudged(exe: &Path, file: &Path) -> Result<Measured, String> {
    let file_arg = file.to_string_lossy();
    measured_run(exe, &["unjudged", &file_arg, "--seed", "1"])
}

/// Runs `exe args` (a single run) and reads its verdict, simulated time and event count.
fn measured_run(exe: &Path, args: &[&str]) -> Result<Measured, String> {
    let (out, wall, peak_kib, code) = measure(exe, args)?;
    let verdict = out
        .lines()
        .find(|l| {
            ["PASS", "FAIL", "FLOOR", "UNJUDGED"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .unwrap_or("no verdict")
        .trim()
        .to_string();
    let simulated = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("simulated "))
        .and_then(parse_simulated)
        .ok_or_else(|| format!("no simulated time in the output (exit {code})"))?;
    let events = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("recorded "))
        .and_then(|v| v.split_whitespace().next()?.parse().ok());
    Ok(Measured {
        simulated,
        wall,
        events,
        peak_kib,
        runs: 1,
        passed: code == 0,
        verdict,
    })
}

/// The simulated time after "simulated ": `600000 ms` (a digest) or `600.000s in …` (a
/// verdict).
fn parse_simulated(rest: &str) -> Option<Duration> {
    let first = rest.split_whitespace().next()?;
    if let Ok(ms) = first.parse::<u64>() {
        return Some(Duration::from_millis(ms));
    }
    let secs: f64 = first.strip_suffix('s')?.parse().ok()?;
    Some(Duration::from_secs_f64(secs))
}

/// Runs the full default sweep (the standard scenarios over their seeds) with `exe`.
fn run_sweep(exe: &Path, dir: &Path, jobs: usize) -> Result<Measured, String> {
    let mut runs = 0u64;
    let mut simulated = Duration::ZERO;
    for (file, text) in wsim::standard::SCENARIOS {
        let scenario = wsim::scenario::parse(file, text).map_err(|e| e.to_string())?;
        runs += u64::from(scenario.seeds);
        simulated += scenario.duration.0 * scenario.seeds;
    }
    let scenarios = dir.join("sweep").to_string_lossy().into_owned();
    let jobs = jobs.to_string();
    let args = ["sweep", &scenarios, "--jobs", &jobs];
    let (out, wall, peak_kib, code) = measure(exe, &args)?;
    let verdict = out
        .lines()
        .rev()
        .find(|l| l.starts_with("PASS") || l.starts_with("FAIL"))
        .unwrap_or(if code == 0 { "PASS" } else { "FAIL" })
        .trim()
        .to_string();
    Ok(Measured {
        simulated,
        wall,
        events: None,
        peak_kib,
        runs,
        passed: code == 0,
        verdict,
    })
}

/// Runs `exe args`, its output to a file: (stdout, wall time, peak RSS in KiB, exit code).
fn measure(exe: &Path, args: &[&str]) -> Result<(String, Duration, u64, i32), String> {
    let out_path = std::env::temp_dir().join(format!("wsim-bench-{}.out", std::process::id()));
    let out_file = std::fs::File::create(&out_path).map_err(|e| e.to_string())?;
    let wall = Stopwatch::start();
    let child = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out_file)
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let pid = libc::pid_t::try_from(child.id()).map_err(|e| e.to_string())?;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value to be filled in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet waited for; both pointers are valid.
    let waited = unsafe { libc::wait4(pid, &raw mut status, 0, &raw mut usage) };
    let wall = wall.elapsed();
    if waited != pid {
        return Err(format!(
            "waiting for the child: {}",
            std::io::Error::last_os_error()
        ));
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let out = std::fs::read_to_string(&out_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    let peak_kib = u64::try_from(usage.ru_maxrss).unwrap_or(0);
    Ok((out, wall, peak_kib, code))
}

/// Removes the bench's scratch directory when the bench ends.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_time_is_read_from_a_verdict_or_a_digest() {
        assert_eq!(
            parse_simulated("600.000s in 18.454s wall (33x real time)"),
            Some(Duration::from_secs(600))
        );
        assert_eq!(parse_simulated("150000 ms"), Some(Duration::from_secs(150)));
        assert_eq!(parse_simulated("soon"), None);
    }

    #[test]
    fn a_row_shows_the_ratio_events_per_second_and_memory() {
        let m = Measured {
            simulated: Duration::from_secs(600),
            wall: Duration::from_secs(20),
            events: Some(1_000_000),
            peak_kib: 90 * 1024,
            runs: 1,
            verdict: "PASS x".into(),
            passed: true,
        };
        let row = row("reference", &m);
        assert!(row.contains("30:1"), "{row}");
        assert!(row.contains("50.0 k"), "{row}");
        assert!(row.contains("90 MB"), "{row}");
        let sweep = Measured {
            runs: 460,
            events: None,
            ..m
        };
        assert!(row_of_sweep(&sweep).contains("82800 seeds per hour"));
    }

    #[test]
    fn the_bound_line_says_which_layer_is_over_the_target() {
        let m = |wall_ms| Measured {
            simulated: Duration::from_secs(150),
            wall: Duration::from_millis(wall_ms),
            events: None,
            peak_kib: 0,
            runs: 1,
            verdict: String::new(),
            passed: true,
        };
        let over = bound(BenchName::Crash300, &m(1200), &m(1900)).expect("a target");
        assert!(
            over.contains("at most 1.50 s") && over.contains("80 %"),
            "{over}"
        );
        assert!(over.contains("before any checker runs"), "{over}");
        let room = bound(BenchName::Crash300, &m(1000), &m(1200)).expect("a target");
        assert!(room.contains("leaving 0.30 s for every checker"), "{room}");
        let network = bound(BenchName::Reference, &m(600), &m(700)).expect("a target");
        assert_eq!(bound(BenchName::Sweep, &m(600), &m(700)), None);
        assert!(
            network.contains("the network alone is over it"),
            "{network}"
        );
    }

    fn row_of_sweep(m: &Measured) -> String {
        row("sweep", m)
    }
}
