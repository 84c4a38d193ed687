//! The numbers the judge gives an event's names, once for every checker: the client the event
//! is about, and the message — (sender, id) — it names. A checker that keys its state by client
//! or message maps the judge's numbers to its own through a `Renumber` (a vector index), so a
//! name is hashed once per event for all checkers instead of once per checker.
//!
//! Numbers are given in first-seen order and never reused; the judge numbers every event
//! before any checker sees it. A checker fed without the judge (its own tests) is given
//! [`Numbers::NONE`] and looks names up itself: both ways give it the same numbers of its own.

use crate::event::{ClientEvent, EventKind, ServerEvent};
use crate::view::intern::{Id, Interner};
use crate::view::lookup::LookupMap;

/// What the judge numbered in one event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Numbers {
    /// The client the event is about ([`EventKind::client`]), by number.
    pub client: Option<u32>,
    /// The message it names, by number: (the client, its id) for a message the client wrote
    /// or the server accepted from it, (`from`, id) for a delivery.
    pub msg: Option<u32>,
}

impl Numbers {
    /// Nothing numbered: the checker looks its names up itself.
    pub const NONE: Numbers = Numbers {
        client: None,
        msg: None,
    };
}

/// Gives clients and messages their numbers (see the module documentation). Grows with the
/// clients and the messages of a run, as the checkers that keep per-message state do.
#[derive(Debug, Default)]
pub(crate) struct Numbering {
    clients: Interner,
    /// Sender's number → message id → the message's number.
    msgs: Vec<LookupMap<Box<str>, u32>>,
    next_msg: u32,
    /// The next message number at each forget: numbers given before the mark of one retention
    /// ago are forgotten (a message named again gets a new number; checkers find it by name).
    marks: std::collections::VecDeque<(std::time::Duration, u32)>,
}

impl Numbering {
    /// Numbers `kind`'s client and message.
    pub(crate) fn number(&mut self, kind: &EventKind) -> Numbers {
        let Some(client) = kind.client() else {
            return Numbers::NONE;
        };
        let client = self.clients.id(client);
        let msg = match kind {
            EventKind::Client {
                event: ClientEvent::MessageSent { msg_id, .. },
                ..
            }
            | EventKind::Client {
                event: ClientEvent::MessageBuffered { msg_id, .. },
                ..
            }
            | EventKind::Client {
                event: ClientEvent::MessageAcked { msg_id, .. },
                ..
            }
            | EventKind::Server(ServerEvent::MessageAccepted { msg_id, .. })
            | EventKind::Server(ServerEvent::DuplicateDropped { msg_id, .. }) => {
                Some(self.msg(client, msg_id))
            }
            EventKind::Client {
                event: ClientEvent::Message { from, msg_id, .. },
                ..
            } => {
                let sender = self.clients.id(from);
                Some(self.msg(sender, msg_id))
            }
            _ => None,
        };
        Numbers {
            client: Some(client),
            msg,
        }
    }

    /// At `now`, forgets the numbers given before `now - retention`.
    pub(crate) fn forget(&mut self, now: std::time::Duration, retention: std::time::Duration) {
        self.marks.push_back((now, self.next_msg));
        let mut cutoff = None;
        while let Some(&(at, next)) = self.marks.front() {
            if at + retention > now {
                break;
            }
            cutoff = Some(next);
            self.marks.pop_front();
        }
        if let Some(cutoff) = cutoff {
            for ids in &mut self.msgs {
                ids.retain(|_, m| *m >= cutoff);
            }
        }
    }

    fn msg(&mut self, sender: Id, id: &str) -> u32 {
        let index = sender as usize;
        if self.msgs.len() <= index {
            self.msgs.resize_with(index + 1, LookupMap::default);
        }
        let ids = &mut self.msgs[index];
        if let Some(&m) = ids.get(id) {
            return m;
        }
        let m = self.next_msg;
        self.next_msg = m.checked_add(1).expect("fewer than 2^32 messages");
        ids.insert(id.into(), m);
        m
    }
}

/// A checker's own number (or index) for each of the judge's: what the checker computed the
/// first time it met a judge's number, looked up ever after.
#[derive(Debug)]
pub(crate) struct Renumber<T> {
    by_judge: LookupMap<u32, T>,
}

impl<T> Default for Renumber<T> {
    fn default() -> Self {
        Renumber {
            by_judge: LookupMap::default(),
        }
    }
}

impl<T: Copy> Renumber<T> {
    /// The checker's own value for the judge's number `judge`: remembered, or computed by
    /// `own` (always, when the judge numbered nothing).
    pub(crate) fn get(&mut self, judge: Option<u32>, own: impl FnOnce() -> T) -> T {
        let Some(judge) = judge else {
            return own();
        };
        *self.by_judge.entry(judge).or_insert_with(own)
    }

    /// Forgets every value `keep` rejects (the checker forgot what it names): the judge's
    /// number is then computed afresh if it comes again.
    pub(crate) fn retain(&mut self, keep: impl Fn(T) -> bool) {
        self.by_judge.retain(|_, v| keep(*v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(client: &str, from: &str, id: &str) -> EventKind {
        EventKind::Client {
            client: client.into(),
            event: ClientEvent::Message {
                msg_id: id.into(),
                seq: 1,
                from: from.into(),
                username: String::new(),
                text: String::new(),
            },
        }
    }

    #[test]
    fn a_message_has_one_number_whoever_names_it_and_ids_are_per_sender() {
        let mut n = Numbering::default();
        let sent = n.number(&EventKind::Client {
            client: "a".into(),
            event: ClientEvent::MessageSent { msg_id: "1".into() },
        });
        let got = n.number(&received("b", "a", "1"));
        let other_sender = n.number(&received("b", "c", "1"));
        assert_eq!(sent.client, Some(0));
        assert_eq!(got.client, Some(1));
        assert_eq!(sent.msg, got.msg);
        assert_ne!(got.msg, other_sender.msg);
        let connected = n.number(&EventKind::Client {
            client: "a".into(),
            event: ClientEvent::Connected { attempt: 1 },
        });
        assert_eq!(
            connected,
            Numbers {
                client: Some(0),
                msg: None
            }
        );
        assert_eq!(
            n.number(&EventKind::Server(ServerEvent::ServerStarted {
                listen: "x".into()
            })),
            Numbers::NONE
        );
    }

    #[test]
    fn renumbering_remembers_the_checkers_own_value_and_computes_without_a_number() {
        let mut r = Renumber::default();
        let mut calls = 0;
        let mut own = |v: u32| {
            calls += 1;
            v
        };
        assert_eq!(r.get(Some(3), || own(30)), 30);
        assert_eq!(r.get(Some(3), || own(99)), 30);
        assert_eq!(r.get(None, || own(7)), 7);
        assert_eq!(calls, 2);
    }
}

/// Fed through the judge's numbers or looking names up themselves, the checkers reach the
/// same verdict and the same figures on runs full of faults and violations.
#[cfg(test)]
mod agreement {
    use crate::check::{build, CheckContext};
    use crate::scenario::model::Implementation;
    use crate::scenario::CheckName;
    use crate::view::RunView;

    #[test]
    fn numbered_and_unnumbered_checkers_agree() {
        let mut judged_violations = 0;
        for file in [
            "05-random-partitions.toml",
            "08-server-restart.toml",
            "09-reconnect-storm.toml",
            "15-flap-within-grace.toml",
        ] {
            let (_, text) = crate::standard::SCENARIOS
                .iter()
                .find(|(f, _)| *f == file)
                .expect("a standard scenario");
            for server in [Implementation::Wsim, Implementation::Naive] {
                let mut scenario = crate::scenario::parse(file, text).expect("valid");
                scenario.system.server = server;
                let system = crate::sim::System::for_scenario(&scenario);
                let events = crate::sim::simulate_system(&scenario, 2, &system).events;
                let ctx = CheckContext::from_scenario(&scenario);
                for name in CheckName::ALL {
                    let (mut plain, mut numbered) = (build(name, &ctx), build(name, &ctx));
                    let mut unnumbered_view = RunView::unnumbered(&ctx);
                    let mut view = RunView::new(&ctx);
                    for event in &events {
                        unnumbered_view.feed(event, |v| plain.observe(event, v));
                        view.feed(event, |v| numbered.observe(event, v));
                    }
                    let (a, b) = (plain.finish(&unnumbered_view), numbered.finish(&view));
                    judged_violations += a.len();
                    assert_eq!(a, b, "{file} ({server:?}): {name:?}");
                    assert_eq!(plain.summary(), numbered.summary(), "{file}: {name:?}");
                }
            }
        }
        assert!(judged_violations > 0, "the naive server broke something");
    }
}
