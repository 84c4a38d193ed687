//! Faults injected into a running proxy from outside it: a simulator's fault executor uses
//! this to make the proxy forget connections (`state_loss`), which network-level faults cannot
//! do to a stream that happens to be idle, and to blackhole, delay or reset one client's
//! connection (`proxy_conn`), since many clients share one simulated host.
//!
//! The control outlives proxy restarts (it is created outside the host); a starting proxy
//! clears it.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use tokio::sync::Notify;

/// What the proxy does with a connection's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fate {
    /// Relay both ways.
    #[default]
    Relay,
    /// Silently drop everything, both ways, and never close either end (a NAT that forgot the
    /// flow): the ends stay half-open until their own heartbeats notice.
    Blackhole,
    /// Relay, each chunk held back this long first.
    Delay(Duration),
    /// Reset both ends now.
    Reset,
}

/// One live connection's switch: its fate, and a bell to ring when the fate changes.
#[derive(Debug, Default)]
pub struct ConnSwitch {
    fate: Cell<Fate>,
    changed: Notify,
}

impl ConnSwitch {
    /// The connection's fate.
    #[must_use]
    pub fn fate(&self) -> Fate {
        self.fate.get()
    }

    /// Changes the connection's fate and wakes its relay. A blackholed connection stays
    /// blackholed (what forgot a flow does not remember it because some other fault on the
    /// same client ended); only a reset, which ends it, still applies.
    pub fn set(&self, fate: Fate) {
        if self.fate.get() == Fate::Blackhole && fate != Fate::Reset {
            return;
        }
        self.fate.set(fate);
        self.changed.notify_waiters();
    }

    /// Resolves at the next change of fate.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}

#[derive(Debug)]
struct Entry {
    peer: String,
    client: Option<String>,
    switch: Rc<ConnSwitch>,
}

/// The registry of a proxy's live connections, shared with whoever injects faults.
#[derive(Debug, Default)]
pub struct ProxyControl {
    conns: RefCell<BTreeMap<u64, Entry>>,
}

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
                switch: Rc::clone(&switch),
            },
        );
        switch
    }

    /// Records which client connection `conn` carries (read from its upgrade request).
    pub fn identify(&self, conn: u64, client: &str) {
        if let Some(e) = self.conns.borrow_mut().get_mut(&conn) {
            e.client = Some(client.to_string());
        }
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
