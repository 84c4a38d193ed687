//! The one view of a run that every checker reads, maintained once per event by whoever feeds
//! the checkers (the judge, a test): the numbers of the event's client and message
//! ([`numbering`](crate::check::numbering)), each client's link and the faults under way
//! ([`Links`], as of the previous event), and when each client could reach the server
//! ([`Reachability`], this event included). A checker keeps only the state of its own
//! property; what several need is kept here, once.

use crate::check::links::Links;
use crate::check::numbering::{Numbering, Numbers};
use crate::check::reachable::Reachability;
use crate::check::{CheckContext, Checker};
use crate::event::Event;

/// What every checker sees besides the event itself.
#[derive(Debug)]
pub struct RunView {
    ctx: CheckContext,
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
}

impl RunView {
    /// The view of a run with settings `ctx`, before its first event.
    #[must_use]
    pub fn new(ctx: &CheckContext) -> Self {
        RunView {
            ctx: ctx.clone(),
            numbering: Some(Numbering::default()),
            numbers: Numbers::NONE,
            links: Links::default(),
            reach: Reachability::default(),
        }
    }

    /// A view that gives no numbers ([`Numbers::NONE`]): each checker looks names up itself.
    #[cfg(test)]
    pub(crate) fn unnumbered(ctx: &CheckContext) -> Self {
        RunView {
            numbering: None,
            ..RunView::new(ctx)
        }
    }

    /// Shows `event` to every checker in `checkers`, through the view: the one entry point.
    pub fn feed<'c>(
        &mut self,
        event: &Event,
        checkers: impl IntoIterator<Item = &'c mut (dyn Checker + 'static)>,
    ) {
        if let Some(numbering) = &mut self.numbering {
            self.numbers = numbering.number(&event.kind);
        }
        self.reach.observe(&self.ctx, event);
        for c in checkers {
            c.observe(event, self);
        }
        self.links.observe(event);
    }
}
