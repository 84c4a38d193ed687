//! One live WebSocket connection as drivers use it: reads in the driver's loop, writes queued
//! to a writer task, so a write that blocks (a full window during a partition) never stops the
//! driver from reading or from noticing a timeout. Dropping a `WsLink` drops the connection.
//! This is also the one place tungstenite's `Message` is converted to and from [`crate::frame`].

use futures_util::stream::{SplitStream, StreamExt};
use futures_util::SinkExt;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::frame::{Inbound, Outbound};
use crate::net::Stream;

/// What happened on a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkInput {
    /// A frame arrived.
    Frame(Inbound),
    /// The peer sent a frame larger than the configured limit.
    TooBig,
    /// The peer ended the stream (after or without a close frame).
    Eof,
    /// Reading or writing failed.
    Error,
}

/// Queues frames for a link's writer; cheap to clone, outlives nothing.
#[derive(Debug, Clone)]
pub struct LinkWriter(mpsc::UnboundedSender<Message>);

impl LinkWriter {
    /// Queues a frame for writing. Errors surface later through [`WsLink::next`].
    pub fn send(&self, frame: Outbound) {
        let _ = self.0.send(outbound(frame));
    }
}

/// A WebSocket connection with a background writer.
pub struct WsLink<S: Stream> {
    reader: SplitStream<WebSocketStream<S>>,
    writer: LinkWriter,
    write_failed: oneshot::Receiver<()>,
    write_task: JoinHandle<()>,
}

impl<S: Stream> WsLink<S> {
    /// Wraps an established WebSocket; spawns its writer on the current `LocalSet`.
    pub fn new(ws: WebSocketStream<S>) -> Self {
        let (mut sink, reader) = ws.split();
        let (writes, mut queue) = mpsc::unbounded_channel::<Message>();
        let (failed_tx, write_failed) = oneshot::channel();
        let write_task = tokio::task::spawn_local(async move {
            while let Some(msg) = queue.recv().await {
                if sink.send(msg).await.is_err() {
                    let _ = failed_tx.send(());
                    return;
                }
            }
        });
        WsLink {
            reader,
            writer: LinkWriter(writes),
            write_failed,
            write_task,
        }
    }

    /// Queues a frame for writing. Errors surface later through [`WsLink::next`].
    pub fn send(&self, frame: Outbound) {
        self.writer.send(frame);
    }

    /// A handle that queues frames on this link.
    #[must_use]
    pub fn writer(&self) -> LinkWriter {
        self.writer.clone()
    }

    /// Waits for the next frame, the end of the stream, or a failed write. Cancel-safe.
    pub async fn next(&mut self) -> LinkInput {
        loop {
            tokio::select! {
                biased;
                _ = &mut self.write_failed => return LinkInput::Error,
                frame = self.reader.next() => return match frame {
                    Some(Ok(Message::Frame(_))) => continue,
                    Some(Ok(msg)) => LinkInput::Frame(inbound(msg)),
                    Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) | None => {
                        LinkInput::Eof
                    }
                    Some(Err(WsError::Capacity(_))) => LinkInput::TooBig,
                    Some(Err(_)) => LinkInput::Error,
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

fn inbound(msg: Message) -> Inbound {
    match msg {
        Message::Text(text) => Inbound::Text(text.to_string()),
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
