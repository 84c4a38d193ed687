//! The whole adapter between the axum example and wsim: the scenario's server settings from
//! `host.config`, and `axum::serve(host.listener, app)` — the production router, unchanged.

use example_axum_chat_server::{app, PlantedBug, Settings};
use wsim::{HostResult, LocalBoxFuture, RngCore, ServerHost, ServerUnderTest};

/// The axum example server on a simulated host.
pub struct AxumServer {
    /// A deliberate bug to plant, if any.
    pub bug: Option<PlantedBug>,
    /// Whether to tell wsim that every timer goes through `wsim_time` (so a run may skip
    /// idle time); `false` makes the run step every tick, for comparison.
    pub announces: bool,
}

impl AxumServer {
    /// The server as it is, announcing its timers.
    #[allow(dead_code)] // each test target uses part of the support module
    pub fn correct() -> Self {
        AxumServer {
            bug: None,
            announces: true,
        }
    }
}

impl ServerUnderTest for AxumServer {
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
            axum::serve(host.listener, app(settings, key_seed)).await?;
            Ok(())
        })
    }

    fn announces_timers(&self) -> bool {
        self.announces
    }
}

/// Seeds per scenario: 20, or `EXAMPLE_SEEDS` (a quicker local loop).
#[allow(dead_code)] // each test target uses part of the support module
pub fn seeds() -> u64 {
    std::env::var("EXAMPLE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}
