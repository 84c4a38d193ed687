//! The outbox: the application's messages get their ids and wait, bounded, in the pending
//! buffer; they are written to the link in order and stay pending until the server
//! acknowledges them (acks are read in [`super::inbox`]).

use super::*;

impl ClientMachine {
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
        let id = format!(
            "{}:{}.{}",
            self.identity.client_id, self.life, self.next_msg
        );
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

    /// Writes every pending message not yet written on this link, in order.
    pub(super) fn write_pending(&mut self) {
        while let Some(p) = self.pending.get(self.written) {
            let text = protocol::encode(&ClientMessage::ChatMessage {
                id: Some(p.id.clone()),
                text: p.text.clone(),
                timestamp: p.timestamp.clone(),
            });
            self.transmits.push_back(Outbound::Text(text.into()));
            self.events.push_back(ClientEvent::MessageSent {
                msg_id: p.id.clone(),
            });
            self.written += 1;
        }
    }
}
