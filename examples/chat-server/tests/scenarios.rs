//! The example server under wsim's standard scenarios, through wsim's public API only: it
//! must pass them, and its planted bug must be caught, with a replay line that reproduces it.

use example_chat_server::{serve, Accept, PlantedBug, Settings};
use wsim::sim::net::SimListener;
use wsim::sim::types::{Listener, RngCore};
use wsim::sim::{HostResult, LocalBoxFuture, ServerHost, ServerUnderTest};
use wsim::Suite;

/// The example server on a simulated host.
struct ChatServer {
    bug: Option<PlantedBug>,
}

impl ServerUnderTest for ChatServer {
    fn run(&self, mut host: ServerHost) -> LocalBoxFuture<HostResult> {
        // The scenario's server settings: the checkers judge the run against them.
        let settings = Settings {
            grace: host.config.grace,
            ping_interval: host.config.heartbeat.interval,
            ping_timeout: host.config.heartbeat.timeout,
            dedup_ttl: host.config.dedup_ttl,
            dedup_limit: host.config.dedup_limit,
            history_limit: host.config.history_limit,
            max_message_bytes: host.config.max_message_bytes,
            planted_bug: self.bug,
            ..Settings::default()
        };
        let key_seed = host.rng.next_u64();
        Box::pin(async move {
            serve(Simulated(host.listener), settings, key_seed).await;
            Ok(())
        })
    }
}

/// wsim's simulated listener as the example's [`Accept`].
struct Simulated(SimListener);

impl Accept for Simulated {
    type Stream = wsim::sim::net::SimStream;
    async fn accept(&mut self) -> std::io::Result<Self::Stream> {
        self.0.accept().await.map(|(stream, _peer)| stream)
    }
}

/// Seeds per scenario: 20, or `EXAMPLE_SEEDS` (a quicker local loop).
fn seeds() -> u64 {
    std::env::var("EXAMPLE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

#[test]
fn passes_the_standard_scenarios() {
    Suite::new()
        .standard()
        .seeds(1..=seeds())
        .server(|| ChatServer { bug: None })
        .assert_pass();
}

#[test]
fn is_deterministic() {
    Suite::new()
        .standard()
        .server(|| ChatServer { bug: None })
        .assert_deterministic(1);
}

/// The flapping scenario of wsim's standard suite, where a stale grace timer bites.
const FLAP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../scenarios/15-flap-within-grace.toml"
);

#[test]
fn a_stale_grace_timer_is_caught_by_seed_and_replayed() {
    let report = Suite::new()
        .scenarios(FLAP)
        .seeds(1..=3)
        .server(|| ChatServer {
            bug: Some(PlantedBug::StaleGraceTimer),
        })
        .assert_caught();
    println!("{report}");
    assert!(report.contains("resume: "), "{report}");
    assert!(report.contains("replay: WSIM_SEED="), "{report}");
}
