//! A bounded least-recently-used map: the one cache shape the verifier crates need (verified
//! chains, VCEKs and their P-384 tables, keyed by SHA-256s of exact DER bytes).
//!
//! Linear scans over at most `capacity` entries: the capacities are tens to hundreds, where a
//! scan beats hashing and needs no `std`. Callers that share one across threads put it behind
//! a lock.

use alloc::vec::Vec;

/// Entries of at most `capacity` keys; inserting into a full map evicts the least recently
/// used entry (a `get` or an `insert` is a use). Capacity 0 holds nothing.
#[derive(Debug, Clone)]
pub struct Lru<K, V> {
    capacity: usize,
    clock: u64,
    entries: Vec<(K, V, u64)>,
}

impl<K: PartialEq, V: Clone> Lru<K, V> {
    /// An empty map holding at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            clock: 0,
            entries: Vec::new(),
        }
    }

    /// The value under `key`, marked as just used.
    pub fn get(&mut self, key: &K) -> Option<V> {
        self.clock += 1;
        let now = self.clock;
        let entry = self.entries.iter_mut().find(|(k, _, _)| k == key)?;
        entry.2 = now;
        Some(entry.1.clone())
    }

    /// Stores `value` under `key` (replacing an entry with the same key), evicting the least
    /// recently used entry when full.
    pub fn insert(&mut self, key: K, value: V) {
        if self.capacity == 0 {
            return;
        }
        self.clock += 1;
        self.entries.retain(|(k, _, _)| k != &key);
        if self.entries.len() >= self.capacity {
            let oldest = (self.entries.iter().enumerate())
                .min_by_key(|(_, entry)| entry.2)
                .map(|(index, _)| index);
            if let Some(oldest) = oldest {
                self.entries.swap_remove(oldest);
            }
        }
        self.entries.push((key, value, self.clock));
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The most entries held at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_least_recently_used() {
        let mut lru = Lru::new(2);
        lru.insert(1, "a");
        lru.insert(2, "b");
        assert_eq!(lru.get(&1), Some("a"));
        lru.insert(3, "c");
        assert_eq!(lru.len(), 2);
        assert_eq!(lru.get(&2), None, "2 was the least recently used");
        assert_eq!(lru.get(&1), Some("a"));
        assert_eq!(lru.get(&3), Some("c"));
    }

    #[test]
    fn replaces_a_key_without_growing_and_capacity_zero_holds_nothing() {
        let mut lru = Lru::new(2);
        lru.insert(1, "a");
        lru.insert(1, "b");
        assert_eq!((lru.len(), lru.get(&1)), (1, Some("b")));
        let mut off = Lru::new(0);
        off.insert(1, "a");
        assert!(off.is_empty());
        assert_eq!(off.capacity(), 0);
    }
}
