//! A deterministic test PKI shaped exactly like AMD's: ARK, ASK and ASVK per product, VCEK and
//! VLEK leaves, ARK-signed CRLs, and SNP report signatures.
//!
//! Why: the real vectors cover one chip per product and no CRL, VLEK or Turin report, and no real
//! key can sign a new report. This PKI produces certificates byte-compatible with AMD's (same
//! names, extension order, RSA-PSS parameter encoding) from keys we hold, so tests can make any
//! chain, good or bad. Its ARKs are not AMD's: a verifier must be given their SHA-256 as custom
//! pins ([`ProductCa::sha256`]).
//!
//! Everything derives from a `u64` seed, so the same seed gives byte-identical DER. RSA-4096 key
//! generation takes seconds, so private keys are cached on disk (see [`TestPki::new`]) and
//! [`TestPki::shared`] gives one in-process instance for every test.
//!
//! ```no_run
//! use hcl_parse::{Generation, TcbComponents};
//! use snp_vtpm_testkit::pki::{LeafSpec, TestPki};
//!
//! let pki = TestPki::shared();
//! let tcb = TcbComponents { fmc: None, bootloader: 3, tee: 0, snp: 8, microcode: 115 };
//! let vcek = pki.issue_leaf(&LeafSpec::vcek(Generation::Milan, &[7; 64], tcb));
//! let chain = pki.product(Generation::Milan).vcek_chain_pem();
//! # let _ = (vcek, chain);
//! ```

mod asn1;
mod ca;
mod crl;
pub mod intel;
mod keys;
mod leaf;
mod report;
pub mod vtpm;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock, PoisonError};

use hcl_parse::Generation;

pub use ca::{CaOverrides, CaRole, ProductCa};
pub use crl::CrlSpec;
pub use leaf::{Leaf, LeafKeyType, LeafKind, LeafSpec, amd_oid};
pub use report::sign_report;

use keys::KeyCache;

/// RSASSA-PSS (SHA-384, MGF1-SHA-384) signature parameters: what is signed and what the
/// AlgorithmIdentifier declares, separately, so negative tests can make either one wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PssParams {
    /// Salt length used to make the signature.
    pub salt_len: usize,
    /// Salt length written in the AlgorithmIdentifier (`None`: the same as `salt_len`).
    pub declared_salt_len: Option<usize>,
    /// Whether the AlgorithmIdentifier spells out `trailerField 1`, as every AMD CA certificate
    /// and older VCEKs do (DER would omit the default; newer Genoa/Turin VCEKs do omit it).
    pub explicit_trailer: bool,
}

impl PssParams {
    /// AMD's CA encoding: salt 48, trailer field written out.
    pub const AMD: Self = Self {
        salt_len: 48,
        declared_salt_len: None,
        explicit_trailer: true,
    };

    /// Salt 48 without the trailer field, as newer Genoa and Turin VCEKs from KDS carry it.
    pub const AMD_NO_TRAILER: Self = Self {
        salt_len: 48,
        declared_salt_len: None,
        explicit_trailer: false,
    };

    /// AMD's CA encoding with another salt length, both used and declared (a bad signature).
    pub const fn with_salt_len(salt_len: usize) -> Self {
        Self {
            salt_len,
            ..Self::AMD
        }
    }

    /// The salt length the AlgorithmIdentifier states.
    pub fn declared(&self) -> usize {
        self.declared_salt_len.unwrap_or(self.salt_len)
    }
}

impl Default for PssParams {
    fn default() -> Self {
        Self::AMD
    }
}

/// A test PKI: the CA certificates of every product, created on first use, and the keys to
/// issue leaves and CRLs under them.
///
/// Two instances with the same seed produce identical bytes; a different seed gives a
/// self-consistent but different ("forged") PKI, whose ARKs match neither AMD's pins nor the
/// first seed's.
#[derive(Debug)]
pub struct TestPki {
    seed: u64,
    keys: KeyCache,
    products: [OnceLock<ProductCa>; 3],
    /// Leaves issued, by their spec: an RSA-4096 signature per leaf is most of the cost of
    /// synthetic evidence, and the same chip at the same TCB gets the same certificate.
    leaves: Mutex<HashMap<String, Leaf>>,
}

impl TestPki {
    /// The seed of [`TestPki::shared`].
    pub const DEFAULT_SEED: u64 = 1;

    /// Environment variable that overrides the on-disk key cache folder.
    pub const CACHE_ENV: &'static str = "SNP_VTPM_TEST_PKI_CACHE";

    /// A PKI from `seed`, caching private keys in `$SNP_VTPM_TEST_PKI_CACHE`, else in
    /// `target/test-pki-cache/` of the workspace (keys are slow to make, certificates are not).
    pub fn new(seed: u64) -> Self {
        let dir = std::env::var_os(Self::CACHE_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-pki-cache")
            });
        Self::with_cache_dir(seed, dir)
    }

    /// A PKI from `seed` that caches its private keys (PKCS#8 DER) in `dir`.
    pub fn with_cache_dir(seed: u64, dir: impl Into<PathBuf>) -> Self {
        Self {
            seed,
            keys: KeyCache::new(dir.into(), seed),
            products: Default::default(),
            leaves: Mutex::default(),
        }
    }

    /// One process-wide PKI with [`TestPki::DEFAULT_SEED`], so tests share its keys and CAs.
    pub fn shared() -> &'static TestPki {
        static SHARED: OnceLock<TestPki> = OnceLock::new();
        SHARED.get_or_init(|| TestPki::new(Self::DEFAULT_SEED))
    }

    /// The seed everything here derives from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The ARK, ASK and ASVK of `generation` (generated, or loaded from the cache, on first use).
    pub fn product(&self, generation: Generation) -> &ProductCa {
        let slot = &self.products[product_index(generation)];
        slot.get_or_init(|| ProductCa::create(&self.keys, generation))
    }

    /// Issues a VCEK or VLEK as `spec` describes, signed by the product's ASK or ASVK.
    pub fn issue_leaf(&self, spec: &LeafSpec) -> Leaf {
        // A spec with its own signing key is not remembered (its Debug form hides the key).
        let Some(key) = spec.cache_key() else {
            return leaf::issue(self.product(spec.generation()), &self.keys, spec);
        };
        if let Some(leaf) = self
            .leaves
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return leaf.clone();
        }
        let leaf = leaf::issue(self.product(spec.generation()), &self.keys, spec);
        self.leaves
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, leaf.clone());
        leaf
    }

    /// A DER X.509 v2 CRL of `generation`, issued by its ARK unless `spec` says otherwise.
    pub fn crl(&self, generation: Generation, spec: &CrlSpec) -> Vec<u8> {
        crl::issue(self.product(generation), &self.keys, spec)
    }

    /// The CA certificate `role` of `generation`, issued again with the same key and names but
    /// the changes in `overrides` (expired, wrong serial, bad salt, ...).
    pub fn reissue_ca(
        &self,
        generation: Generation,
        role: CaRole,
        overrides: &CaOverrides,
    ) -> Vec<u8> {
        self.product(generation).issue(role, overrides, &self.keys)
    }
}

/// Converts Unix seconds into an X.509 `Time`: UTCTime before 2050, GeneralizedTime from 2050
/// on (RFC 5280 section 4.1.2.5).
///
/// # Panics
/// If the time is past the year 9999, which X.509 cannot express.
pub fn x509_time(unix_seconds: u64) -> x509_cert::time::Time {
    let date = der::DateTime::from_unix_duration(std::time::Duration::from_secs(unix_seconds))
        .unwrap_or_else(|e| panic!("{unix_seconds} s is not an X.509 time: {e}"));
    x509_cert::time::Time::from(date)
}

/// PEM text (`CERTIFICATE`, 64-column base64) of a DER certificate, as KDS and IMDS send them.
pub fn pem_certificate(der: &[u8]) -> String {
    asn1::pem("CERTIFICATE", der)
}

fn product_index(generation: Generation) -> usize {
    match generation {
        Generation::Milan => 0,
        Generation::Genoa => 1,
        Generation::Turin => 2,
    }
}

impl TestPki {
    /// This PKI's ARK, ASK and ASVK of every product as trust anchors (custom pins, recorded
    /// by verifiers as "not AMD's roots").
    pub fn trust_anchors(&self) -> snp_verify::TrustAnchors {
        use snp_verify::{CertRole, Pin};
        let roles = [
            (CaRole::Ark, CertRole::Ark),
            (CaRole::Ask, CertRole::Ask),
            (CaRole::Asvk, CertRole::Asvk),
        ];
        snp_verify::TrustAnchors::caller_supplied_not_amd(Generation::ALL.into_iter().flat_map(
            |generation| {
                let ca = self.product(generation);
                roles.map(|(role, cert_role)| Pin {
                    generation,
                    role: cert_role,
                    sha256: ca.sha256(role),
                })
            },
        ))
    }
}
