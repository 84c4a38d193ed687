//! Sans-IO keepalive and dead-peer detection for one connection, shared by client and server.
//!
//! After `interval` without any inbound frame, a ping is due; if nothing at all arrives within
//! `timeout` of that ping, the peer is dead. Any inbound frame is proof of life. The state
//! belongs to one connection: a new connection gets a new `Keepalive`, so a timer from a previous
//! connection can never fire.

use std::time::Duration;

use crate::clock::MonoTime;

/// Keepalive timings: `interval = None` disables pings and detection; `timeout = None` keeps
/// pings (traffic for proxies) but never declares the peer dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepaliveConfig {
    /// Inbound silence after which a ping is sent.
    pub interval: Option<Duration>,
    /// How long to wait after a ping for any inbound frame.
    pub timeout: Option<Duration>,
}

impl KeepaliveConfig {
    /// The worst-case time from the last inbound frame to detection, if detection is enabled.
    #[must_use]
    pub fn detection_bound(&self) -> Option<Duration> {
        Some(self.interval? + self.timeout?)
    }
}

/// What the keepalive asks its driver to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepaliveAction {
    /// Send a ping now.
    SendPing,
    /// The peer is dead: no frame arrived within the timeout after a ping.
    Dead,
}

/// Keepalive state of one connection.
#[derive(Debug, Clone)]
pub struct Keepalive {
    config: KeepaliveConfig,
    last_inbound: MonoTime,
    ping_sent_at: Option<MonoTime>,
}

impl Keepalive {
    /// Keepalive for a connection that became usable at `now`.
    #[must_use]
    pub fn new(config: KeepaliveConfig, now: MonoTime) -> Self {
        Keepalive {
            config,
            last_inbound: now,
            ping_sent_at: None,
        }
    }

    /// Any frame arrived: the peer is alive.
    pub fn on_inbound(&mut self, now: MonoTime) {
        self.last_inbound = now;
        self.ping_sent_at = None;
    }

    /// The next time [`Keepalive::poll`] has something to do.
    #[must_use]
    pub fn deadline(&self) -> Option<MonoTime> {
        let interval = self.config.interval?;
        match (self.ping_sent_at, self.config.timeout) {
            (Some(sent), Some(timeout)) => Some(sent + timeout),
            // Without a timeout a ping only keeps traffic flowing: ping again an interval later.
            (Some(sent), None) => Some(sent + interval),
            (None, _) => Some(self.last_inbound + interval),
        }
    }

    /// Advances to `now`: a ping to send, the peer found dead, or nothing.
    #[must_use]
    pub fn poll(&mut self, now: MonoTime) -> Option<KeepaliveAction> {
        let deadline = self.deadline()?;
        if now < deadline {
            return None;
        }
        if self.ping_sent_at.is_some() && self.config.timeout.is_some() {
            Some(KeepaliveAction::Dead)
        } else {
            self.ping_sent_at = Some(now);
            Some(KeepaliveAction::SendPing)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: KeepaliveConfig = KeepaliveConfig {
        interval: Some(Duration::from_secs(20)),
        timeout: Some(Duration::from_secs(20)),
    };

    fn t(ms: u64) -> MonoTime {
        MonoTime::from_millis(ms)
    }

    #[test]
    fn pings_after_interval_and_dies_exactly_at_timeout() {
        let mut k = Keepalive::new(CFG, t(0));
        assert_eq!(k.deadline(), Some(t(20_000)));
        assert_eq!(k.poll(t(19_999)), None);
        assert_eq!(k.poll(t(20_000)), Some(KeepaliveAction::SendPing));
        assert_eq!(k.deadline(), Some(t(40_000)));
        assert_eq!(k.poll(t(39_999)), None);
        assert_eq!(k.poll(t(40_000)), Some(KeepaliveAction::Dead));
    }

    #[test]
    fn any_inbound_frame_is_proof_of_life() {
        let mut k = Keepalive::new(CFG, t(0));
        assert_eq!(k.poll(t(20_000)), Some(KeepaliveAction::SendPing));
        k.on_inbound(t(30_000));
        assert_eq!(k.poll(t(40_000)), None);
        assert_eq!(k.deadline(), Some(t(50_000)));
    }

    #[test]
    fn no_timeout_keeps_pinging_but_never_dies() {
        let mut k = Keepalive::new(
            KeepaliveConfig {
                timeout: None,
                ..CFG
            },
            t(0),
        );
        assert_eq!(k.poll(t(20_000)), Some(KeepaliveAction::SendPing));
        assert_eq!(k.deadline(), Some(t(40_000)));
        assert_eq!(k.poll(t(40_000)), Some(KeepaliveAction::SendPing));
        assert_eq!(k.poll(t(1_000_000)), Some(KeepaliveAction::SendPing));
    }

    #[test]
    fn no_interval_disables_everything() {
        let mut k = Keepalive::new(
            KeepaliveConfig {
                interval: None,
                ..CFG
            },
            t(0),
        );
        assert_eq!(k.deadline(), None);
        assert_eq!(k.poll(t(1_000_000)), None);
        assert_eq!(CFG.detection_bound(), Some(Duration::from_secs(40)));
    }
}
