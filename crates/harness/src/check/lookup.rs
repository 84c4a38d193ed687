//! Hash maps and sets for checker state that is only ever looked up, never iterated in an
//! order that could reach output: a hash table's iteration order differs per process, so the
//! determinism rules (clippy.toml) ban `HashMap`/`HashSet` everywhere else. Whoever iterates one
//! of these must sort what it collects (as `delivery`'s report does).
#![allow(clippy::disallowed_types)]

/// A map looked up by key (see the module documentation).
pub(crate) type LookupMap<K, V> = std::collections::HashMap<K, V>;

/// A set asked for membership (see the module documentation).
pub(crate) type LookupSet<K> = std::collections::HashSet<K>;
