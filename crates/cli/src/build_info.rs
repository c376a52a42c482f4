//! What this build trusts, for `snp-vtpm --version` and the bindings' `version()`: the commit,
//! the pinned roots and the digest of each preset, so that two installations can be compared
//! by what they check rather than by their version number.

use serde::Serialize;

use crate::catalog::FirmwareCatalog;
use crate::policy::{EvidencePolicy, PRESETS};

/// One pinned root or intermediate certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PinnedCertificate {
    /// Whose it is ("AMD Milan ARK", "Azure vTPM root", "Intel SGX root").
    pub name: String,
    /// SHA-256 of its DER, lower-case hex.
    pub sha256: String,
}

/// One preset and the digest of the policy it applies ([`EvidencePolicy::digest`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PresetDigest {
    /// The preset's name.
    pub name: String,
    /// SHA-256 of the policy, lower-case hex.
    pub sha256: String,
}

/// This build: version, commit and what it trusts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildInfo {
    /// The crate version.
    pub version: &'static str,
    /// The git commit built from ("unknown" outside a checkout).
    pub commit: &'static str,
    /// Every pinned certificate.
    pub pinned_certificates: Vec<PinnedCertificate>,
    /// Every preset's digest.
    pub presets: Vec<PresetDigest>,
    /// The built-in firmware catalog's version.
    pub firmware_catalog_version: String,
    /// SHA-256 of the built-in firmware catalog file.
    pub firmware_catalog_sha256: String,
    /// How many entries it has.
    pub firmware_catalog_entries: usize,
}

fn hex(bytes: &[u8]) -> String {
    hcl_parse::HexSlice(bytes).to_string()
}

impl BuildInfo {
    /// This build's.
    pub fn current() -> Self {
        let mut pinned_certificates: Vec<PinnedCertificate> = snp_verify::AMD_PINS
            .iter()
            .map(|pin| PinnedCertificate {
                name: format!(
                    "AMD {} {}",
                    pin.generation,
                    serde_json::json!(pin.role).as_str().unwrap_or_default()
                ),
                sha256: hex(&pin.sha256),
            })
            .collect();
        pinned_certificates.push(PinnedCertificate {
            name: "Azure vTPM root".into(),
            sha256: hex(&vtpm_akcert::AZURE_VTPM_ROOT_SHA256),
        });
        pinned_certificates.push(PinnedCertificate {
            name: "Intel SGX root".into(),
            sha256: hex(&tdx_verify::INTEL_SGX_ROOT_SHA256),
        });
        let presets = PRESETS
            .iter()
            .filter_map(|&name| {
                EvidencePolicy::preset(name).map(|policy| PresetDigest {
                    name: name.to_string(),
                    sha256: hex(&policy.digest()),
                })
            })
            .collect();
        let catalog = FirmwareCatalog::builtin();
        Self {
            version: env!("CARGO_PKG_VERSION"),
            commit: env!("SNP_VTPM_COMMIT"),
            pinned_certificates,
            presets,
            firmware_catalog_version: catalog.version.clone(),
            firmware_catalog_sha256: hex(&crate::catalog::builtin_sha256()),
            firmware_catalog_entries: catalog.entries.len(),
        }
    }
}

impl std::fmt::Display for BuildInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.version)?;
        writeln!(f, "commit: {}", self.commit)?;
        writeln!(f, "pinned certificates (SHA-256 of the DER):")?;
        for pin in &self.pinned_certificates {
            writeln!(f, "  {:<18} {}", pin.name, pin.sha256)?;
        }
        writeln!(f, "presets (SHA-256 of the policy as applied):")?;
        for preset in &self.presets {
            writeln!(f, "  {:<18} {}", preset.name, preset.sha256)?;
        }
        write!(
            f,
            "firmware catalog: version {}, {} entries, sha256 {}",
            self.firmware_catalog_version,
            self.firmware_catalog_entries,
            self.firmware_catalog_sha256
        )
    }
}
