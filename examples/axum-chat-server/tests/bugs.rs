//! The axum example's planted bug is caught by seed, with a replay that reproduces it; and its
//! `tokio::spawn`ed connections replay byte for byte, crashes and restarts included.

mod support;

use example_axum_chat_server::PlantedBug;
use support::AxumServer;
use wsim::Suite;

/// Seeds 1–5 of every standard scenario, each run twice: the same timeline, event for event
/// (axum runs every connection in a `tokio::spawn`ed task; tokio drops those in its own order
/// when a host crashes, and wsim must make that order not matter).
#[test]
fn replays_byte_for_byte_on_every_standard_scenario() {
    let suite = Suite::new().standard().server(AxumServer::correct);
    for seed in 1..=5 {
        suite.assert_deterministic(seed);
    }
}

#[test]
fn forgetting_de_duplication_on_resume_is_caught_by_seed_and_replayed() {
    // A retried message whose ack a partition swallowed comes back after the resume.
    let report = Suite::new()
        .standard_scenario("02-partition-60s")
        .standard_scenario("05-random-partitions")
        .standard_scenario("15-flap-within-grace")
        .seeds(1..=5)
        .server(|| AxumServer {
            bug: Some(PlantedBug::ForgetsDedupOnResume),
            announces: true,
        })
        .assert_caught();
    println!("{report}");
    assert!(
        report.contains("replay: WSIM_SEED=") && report.contains("--test bugs"),
        "{report}"
    );
}
