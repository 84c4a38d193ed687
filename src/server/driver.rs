//! The thin tokio driver of a [`ServerMachine`]: accepts connections from any [`Listener`],
//! performs the WebSocket handshake (refusing bad join requests with HTTP 400), runs one reader
//! task per connection that forwards frames to the machine, and writes what the machine says.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::clock::HostClock;
use crate::event::EventKind;
use crate::net::{Listener, Stream};
use crate::server::join::JoinRequest;
use crate::server::machine::{ConnEnd, ConnId, ServerMachine};
use crate::timeline::EventSink;
use crate::wallclock::WallSource;
use crate::wslink::{LinkInput, LinkWriter, WsLink};

/// How long a connection being dropped keeps its writer, so a queued close frame gets out.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Messages from connection tasks to the main loop.
enum ConnMsg {
    Open(ConnId, JoinRequest, LinkWriter),
    Input(ConnId, LinkInput),
}

struct ConnHandle {
    writer: LinkWriter,
    task: JoinHandle<()>,
}

/// Serves WebSocket clients from `listener` until the listener fails; `wall` is the host's
/// wall clock (only a planted bug ever reads it).
pub async fn serve<L: Listener>(
    mut listener: L,
    mut machine: ServerMachine,
    wall: WallSource,
    sink: EventSink,
) {
    let clock = HostClock::start();
    // The machine's `now`, with the wall clock's reading at the same instant.
    let tick = |machine: &mut ServerMachine| {
        let now = clock.now();
        machine.observe_wall_clock(now, wall.now_unix_ms());
        now
    };
    sink.emit(EventKind::ServerStarted {
        listen: listener.local_label(),
    });
    let (inbox_tx, mut inbox) = mpsc::unbounded_channel::<ConnMsg>();
    let mut conns: BTreeMap<ConnId, ConnHandle> = BTreeMap::new();
    let mut pending: BTreeMap<ConnId, JoinHandle<()>> = BTreeMap::new();
    let mut next_conn: ConnId = 0;
    loop {
        drain(&mut machine, &mut conns, &sink);
        let deadline = machine.poll_timeout();
        tokio::select! {
            biased;
            msg = inbox.recv() => {
                let Some(msg) = msg else { return };
                let now = tick(&mut machine);
                match msg {
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
                        LinkInput::TooBig => machine.handle_end(now, id, ConnEnd::TooBig),
                    },
                }
            }
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else { continue };
                next_conn += 1;
                let id = next_conn;
                let task = tokio::task::spawn_local(connection(
                    id,
                    stream,
                    machine.config().handshake_timeout,
                    machine.config().max_message_bytes,
                    inbox_tx.clone(),
                ));
                pending.retain(|_, t| !t.is_finished());
                pending.insert(id, task);
            }
            () = clock.sleep_until(deadline) => {
                let now = tick(&mut machine);
                machine.handle_timeout(now);
            }
        }
    }
}

fn drain(machine: &mut ServerMachine, conns: &mut BTreeMap<ConnId, ConnHandle>, sink: &EventSink) {
    while let Some((id, frame)) = machine.poll_transmit() {
        if let Some(conn) = conns.get(&id) {
            conn.writer.send(frame);
        }
    }
    while let Some(id) = machine.poll_drop() {
        if let Some(conn) = conns.remove(&id) {
            tokio::task::spawn_local(async move {
                tokio::time::sleep(CLOSE_GRACE).await;
                conn.task.abort();
            });
        }
    }
    while let Some(event) = machine.poll_event() {
        sink.emit(event);
    }
}

/// One connection: handshake, then forward everything read to the main loop.
async fn connection<S: Stream>(
    id: ConnId,
    stream: S,
    handshake_timeout: Duration,
    max_message_bytes: usize,
    inbox: mpsc::UnboundedSender<ConnMsg>,
) {
    let mut join = None;
    // The callback's signature is tungstenite's; its error type is not ours to shrink.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        match JoinRequest::from_query(request.uri().query()) {
            Ok(j) => {
                join = Some(j);
                Ok(response)
            }
            Err(e) => {
                let mut refusal = ErrorResponse::new(Some(format!("{e}\n")));
                *refusal.status_mut() = StatusCode::BAD_REQUEST;
                Err(refusal)
            }
        }
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(max_message_bytes))
        .max_frame_size(Some(max_message_bytes));
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config));
    let Ok(Ok(ws)) = tokio::time::timeout(handshake_timeout, handshake).await else {
        return;
    };
    let Some(join) = join else { return };
    let mut link = WsLink::new(ws);
    if inbox.send(ConnMsg::Open(id, join, link.writer())).is_err() {
        return;
    }
    loop {
        let input = link.next().await;
        let ended = matches!(input, LinkInput::Eof | LinkInput::Error);
        let too_big = input == LinkInput::TooBig;
        if inbox.send(ConnMsg::Input(id, input)).is_err() || ended {
            // Dropping the link closes the TCP connection at once.
            return;
        }
        if too_big {
            // Nothing more can be read; keep the writer alive until the main loop drops this
            // task, so the 1009 close frame it queues still goes out.
            std::future::pending::<()>().await;
        }
    }
}
