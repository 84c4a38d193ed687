//! `wsim explore` as a user runs it: random worlds that pass with wsim's own systems (with the
//! explored space reported), and a planted bug (the seed article's naive client) found by seed,
//! written out as a scenario file and shrunk into one that replays the failure on its own.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn wsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wsim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("wsim runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn random_worlds_pass_and_the_explored_space_is_reported() {
    let out_dir = scratch("explore-pass");
    let junit = out_dir.with_extension("xml");
    let out = wsim(&[
        "explore",
        "--seeds",
        "1..24",
        "-q",
        "--out",
        out_dir.to_str().expect("utf-8"),
        "--junit",
        junit.to_str().expect("utf-8"),
    ]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("PASS: all 24 worlds"), "{text}");
    for part in [
        "faults by kind:",
        "overlapping faults:",
        "settings:",
        "checks passed:",
    ] {
        assert!(text.contains(part), "no {part:?} in\n{text}");
    }
    assert!(text.contains("liveness 24/24"), "{text}");
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert_eq!(xml.matches("<testcase").count(), 24);
}

#[test]
fn a_shard_writes_only_its_own_worlds() {
    let out_dir = scratch("explore-shard-worlds");
    let dir = out_dir.to_str().expect("utf-8");
    let out = wsim(&[
        "explore",
        "--seeds",
        "1..4",
        "--shard",
        "1/2",
        "--write-worlds",
        "-q",
        "--out",
        dir,
    ]);
    assert!(out.status.success(), "{}", stdout(&out));
    let mut written: Vec<String> = std::fs::read_dir(&out_dir)
        .expect("worlds written")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(written, ["default-seed-1.toml", "default-seed-3.toml"]);
}

#[test]
fn a_planted_bug_is_found_by_seed_and_shrunk_into_a_scenario_that_replays_it() {
    let out_dir = scratch("explore-planted");
    let out = wsim(&[
        "explore",
        "--seeds",
        "1..20",
        "--client",
        "naive",
        "--shrink-limit",
        "1",
        "--shrink-runs",
        "120",
        "-q",
        "--out",
        out_dir.to_str().expect("utf-8"),
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let first = text
        .lines()
        .find(|l| l.starts_with("  seed "))
        .unwrap_or_else(|| panic!("no failing seed listed:\n{text}"));
    let seed: u64 = first["  seed ".len()..]
        .split(':')
        .next()
        .and_then(|s| s.parse().ok())
        .expect("a seed number");
    let check = first.split(": ").nth(1).expect("a check").to_string();
    let shrunk = out_dir.join(format!("default-seed-{seed}.shrunk.toml"));
    assert!(
        shrunk.exists(),
        "no shrunk scenario for seed {seed}:\n{text}"
    );
    assert!(out_dir.join(format!("default-seed-{seed}.toml")).exists());
    // The shrunk scenario names the naive client itself, and fails on its own.
    let replay = wsim(&[
        "run",
        shrunk.to_str().expect("utf-8"),
        "--seed",
        &seed.to_string(),
        "--format",
        "verdict",
    ]);
    let verdict = stdout(&replay);
    assert_eq!(replay.status.code(), Some(1), "{verdict}");
    assert!(verdict.contains("FAIL"), "{verdict}");
    assert!(!check.is_empty());
}
