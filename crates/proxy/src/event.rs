//! What the proxy tells whoever runs it: [`ProxyEvent`] — connections opened, idle-killed and
//! closed, with the bytes they carried.

use serde::Serialize;

use crate::idle::IdleMode;

/// Something that happened in the proxy. Serialized with the snake_case variant name as
/// `event`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ProxyEvent {
    /// The proxy accepted a connection and reached the upstream server.
    ProxyConnOpened {
        /// The proxy's connection number.
        conn: u64,
    },
    /// The proxy killed a connection that carried no bytes for its idle timeout.
    IdleKill {
        /// The proxy's connection number.
        conn: u64,
        /// The client, as read from the upgrade request, if it could be.
        #[serde(skip_serializing_if = "Option::is_none")]
        client: Option<String>,
        /// How long the connection had been idle.
        idle_ms: u64,
        /// How it was killed.
        mode: IdleMode,
    },
    /// The proxy stopped relaying a connection.
    ProxyConnClosed {
        /// The proxy's connection number.
        conn: u64,
        /// The client, as read from the upgrade request, if it could be.
        #[serde(skip_serializing_if = "Option::is_none")]
        client: Option<String>,
        /// Why.
        reason: ProxyCloseReason,
        /// Bytes relayed client → server.
        bytes_up: u64,
        /// Bytes relayed server → client.
        bytes_down: u64,
    },
}

impl ProxyEvent {
    /// The client on the connection, as read from its upgrade request, if it could be.
    #[must_use]
    pub fn client(&self) -> Option<&str> {
        match self {
            ProxyEvent::IdleKill { client, .. } | ProxyEvent::ProxyConnClosed { client, .. } => {
                client.as_deref()
            }
            ProxyEvent::ProxyConnOpened { .. } => None,
        }
    }

    /// The snake_case event name (the JSON `event` field).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            ProxyEvent::ProxyConnOpened { .. } => "proxy_conn_opened",
            ProxyEvent::IdleKill { .. } => "idle_kill",
            ProxyEvent::ProxyConnClosed { .. } => "proxy_conn_closed",
        }
    }
}

/// Why the proxy stopped relaying a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxyCloseReason {
    /// Both directions reached end of stream.
    Finished,
    /// Reading from or writing to the client failed.
    ClientError,
    /// Reading from or writing to the upstream server failed.
    UpstreamError,
    /// The upstream server could not be reached.
    UpstreamUnreachable,
    /// The proxy killed the connection for being idle.
    IdleKill,
    /// An injected fault reset the connection.
    Reset,
    /// An impairment refused the new connection (a state loss or a down proxy on its path).
    Refused,
}
