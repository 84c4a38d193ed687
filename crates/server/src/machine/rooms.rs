//! Rooms and their history: accepting a chat message (per-session de-duplication, the room's
//! sequence number, the bounded history), and broadcasting to a room's live members.

use super::*;

impl ServerMachine {
    pub(super) fn accept_chat(
        &mut self,
        now: MonoTime,
        conn: ConnId,
        id: Option<String>,
        text: String,
    ) {
        let Some(client) = self.conns.get(&conn).map(|c| c.client_id.clone()) else {
            return;
        };
        let Some(session) = self.sessions.get_mut(&client) else {
            return;
        };
        let msg_id = id.unwrap_or_default();
        let dedup = &mut session.dedup;
        if !msg_id.is_empty() {
            dedup.expire(now, self.config.dedup_ttl);
            if let Some(seq) = dedup.seen(&msg_id) {
                self.events.push_back(ServerEvent::DuplicateDropped {
                    client,
                    msg_id: msg_id.clone(),
                });
                self.send(conn, &ServerMessage::Ack { id: msg_id, seq });
                return;
            }
        }
        let username = session.username.clone();
        let room_name = session.room.clone();
        let room = self.rooms.entry(room_name.clone()).or_default();
        room.last_seq += 1;
        let seq = room.last_seq;
        room.history.push_back(HistoryEntry {
            seq,
            id: msg_id.clone(),
            from: client.clone(),
            username: username.clone(),
            text: text.clone(),
        });
        while room.history.len() > self.config.history_limit {
            room.history.pop_front();
        }
        if !msg_id.is_empty() {
            dedup.remember(
                now,
                msg_id.clone(),
                seq,
                self.config.dedup_ttl,
                self.config.dedup_limit,
            );
        }
        self.events.push_back(ServerEvent::MessageAccepted {
            client: client.clone(),
            msg_id: msg_id.clone(),
            seq,
        });
        if !msg_id.is_empty() {
            self.send(
                conn,
                &ServerMessage::Ack {
                    id: msg_id.clone(),
                    seq,
                },
            );
        }
        let chat = ServerMessage::ChatMessage {
            id: msg_id,
            from: client.clone(),
            username,
            text,
            seq,
        };
        self.broadcast(&room_name, Some(&client), &chat);
    }

    /// Sends `msg` to the live connections of `room`'s members, except `except`.
    pub(super) fn broadcast(&mut self, room: &str, except: Option<&str>, msg: &ServerMessage) {
        let Some(room) = self.rooms.get(room) else {
            return;
        };
        let text = crate::frame::Text::from(protocol::encode(msg));
        let seq = match msg {
            ServerMessage::ChatMessage { seq, .. } => Some(*seq),
            _ => None,
        };
        for member in &room.members {
            if Some(member.as_str()) == except {
                continue;
            }
            let Some(session) = self.sessions.get_mut(member) else {
                continue;
            };
            if let Some(conn) = session.conn {
                if let Some(seq) = seq {
                    session.delivered.sent_seq = seq;
                }
                self.transmits
                    .push_back((conn, Outbound::Text(text.clone())));
            }
        }
    }
}
