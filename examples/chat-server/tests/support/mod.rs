//! The whole adapter between the example server and wsim: the simulated listener as the
//! example's [`Accept`], the scenario's server settings from `host.config`.

use example_chat_server::{serve, Accept, PlantedBug, Settings};
use wsim::{HostResult, LocalBoxFuture, RngCore, ServerHost, ServerUnderTest, SimListener};

/// The example server on a simulated host.
pub struct ChatServer {
    /// A deliberate bug to plant, if any.
    pub bug: Option<PlantedBug>,
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

    fn announces_timers(&self) -> bool {
        true // every timer goes through wsim_time
    }
}

/// wsim's simulated listener as the example's [`Accept`].
struct Simulated(SimListener);

impl Accept for Simulated {
    type Stream = wsim::SimStream;
    async fn accept(&mut self) -> std::io::Result<Self::Stream> {
        self.0.accept().await.map(|(stream, _peer)| stream)
    }
}

/// Seeds per scenario: 20, or `EXAMPLE_SEEDS` (a quicker local loop).
#[allow(dead_code)] // each test binary uses part of the support module
pub fn seeds() -> u64 {
    std::env::var("EXAMPLE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}
