//! Pure-Rust verification of AMD SEV-SNP attestation reports.
//!
//! | step | what is checked |
//! |---|---|
//! | [`VerifiedCaChain::verify`] | the ARK is pinned ([`TrustAnchors`]); the ASK/ASVK is pinned or signed by it; names, validity, RSASSA-PSS parameters (SHA-384, MGF1-SHA-384, salt 48) |
//! | [`VerifiedCaChain::verify_leaf`] | the VCEK/VLEK is signed by the intermediate; P-384 key; AMD extensions decoded strictly |
//! | binding | generation sources agree; key kind (VCEK/VLEK), hwID == chip_id and every SPL == reported_tcb, before the signature |
//! | signature | ECDSA P-384 over SHA-384 of the received bytes 0x000..0x2A0; R/S padding zero |
//! | revocation | a KDS CRL signed by the pinned ARK, current at the given time ([`Revocation`]) |
//! | appraisal | a [`Policy`] (preset `snp-default`; [`Policy::azure_cvm_layout`]); a different [`ErrorKind`] |
//!
//! The report signature is checked by attest-prims' verification-only P-384 path (precomputed
//! generator table, per-VCEK tables kept in a bounded [`KeyTableCache`], no final inversion),
//! and the chain's RSASSA-PSS signatures by its verification-only RSA path; building without
//! the default `fast-p384` and `fast-rsa` features selects the RustCrypto verifiers instead.
//!
//! AMD's documents are cited at the checks: the SEV Secure Nested Paging Firmware ABI
//! Specification (AMD pub. 56860) for the report and its signature, the Versioned Chip Endorsement
//! Key (VCEK) Certificate and KDS Interface Specification (AMD pub. 57230) for the chain, the
//! VCEK extensions and the CRL, and the Versioned Loaded Endorsement Key (VLEK) Certificate
//! Definition (AMD pub. 58369) for VLEK chains.
//!
//! Verification is a pure function of (report, certificates, anchors, policy, time): no clock,
//! no network, no global state. `no_std` with `alloc`; no `unsafe`.
//!
//! ```no_run
//! use snp_verify::{Policy, TrustAnchors, UnixTime, ReportOptions, verify_report};
//! use hcl_parse::SnpReport;
//!
//! # fn run(report: &[u8], vcek: &[u8], ask: &[u8], ark: &[u8]) -> Result<(), snp_verify::Error> {
//! let report = SnpReport::from_bytes(report)?;
//! let options = ReportOptions::at(UnixTime::from_secs(1_735_689_600));
//! let verified = verify_report(&TrustAnchors::amd(), &report, vcek, &[ask, ark], &options, &Policy::snp_default())?;
//! println!("{} report at VMPL {}", verified.product(), verified.vmpl());
//! # Ok(())
//! # }
//! ```
#![no_std]

extern crate alloc;

mod anchors;
mod binding;
mod cert;
mod chain;
mod crl;
mod error;
mod extensions;
mod policy;
mod signature;
mod verified;
mod verify;

pub use anchors::{
    AMD_PINS, Pin, SHIPPED_AMD_CERTIFICATES, TrustAnchors, shipped_amd_certificates,
};
pub use attest_prims::UnixTime;
pub use attest_prims::ecdsa::P384KeyTable;
pub use binding::{check_leaf_matches_report, resolve_generation};
pub use chain::{LeafCertificate, VerifiedCaChain, VerifiedLeaf};
pub use crl::{Revocation, RevocationStatus, check_revocation, verify_crl_signature};
pub use error::{CertRole, Error, ErrorKind, Result};
pub use extensions::AmdExtensions;
pub use hcl_parse;
pub use policy::{
    FirmwareListing, Listing, MinimumTcb, PRESETS, Policy, PolicyCheck, PolicyViolation,
};
pub use signature::{report_signature, verify_report_signature};
pub use verified::{GuestPolicyClaims, TcbClaims, VerifiedReport};
pub use verify::{
    AuthenticReport, ReportOptions, UnrevokedReport, authenticate_report, verify_report,
    verify_report_with,
};

/// The P-384 tables of recently seen VCEKs, by the SHA-256 of the certificate's DER. Owned by
/// the caller and passed explicitly; a multi-threaded service puts it behind a lock (the
/// `snp-vtpm` facade does).
pub type KeyTableCache = attest_prims::Lru<[u8; 32], alloc::sync::Arc<P384KeyTable>>;

/// Tables a [`KeyTableCache`] holds by default: 64 VCEKs, about 6 MB.
pub const DEFAULT_KEY_TABLES: usize = 64;
