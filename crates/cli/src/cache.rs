//! The [`VerificationCache`] a [`Verifier`](crate::Verifier) shares across calls and threads:
//! verified AMD chains, verified VCEKs, and the VCEKs' P-384 tables.
//!
//! | cache mode | per evidence | kept across evidences |
//! |---|---|---|
//! | none ([`Verifier::new`](crate::Verifier::new)) | everything | nothing |
//! | [`CacheMode::Chain`] | VCEK parsed and verified (RSA-4096 PSS) | the ASK/ARK chain; the VCEK's P-384 table, by certificate SHA-256 |
//! | [`CacheMode::ChainAndLeaf`] | report, claims, quote | the chain and the verified VCEK with its table |
//!
//! Every cached certificate is checked again against the verification time at each use (the
//! snp-verify types do that), so the cache never widens what is accepted; it only skips
//! repeating signature checks and table building on identical bytes. Entries are keyed by the
//! SHA-256 of the exact DER bytes (and, for chains, the leaf issuer's name). A cache is bound to
//! the trust anchors of its first use: a verifier with other anchors gets an error, never an
//! entry verified under someone else's roots.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use attest_prims::Lru;
use sha2::{Digest, Sha256};
use snp_verify::{
    CertRole, DEFAULT_KEY_TABLES, KeyTableCache, LeafCertificate, TrustAnchors, UnixTime,
    VerifiedCaChain, VerifiedLeaf,
};

use crate::error::Error;

/// What a [`VerificationCache`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheMode {
    /// Verified AMD chains, and the P-384 tables of VCEKs (the VCEK itself is parsed and its
    /// signature checked for every evidence).
    Chain,
    /// Verified chains and verified VCEKs (with their P-384 tables).
    ChainAndLeaf,
}

/// Bounds of a [`VerificationCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// Verified chains kept (one per product and intermediate, in practice).
    pub chains: usize,
    /// Verified VCEKs kept ([`CacheMode::ChainAndLeaf`]).
    pub leaves: usize,
    /// P-384 tables kept (98 KB each).
    pub key_tables: usize,
    /// The use of a VCEK at which its P-384 table is built (1: at first sight). A table costs
    /// about four verifications without one and saves about three quarters of one per later
    /// report, so the default, 2, builds tables only for VCEKs that come back.
    pub table_at_use: u32,
}

impl Default for CacheLimits {
    fn default() -> Self {
        Self {
            chains: 16,
            leaves: DEFAULT_KEY_TABLES,
            key_tables: DEFAULT_KEY_TABLES,
            table_at_use: 2,
        }
    }
}

/// Verified certificates and key tables shared by every verification of a
/// [`Verifier`](crate::Verifier)
/// (thread-safe; locks are held only for look-ups, never during verification).
#[derive(Debug)]
pub struct VerificationCache {
    mode: CacheMode,
    limits: CacheLimits,
    chains: Mutex<Lru<[u8; 32], VerifiedCaChain>>,
    leaves: Mutex<Lru<[u8; 32], VerifiedLeaf>>,
    key_tables: Mutex<KeyTableCache>,
    /// How often each VCEK without a table was seen.
    uses: Mutex<Lru<[u8; 32], u32>>,
    /// The trust anchors of the first verification: every entry was verified under them, so a
    /// verifier with other anchors must not read it.
    anchors: OnceLock<TrustAnchors>,
}

impl VerificationCache {
    /// An empty cache.
    pub fn new(mode: CacheMode, limits: CacheLimits) -> Self {
        Self {
            mode,
            limits,
            chains: Mutex::new(Lru::new(limits.chains)),
            leaves: Mutex::new(Lru::new(limits.leaves)),
            key_tables: Mutex::new(KeyTableCache::new(limits.key_tables)),
            uses: Mutex::new(Lru::new(limits.key_tables.max(1) * 4)),
            anchors: OnceLock::new(),
        }
    }

    /// The mode.
    pub fn mode(&self) -> CacheMode {
        self.mode
    }

    /// How many P-384 key tables are held.
    pub fn key_table_count(&self) -> usize {
        lock(&self.key_tables).len()
    }

    /// The verified chain and leaf for `leaf_der` under the CA candidates `ca`.
    pub(crate) fn chain_and_leaf(
        &self,
        anchors: &TrustAnchors,
        leaf_der: &[u8],
        ca: &[Vec<u8>],
        time: UnixTime,
    ) -> Result<(VerifiedCaChain, VerifiedLeaf), Error> {
        let bound = self.anchors.get_or_init(|| anchors.clone());
        if bound != anchors {
            return Err(Error::input(
                "this VerificationCache holds chains verified under other trust anchors: give each set of anchors its own cache",
            ));
        }
        let leaf_certificate = LeafCertificate::parse(leaf_der).map_err(Error::from)?;
        let chain_key = chain_key(&leaf_certificate, ca);
        let cached_chain = lock(&self.chains).get(&chain_key);
        let chain = match cached_chain {
            Some(chain) => chain,
            None => {
                let candidates: Vec<&[u8]> = ca.iter().map(Vec::as_slice).collect();
                let chain =
                    VerifiedCaChain::for_parsed_leaf(anchors, &candidates, &leaf_certificate, time)
                        .map_err(Error::from)?;
                lock(&self.chains).insert(chain_key, chain.clone());
                chain
            }
        };
        let leaf_key = leaf_key(&chain_key, leaf_der);
        let cached_leaf = match self.mode {
            CacheMode::ChainAndLeaf => lock(&self.leaves).get(&leaf_key),
            CacheMode::Chain => None,
        };
        let from_cache = cached_leaf.is_some();
        let mut leaf = match cached_leaf {
            Some(leaf) => leaf,
            None => chain
                .verify_parsed_leaf(leaf_certificate, time)
                .map_err(Error::from)?,
        };
        let had_table = leaf.key_table().is_some();
        if !had_table {
            self.attach_key_table(&mut leaf);
        }
        // A cached leaf is stored again once it has gained its table.
        let store = !from_cache || (!had_table && leaf.key_table().is_some());
        if self.mode == CacheMode::ChainAndLeaf && store {
            lock(&self.leaves).insert(leaf_key, leaf.clone());
        }
        Ok((chain, leaf))
    }
}

impl VerificationCache {
    /// Gives `leaf` its P-384 table: from the table cache, or built now if this is the use of
    /// the VCEK at which tables are due ([`CacheLimits::table_at_use`]).
    fn attach_key_table(&self, leaf: &mut VerifiedLeaf) {
        let cached_table = lock(&self.key_tables).get(leaf.sha256());
        match cached_table {
            Some(table) => {
                leaf.attach_key_table(table);
            }
            None if self.limits.key_tables == 0 || !self.table_due(leaf.sha256()) => {}
            None => {
                // Built outside the lock: other threads go on meanwhile.
                leaf.precompute_key_table();
                if let Some(table) = leaf.key_table() {
                    lock(&self.key_tables).insert(*leaf.sha256(), Arc::clone(table));
                }
            }
        }
    }

    /// Counts a use of a VCEK that has no table yet; whether its table is due now.
    fn table_due(&self, certificate_sha256: &[u8; 32]) -> bool {
        let mut uses = lock(&self.uses);
        let count = uses.get(certificate_sha256).unwrap_or(0) + 1;
        uses.insert(*certificate_sha256, count);
        count >= self.limits.table_at_use
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere cannot leave a half-written entry: insertions are single pushes.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The chain a leaf needs from `ca`: its issuer's role and name, and the candidates.
fn chain_key(leaf: &LeafCertificate<'_>, ca: &[Vec<u8>]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update([u8::from(leaf.issuer_role() == CertRole::Asvk)]);
    let issuer = leaf.issuer().to_string();
    hash.update(
        u64::try_from(issuer.len())
            .unwrap_or(u64::MAX)
            .to_le_bytes(),
    );
    hash.update(issuer.as_bytes());
    for der in ca {
        hash.update(Sha256::digest(der));
    }
    hash.finalize().into()
}

fn leaf_key(chain_key: &[u8; 32], leaf_der: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(chain_key);
    hash.update(Sha256::digest(leaf_der));
    hash.finalize().into()
}
