//! The trust decision this crate leaves to its caller: whether a certificate, chain or CRL that
//! a source sent (or the cache holds) may be returned and cached.
//!
//! Transport is not trust, so this crate does not verify signatures against pinned roots
//! itself (it does not depend on the verifier). The caller hands it an [`ArtifactCheck`]; every
//! artifact passes that check before it is returned or written to the cache, and every cache
//! hit passes it again (an entry that fails is removed and fetched again, once).

use std::time::SystemTime;

use hcl_parse::Generation;
use tdx_verify::{Collateral, CollateralRequest};

use crate::artifact::{CaCertificate, CertChain, Certificate, Crl};
use crate::error::Error;
use crate::request::{ChainKind, VcekRequest};

/// Decides whether an artifact may be used: a VCEK for a request, a CA chain for a product, a
/// CRL for a product. Each method returns `Err` with a sentence that says what the artifact
/// holds and what was expected ("the VCEK of chip 1a2b..., expected 3c4d..."); the
/// [`CertificateSource`](crate::CertificateSource) adds which service sent it.
///
/// A source without a check (no [`crate::CertificateSource::with_check`]) only refuses bodies
/// that are not well formed. `snp-vtpm`'s facade always installs a check that verifies every
/// artifact under pinned AMD roots.
///
/// ```
/// use std::time::SystemTime;
/// use amd_kds::{ArtifactCheck, CaCertificate, CertChain, Certificate, ChainKind, Crl, VcekRequest};
/// use hcl_parse::Generation;
///
/// /// Accepts only chains whose ARK has one known SHA-256 (VCEKs and CRLs: see snp-vtpm).
/// struct PinnedArk([u8; 32]);
///
/// impl ArtifactCheck for PinnedArk {
///     fn check_chain(&self, _: Generation, _: ChainKind, chain: &CertChain, _: SystemTime)
///         -> Result<(), String> {
///         use sha2::Digest;
///         let found: [u8; 32] = sha2::Sha256::digest(chain.ark_der()).into();
///         if found == self.0 { Ok(()) } else { Err("its ARK is not the pinned one".into()) }
///     }
///     fn check_vcek(&self, _: &VcekRequest, _: &Certificate, _: &CertChain, _: SystemTime)
///         -> Result<(), String> {
///         Err("VCEKs are not checked here".into())
///     }
///     fn check_crl(&self, _: Generation, _: &Crl, _: &CertChain, _: SystemTime)
///         -> Result<(), String> {
///         Err("CRLs are not checked here".into())
///     }
///     fn check_issuer(&self, _: &[u8], _: &CaCertificate, _: SystemTime)
///         -> Result<(), String> {
///         Err("issuers are not checked here".into())
///     }
///     fn check_tdx_collateral(&self, _: &tdx_verify::CollateralRequest,
///         _: &tdx_verify::Collateral, _: SystemTime) -> Result<(), String> {
///         Err("TDX collateral is not checked here".into())
///     }
/// }
/// ```
pub trait ArtifactCheck: Send + Sync {
    /// `chain` was sent as the `kind` chain of `product`.
    fn check_chain(
        &self,
        product: Generation,
        kind: ChainKind,
        chain: &CertChain,
        now: SystemTime,
    ) -> Result<(), String>;

    /// `vcek` was sent for `request` (its product, hardware id and every SPL). `chain` is the
    /// VCEK chain of the request's product, already accepted by
    /// [`ArtifactCheck::check_chain`].
    fn check_vcek(
        &self,
        request: &VcekRequest,
        vcek: &Certificate,
        chain: &CertChain,
        now: SystemTime,
    ) -> Result<(), String>;

    /// `crl` was sent as the CRL of `product`. `chain` is the VCEK chain of `product`, already
    /// accepted by [`ArtifactCheck::check_chain`] (its ARK must have signed the CRL).
    fn check_crl(
        &self,
        product: Generation,
        crl: &Crl,
        chain: &CertChain,
        now: SystemTime,
    ) -> Result<(), String>;

    /// `issuer` was sent from an AIA caIssuers URL of `child` (DER), and its subject (and key
    /// identifier) are the ones `child` names. The check decides whether it issued `child`
    /// (its signature), so that nothing but the real issuer is cached.
    fn check_issuer(
        &self,
        child: &[u8],
        issuer: &CaCertificate,
        now: SystemTime,
    ) -> Result<(), String>;

    /// `collateral` was sent for the TD quotes `request` describes (FMSPC, PCK CA): its
    /// chains, CRLs and signed documents must verify and be current (see
    /// [`tdx_verify::verify_collateral`]).
    fn check_tdx_collateral(
        &self,
        request: &CollateralRequest,
        collateral: &Collateral,
        now: SystemTime,
    ) -> Result<(), String>;
}

/// Why a check did not accept an artifact.
#[derive(Debug)]
pub(crate) enum CheckFailure {
    /// The check refused it, and why.
    Refused(String),
    /// The check could not run: the chain it needs is not to be had.
    Unavailable(Error),
}
