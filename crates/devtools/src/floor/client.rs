//! The floor's client: connects through the proxy, sends a chat-sized frame every period and
//! reads every frame; when its connection ends it reconnects with the scenario's backoff and
//! sends the messages that fell due meanwhile — the reconnect wave a crash puts on the wire,
//! with none of the protocol (no ids, no resume, no de-duplication, no keepalive).

use std::rc::Rc;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{http, Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;
use wsim_client::BackoffConfig;
use wsim_proto::clock::timer;
use wsim_proto::wslink::ws_config;
use wsim_proto::{HostClock, MonoTime, SimRng};

use super::{Tally, CHAT_FRAME};
use wsim::sim::topology::PROXY_PORT;

type Ws = WebSocketStream<turmoil::net::TcpStream>;

/// How one floor client behaves (what the scenario gives its clients).
#[derive(Debug, Clone)]
pub(super) struct FloorClient {
    /// Its room (the request's `room` parameter).
    pub(super) room: String,
    /// When it first connects.
    pub(super) start: Duration,
    /// Its message period, if it sends.
    pub(super) every: Option<Duration>,
    /// Its reconnect delays.
    pub(super) backoff: BackoffConfig,
    /// How long a connection must have lived for the next failure to count as the first.
    pub(super) min_uptime: Duration,
    /// Longest a connection attempt (TCP and upgrade) may take.
    pub(super) connect_timeout: Duration,
}

impl FloorClient {
    /// Runs the client until the simulation ends, counting its connections and the frames it
    /// reads in `tally`.
    pub(super) async fn run(self, mut rng: SimRng, tally: Rc<Tally>) {
        timer::sleep(self.start).await;
        let clock = HostClock::start();
        let mut sends = Sends {
            next: self.every.map(|e| clock.now() + e),
            every: self.every,
            owed: 0,
        };
        let mut failures = 0u32;
        loop {
            if let Some(ws) = self.connect().await {
                tally.connections.set(tally.connections.get() + 1);
                let since = clock.now();
                let (mut sink, reader) = ws.split();
                if sends.pay(&mut sink, &tally).await.is_ok() {
                    sends.live(&clock, &mut sink, reader, &tally).await;
                }
                if clock.now().saturating_since(since) >= self.min_uptime {
                    failures = 0;
                }
            }
            // Waiting out the backoff, the messages that fall due are owed to the next link.
            let retry = clock.now() + self.backoff.delay(failures, &mut rng);
            failures = failures.saturating_add(1);
            sends.owe_until(&clock, retry).await;
        }
    }

    /// One attempt: TCP to the proxy and the WebSocket upgrade, within the connect timeout.
    async fn connect(&self) -> Option<Ws> {
        let attempt = async {
            let stream = turmoil::net::TcpStream::connect(("proxy", PROXY_PORT))
                .await
                .ok()?;
            let request = http::Request::builder()
                .uri(format!("ws://proxy:{PROXY_PORT}/ws?room={}", self.room))
                .header("Host", format!("proxy:{PROXY_PORT}"))
                .header("Connection", "Upgrade")
                .header("Upgrade", "websocket")
                .header("Sec-WebSocket-Version", "13")
                .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
                .body(())
                .ok()?;
            let (ws, _) =
                tokio_tungstenite::client_async_with_config(request, stream, Some(ws_config(None)))
                    .await
                    .ok()?;
            Some(ws)
        };
        timer::timeout(self.connect_timeout, attempt)
            .await
            .ok()
            .flatten()
    }
}

/// The client's message schedule: when the next is due, and how many fell due while it had no
/// link (sent as soon as it has one, as an offline buffer would).
struct Sends {
    next: Option<MonoTime>,
    every: Option<Duration>,
    owed: u64,
}

impl Sends {
    fn advance(&mut self) {
        self.next = self.next.zip(self.every).map(|(at, e)| at + e);
    }

    /// Writes every owed message (all of them again if the link fails before they are out).
    async fn pay(&mut self, sink: &mut SplitSink<Ws, Message>, tally: &Tally) -> Result<(), ()> {
        let chat = Message::Text(Utf8Bytes::from_static(CHAT_FRAME));
        let owed = self.owed;
        for _ in 0..owed {
            sink.feed(chat.clone()).await.map_err(drop)?;
        }
        sink.flush().await.map_err(drop)?;
        self.owed = 0;
        tally.sent.set(tally.sent.get() + owed);
        Ok(())
    }

    /// Reads every frame and sends on schedule until the connection ends.
    async fn live(
        &mut self,
        clock: &HostClock,
        sink: &mut SplitSink<Ws, Message>,
        mut reader: SplitStream<Ws>,
        tally: &Tally,
    ) {
        let chat = Message::Text(Utf8Bytes::from_static(CHAT_FRAME));
        let mut timer = timer::Timer::new();
        loop {
            clock.arm(&mut timer, self.next);
            tokio::select! {
                biased;
                msg = reader.next() => match msg {
                    Some(Ok(_)) => tally.frames.set(tally.frames.get() + 1),
                    _ => return,
                },
                () = timer.fired() => {
                    self.advance();
                    if sink.send(chat.clone()).await.is_err() {
                        // Lost with the link: the real client would re-send it too.
                        self.owed += 1;
                        return;
                    }
                    tally.sent.set(tally.sent.get() + 1);
                }
            }
        }
    }

    /// Waits until `until`, owing every message that falls due meanwhile.
    async fn owe_until(&mut self, clock: &HostClock, until: MonoTime) {
        while let Some(due) = self.next.filter(|due| *due <= until) {
            clock.sleep_until(Some(due)).await;
            self.owed += 1;
            self.advance();
        }
        clock.sleep_until(Some(until)).await;
    }
}
