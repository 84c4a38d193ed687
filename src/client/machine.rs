//! The client's sans-IO state machine: connection attempts and backoff, keepalive and the
//! server-silence watchdog, the pending buffer with acknowledgements, and session resume. No
//! I/O and no clock: the driver passes `now` into every `handle_*` call, then drains
//! `poll_action`, `poll_transmit` and `poll_event`, and sleeps until `poll_timeout`, calling
//! `handle_timeout` when it passes.
//!
//! Contract with the driver: after every `handle_*` call drain all `poll_*` queues before
//! feeding the next input; an `Action::Disconnect` detaches the current connection (or attempt)
//! at once — it may linger only to send the close frame — and no input from it may be fed
//! afterwards. All timers belong to the current connection, so nothing from an earlier
//! connection can fire after a reconnect.
//!
//! Messages stay in the pending buffer until the server acknowledges them (never merely because
//! a write returned); after a reconnect every pending message is sent again, in order, and the
//! server's per-session de-duplication makes the effect exactly-once.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use rand::RngCore;

use crate::client::config::{ClientConfig, ClientIdentity, HeartbeatMode};
use crate::client::event::{ClientEvent, PresenceKind};
use crate::clock::MonoTime;
use crate::event::DisconnectReason;
use crate::frame::{self, Inbound, Outbound};
use crate::keepalive::{Keepalive, KeepaliveAction};
use crate::protocol::{self, ClientMessage, ServerMessage};
use crate::seed::SimRng;

/// How many delivered message ids a client remembers to suppress duplicates.
const DELIVERED_MEMORY: usize = 4096;

/// A message id, unique per client: `<client_id>:<n>`.
pub type MessageId = String;

/// What every connection attempt presents about the client's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionClaim {
    /// The client's session key, drawn once from its seeded RNG and presented on every
    /// attempt, the first included: a session the server opened for an attempt the client
    /// abandoned (its upgrade completed as the connect timeout fired) is still the client's
    /// own, and the next attempt resumes it.
    pub key: String,
    /// The last room sequence number the client has seen, once it has had a session.
    pub last_seq: Option<u64>,
    /// The attempt's number, increasing with every attempt of this key: the server never lets
    /// an older attempt (one delayed in the network) take over from a newer one.
    pub attempt: u64,
}

/// What the driver must do with connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start a connection attempt (TCP connect + handshake).
    Connect {
        /// The `Sec-WebSocket-Key`, drawn from the client's seeded RNG.
        key: String,
        /// The session the attempt opens or resumes.
        session: SessionClaim,
    },
    /// Detach the current connection or attempt now. If `close` is set, write that close frame
    /// and let the old connection linger at most the close timeout; never wait for it.
    Disconnect {
        /// Close code and reason to send first, if the link is up.
        close: Option<(u16, String)>,
    },
}

/// Why `send` refused a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The pending buffer is full; nothing was queued.
    #[error("{limit} messages are already waiting for an acknowledgement")]
    BufferFull {
        /// The configured limit.
        limit: usize,
    },
    /// The client was closed or gave up.
    #[error("the client is closed")]
    Closed,
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
    /// The link is up since `since`; the last frame arrived at `last_inbound`.
    Connected {
        since: MonoTime,
        last_inbound: MonoTime,
        keepalive: Keepalive,
    },
    /// Closed by the application, or gave up: nothing more happens.
    Finished,
}

#[derive(Debug, Clone)]
struct Pending {
    id: MessageId,
    text: String,
    /// The sender's wall-clock time, informational only.
    timestamp: Option<String>,
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
    /// Unacknowledged messages, in send order.
    pending: VecDeque<Pending>,
    /// How many of `pending` (from the front) were written on the current link.
    written: usize,
    /// The session key presented on every attempt.
    session_key: String,
    /// Whether the server has welcomed this client into a session yet.
    has_session: bool,
    /// Connection attempts made in all (never reset; numbers the attempts for the server).
    attempts_made: u64,
    /// Highest room sequence number seen; never moves backwards within a session.
    last_seq: Option<u64>,
    /// Whether the current connection presented a resume token.
    resuming: bool,
    /// Message ids recently delivered to the application, oldest first (bounded): a message
    /// the server accepted twice (its ack lost in a crash) is still shown once.
    delivered: VecDeque<(String, String)>,
    delivered_set: BTreeSet<(String, String)>,
    actions: VecDeque<Action>,
    transmits: VecDeque<Outbound>,
    events: VecDeque<ClientEvent>,
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
        let mut key = [0u8; 16];
        let mut rng = rng;
        rng.fill_bytes(&mut key);
        ClientMachine {
            config,
            identity,
            rng,
            state: State::Waiting {
                until: now + start_delay,
            },
            attempt: 0,
            next_msg: 0,
            pending: VecDeque::new(),
            written: 0,
            session_key: key.iter().map(|b| format!("{b:02x}")).collect(),
            has_session: false,
            attempts_made: 0,
            last_seq: None,
            resuming: false,
            delivered: VecDeque::new(),
            delivered_set: BTreeSet::new(),
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

    /// The session key every attempt presents (see [`SessionClaim`]).
    #[must_use]
    pub fn session_key(&self) -> &str {
        &self.session_key
    }

    /// The client's settings.
    #[must_use]
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Whether the link is up.
    #[must_use]
    pub fn is_connected(&self) -> bool {
        matches!(self.state, State::Connected { .. })
    }

    /// Whether the client was closed or gave up.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Finished)
    }

    /// Messages waiting for an acknowledgement.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The ids of the messages waiting for an acknowledgement, oldest first.
    #[must_use]
    pub fn pending_ids(&self) -> Vec<MessageId> {
        self.pending.iter().map(|p| p.id.clone()).collect()
    }

    /// Whether the server has welcomed this client into a session (a server that never does
    /// does not speak wsim's protocol).
    #[must_use]
    pub fn has_session(&self) -> bool {
        self.has_session
    }

    /// The application sends `text` (stamped `timestamp`, the sender's wall clock, which is
    /// informational only). It is written now if the link is up, buffered otherwise, and stays
    /// pending until the server acknowledges it.
    pub fn send(
        &mut self,
        _now: MonoTime,
        text: String,
        timestamp: Option<String>,
    ) -> Result<MessageId, SendError> {
        if self.is_finished() {
            return Err(SendError::Closed);
        }
        if self.pending.len() >= self.config.max_pending {
            return Err(SendError::BufferFull {
                limit: self.config.max_pending,
            });
        }
        self.next_msg += 1;
        let id = if self.config.bugs.counter_ids {
            self.next_msg.to_string()
        } else {
            format!("{}:{}", self.identity.client_id, self.next_msg)
        };
        self.pending.push_back(Pending {
            id: id.clone(),
            text,
            timestamp,
        });
        if self.is_connected() {
            self.write_pending();
        } else {
            self.events.push_back(ClientEvent::MessageBuffered {
                msg_id: id.clone(),
                pending: self.pending.len(),
            });
        }
        Ok(id)
    }

    /// The application closes the client for good.
    pub fn close(&mut self, _now: MonoTime) {
        match self.state {
            State::Finished => return,
            State::Connected { .. } | State::Connecting { .. } => {
                self.drop_link(DisconnectReason::ClientClosed, frame::CLOSE_NORMAL);
            }
            State::Waiting { .. } => {}
        }
        self.state = State::Finished;
    }

    /// The connection attempt succeeded.
    pub fn handle_connected(&mut self, now: MonoTime) {
        if !matches!(self.state, State::Connecting { .. }) {
            return;
        }
        self.state = State::Connected {
            since: now,
            last_inbound: now,
            keepalive: Keepalive::new(self.config.keepalive, now),
        };
        self.events.push_back(ClientEvent::Connected {
            attempt: self.attempt,
        });
        self.written = 0;
        self.write_pending();
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
        let State::Connected {
            keepalive,
            last_inbound,
            ..
        } = &mut self.state
        else {
            return;
        };
        keepalive.on_inbound(now);
        *last_inbound = now;
        match frame {
            Inbound::Text(text) => self.handle_text(&text),
            Inbound::Close(Some(frame::CLOSE_REPLACED)) => {
                // A newer connection of this session took over: reconnecting would only fight it.
                self.drop_link(DisconnectReason::ClosedByPeer, frame::CLOSE_NORMAL);
                self.give_up(DisconnectReason::ClosedByPeer);
            }
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

    /// Time passed: start an attempt, time one out, run the keepalive or the watchdog.
    pub fn handle_timeout(&mut self, now: MonoTime) {
        match &mut self.state {
            State::Waiting { until } if now >= *until => self.start_attempt(now),
            State::Connecting { deadline } if now >= *deadline => {
                self.disconnected(now, DisconnectReason::ConnectTimeout);
            }
            State::Connected {
                keepalive,
                last_inbound,
                ..
            } => {
                let silent = self
                    .config
                    .server_silence
                    .is_some_and(|s| now >= *last_inbound + s);
                match keepalive.poll(now) {
                    Some(KeepaliveAction::Dead) => {
                        self.disconnected(now, DisconnectReason::PingTimeout);
                    }
                    _ if silent => self.disconnected(now, DisconnectReason::ServerSilent),
                    Some(KeepaliveAction::SendPing) => {
                        let ping = match self.config.heartbeat {
                            HeartbeatMode::Ws => Outbound::Ping(
                                now.since_origin().as_millis().to_string().into_bytes(),
                            ),
                            HeartbeatMode::App => {
                                Outbound::Text(protocol::encode(&ClientMessage::Ping))
                            }
                        };
                        self.transmits.push_back(ping);
                    }
                    None => {}
                }
            }
            _ => {}
        }
    }

    /// When `handle_timeout` must next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<MonoTime> {
        match &self.state {
            State::Waiting { until } => Some(*until),
            State::Connecting { deadline } => Some(*deadline),
            State::Connected {
                keepalive,
                last_inbound,
                ..
            } => {
                let watchdog = self.config.server_silence.map(|s| *last_inbound + s);
                [keepalive.deadline(), watchdog].into_iter().flatten().min()
            }
            State::Finished => None,
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

    /// The next event for the application and the timeline.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    fn start_attempt(&mut self, now: MonoTime) {
        self.attempt += 1;
        let mut key = [0u8; 16];
        self.rng.fill_bytes(&mut key);
        self.resuming = self.has_session;
        self.attempts_made += 1;
        self.actions.push_back(Action::Connect {
            key: crate::client::handshake::encode_key(&key),
            session: SessionClaim {
                key: self.session_key.clone(),
                last_seq: self.last_seq.filter(|_| self.has_session),
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
    fn disconnected(&mut self, now: MonoTime, reason: DisconnectReason) {
        let healthy = match &self.state {
            State::Connected { since, .. } => {
                now.saturating_since(*since) >= self.config.min_uptime
            }
            _ => false,
        };
        self.drop_link(reason, frame::CLOSE_GOING_AWAY);
        self.schedule_retry(now, healthy, reason);
    }

    fn drop_link(&mut self, reason: DisconnectReason, code: u16) {
        let close = self
            .is_connected()
            .then(|| (code, reason.as_str().to_string()));
        self.transmits.clear();
        self.written = 0;
        self.actions.push_back(Action::Disconnect { close });
        self.events.push_back(ClientEvent::Disconnected { reason });
    }

    fn schedule_retry(&mut self, now: MonoTime, reset: bool, reason: DisconnectReason) {
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

    fn give_up(&mut self, reason: DisconnectReason) {
        self.state = State::Finished;
        self.events.push_back(ClientEvent::GaveUp { reason });
    }

    /// Writes every pending message not yet written on this link, in order.
    fn write_pending(&mut self) {
        while let Some(p) = self.pending.get(self.written) {
            let text = protocol::encode(&ClientMessage::ChatMessage {
                id: Some(p.id.clone()),
                text: p.text.clone(),
                timestamp: p.timestamp.clone(),
            });
            self.transmits.push_back(Outbound::Text(text));
            self.events.push_back(ClientEvent::MessageSent {
                msg_id: p.id.clone(),
            });
            if self.config.bugs.remove_before_ack {
                self.pending.remove(self.written); // planted bug: gone before it is known to arrive
            } else {
                self.written += 1;
            }
        }
    }

    fn handle_text(&mut self, text: &str) {
        let Ok(msg) = protocol::decode::<ServerMessage>(text) else {
            return;
        };
        match msg {
            ServerMessage::Welcome {
                recovered,
                replayed,
                last_seq,
                ..
            } => {
                self.has_session = true;
                if self.resuming {
                    self.events.push_back(ClientEvent::Resumed {
                        recovered,
                        replayed,
                    });
                }
                if !recovered {
                    // A new session (or lost history): resync from the room's present.
                    self.last_seq = Some(last_seq);
                }
            }
            ServerMessage::Ack { id, seq } => {
                if let Some(pos) = self.pending.iter().position(|p| p.id == id) {
                    self.pending.remove(pos);
                    if pos < self.written {
                        self.written -= 1;
                    }
                    self.events
                        .push_back(ClientEvent::MessageAcked { msg_id: id, seq });
                }
            }
            ServerMessage::ChatMessage {
                id,
                from,
                username,
                text,
                seq,
            } => {
                if self.last_seq.is_some_and(|last| seq <= last) {
                    return; // already seen (a replay overlapping live delivery)
                }
                self.last_seq = Some(seq);
                if !id.is_empty() && !self.remember_delivered(&from, &id) {
                    return; // the same message under a new number (accepted again after a crash)
                }
                self.events.push_back(ClientEvent::Message {
                    msg_id: id,
                    seq,
                    from,
                    username,
                    text,
                });
            }
            ServerMessage::UserJoined { username } => self.presence(PresenceKind::Joined, username),
            ServerMessage::UserAway { username } => self.presence(PresenceKind::Away, username),
            ServerMessage::UserReconnected { username } => {
                self.presence(PresenceKind::Reconnected, username);
            }
            ServerMessage::UserLeft { username } => self.presence(PresenceKind::Left, username),
            ServerMessage::Ping => self
                .transmits
                .push_back(Outbound::Text(protocol::encode(&ClientMessage::Pong))),
            ServerMessage::Pong | ServerMessage::Error { .. } => {}
        }
    }

    /// Records message `id` from `from` as delivered (ids are unique per sender only); false
    /// if it already was.
    fn remember_delivered(&mut self, from: &str, id: &str) -> bool {
        let key = (from.to_string(), id.to_string());
        if !self.delivered_set.insert(key.clone()) {
            return false;
        }
        self.delivered.push_back(key);
        if self.delivered.len() > DELIVERED_MEMORY {
            if let Some(old) = self.delivered.pop_front() {
                self.delivered_set.remove(&old);
            }
        }
        true
    }

    fn presence(&mut self, kind: PresenceKind, username: String) {
        self.events
            .push_back(ClientEvent::Presence { kind, username });
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

    fn events(m: &mut ClientMachine) -> Vec<ClientEvent> {
        std::iter::from_fn(|| m.poll_event()).collect()
    }

    fn actions(m: &mut ClientMachine) -> Vec<Action> {
        std::iter::from_fn(|| m.poll_action()).collect()
    }

    fn transmits(m: &mut ClientMachine) -> Vec<Outbound> {
        std::iter::from_fn(|| m.poll_transmit()).collect()
    }

    fn drain(m: &mut ClientMachine) {
        let _ = (events(m), actions(m), transmits(m));
    }

    /// A machine connected at `at` (first attempt started at 500 ms).
    fn connected(config: ClientConfig, at: u64) -> ClientMachine {
        let mut m = machine(config);
        m.handle_timeout(t(500));
        m.handle_connected(t(at));
        drain(&mut m);
        m
    }

    fn disconnect_reason(events: &[ClientEvent]) -> Option<DisconnectReason> {
        events.iter().find_map(|e| match e {
            ClientEvent::Disconnected { reason } => Some(*reason),
            _ => None,
        })
    }

    fn text(s: &str) -> Inbound {
        Inbound::Text(s.into())
    }

    fn chat(seq: u64) -> Inbound {
        text(&format!(
            r#"{{"type":"chat_message","id":"x:{seq}","from":"x","username":"X","text":"t","seq":{seq}}}"#
        ))
    }

    fn sent_texts(out: Vec<Outbound>) -> Vec<String> {
        out.into_iter()
            .filter_map(|o| match o {
                Outbound::Text(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    /// Reconnects a connected machine after its link ended; returns the attempt's action.
    fn reconnect(m: &mut ClientMachine, at: u64) -> Action {
        m.handle_link_end(t(at), LinkEnd::Eof);
        let until = m.poll_timeout().expect("a retry is scheduled");
        m.handle_timeout(until);
        let action = actions(m).pop().expect("connect");
        m.handle_connected(until + Duration::from_millis(5));
        action
    }

    #[test]
    fn first_attempt_waits_for_the_start_delay_with_a_seeded_key() {
        let mut m = machine(ClientConfig::default());
        assert_eq!(m.poll_timeout(), Some(t(500)));
        m.handle_timeout(t(499));
        assert!(actions(&mut m).is_empty());
        m.handle_timeout(t(500));
        let a = actions(&mut m);
        assert!(matches!(
            &a[..],
            [Action::Connect { key, session: SessionClaim { key: session, last_seq: None, attempt: 1 } }]
                if key.len() == 24 && session.len() == 32
        ));
        assert_eq!(events(&mut m), [ClientEvent::Connecting { attempt: 1 }]);
        let mut again = machine(ClientConfig::default());
        again.handle_timeout(t(500));
        assert_eq!(actions(&mut again), a, "the key comes from the seeded RNG");
    }

    #[test]
    fn silent_link_is_detected_exactly_at_interval_plus_timeout() {
        let mut m = connected(ClientConfig::default(), 1_000);
        assert_eq!(m.poll_timeout(), Some(t(21_000)));
        m.handle_timeout(t(21_000));
        assert!(matches!(&transmits(&mut m)[..], [Outbound::Ping(_)]));
        m.handle_timeout(t(40_999));
        assert!(events(&mut m).is_empty());
        m.handle_timeout(t(41_000));
        assert_eq!(
            disconnect_reason(&events(&mut m)),
            Some(DisconnectReason::PingTimeout)
        );
        // The dead link is closed with a short linger, never awaited.
        assert_eq!(
            actions(&mut m),
            [Action::Disconnect {
                close: Some((frame::CLOSE_GOING_AWAY, "ping_timeout".into()))
            }]
        );
        assert!(!m.is_connected());
    }

    #[test]
    fn app_heartbeat_sends_json_pings() {
        let config = ClientConfig {
            heartbeat: HeartbeatMode::App,
            ..ClientConfig::default()
        };
        let mut m = connected(config, 0);
        m.handle_timeout(t(20_000));
        assert_eq!(sent_texts(transmits(&mut m)), [r#"{"type":"ping"}"#]);
    }

    #[test]
    fn any_inbound_frame_postpones_detection() {
        let mut m = connected(ClientConfig::default(), 1_000);
        m.handle_timeout(t(21_000));
        m.handle_inbound(t(30_000), text(r#"{"type":"user_joined","username":"B"}"#));
        m.handle_timeout(t(41_000));
        assert!(disconnect_reason(&events(&mut m)).is_none());
        assert_eq!(m.poll_timeout(), Some(t(50_000)));
    }

    #[test]
    fn watchdog_drops_a_link_when_the_server_goes_silent() {
        // Keepalive off (as when only the server pings): the watchdog still finds the silence.
        let config = ClientConfig {
            keepalive: crate::keepalive::KeepaliveConfig {
                interval: None,
                timeout: None,
            },
            ..ClientConfig::default()
        };
        let mut m = connected(config, 0);
        m.handle_inbound(t(20_000), Inbound::Ping);
        assert_eq!(m.poll_timeout(), Some(t(60_000)));
        m.handle_timeout(t(59_999));
        assert!(events(&mut m).is_empty());
        m.handle_timeout(t(60_000));
        assert_eq!(
            disconnect_reason(&events(&mut m)),
            Some(DisconnectReason::ServerSilent)
        );
    }

    #[test]
    fn stale_deadline_from_the_previous_connection_never_fires() {
        let mut m = connected(ClientConfig::default(), 1_000);
        m.handle_timeout(t(21_000)); // ping sent: old deadline 41 s
        let _ = reconnect(&mut m, 30_000);
        drain(&mut m);
        m.handle_timeout(t(41_000)); // the old connection's deadline
        assert!(events(&mut m).is_empty());
        assert!(m.is_connected());
        assert!(m.poll_timeout().expect("keepalive") > t(50_000));
    }

    #[test]
    fn hanging_handshake_times_out() {
        let mut m = machine(ClientConfig::default());
        m.handle_timeout(t(500));
        drain(&mut m);
        assert_eq!(m.poll_timeout(), Some(t(5_500)));
        m.handle_timeout(t(5_500));
        assert_eq!(
            disconnect_reason(&events(&mut m)),
            Some(DisconnectReason::ConnectTimeout)
        );
        assert_eq!(actions(&mut m), [Action::Disconnect { close: None }]);
    }

    #[test]
    fn offline_messages_are_buffered_and_sent_in_order_after_connecting() {
        let mut m = machine(ClientConfig::default());
        let a = m.send(t(0), "one".into(), None).unwrap();
        let b = m.send(t(1), "two".into(), None).unwrap();
        assert_ne!(a, b);
        assert_eq!(
            events(&mut m),
            [
                ClientEvent::MessageBuffered {
                    msg_id: a.clone(),
                    pending: 1
                },
                ClientEvent::MessageBuffered {
                    msg_id: b.clone(),
                    pending: 2
                },
            ]
        );
        assert!(transmits(&mut m).is_empty());
        m.handle_timeout(t(500));
        m.handle_connected(t(600));
        let texts = sent_texts(transmits(&mut m));
        assert!(texts[0].contains("\"one\"") && texts[0].contains(&a));
        assert!(texts[1].contains("\"two\"") && texts[1].contains(&b));
        assert_eq!(m.pending(), 2, "written is not acknowledged");
    }

    #[test]
    fn the_buffer_is_bounded_and_overflow_is_an_error() {
        let config = ClientConfig {
            max_pending: 2,
            ..ClientConfig::default()
        };
        let mut m = machine(config);
        m.send(t(0), "1".into(), None).unwrap();
        m.send(t(0), "2".into(), None).unwrap();
        assert_eq!(
            m.send(t(0), "3".into(), None),
            Err(SendError::BufferFull { limit: 2 })
        );
        assert_eq!(m.pending(), 2);
    }

    #[test]
    fn only_an_ack_removes_a_message_and_unacked_ones_are_resent_after_reconnect() {
        let mut m = connected(ClientConfig::default(), 0);
        let a = m.send(t(1), "a".into(), None).unwrap();
        let b = m.send(t(2), "b".into(), None).unwrap();
        drain(&mut m);
        m.handle_inbound(
            t(3),
            text(&format!(r#"{{"type":"ack","id":"{a}","seq":7}}"#)),
        );
        assert_eq!(
            events(&mut m),
            [ClientEvent::MessageAcked {
                msg_id: a.clone(),
                seq: 7
            }]
        );
        assert_eq!(m.pending(), 1);
        let _ = reconnect(&mut m, 10);
        let texts = sent_texts(transmits(&mut m));
        assert_eq!(texts.len(), 1, "{texts:?}");
        assert!(
            texts[0].contains(&b),
            "the unacknowledged message is sent again"
        );
        let _ = events(&mut m);
        // A duplicate ack (the server de-duplicated the resend) changes nothing.
        m.handle_inbound(
            t(20),
            text(&format!(r#"{{"type":"ack","id":"{a}","seq":7}}"#)),
        );
        assert!(events(&mut m).is_empty());
    }

    #[test]
    fn replays_never_deliver_a_sequence_number_twice() {
        let mut m = connected(ClientConfig::default(), 0);
        for seq in [1, 2, 3] {
            m.handle_inbound(t(seq), chat(seq));
        }
        // A replay overlapping what was seen, and an old straggler.
        for seq in [2, 3, 4, 1, 5] {
            m.handle_inbound(t(10 + seq), chat(seq));
        }
        let seqs: Vec<u64> = events(&mut m)
            .into_iter()
            .filter_map(|e| match e {
                ClientEvent::Message { seq, .. } => Some(seq),
                _ => None,
            })
            .collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5]);
    }

    #[test]
    fn the_same_message_under_a_new_number_is_delivered_once() {
        let mut m = connected(ClientConfig::default(), 0);
        let msg = |seq: u64| {
            text(&format!(
                r#"{{"type":"chat_message","id":"x:1","from":"x","username":"X","text":"t","seq":{seq}}}"#
            ))
        };
        m.handle_inbound(t(1), msg(7));
        m.handle_inbound(t(2), msg(9));
        let delivered = events(&mut m)
            .iter()
            .filter(|e| matches!(e, ClientEvent::Message { .. }))
            .count();
        assert_eq!(delivered, 1);
    }

    #[test]
    fn reconnect_presents_the_resume_token_and_reports_the_outcome() {
        let mut m = connected(ClientConfig::default(), 0);
        let key = m.session_key().to_string();
        m.handle_inbound(
            t(1),
            text(r#"{"type":"welcome","client_id":"c1","username":"Ann","room":"lobby","resume_secret":"s","recovered":false,"replayed":0,"last_seq":4}"#),
        );
        m.handle_inbound(t(2), chat(5));
        drain(&mut m);
        let action = reconnect(&mut m, 10);
        assert!(
            matches!(
                action,
                Action::Connect { session: SessionClaim { key: ref k, last_seq: Some(5), attempt: 2 }, .. } if *k == key
            ),
            "the same key as the first attempt, whatever the welcome said"
        );
        m.handle_inbound(
            t(2_000),
            text(r#"{"type":"welcome","client_id":"c1","username":"Ann","room":"lobby","resume_secret":"s","recovered":false,"replayed":0,"last_seq":2}"#),
        );
        assert!(events(&mut m).contains(&ClientEvent::Resumed {
            recovered: false,
            replayed: 0
        }));
        // Not recovered (the server restarted): sequence numbers start over and are delivered.
        m.handle_inbound(t(2_001), chat(3));
        assert!(events(&mut m)
            .iter()
            .any(|e| matches!(e, ClientEvent::Message { seq: 3, .. })));
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
                if let ClientEvent::Reconnecting { attempt, delay } = e {
                    delays.push((attempt, delay));
                }
            }
            now = m.poll_timeout().expect("retry");
        }
        let attempts: Vec<u32> = delays.iter().map(|d| d.0).collect();
        assert_eq!(attempts, [2, 3, 4, 5, 6, 7]);
        for (i, (_, delay)) in delays.iter().enumerate() {
            assert!(
                *delay <= Duration::from_secs(1 << i),
                "retry {i}: {delay:?}"
            );
        }
        m.handle_timeout(now);
        m.handle_connected(now);
        m.handle_link_end(now + Duration::from_secs(11), LinkEnd::Error);
        let ev = events(&mut m);
        assert!(
            ev.iter().any(|e| matches!(
                e,
                ClientEvent::Reconnecting { attempt: 1, delay } if *delay <= Duration::from_secs(1)
            )),
            "{ev:?}"
        );
    }

    #[test]
    fn max_retries_gives_up() {
        let config = ClientConfig {
            max_retries: Some(2),
            ..ClientConfig::default()
        };
        let mut m = machine(config);
        let mut now = t(500);
        for _ in 0..2 {
            m.handle_timeout(now);
            m.handle_connect_failed(now);
            now = m.poll_timeout().unwrap_or(now);
        }
        assert!(events(&mut m).contains(&ClientEvent::GaveUp {
            reason: DisconnectReason::ConnectFailed
        }));
        assert!(m.is_finished());
        assert_eq!(m.poll_timeout(), None);
        assert_eq!(m.send(now, "x".into(), None), Err(SendError::Closed));
    }

    #[test]
    fn close_frames_and_app_ping() {
        let mut m = connected(ClientConfig::default(), 1_000);
        m.handle_inbound(t(2_000), text(r#"{"type":"ping"}"#));
        assert_eq!(sent_texts(transmits(&mut m)), [r#"{"type":"pong"}"#]);
        m.handle_inbound(t(3_000), Inbound::Close(Some(1001)));
        assert_eq!(
            disconnect_reason(&events(&mut m)),
            Some(DisconnectReason::ClosedByPeer)
        );
        // Replaced by a newer connection of the same session: do not fight it.
        let mut m = connected(ClientConfig::default(), 1_000);
        m.handle_inbound(t(2_000), Inbound::Close(Some(frame::CLOSE_REPLACED)));
        assert!(m.is_finished());
    }

    #[test]
    fn closing_stops_everything() {
        let mut m = connected(ClientConfig::default(), 1_000);
        m.close(t(2_000));
        assert!(m.is_finished());
        assert_eq!(
            actions(&mut m),
            [Action::Disconnect {
                close: Some((frame::CLOSE_NORMAL, "client_closed".into()))
            }]
        );
        assert_eq!(
            disconnect_reason(&events(&mut m)),
            Some(DisconnectReason::ClientClosed)
        );
        assert_eq!(m.poll_timeout(), None);
    }
}
