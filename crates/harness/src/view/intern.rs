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

/// Like [`Interner`], but a name can be forgotten (its number is never given again).
#[derive(Debug, Default)]
pub(crate) struct ForgettingInterner {
    ids: LookupMap<Box<str>, Id>,
    names: LookupMap<Id, Box<str>>,
    next: Id,
}

impl ForgettingInterner {
    /// The number of `name`, giving it the next one if it is new (or forgotten).
    pub(crate) fn id(&mut self, name: &str) -> Id {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.next;
        self.next = id.checked_add(1).expect("fewer than 2^32 names");
        self.names.insert(id, name.into());
        self.ids.insert(name.into(), id);
        id
    }

    /// The name numbered `id` (empty if forgotten).
    pub(crate) fn name(&self, id: Id) -> &str {
        self.names.get(&id).map_or("", |n| n)
    }

    /// Forgets every name whose number `keep` rejects.
    pub(crate) fn retain(&mut self, keep: impl Fn(Id) -> bool) {
        self.names.retain(|id, _| keep(*id));
        self.ids.retain(|_, id| keep(*id));
    }

    /// How many names it holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.names.len()
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

    #[test]
    fn a_forgotten_name_gets_a_new_number() {
        let mut i = ForgettingInterner::default();
        assert_eq!((i.id("a"), i.id("b"), i.id("a")), (0, 1, 0));
        i.retain(|id| id != 0);
        assert_eq!((i.len(), i.name(0), i.name(1)), (1, "", "b"));
        assert_eq!(i.id("a"), 2);
    }
}
