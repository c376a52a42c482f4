//! Pure-Rust verification of AMD SEV-SNP attestation reports.
//!
//! | step | what is checked |
//! |---|---|
//! | [`VerifiedCaChain::verify`] | the ARK is pinned ([`TrustAnchors`]); the ASK/ASVK is pinned or signed by it; names, validity, RSASSA-PSS parameters (SHA-384, MGF1-SHA-384, salt 48) |
//! | [`VerifiedCaChain::verify_leaf`] | the VCEK/VLEK is signed by the intermediate; P-384 key; AMD extensions decoded strictly |
//! | binding | generation sources agree; key kind (VCEK/VLEK), hwID == chip_id and every SPL == reported_tcb, before the signature |
//! | signature | ECDSA P-384 over SHA-384 of the received bytes 0x000..0x2A0; R/S padding zero |
//! | revocation | a KDS CRL signed by the pinned ARK, current at the given time ([`Revocation`]) |
//! | appraisal | a [`Policy`] (presets `snp-default`, `azure-cvm`); a different [`ErrorKind`] |
//!
//! The report signature is checked by a verification-only P-384 path ([`ecdsa`]: precomputed
//! generator table, per-VCEK tables in a bounded [`KeyTableCache`], no final inversion);
//! p384's own verifier stays selectable ([`EcdsaEngine::Stock`], or build without the
//! default `fast-p384` feature).
//!
//! Verification is a pure function of (report, certificates, anchors, policy, time): no clock,
//! no network, no global state. `no_std` with `alloc`; no `unsafe`.
//!
//! ```no_run
//! use snp_verify::{Policy, TrustAnchors, UnixTime, VerifyOptions, verify_report};
//! use hcl_parse::SnpReport;
//!
//! # fn run(report: &[u8], vcek: &[u8], ask: &[u8], ark: &[u8]) -> Result<(), snp_verify::Error> {
//! let report = SnpReport::from_bytes(report)?;
//! let options = VerifyOptions::at(UnixTime::from_secs(1_735_689_600));
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
mod consthex;
mod crl;
pub mod ecdsa;
mod error;
mod extensions;
mod policy;
pub mod rsa_pss;
mod signature;
mod time;
mod verified;
mod verify;

pub use anchors::{AMD_PINS, Pin, TrustAnchors};
pub use binding::{check_leaf_matches_report, resolve_generation};
pub use chain::{LeafCertificate, VerifiedCaChain, VerifiedLeaf};
pub use crl::{Revocation, RevocationStatus, check_revocation, verify_crl_signature};
pub use ecdsa::{EcdsaEngine, KeyTableCache, P384KeyTable};
pub use error::{CertRole, Error, ErrorKind, Result};
pub use extensions::AmdExtensions;
pub use hcl_parse;
pub use policy::{
    AZURE_PARAVISOR_ID_KEY_DIGESTS, MinimumTcb, PRESETS, Policy, PolicyCheck, PolicyViolation,
};
pub use rsa_pss::RsaEngine;
pub use signature::{report_signature, verify_report_signature, verify_report_signature_with};
pub use time::UnixTime;
pub use verified::{GuestPolicyClaims, TcbClaims, VerifiedReport};
pub use verify::{
    AuthenticReport, UnrevokedReport, VerifyOptions, authenticate_report, authenticate_report_with,
    verify_report, verify_report_with,
};
