//! The floor's server and proxy: the server greets each connection, announces it to the other
//! members of its room (and its end, unless the server itself went down), acknowledges every
//! text frame and writes it to every other member; the proxy copies bytes both ways. No
//! session, history, de-duplication or heartbeat.

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{http, Message, Utf8Bytes};
use wsim_proto::wslink::ws_config;

use super::CHAT_FRAME;
use wsim::sim::topology::{PROXY_PORT, SERVER_PORT};

/// The acknowledgement a sender gets.
const ACK_FRAME: &str = r#"{"type":"ack","id":"u-42:118","seq":12345}"#;

/// The greeting a connection gets first, as long as wsim's server's.
const WELCOME_FRAME: &str = r#"{"type":"welcome","client_id":"u-42","username":"u-42","room":"lobby","resume_secret":"5f0c2a9e1b7d4c3a8e6f0b2d4a6c8e1f","recovered":false,"replayed":0,"last_seq":12345,"epoch":"3f9a1c7e"}"#;

/// A member's arrival, as the room's other members read it.
const JOINED_FRAME: &str = r#"{"type":"user_joined","username":"u-42"}"#;

/// A member's departure.
const AWAY_FRAME: &str = r#"{"type":"user_away","username":"u-42"}"#;

/// The members of every room: each connection's room and its writer.
type Rooms = Rc<RefCell<Vec<(String, u64, mpsc::Sender<Message>)>>>;

/// Frames queued for one connection's writer at most; beyond it a frame is not queued (and is
/// missing from the frames read, which a floor run reports).
const MEMBER_QUEUE: usize = 4096;

/// Accepts WebSocket connections (see the module documentation); the room is the request's
/// `room` parameter.
pub(super) async fn server() {
    let Ok(listener) = turmoil::net::TcpListener::bind(("0.0.0.0", SERVER_PORT)).await else {
        return;
    };
    let rooms: Rooms = Rc::default();
    let mut next = 0u64;
    while let Ok((stream, _)) = listener.accept().await {
        next += 1;
        tokio::task::spawn_local(member(stream, next, Rc::clone(&rooms)));
    }
}

/// Writes `frame` to every member of `room` but `id`.
fn broadcast(rooms: &Rooms, room: &str, id: u64, frame: &Message) {
    for (r, other, member) in rooms.borrow().iter() {
        if *other != id && r == room {
            let _ = member.try_send(frame.clone());
        }
    }
}

/// One server connection: a writer task draining its queue, and the reader broadcasting.
async fn member(stream: turmoil::net::TcpStream, id: u64, rooms: Rooms) {
    let room = Rc::new(RefCell::new(String::new()));
    let seen = Rc::clone(&room);
    // tungstenite's callback type returns its (large) error response by value.
    #[allow(clippy::result_large_err)]
    let callback = move |req: &http::Request<()>, resp| {
        let query = req.uri().query().unwrap_or_default();
        if let Some(r) = query.split('&').find_map(|kv| kv.strip_prefix("room=")) {
            *seen.borrow_mut() = r.to_string();
        }
        Ok(resp)
    };
    let Ok(ws) =
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(ws_config(None)))
            .await
    else {
        return;
    };
    let room = room.borrow().clone();
    let (mut sink, mut reader) = ws.split();
    let (tx, mut rx) = mpsc::channel::<Message>(MEMBER_QUEUE);
    let _ = tx.try_send(Message::Text(Utf8Bytes::from_static(WELCOME_FRAME)));
    broadcast(
        &rooms,
        &room,
        id,
        &Message::Text(Utf8Bytes::from_static(JOINED_FRAME)),
    );
    rooms.borrow_mut().push((room.clone(), id, tx.clone()));
    tokio::task::spawn_local(async move {
        while let Some(first) = rx.recv().await {
            if sink.feed(first).await.is_err() {
                return;
            }
            while let Ok(more) = rx.try_recv() {
                if sink.feed(more).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    let ack = Message::Text(Utf8Bytes::from_static(ACK_FRAME));
    let chat = Message::Text(Utf8Bytes::from_static(CHAT_FRAME));
    while let Some(Ok(msg)) = reader.next().await {
        if !msg.is_text() {
            continue;
        }
        let _ = tx.try_send(ack.clone());
        broadcast(&rooms, &room, id, &chat);
    }
    rooms.borrow_mut().retain(|(_, other, _)| *other != id);
    broadcast(
        &rooms,
        &room,
        id,
        &Message::Text(Utf8Bytes::from_static(AWAY_FRAME)),
    );
}

/// Relays every accepted connection to the server, bytes both ways.
pub(super) async fn proxy() {
    let Ok(listener) = turmoil::net::TcpListener::bind(("0.0.0.0", PROXY_PORT)).await else {
        return;
    };
    while let Ok((mut downstream, _)) = listener.accept().await {
        tokio::task::spawn_local(async move {
            let Ok(mut upstream) = turmoil::net::TcpStream::connect(("server", SERVER_PORT)).await
            else {
                return;
            };
            let _ = tokio::io::copy_bidirectional(&mut downstream, &mut upstream).await;
        });
    }
}
