//! `wss://` targets of `wsim drive` (feature `tls`): the target's certificate checked once
//! before the run, and each client's connection made to the drive's proxy — which relays the
//! TLS bytes unchanged — named to it, and verified for the target's host name.

use std::rc::Rc;

use wsim_client::handshake::WsUrl;
use wsim_client::{Client, ClientIo, ClientMachine};
use wsim_proxy::ProxyControl;

/// A `wss://` target: the TLS settings and the host name its certificate is verified for.
#[cfg(feature = "tls")]
pub(crate) struct TlsTarget {
    config: std::sync::Arc<wsim_client::tls::ClientConfig>,
    host: String,
}

/// A `wss://` target (this build has no TLS: none can be prepared).
#[cfg(not(feature = "tls"))]
pub(crate) enum TlsTarget {}

#[cfg(not(feature = "tls"))]
impl TlsTarget {
    /// `None` for a `ws://` target; a `wss://` one is refused.
    pub(crate) fn prepare(
        target: &str,
        _ca_file: Option<&std::path::Path>,
        _upstream: &str,
        _runtime: &tokio::runtime::Runtime,
    ) -> Result<Option<TlsTarget>, String> {
        if target.starts_with("wss://") {
            return Err(
                "this build of wsim has no TLS (the `tls` feature of the wsim crate)".to_string(),
            );
        }
        Ok(None)
    }

    pub(crate) fn spawn(
        &self,
        _machine: ClientMachine,
        _proxy: &str,
        _control: &Rc<ProxyControl>,
        _url: WsUrl,
        _io: ClientIo,
    ) -> Result<Client, String> {
        match *self {}
    }
}

#[cfg(feature = "tls")]
impl TlsTarget {
    /// `None` for a `ws://` target; for a `wss://` one, its settings once a TLS handshake
    /// with it has accepted its certificate (within 5 s), or the refusal with the TLS
    /// library's reason. `target` is the target's URL, `upstream` its `host:port`.
    pub(crate) fn prepare(
        target: &str,
        ca_file: Option<&std::path::Path>,
        upstream: &str,
        runtime: &tokio::runtime::Runtime,
    ) -> Result<Option<TlsTarget>, String> {
        use wsim_client::tls;
        use wsim_proto::net::TokioConnector;
        if !target.starts_with("wss://") {
            return Ok(None);
        }
        let config = tls::client_config(ca_file).map_err(|e| e.to_string())?;
        let host = WsUrl::parse(target)
            .map(|u| u.host().to_string())
            .map_err(|e| e.to_string())?;
        let connector = tls::TlsConnector::new(TokioConnector, config.clone(), &host)
            .map_err(|e| e.to_string())?;
        let probed = tokio::task::LocalSet::new().block_on(runtime, async {
            let probe = tls::probe(&connector, upstream);
            tokio::time::timeout(std::time::Duration::from_secs(5), probe).await
        });
        let why = match probed {
            Ok(Ok(())) => return Ok(Some(TlsTarget { config, host })),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "no TLS handshake within 5 s (does it speak TLS?)".to_string(),
        };
        let hint = if why.contains("certificate") && ca_file.is_none() {
            " (a staging or self-signed certificate? give its CA with --ca-file)"
        } else {
            ""
        };
        Err(format!(
            "the server's certificate for {host} was refused: {why}{hint}"
        ))
    }

    /// Starts `machine` on the current `LocalSet` against the target's `url`, its bytes going
    /// to the proxy at `proxy`, which `control` tells whose connection it is.
    pub(crate) fn spawn(
        &self,
        machine: ClientMachine,
        proxy: &str,
        control: &Rc<ProxyControl>,
        url: WsUrl,
        io: ClientIo,
    ) -> Result<Client, String> {
        let via = ViaProxy {
            proxy: proxy.to_string(),
            control: Rc::clone(control),
            client: machine.identity().client_id.clone(),
        };
        let connector = wsim_client::tls::TlsConnector::new(via, self.config.clone(), &self.host)
            .map_err(|e| e.to_string())?;
        Ok(Client::spawn(machine, connector, url, io))
    }
}

/// Connects to the proxy whatever address is asked, and names the connection's client to it
/// (its upgrade request travels inside TLS, where the proxy cannot read it).
#[cfg(feature = "tls")]
#[derive(Clone)]
struct ViaProxy {
    proxy: String,
    control: Rc<ProxyControl>,
    client: String,
}

#[cfg(feature = "tls")]
impl wsim_proto::net::Connector for ViaProxy {
    type Stream = tokio::net::TcpStream;

    fn connect(
        &self,
        _addr: &str,
    ) -> wsim_proto::net::LocalBoxFuture<std::io::Result<Self::Stream>> {
        let this = self.clone();
        Box::pin(async move {
            let stream = tokio::net::TcpStream::connect(&this.proxy).await?;
            stream.set_nodelay(true)?;
            let local = stream.local_addr()?.to_string();
            this.control.name_peer(&local, &this.client);
            Ok(stream)
        })
    }
}
