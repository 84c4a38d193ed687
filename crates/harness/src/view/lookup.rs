//! Hash maps and sets for checker state that is only ever looked up, never iterated in an
//! order that could reach output: a hash table's iteration order is not part of any contract,
//! so the determinism rules (clippy.toml) ban `HashMap`/`HashSet` everywhere else. Whoever
//! iterates one of these must sort what it collects (as `delivery`'s report does).
//!
//! They hash with the simulator's [`FastHasher`], fixed and cheap (the checkers look names up
//! for every event; SipHash, the default, was a visible share of a chat-heavy run).
#![allow(clippy::disallowed_types)]

use std::hash::BuildHasherDefault;

use turmoil::FastHasher;

/// A map looked up by key (see the module documentation).
pub(crate) type LookupMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// A set asked for membership (see the module documentation).
pub(crate) type LookupSet<K> = std::collections::HashSet<K, BuildHasherDefault<FastHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn equal_keys_hash_alike_and_near_keys_apart() {
        let build = BuildHasherDefault::<FastHasher>::default();
        assert_eq!(build.hash_one("u-17"), build.hash_one(String::from("u-17")));
        assert_ne!(build.hash_one("u-17"), build.hash_one("u-71"));
        assert_ne!(build.hash_one(("a", "bc")), build.hash_one(("ab", "c")));
        let mut set = LookupSet::default();
        for i in 0..10_000u32 {
            assert!(set.insert(format!("client-{i}")));
        }
        assert!(set.contains("client-9999") && !set.contains("client-10000"));
    }
}
