//! Mirrors every event into `tracing`, stamped with simulated time, so that
//! `RUST_LOG=wsim=debug wsim run …` tells the same story and users can attach their own
//! subscriber.

use std::io::IsTerminal;

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

use crate::event::Event;

/// Emits `event` as a `tracing` event at INFO level with target `wsim::event`.
pub(crate) fn mirror(event: &Event) {
    tracing::info!(
        target: "wsim::event",
        t_ms = event.t_ms(),
        host = %event.host,
        client = event.kind.client().unwrap_or("-"),
        "{}{}",
        event.kind.name(),
        crate::render::fields_text(event)
    );
}

/// A `tracing-subscriber` timer that prints simulated time (seconds since the start of the run).
#[derive(Debug, Clone, Copy, Default)]
pub struct SimTimer;

impl FormatTime for SimTimer {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        let t = crate::clock::event_time();
        write!(w, "{:>6}.{:03}s", t.as_secs(), t.subsec_millis())
    }
}

/// Installs a stderr subscriber filtered by `RUST_LOG` (nothing is logged when it is unset).
pub fn init_from_env() {
    let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_timer(SimTimer)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}
