//! The inbox: the server's messages — welcome and resume, acknowledgements, chat messages
//! (never the same sequence number twice, never backwards) and presence.

use super::*;

impl ClientMachine {
    pub(super) fn handle_text(&mut self, text: &str) {
        let Ok(msg) = wsim_proto::server_frame::decode_server(text) else {
            return;
        };
        match msg {
            ServerMessage::Welcome {
                recovered,
                replayed,
                last_seq,
                epoch,
                ..
            } => {
                self.has_session = true;
                if !epoch.is_empty() {
                    if self.epoch.as_ref().is_some_and(|e| *e != epoch) {
                        // A restarted server numbers afresh: what follows is not "old".
                        self.last_seq = None;
                    }
                    self.epoch = Some(epoch);
                }
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
                // The acknowledgement's number is a room number this client has seen: a server
                // writes a connection's frames in order, so every message numbered below it
                // that this client is sent came first. Counting it keeps a client that mostly
                // sends from resuming behind a history that has moved past its own messages
                // (which are never replayed to it) and being told, wrongly, that it lost some.
                if self.last_seq.is_none_or(|last| seq > last) {
                    self.last_seq = Some(seq);
                }
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
            ServerMessage::Ping => self.transmits.push_back(Outbound::Text(
                protocol::encode(&ClientMessage::Pong).into(),
            )),
            ServerMessage::Pong | ServerMessage::Error { .. } => {}
        }
    }

    /// Records message `id` from `from` as delivered (ids are unique per sender only); false
    /// if it is one of the last `DELIVERED_MEMORY` delivered.
    pub(super) fn remember_delivered(&mut self, from: &str, id: &str) -> bool {
        self.delivered.remember(fingerprint(from, id))
    }

    pub(super) fn presence(&mut self, kind: PresenceKind, username: String) {
        self.events
            .push_back(ClientEvent::Presence { kind, username });
    }
}

/// A 64-bit fingerprint of message `id` from `from`: a SipHash-1-3 digest with fixed keys (the
/// same in every run) of the terminated pair, so that ("ab", "c") and ("a", "bc") differ. A
/// fresh message is taken for a duplicate only if its digest equals one of the (at most
/// `DELIVERED_MEMORY`) remembered ones: a chance of 4096 / 2^64, about 2 × 10^-16, per
/// delivery — once in ~10^15 deliveries, where 128 bits cost twice the memory per client.
fn fingerprint(from: &str, id: &str) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut h = DefaultHasher::new();
    from.hash(&mut h);
    id.hash(&mut h);
    h.finish()
}
