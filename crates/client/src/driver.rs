//! The thin tokio driver of a [`ClientMachine`] and the application's handle on it,
//! [`Client`]: the driver turns the machine's actions into connection attempts over any
//! [`Connector`], feeds it frames and timeouts, writes its frames, hands its events to the
//! embedding program's sink and passes them to the application.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;

use crate::app_events::AppEvents;
use crate::clock::{HostClock, MonoTime};
use crate::config::{ClientConfig, ClientIdentity};
use crate::event::ClientEvent;
use crate::frame::Outbound;
use crate::handshake::{self, UrlError, WsUrl};
use crate::machine::{Action, ClientMachine, LinkEnd, MessageId, SendError, SessionClaim};
use crate::net::{Connector, LocalBoxFuture, TokioConnector};
use crate::nudge::Nudge;
use crate::sleep::HostSleep;
use crate::wallclock::{rfc3339, WallSource};
use crate::wslink::{self, LinkInput, SendQueueLimit, WsLink};
use wsim_proto::EventSink;

/// State shared by the driver and the application's handle (same thread, never across an
/// `.await`).
struct Shared {
    machine: RefCell<ClientMachine>,
    wake: Nudge,
    clock: HostClock,
    wall: WallSource,
}

/// Where a spawned client's events go and which wall clock stamps its messages.
pub struct ClientIo {
    /// Where every event goes as it happens (a log, a simulator's timeline), if anywhere.
    pub sink: Option<EventSink<ClientEvent>>,
    /// Whether [`Client::next_event`] receives events (they queue until read).
    pub app_events: bool,
    /// The wall clock for message timestamps.
    pub wall: WallSource,
    /// The host's sleep switch, in simulation (a frozen client does nothing until it wakes).
    pub sleep: Option<Rc<HostSleep>>,
}

/// The application's handle on a running client. Dropping it closes the client.
pub struct Client {
    shared: Rc<Shared>,
    events: Option<mpsc::Receiver<ClientEvent>>,
}

impl Client {
    /// Connects to `url` over real TCP as `identity`, with application events on: a
    /// `ws://host:port/path` URL, or (feature `tls`) a `wss://` one verified against the
    /// system's root certificates (for a CA file of your own, [`Client::spawn`] with a
    /// `tls::TlsConnector` from `tls::client_config`). Must be called inside a
    /// `tokio::task::LocalSet` on a current-thread runtime.
    pub fn connect(
        url: &str,
        identity: ClientIdentity,
        config: ClientConfig,
    ) -> Result<Client, UrlError> {
        let parsed = WsUrl::parse(url)?;
        let machine = ClientMachine::new(
            config,
            identity,
            crate::seed::os_rng(),
            MonoTime::ZERO,
            Duration::ZERO,
        );
        let io = ClientIo {
            sink: None,
            app_events: true,
            wall: WallSource::Real,
            sleep: None,
        };
        if !parsed.tls {
            return Ok(Client::spawn(machine, TokioConnector, parsed, io));
        }
        #[cfg(feature = "tls")]
        {
            let tls = |e: crate::tls::TlsError| UrlError::Tls(format!("{url}: {e}"));
            let roots = crate::tls::client_config(None).map_err(tls)?;
            let connector =
                crate::tls::TlsConnector::new(TokioConnector, roots, parsed.host()).map_err(tls)?;
            Ok(Client::spawn(machine, connector, parsed, io))
        }
        #[cfg(not(feature = "tls"))]
        {
            drop((machine, io));
            Err(UrlError::NeedsTls(url.to_string()))
        }
    }

    /// Starts `machine` on the current `LocalSet`, connecting to `url` through `connector`;
    /// `io` says where its events go.
    pub fn spawn<C: Connector>(
        machine: ClientMachine,
        connector: C,
        url: WsUrl,
        io: ClientIo,
    ) -> Client {
        let ClientIo {
            sink,
            app_events,
            wall,
            sleep,
        } = io;
        let shared = Rc::new(Shared {
            machine: RefCell::new(machine),
            wake: Nudge::default(),
            clock: HostClock::start(),
            wall,
        });
        let (tx, rx) = if app_events {
            let (tx, rx) = AppEvents::channel(APP_EVENTS);
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let driver = Driver {
            shared: Rc::clone(&shared),
            connector,
            url,
            sink,
            app: tx,
            sleep,
            overflowed: std::cell::Cell::new(false),
        };
        tokio::task::spawn_local(driver.run());
        Client { shared, events: rx }
    }

    /// Sends `text`: written at once when connected, buffered otherwise; it stays pending until
    /// the server acknowledges it. Never blocks.
    pub fn send(&self, text: impl Into<String>) -> Result<MessageId, SendError> {
        let now = self.shared.clock.now();
        let stamp = rfc3339(self.shared.wall.now_unix_ms());
        let id = self
            .shared
            .machine
            .borrow_mut()
            .send(now, text.into(), Some(stamp))?;
        self.shared.wake.nudge();
        Ok(id)
    }

    /// Messages waiting for an acknowledgement.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.shared.machine.borrow().pending()
    }

    /// The ids of the messages waiting for an acknowledgement, oldest first.
    #[must_use]
    pub fn pending_ids(&self) -> Vec<MessageId> {
        self.shared.machine.borrow().pending_ids()
    }

    /// Whether the server has welcomed this client into a session.
    #[must_use]
    pub fn has_session(&self) -> bool {
        self.shared.machine.borrow().has_session()
    }

    /// Whether the link is up.
    #[must_use]
    pub fn is_connected(&self) -> bool {
        self.shared.machine.borrow().is_connected()
    }

    /// The next event, or `None` once the client is closed and every event was read (or
    /// the client was started without application events).
    pub async fn next_event(&mut self) -> Option<ClientEvent> {
        self.events.as_mut()?.recv().await
    }

    /// Closes the client: the link is closed and no reconnect follows.
    pub fn close(&self) {
        let now = self.shared.clock.now();
        self.shared.machine.borrow_mut().close(now);
        self.shared.wake.nudge();
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.close();
    }
}

/// Most events waiting for the application to read them ([`Client::next_event`]); beyond it
/// events are dropped and counted ([`ClientEvent::EventsDropped`]).
const APP_EVENTS: usize = 4096;

struct Driver<C: Connector> {
    shared: Rc<Shared>,
    connector: C,
    url: WsUrl,
    sink: Option<EventSink<ClientEvent>>,
    app: Option<AppEvents>,
    sleep: Option<Rc<HostSleep>>,
    /// Set when the current link's queue refused a frame.
    overflowed: std::cell::Cell<bool>,
}

type Handshake<S> = LocalBoxFuture<Result<WebSocketStream<S>, AttemptFailed>>;

/// Why a connection attempt failed.
enum AttemptFailed {
    /// The server answered the upgrade with this HTTP status.
    Refused(u16),
    /// Anything else: the connect, the transport, a malformed answer.
    Other,
}

impl<C: Connector> Driver<C> {
    async fn run(self) {
        let clock = self.shared.clock;
        let mut link: Option<WsLink<C::Stream>> = None;
        let mut attempt: Option<Handshake<C::Stream>> = None;
        let mut timer = wsim_proto::clock::timer::Timer::new();
        // The sleep wait lives across iterations: it keeps its one waiter slot (re-registering
        // on every frame cost more than the frame's own handling).
        let mut asleep = std::pin::pin!(until_asleep(self.sleep.as_deref()));
        loop {
            self.drain(&mut link, &mut attempt);
            let (finished, deadline) = {
                let m = self.shared.machine.borrow();
                (m.is_finished(), m.poll_timeout())
            };
            if finished {
                return;
            }
            clock.arm(&mut timer, deadline);
            tokio::select! {
                biased;
                () = &mut asleep => {
                    // Frozen: no frame read, no timer run, until the host wakes.
                    if let Some(sleep) = &self.sleep {
                        sleep.until_awake().await;
                    }
                    asleep.set(until_asleep(self.sleep.as_deref()));
                }
                result = async { attempt.as_mut().expect("guarded").await }, if attempt.is_some() => {
                    attempt = None;
                    let mut m = self.shared.machine.borrow_mut();
                    match result {
                        Ok(ws) => {
                            link = Some(WsLink::new(ws, SendQueueLimit::default()));
                            m.handle_connected(clock.now());
                        }
                        Err(AttemptFailed::Refused(status)) => {
                            m.handle_upgrade_refused(clock.now(), status);
                        }
                        Err(AttemptFailed::Other) => m.handle_connect_failed(clock.now()),
                    }
                }
                input = async { link.as_mut().expect("guarded").next().await }, if link.is_some() => {
                    let now = clock.now();
                    let mut m = self.shared.machine.borrow_mut();
                    match input {
                        LinkInput::Frame(frame) => m.handle_inbound(now, frame),
                        LinkInput::Eof => m.handle_link_end(now, LinkEnd::Eof),
                        LinkInput::Error | LinkInput::Violation { .. } => m.handle_link_end(now, LinkEnd::Error),
                    }
                }
                () = self.shared.wake.nudged() => {}
                () = timer.fired() => {
                    self.shared.machine.borrow_mut().handle_timeout(clock.now());
                }
            }
        }
    }

    /// Carries out everything the machine asked for and passes its events on.
    fn drain(
        &self,
        link: &mut Option<WsLink<C::Stream>>,
        attempt: &mut Option<Handshake<C::Stream>>,
    ) {
        let mut m = self.shared.machine.borrow_mut();
        loop {
            self.drain_once(&mut m, link, attempt);
            // A frame the link's queue refused (the server reads too slowly): the link is
            // broken like any other; the machine reconnects and sends what is pending again.
            if !self.overflowed.replace(false) {
                break;
            }
            m.handle_link_end(self.shared.clock.now(), LinkEnd::Error);
        }
    }

    fn drain_once(
        &self,
        m: &mut ClientMachine,
        link: &mut Option<WsLink<C::Stream>>,
        attempt: &mut Option<Handshake<C::Stream>>,
    ) {
        while let Some(action) = m.poll_action() {
            match action {
                Action::Connect { key, session } => {
                    *attempt = Some(self.handshake(m, &key, &session));
                }
                Action::Disconnect { close } => {
                    *attempt = None;
                    if let (Some(old), Some((code, reason))) = (link.take(), close) {
                        linger(old, code, reason, m.config().close_timeout);
                    }
                }
            }
        }
        while let Some(frame) = m.poll_transmit() {
            if let Some(link) = link.as_ref() {
                if link.send(frame).is_err() {
                    self.overflowed.set(true);
                }
            }
        }
        while let Some(event) = m.poll_event() {
            match (&self.sink, &self.app) {
                (Some(sink), Some(app)) => {
                    sink.emit(event.clone());
                    app.deliver(event);
                }
                (Some(sink), None) => sink.emit(event),
                (None, Some(app)) => app.deliver(event),
                (None, None) => {}
            }
        }
    }

    fn handshake(
        &self,
        m: &ClientMachine,
        key: &str,
        session: &SessionClaim,
    ) -> Handshake<C::Stream> {
        let connect = self.connector.connect(&self.url.authority);
        let request = handshake::request(&self.url, m.identity(), key, session);
        Box::pin(async move {
            let request = request.map_err(|_| AttemptFailed::Other)?;
            let stream = connect.await.map_err(|_| AttemptFailed::Other)?;
            let config = wslink::ws_config(None);
            let (ws, _response) =
                tokio_tungstenite::client_async_with_config(request, stream, Some(config))
                    .await
                    .map_err(|e| match e {
                        tokio_tungstenite::tungstenite::Error::Http(response) => {
                            AttemptFailed::Refused(response.status().as_u16())
                        }
                        _ => AttemptFailed::Other,
                    })?;
            Ok(ws)
        })
    }
}

/// Resolves when the host falls asleep; never without a sleep switch.
async fn until_asleep(sleep: Option<&HostSleep>) {
    match sleep {
        Some(sleep) => sleep.until_asleep().await,
        None => std::future::pending().await,
    }
}

/// Sends a close frame on a detached link and keeps it at most `timeout` for the peer's
/// answer, in the background: nothing waits for a close handshake that may never complete.
fn linger<S: crate::net::Stream>(
    mut link: WsLink<S>,
    code: u16,
    reason: String,
    timeout: Duration,
) {
    // A close frame is always queued.
    let _ = link.send(Outbound::Close { code, reason });
    tokio::task::spawn_local(async move {
        let _ = crate::clock::timer::timeout(timeout, link.until_closed()).await;
    });
}
