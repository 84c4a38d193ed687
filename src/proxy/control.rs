//! Faults injected into a running proxy from outside it: the simulation's fault executor uses
//! this to make the proxy forget connections (`state_loss`), which turmoil's own network faults
//! cannot do to a stream that happens to be idle.
//!
//! The control outlives proxy restarts (it is created outside the host); a starting proxy
//! clears it.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

/// What the proxy does with a connection's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fate {
    /// Relay both ways.
    #[default]
    Relay,
    /// Silently drop everything, both ways, and never close either end (a NAT that forgot the
    /// flow): the ends stay half-open until their own heartbeats notice.
    Blackhole,
}

#[derive(Debug)]
struct Entry {
    peer: String,
    fate: Rc<Cell<Fate>>,
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

    /// Registers connection `conn` from `peer`; the returned cell tells the relay its fate.
    pub fn register(&self, conn: u64, peer: &str) -> Rc<Cell<Fate>> {
        let fate = Rc::new(Cell::new(Fate::Relay));
        self.conns.borrow_mut().insert(
            conn,
            Entry {
                peer: peer.to_string(),
                fate: Rc::clone(&fate),
            },
        );
        fate
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
            entry.fate.set(Fate::Blackhole);
            n += 1;
        }
        n
    }
}
