//! The one view of a run that every checker reads, maintained once per event by whoever feeds
//! the checkers (the judge, a test): the numbers of the event's client and message
//! ([`numbering`]), each client's link and the faults under way ([`Links`], as of the previous
//! event), when each client could reach the server ([`Reachability`]) and every fault with
//! what the faults on a client's path add up to ([`FaultHistory`]), both this event included.
//! A checker keeps only the state of its own property; what several need is kept
//! here, once, below the checkers ([`crate::check`]).

pub mod faults;
pub(crate) mod intern;
pub mod links;
pub(crate) mod lookup;
pub mod numbering;
pub mod reachable;

use crate::event::Event;
use crate::fault_model::FaultModel;
use faults::FaultHistory;
use links::Links;
use numbering::{Numbering, Numbers};
use reachable::Reachability;

/// What every checker sees besides the event itself.
#[derive(Debug)]
pub struct RunView {
    model: FaultModel,
    /// Numbers each event's names, unless the view is `unnumbered` (a test of the checkers'
    /// own lookups).
    numbering: Option<Numbering>,
    /// The numbers of the current event's client and message.
    pub numbers: Numbers,
    /// Every client's host and link, and the faults under way, as they were before the
    /// current event.
    pub links: Links,
    /// When each client could reach the server, the current event included.
    pub reach: Reachability,
    /// Every fault so far with its start and end, the current event's included.
    pub faults: FaultHistory,
}

impl RunView {
    /// The view of a run whose faults act as `model` says, before its first event (a
    /// `&CheckContext` is one).
    #[must_use]
    pub fn new(model: &FaultModel) -> Self {
        RunView {
            model: model.clone(),
            numbering: Some(Numbering::default()),
            numbers: Numbers::NONE,
            links: Links::default(),
            reach: Reachability::default(),
            faults: FaultHistory::default(),
        }
    }

    /// A view that gives no numbers ([`Numbers::NONE`]): each checker looks names up itself.
    #[cfg(test)]
    pub(crate) fn unnumbered(model: &FaultModel) -> Self {
        RunView {
            numbering: None,
            ..RunView::new(model)
        }
    }

    /// At `now`, forgets the message numbers given more than `retention` ago.
    pub(crate) fn forget(&mut self, now: std::time::Duration, retention: std::time::Duration) {
        if let Some(numbering) = &mut self.numbering {
            numbering.forget(now, retention);
        }
    }

    /// Takes in `event` and lets `show` hand it, with the view, to every checker: the one
    /// entry point (links are updated after, so a checker sees them as of the previous event).
    pub fn feed(&mut self, event: &Event, show: impl FnOnce(&RunView)) {
        if let Some(numbering) = &mut self.numbering {
            self.numbers = numbering.number(&event.kind);
        }
        self.reach.observe(&self.model, event);
        self.faults.observe(event);
        show(self);
        self.links.observe(event);
    }
}
