//! One connection, from the upgrade request to the drop: admission before the upgrade, then a
//! loop that writes what the server queued, reads the client's frames, and keeps the
//! heartbeat (ping after silence, drop when a ping goes unanswered).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use wsim_time::{sleep_until, timeout, Instant};

use crate::admit;
use crate::state::{Out, Server};
use crate::wire::{self, BadFrame, Inbound};

/// Longest time from TCP accept to a completed upgrade.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest time spent sending a close frame to a peer that may be gone.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Serves one accepted stream until its connection ends.
pub(crate) async fn run<S>(server: Rc<Server>, stream: S)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let admitted = Rc::new(RefCell::new(None));
    let callback = {
        let (server, admitted) = (Rc::clone(&server), Rc::clone(&admitted));
        #[allow(clippy::result_large_err)] // the callback's type is tungstenite's
        move |req: &Request, resp: Response| {
            let claim = admit::parse(req.uri().path(), req.uri().query())
                .and_then(|claim| server.check(&claim).map(|()| claim));
            match claim {
                Ok(claim) => {
                    *admitted.borrow_mut() = Some(claim);
                    Ok(resp)
                }
                Err(refusal) => Err(http_error(refusal.status, refusal.reason)),
            }
        }
    };
    let limit = Some(server.settings.max_message_bytes);
    let config = WebSocketConfig::default()
        .max_message_size(limit)
        .max_frame_size(limit);
    let upgrade = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config));
    let Ok(Ok(ws)) = timeout(HANDSHAKE_TIMEOUT, upgrade).await else {
        return;
    };
    let Some(claim) = admitted.borrow_mut().take() else {
        return;
    };
    let (mut sink, mut frames) = ws.split();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let queued = Rc::new(Cell::new(0usize));
    let conn = match server.attach(&claim, tx, Rc::clone(&queued)) {
        Ok(conn) => conn,
        Err(_) => {
            // Another connection took the id between our answer and the upgrade.
            let _ = timeout(CLOSE_TIMEOUT, sink.send(close(4001, "claim lost"))).await;
            return;
        }
    };

    let (interval, patience) = (server.settings.ping_interval, server.settings.ping_timeout);
    let mut last_heard = Instant::now();
    let mut ping_sent: Option<Instant> = None;
    let mut closing: Option<Message> = None;
    loop {
        let deadline = match ping_sent {
            Some(at) => patience.map(|p| at + p),
            None => interval.map(|i| last_heard + i),
        };
        tokio::select! {
            biased;
            out = rx.recv() => match out {
                Some(Out::Text(text)) => {
                    queued.set(queued.get().saturating_sub(1));
                    if sink.send(Message::text(text)).await.is_err() {
                        break;
                    }
                }
                Some(Out::Close(code, why)) => {
                    closing = Some(close(code, why));
                    break;
                }
                None => break,
            },
            frame = frames.next() => {
                last_heard = Instant::now();
                ping_sent = None;
                match frame {
                    Some(Ok(Message::Text(text))) => match wire::parse(text.as_str()) {
                        Ok(Inbound::Chat { id, text }) => server.chat(&claim.client_id, conn, id, text),
                        Ok(Inbound::Ping) => {
                            if sink.send(Message::text(wire::pong())).await.is_err() {
                                break;
                            }
                        }
                        Ok(Inbound::Pong) => {}
                        Err(BadFrame::NotJson) => {
                            closing = Some(close(1007, "not JSON"));
                            break;
                        }
                        Err(BadFrame::Unknown(what)) => {
                            if sink.send(Message::text(wire::error(&what))).await.is_err() {
                                break;
                            }
                        }
                    },
                    Some(Ok(Message::Binary(_))) => {
                        closing = Some(close(1003, "binary frames are not supported"));
                        break;
                    }
                    Some(Ok(Message::Close(_))) | None => break,
                    Some(Ok(_)) => {} // pings are answered by tungstenite; pongs are life
                    Some(Err(e)) => {
                        closing = error_close(&e);
                        break;
                    }
                }
            },
            () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                if ping_sent.is_some() {
                    break; // the peer is dead
                }
                ping_sent = Some(Instant::now());
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
        }
    }
    if let Some(epoch) = server.detach(&claim.client_id, conn) {
        let (server, client, grace) = (
            Rc::clone(&server),
            claim.client_id.clone(),
            server.settings.grace,
        );
        tokio::task::spawn_local(async move {
            wsim_time::sleep(grace).await;
            server.expire(&client, epoch);
        });
    }
    let bye = closing.unwrap_or_else(|| close(1000, ""));
    let _ = timeout(CLOSE_TIMEOUT, sink.send(bye)).await;
}

/// The close frame for a read error, per docs/protocol.md ("Bad input").
fn error_close(e: &WsError) -> Option<Message> {
    match e {
        WsError::Utf8(_) => Some(close(1007, "invalid UTF-8")),
        WsError::Capacity(_) => Some(close(1009, "too big")),
        WsError::Protocol(_) => Some(close(1002, "protocol error")),
        _ => None,
    }
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: reason.to_string().into(),
    }))
}

fn http_error(status: u16, reason: String) -> ErrorResponse {
    let mut response = http::Response::new(Some(reason));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    response
}
