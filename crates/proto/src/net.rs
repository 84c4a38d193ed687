//! The seam between drivers and the network: a [`Connector`] opens streams, a [`Listener`]
//! accepts them. `tokio::net` implements both for real networks; a simulator implements them
//! over its simulated network. Drivers are generic over these and never name either.

use std::future::Future;
use std::io;
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncWrite};

/// A boxed, single-threaded future (every driver runs on a current-thread runtime).
pub type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// A byte stream a driver can speak WebSocket over.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + 'static {
    /// Makes closing this stream reset the connection (RST) instead of closing it (FIN), where
    /// the network supports it; the default does nothing.
    fn reset_on_close(&self) {}
}

impl Stream for tokio::net::TcpStream {
    fn reset_on_close(&self) {
        // Best effort: a socket that refuses keeps closing with FIN.
        let _ = self.set_zero_linger();
    }
}

/// Opens outbound streams to `host:port` addresses.
pub trait Connector: Clone + 'static {
    /// The stream type.
    type Stream: Stream;
    /// Connects to `addr` (`host:port`).
    fn connect(&self, addr: &str) -> LocalBoxFuture<io::Result<Self::Stream>>;
}

/// Accepts inbound streams.
pub trait Listener: 'static {
    /// The stream type.
    type Stream: Stream;
    /// Waits for the next connection; returns it with a label for its peer (the simulated host
    /// name, or the socket address on a real network).
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Stream, String)>>;
    /// The address it listens on, for people.
    fn local_label(&self) -> String;
}

/// Real TCP via `tokio::net`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioConnector;

impl Connector for TokioConnector {
    type Stream = tokio::net::TcpStream;
    fn connect(&self, addr: &str) -> LocalBoxFuture<io::Result<Self::Stream>> {
        let addr = addr.to_string();
        Box::pin(async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            Ok(stream)
        })
    }
}

impl Listener for tokio::net::TcpListener {
    type Stream = tokio::net::TcpStream;
    async fn accept(&mut self) -> io::Result<(Self::Stream, String)> {
        let (stream, peer) = tokio::net::TcpListener::accept(self).await?;
        stream.set_nodelay(true)?;
        Ok((stream, peer.to_string()))
    }

    fn local_label(&self) -> String {
        self.local_addr()
            .map_or_else(|e| e.to_string(), |a| a.to_string())
    }
}
