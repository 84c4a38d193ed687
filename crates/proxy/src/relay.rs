//! The proxy's per-connection relay: connects upstream, pumps bytes both ways, half-closes in
//! step with the ends, kills the connection when it idles (see [`crate::idle`]), and
//! reports its life as `proxy_conn_*` / `idle_kill` events. Injected faults ([`Fate`]): a
//! blackholed connection swallows everything, end of stream included; a delayed one holds
//! each chunk back; a reset one is dropped at once.

use std::cell::{Cell, RefCell};
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::clock::HostClock;
use crate::control::{ConnSwitch, Fate, ProxyControl};
use crate::event::{ProxyCloseReason, ProxyEvent};
use crate::idle::{Direction, IdleConfig, IdleMode, IdleTracker};
use crate::impair::{Board, ConnIdentity, Side};
use crate::lane::{self, Lane};
use crate::net::{Connector, Stream};
use wsim_proto::EventSink;

/// Size of each direction's copy buffer.
const BUFFER: usize = 16 * 1024;

/// Which side of a pump failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PumpError {
    Read,
    Write,
    /// An impairment refuses new connections from this client (a state loss, a down proxy).
    Refused,
}

/// One connection to relay.
pub struct Relay {
    /// The proxy's connection number.
    pub conn: u64,
    /// `host:port` of the server.
    pub upstream: String,
    /// Longest time to reach the server.
    pub connect_timeout: Duration,
    /// When and how idle connections are killed.
    pub idle: IdleConfig,
    /// What to do with the bytes (changed from outside by fault injection).
    pub switch: Rc<ConnSwitch>,
    /// Told which client the connection carries, once known.
    pub control: Rc<ProxyControl>,
    /// Where events go.
    pub sink: EventSink<ProxyEvent>,
}

/// What both pumps share: the clock, the idle tracker, and the client named in the request
/// (which the proxy's control learns at once, so faults can target it).
struct Activity {
    clock: HostClock,
    idle: RefCell<IdleTracker>,
    client: RefCell<Option<String>>,
    /// The client host the client resolves to.
    host: RefCell<Option<String>>,
    identified: Cell<bool>,
    conn: u64,
    control: Rc<ProxyControl>,
}

impl Relay {
    /// Relays `client` to the upstream server until both directions end, one fails, or the
    /// connection is killed for idling.
    pub async fn run<S: Stream, C: Connector>(self, client: S, connector: C) {
        let conn = self.conn;
        let board = self.control.board();
        let closed = |reason| {
            self.sink.emit(ProxyEvent::ProxyConnClosed {
                conn,
                client: None,
                reason,
                bytes_up: 0,
                bytes_down: 0,
            });
        };
        let anyone = ConnIdentity::default();
        if !board.is_empty() {
            // The proxy is down or its link forgot everything: refused. The server is down or
            // its link did: nothing answers.
            if board.refuses(anyone, Side::Client) {
                closed(ProxyCloseReason::Refused);
                return;
            }
            if board.refuses(anyone, Side::Upstream) {
                closed(ProxyCloseReason::UpstreamUnreachable);
                return;
            }
        }
        let connect = connector.connect(&self.upstream);
        let server = match crate::clock::timer::timeout(self.connect_timeout, connect).await {
            Ok(Ok(s)) => s,
            _ => {
                closed(ProxyCloseReason::UpstreamUnreachable);
                return;
            }
        };
        if self.idle.mode == IdleMode::Reset {
            client.reset_on_close();
            server.reset_on_close();
        }
        self.sink.emit(ProxyEvent::ProxyConnOpened { conn });
        let clock = HostClock::start();
        let activity = Activity {
            clock,
            idle: RefCell::new(IdleTracker::new(self.idle, clock.now())),
            client: RefCell::new(None),
            host: RefCell::new(None),
            identified: Cell::new(false),
            conn,
            control: Rc::clone(&self.control),
        };
        let (client_rd, client_wr) = wsim_proto::local_split::split(client);
        let (server_rd, server_wr) = wsim_proto::local_split::split(server);
        let (bytes_up, bytes_down) = (Cell::new(0u64), Cell::new(0u64));
        let up = pump(
            client_rd,
            server_wr,
            &bytes_up,
            &self.switch,
            &activity,
            Direction::Up,
        );
        let down = pump(
            server_rd,
            client_wr,
            &bytes_down,
            &self.switch,
            &activity,
            Direction::Down,
        );
        let (mut up, mut down) = (pin!(up), pin!(down));
        let (mut up_done, mut down_done) = (false, false);
        let reason = loop {
            if up_done && down_done {
                break ProxyCloseReason::Finished;
            }
            let deadline = activity.idle.borrow().deadline();
            if self.switch.fate() == Fate::Reset {
                break ProxyCloseReason::Reset;
            }
            tokio::select! {
                biased;
                () = self.switch.changed() => {}
                r = &mut up, if !up_done => match r {
                    Ok(()) => up_done = true,
                    Err(PumpError::Read) => break ProxyCloseReason::ClientError,
                    Err(PumpError::Write) => break ProxyCloseReason::UpstreamError,
                    Err(PumpError::Refused) => break ProxyCloseReason::Refused,
                },
                r = &mut down, if !down_done => match r {
                    Ok(()) => down_done = true,
                    Err(PumpError::Read) => break ProxyCloseReason::UpstreamError,
                    Err(PumpError::Write) => break ProxyCloseReason::ClientError,
                    Err(PumpError::Refused) => break ProxyCloseReason::Refused,
                },
                () = clock.sleep_until(deadline) => {
                    let idle = activity.idle.borrow_mut().poll(clock.now());
                    if let Some(idle) = idle {
                        let mode = self.idle.mode;
                        self.sink.emit(ProxyEvent::IdleKill {
                            conn,
                            client: activity.client.borrow().clone(),
                            idle_ms: u64::try_from(idle.as_millis()).unwrap_or(u64::MAX),
                            mode,
                        });
                        if mode == IdleMode::Blackhole {
                            self.switch.set(Fate::Blackhole);
                        } else {
                            break ProxyCloseReason::IdleKill;
                        }
                    }
                }
            }
        };
        self.sink.emit(ProxyEvent::ProxyConnClosed {
            conn,
            client: activity.client.borrow().clone(),
            reason,
            bytes_up: bytes_up.get(),
            bytes_down: bytes_down.get(),
        });
        // The proxy's own close (an idle kill, a reset, a failed end) crosses the links like
        // any segment: a held link holds it until it heals (the streams close when this
        // returns). A refused connection is answered at once.
        let board = self.control.board();
        if reason != ProxyCloseReason::Refused {
            while !board.is_empty()
                && activity.with_id(|id| {
                    board.holds(id, Side::Client, Direction::Down)
                        || board.holds(id, Side::Upstream, Direction::Up)
                })
            {
                board.changed().await;
            }
        }
    }
}

/// Copies `from` to `to` until end of stream, then half-closes `to`; while the connection is
/// blackholed, reads are discarded and the end of stream is not passed on. While the proxy's
/// board of impairments is empty and nothing is in flight, bytes are copied straight
/// through (the simulation's path: its network impairs, not the proxy); otherwise each chunk
/// crosses the two links of its direction through a [`Lane`].
async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    bytes: &Cell<u64>,
    switch: &ConnSwitch,
    activity: &Activity,
    dir: Direction,
) -> Result<(), PumpError> {
    let mut buf = vec![0u8; BUFFER];
    let board = activity.control.board();
    let (first, second) = match dir {
        Direction::Up => (Side::Client, Side::Upstream),
        Direction::Down => (Side::Upstream, Side::Client),
    };
    let mut lane = Lane::default();
    let mut source_done = false;
    loop {
        if !source_done && lane.is_clear() && board.is_empty() && !switch.delays() {
            let read = from.read(&mut buf).await;
            if switch.fate() == Fate::Blackhole {
                // Nothing gets through a blackhole, a reset from its far end included.
                let Ok(n) = read else { return Ok(()) };
                if n == 0 {
                    return Ok(());
                }
                continue;
            }
            let n = read.map_err(|_| PumpError::Read)?;
            if dir == Direction::Up && n > 0 {
                activity.identify(&buf[..n])?;
            }
            if !board.is_empty() || switch.delays() {
                // An impairment (or a delay) began while the bytes were on their way: they
                // cross it.
                source_done = n == 0;
                let entry = activity.entry(board, first, dir, switch.delay());
                lane.read(
                    activity.clock.now(),
                    (n > 0).then(|| buf[..n].to_vec()),
                    entry,
                );
                continue;
            }
            if n == 0 {
                // The peer may already be gone; a failed half-close changes nothing.
                let _ = to.shutdown().await;
                return Ok(());
            }
            activity
                .idle
                .borrow_mut()
                .on_bytes(activity.clock.now(), dir);
            to.write_all(&buf[..n])
                .await
                .map_err(|_| PumpError::Write)?;
            bytes.set(bytes.get() + n as u64);
            continue;
        }
        // Move every chunk that may move now: to the proxy, then on to the far end.
        loop {
            if switch.fate() == Fate::Blackhole {
                lane.discard();
            }
            let now = activity.clock.now();
            let (first_held, second_held) = activity.holds(board, first, second, dir);
            if let Some(chunk) = lane.arrive(now, first_held) {
                if chunk.data.is_some() {
                    activity.idle.borrow_mut().on_bytes(now, dir);
                }
                let entry = activity.entry(board, second, dir, Duration::ZERO);
                lane.forward(now, chunk, entry);
                continue;
            }
            let Some(chunk) = lane.deliver(now, second_held) else {
                break;
            };
            match chunk.data {
                None => {
                    let _ = to.shutdown().await;
                    return Ok(());
                }
                Some(data) => {
                    to.write_all(&data).await.map_err(|_| PumpError::Write)?;
                    bytes.set(bytes.get() + data.len() as u64);
                }
            }
        }
        if source_done && lane.is_empty() {
            // The end of the stream was lost (or swallowed): nothing more can go this way.
            return Ok(());
        }
        let (first_held, second_held) = activity.holds(board, first, second, dir);
        let next = lane.next_ready(first_held, second_held);
        let room = !source_done && lane.has_room();
        tokio::select! {
            biased;
            () = board.changed() => {}
            () = activity.clock.sleep_until(next), if next.is_some() => {}
            r = from.read(&mut buf), if room => {
                if switch.fate() == Fate::Blackhole {
                    match r {
                        Ok(n) if n > 0 => continue,
                        _ => return Ok(()),
                    }
                }
                let n = r.map_err(|_| PumpError::Read)?;
                source_done = n == 0;
                if dir == Direction::Up && n > 0 {
                    activity.identify(&buf[..n])?;
                }
                let entry = activity.entry(board, first, dir, switch.delay());
                lane.read(activity.clock.now(), (n > 0).then(|| buf[..n].to_vec()), entry);
            }
        }
    }
}

impl Activity {
    /// Learns the client (and its host) from the connection's first bytes up, once; refuses
    /// the connection if an impairment refuses new connections from it.
    fn identify(&self, first: &[u8]) -> Result<(), PumpError> {
        if self.identified.replace(true) {
            return Ok(());
        }
        let client = client_of_request(first).or_else(|| self.control.named_client(self.conn));
        // A connection that names no client still belongs to a host when there is only one.
        *self.host.borrow_mut() = self.control.identify(self.conn, client.as_deref());
        *self.client.borrow_mut() = client;
        let board = self.control.board();
        let refused = !board.is_empty()
            && self
                .with_id(|id| board.refuses(id, Side::Client) || board.refuses(id, Side::Upstream));
        if refused {
            return Err(PumpError::Refused);
        }
        Ok(())
    }

    fn with_id<T>(&self, f: impl FnOnce(ConnIdentity<'_>) -> T) -> T {
        let client = self.client.borrow();
        let host = self.host.borrow();
        f(ConnIdentity {
            host: host.as_deref(),
            client: client.as_deref(),
        })
    }

    /// What entering `side` going `dir` does to a chunk now (a `proxy_conn` delay holds it
    /// back as it reaches the proxy: on the first leg).
    fn entry(&self, board: &Board, side: Side, dir: Direction, held: Duration) -> lane::Entry {
        let crossing = if board.is_empty() {
            crate::impair::Crossing::default()
        } else {
            self.with_id(|id| board.crossing(id, side, dir))
        };
        lane::Entry {
            delay: crossing.delay + held,
            lost: crossing.dropped,
        }
    }

    /// Whether the two legs of `dir` are held now.
    fn holds(&self, board: &Board, first: Side, second: Side, dir: Direction) -> (bool, bool) {
        self.with_id(|id| (board.holds(id, first, dir), board.holds(id, second, dir)))
    }
}

/// The `client_id` query parameter of an HTTP request line, if the bytes start with one.
fn client_of_request(bytes: &[u8]) -> Option<String> {
    let line = bytes.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let target = line.strip_prefix("GET ")?.split(' ').next()?;
    let query = target.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let value = pair.strip_prefix("client_id=")?;
        Some(wsim_proto::query::percent_decode(value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_client_id_from_the_upgrade_request() {
        let req = b"GET /ws?room=r&username=u&client_id=web%2D1 HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(client_of_request(req), Some("web-1".into()));
        assert_eq!(client_of_request(b"\x16\x03\x01 binary"), None);
        assert_eq!(client_of_request(b"GET /ws HTTP/1.1\r\n"), None);
    }
}
