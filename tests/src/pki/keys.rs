//! Seeded key material: every key and every randomized signature draws from a ChaCha20 stream
//! keyed by SHA-256(seed, label), so results do not depend on the order things are made in.
//! RSA keys take seconds to generate, so they are cached on disk as PKCS#8 DER.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chacha20::ChaCha20Rng;
use chacha20::rand_core::SeedableRng;
use p384::elliptic_curve::Generate;
use rsa::PrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};

/// Bumped when the derivation changes, so old cache files are not mistaken for new keys.
const DERIVATION_VERSION: &str = "snp-vtpm-testkit/pki/v1";

/// The keys of one seed, with the folder their RSA keys are cached in.
#[derive(Debug)]
pub(crate) struct KeyCache {
    dir: PathBuf,
    seed: u64,
}

impl KeyCache {
    pub(crate) fn new(dir: PathBuf, seed: u64) -> Self {
        Self { dir, seed }
    }

    /// A ChaCha20 RNG for `label` under this seed; `extra` feeds in data (e.g. the bytes about
    /// to be signed) so that different messages get different salts.
    pub(crate) fn rng(&self, label: &str, extra: &[u8]) -> ChaCha20Rng {
        let mut hash = Sha256::new();
        for part in [DERIVATION_VERSION.as_bytes(), label.as_bytes(), extra] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part);
        }
        hash.update(self.seed.to_le_bytes());
        ChaCha20Rng::from_seed(hash.finalize().into())
    }

    /// The P-384 ECDSA key for `label`.
    pub(crate) fn p384(&self, label: &str) -> p384::ecdsa::SigningKey {
        p384::ecdsa::SigningKey::generate_from_rng(&mut self.rng(label, b"p384"))
    }

    /// The RSA key for `label`, loaded from the cache or generated and stored there.
    pub(crate) fn rsa(&self, label: &str, bits: usize) -> PrivateKey {
        let path = self.dir.join(format!(
            "{}-seed{:016x}-{label}-rsa{bits}.pk8",
            DERIVATION_VERSION.replace('/', "_"),
            self.seed
        ));
        if let Some(key) = load(&path, bits) {
            return key;
        }
        let key = PrivateKey::new(&mut self.rng(label, b"rsa"), bits)
            .unwrap_or_else(|e| panic!("generating the {bits}-bit RSA key {label}: {e}"));
        store(&path, &key);
        key
    }

    /// Several RSA keys at once, generated in parallel when they are not cached.
    pub(crate) fn rsa_many<const N: usize>(
        &self,
        labels: [&str; N],
        bits: usize,
    ) -> [PrivateKey; N] {
        std::thread::scope(|scope| {
            let handles = labels.map(|label| scope.spawn(move || self.rsa(label, bits)));
            handles.map(|handle| handle.join().expect("RSA key generation panicked"))
        })
    }
}

/// A cached key, or `None` when it is absent, unreadable or not the expected size (it is then
/// generated again and the file replaced).
fn load(path: &Path, bits: usize) -> Option<PrivateKey> {
    let der = std::fs::read(path).ok()?;
    let key = PrivateKey::from_pkcs8_der(&der).ok()?;
    (key.size() * 8 == bits && key.validate().is_ok()).then_some(key)
}

/// Writes the key atomically (temporary file, then rename) so that concurrent test processes
/// never read half a file. A cache that cannot be written only costs time, so errors are
/// reported and otherwise ignored.
fn store(path: &Path, key: &PrivateKey) {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let der = key
        .to_pkcs8_der()
        .expect("an RSA private key encodes as PKCS#8");
    let tmp = path.with_extension(format!(
        "tmp.{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&tmp, der.as_bytes()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        eprintln!(
            "test PKI: cannot cache {} ({e}); it will be generated again next time",
            path.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder under the system temporary directory, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir()
                .join(format!("snp-vtpm-testkit-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn cached_files(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|entries| entries.map(|e| e.expect("dir entry").path()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn generation_is_deterministic_without_a_cache() {
        let (a, b) = (TempDir::new("det-a"), TempDir::new("det-b"));
        let key_a = KeyCache::new(a.0.clone(), 7).rsa("probe", 1024);
        let key_b = KeyCache::new(b.0.clone(), 7).rsa("probe", 1024);
        assert_eq!(key_a, key_b, "same seed and label, separate caches");
        let other_seed = KeyCache::new(b.0.clone(), 8).rsa("probe", 1024);
        let other_label = KeyCache::new(b.0.clone(), 7).rsa("other", 1024);
        assert_ne!(key_a, other_seed);
        assert_ne!(key_a, other_label);
        assert_eq!(
            KeyCache::new(a.0.clone(), 7).p384("leaf"),
            KeyCache::new(b.0.clone(), 7).p384("leaf")
        );
    }

    #[test]
    fn cache_is_written_once_and_repaired_when_corrupt() {
        let dir = TempDir::new("cache");
        let cache = KeyCache::new(dir.0.clone(), 3);
        let key = cache.rsa("probe", 1024);
        let files = cached_files(&dir.0);
        assert_eq!(
            files.len(),
            1,
            "one PKCS#8 file, no temporary left: {files:?}"
        );
        let stored = std::fs::read(&files[0]).expect("cache file");
        assert_eq!(
            PrivateKey::from_pkcs8_der(&stored).expect("PKCS#8"),
            key,
            "the file holds the key"
        );

        // Loaded, not regenerated: a key planted in the file is what comes back.
        let planted = KeyCache::new(dir.0.clone(), 4).rsa("planted", 1024);
        std::fs::write(
            &files[0],
            planted.to_pkcs8_der().expect("encodes").as_bytes(),
        )
        .expect("plant");
        assert_eq!(cache.rsa("probe", 1024), planted);

        // Garbage is replaced by the derived key.
        std::fs::write(&files[0], b"not a key").expect("corrupt");
        assert_eq!(cache.rsa("probe", 1024), key);
        assert_eq!(std::fs::read(&files[0]).expect("rewritten"), stored);
    }
}
