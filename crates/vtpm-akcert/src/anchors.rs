//! Whom an AK certificate must chain to: Azure's vTPM root, pinned by the SHA-256 of its DER.
//!
//! The intermediates Azure's vTPM service issues under it ship with the crate, so that a leaf
//! verifies without a download; they are transport, not trust. A path is trusted only when it
//! ends at a pinned root, whatever its certificates' origin.

use alloc::string::String;
use alloc::vec::Vec;

/// SHA-256 of the DER of "Azure Virtual TPM Root Certificate Authority 2023" (RSA-4096,
/// 2023-06-01 to 2048-06-01).
pub const AZURE_VTPM_ROOT_SHA256: [u8; 32] =
    attest_prims::hex_array("e6c596b17f8ffefba5c300f714cfb1260c6028704ecf7becc4ab5018efb00e95");

/// The CA certificates shipped with the crate (PEM), by file name: the pinned root and the
/// intermediates whose leaves Azure's vTPMs carry.
pub const SHIPPED_CERTIFICATES: [(&str, &str); 5] = [
    (
        "azure-virtual-tpm-root-2023.pem",
        include_str!("../certs/azure-virtual-tpm-root-2023.pem"),
    ),
    (
        "global-virtual-tpm-ca-01.pem",
        include_str!("../certs/global-virtual-tpm-ca-01.pem"),
    ),
    (
        "global-virtual-tpm-ca-03.pem",
        include_str!("../certs/global-virtual-tpm-ca-03.pem"),
    ),
    (
        "azure-cloud-virtual-tpm-ca-2025.pem",
        include_str!("../certs/azure-cloud-virtual-tpm-ca-2025.pem"),
    ),
    (
        "azure-cloud-virtual-tpm-ca-24.pem",
        include_str!("../certs/azure-cloud-virtual-tpm-ca-24.pem"),
    ),
];

/// The roots an AK certificate may chain to (by pin) and the CA certificates known without the
/// evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VtpmAnchors {
    roots: Vec<[u8; 32]>,
    known: Vec<Vec<u8>>,
    test_root: bool,
}

impl VtpmAnchors {
    /// Azure's pinned vTPM root, with the shipped intermediates.
    pub fn azure() -> Self {
        let known = SHIPPED_CERTIFICATES
            .iter()
            .filter_map(|(_, pem)| pem_rfc7468::decode_vec(pem.as_bytes()).ok())
            .map(|(_, der)| der)
            .collect();
        Self {
            roots: alloc::vec![AZURE_VTPM_ROOT_SHA256],
            known,
            test_root: false,
        }
    }

    /// A root of the caller's own instead of Azure's (a test vTPM CA, for simulators and
    /// `cargo xtask attest`): its DER is pinned and known. Verifications under it say so
    /// ([`crate::VerifiedAkCertificate::under_test_root`]).
    pub fn test_root(root_der: &[u8]) -> Self {
        Self {
            roots: alloc::vec![sha256(root_der)],
            known: alloc::vec![root_der.to_vec()],
            test_root: true,
        }
    }

    /// Adds CA certificates the verifier holds (DER), as candidates only.
    pub fn with_known(mut self, certificates: impl IntoIterator<Item = Vec<u8>>) -> Self {
        self.known.extend(certificates);
        self
    }

    pub(crate) fn is_root(&self, der: &[u8]) -> bool {
        self.roots.contains(&sha256(der))
    }

    pub(crate) fn known(&self) -> &[Vec<u8>] {
        &self.known
    }

    pub(crate) fn pinned_root_hex(&self) -> String {
        self.roots
            .first()
            .map(|pin| alloc::format!("{}", attest_prims::HexSlice(pin)))
            .unwrap_or_default()
    }

    /// Whether these are a caller's test root rather than Azure's.
    pub fn is_test_root(&self) -> bool {
        self.test_root
    }
}

impl Default for VtpmAnchors {
    fn default() -> Self {
        Self::azure()
    }
}

fn sha256(der: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(der).into()
}
