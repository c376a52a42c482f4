//! Pure-Rust verification of AMD SEV-SNP attestation reports: the ECDSA P-384 report
//! signature, the AMD certificate chain under pinned roots, the VCEK/VLEK extensions against
//! the report, revocation, and appraisal against a policy.
//!
//! The verifier lands with the SNP verification issue; this crate currently re-exports the
//! parsing layer it builds on.
#![no_std]

pub use hcl_parse;
