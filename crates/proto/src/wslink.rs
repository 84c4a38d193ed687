//! One live WebSocket connection as drivers use it: reads in the driver's loop, writes queued
//! to a writer task, so a write that blocks (a full window during a partition, a peer that
//! never reads) never stops the driver from reading or from noticing a timeout. The queue is
//! bounded in frames and bytes; a frame that does not fit is refused and the driver drops the
//! connection. Dropping a `WsLink` drops the connection. This is also the one place
//! tungstenite's `Message` and errors are converted to and from [`crate::frame`].

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use futures_util::stream::StreamExt;
use futures_util::SinkExt;
use std::task::{Poll, Waker};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::frame::{self, Inbound, Outbound};
use crate::net::Stream;

/// tungstenite's read buffer per connection: sized for chat frames (its default, 128 KiB, was
/// most of an idle connection's memory and is zeroed on every read). Larger frames still
/// arrive whole; the buffer grows for them.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// Bytes tungstenite gathers before writing them out (frames are written at once when the
/// writer flushes, which it does after each batch).
const WRITE_BUFFER_BYTES: usize = 16 * 1024;

/// The tungstenite settings every wsim connection uses: small buffers, `max_message_bytes` as
/// both the frame and the message limit.
#[must_use]
pub fn ws_config(max_message_bytes: Option<usize>) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_message_size(max_message_bytes)
        .max_frame_size(max_message_bytes)
}

/// Bounds on one connection's outgoing queue (frames accepted for writing, not yet handed to
/// the socket). A close frame is always accepted, so a connection over its bound can still
/// say why it is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendQueueLimit {
    /// Most payload bytes queued (default 4 MiB: a full replay of ordinary chat fits).
    pub bytes: usize,
    /// Most frames queued (default 4096: more than a full replay of the default history).
    pub frames: usize,
}

impl Default for SendQueueLimit {
    fn default() -> Self {
        SendQueueLimit {
            bytes: 4 * 1024 * 1024,
            frames: 4096,
        }
    }
}

/// What happened on a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkInput {
    /// A frame arrived.
    Frame(Inbound),
    /// The peer broke the protocol: the link must be closed with `code` (1002 protocol error,
    /// 1007 invalid UTF-8, 1009 too big) and nothing more can be read from it.
    Violation {
        /// The RFC 6455 close code.
        code: u16,
        /// What was wrong, for the close frame and the event log.
        reason: String,
    },
    /// The peer ended the stream (after or without a close frame).
    Eof,
    /// Reading or writing failed.
    Error,
}

/// A frame did not fit in the link's outgoing queue; nothing was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("outgoing queue full ({frames} frames, {bytes} bytes queued)")]
pub struct QueueFull {
    /// Frames queued when it was refused.
    pub frames: usize,
    /// Bytes queued when it was refused.
    pub bytes: usize,
}

#[derive(Debug, Default)]
struct Queue {
    frames: VecDeque<Message>,
    bytes: usize,
}

#[derive(Debug)]
struct Shared {
    queue: RefCell<Queue>,
    limit: SendQueueLimit,
    /// The writer task, while it waits for a frame (one waiter: a cell, not a `Notify`).
    writer: RefCell<Option<Waker>>,
}

impl Shared {
    /// Wakes the writer task if it waits.
    fn wake_writer(&self) {
        if let Some(waker) = self.writer.borrow_mut().take() {
            waker.wake();
        }
    }

    /// Resolves once a frame is queued.
    async fn frame_queued(&self) {
        std::future::poll_fn(|cx| {
            if self.queue.borrow().frames.is_empty() {
                let mut writer = self.writer.borrow_mut();
                if !writer.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *writer = Some(cx.waker().clone());
                }
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await;
    }
}

/// Queues frames for a link's writer; cheap to clone, outlives nothing.
#[derive(Debug, Clone)]
pub struct LinkWriter(Rc<Shared>);

impl LinkWriter {
    /// Queues a frame for writing; refuses it when the queue is at its limit (a close frame is
    /// always queued). Write errors surface later through [`WsLink::next`].
    pub fn send(&self, frame: Outbound) -> Result<(), QueueFull> {
        let is_close = matches!(frame, Outbound::Close { .. });
        let msg = outbound(frame);
        let size = msg.len();
        let mut q = self.0.queue.borrow_mut();
        let limit = self.0.limit;
        if !is_close && (q.frames.len() >= limit.frames || q.bytes + size > limit.bytes) {
            return Err(QueueFull {
                frames: q.frames.len(),
                bytes: q.bytes,
            });
        }
        q.bytes += size;
        q.frames.push_back(msg);
        drop(q);
        self.0.wake_writer();
        Ok(())
    }
}

/// A WebSocket connection with a background writer.
pub struct WsLink<S: Stream> {
    reader: crate::local_split::ReadHalf<WebSocketStream<S>>,
    writer: LinkWriter,
    write_failed: oneshot::Receiver<()>,
    write_task: JoinHandle<()>,
}

impl<S: Stream> WsLink<S> {
    /// Wraps an established WebSocket; spawns its writer on the current `LocalSet`.
    pub fn new(ws: WebSocketStream<S>, limit: SendQueueLimit) -> Self {
        let (reader, mut sink) = crate::local_split::split(ws);
        let shared = Rc::new(Shared {
            queue: RefCell::default(),
            limit,
            writer: RefCell::new(None),
        });
        let (failed_tx, write_failed) = oneshot::channel();
        let queue = Rc::clone(&shared);
        let write_task = tokio::task::spawn_local(async move {
            // Frames leave the queue one at a time as the socket takes them, so the bound
            // covers everything not yet written; one flush per burst (a replay, a busy room).
            let mut unflushed = false;
            loop {
                let next = {
                    let mut q = queue.queue.borrow_mut();
                    let msg = q.frames.pop_front();
                    if let Some(m) = &msg {
                        q.bytes -= m.len();
                    }
                    msg
                };
                let written = match next {
                    Some(msg) => {
                        unflushed = true;
                        sink.feed(msg).await
                    }
                    None if unflushed => {
                        unflushed = false;
                        sink.flush().await
                    }
                    None => {
                        queue.frame_queued().await;
                        Ok(())
                    }
                };
                if written.is_err() {
                    let _ = failed_tx.send(());
                    return;
                }
            }
        });
        WsLink {
            reader,
            writer: LinkWriter(shared),
            write_failed,
            write_task,
        }
    }

    /// Queues a frame for writing (see [`LinkWriter::send`]).
    pub fn send(&self, frame: Outbound) -> Result<(), QueueFull> {
        self.writer.send(frame)
    }

    /// A handle that queues frames on this link.
    #[must_use]
    pub fn writer(&self) -> LinkWriter {
        self.writer.clone()
    }

    /// Waits for the next frame, the end of the stream, a protocol violation or a failed
    /// write. Cancel-safe.
    pub async fn next(&mut self) -> LinkInput {
        loop {
            tokio::select! {
                biased;
                _ = &mut self.write_failed => return LinkInput::Error,
                frame = self.reader.next() => return match frame {
                    Some(Ok(Message::Frame(_))) => continue,
                    Some(Ok(msg)) => LinkInput::Frame(inbound(msg)),
                    Some(Err(e)) => read_error(&e),
                    None => LinkInput::Eof,
                },
            }
        }
    }
}

impl<S: Stream> WsLink<S> {
    /// Reads and discards until the peer ends the connection (after a close frame was sent).
    pub async fn until_closed(&mut self) {
        while let LinkInput::Frame(_) = self.next().await {}
    }
}

impl<S: Stream> Drop for WsLink<S> {
    fn drop(&mut self) {
        self.write_task.abort();
    }
}

/// What a read error means for the link: the close code owed to a peer that broke the
/// protocol, or the plain end of the connection.
fn read_error(e: &WsError) -> LinkInput {
    let violation = |code, reason: String| LinkInput::Violation { code, reason };
    match e {
        WsError::ConnectionClosed | WsError::AlreadyClosed => LinkInput::Eof,
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => LinkInput::Eof,
        WsError::Capacity(c) => violation(frame::CLOSE_TOO_BIG, c.to_string()),
        WsError::Utf8(_) => violation(
            frame::CLOSE_INVALID_PAYLOAD,
            "text frame is not valid UTF-8".into(),
        ),
        WsError::Protocol(p) => violation(frame::CLOSE_PROTOCOL_ERROR, p.to_string()),
        _ => LinkInput::Error,
    }
}

fn inbound(msg: Message) -> Inbound {
    match msg {
        Message::Text(text) => Inbound::Text(text),
        Message::Binary(_) | Message::Frame(_) => Inbound::Binary,
        Message::Ping(_) => Inbound::Ping,
        Message::Pong(_) => Inbound::Pong,
        Message::Close(frame) => Inbound::Close(frame.map(|f| u16::from(f.code))),
    }
}

fn outbound(frame: Outbound) -> Message {
    match frame {
        Outbound::Text(text) => Message::text(text),
        Outbound::Ping(payload) => Message::Ping(payload.into()),
        Outbound::Close { code, reason } => Message::Close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_errors_map_to_their_close_codes() {
        let code = |e: WsError| match read_error(&e) {
            LinkInput::Violation { code, .. } => code,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(WsError::Protocol(ProtocolError::UnmaskedFrameFromClient)),
            1002
        );
        assert_eq!(
            code(WsError::Protocol(ProtocolError::NonZeroReservedBits)),
            1002
        );
        assert_eq!(
            code(WsError::Capacity(
                tokio_tungstenite::tungstenite::error::CapacityError::MessageTooLong {
                    size: 2,
                    max_size: 1
                }
            )),
            1009
        );
        assert_eq!(
            read_error(&WsError::Protocol(
                ProtocolError::ResetWithoutClosingHandshake
            )),
            LinkInput::Eof
        );
    }
}
