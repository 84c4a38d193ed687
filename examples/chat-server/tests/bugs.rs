//! The example server's planted bug is caught by seed with a replay line that reproduces it,
//! and its runs replay byte for byte.

mod support;

use example_chat_server::PlantedBug;
use support::ChatServer;
use wsim::Suite;

#[test]
fn is_deterministic() {
    Suite::new()
        .standard()
        .server(|| ChatServer { bug: None })
        .assert_deterministic(1);
}

#[test]
fn a_stale_grace_timer_is_caught_by_seed_and_replayed() {
    // The flapping scenario of wsim's standard suite, where a stale grace timer bites.
    let report = Suite::new()
        .standard_scenario("15-flap-within-grace")
        .seeds(1..=3)
        .server(|| ChatServer {
            bug: Some(PlantedBug::StaleGraceTimer),
        })
        .assert_caught();
    println!("{report}");
    assert!(report.contains("resume: "), "{report}");
    assert!(
        report.contains("replay: WSIM_SEED=") && report.contains("--test bugs"),
        "{report}"
    );
}
