//! One connection after the upgrade: attached to its session, then driven by a `biased`
//! select over its queued output, its input frames and its heartbeat deadline; when it ends,
//! its session is told (grace period) and the close handshake is given a bounded moment.

use std::future::poll_fn;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tungstenite::error::ProtocolError;
use wsim_time::{Instant, Timer};

use crate::frames::{self, Frame, Incoming, Refused};
use crate::outbox::Outbox;
use crate::state::{Request, SessionId};
use crate::Shared;

/// Close code for a connection whose claim was taken between the answer and the upgrade.
const CLAIM_TAKEN: u16 = 4001;
/// How long a closing connection waits for its close frame to go out and the peer's answer.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

type Tx = SplitSink<WebSocket, Message>;
type Rx = SplitStream<WebSocket>;

/// How a connection ended.
#[derive(Debug)]
enum End {
    /// The peer sent a close frame: an end in order; the answer is tungstenite's to flush.
    PeerClosed,
    /// The peer's stream ended (`in_order`: a TCP close, else a reset or an I/O error).
    PeerGone { in_order: bool },
    /// The server closes with this code (`read_failed`: nothing more can be read).
    Close {
        code: u16,
        reason: &'static str,
        read_failed: bool,
    },
    /// Nothing arrived within the ping timeout: the link is dropped without ceremony.
    Silent,
}

/// Serves one upgraded connection of `req` to the end.
pub(crate) async fn run(shared: Arc<Shared>, socket: WebSocket, req: Request) {
    let settings = shared.settings();
    let outbox = Arc::new(Outbox::new(
        shared.next_conn_id(),
        settings.send_queue_frames,
        crate::SEND_QUEUE_BYTES,
    ));
    let (mut tx, mut rx) = socket.split();
    let attached = shared.state().attach(&req, &outbox, Instant::now());
    if attached.is_err() {
        let taken = End::Close {
            code: CLAIM_TAKEN,
            reason: "the session was claimed meanwhile",
            read_failed: false,
        };
        return finish(taken, &mut tx, &mut rx).await;
    }
    let id = req.session();
    let end = drive(&shared, &id, &outbox, &mut tx, &mut rx).await;
    let in_order = matches!(end, End::PeerClosed | End::PeerGone { in_order: true });
    let read_mark = outbox.read_mark(in_order);
    let grace = shared
        .state()
        .detach(&id, outbox.id(), read_mark, Instant::now());
    if let Some(grace) = grace {
        shared.start_grace(grace);
    }
    finish(end, &mut tx, &mut rx).await;
}

/// The connection's loop, until it ends.
async fn drive(
    shared: &Arc<Shared>,
    id: &SessionId,
    outbox: &Outbox,
    tx: &mut Tx,
    rx: &mut Rx,
) -> End {
    let mut heartbeat = Heartbeat::new(shared, Instant::now());
    let mut timer = Timer::new();
    let mut unflushed = false;
    loop {
        if let Some((code, reason)) = outbox.closing() {
            // Replaced (4000) or too slow a reader (1013).
            let read_failed = false;
            return End::Close {
                code,
                reason,
                read_failed,
            };
        }
        let writing = outbox.has_items() || unflushed;
        timer.arm_by(heartbeat.deadline());
        tokio::select! {
            biased;
            written = poll_fn(|cx| write_some(cx, tx, outbox, &mut unflushed)), if writing => {
                if written.is_err() {
                    return End::PeerGone { in_order: false };
                }
            }
            input = rx.next() => {
                heartbeat.heard(Instant::now());
                match input {
                    Some(Ok(message)) => {
                        if let Some(end) = take(shared, id, outbox, &mut heartbeat, message) {
                            return end;
                        }
                    }
                    Some(Err(error)) => return failed(error),
                    None => return End::PeerGone { in_order: true },
                }
            }
            () = timer.fired() => {
                if heartbeat.due(outbox, Instant::now()) {
                    return End::Silent;
                }
            }
            () = outbox.changed() => {}
        }
    }
}

/// Writes what is queued, as far as the socket takes it, and flushes. A frame leaves the
/// queue only once the socket is ready for it, so cancelling this loses nothing.
fn write_some(
    cx: &mut Context<'_>,
    tx: &mut Tx,
    outbox: &Outbox,
    unflushed: &mut bool,
) -> Poll<Result<(), axum::Error>> {
    while outbox.has_items() {
        ready!(tx.poll_ready_unpin(cx))?;
        let Some(message) = outbox.pop() else { break };
        tx.start_send_unpin(message)?;
        *unflushed = true;
    }
    if *unflushed {
        ready!(tx.poll_flush_unpin(cx))?;
        *unflushed = false;
    }
    Poll::Ready(Ok(()))
}

/// Handles one input frame; `Some` when it ends the connection.
fn take(
    shared: &Shared,
    id: &SessionId,
    outbox: &Outbox,
    heartbeat: &mut Heartbeat,
    message: Message,
) -> Option<End> {
    let close = |code, reason| {
        Some(End::Close {
            code,
            reason,
            read_failed: false,
        })
    };
    match message {
        Message::Text(text) => match frames::parse(text.as_str()) {
            Ok(Incoming::ChatMessage { text, id: msg_id }) => {
                let now = Instant::now();
                shared.state().message(id, outbox.id(), &msg_id, &text, now);
            }
            Ok(Incoming::Ping) => outbox.push(Frame::Pong.encode(), None),
            Ok(Incoming::Pong) => {}
            Err(Refused::NotUnderstood(why)) => {
                let message = format!("unknown type or missing fields: {why}");
                outbox.push(Frame::Error { message: &message }.encode(), None);
            }
            Err(Refused::NotJson) => return close(1007, "not JSON"),
        },
        Message::Binary(_) => return close(1003, "binary frames are not supported"),
        Message::Ping(_) => {} // tungstenite answers it
        Message::Pong(payload) => heartbeat.pong(outbox, &payload),
        Message::Close(_) => return Some(End::PeerClosed),
    }
    None
}

/// What a read error means: bad input is answered with its close code.
fn failed(error: axum::Error) -> End {
    let error = error.into_inner();
    let close = |code, reason| End::Close {
        code,
        reason,
        read_failed: true,
    };
    match error.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Utf8(_)) => close(1007, "invalid UTF-8"),
        Some(tungstenite::Error::Capacity(_)) => close(1009, "message too big"),
        Some(tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake)) => {
            End::PeerGone { in_order: true }
        }
        Some(tungstenite::Error::Protocol(_) | tungstenite::Error::AttackAttempt) => {
            close(1002, "protocol error")
        }
        _ => End::PeerGone { in_order: false },
    }
}

/// Ends the connection's WebSocket side, within [`CLOSE_LINGER`].
async fn finish(end: End, tx: &mut Tx, rx: &mut Rx) {
    let _ = wsim_time::timeout(CLOSE_LINGER, async {
        match end {
            End::PeerClosed => {
                // Reading on flushes tungstenite's answer and sees the handshake finish.
                while let Some(Ok(_)) = rx.next().await {}
            }
            End::Close {
                code,
                reason,
                read_failed,
            } => {
                let frame = CloseFrame {
                    code,
                    reason: reason.into(),
                };
                if tx.send(Message::Close(Some(frame))).await.is_err() {
                    return;
                }
                while let Some(Ok(_)) = rx.next().await {}
                if read_failed {
                    // Unread input would make dropping the socket a reset that can destroy
                    // the close frame at the client: hold it while the close goes out.
                    std::future::pending::<()>().await;
                }
            }
            End::PeerGone { .. } | End::Silent => {}
        }
    })
    .await;
}

/// The heartbeat: a ping after `ping_interval` without hearing from the peer, the end after
/// `ping_timeout` more of silence. Any frame is a sign of life; a pong to the latest ping also
/// proves the client read everything queued before that ping.
#[derive(Debug)]
struct Heartbeat {
    interval: Option<Duration>,
    timeout: Option<Duration>,
    heard: Instant,
    pinged: Option<Instant>,
    pings: u64,
    /// The latest ping's payload and the room number its pong proves read.
    outstanding: Option<(u64, u64)>,
}

impl Heartbeat {
    fn new(shared: &Shared, now: Instant) -> Self {
        let settings = shared.settings();
        Heartbeat {
            interval: settings.ping_interval,
            timeout: settings.ping_timeout,
            heard: now,
            pinged: None,
            pings: 0,
            outstanding: None,
        }
    }

    fn deadline(&self) -> Option<Instant> {
        match self.pinged {
            Some(at) => self.timeout.map(|timeout| at + timeout),
            None => self.interval.map(|interval| self.heard + interval),
        }
    }

    fn heard(&mut self, now: Instant) {
        self.heard = now;
        self.pinged = None;
    }

    /// The timer fired (perhaps early): pings when due; `true` when the peer is silent for
    /// good.
    fn due(&mut self, outbox: &Outbox, now: Instant) -> bool {
        if self.deadline().is_none_or(|deadline| now < deadline) {
            return false;
        }
        if self.pinged.is_some() {
            return true;
        }
        self.pings += 1;
        let mark = outbox.push_ping(self.pings);
        self.outstanding = Some((self.pings, mark));
        self.pinged = Some(now);
        false
    }

    fn pong(&mut self, outbox: &Outbox, payload: &[u8]) {
        if let Some((ping, mark)) = self.outstanding {
            if payload == ping.to_be_bytes() {
                outbox.prove(mark);
                self.outstanding = None;
            }
        }
    }
}
