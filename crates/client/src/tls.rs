//! TLS for `wss://` URLs (feature `tls`): a [`Connector`] that wraps another connector's
//! streams in rustls, verifying the server's certificate for the URL's host name against the
//! system's roots and, for a staging certificate, the CA certificates of a PEM file. The
//! name verified need not be where the bytes go: through a proxy that relays bytes unchanged,
//! the connection is made to the proxy and the certificate checked for the target.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

use crate::net::{Connector, LocalBoxFuture, Stream};

pub use tokio_rustls::rustls::ClientConfig;

/// Why TLS cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The CA file could not be read or parsed as PEM.
    #[error("cannot read the CA file {path}: {why}")]
    CaFile {
        /// The file.
        path: String,
        /// What went wrong.
        why: String,
    },
    /// The CA file holds no certificate.
    #[error("the CA file {0} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate(String),
    /// Neither the system nor the CA file gave a root to verify against.
    #[error("no root certificate to verify servers against: the system has none and no CA file was given")]
    NoRoots,
    /// The URL's host is not a name a certificate can be verified for.
    #[error("`{0}` is not a host name or IP address a certificate can be verified for")]
    ServerName(String),
    /// The TLS library refused the settings.
    #[error("TLS settings: {0}")]
    Settings(String),
}

/// A client TLS configuration: the system's root certificates, plus those in `ca_file`.
///
/// # Errors
/// [`TlsError`] when the CA file is unreadable or holds no certificate, or no root exists.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca_file {
        let shown = path.display().to_string();
        let bad = |why: String| TlsError::CaFile {
            path: shown.clone(),
            why,
        };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(TlsError::NoCertificate(shown));
        }
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(bad("no certificate in it parses".to_string()));
        }
    }
    if roots.is_empty() {
        return Err(TlsError::NoRoots);
    }
    // ring builds with a C compiler alone (aws-lc-rs, rustls's default, needs cmake); its
    // provider lacks post-quantum key exchange, which rustls marks deprecated.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Settings(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Connects through `inner`, then speaks TLS verifying the certificate for `host`.
#[derive(Clone)]
pub struct TlsConnector<C> {
    inner: C,
    tls: tokio_rustls::TlsConnector,
    name: ServerName<'static>,
}

impl<C> TlsConnector<C> {
    /// TLS with `config` over `inner`'s streams, for a server named `host`.
    ///
    /// # Errors
    /// [`TlsError::ServerName`] when `host` is neither a DNS name nor an IP address.
    pub fn new(inner: C, config: Arc<rustls::ClientConfig>, host: &str) -> Result<Self, TlsError> {
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| TlsError::ServerName(host.to_string()))?;
        Ok(TlsConnector {
            inner,
            tls: tokio_rustls::TlsConnector::from(config),
            name,
        })
    }
}

impl<C: Connector> Connector for TlsConnector<C> {
    type Stream = TlsStream<C::Stream>;

    fn connect(&self, addr: &str) -> LocalBoxFuture<io::Result<Self::Stream>> {
        let (connect, tls, name) = (
            self.inner.connect(addr),
            self.tls.clone(),
            self.name.clone(),
        );
        Box::pin(async move {
            let stream = connect.await?;
            let tls = tls.connect(name, stream).await?;
            Ok(TlsStream(tls))
        })
    }
}

/// A TLS stream over another stream.
pub struct TlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: Stream> AsyncRead for TlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: Stream> AsyncWrite for TlsStream<S> {
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

impl<S: Stream> Stream for TlsStream<S> {
    fn reset_on_close(&self) {
        self.0.get_ref().0.reset_on_close();
    }
}

/// Connects to `addr` and completes a TLS handshake with `connector` (nothing more): `Ok` if
/// the server's certificate is accepted, the TLS library's reason otherwise (an untrusted
/// issuer, a name mismatch, an expired certificate, a server that does not speak TLS).
///
/// # Errors
/// The connect's or the handshake's error.
pub async fn probe<C: Connector>(connector: &TlsConnector<C>, addr: &str) -> io::Result<()> {
    connector.connect(addr).await.map(drop)
}
