//! The link's lifecycle: starting a connection attempt, a link ending, the backoff before the
//! next attempt (reset only after a healthy link), and giving up.

use super::*;

impl ClientMachine {
    pub(super) fn start_attempt(&mut self, now: MonoTime) {
        self.attempt += 1;
        let mut key = [0u8; 16];
        self.rng.fill_bytes(&mut key);
        self.resuming = self.has_session;
        self.attempts_made += 1;
        self.actions.push_back(Action::Connect {
            key: crate::handshake::encode_key(&key),
            session: SessionClaim {
                key: self.session_key.clone(),
                last_seq: self.last_seq.filter(|_| self.has_session),
                epoch: self.epoch.clone().filter(|_| self.has_session),
                attempt: self.attempts_made,
            },
        });
        self.state = State::Connecting {
            deadline: now + self.config.connect_timeout,
        };
        self.events.push_back(ClientEvent::Connecting {
            attempt: self.attempt,
        });
    }

    /// The link or attempt ended for `reason`: report it, drop it, schedule the next attempt.
    pub(super) fn disconnected(&mut self, now: MonoTime, reason: DisconnectReason) {
        let healthy = match &self.state {
            State::Connected { since, .. } => {
                now.saturating_since(*since) >= self.config.min_uptime
            }
            _ => false,
        };
        self.drop_link(reason, frame::CLOSE_GOING_AWAY);
        self.schedule_retry(now, healthy, reason);
    }

    pub(super) fn drop_link(&mut self, reason: DisconnectReason, code: u16) {
        let close = self
            .is_connected()
            .then(|| (code, reason.as_str().to_string()));
        self.transmits.clear();
        self.written = 0;
        self.actions.push_back(Action::Disconnect { close });
        self.events.push_back(ClientEvent::Disconnected { reason });
    }

    pub(super) fn schedule_retry(&mut self, now: MonoTime, reset: bool, reason: DisconnectReason) {
        if reset {
            self.attempt = 0;
        }
        if self.config.max_retries.is_some_and(|m| self.attempt >= m) {
            self.give_up(reason);
            return;
        }
        let delay = self
            .config
            .backoff
            .delay(self.attempt.saturating_sub(1), &mut self.rng);
        self.events.push_back(ClientEvent::Reconnecting {
            attempt: self.attempt + 1,
            delay,
        });
        self.state = State::Waiting { until: now + delay };
    }

    pub(super) fn give_up(&mut self, reason: DisconnectReason) {
        self.state = State::Finished;
        self.events.push_back(ClientEvent::GaveUp { reason });
    }
}
