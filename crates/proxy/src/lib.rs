//! wsim-proxy: a TCP relay that behaves like the HTTP infrastructure real WebSocket
//! connections cross — it kills connections idle for its timeout (30 s by default, as load
//! balancers do) — and whose live connections can be blackholed, delayed or reset one by one
//! through [`ProxyControl`]. It reports what happens as [`ProxyEvent`]s.
#![warn(missing_docs)]

use wsim_proto::{clock, net};

pub mod api;
mod control;
mod event;
mod idle;
mod impair;
mod lane;
mod relay;

use std::rc::Rc;
use std::time::Duration;

use wsim_proto::EventSink;

use crate::net::{Connector, Listener};

pub use crate::control::{ConnInfo, ConnSwitch, Fate, ProxyControl};
pub use crate::event::{ProxyCloseReason, ProxyEvent};
pub use crate::idle::{Direction, IdleConfig, IdleMeasure, IdleMode, IdleTracker};
pub use crate::impair::{
    Active, Board, ConnIdentity, Crossing, Impairment, Scope, Side, StartError, MAX_ACTIVE,
};

/// Proxy settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// `host:port` of the server.
    pub upstream: String,
    /// Longest time to reach the server for a new connection (default 5 s).
    pub connect_timeout: Duration,
    /// Idle kills (default: close after 30 s without bytes either way).
    pub idle: IdleConfig,
}

/// Accepts connections from `listener` and relays each to the upstream server; `control`
/// lets a fault injector act on live connections.
pub async fn run<L: Listener, C: Connector>(
    mut listener: L,
    connector: C,
    config: ProxyConfig,
    control: Rc<ProxyControl>,
    sink: EventSink<ProxyEvent>,
) {
    control.reset();
    let mut next_conn = 0u64;
    loop {
        let (client, peer) = net::accept_next(&mut listener).await;
        next_conn += 1;
        let switch = control.register(next_conn, &peer);
        let relay = relay::Relay {
            conn: next_conn,
            upstream: config.upstream.clone(),
            connect_timeout: config.connect_timeout,
            idle: config.idle,
            switch,
            control: Rc::clone(&control),
            sink: sink.clone(),
        };
        let connector = connector.clone();
        let control = Rc::clone(&control);
        tokio::task::spawn_local(async move {
            let conn = relay.conn;
            relay.run(client, connector).await;
            control.unregister(conn);
        });
    }
}
