//! The clients a checker keeps state for, in first-seen order: found by the judge's number for
//! the client (a vector index, see [`crate::view::numbering`]) or by name, and listed in name
//! order wherever the order reaches output.

use crate::view::lookup::LookupMap;
use crate::view::numbering::Renumber;

/// Each client's name and state `V`, by index.
#[derive(Debug)]
pub(crate) struct Roster<V> {
    names: Vec<String>,
    states: Vec<V>,
    /// Name → index (looked up only).
    index_of: LookupMap<String, usize>,
    /// The judge's client numbers → index.
    by_judge: Renumber<usize>,
}

impl<V> Default for Roster<V> {
    fn default() -> Self {
        Roster {
            names: Vec::new(),
            states: Vec::new(),
            index_of: LookupMap::default(),
            by_judge: Renumber::default(),
        }
    }
}

impl<V: Default> Roster<V> {
    /// The index of `name`, whom the judge numbered `judge` (a fresh state for a new client).
    pub(crate) fn index(&mut self, judge: Option<u32>, name: &str) -> usize {
        let (names, states, index_of) = (&mut self.names, &mut self.states, &mut self.index_of);
        self.by_judge.get(judge, || {
            if let Some(&index) = index_of.get(name) {
                return index;
            }
            names.push(name.to_string());
            states.push(V::default());
            index_of.insert(name.to_string(), states.len() - 1);
            states.len() - 1
        })
    }
}

impl<V> Roster<V> {
    /// The name of the client at `index`.
    pub(crate) fn name(&self, index: usize) -> &str {
        &self.names[index]
    }

    /// The state of the client at `index`.
    pub(crate) fn state(&self, index: usize) -> &V {
        &self.states[index]
    }

    /// The state of the client at `index`, to change.
    pub(crate) fn state_mut(&mut self, index: usize) -> &mut V {
        &mut self.states[index]
    }

    /// The name and the state (to change) of the client at `index`.
    pub(crate) fn entry_mut(&mut self, index: usize) -> (&str, &mut V) {
        (&self.names[index], &mut self.states[index])
    }

    /// Every client's state, to change, in no particular order that may reach output.
    pub(crate) fn states_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.states.iter_mut()
    }

    /// The indices of the clients whose state satisfies `keep`, in name order.
    pub(crate) fn by_name(&self, keep: impl Fn(&V) -> bool) -> Vec<usize> {
        let mut indices: Vec<usize> = (0..self.states.len())
            .filter(|&i| keep(&self.states[i]))
            .collect();
        indices.sort_by(|&a, &b| self.names[a].cmp(&self.names[b]));
        indices
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_one_entry_by_number_or_by_name_and_lists_in_name_order() {
        let mut roster: Roster<u32> = Roster::default();
        let b = roster.index(Some(0), "b");
        let a = roster.index(None, "a");
        assert_eq!(roster.index(Some(0), "b"), b);
        assert_eq!(roster.index(None, "b"), b);
        assert_eq!(
            roster.index(Some(7), "a"),
            a,
            "a judge's number met late finds the name"
        );
        *roster.state_mut(a) = 5;
        assert_eq!((roster.name(a), *roster.state(a)), ("a", 5));
        assert_eq!(roster.by_name(|_| true), [a, b]);
        assert_eq!(roster.by_name(|&v| v == 0), [b]);
        for v in roster.states_mut() {
            *v += 1;
        }
        assert_eq!(roster.entry_mut(b), ("b", &mut 1));
    }
}
