//! A bounded least-recently-used cache of per-key tables, keyed by the SHA-256 of the
//! certificate that carries the key (a VCEK's DER).

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::verify::P384KeyTable;

/// Tables of the VCEKs seen recently. Owned by the caller and passed explicitly (`&mut`); a
/// multi-threaded service puts it behind a lock (the `snp-vtpm` facade does).
#[derive(Debug, Clone)]
pub struct KeyTableCache {
    capacity: usize,
    clock: u64,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    certificate_sha256: [u8; 32],
    table: Arc<P384KeyTable>,
    last_used: u64,
}

impl KeyTableCache {
    /// Room for 64 keys (about 6 MB).
    pub const DEFAULT_CAPACITY: usize = 64;

    /// An empty cache holding at most `capacity` tables (98 KB each); 0 disables caching.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            clock: 0,
            entries: Vec::new(),
        }
    }

    /// The table of the certificate with this SHA-256, marked as just used.
    pub fn get(&mut self, certificate_sha256: &[u8; 32]) -> Option<Arc<P384KeyTable>> {
        self.clock += 1;
        let now = self.clock;
        let entry = self
            .entries
            .iter_mut()
            .find(|e| &e.certificate_sha256 == certificate_sha256)?;
        entry.last_used = now;
        Some(Arc::clone(&entry.table))
    }

    /// Stores a table, evicting the least recently used one when full.
    pub fn insert(&mut self, certificate_sha256: [u8; 32], table: Arc<P384KeyTable>) {
        if self.capacity == 0 {
            return;
        }
        self.clock += 1;
        let entry = Entry {
            certificate_sha256,
            table,
            last_used: self.clock,
        };
        if let Some(existing) = self
            .entries
            .iter_mut()
            .find(|e| e.certificate_sha256 == certificate_sha256)
        {
            *existing = entry;
            return;
        }
        if self.entries.len() >= self.capacity {
            let oldest = self
                .entries
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(i, _)| i);
            if let Some(oldest) = oldest {
                self.entries.swap_remove(oldest);
            }
        }
        self.entries.push(entry);
    }

    /// Tables held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no table is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The most tables held at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl Default for KeyTableCache {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Arc<P384KeyTable> {
        let key = p384::ecdsa::SigningKey::from_bytes(&[7u8; 48].into()).unwrap();
        Arc::new(P384KeyTable::new(key.verifying_key()).unwrap())
    }

    #[test]
    fn evicts_the_least_recently_used() {
        let t = table();
        let mut cache = KeyTableCache::new(2);
        cache.insert([1; 32], t.clone());
        cache.insert([2; 32], t.clone());
        assert!(cache.get(&[1; 32]).is_some());
        cache.insert([3; 32], t.clone());
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&[2; 32]).is_none());
        assert!(cache.get(&[1; 32]).is_some());
        assert!(cache.get(&[3; 32]).is_some());
        let mut off = KeyTableCache::new(0);
        off.insert([1; 32], t);
        assert!(off.is_empty());
    }
}
