//! WebSocket frames as the sans-IO machines see them, and the close codes wsim uses.
//! The drivers convert to and from tungstenite's `Message` (see [`crate::wslink`]).

/// Close code: normal closure.
pub const CLOSE_NORMAL: u16 = 1000;
/// Close code: the endpoint is going away (a client dropping a link it found dead).
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code: the peer broke the WebSocket protocol (unmasked client frame, reserved opcode or
/// bits, a continuation with nothing to continue, a fragmented or oversized control frame).
pub const CLOSE_PROTOCOL_ERROR: u16 = 1002;
/// Close code: the endpoint received a data type it cannot accept (a binary frame).
pub const CLOSE_UNSUPPORTED_DATA: u16 = 1003;
/// Close code: the payload is not valid for its type (malformed JSON).
pub const CLOSE_INVALID_PAYLOAD: u16 = 1007;
/// Close code: a message too big to process.
pub const CLOSE_TOO_BIG: u16 = 1009;
/// Close code: try again later — the session limit is reached, or the connection's outgoing
/// queue overflowed because its peer reads too slowly (the session waits out its grace period).
pub const CLOSE_TRY_AGAIN_LATER: u16 = 1013;
/// Close code (application range): a newer connection of the same session took over.
pub const CLOSE_REPLACED: u16 = 4000;
/// Close code (application range): the client id belongs to a live or waiting session and the
/// connection did not present its secret. Retrying is fine: the session expires after its
/// grace period.
pub const CLOSE_RESUME_REFUSED: u16 = 4001;

/// A frame read from a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A text frame (its bytes as read: shared, not copied).
    Text(Text),
    /// A binary frame (not part of the protocol; still proof of life).
    Binary,
    /// A ping (the WebSocket layer answers it with a pong).
    Ping,
    /// A pong.
    Pong,
    /// A close frame, with its code if it had one.
    Close(Option<u16>),
}

/// The text of a frame: shared bytes, so one broadcast is encoded once and handed to every
/// recipient's connection without a copy.
pub type Text = tokio_tungstenite::tungstenite::Utf8Bytes;

/// A frame to write on a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// A text frame.
    Text(Text),
    /// A ping with this payload.
    Ping(Vec<u8>),
    /// A close frame; the connection is dropped shortly after.
    Close {
        /// The close code.
        code: u16,
        /// A short reason for people.
        reason: String,
    },
}
