//! The proxy's per-connection relay: connects upstream, pumps bytes both ways, half-closes in
//! step with the ends, and reports the connection's life as `proxy_conn_*` events. A
//! blackholed connection ([`Fate::Blackhole`]) swallows everything, end of stream included.

use std::cell::Cell;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::event::{EventKind, ProxyCloseReason};
use crate::net::{Connector, Stream};
use crate::proxy::control::Fate;
use crate::timeline::EventSink;

/// Size of each direction's copy buffer.
const BUFFER: usize = 16 * 1024;

/// Which side of a pump failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PumpError {
    Read,
    Write,
}

/// One connection to relay.
pub struct Relay {
    /// The proxy's connection number.
    pub conn: u64,
    /// `host:port` of the server.
    pub upstream: String,
    /// Longest time to reach the server.
    pub connect_timeout: Duration,
    /// What to do with the bytes (changed from outside by fault injection).
    pub fate: Rc<Cell<Fate>>,
    /// Where events go.
    pub sink: EventSink,
}

impl Relay {
    /// Relays `client` to the upstream server until both directions end or one fails.
    pub async fn run<C: Connector>(self, client: impl Stream, connector: C) {
        let conn = self.conn;
        let connect = connector.connect(&self.upstream);
        let server = match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(Ok(s)) => s,
            _ => {
                self.sink.emit(EventKind::ProxyConnClosed {
                    conn,
                    reason: ProxyCloseReason::UpstreamUnreachable,
                    bytes_up: 0,
                    bytes_down: 0,
                });
                return;
            }
        };
        self.sink.emit(EventKind::ProxyConnOpened { conn });
        let (client_rd, client_wr) = tokio::io::split(client);
        let (server_rd, server_wr) = tokio::io::split(server);
        let (bytes_up, bytes_down) = (Cell::new(0u64), Cell::new(0u64));
        let mut up = pin!(pump(client_rd, server_wr, &bytes_up, &self.fate));
        let mut down = pin!(pump(server_rd, client_wr, &bytes_down, &self.fate));
        let (mut up_done, mut down_done) = (false, false);
        let reason = loop {
            if up_done && down_done {
                break ProxyCloseReason::Finished;
            }
            tokio::select! {
                biased;
                r = &mut up, if !up_done => match r {
                    Ok(()) => up_done = true,
                    Err(PumpError::Read) => break ProxyCloseReason::ClientError,
                    Err(PumpError::Write) => break ProxyCloseReason::UpstreamError,
                },
                r = &mut down, if !down_done => match r {
                    Ok(()) => down_done = true,
                    Err(PumpError::Read) => break ProxyCloseReason::UpstreamError,
                    Err(PumpError::Write) => break ProxyCloseReason::ClientError,
                },
            }
        };
        self.sink.emit(EventKind::ProxyConnClosed {
            conn,
            reason,
            bytes_up: bytes_up.get(),
            bytes_down: bytes_down.get(),
        });
    }
}

/// Copies `from` to `to` until end of stream, then half-closes `to`; while the connection is
/// blackholed, reads are discarded and the end of stream is not passed on.
async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    bytes: &Cell<u64>,
    fate: &Cell<Fate>,
) -> Result<(), PumpError> {
    let mut buf = vec![0u8; BUFFER];
    loop {
        let n = from.read(&mut buf).await.map_err(|_| PumpError::Read)?;
        if fate.get() == Fate::Blackhole {
            if n == 0 {
                return Ok(());
            }
            continue;
        }
        if n == 0 {
            // The peer may already be gone; a failed half-close changes nothing.
            let _ = to.shutdown().await;
            return Ok(());
        }
        to.write_all(&buf[..n])
            .await
            .map_err(|_| PumpError::Write)?;
        bytes.set(bytes.get() + n as u64);
    }
}
