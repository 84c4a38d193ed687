//! The state of every faulted link, composed from all the faults active on it. Faults overlap
//! (a partition while the client host sleeps, two spikes on one link, a state loss inside a
//! partition): each turmoil operation sets a link's whole state, so ending one fault must not
//! undo another that is still on. Each link keeps a count per effect and, after every change,
//! is put in the state the active faults together ask for:
//! - a direction is dropped while a `state_loss` (both ways) or a `one_way` (its way) is on;
//! - otherwise it is held while a `partition` or a `sleep` of its client host is on;
//! - otherwise it flows, with the latest active latency spike's latency or the scenario's.

use std::collections::BTreeMap;

use crate::scenario::duration::DurRange;

/// What the active faults do to one link (hosts in name order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Effects {
    /// `partition` and `sleep` faults holding it.
    holds: u32,
    /// `state_loss` faults dropping both ways.
    drops: u32,
    /// `one_way` faults dropping from the first host to the second, and back.
    one_way: [u32; 2],
    /// Active latency spikes (fault id, range), oldest first: the newest applies.
    spikes: Vec<(u32, DurRange)>,
}

/// One direction's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Open,
    Held,
    Dropped,
}

impl Effects {
    fn flow(&self, dir: usize) -> Flow {
        if self.drops > 0 || self.one_way[dir] > 0 {
            Flow::Dropped
        } else if self.holds > 0 {
            Flow::Held
        } else {
            Flow::Open
        }
    }
}

/// A change one fault makes to one link.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Effect {
    /// Held both ways (`partition`, `sleep`).
    Hold,
    /// Dropped both ways (`state_loss`).
    Drop,
    /// Dropped from `from` to the other host (`one_way`).
    OneWay,
    /// A latency spike.
    Spike(DurRange),
}

/// Every link's composed fault state.
#[derive(Debug, Default)]
pub(crate) struct LinkFaults {
    links: BTreeMap<(String, String), Effects>,
}

fn key(a: &str, b: &str) -> ((String, String), bool) {
    if a <= b {
        ((a.to_string(), b.to_string()), false)
    } else {
        ((b.to_string(), a.to_string()), true)
    }
}

impl LinkFaults {
    /// Fault `id` starts (`on`) or ends doing `effect` to the link `from`–`to`, and turmoil's
    /// link is put in the state all its active faults ask for.
    pub(crate) fn change(
        &mut self,
        sim: &turmoil::Sim<'_>,
        base: DurRange,
        (from, to): (&str, &str),
        id: u32,
        effect: Effect,
        on: bool,
    ) {
        let (k, reversed) = key(from, to);
        let before = self.links.get(&k).cloned().unwrap_or_default();
        let mut after = before.clone();
        let count = |n: &mut u32| {
            if on {
                *n += 1;
            } else {
                *n = n.saturating_sub(1);
            }
        };
        match effect {
            Effect::Hold => count(&mut after.holds),
            Effect::Drop => count(&mut after.drops),
            Effect::OneWay => count(&mut after.one_way[usize::from(reversed)]),
            Effect::Spike(range) => {
                if on {
                    after.spikes.push((id, range));
                } else {
                    after.spikes.retain(|(i, _)| *i != id);
                }
            }
        }
        apply(sim, &k, &before, &after, base, false);
        if after == Effects::default() {
            self.links.remove(&k);
        } else {
            self.links.insert(k, after);
        }
    }

    /// Puts every link of `host` back in its composed state after something reset it (a silent
    /// crash partitions and repairs every link of the host at once).
    pub(crate) fn reapply(&self, sim: &turmoil::Sim<'_>, base: DurRange, host: &str) {
        for (k, effects) in &self.links {
            if k.0 == host || k.1 == host {
                apply(sim, k, &Effects::default(), effects, base, true);
            }
        }
    }
}

fn apply(
    sim: &turmoil::Sim<'_>,
    (a, b): &(String, String),
    before: &Effects,
    after: &Effects,
    base: DurRange,
    force: bool,
) {
    let (a, b) = (a.as_str(), b.as_str());
    let flows = |e: &Effects| [e.flow(0), e.flow(1)];
    let (old, new) = (flows(before), flows(after));
    if force || old != new {
        if new.contains(&Flow::Held) {
            // Held segments stay held; a direction that drops loses them below.
            sim.hold(a, b);
        } else if old.contains(&Flow::Held) {
            sim.release(a, b);
        } else {
            sim.repair(a, b);
        }
        match new {
            [Flow::Dropped, Flow::Dropped] => sim.partition(a, b),
            [Flow::Dropped, _] => sim.partition_oneway(a, b),
            [_, Flow::Dropped] => sim.partition_oneway(b, a),
            _ => {}
        }
    }
    let latency = |e: &Effects| e.spikes.last().map_or(base, |(_, r)| *r);
    if force || latency(before) != latency(after) {
        let range = latency(after);
        sim.set_link_latency(a, b, range.min);
        sim.set_link_max_message_latency(a, b, range.max);
    }
}
