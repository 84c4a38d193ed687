//! The same scenario and seed give a byte-identical timeline, in-process and across processes,
//! whether the run skips idle ticks or steps every one; different seeds give different timelines; every scenario's digest at its canonical seed (1)
//! is an insta snapshot (`tests/wsim/snapshots/`, reviewed with `cargo insta review`).

use std::process::Command;

use crate::support::{all_scenarios, jsonl, jsonl_every_tick, outputs, scenarios_dir};

/// Seed 1 is replayed (in-process here, across processes below), the replay stepping every tick
/// where the first run skips idle ticks, and judged on a thread of its own where the first run
/// is judged on the simulation's: the two must not differ by a byte, which checks
/// determinism, that skipping idle time changes nothing and that where the checkers run
/// changes nothing. Seed 2 runs once, to show
/// that seeds differ. Also: every scenario passes its own expectations on both seeds, and its
/// seed-1 digest matches its snapshot (one loop, so each simulation runs only as often as
/// needed).
#[test]
fn every_scenario_replays_byte_for_byte_matches_its_snapshot_and_seeds_differ() {
    for path in all_scenarios() {
        let (first, digest) = outputs(&path, 1);
        let stem = path.file_stem().expect("a file").to_string_lossy();
        insta::assert_snapshot!(format!("{stem}.seed-1"), digest);
        assert_eq!(
            first,
            jsonl_every_tick(&path, 1),
            "{} seed 1 replayed tick by tick (judged on its own thread) differently",
            path.display()
        );
        let other = jsonl(&path, 2);
        assert_ne!(
            first,
            other,
            "{}: seeds 1 and 2 gave the same timeline",
            path.display()
        );
        for (seed, out) in [(1, &first), (2, &other)] {
            let last = out.lines().last().expect("output");
            assert!(
                last.starts_with(r#"{"event":"verdict""#),
                "last line is not the verdict: {last}"
            );
            assert!(
                last.contains(r#""passed":true"#),
                "{} seed {seed} fails: {last}",
                path.display()
            );
        }
    }
}

/// Two separate `wsim run` processes print identical JSON Lines (but for the wall time).
#[test]
fn wsim_run_is_identical_across_processes() {
    let path = scenarios_dir().join("05-random-partitions.toml");
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_wsim"))
            .args([
                "run",
                path.to_str().expect("utf-8 path"),
                "--seed",
                "7",
                "--format",
                "jsonl",
            ])
            .output()
            .expect("wsim runs");
        let text = String::from_utf8(out.stdout).expect("utf-8 output");
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let verdict: serde_json::Value =
            serde_json::from_str(lines.pop().as_deref().expect("a verdict")).expect("json");
        assert_eq!(verdict["event"], "verdict");
        assert!(verdict["wall_ms"].is_u64());
        (lines, verdict["passed"].clone(), verdict["repro"].clone())
    };
    let a = run();
    let b = run();
    assert!(a.0.len() > 100, "suspiciously short timeline");
    assert_eq!(a, b);
}

/// A run judged on a thread of its own and keeping only its verdict (as `wsim run --format
/// verdict` does) gives the checks and figures of one judged inline — failing checks and
/// their violations included (the seed article's naive server and client break several).
#[test]
fn judging_on_its_own_thread_changes_no_verdict() {
    use wsim::{Keep, Run};
    let mut scenario = wsim::scenario::load(&scenarios_dir().join("08-server-restart.toml"))
        .expect("scenario loads");
    scenario.system.server = wsim::scenario::model::Implementation::Naive;
    scenario.system.client = wsim::scenario::model::Implementation::Naive;
    let system = wsim::sim::System::for_scenario(&scenario);
    for seed in [1, 2] {
        let run = Run::new(&scenario, seed)
            .system(system.clone())
            .keep(Keep::Verdict);
        let inline = run.clone().judge();
        let pipelined = run.on_second_core(true).judge();
        assert!(!inline.verdict.passed, "the naive pair passes seed {seed}");
        assert_eq!(
            inline.verdict.checks, pipelined.verdict.checks,
            "seed {seed}"
        );
        assert_eq!(inline.stats, pipelined.stats, "seed {seed}");
        assert!(inline.stats.events > 1000, "seed {seed}: a short run");
        assert!(pipelined.timeline.is_empty());
    }
}
