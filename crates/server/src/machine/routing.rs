//! Routing one connection's traffic: decoding its text frames into the machine's handlers,
//! queueing frames for it, and closing or refusing it with a WebSocket close code.

use super::*;

impl ServerMachine {
    pub(super) fn handle_text(&mut self, now: MonoTime, conn: ConnId, text: &str) {
        if text.len() > self.config.max_message_bytes {
            self.reject(now, conn, frame::CLOSE_TOO_BIG, "message too big");
            return;
        }
        match protocol::decode::<ClientMessage>(text) {
            Ok(ClientMessage::ChatMessage { id, text, .. }) => {
                self.accept_chat(now, conn, id, text)
            }
            Ok(ClientMessage::Ping) => self.send(conn, &ServerMessage::Pong),
            Ok(ClientMessage::Pong) => {}
            Err(DecodeError::Malformed(_)) => {
                self.reject(now, conn, frame::CLOSE_INVALID_PAYLOAD, "malformed JSON");
            }
            Err(DecodeError::Unsupported(message)) => {
                self.send(conn, &ServerMessage::Error { message });
            }
        }
    }

    /// Closes `conn` with `code` because of bad input, then drops it.
    pub(super) fn reject(&mut self, now: MonoTime, conn: ConnId, code: u16, reason: &str) {
        let cause = format!("protocol_error ({code}: {reason})");
        self.close_conn(now, conn, code, reason, &cause);
    }

    /// Sends `conn` a close frame with `code`, then drops it for `cause` (the event's reason).
    pub(super) fn close_conn(
        &mut self,
        now: MonoTime,
        conn: ConnId,
        code: u16,
        reason: &str,
        cause: &str,
    ) {
        if !self.conns.contains_key(&conn) {
            return;
        }
        self.transmits.push_back((
            conn,
            Outbound::Close {
                code,
                reason: reason.into(),
            },
        ));
        self.drop_conn(now, conn, cause);
    }

    /// Refuses a connection that never joined a session.
    pub(super) fn refuse(&mut self, conn: ConnId, code: u16, reason: &str) {
        self.transmits.push_back((
            conn,
            Outbound::Close {
                code,
                reason: reason.into(),
            },
        ));
        self.drops.push_back(conn);
    }

    pub(super) fn send(&mut self, conn: ConnId, msg: &ServerMessage) {
        self.transmits
            .push_back((conn, Outbound::Text(protocol::encode(msg).into())));
    }
}
