//! `turmoil::net` behind the product's network seam ([`wsim_proto::net`]): the simulated
//! network. The stream and listener are wrapped because both the seam's traits and turmoil's
//! types belong to other crates.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::net::{Connector, Listener, LocalBoxFuture, Stream};

/// A simulated TCP stream.
#[derive(Debug)]
pub struct SimStream(turmoil::net::TcpStream);

impl Stream for SimStream {}

impl AsyncRead for SimStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for SimStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// Connects over turmoil's simulated TCP.
#[derive(Debug, Clone, Copy, Default)]
pub struct TurmoilConnector;

impl Connector for TurmoilConnector {
    type Stream = SimStream;
    fn connect(&self, addr: &str) -> LocalBoxFuture<io::Result<Self::Stream>> {
        let addr = addr.to_string();
        Box::pin(async move { turmoil::net::TcpStream::connect(addr).await.map(SimStream) })
    }
}

/// A simulated host's listening socket.
pub struct SimListener(turmoil::net::TcpListener);

impl SimListener {
    /// Listens on `port` on every address of the current simulated host.
    ///
    /// # Errors
    /// When the port is taken.
    pub async fn bind(port: u16) -> io::Result<Self> {
        turmoil::net::TcpListener::bind(("0.0.0.0", port))
            .await
            .map(SimListener)
    }
}

impl Listener for SimListener {
    type Stream = SimStream;
    async fn accept(&mut self) -> io::Result<(Self::Stream, String)> {
        let (stream, peer) = SimListener::accept(self).await?;
        let host = turmoil::reverse_lookup(peer.ip()).unwrap_or_else(|| peer.ip().to_string());
        Ok((stream, host))
    }

    fn local_label(&self) -> String {
        self.0
            .local_addr()
            .map_or_else(|e| e.to_string(), |a| a.to_string())
    }
}

impl SimListener {
    /// Waits for the next connection: the stream and the peer's simulated address (an inherent
    /// method, so a user's code needs no trait in scope; wsim's own server goes through the
    /// product's [`Listener`] seam instead).
    ///
    /// # Errors
    /// When the simulated host's listener fails.
    pub async fn accept(&mut self) -> io::Result<(SimStream, std::net::SocketAddr)> {
        let (stream, peer) = self.0.accept().await?;
        Ok((SimStream(stream), peer))
    }

    /// The simulated address this listener is bound to.
    ///
    /// # Errors
    /// When the socket is gone.
    pub fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.0.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send + 'static>() {}

    #[test]
    fn streams_and_listeners_can_move_into_spawned_tasks() {
        assert_send::<SimStream>();
        assert_send::<SimListener>();
    }
}
