//! Sans-IO idle tracking for one proxied connection: like HTTP infrastructure (load balancers,
//! NAT gateways, reverse proxies), the proxy kills a connection that carried no bytes for
//! `timeout` — counting bytes in either direction, or in one direction only.

use std::time::Duration;

use crate::clock::MonoTime;

/// Which traffic keeps a connection alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdleMeasure {
    /// Bytes in either direction.
    Either,
    /// Only bytes from the client to the server.
    ClientToServer,
    /// Only bytes from the server to the client.
    ServerToClient,
}

/// What the proxy does to a connection it finds idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdleMode {
    /// Close both ends (FIN).
    Close,
    /// Reset both ends (RST; on the simulated network, which cannot send a RST on demand, the
    /// same as `close`).
    Reset,
    /// Silently stop forwarding, leaving both ends half-open (a NAT that forgot the flow):
    /// only heartbeats find out.
    Blackhole,
}

/// Idle-kill settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleConfig {
    /// Silence after which a connection is killed (`None`: never).
    pub timeout: Option<Duration>,
    /// Which traffic counts.
    pub measure: IdleMeasure,
    /// How it is killed.
    pub mode: IdleMode,
}

impl Default for IdleConfig {
    fn default() -> Self {
        IdleConfig {
            timeout: Some(Duration::from_secs(30)),
            measure: IdleMeasure::Either,
            mode: IdleMode::Close,
        }
    }
}

/// A direction of traffic through the proxy.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Client to server.
    Up,
    /// Server to client.
    Down,
}

/// The idle state of one connection.
#[derive(Debug, Clone)]
pub struct IdleTracker {
    config: IdleConfig,
    last_activity: MonoTime,
    killed: bool,
}

impl IdleTracker {
    /// A tracker for a connection opened at `now`.
    #[must_use]
    pub fn new(config: IdleConfig, now: MonoTime) -> Self {
        IdleTracker {
            config,
            last_activity: now,
            killed: false,
        }
    }

    /// Bytes went through in `dir` at `now`.
    pub fn on_bytes(&mut self, now: MonoTime, dir: Direction) {
        let counts = match self.config.measure {
            IdleMeasure::Either => true,
            IdleMeasure::ClientToServer => dir == Direction::Up,
            IdleMeasure::ServerToClient => dir == Direction::Down,
        };
        if counts {
            self.last_activity = now;
        }
    }

    /// When the connection becomes idle, unless more bytes go through first.
    #[must_use]
    pub fn deadline(&self) -> Option<MonoTime> {
        if self.killed {
            return None;
        }
        Some(self.last_activity + self.config.timeout?)
    }

    /// Whether the connection is idle at `now`: the silence so far, once (a killed connection
    /// is not killed again).
    #[must_use]
    pub fn poll(&mut self, now: MonoTime) -> Option<Duration> {
        let deadline = self.deadline()?;
        if now < deadline {
            return None;
        }
        self.killed = true;
        Some(now.saturating_since(self.last_activity))
    }

    /// The kill mode.
    #[must_use]
    pub fn mode(&self) -> IdleMode {
        self.config.mode
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> MonoTime {
        MonoTime::from_millis(ms)
    }

    #[test]
    fn kills_exactly_at_the_timeout_once() {
        let mut k = IdleTracker::new(IdleConfig::default(), t(0));
        k.on_bytes(t(10_000), Direction::Down);
        assert_eq!(k.deadline(), Some(t(40_000)));
        assert_eq!(k.poll(t(39_999)), None);
        assert_eq!(k.poll(t(40_000)), Some(Duration::from_secs(30)));
        assert_eq!(k.poll(t(50_000)), None);
        assert_eq!(k.deadline(), None);
    }

    #[test]
    fn one_way_measures_ignore_the_other_direction() {
        let config = IdleConfig {
            measure: IdleMeasure::ClientToServer,
            ..IdleConfig::default()
        };
        let mut k = IdleTracker::new(config, t(0));
        k.on_bytes(t(20_000), Direction::Down);
        assert_eq!(k.deadline(), Some(t(30_000)));
        k.on_bytes(t(25_000), Direction::Up);
        assert_eq!(k.deadline(), Some(t(55_000)));
    }

    #[test]
    fn no_timeout_never_kills() {
        let mut k = IdleTracker::new(
            IdleConfig {
                timeout: None,
                ..IdleConfig::default()
            },
            t(0),
        );
        assert_eq!(k.poll(t(u64::MAX / 2)), None);
    }
}
