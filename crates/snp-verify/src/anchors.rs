//! Trust anchors: AMD's root and intermediate certificates, pinned by the SHA-256 of their DER.
//!
//! Certificates themselves arrive as input (evidence, KDS, IMDS, a file); a chain is trusted
//! only when its root's hash is pinned here. A self-consistent chain proves nothing.

use alloc::format;
use alloc::vec::Vec;

use hcl_parse::Generation;

use crate::cert::{ParsedCert, common_name};
use crate::error::{CertRole, Error, Result};

/// One pinned certificate: the SHA-256 of its DER, with its product and role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pin {
    /// The product the certificate belongs to.
    pub generation: Generation,
    /// ARK, ASK or ASVK.
    pub role: CertRole,
    /// SHA-256 of the certificate's DER.
    pub sha256: [u8; 32],
}

const fn pin(generation: Generation, role: CertRole, sha256: &str) -> Pin {
    Pin {
        generation,
        role,
        sha256: attest_prims::hex_array(sha256),
    }
}

/// AMD's ARK, ASK and ASVK for Milan, Genoa and Turin (SHA-256 of the DER served by AMD KDS).
pub const AMD_PINS: [Pin; 9] = [
    pin(
        Generation::Milan,
        CertRole::Ark,
        "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
    ),
    pin(
        Generation::Milan,
        CertRole::Ask,
        "67d303bd3905fd38db8b20e0793699870e7fa612eaad5dec358293fd8c0bac1b",
    ),
    pin(
        Generation::Milan,
        CertRole::Asvk,
        "c5e081f59b7efab1fe2f8b505e159704e72f29cab7ef7cf628a05a42439082f5",
    ),
    pin(
        Generation::Genoa,
        CertRole::Ark,
        "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",
    ),
    pin(
        Generation::Genoa,
        CertRole::Ask,
        "5464738c1546aed5f2cecf1dc98c5c960a92e8913238a61711bc90ec6e828521",
    ),
    pin(
        Generation::Genoa,
        CertRole::Asvk,
        "197e610743a917d6b9bb982a5a9226ccc0a15b611be0619e626aca9151457372",
    ),
    pin(
        Generation::Turin,
        CertRole::Ark,
        "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a",
    ),
    pin(
        Generation::Turin,
        CertRole::Ask,
        "5b77ef5fe7a7a004fd9032668fba9d0fda22f88c4442069a479636a6ae3b3185",
    ),
    pin(
        Generation::Turin,
        CertRole::Asvk,
        "104e10a8bd060a3c20a434261a57d0588fd65a88915b4f65b08bdecaf8df1a3c",
    ),
];

/// AMD's ARK, ASK and ASVK of Milan, Genoa and Turin as AMD KDS serves them (PEM), shipped so
/// that evidence verifies without a download when it carries its VCEK. Transport only: a
/// chain is trusted because its certificates' hashes are pinned ([`AMD_PINS`]), not because
/// they came with the crate (a test checks every copy against its pin).
pub const SHIPPED_AMD_CERTIFICATES: [(&str, &str); 9] = [
    ("milan-ark.pem", include_str!("../certs/milan-ark.pem")),
    ("milan-ask.pem", include_str!("../certs/milan-ask.pem")),
    ("milan-asvk.pem", include_str!("../certs/milan-asvk.pem")),
    ("genoa-ark.pem", include_str!("../certs/genoa-ark.pem")),
    ("genoa-ask.pem", include_str!("../certs/genoa-ask.pem")),
    ("genoa-asvk.pem", include_str!("../certs/genoa-asvk.pem")),
    ("turin-ark.pem", include_str!("../certs/turin-ark.pem")),
    ("turin-ask.pem", include_str!("../certs/turin-ask.pem")),
    ("turin-asvk.pem", include_str!("../certs/turin-asvk.pem")),
];

/// The shipped AMD certificates ([`SHIPPED_AMD_CERTIFICATES`]) as DER, to add as chain
/// candidates.
pub fn shipped_amd_certificates() -> Vec<Vec<u8>> {
    SHIPPED_AMD_CERTIFICATES
        .iter()
        .filter_map(|(_, pem)| pem_rfc7468::decode_vec(pem.as_bytes()).ok())
        .map(|(_, der)| der)
        .collect()
}

/// Which roots a verification trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustAnchors {
    pins: Vec<Pin>,
    amd: bool,
}

impl TrustAnchors {
    /// AMD's real roots: the default, and the only choice for production.
    pub fn amd() -> Self {
        Self {
            pins: AMD_PINS.to_vec(),
            amd: true,
        }
    }

    /// Whether any of `certificates` is a pinned root (an ARK of these anchors).
    pub fn holds_pinned_root<'a>(&self, certificates: impl IntoIterator<Item = &'a [u8]>) -> bool {
        certificates.into_iter().any(|der| {
            use sha2::Digest;
            let hash: [u8; 32] = sha2::Sha256::digest(der).into();
            self.pinned_root(&hash).is_some()
        })
    }

    /// Roots the caller chooses instead of AMD's: for test PKIs and private PKIs only.
    ///
    /// Verdicts record that the anchors were not AMD's ([`TrustAnchors::is_amd`]).
    pub fn caller_supplied_not_amd(pins: impl IntoIterator<Item = Pin>) -> Self {
        Self {
            pins: pins.into_iter().collect(),
            amd: false,
        }
    }

    /// Roots of another PKI from its CA certificates (DER): each certificate named as AMD
    /// names them (`ARK-<product>`, `SEV-<product>` for an ASK, `SEV-VLEK-<product>` for an
    /// ASVK) is pinned by the SHA-256 of its DER. There must be an ARK. For test PKIs and
    /// private PKIs only, as [`TrustAnchors::caller_supplied_not_amd`].
    pub fn caller_supplied_from_certificates<'a>(
        certificates: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Self> {
        let mut pins = Vec::new();
        for der in certificates {
            let cert = ParsedCert::parse(CertRole::Ark, der)?;
            let cn = common_name(cert.subject()).unwrap_or_default();
            let (role, product) = if let Some(product) = cn.strip_prefix("ARK-") {
                (CertRole::Ark, product)
            } else if let Some(product) = cn.strip_prefix("SEV-VLEK-") {
                (CertRole::Asvk, product)
            } else if let Some(product) = cn.strip_prefix("SEV-") {
                (CertRole::Ask, product)
            } else {
                return Err(Error::UnexpectedCertificateContent {
                    role: CertRole::Ark,
                    reason: format!(
                        "subject \"{}\": expected the CN of an ARK, ASK or ASVK (ARK-<product>, SEV-<product>, SEV-VLEK-<product>)",
                        cert.subject()
                    ),
                });
            };
            let generation = Generation::from_product_name(product).ok_or_else(|| {
                Error::UnexpectedCertificateContent {
                    role,
                    reason: format!("CN \"{cn}\" names no known product"),
                }
            })?;
            pins.push(Pin {
                generation,
                role,
                sha256: cert.sha256(),
            });
        }
        if !pins.iter().any(|pin| pin.role == CertRole::Ark) {
            return Err(Error::UnexpectedCertificateContent {
                role: CertRole::Ark,
                reason: "no ARK (CN ARK-<product>) among the certificates".into(),
            });
        }
        Ok(Self::caller_supplied_not_amd(pins))
    }

    /// True for [`TrustAnchors::amd`].
    pub fn is_amd(&self) -> bool {
        self.amd
    }

    /// The pins.
    pub fn pins(&self) -> &[Pin] {
        &self.pins
    }

    /// The product of a pinned ARK with this hash.
    pub(crate) fn pinned_root(&self, sha256: &[u8; 32]) -> Option<Generation> {
        self.find(CertRole::Ark, sha256)
    }

    /// Whether an intermediate with this hash is pinned for this product and role.
    pub(crate) fn is_pinned(
        &self,
        generation: Generation,
        role: CertRole,
        sha256: &[u8; 32],
    ) -> bool {
        self.find(role, sha256) == Some(generation)
    }

    fn find(&self, role: CertRole, sha256: &[u8; 32]) -> Option<Generation> {
        self.pins
            .iter()
            .find(|pin| pin.role == role && &pin.sha256 == sha256)
            .map(|pin| pin.generation)
    }
}

impl Default for TrustAnchors {
    fn default() -> Self {
        Self::amd()
    }
}
