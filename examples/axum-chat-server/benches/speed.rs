//! Runs per second of the axum example's standard suite, announcing its timers (so runs skip
//! idle time) and stepping every tick, on this machine, in one process:
//! `cargo bench --bench speed` (`EXAMPLE_SEEDS`, default 2, seeds per scenario). It prints the
//! figures and asserts nothing about time.
#![allow(clippy::disallowed_methods)] // a benchmark reads the real clock

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use support::AxumServer;
use wsim::Suite;

fn main() {
    let seeds: u64 = std::env::var("EXAMPLE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let measure = |announces: bool| {
        let suite = Suite::new()
            .standard()
            .seeds(1..=seeds)
            .server(move || AxumServer {
                bug: None,
                announces,
            });
        let start = Instant::now();
        let outcome = suite.run().expect("the suite runs");
        let secs = start.elapsed().as_secs_f64();
        assert!(outcome.passed(), "{:?}", outcome.failure_report());
        let runs = outcome.records.len();
        (runs, secs, runs as f64 / secs)
    };
    let (runs, skip_secs, skip_rate) = measure(true);
    println!(
        "announced timers (idle skipped): {runs} runs in {skip_secs:.1} s = {skip_rate:.2} runs/s"
    );
    let (runs, tick_secs, tick_rate) = measure(false);
    println!(
        "stepped every tick:              {runs} runs in {tick_secs:.1} s = {tick_rate:.2} runs/s"
    );
    println!("speed-up: {:.1}x", skip_rate / tick_rate);
}
