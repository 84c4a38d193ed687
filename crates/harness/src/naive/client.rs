//! The seed article's `ResilientWebSocket`, as written — bugs included:
//!
//! - `_flush_buffer` shifts a message out of the buffer before its send is known to succeed,
//!   and `send` writes into whatever link is open: a message written into a dead link is lost;
//! - the retry counter is reset on `open`, so a link that dies right after opening retries at
//!   the initial delay forever instead of backing off;
//! - no keepalive: a dead link is noticed only when TCP reports it;
//! - no jitter: every client dropped at one instant retries at the same instants;
//! - message ids are numbered by the application, a per-client counter (`1`, `2`, ...): the
//!   article's client sends whatever it is given, and a counter is the naive choice (its
//!   dedup section asks for UUIDs or timestamps) — the same ids in every client;
//! - it ignores acknowledgements beyond reporting them, and never resumes history.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::RngCore;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::http::Request;
use tokio_tungstenite::tungstenite::Message;
use wsim_client::handshake::{encode_key, percent_encode, WsUrl};
use wsim_client::HostSleep;
use wsim_client::{ClientEvent, ClientIdentity, DisconnectReason, PresenceKind};
use wsim_proto::net::Connector;
use wsim_proto::protocol::{self, ClientMessage, ServerMessage};
use wsim_proto::wallclock::rfc3339;
use wsim_proto::{EventSink, HostClock, SimRng, WallSource};

use crate::sim::net::TurmoilConnector;
use crate::sim::seam::{ClientApp, ClientHost, ClientUnderTest};

/// The seed article's client. See the module documentation for its bugs.
#[derive(Debug, Clone)]
pub struct NaiveClient {
    /// `max_retries` (default 10).
    pub max_retries: u32,
    /// `initial_delay` (default 1 s).
    pub initial_delay: Duration,
    /// `max_delay` (default 60 s).
    pub max_delay: Duration,
}

impl Default for NaiveClient {
    fn default() -> Self {
        NaiveClient {
            max_retries: 10,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        }
    }
}

/// Most messages the offline buffer holds; beyond it `send` drops the message (the article's
/// buffer is unbounded).
const BUFFER: usize = 4096;

/// Most frames waiting for the link's writer: room for a whole flushed buffer, so the flush
/// itself never loses a message (a browser's `ws.send` never refuses one).
const LINK_QUEUE: usize = BUFFER + 64;

struct Shared {
    events: EventSink<ClientEvent>,
    wall: WallSource,
    /// The open link's writer, while `state === 'connected'`.
    link: RefCell<Option<mpsc::Sender<Message>>>,
    buffer: RefCell<VecDeque<(String, String)>>,
    next_id: RefCell<u64>,
}

impl Shared {
    fn encode(&self, id: &str, text: &str) -> String {
        protocol::encode(&ClientMessage::ChatMessage {
            id: Some(id.to_string()),
            text: text.to_string(),
            timestamp: Some(rfc3339(self.wall.now_unix_ms())),
        })
    }

    fn write(&self, id: String, text: &str) -> bool {
        let Some(link) = self.link.borrow().clone() else {
            return false;
        };
        // A full link queue loses the message, as a browser socket that is never drained would.
        let _ = link.try_send(Message::text(self.encode(&id, text)));
        self.events.emit(ClientEvent::MessageSent { msg_id: id });
        true
    }
}

struct Handle(Rc<Shared>);

impl ClientApp for Handle {
    fn send(&self, text: String) {
        let shared = &self.0;
        let id = {
            let mut n = shared.next_id.borrow_mut();
            *n += 1;
            n.to_string()
        };
        if shared.write(id.clone(), &text) {
            return;
        }
        let mut buffer = shared.buffer.borrow_mut();
        if buffer.len() >= BUFFER {
            return;
        }
        buffer.push_back((id.clone(), text));
        let pending = buffer.len();
        drop(buffer);
        shared.events.emit(ClientEvent::MessageBuffered {
            msg_id: id,
            pending,
        });
    }
}

impl ClientUnderTest for NaiveClient {
    fn announces_timers(&self) -> bool {
        true
    }

    fn start(&self, host: ClientHost) -> Box<dyn ClientApp> {
        let shared = Rc::new(Shared {
            events: host.events.clone(),
            wall: host.wall.clone(),
            link: RefCell::new(None),
            buffer: RefCell::new(VecDeque::new()),
            next_id: RefCell::new(0),
        });
        tokio::task::spawn_local(run(self.clone(), host, Rc::clone(&shared)));
        Box::new(Handle(shared))
    }
}

async fn run(config: NaiveClient, host: ClientHost, shared: Rc<Shared>) {
    let ClientHost {
        connector,
        url,
        identity,
        start,
        mut rng,
        sleep,
        events,
        ..
    } = host;
    let url = WsUrl::parse(&url).expect("the topology builds a valid URL");
    let clock = HostClock::start();
    clock.sleep_until(Some(clock.now() + start)).await;
    // Attempts are numbered as wsim numbers them (the link that failed is attempt 1, so the
    // n-th retry is attempt n + 1), so the backoff checker compares the article's delays with
    // the same ceilings as wsim's.
    let mut retry_count: u32 = 0;
    loop {
        sleep.until_awake().await;
        let attempt = retry_count + 1;
        events.emit(ClientEvent::Connecting { attempt });
        let reason = match open(&connector, &url, &identity, &mut rng).await {
            Some(ws) => {
                events.emit(ClientEvent::Connected { attempt });
                retry_count = 0;
                connected(ws, &shared, &sleep).await
            }
            None => DisconnectReason::ConnectFailed,
        };
        events.emit(ClientEvent::Disconnected { reason });
        if retry_count >= config.max_retries {
            events.emit(ClientEvent::GaveUp { reason });
            return;
        }
        let factor = 2u32.saturating_pow(retry_count);
        let delay = config
            .initial_delay
            .saturating_mul(factor)
            .min(config.max_delay);
        retry_count += 1;
        events.emit(ClientEvent::Reconnecting {
            attempt: retry_count + 1,
            delay,
        });
        clock.sleep_until(Some(clock.now() + delay)).await;
    }
}

type Ws = tokio_tungstenite::WebSocketStream<crate::sim::net::SimStream>;

/// `new WebSocket(url)`: connects and upgrades, with no timeout of its own.
async fn open(
    connector: &TurmoilConnector,
    url: &WsUrl,
    identity: &ClientIdentity,
    rng: &mut SimRng,
) -> Option<Ws> {
    let stream = connector.connect(&url.authority).await.ok()?;
    let mut nonce = [0u8; 16];
    rng.fill_bytes(&mut nonce);
    let request = Request::builder()
        .method("GET")
        .uri(format!(
            "ws://{}{}?room={}&username={}&client_id={}",
            url.authority,
            url.path,
            percent_encode(&identity.room),
            percent_encode(&identity.username),
            percent_encode(&identity.client_id)
        ))
        .header("Host", &url.authority)
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", encode_key(&nonce))
        .body(())
        .ok()?;
    let (ws, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .ok()?;
    Some(ws)
}

/// `onopen` until `onclose`: flushes the buffer, then relays frames both ways.
async fn connected(ws: Ws, shared: &Rc<Shared>, sleep: &Rc<HostSleep>) -> DisconnectReason {
    let (mut write, mut read) = ws.split();
    let (tx, mut rx) = mpsc::channel(LINK_QUEUE);
    *shared.link.borrow_mut() = Some(tx);
    // `_flush_buffer`: each message leaves the buffer before it is known to arrive.
    loop {
        let next = shared.buffer.borrow_mut().pop_front();
        let Some((id, text)) = next else { break };
        shared.write(id, &text);
    }
    let reason = loop {
        tokio::select! {
            biased;
            () = sleep.until_asleep() => sleep.until_awake().await,
            out = rx.recv() => {
                let Some(out) = out else { break DisconnectReason::ClientClosed };
                if write.send(out).await.is_err() {
                    break DisconnectReason::Reset;
                }
            }
            inbound = read.next() => match inbound {
                Some(Ok(Message::Text(text))) => deliver(&shared.events, &text),
                Some(Ok(Message::Close(_))) | None => break DisconnectReason::ClosedByPeer,
                Some(Ok(_)) => {}
                Some(Err(_)) => break DisconnectReason::Reset,
            },
        }
    };
    *shared.link.borrow_mut() = None;
    reason
}

/// `onmessage`: hands the application what the server sent.
fn deliver(events: &EventSink<ClientEvent>, text: &str) {
    let Ok(msg) = protocol::decode::<ServerMessage>(text) else {
        return;
    };
    let event = match msg {
        ServerMessage::Ack { id, seq } => ClientEvent::MessageAcked { msg_id: id, seq },
        ServerMessage::ChatMessage {
            id,
            from,
            username,
            text,
            seq,
        } => ClientEvent::Message {
            msg_id: id,
            seq,
            from,
            username,
            text,
        },
        ServerMessage::UserJoined { username } => presence(PresenceKind::Joined, username),
        ServerMessage::UserAway { username } => presence(PresenceKind::Away, username),
        ServerMessage::UserReconnected { username } => {
            presence(PresenceKind::Reconnected, username)
        }
        ServerMessage::UserLeft { username } => presence(PresenceKind::Left, username),
        ServerMessage::Welcome { .. }
        | ServerMessage::Ping
        | ServerMessage::Pong
        | ServerMessage::Error { .. } => return,
    };
    events.emit(event);
}

fn presence(kind: PresenceKind, username: String) -> ClientEvent {
    ClientEvent::Presence { kind, username }
}
