//! Names interned as small integers, so a checker's per-message and per-delivery state is keyed
//! by numbers (cheap to compare and store) instead of cloned strings.

use crate::view::lookup::LookupMap;

/// A name's number in an [`Interner`].
pub(crate) type Id = u32;

/// Gives each distinct name a number, in first-seen order, and back.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    /// Looked up only; `names` gives the order.
    ids: LookupMap<Box<str>, Id>,
    names: Vec<Box<str>>,
}

impl Interner {
    /// The number of `name`, giving it the next one if it is new.
    pub(crate) fn id(&mut self, name: &str) -> Id {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = Id::try_from(self.names.len()).expect("fewer than 2^32 names");
        self.names.push(name.into());
        self.ids.insert(name.into(), id);
        id
    }

    /// The number of `name`, if it has one.
    pub(crate) fn get(&self, name: &str) -> Option<Id> {
        self.ids.get(name).copied()
    }

    /// The name numbered `id`.
    pub(crate) fn name(&self, id: Id) -> &str {
        &self.names[id as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_names_in_first_seen_order_and_back() {
        let mut i = Interner::default();
        assert_eq!(i.id("b"), 0);
        assert_eq!(i.id("a"), 1);
        assert_eq!(i.id("b"), 0);
        assert_eq!(i.id("c"), 2);
        assert_eq!(i.name(1), "a");
    }
}
