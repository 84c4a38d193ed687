//! `wsim sweep`, `wsim shrink` and `wsim grid` as a user runs them: a planted bug that fails on
//! some seeds is named seed by seed, each repro command reproduces its failure, the JUnit XML
//! is valid with one test case per run, shards cover the sweep exactly, and shrinking keeps the
//! failure until the bug is removed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PLANTED: &str = "tests/scenarios/planted-lost-messages.toml";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `wsim` in the repository root (so repro paths are relative, as a user sees them).
fn wsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wsim"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("wsim runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh scratch directory under the target dir.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// (suite, test case) names of a JUnit file, checking it is well-formed XML on the way.
fn junit_cases(path: &Path) -> (Vec<(String, String)>, roxmltree::Document<'static>) {
    let xml: &'static str = Box::leak(
        std::fs::read_to_string(path)
            .expect("junit written")
            .into_boxed_str(),
    );
    let doc = roxmltree::Document::parse(xml).expect("JUnit output is well-formed XML");
    let cases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| {
            let suite = n
                .parent()
                .and_then(|p| p.attribute("name"))
                .unwrap_or("")
                .to_string();
            (suite, n.attribute("name").unwrap_or("").to_string())
        })
        .collect();
    (cases, doc)
}

/// Seeds of `PLANTED` in 1..=8 whose run fails, found in-process, independently of the sweep
/// (once per test binary: two tests need them).
fn failing_seeds_in_process() -> BTreeSet<u64> {
    static SEEDS: std::sync::OnceLock<BTreeSet<u64>> = std::sync::OnceLock::new();
    SEEDS
        .get_or_init(|| {
            let s = wsim::scenario::load(&root().join(PLANTED)).expect("loads");
            (1..=8)
                .filter(|&seed| {
                    !wsim::Run::new(&s, seed)
                        .named(PLANTED)
                        .judge()
                        .verdict
                        .passed
                })
                .collect()
        })
        .clone()
}

#[test]
fn a_sweep_names_every_failing_seed_and_each_repro_reproduces_it() {
    let dir = scratch("sweep-planted");
    let junit = dir.join("junit.xml");
    let reports = dir.join("reports");
    let out = wsim(&[
        "sweep",
        PLANTED,
        "--seeds",
        "1..8",
        "--junit",
        junit.to_str().unwrap(),
        "--report-dir",
        reports.to_str().unwrap(),
        "--reports",
        "failed",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failing sweep exits 1:\n{stdout}"
    );

    let expected = failing_seeds_in_process();
    assert!(
        !expected.is_empty() && expected.len() < 8,
        "the planted bug must fail on some seeds only: {expected:?}"
    );
    let named: BTreeSet<u64> = stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("planted-lost-messages seed "))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(named, expected, "the sweep named other seeds:\n{stdout}");
    assert!(
        stdout.contains(&format!("FAILED: {} of 8 runs", expected.len())),
        "{stdout}"
    );
    assert!(stdout.contains("throughput: 8 runs in"), "{stdout}");

    // Every repro line reproduces its failure with the same first violation.
    for seed in &expected {
        let repro = format!("wsim run {PLANTED} --seed {seed}");
        let listed = stdout
            .lines()
            .position(|l| l.trim() == format!("repro:  {repro}"))
            .unwrap_or_else(|| panic!("no repro line for seed {seed}:\n{stdout}"));
        let failure = stdout.lines().nth(listed - 1).expect("failure line").trim();
        let detail = failure
            .split_once("delivery: ")
            .expect("a delivery failure")
            .1;
        let args: Vec<&str> = repro.split_whitespace().skip(1).collect();
        let rerun = wsim(&args);
        assert_eq!(rerun.status.code(), Some(1), "{repro} passed");
        assert!(
            text(&rerun.stdout).contains(&format!("FAIL delivery                 {detail}")),
            "{repro} failed differently"
        );
        let report = reports.join(format!("planted-lost-messages/seed-{seed}"));
        for file in [
            "timeline.txt",
            "events.jsonl",
            "summary.md",
            "timeline.html",
        ] {
            assert!(
                report.join(file).is_file(),
                "{} missing",
                report.join(file).display()
            );
        }
    }
    assert!(reports.join("sweep.md").is_file() && reports.join("sweep-detection.svg").is_file());

    let (cases, doc) = junit_cases(&junit);
    assert_eq!(cases.len(), 8, "one test case per run");
    let failures: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .collect();
    assert_eq!(failures.len(), expected.len());
    for f in failures {
        assert!(
            f.text().unwrap_or("").contains("repro: wsim run"),
            "no repro in {f:?}"
        );
    }
}

#[test]
fn shards_cover_exactly_the_unsharded_sweep_and_junit_is_valid() {
    let dir = scratch("sweep-shards");
    let args = [
        "sweep",
        "scenarios/01-blip-5s.toml",
        "scenarios/11-idle-proxy-keepalive.toml",
        "--seeds",
        "1..5",
        "--reports",
        "all",
        "-q",
    ];
    let run = |shard: Option<&str>, name: &str| {
        let junit = dir.join(name);
        let mut a: Vec<&str> = args.to_vec();
        let report_dir = dir.join("reports");
        a.extend([
            "--report-dir",
            report_dir.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ]);
        if let Some(s) = shard {
            a.extend(["--shard", s]);
        }
        let out = wsim(&a);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
        junit_cases(&junit).0
    };
    let all = run(None, "all.xml");
    assert_eq!(all.len(), 10);
    let one = run(Some("1/2"), "one.xml");
    let two = run(Some("2/2"), "two.xml");
    assert!(!one.is_empty() && !two.is_empty());
    let mut union: Vec<_> = one.iter().chain(&two).cloned().collect();
    union.sort();
    let mut all_sorted = all.clone();
    all_sorted.sort();
    assert_eq!(union, all_sorted, "shards overlap or miss runs");
    // Shards sharing a report directory keep each other's reports.
    let reports: usize = ["01-blip-5s", "11-idle-proxy-keepalive"]
        .iter()
        .map(|label| {
            std::fs::read_dir(dir.join("reports").join(label))
                .map(|d| {
                    d.flatten()
                        .filter(|e| e.file_name().to_string_lossy().starts_with("seed-"))
                        .count()
                })
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(reports, 10, "shard 2/2 deleted shard 1/2's reports");
}

#[test]
fn shrink_keeps_the_failure_until_the_bug_is_removed() {
    let dir = scratch("shrink");
    let out_path = dir.join("regression.toml");
    let seed = *failing_seeds_in_process()
        .iter()
        .next()
        .expect("a failing seed");
    let seed_text = seed.to_string();
    let out = wsim(&[
        "shrink",
        PLANTED,
        "--seed",
        &seed_text,
        "--out",
        out_path.to_str().unwrap(),
        "--witness-seeds",
        "1",
        "--verify-seeds",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let original = wsim::scenario::load(&root().join(PLANTED)).expect("loads");
    let shrunk = wsim::scenario::load(&out_path).expect("the shrunk scenario loads");
    let clients = |s: &wsim::scenario::ScenarioFile| s.clients.iter().map(|g| g.count).sum::<u32>();
    assert!(shrunk.faults.len() < original.faults.len());
    assert!(clients(&shrunk) < clients(&original));
    assert!(shrunk.duration.0 < original.duration.0);
    assert!(
        shrunk
            .faults
            .iter()
            .all(|f| f.at.is_fixed() && f.duration.is_none_or(|d| d.is_fixed())),
        "random ranges left in the schedule"
    );
    let failing = |s: &wsim::scenario::ScenarioFile| -> Vec<&'static str> {
        wsim::Run::new(s, seed)
            .named("regression.toml")
            .judge()
            .verdict
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name)
            .collect()
    };
    assert_eq!(failing(&shrunk), ["delivery"], "the same check still fails");
    let mut fixed = shrunk.clone();
    fixed.system.client = wsim::scenario::model::Implementation::Wsim;
    assert!(failing(&fixed).is_empty(), "passes with wsim's own client");
}

#[test]
fn grid_prints_the_survival_matrix() {
    let dir = scratch("grid");
    let out = wsim(&[
        "grid",
        "scenarios/11-idle-proxy-keepalive.toml",
        "--vary",
        "client.ping_interval=20s,45s",
        "--vary",
        "proxy.idle_timeout=30s,60s",
        "--vary",
        "server.ping_interval=none",
        "--seeds",
        "1",
        "--report-dir",
        dir.to_str().unwrap(),
        "-q",
    ]);
    let stdout = text(&out.stdout);
    // Without server heartbeats, a 45 s keepalive behind a 30 s idle timeout gets killed (and
    // at 60 s the client's own 40 s server-silence watchdog fires); a 20 s keepalive lives.
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let row = |ping: &str, idle: &str| {
        stdout
            .lines()
            .find(|l| {
                let cells: Vec<&str> = l.split_whitespace().collect();
                cells.len() > 3 && cells[0] == ping && cells[1] == idle
            })
            .unwrap_or_else(|| panic!("no row {ping} {idle}:\n{stdout}"))
            .to_string()
    };
    let killed = row("45s", "30s");
    assert!(
        killed.contains("0% (0/1)") && killed.contains("idle_kills"),
        "{stdout}"
    );
    for idle in ["30s", "60s"] {
        assert!(row("20s", idle).contains("100% (1/1)"), "{stdout}");
    }
    assert!(stdout.contains("pass rate, idle kills per run"), "{stdout}");
}

#[test]
fn sweep_rejects_bad_input_with_exit_2() {
    let dir = scratch("sweep-bad");
    std::fs::write(
        dir.join("broken.toml"),
        "name = \"x\"\nduration = \"soon\"\n[[clients]]\ncount = 1\n",
    )
    .unwrap();
    let out = wsim(&["sweep", dir.to_str().unwrap(), "-q"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("broken.toml:2:") && err.contains("duration"),
        "{err}"
    );
    let bad: [&[&str]; 3] = [
        &["sweep", "no-such-dir", "-q"],
        &["sweep", "--shard", "3/2", "-q"],
        &["sweep", "--seeds", "9..1", "-q"],
    ];
    for args in bad {
        let out = wsim(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

/// The regression scenarios at seed 1 in the test build, whose debug assertions (the server's
/// `poll_timeout` against its exact pass, among others) the release sweep in CI cannot trip.
#[test]
fn every_regression_passes_at_seed_one_with_debug_assertions() {
    let dir = scratch("regressions-debug");
    let out = wsim(&[
        "sweep",
        "scenarios/regressions",
        "--seeds",
        "1",
        "--reports",
        "none",
        "--report-dir",
        dir.to_str().expect("utf-8"),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let regressions = std::fs::read_dir(root().join("scenarios/regressions"))
        .expect("scenarios/regressions")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "toml"))
        })
        .count();
    assert!(regressions >= 20, "{regressions} regression scenarios");
    assert!(
        stdout.contains(&format!("all {regressions} runs")),
        "{stdout}"
    );
}
