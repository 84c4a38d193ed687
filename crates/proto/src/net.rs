//! The seam between drivers and the network: a [`Connector`] opens streams, a [`Listener`]
//! accepts them. `tokio::net` implements both for real networks; a simulator implements them
//! over its simulated network. Drivers are generic over these and never name either.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;

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

/// How long a listener's loop waits after a failed accept before accepting again. The usual
/// failure is running out of file descriptors (`EMFILE`), which fails again at once until a
/// connection closes: without the pause the loop would spin a core.
pub const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// The next connection of `listener`: a failed accept waits [`ACCEPT_PAUSE`] (an announced
/// timer, so simulated time too) and tries again. Cancel-safe, as `accept` is.
pub async fn accept_next<L: Listener>(listener: &mut L) -> (L::Stream, String) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(_) => crate::clock::timer::sleep(ACCEPT_PAUSE).await,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    impl Stream for tokio::io::DuplexStream {}

    /// A listener that fails its first `fails` accepts (as one out of descriptors does).
    struct Failing {
        fails: u32,
    }

    impl Listener for Failing {
        type Stream = tokio::io::DuplexStream;

        async fn accept(&mut self) -> io::Result<(Self::Stream, String)> {
            if self.fails > 0 {
                self.fails -= 1;
                return Err(io::Error::other("too many open files"));
            }
            Ok((tokio::io::duplex(8).0, "peer".into()))
        }

        fn local_label(&self) -> String {
            "failing".into()
        }
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // tokio's paused test clock, not the wall clock
    fn a_failing_accept_pauses_before_the_next_and_the_loop_goes_on() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let start = tokio::time::Instant::now();
            let (_, peer) = accept_next(&mut Failing { fails: 3 }).await;
            assert_eq!(peer, "peer");
            assert_eq!(start.elapsed(), 3 * ACCEPT_PAUSE);
            let start = tokio::time::Instant::now();
            accept_next(&mut Failing { fails: 0 }).await;
            assert_eq!(start.elapsed(), Duration::ZERO);
        });
    }
}
