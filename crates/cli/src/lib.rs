//! Attestation for Azure SEV-SNP confidential VMs: one entry point for verifiers and guests.
//!
//! | feature | what it adds | pulls |
//! |---|---|---|
//! | (none) | [`Evidence`], [`Verifier`], [`EvidencePolicy`]: verification only | pure Rust; builds for wasm32 |
//! | `fetch` | certificate fetching (AMD KDS, Azure IMDS, disk cache) | ureq, rustls |
//! | `attester` | the guest side: [`attester::Attester`] over the vTPM | tss-esapi (libtss2) |
//! | `cli` (default) | the `snp-vtpm` binary | clap |
//!
//! A verifier service depends on `snp-vtpm` with `default-features = false` and gets no TPM
//! library, OpenSSL, HTTP client or CLI parser.
//!
//! Verifying (pure: the time is a parameter; certificates come with the evidence or beside it;
//! for TDX evidence, the Intel collateral goes in [`Certificates::tdx_collateral`] and the
//! policy is `azure-tdx`):
//!
//! ```no_run
//! use snp_vtpm::{Certificates, Evidence, EvidencePolicy, ExpectedNonce, Verifier, VerifyOptions};
//! use snp_verify::UnixTime;
//!
//! # fn run(evidence_json: &[u8], amd_chain_pem: &[u8], nonce: &[u8]) -> Result<(), snp_vtpm::Error> {
//! let evidence = Evidence::from_json(evidence_json, snp_vtpm::DEFAULT_SIZE_LIMIT)?;
//! let mut certificates = Certificates::default();
//! certificates.add_file(amd_chain_pem)?;
//! let verifier = Verifier::new(EvidencePolicy::preset("azure-cvm").expect("built-in preset"));
//! let verified = verifier.verify(
//!     &evidence,
//!     ExpectedNonce::Exactly(nonce),
//!     &certificates,
//!     &VerifyOptions::at(UnixTime::from_secs(1_750_000_000)),
//! )?;
//! if let Some(report) = verified.report() {
//!     println!("{} VM", report.product());
//! }
//! if let Some(tdx) = verified.tdx() {
//!     println!("TDX VM, MRTD {}, TCB {}", tdx.quote.body().mr_td, tdx.quote.tcb().status);
//! }
//! println!("PCR 7 = {:?}", verified.quote().pcr(vtpm_quote::HashAlg::Sha256, 7));
//! # Ok(())
//! # }
//! ```
//!
//! A service verifying evidence from many VMs gives its verifier a [`VerificationCache`]
//! ([`Verifier::with_cache`]: verified AMD chains, VCEKs and their P-384 tables, shared across
//! threads) and verifies batches over all cores with [`Verifier::verify_batch`] (see
//! [`VerificationCache`] and `docs/performance.md`).
//!
//! Gathering evidence on the guest (feature `attester`):
//!
//! ```no_run
//! # #[cfg(feature = "attester")]
//! # fn run() -> Result<(), snp_vtpm::Error> {
//! use snp_vtpm::attester::{Attester, AttesterOptions};
//! let mut attester = Attester::open(None, AttesterOptions::default())?;
//! let evidence = attester.evidence(b"nonce from the verifier", true)?;
//! std::fs::write("evidence.json", evidence.to_json()).expect("writable");
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "attester")]
pub mod attester;
mod batch;
mod build_info;
mod cache;
mod capture;
mod catalog;
pub mod certs;
mod claims;
pub mod decode;
mod document;
mod error;
mod evidence;
#[cfg(feature = "fetch")]
pub mod fetch;
mod firmware;
pub mod offline;
mod policy;
pub mod policy_text;
mod stages;
mod tdx;
pub mod terminal;
mod verdict;
mod verifier;

#[cfg(feature = "fetch")]
pub use amd_kds;
pub use batch::BatchItem;
pub use build_info::{BuildInfo, PinnedCertificate, PresetDigest};
pub use cache::{CacheLimits, CacheMode, VerificationCache};
pub use capture::{
    CaptureOptions, DEFAULT_CAPTURE_PCRS, EventLogReference, ReferenceValues,
    accepted_unknown_firmware, capture, capture_into,
};
pub use catalog::{CATALOG_FORMAT, CatalogEntry, FirmwareCatalog, IdentityKind};
pub use claims::{AkCertificateClaims, EventLogClaims, FirmwareClaims, VmConfigurationClaims};
pub use document::VerdictDocument;
pub use error::{Check, Error, ErrorKind, Missing, PolicyViolation, Staleness};
pub use evidence::{DEFAULT_SIZE_LIMIT, Evidence, EvidenceVersion, MAX_CERT_CHAIN, QuoteParts};
pub use policy::{
    AkCertificateRule, DEFAULT_EVIDENCE_PRESET, DEFAULT_REPORT_PRESET, DEFAULT_TD_QUOTE_PRESET,
    DEFAULT_TDX_PRESET, EventLogPolicy, EvidencePolicy, PRESETS, PcrPolicy, PcrValues, Platform,
    VmConfigurationPolicy,
};
pub use stages::HardwareReport;
pub use tdx::{DEFAULT_TCB_STATUSES, TD_ATTRIBUTE_MIGRATABLE, TdxClaims, TdxPolicy};
pub use verdict::{CheckRecord, Outcome, VerifiedEvidence};
pub use verifier::{
    Certificates, Verifier, VerifyOptions, check_report_data, check_report_data_bytes,
    check_report_data_length,
};
pub use vtpm_quote::{ExpectedNonce, MAX_NONCE_LEN};
pub use {attest_prims, hcl_parse, snp_verify, tcg_eventlog, tdx_verify, vtpm_akcert, vtpm_quote};
