//! Single-use nonces that expire. A nonce is issued with a time to live and consumed at most
//! once: consuming an unknown, expired or already consumed nonce says so, and a store that
//! cannot answer is an error (a request is then refused as unavailable, never accepted).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The store could not answer (connection lost, timeout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreUnavailable(pub String);

impl std::fmt::Display for StoreUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the nonce store is unavailable: {}", self.0)
    }
}

/// Where nonces live.
#[derive(Debug)]
pub enum NonceStore {
    /// In this process.
    Memory(MemoryNonces),
}

impl NonceStore {
    /// A store in memory.
    pub fn memory() -> Self {
        Self::Memory(MemoryNonces::default())
    }

    /// Records `nonce` as issued, valid for `ttl`.
    pub async fn issue(&self, nonce: &[u8], ttl: Duration) -> Result<(), StoreUnavailable> {
        match self {
            Self::Memory(store) => {
                store.issue(nonce, ttl);
                Ok(())
            }
        }
    }

    /// Consumes `nonce`: `true` when it was issued, has not expired and was not consumed
    /// before (it is then gone); `false` otherwise.
    pub async fn consume(&self, nonce: &[u8]) -> Result<bool, StoreUnavailable> {
        match self {
            Self::Memory(store) => Ok(store.consume(nonce)),
        }
    }

    /// Whether the store answers (readiness).
    pub async fn ready(&self) -> Result<(), StoreUnavailable> {
        match self {
            Self::Memory(_) => Ok(()),
        }
    }

    /// `memory` or `redis` (for logs and metrics).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Memory(_) => "memory",
        }
    }
}

/// Nonces in this process: issued nonces and their expiry; expired ones are swept when new
/// ones are issued.
#[derive(Debug, Default)]
pub struct MemoryNonces {
    issued: Mutex<HashMap<Vec<u8>, Instant>>,
}

impl MemoryNonces {
    fn issue(&self, nonce: &[u8], ttl: Duration) {
        let now = Instant::now();
        let mut issued = self.issued.lock().unwrap_or_else(PoisonError::into_inner);
        issued.retain(|_, expires| *expires > now);
        issued.insert(nonce.to_vec(), now + ttl);
    }

    fn consume(&self, nonce: &[u8]) -> bool {
        self.issued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(nonce)
            .is_some_and(|expires| expires > Instant::now())
    }
}
