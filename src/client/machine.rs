//! The client's sans-IO state machine: connection attempts, keepalive, reconnect scheduling and
//! the offline queue. No I/O and no clock: the driver passes `now` into every `handle_*` call,
//! then drains `poll_action`, `poll_transmit` and `poll_event`, and sleeps until
//! `poll_timeout`, calling `handle_timeout` when it passes.
//!
//! Contract with the driver: after every `handle_*` call drain all `poll_*` queues before
//! feeding the next input; an `Action::Disconnect` drops the current connection (or attempt)
//! immediately, and no input from it may be fed afterwards.

use std::collections::VecDeque;
use std::time::Duration;

use rand::RngCore;

use crate::client::config::{ClientConfig, ClientIdentity};
use crate::clock::MonoTime;
use crate::event::{DisconnectReason, EventKind};
use crate::frame::{Inbound, Outbound};
use crate::keepalive::{Keepalive, KeepaliveAction};
use crate::protocol::{self, ClientMessage, ServerMessage};
use crate::seed::SimRng;

/// A message id, unique per client: `<client_id>:<n>`.
pub type MessageId = String;

/// What the driver must do with connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start a connection attempt (TCP connect + handshake) using this `Sec-WebSocket-Key`.
    Connect {
        /// The handshake key, drawn from the client's seeded RNG.
        key: String,
    },
    /// Drop the current connection or connection attempt now, without waiting for anything.
    Disconnect,
}

/// How the transport of the current connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkEnd {
    /// End of stream.
    Eof,
    /// A read or write error.
    Error,
}

#[derive(Debug)]
enum State {
    /// Waiting until `until` before the next attempt.
    Waiting { until: MonoTime },
    /// An attempt is under way; it fails at `deadline`.
    Connecting { deadline: MonoTime },
    /// The link is up since `since`.
    Connected {
        since: MonoTime,
        keepalive: Keepalive,
    },
    /// Closed by the application; nothing more happens.
    Closed,
}

/// The client state machine.
#[derive(Debug)]
pub struct ClientMachine {
    config: ClientConfig,
    identity: ClientIdentity,
    rng: SimRng,
    state: State,
    /// Attempts made since the last healthy link (1 = first).
    attempt: u32,
    next_msg: u64,
    offline: VecDeque<(MessageId, String)>,
    actions: VecDeque<Action>,
    transmits: VecDeque<Outbound>,
    events: VecDeque<EventKind>,
}

impl ClientMachine {
    /// A client that makes its first connection attempt at `now + start_delay`.
    #[must_use]
    pub fn new(
        config: ClientConfig,
        identity: ClientIdentity,
        rng: SimRng,
        now: MonoTime,
        start_delay: Duration,
    ) -> Self {
        ClientMachine {
            config,
            identity,
            rng,
            state: State::Waiting {
                until: now + start_delay,
            },
            attempt: 0,
            next_msg: 0,
            offline: VecDeque::new(),
            actions: VecDeque::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The client's identity.
    #[must_use]
    pub fn identity(&self) -> &ClientIdentity {
        &self.identity
    }

    /// Whether the link is up.
    #[must_use]
    pub fn is_connected(&self) -> bool {
        matches!(self.state, State::Connected { .. })
    }

    /// Whether the application closed the client.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Messages waiting for a link.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.offline.len()
    }

    /// The application sends `text`: written now if the link is up, queued otherwise.
    pub fn send(&mut self, _now: MonoTime, text: String) -> MessageId {
        self.next_msg += 1;
        let id = format!("{}:{}", self.identity.client_id, self.next_msg);
        if self.is_connected() {
            self.transmit_chat(id.clone(), text);
        } else {
            self.offline.push_back((id.clone(), text));
        }
        id
    }

    /// The application closes the client for good.
    pub fn close(&mut self, _now: MonoTime) {
        if self.is_closed() {
            return;
        }
        if matches!(
            self.state,
            State::Connected { .. } | State::Connecting { .. }
        ) {
            self.drop_link(DisconnectReason::ClientClosed);
        }
        self.state = State::Closed;
    }

    /// The connection attempt succeeded.
    pub fn handle_connected(&mut self, now: MonoTime) {
        if !matches!(self.state, State::Connecting { .. }) {
            return;
        }
        self.state = State::Connected {
            since: now,
            keepalive: Keepalive::new(self.config.keepalive, now),
        };
        self.events.push_back(EventKind::Connected {
            client: self.identity.client_id.clone(),
            attempt: self.attempt,
        });
        while let Some((id, text)) = self.offline.pop_front() {
            self.transmit_chat(id, text);
        }
    }

    /// The connection attempt failed.
    pub fn handle_connect_failed(&mut self, now: MonoTime) {
        if !matches!(self.state, State::Connecting { .. }) {
            return;
        }
        self.disconnected(now, DisconnectReason::ConnectFailed);
    }

    /// A frame arrived on the current connection.
    pub fn handle_inbound(&mut self, now: MonoTime, frame: Inbound) {
        let State::Connected { keepalive, .. } = &mut self.state else {
            return;
        };
        keepalive.on_inbound(now);
        match frame {
            Inbound::Text(text) => self.handle_text(&text),
            Inbound::Close(_) => self.disconnected(now, DisconnectReason::ClosedByPeer),
            Inbound::Binary | Inbound::Ping | Inbound::Pong => {}
        }
    }

    /// The transport of the current connection ended.
    pub fn handle_link_end(&mut self, now: MonoTime, end: LinkEnd) {
        if !self.is_connected() {
            return;
        }
        let reason = match end {
            LinkEnd::Eof => DisconnectReason::ClosedByPeer,
            LinkEnd::Error => DisconnectReason::Reset,
        };
        self.disconnected(now, reason);
    }

    /// Time passed: start an attempt, time one out, or run the keepalive.
    pub fn handle_timeout(&mut self, now: MonoTime) {
        match &mut self.state {
            State::Waiting { until } if now >= *until => self.start_attempt(now),
            State::Connecting { deadline } if now >= *deadline => {
                self.disconnected(now, DisconnectReason::ConnectTimeout);
            }
            State::Connected { keepalive, .. } => match keepalive.poll(now) {
                Some(KeepaliveAction::SendPing) => self.transmits.push_back(Outbound::Ping(
                    now.since_origin().as_millis().to_string().into_bytes(),
                )),
                Some(KeepaliveAction::Dead) => {
                    self.disconnected(now, DisconnectReason::PingTimeout)
                }
                None => {}
            },
            _ => {}
        }
    }

    /// When `handle_timeout` must next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<MonoTime> {
        match &self.state {
            State::Waiting { until } => Some(*until),
            State::Connecting { deadline } => Some(*deadline),
            State::Connected { keepalive, .. } => keepalive.deadline(),
            State::Closed => None,
        }
    }

    /// The next connection action for the driver.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next frame to write on the current connection.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Outbound> {
        self.transmits.pop_front()
    }

    /// The next event for the timeline.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<EventKind> {
        self.events.pop_front()
    }

    fn start_attempt(&mut self, now: MonoTime) {
        self.attempt += 1;
        let mut key = [0u8; 16];
        self.rng.fill_bytes(&mut key);
        self.actions.push_back(Action::Connect {
            key: crate::client::handshake::encode_key(&key),
        });
        self.state = State::Connecting {
            deadline: now + self.config.connect_timeout,
        };
        self.events.push_back(EventKind::Connecting {
            client: self.identity.client_id.clone(),
            attempt: self.attempt,
        });
    }

    /// The link or attempt ended for `reason`: report it, drop it, and schedule the next attempt.
    fn disconnected(&mut self, now: MonoTime, reason: DisconnectReason) {
        let healthy = match &self.state {
            State::Connected { since, .. } => {
                now.saturating_since(*since) >= self.config.min_uptime
            }
            _ => false,
        };
        self.drop_link(reason);
        self.schedule_retry(now, healthy);
    }

    fn drop_link(&mut self, reason: DisconnectReason) {
        self.transmits.clear();
        self.actions.push_back(Action::Disconnect);
        self.events.push_back(EventKind::Disconnected {
            client: self.identity.client_id.clone(),
            reason,
        });
    }

    fn schedule_retry(&mut self, now: MonoTime, reset: bool) {
        if reset {
            self.attempt = 0;
        }
        let delay = self
            .config
            .backoff
            .delay(self.attempt.saturating_sub(1), &mut self.rng);
        self.events.push_back(EventKind::ReconnectScheduled {
            client: self.identity.client_id.clone(),
            attempt: self.attempt + 1,
            delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        });
        self.state = State::Waiting { until: now + delay };
    }

    fn transmit_chat(&mut self, id: MessageId, text: String) {
        self.transmits.push_back(Outbound::Text(protocol::encode(
            &ClientMessage::ChatMessage {
                id: Some(id.clone()),
                text,
                timestamp: None,
            },
        )));
        self.events.push_back(EventKind::MessageSent {
            client: self.identity.client_id.clone(),
            msg_id: id,
        });
    }

    fn handle_text(&mut self, text: &str) {
        match protocol::decode::<ServerMessage>(text) {
            Ok(ServerMessage::ChatMessage { id, from, seq, .. }) => {
                self.events.push_back(EventKind::MessageReceived {
                    client: self.identity.client_id.clone(),
                    msg_id: id,
                    seq,
                    from,
                });
            }
            Ok(ServerMessage::Ping) => self
                .transmits
                .push_back(Outbound::Text(protocol::encode(&ClientMessage::Pong))),
            // Acks, presence, welcome and errors carry nothing this client acts on yet.
            Ok(_) | Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::derive_rng;

    fn t(ms: u64) -> MonoTime {
        MonoTime::from_millis(ms)
    }

    fn machine(config: ClientConfig) -> ClientMachine {
        ClientMachine::new(
            config,
            ClientIdentity {
                client_id: "c1".into(),
                username: "Ann".into(),
                room: "lobby".into(),
            },
            derive_rng(1, "test"),
            t(0),
            Duration::from_millis(500),
        )
    }

    fn events(m: &mut ClientMachine) -> Vec<EventKind> {
        std::iter::from_fn(|| m.poll_event()).collect()
    }

    fn actions(m: &mut ClientMachine) -> Vec<Action> {
        std::iter::from_fn(|| m.poll_action()).collect()
    }

    fn transmits(m: &mut ClientMachine) -> Vec<Outbound> {
        std::iter::from_fn(|| m.poll_transmit()).collect()
    }

    /// A machine connected at `at` (first attempt started at 500 ms).
    fn connected(config: ClientConfig, at: u64) -> ClientMachine {
        let mut m = machine(config);
        m.handle_timeout(t(500));
        m.handle_connected(t(at));
        let _ = (events(&mut m), actions(&mut m), transmits(&mut m));
        m
    }

    fn disconnect_reason(events: &[EventKind]) -> Option<DisconnectReason> {
        events.iter().find_map(|e| match e {
            EventKind::Disconnected { reason, .. } => Some(*reason),
            _ => None,
        })
    }

    #[test]
    fn first_attempt_waits_for_the_start_delay_with_a_seeded_key() {
        let mut m = machine(ClientConfig::default());
        assert_eq!(m.poll_timeout(), Some(t(500)));
        m.handle_timeout(t(499));
        assert!(actions(&mut m).is_empty());
        m.handle_timeout(t(500));
        let a = actions(&mut m);
        assert!(matches!(&a[..], [Action::Connect { key }] if key.len() == 24));
        assert_eq!(
            events(&mut m),
            [EventKind::Connecting {
                client: "c1".into(),
                attempt: 1
            }]
        );
        // The key comes from the seeded RNG: the same seed gives the same key.
        let mut again = machine(ClientConfig::default());
        again.handle_timeout(t(500));
        assert_eq!(actions(&mut again), a);
    }

    #[test]
    fn silent_link_is_detected_exactly_at_interval_plus_timeout() {
        let mut m = connected(ClientConfig::default(), 1_000);
        assert_eq!(m.poll_timeout(), Some(t(21_000)));
        m.handle_timeout(t(21_000));
        assert!(matches!(&transmits(&mut m)[..], [Outbound::Ping(_)]));
        assert_eq!(m.poll_timeout(), Some(t(41_000)));
        m.handle_timeout(t(40_999));
        assert!(events(&mut m).is_empty());
        m.handle_timeout(t(41_000));
        let ev = events(&mut m);
        assert_eq!(disconnect_reason(&ev), Some(DisconnectReason::PingTimeout));
        assert_eq!(actions(&mut m), [Action::Disconnect]);
        assert!(!m.is_connected());
    }

    #[test]
    fn any_inbound_frame_postpones_detection() {
        let mut m = connected(ClientConfig::default(), 1_000);
        m.handle_timeout(t(21_000));
        m.handle_inbound(
            t(30_000),
            Inbound::Text(r#"{"type":"user_joined","username":"B"}"#.into()),
        );
        m.handle_timeout(t(41_000));
        assert!(disconnect_reason(&events(&mut m)).is_none());
        assert_eq!(m.poll_timeout(), Some(t(50_000)));
    }

    #[test]
    fn stale_deadline_from_the_previous_connection_never_fires() {
        let mut m = connected(ClientConfig::default(), 1_000);
        m.handle_timeout(t(21_000)); // ping sent: old deadline 41 s
        m.handle_link_end(t(30_000), LinkEnd::Eof);
        let ev = events(&mut m);
        assert_eq!(disconnect_reason(&ev), Some(DisconnectReason::ClosedByPeer));
        let until = m.poll_timeout().expect("a retry is scheduled");
        m.handle_timeout(until);
        m.handle_connected(until + Duration::from_millis(10));
        let _ = (events(&mut m), actions(&mut m), transmits(&mut m));
        m.handle_timeout(t(41_000)); // the old connection's deadline
        assert!(events(&mut m).is_empty());
        assert!(m.is_connected());
        assert_eq!(
            m.poll_timeout(),
            Some(until + Duration::from_millis(20_010))
        );
    }

    #[test]
    fn hanging_handshake_times_out() {
        let mut m = machine(ClientConfig::default());
        m.handle_timeout(t(500));
        let _ = (events(&mut m), actions(&mut m));
        assert_eq!(m.poll_timeout(), Some(t(5_500)));
        m.handle_timeout(t(5_500));
        assert_eq!(
            disconnect_reason(&events(&mut m)),
            Some(DisconnectReason::ConnectTimeout)
        );
        assert_eq!(actions(&mut m), [Action::Disconnect]);
    }

    #[test]
    fn offline_messages_are_sent_in_order_after_connecting() {
        let mut m = machine(ClientConfig::default());
        let a = m.send(t(0), "one".into());
        let b = m.send(t(1), "two".into());
        assert_ne!(a, b);
        assert_eq!(m.pending(), 2);
        assert!(transmits(&mut m).is_empty());
        m.handle_timeout(t(500));
        m.handle_connected(t(600));
        assert_eq!(m.pending(), 0);
        let texts: Vec<String> = transmits(&mut m)
            .into_iter()
            .map(|o| match o {
                Outbound::Text(s) => s,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert!(texts[0].contains("\"one\"") && texts[0].contains(&a));
        assert!(texts[1].contains("\"two\"") && texts[1].contains(&b));
        let sent: Vec<String> = events(&mut m)
            .into_iter()
            .filter_map(|e| match e {
                EventKind::MessageSent { msg_id, .. } => Some(msg_id),
                _ => None,
            })
            .collect();
        assert_eq!(sent, [a, b]);
    }

    #[test]
    fn backoff_grows_while_failing_and_resets_after_a_healthy_link() {
        let mut m = machine(ClientConfig::default());
        let mut now = t(500);
        let mut delays = Vec::new();
        for _ in 0..6 {
            m.handle_timeout(now);
            m.handle_connect_failed(now);
            for e in events(&mut m) {
                if let EventKind::ReconnectScheduled {
                    attempt, delay_ms, ..
                } = e
                {
                    delays.push((attempt, delay_ms));
                }
            }
            now = m.poll_timeout().expect("retry");
        }
        let attempts: Vec<u32> = delays.iter().map(|d| d.0).collect();
        assert_eq!(attempts, [2, 3, 4, 5, 6, 7]);
        for (i, (_, delay)) in delays.iter().enumerate() {
            let ceiling = 1000u64 << i;
            assert!(*delay <= ceiling, "retry {i}: {delay} > {ceiling}");
        }
        // Connected for longer than min_uptime, then dropped: back to the first retry.
        m.handle_timeout(now);
        m.handle_connected(now);
        m.handle_link_end(now + Duration::from_secs(11), LinkEnd::Error);
        let ev = events(&mut m);
        assert!(
            ev.iter().any(|e| matches!(
                e,
                EventKind::ReconnectScheduled { attempt: 1, delay_ms, .. } if *delay_ms <= 1000
            )),
            "{ev:?}"
        );
    }

    #[test]
    fn close_frame_and_app_ping() {
        let mut m = connected(ClientConfig::default(), 1_000);
        m.handle_inbound(t(2_000), Inbound::Text(r#"{"type":"ping"}"#.into()));
        assert_eq!(
            transmits(&mut m),
            [Outbound::Text(r#"{"type":"pong"}"#.into())]
        );
        m.handle_inbound(t(3_000), Inbound::Close(Some(1001)));
        assert_eq!(
            disconnect_reason(&events(&mut m)),
            Some(DisconnectReason::ClosedByPeer)
        );
    }

    #[test]
    fn closing_stops_everything() {
        let mut m = connected(ClientConfig::default(), 1_000);
        m.close(t(2_000));
        assert!(m.is_closed());
        assert_eq!(actions(&mut m), [Action::Disconnect]);
        assert_eq!(
            disconnect_reason(&events(&mut m)),
            Some(DisconnectReason::ClientClosed)
        );
        assert_eq!(m.poll_timeout(), None);
    }
}
