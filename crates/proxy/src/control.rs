//! Faults injected into a running proxy from outside it: a simulator's fault executor uses
//! this to make the proxy forget connections (`state_loss`), which network-level faults cannot
//! do to a stream that happens to be idle, and to blackhole, delay or reset one client's
//! connection (`proxy_conn`), since many clients share one simulated host.
//!
//! On a real network it also carries the proxy's [`Board`] of network impairments
//! (partitions, loss, latency, state loss, a down server), which `wsim proxy --scenario`,
//! `wsim drive` and the HTTP control API ([`crate::api`]) drive.
//!
//! The control outlives proxy restarts (it is created outside the host); a starting proxy
//! clears its connections (not its board: a fault outlives the restart it overlaps).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;
use wsim_proto::wait_list::{Wait, WaitList};

use serde::Serialize;

use crate::impair::{Board, ConnIdentity, Impairment, Scope, Side, StartError};

/// What the proxy does with a connection's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fate {
    /// Relay both ways.
    #[default]
    Relay,
    /// Silently drop everything, both ways, and never close either end (a NAT that forgot the
    /// flow): the ends stay half-open until their own heartbeats notice.
    Blackhole,
    /// Relay, each chunk held back this long first (chunks behind it wait only for their own
    /// delay and their order, not for one another's: a delaying middlebox, not a slow one).
    Delay(Duration),
    /// Reset both ends now.
    Reset,
}

/// One live connection's switch: its fate, and a bell to ring when the fate changes.
#[derive(Debug, Default)]
pub struct ConnSwitch {
    fate: Cell<Fate>,
    /// The relay waits for the next change with every chunk it relays: a [`WaitList`], where
    /// a wait polled again compares a waker instead of re-registering with a `Notify`.
    changed: WaitList,
}

impl ConnSwitch {
    /// The connection's fate.
    #[must_use]
    pub fn fate(&self) -> Fate {
        self.fate.get()
    }

    /// Changes the connection's fate and wakes its relay. A reset is final: the connection
    /// is ending, and nothing set after it (in the same instant, before the relay acts) saves
    /// it. A blackholed connection stays blackholed (what forgot a flow does not remember it
    /// because some other fault on the same client ended); only a reset, which ends it, still
    /// applies.
    pub fn set(&self, fate: Fate) {
        let now = self.fate.get();
        if now == Fate::Reset || (now == Fate::Blackhole && fate != Fate::Reset) {
            return;
        }
        self.fate.set(fate);
        self.changed.notify_all();
    }

    /// The delay each chunk is held back by, if the connection is delayed.
    #[must_use]
    pub fn delay(&self) -> Duration {
        match self.fate.get() {
            Fate::Delay(d) => d,
            Fate::Relay | Fate::Blackhole | Fate::Reset => Duration::ZERO,
        }
    }

    /// Whether chunks are being delayed.
    #[must_use]
    pub fn delays(&self) -> bool {
        matches!(self.fate.get(), Fate::Delay(_))
    }

    /// Resolves at the next change of fate after this call.
    pub fn changed(&self) -> Wait<'_> {
        self.changed.wait()
    }
}

#[derive(Debug)]
struct Entry {
    peer: String,
    client: Option<String>,
    host: Option<String>,
    switch: Rc<ConnSwitch>,
}

/// One live connection, as the control API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnInfo {
    /// The proxy's connection number.
    pub conn: u64,
    /// The peer's address.
    pub peer: String,
    /// The client, as read from its upgrade request.
    pub client: Option<String>,
    /// The client host it was resolved to.
    pub host: Option<String>,
    /// What the proxy does with its bytes (`relay`, `blackhole`, `delay`, `reset`).
    pub fate: &'static str,
}

/// Maps a client id to the client host it runs on.
type HostResolver = Box<dyn Fn(&str) -> Option<String>>;

/// The registry of a proxy's live connections, shared with whoever injects faults.
#[derive(Default)]
pub struct ProxyControl {
    conns: RefCell<BTreeMap<u64, Entry>>,
    board: Board,
    resolver: RefCell<Option<HostResolver>>,
    /// Peer address → the client its connection carries, told by whoever made it (for
    /// connections whose bytes cannot say: TLS). Taken when the connection is identified.
    named_peers: RefCell<BTreeMap<String, String>>,
}

impl std::fmt::Debug for ProxyControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyControl")
            .field("conns", &self.conns)
            .field("board", &self.board)
            .finish_non_exhaustive()
    }
}

/// Peer names held at most (see [`ProxyControl::name_peer`]).
pub const NAMED_PEERS: usize = 65_536;

impl ProxyControl {
    /// A new, empty control.
    #[must_use]
    pub fn new() -> Rc<Self> {
        Rc::new(ProxyControl::default())
    }

    /// Forgets every registration (the proxy restarted).
    pub fn reset(&self) {
        self.conns.borrow_mut().clear();
    }

    /// Registers connection `conn` from `peer`; the returned switch tells the relay its fate.
    pub fn register(&self, conn: u64, peer: &str) -> Rc<ConnSwitch> {
        let switch = Rc::new(ConnSwitch::default());
        self.conns.borrow_mut().insert(
            conn,
            Entry {
                peer: peer.to_string(),
                client: None,
                host: None,
                switch: Rc::clone(&switch),
            },
        );
        switch
    }

    /// Says that the connection from `peer` (a socket address, as the proxy's listener
    /// reports it) carries `client`: for a connection whose upgrade request the proxy cannot
    /// read (TLS end to end through it). At most 65,536 are held; beyond, the oldest
    /// by address order goes (a connection that never arrived).
    pub fn name_peer(&self, peer: &str, client: &str) {
        let mut named = self.named_peers.borrow_mut();
        named.insert(peer.to_string(), client.to_string());
        while named.len() > NAMED_PEERS {
            named.pop_first();
        }
    }

    /// The client named for connection `conn`'s peer, if any (taken: a peer address is named
    /// once per connection).
    #[must_use]
    pub fn named_client(&self, conn: u64) -> Option<String> {
        let peer = self.conns.borrow().get(&conn)?.peer.clone();
        self.named_peers.borrow_mut().remove(&peer)
    }

    /// Records which client connection `conn` carries (read from its upgrade request, if it
    /// names one); returns the client host it resolves to.
    pub fn identify(&self, conn: u64, client: Option<&str>) -> Option<String> {
        let host = self.resolve_host(client.unwrap_or(""));
        if let Some(e) = self.conns.borrow_mut().get_mut(&conn) {
            e.client = client.map(str::to_string);
            e.host.clone_from(&host);
        }
        host
    }

    /// Which client host `client` runs on, as the resolver says (none without a resolver;
    /// `""` for a connection that names no client).
    #[must_use]
    pub fn resolve_host(&self, client: &str) -> Option<String> {
        self.resolver.borrow().as_ref().and_then(|r| r(client))
    }

    /// Sets how client ids map to client hosts, for impairments scoped to a host (a
    /// scenario's groups: `<group>-<n>` runs on its group's host).
    pub fn set_host_resolver(&self, resolver: impl Fn(&str) -> Option<String> + 'static) {
        *self.resolver.borrow_mut() = Some(Box::new(resolver));
    }

    /// The network impairments the relays apply.
    #[must_use]
    pub fn board(&self) -> &Board {
        &self.board
    }

    /// Starts `impairment` on `scope` and applies it to the established connections it
    /// covers: a state loss blackholes them, a down far end resets them (blackholes them if
    /// silent). Returns its id on the board.
    pub fn start(
        &self,
        impairment: Impairment,
        scope: Scope,
        label: &str,
    ) -> Result<u64, StartError> {
        let established = match impairment {
            Impairment::StateLoss | Impairment::Down { silent: true } => Some(Fate::Blackhole),
            Impairment::Down { silent: false } => Some(Fate::Reset),
            Impairment::Hold | Impairment::Drop | Impairment::Latency { .. } => None,
        };
        let id = self.board.start(impairment, scope.clone(), label)?;
        if let Some(fate) = established {
            self.set_fate_where(&scope, fate);
        }
        Ok(id)
    }

    /// Sets `fate` on every live connection in `scope` (on either side); returns how many.
    pub fn set_fate_where(&self, scope: &Scope, fate: Fate) -> usize {
        let conns = self.conns.borrow();
        let mut n = 0;
        for entry in conns.values() {
            let id = ConnIdentity {
                host: entry.host.as_deref(),
                client: entry.client.as_deref(),
            };
            let covered = [Side::Client, Side::Upstream]
                .into_iter()
                .any(|side| scope.covers_conn(id, side));
            if covered {
                entry.switch.set(fate);
                n += 1;
            }
        }
        n
    }

    /// Sets the fate of connection `conn`; returns whether it is live.
    pub fn set_conn_fate(&self, conn: u64, fate: Fate) -> bool {
        let conns = self.conns.borrow();
        conns.get(&conn).map(|e| e.switch.set(fate)).is_some()
    }

    /// The live connections, by number.
    #[must_use]
    pub fn connections(&self) -> Vec<ConnInfo> {
        self.conns
            .borrow()
            .iter()
            .map(|(conn, e)| ConnInfo {
                conn: *conn,
                peer: e.peer.clone(),
                client: e.client.clone(),
                host: e.host.clone(),
                fate: match e.switch.fate() {
                    Fate::Relay => "relay",
                    Fate::Blackhole => "blackhole",
                    Fate::Delay(_) => "delay",
                    Fate::Reset => "reset",
                },
            })
            .collect()
    }

    /// Removes connection `conn` (its relay ended).
    pub fn unregister(&self, conn: u64) {
        self.conns.borrow_mut().remove(&conn);
    }

    /// Blackholes every live connection whose peer satisfies `matches`; returns how many.
    pub fn blackhole(&self, matches: impl Fn(&str) -> bool) -> usize {
        let conns = self.conns.borrow();
        let mut n = 0;
        for entry in conns.values().filter(|e| matches(&e.peer)) {
            entry.switch.set(Fate::Blackhole);
            n += 1;
        }
        n
    }

    /// Sets the fate of every live connection of `client`; returns how many.
    pub fn set_client_fate(&self, client: &str, fate: Fate) -> usize {
        let conns = self.conns.borrow();
        let mut n = 0;
        for entry in conns
            .values()
            .filter(|e| e.client.as_deref() == Some(client))
        {
            entry.switch.set(fate);
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Waker};

    /// A peer named by whoever made the connection gives it its client once (the name is
    /// taken), and the names held are bounded.
    #[test]
    fn a_named_peer_identifies_its_connection_once() {
        let control = ProxyControl::new();
        let _switch = control.register(7, "127.0.0.1:5000");
        assert_eq!(control.named_client(7), None);
        control.name_peer("127.0.0.1:5000", "web-1");
        assert_eq!(control.named_client(7).as_deref(), Some("web-1"));
        assert_eq!(control.named_client(7), None, "taken");
        assert_eq!(control.named_client(8), None, "no such connection");
        for i in 0..NAMED_PEERS + 10 {
            control.name_peer(&format!("10.0.0.1:{i}"), "x");
        }
        assert_eq!(control.named_peers.borrow().len(), NAMED_PEERS);
    }

    #[test]
    fn a_change_of_fate_wakes_the_relay_waiting_for_it_once() {
        let switch = ConnSwitch::default();
        let mut cx = Context::from_waker(Waker::noop());
        let mut waiting = pin!(switch.changed());
        for _ in 0..10 {
            assert!(waiting.as_mut().poll(&mut cx).is_pending());
        }
        assert_eq!(switch.changed.waiting(), 1, "one waker per waiting future");
        // A change before the first poll counts too.
        let mut early = pin!(switch.changed());
        switch.set(Fate::Delay(Duration::from_millis(5)));
        assert_eq!(switch.changed.waiting(), 0);
        assert!(waiting.as_mut().poll(&mut cx).is_ready());
        assert!(early.as_mut().poll(&mut cx).is_ready());
        assert!(pin!(switch.changed()).poll(&mut cx).is_pending());
        // A blackholed connection stays blackholed: no change, nobody woken.
        switch.set(Fate::Blackhole);
        let mut after = pin!(switch.changed());
        switch.set(Fate::Relay);
        assert!(after.as_mut().poll(&mut cx).is_pending());
        assert_eq!(switch.fate(), Fate::Blackhole);
    }

    #[test]
    fn a_reset_is_final_whatever_is_set_after_it() {
        // Faults set in the same instant reach the switch before its relay acts: a delay or a
        // blackhole set after a reset must not save the connection.
        for later in [
            Fate::Delay(Duration::from_millis(10)),
            Fate::Relay,
            Fate::Blackhole,
        ] {
            let switch = ConnSwitch::default();
            switch.set(Fate::Reset);
            switch.set(later);
            assert_eq!(switch.fate(), Fate::Reset, "after {later:?}");
        }
        // A blackholed connection can still be reset, and then stays reset.
        let switch = ConnSwitch::default();
        switch.set(Fate::Blackhole);
        switch.set(Fate::Reset);
        switch.set(Fate::Delay(Duration::from_millis(10)));
        assert_eq!(switch.fate(), Fate::Reset);
    }
}
