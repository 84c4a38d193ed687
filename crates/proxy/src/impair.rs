//! Network impairments the proxy applies to the bytes it relays, as the links on either side
//! of it would on a real network: held (a partition, delivered in order when it heals), lost
//! (one way; the stream is dead for good in that direction), delayed (a latency spike, order
//! kept), forgotten (state loss: established connections blackholed, new ones refused) and a
//! far end that is down (a crashed server: new connections hang until it is back).
//!
//! A simulation needs none of this (its network does it); a real network has no other place
//! to do it, so `wsim proxy --scenario` and `wsim drive` put a scenario's link faults here,
//! and the control API lets any test suite add and remove them by hand. Each active
//! impairment has a [`Scope`]: which side of the proxy, which client host, which client,
//! which direction. Every relay consults the board per chunk; an empty board costs one
//! borrow.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::idle::Direction;
use wsim_proto::SimRng;

/// Which side of the proxy a link is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Between a client host and the proxy.
    Client,
    /// Between the proxy and the server.
    Upstream,
}

/// What an impairment does to the bytes in its scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Impairment {
    /// A partition: bytes wait, and are delivered in order when it ends (TCP retransmission
    /// after a blip). New connections wait too.
    Hold,
    /// Loss: bytes are dropped; a stream that lost bytes in a direction is dead in that
    /// direction for good (what follows cannot be delivered without them).
    Drop,
    /// A latency spike: each chunk is held back by a delay drawn from `min_ms..=max_ms`;
    /// order is kept.
    Latency {
        /// Shortest added delay.
        min_ms: u64,
        /// Longest added delay.
        max_ms: u64,
    },
    /// A middlebox forgot its connections: those established when it starts are blackholed
    /// for good, new ones are refused (reset) while it lasts.
    StateLoss,
    /// The far end is down (a crashed server, or the proxy itself): new connections are
    /// refused while it lasts; those established when it starts are reset, or with `silent`
    /// blackholed (a power-off: nothing the dying host sends gets out).
    Down {
        /// A power-off instead of a crash that closes its connections.
        #[serde(default)]
        silent: bool,
    },
}

/// Which connections and bytes an impairment applies to. Every field left out matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// The side of the proxy (both if left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<Side>,
    /// Only connections from this client host (its clients' hosts, as the proxy resolves
    /// them; see [`crate::ProxyControl::set_host_resolver`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Only this client's connections (its `client_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// Only bytes going this way (`up`: client → server, `down`: server → client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
}

/// Who a connection is, as far as scopes care.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnIdentity<'a> {
    /// The client host it comes from, once known.
    pub host: Option<&'a str>,
    /// The client it carries, once known.
    pub client: Option<&'a str>,
}

impl Scope {
    /// Whether bytes of `conn` crossing `side` going `dir` are in scope.
    #[must_use]
    pub fn covers(&self, conn: ConnIdentity<'_>, side: Side, dir: Direction) -> bool {
        self.side.is_none_or(|s| s == side)
            && self.direction.is_none_or(|d| d == dir)
            && self.covers_conn(conn, side)
    }

    /// Whether connection `conn` is in scope on `side` (any direction). The upstream side is
    /// shared by every client, so a host or client filter selects its connections there too.
    #[must_use]
    pub fn covers_conn(&self, conn: ConnIdentity<'_>, side: Side) -> bool {
        self.side.is_none_or(|s| s == side)
            && self.host.as_deref().is_none_or(|h| conn.host == Some(h))
            && self
                .client
                .as_deref()
                .is_none_or(|c| conn.client == Some(c))
    }
}

/// One active impairment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Active {
    /// Its id on the board (to end it).
    pub id: u64,
    /// What it does.
    #[serde(flatten)]
    pub impairment: Impairment,
    /// Where.
    pub scope: Scope,
    /// Who started it (`scenario fault 3`, `api`), for people.
    pub label: String,
}

/// What the board says about bytes crossing one side in one direction right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Crossing {
    /// They must wait.
    pub held: bool,
    /// They are lost.
    pub dropped: bool,
    /// They are delayed by this much (the longest of the spikes in scope).
    pub delay: Duration,
}

/// Most impairments active at once; [`Board::start`] refuses more.
pub const MAX_ACTIVE: usize = 1024;

/// The active impairments, and a bell rung whenever they change.
#[derive(Debug)]
pub struct Board {
    active: RefCell<BTreeMap<u64, Active>>,
    next_id: Cell<u64>,
    rng: RefCell<SimRng>,
    changed: Notify,
}

impl Default for Board {
    fn default() -> Self {
        Board::new(wsim_proto::seed::derive_rng(0, "proxy/impairments"))
    }
}

/// Why an impairment was not started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// [`MAX_ACTIVE`] impairments are already active.
    #[error("{MAX_ACTIVE} impairments are already active; end some first")]
    Full,
    /// A latency range whose minimum is above its maximum.
    #[error("latency min_ms ({min}) is above max_ms ({max})")]
    BadRange {
        /// The minimum given.
        min: u64,
        /// The maximum given.
        max: u64,
    },
}

impl Board {
    /// An empty board whose latency draws come from `rng`.
    #[must_use]
    pub fn new(rng: SimRng) -> Self {
        Board {
            active: RefCell::new(BTreeMap::new()),
            next_id: Cell::new(1),
            rng: RefCell::new(rng),
            changed: Notify::new(),
        }
    }

    /// Draws latency from `rng` from now on (a scenario's seed).
    pub fn reseed(&self, rng: SimRng) {
        *self.rng.borrow_mut() = rng;
    }

    /// Whether nothing is active (the relays' fast path).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.active.borrow().is_empty()
    }

    /// Starts `impairment` on `scope`; returns its id. The caller applies a state loss's or a
    /// crash's effect on established connections ([`crate::ProxyControl::start`] does).
    pub fn start(
        &self,
        impairment: Impairment,
        scope: Scope,
        label: &str,
    ) -> Result<u64, StartError> {
        if let Impairment::Latency { min_ms, max_ms } = impairment {
            if min_ms > max_ms {
                return Err(StartError::BadRange {
                    min: min_ms,
                    max: max_ms,
                });
            }
        }
        let mut active = self.active.borrow_mut();
        if active.len() >= MAX_ACTIVE {
            return Err(StartError::Full);
        }
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        active.insert(
            id,
            Active {
                id,
                impairment,
                scope,
                label: label.to_string(),
            },
        );
        drop(active);
        self.changed.notify_waiters();
        Ok(id)
    }

    /// Ends impairment `id`; returns it if it was active.
    pub fn end(&self, id: u64) -> Option<Active> {
        let ended = self.active.borrow_mut().remove(&id);
        if ended.is_some() {
            self.changed.notify_waiters();
        }
        ended
    }

    /// Ends every impairment; returns how many there were.
    pub fn clear(&self) -> usize {
        let n = std::mem::take(&mut *self.active.borrow_mut()).len();
        if n > 0 {
            self.changed.notify_waiters();
        }
        n
    }

    /// The active impairments, by id.
    #[must_use]
    pub fn list(&self) -> Vec<Active> {
        self.active.borrow().values().cloned().collect()
    }

    /// What happens now to bytes of `conn` crossing `side` going `dir`; a delay is drawn
    /// afresh on every call.
    #[must_use]
    pub fn crossing(&self, conn: ConnIdentity<'_>, side: Side, dir: Direction) -> Crossing {
        let active = self.active.borrow();
        let mut crossing = Crossing::default();
        // Bytes cross the client's link and the upstream one in turn: a spike that names no
        // side delays them once, on the first.
        let first = match dir {
            Direction::Up => Side::Client,
            Direction::Down => Side::Upstream,
        };
        for a in active.values().filter(|a| a.scope.covers(conn, side, dir)) {
            match a.impairment {
                Impairment::Latency { .. } if a.scope.side.is_none() && side != first => {}
                Impairment::Hold => crossing.held = true,
                Impairment::Drop => crossing.dropped = true,
                Impairment::Latency { min_ms, max_ms } => {
                    let ms = self.rng.borrow_mut().random_range(min_ms..=max_ms);
                    crossing.delay = crossing.delay.max(Duration::from_millis(ms));
                }
                Impairment::StateLoss | Impairment::Down { .. } => {}
            }
        }
        crossing
    }

    /// Whether bytes of `conn` crossing `side` going `dir` must wait now (no latency drawn).
    #[must_use]
    pub fn holds(&self, conn: ConnIdentity<'_>, side: Side, dir: Direction) -> bool {
        self.active
            .borrow()
            .values()
            .any(|a| a.impairment == Impairment::Hold && a.scope.covers(conn, side, dir))
    }

    /// Whether a new connection of `conn` must be refused on `side` now (a state loss or a
    /// down far end in scope).
    #[must_use]
    pub fn refuses(&self, conn: ConnIdentity<'_>, side: Side) -> bool {
        self.active.borrow().values().any(|a| {
            matches!(
                a.impairment,
                Impairment::StateLoss | Impairment::Down { .. }
            ) && a.scope.covers_conn(conn, side)
        })
    }

    /// Resolves at the next change of the board.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn<'a>(host: &'a str, client: &'a str) -> ConnIdentity<'a> {
        ConnIdentity {
            host: Some(host),
            client: Some(client),
        }
    }

    #[test]
    fn scopes_select_side_host_client_and_direction() {
        let board = Board::default();
        let up_only = Scope {
            side: Some(Side::Client),
            host: Some("phones".into()),
            direction: Some(Direction::Up),
            ..Scope::default()
        };
        board.start(Impairment::Drop, up_only, "t").unwrap();
        let phone = conn("phones", "phone-1");
        let desk = conn("desks", "desk-1");
        assert!(board.crossing(phone, Side::Client, Direction::Up).dropped);
        assert!(!board.crossing(phone, Side::Client, Direction::Down).dropped);
        assert!(!board.crossing(phone, Side::Upstream, Direction::Up).dropped);
        assert!(!board.crossing(desk, Side::Client, Direction::Up).dropped);
        // An unidentified connection matches no host filter.
        let unknown = ConnIdentity::default();
        assert!(!board.crossing(unknown, Side::Client, Direction::Up).dropped);
    }

    #[test]
    fn ending_restores_and_latency_draws_stay_in_range() {
        let board = Board::default();
        let id = board
            .start(
                Impairment::Latency {
                    min_ms: 100,
                    max_ms: 200,
                },
                Scope::default(),
                "t",
            )
            .unwrap();
        let c = conn("h", "c");
        for _ in 0..100 {
            let d = board.crossing(c, Side::Upstream, Direction::Down).delay;
            assert!((100..=200).contains(&d.as_millis()), "{d:?}");
        }
        assert!(board.end(id).is_some());
        assert!(board.end(id).is_none());
        assert!(board.is_empty());
        assert_eq!(
            board.crossing(c, Side::Upstream, Direction::Down),
            Crossing::default()
        );
    }

    #[test]
    fn a_spike_with_no_side_delays_each_direction_once() {
        let board = Board::default();
        let spike = Impairment::Latency {
            min_ms: 50,
            max_ms: 50,
        };
        board.start(spike, Scope::default(), "t").unwrap();
        let c = conn("h", "c");
        let delay = |side, dir| board.crossing(c, side, dir).delay.as_millis();
        // Up crosses the client's link first, down the upstream one.
        assert_eq!(
            delay(Side::Client, Direction::Up) + delay(Side::Upstream, Direction::Up),
            50
        );
        assert_eq!(delay(Side::Upstream, Direction::Down), 50);
        assert_eq!(delay(Side::Client, Direction::Down), 0);
    }

    #[test]
    fn refusal_and_limits() {
        let board = Board::default();
        let bad = Impairment::Latency {
            min_ms: 5,
            max_ms: 1,
        };
        assert!(matches!(
            board.start(bad, Scope::default(), "t"),
            Err(StartError::BadRange { .. })
        ));
        let server = Scope {
            side: Some(Side::Upstream),
            ..Scope::default()
        };
        board
            .start(Impairment::Down { silent: false }, server, "t")
            .unwrap();
        let c = conn("h", "c");
        assert!(board.refuses(c, Side::Upstream));
        assert!(!board.refuses(c, Side::Client));
        for _ in 1..MAX_ACTIVE {
            board
                .start(Impairment::Hold, Scope::default(), "t")
                .unwrap();
        }
        assert_eq!(
            board.start(Impairment::Hold, Scope::default(), "t"),
            Err(StartError::Full)
        );
        assert_eq!(board.clear(), MAX_ACTIVE);
    }
}
