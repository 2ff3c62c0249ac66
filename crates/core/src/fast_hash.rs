//! The hash maps and sets of hot paths keyed by ids: the ledger's (accounts, aliases,
//! transactions), the migration's (every key of every legacy file), the simulation's counting
//! (each lot's cohort, each account's tier), and the Python binding's batches (transaction ids).
//!
//! They hash with foldhash rather than the standard library's SipHash, which took about 4% of
//! the ledger's applying threads' time at 100,000 customers (`ledger_scale`) and about 10% of a
//! migration run (`migrate_scale`). foldhash is still seeded per process, so ids chosen to
//! collide under one run's seed do not collide under the next; nothing iterates these maps in
//! an order that reaches an output.

/// How the ledger's maps hash their keys.
pub type Hasher = foldhash::fast::RandomState;

/// A `HashMap` hashed with [`Hasher`].
pub type HashMap<K, V> = std::collections::HashMap<K, V, Hasher>;

/// A `HashSet` hashed with [`Hasher`].
pub type HashSet<K> = std::collections::HashSet<K, Hasher>;

/// An `IndexMap` (insertion-ordered) hashed with [`Hasher`].
pub type IndexMap<K, V> = indexmap::IndexMap<K, V, Hasher>;
