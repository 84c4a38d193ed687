//! The thin tokio driver of a [`ServerMachine`]: accepts connections from any [`Listener`],
//! reads the upgrade request ([`upgrade`](crate::upgrade): bad requests and claims
//! the machine will not honour get an HTTP error, never a 101), runs one reader task per
//! connection that forwards frames to the machine, and writes what the machine says through
//! each connection's bounded queue.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

use crate::clock::HostClock;
use crate::event::ServerEvent;
use crate::join::JoinRequest;
use crate::machine::{ClaimRefusal, ConnEnd, ConnId, ServerMachine};
use crate::net::{Listener, Stream};
use crate::upgrade::{self, HttpRefusal, Upgrade};
use crate::wslink::{self, LinkInput, LinkWriter, SendQueueLimit, WsLink};
use wsim_proto::EventSink;

/// Most messages waiting for the main loop; a connection task with more to say waits, which
/// stops it reading its socket: backpressure to the clients, never an unbounded backlog.
const INBOX: usize = 1024;

/// How long a connection being dropped keeps its writer, so a queued close frame gets out.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Messages from connection tasks to the main loop.
enum ConnMsg {
    /// A valid upgrade request: may it open or resume a session?
    Claim(JoinRequest, oneshot::Sender<Result<(), ClaimRefusal>>),
    /// The upgrade completed.
    Open(ConnId, JoinRequest, LinkWriter),
    Input(ConnId, LinkInput),
    /// The request was answered with an HTTP error before any claim.
    Refused(HttpRefusal),
}

/// What every connection task needs to know of the server's settings.
#[derive(Debug, Clone)]
struct ConnSettings {
    handshake_timeout: Duration,
    max_message_bytes: usize,
    path: String,
    send_queue: SendQueueLimit,
}

struct ConnHandle {
    writer: LinkWriter,
    task: JoinHandle<()>,
}

/// Serves WebSocket clients from `listener` until the listener fails; `sink` receives the
/// server's events.
pub async fn serve<L: Listener>(
    mut listener: L,
    mut machine: ServerMachine,
    sink: EventSink<ServerEvent>,
) {
    let clock = HostClock::start();

    sink.emit(ServerEvent::ServerStarted {
        listen: listener.local_label(),
    });
    let (inbox_tx, mut inbox) = mpsc::channel::<ConnMsg>(INBOX);
    let mut conns: BTreeMap<ConnId, ConnHandle> = BTreeMap::new();
    let mut pending: BTreeMap<ConnId, JoinHandle<()>> = BTreeMap::new();
    let mut next_conn: ConnId = 0;
    let settings = ConnSettings {
        handshake_timeout: machine.config().handshake_timeout,
        max_message_bytes: machine.config().max_message_bytes,
        path: machine.config().path.clone(),
        send_queue: machine.config().send_queue,
    };
    let mut timer = wsim_proto::clock::timer::Timer::new();
    loop {
        // A connection whose queue overflowed is closed by the machine, which queues more.
        loop {
            let overflowed = drain(&mut machine, &mut conns, &sink);
            if overflowed.is_empty() {
                break;
            }
            let now = clock.now();
            for id in overflowed {
                machine.handle_end(now, id, ConnEnd::SendQueueFull);
            }
        }
        clock.arm(&mut timer, machine.poll_timeout());
        tokio::select! {
            biased;
            msg = inbox.recv() => {
                let Some(msg) = msg else { return };
                let now = clock.now();
                match msg {
                    ConnMsg::Claim(join, answer) => {
                        let _ = answer.send(machine.handle_claim(now, &join));
                    }
                    ConnMsg::Refused(refusal) => sink.emit(ServerEvent::HandshakeRefused {
                        status: refusal.status,
                        reason: refusal.reason,
                    }),
                    ConnMsg::Open(id, join, writer) => {
                        if let Some(task) = pending.remove(&id) {
                            conns.insert(id, ConnHandle { writer, task });
                            machine.handle_open(now, id, join);
                        }
                    }
                    ConnMsg::Input(id, input) => match input {
                        LinkInput::Frame(frame) => machine.handle_inbound(now, id, frame),
                        LinkInput::Eof => machine.handle_end(now, id, ConnEnd::Closed),
                        LinkInput::Error => machine.handle_end(now, id, ConnEnd::Reset),
                        LinkInput::Violation { code, reason } => {
                            machine.handle_end(now, id, ConnEnd::Violation { code, reason });
                        }
                    },
                }
            }
            (stream, _peer) = wsim_proto::net::accept_next(&mut listener) => {
                next_conn += 1;
                let id = next_conn;
                let task = tokio::task::spawn_local(connection(
                    id,
                    stream,
                    settings.clone(),
                    inbox_tx.clone(),
                ));
                pending.retain(|_, t| !t.is_finished());
                pending.insert(id, task);
            }
            () = timer.fired() => {
                let now = clock.now();
                machine.handle_timeout(now);
            }
        }
    }
}

/// Writes what the machine queued, drops what it dropped, emits its events; returns the
/// connections whose outgoing queue refused a frame.
fn drain(
    machine: &mut ServerMachine,
    conns: &mut BTreeMap<ConnId, ConnHandle>,
    sink: &EventSink<ServerEvent>,
) -> Vec<ConnId> {
    let mut overflowed = Vec::new();
    while let Some((id, frame)) = machine.poll_transmit() {
        if let Some(conn) = conns.get(&id) {
            if conn.writer.send(frame).is_err() && !overflowed.contains(&id) {
                overflowed.push(id);
            }
        }
    }
    while let Some(id) = machine.poll_drop() {
        overflowed.retain(|o| *o != id);
        if let Some(conn) = conns.remove(&id) {
            tokio::task::spawn_local(async move {
                crate::clock::timer::sleep(CLOSE_GRACE).await;
                conn.task.abort();
            });
        }
    }
    while let Some(event) = machine.poll_event() {
        sink.emit(event);
    }
    overflowed
}

/// Why a connection's opening handshake ended without an upgrade.
enum NoUpgrade {
    /// Answer with this HTTP error.
    Refuse(HttpRefusal),
    /// The client went away, or took too long: nothing to answer.
    Gone,
}

/// Reads the request head, has the machine judge the claim, answers 101 (or the refusal);
/// returns the upgrade and the bytes that followed the head (the client's first frames).
async fn handshake<S: Stream>(
    stream: &mut S,
    path: &str,
    inbox: &mpsc::Sender<ConnMsg>,
) -> Result<(Upgrade, Vec<u8>), NoUpgrade> {
    let mut buf = Vec::with_capacity(1024);
    let up = loop {
        let mut chunk = [0u8; 1024];
        let n = stream.read(&mut chunk).await.map_err(|_| NoUpgrade::Gone)?;
        if n == 0 {
            return Err(NoUpgrade::Gone);
        }
        buf.extend_from_slice(&chunk[..n]);
        match upgrade::parse(&buf, path) {
            Ok(Some(up)) => break up,
            Ok(None) => {}
            Err(refusal) => {
                let _ = inbox.send(ConnMsg::Refused(refusal.clone())).await;
                return Err(NoUpgrade::Refuse(refusal));
            }
        }
    };
    let (answer_tx, answer) = oneshot::channel();
    if inbox
        .send(ConnMsg::Claim(up.join.clone(), answer_tx))
        .await
        .is_err()
    {
        return Err(NoUpgrade::Gone);
    }
    match answer.await {
        Ok(Ok(())) => {}
        Ok(Err(refusal)) => {
            return Err(NoUpgrade::Refuse(HttpRefusal {
                status: refusal.status(),
                reason: refusal.to_string(),
            }));
        }
        Err(_) => return Err(NoUpgrade::Gone),
    }
    stream
        .write_all(&upgrade::switching_protocols(&up.key))
        .await
        .map_err(|_| NoUpgrade::Gone)?;
    let rest = buf.split_off(up.head_len);
    Ok((up, rest))
}

/// Sends an HTTP refusal and closes the stream gently: what the client sent meanwhile is read
/// and discarded (for at most a second), so the close is a FIN, not a reset that could
/// destroy the answer before the client reads it.
async fn refuse<S: Stream>(mut stream: S, refusal: &HttpRefusal) {
    if stream.write_all(&refusal.response()).await.is_err() {
        return;
    }
    let _ = stream.shutdown().await;
    let _ = crate::clock::timer::timeout(Duration::from_secs(1), async {
        let mut sink = [0u8; 1024];
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// One connection: handshake, then forward everything read to the main loop.
async fn connection<S: Stream>(
    id: ConnId,
    mut stream: S,
    settings: ConnSettings,
    inbox: mpsc::Sender<ConnMsg>,
) {
    let shaken = crate::clock::timer::timeout(
        settings.handshake_timeout,
        handshake(&mut stream, &settings.path, &inbox),
    )
    .await;
    let (up, rest) = match shaken {
        Ok(Ok(done)) => done,
        Ok(Err(NoUpgrade::Refuse(refusal))) => return refuse(stream, &refusal).await,
        Ok(Err(NoUpgrade::Gone)) | Err(_) => return,
    };
    let config = wslink::ws_config(Some(settings.max_message_bytes));
    let ws = WebSocketStream::from_partially_read(stream, rest, Role::Server, Some(config)).await;
    let mut link = WsLink::new(ws, settings.send_queue);
    if inbox
        .send(ConnMsg::Open(id, up.join, link.writer()))
        .await
        .is_err()
    {
        return;
    }
    loop {
        let input = link.next().await;
        let ended = matches!(input, LinkInput::Eof | LinkInput::Error);
        let violated = matches!(input, LinkInput::Violation { .. });
        if inbox.send(ConnMsg::Input(id, input)).await.is_err() || ended {
            // Dropping the link closes the TCP connection at once.
            return;
        }
        if violated {
            // Nothing more can be read; keep the writer alive until the main loop drops this
            // task, so the close frame it queues still goes out.
            std::future::pending::<()>().await;
        }
    }
}
