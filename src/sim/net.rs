//! `turmoil::net` behind the driver seam ([`crate::net`]): the simulated network.

use std::io;

use crate::net::{Connector, Listener, LocalBoxFuture};

/// Connects over turmoil's simulated TCP.
#[derive(Debug, Clone, Copy, Default)]
pub struct TurmoilConnector;

impl Connector for TurmoilConnector {
    type Stream = turmoil::net::TcpStream;
    fn connect(&self, addr: &str) -> LocalBoxFuture<io::Result<Self::Stream>> {
        let addr = addr.to_string();
        Box::pin(async move { turmoil::net::TcpStream::connect(addr).await })
    }
}

impl Listener for turmoil::net::TcpListener {
    type Stream = turmoil::net::TcpStream;
    async fn accept(&mut self) -> io::Result<(Self::Stream, String)> {
        let (stream, peer) = turmoil::net::TcpListener::accept(self).await?;
        let host = turmoil::reverse_lookup(peer.ip()).unwrap_or_else(|| peer.ip().to_string());
        Ok((stream, host))
    }

    fn local_label(&self) -> String {
        self.local_addr()
            .map_or_else(|e| e.to_string(), |a| a.to_string())
    }
}
