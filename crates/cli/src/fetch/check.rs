//! The trust decision the facade hands amd-kds: every chain, VCEK and CRL a source sends (or
//! the cache holds) must verify under pinned roots before it is cached or returned, a CA
//! fetched from a caIssuers URL must have signed the certificate that named it, and TDX
//! collateral must verify under Intel's pinned root and be current. The time
//! of these checks is the current time (fetching is not the pure verification step).

use std::time::{SystemTime, UNIX_EPOCH};

use amd_kds::{ArtifactCheck, CaCertificate, CertChain, Certificate, ChainKind, Crl, VcekRequest};
use hcl_parse::{Generation, TcbComponents};
use snp_verify::{CertRole, TrustAnchors, UnixTime, VerifiedCaChain, verify_crl_signature};
use tdx_verify::{Collateral, CollateralRequest, IntelRoots};

/// The [`ArtifactCheck`] the facade installs on every certificate source: chains, VCEKs and
/// CRLs must verify under pinned roots before they are cached or returned.
///
/// | artifact | accepted when |
/// |---|---|
/// | chain | [`VerifiedCaChain::verify`] under the anchors: a pinned ARK of the product, and an ASK (VCEK chain) or ASVK (VLEK chain) it signed or that is pinned |
/// | VCEK | signed by that chain's ASK and valid now; productName, hwID and every SPL equal to the request's |
/// | CRL | issued and signed by that chain's pinned ARK ([`verify_crl_signature`]) |
/// | CA from a caIssuers URL | named by, and the signer of, the certificate whose AIA named it ([`vtpm_akcert::check_issued_by`]) |
/// | TDX collateral | [`tdx_verify::verify_collateral`] under Intel's pinned root (or the test root given): chains, CRLs, signed TCB info and QE identity, all current; the TCB info of the requested FMSPC, the PCK CRL of the requested CA |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedCheck {
    anchors: TrustAnchors,
    intel_roots: IntelRoots,
}

impl PinnedCheck {
    /// A check under `anchors` (and Intel's pinned root for TDX collateral).
    pub fn new(anchors: TrustAnchors) -> Self {
        Self {
            anchors,
            intel_roots: IntelRoots::intel(),
        }
    }

    /// Checks TDX collateral under `roots` instead of Intel's pinned root (test PKIs).
    #[must_use]
    pub fn with_intel_roots(mut self, roots: IntelRoots) -> Self {
        self.intel_roots = roots;
        self
    }

    /// A check under AMD's pinned roots.
    pub fn amd() -> Self {
        Self::new(TrustAnchors::amd())
    }

    fn verify_chain(
        &self,
        product: Generation,
        kind: ChainKind,
        chain: &CertChain,
        now: SystemTime,
    ) -> Result<VerifiedCaChain, String> {
        let verified = VerifiedCaChain::verify(
            &self.anchors,
            chain.ark_der(),
            chain.ask_or_asvk_der(),
            unix_time(now),
        )
        .map_err(|e| format!("the chain does not verify under the pinned roots: {e}"))?;
        if verified.generation() != product {
            return Err(format!(
                "the chain's pinned ARK is {}'s, expected {product}'s",
                verified.generation()
            ));
        }
        let expected = match kind {
            ChainKind::Vcek => CertRole::Ask,
            ChainKind::Vlek => CertRole::Asvk,
        };
        if verified.intermediate_role() != expected {
            return Err(format!(
                "the chain holds an {}, expected an {expected}",
                verified.intermediate_role()
            ));
        }
        Ok(verified)
    }
}

impl ArtifactCheck for PinnedCheck {
    fn check_chain(
        &self,
        product: Generation,
        kind: ChainKind,
        chain: &CertChain,
        now: SystemTime,
    ) -> Result<(), String> {
        self.verify_chain(product, kind, chain, now).map(|_| ())
    }

    fn check_vcek(
        &self,
        request: &VcekRequest,
        vcek: &Certificate,
        chain: &CertChain,
        now: SystemTime,
    ) -> Result<(), String> {
        let product = request.product();
        let verified = self.verify_chain(product, ChainKind::Vcek, chain, now)?;
        let leaf = verified
            .verify_leaf(vcek.der(), unix_time(now))
            .map_err(|e| format!("it does not verify under the pinned {product} chain: {e}"))?;
        if leaf.role() != CertRole::Vcek {
            return Err(format!("it is a {}, expected a VCEK", leaf.role()));
        }
        let extensions = leaf.extensions();
        if extensions.generation != product {
            return Err(format!(
                "it is a {} VCEK (productName \"{}\"), expected {product}",
                extensions.generation, extensions.product_name
            ));
        }
        match extensions.hw_id.as_deref() {
            Some(hw_id) if hw_id == request.hw_id() => {}
            Some(hw_id) => {
                let (found, expected) = distinct_hex(hw_id, request.hw_id());
                return Err(format!(
                    "it is the VCEK of hwID {found}, expected {expected}"
                ));
            }
            None => return Err("it has no hwID extension".to_string()),
        }
        let mismatches = spl_mismatches(&extensions.tcb, &request.tcb());
        if !mismatches.is_empty() {
            return Err(format!(
                "it is the VCEK of another TCB: {}",
                mismatches.join(", ")
            ));
        }
        Ok(())
    }

    fn check_crl(
        &self,
        product: Generation,
        crl: &Crl,
        chain: &CertChain,
        now: SystemTime,
    ) -> Result<(), String> {
        let verified = self.verify_chain(product, ChainKind::Vcek, chain, now)?;
        verify_crl_signature(&verified, crl.der()).map_err(|e| {
            format!(
                "{e} (nextUpdate {})",
                UnixTime::from_secs(crl.next_update_unix())
            )
        })
    }

    /// A CA fetched from a caIssuers URL (the vTPM AK certificate's issuers) must have signed
    /// the certificate that named it; the path to a pinned root is the verifier's.
    fn check_issuer(
        &self,
        child: &[u8],
        issuer: &CaCertificate,
        _now: SystemTime,
    ) -> Result<(), String> {
        vtpm_akcert::check_issued_by(child, issuer.der()).map_err(|e| e.to_string())
    }

    fn check_tdx_collateral(
        &self,
        request: &CollateralRequest,
        collateral: &Collateral,
        now: SystemTime,
    ) -> Result<(), String> {
        tdx_verify::verify_collateral(collateral, request, &self.intel_roots, unix_time(now))
            .map(|_| ())
            .map_err(|e| format!("it does not verify: {e}"))
    }
}

/// A system time as the verifiers take it (seconds since the epoch; before it counts as 0).
pub(crate) fn unix_time(time: SystemTime) -> UnixTime {
    UnixTime::from_secs(
        time.duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default(),
    )
}

/// Two byte strings in hex, cut to 8 bytes each unless that would make them look equal.
fn distinct_hex(found: &[u8], expected: &[u8]) -> (String, String) {
    let cut = |bytes: &[u8]| match bytes.get(..8) {
        Some(head) if bytes.len() > 8 => format!("{}...", hex::encode(head)),
        _ => hex::encode(bytes),
    };
    let (short_found, short_expected) = (cut(found), cut(expected));
    if short_found == short_expected {
        (hex::encode(found), hex::encode(expected))
    } else {
        (short_found, short_expected)
    }
}

/// "ucodeSPL 115, expected 116" for every SPL that differs (fmc counts as 0 when absent).
fn spl_mismatches(found: &TcbComponents, expected: &TcbComponents) -> Vec<String> {
    [
        ("fmcSPL", found.fmc.unwrap_or(0), expected.fmc.unwrap_or(0)),
        ("blSPL", found.bootloader, expected.bootloader),
        ("teeSPL", found.tee, expected.tee),
        ("snpSPL", found.snp, expected.snp),
        ("ucodeSPL", found.microcode, expected.microcode),
    ]
    .into_iter()
    .filter(|(_, found, expected)| found != expected)
    .map(|(name, found, expected)| format!("{name} {found}, expected {expected}"))
    .collect()
}
