//! Planted bugs: deliberately broken behaviours of the client and server — the bugs of the
//! seed article's naive code — switched on by a scenario's `[bugs]` table only to show that a
//! checker catches them. All are off by default; never turn one on in production.

use serde::Deserialize;

/// Which planted bugs are on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlantedBugs {
    /// Client: a message leaves the buffer as soon as it is written, not when the server
    /// acknowledges it (seed 002's `shift()` before a send that may fail).
    pub remove_before_ack: bool,
    /// Client: message ids are a bare counter, the same in every client (seed 002's ids).
    pub counter_ids: bool,
    /// Server: one de-duplication id space for all clients, so one client's id suppresses
    /// another's message (seed 002's `MessageDeduplicator`).
    pub global_dedup: bool,
    /// Server: a session expires one grace period after its *first* drop, even if it
    /// reconnected and dropped again since (seed 002's cleanup `sleep` racing a reconnect).
    pub grace_from_first_drop: bool,
    /// Server: the grace period is measured on the server's wall clock, so a clock step moves
    /// it (seed 002's advice ignored).
    pub wall_clock_grace: bool,
}
