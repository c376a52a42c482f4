//! Zero-copy, strict views of the bytes an Azure SEV-SNP vTPM hands out.
//!
//! On an Azure confidential VM the paravisor stores an *HCL report* in vTPM NV index
//! `0x01400001`: an AMD-signed SNP attestation report whose `report_data` is the hash of a JSON
//! *runtime claims* document holding the vTPM attestation key. This crate parses those bytes,
//! checks every header field, size and enumeration, and checks the `report_data` binding.
//! It verifies no signature (that is `snp-verify`'s job) and allocates nothing to build the
//! views (the claims JSON is parsed on request).
//!
//! | type | what it views |
//! |---|---|
//! | [`HclReport`] | the NV contents: header, hardware report, request data, runtime claims |
//! | [`SnpReport`] | exactly 1184 bytes of an SNP ATTESTATION_REPORT, versions 2 to 5 |
//! | [`RuntimeClaims`] | the claims JSON: keys by `kid`, `vm-configuration`, `user-data` |
//! | [`TcbVersion`] | a TCB value, decoded per [`Generation`] |
//!
//! AMD's layouts are cited where they are decoded (SEV Secure Nested Paging Firmware ABI
//! Specification, AMD pub. 56860, with the revision each table number comes from).
//!
//! `no_std` with `alloc`; no `unsafe`; every function returns an [`Error`] for bad input and
//! never panics.
//!
//! ```
//! use hcl_parse::{HclReport, SnpReport, Error};
//!
//! fn describe(nv: &[u8]) -> Result<(), Error> {
//!     let hcl = HclReport::parse(nv)?;
//!     let snp: SnpReport<'_> = hcl.snp_report()?;
//!     hcl.verify_report_data_binding()?;
//!     let ak = hcl.runtime_claims()?.attestation_key()?.rsa_public_numbers()?;
//!     assert_eq!(snp.signed_bytes().len(), 0x2A0);
//!     assert!(!ak.modulus.is_empty());
//!     Ok(())
//! }
//! assert!(matches!(describe(b"HCLA"), Err(Error::Truncated { .. })));
//! ```
#![no_std]

extern crate alloc;

mod binding;
mod bits;
mod claims;
#[cfg(any(test, feature = "compose"))]
pub mod compose;
mod error;
mod hcl;
pub mod snp;
mod tcb;
pub mod tdx;

// Hex display lives in attest-prims; re-exported so that callers keep `hcl_parse::Hex`.
pub use attest_prims::{Hex, HexBytes, HexSlice};
pub use binding::{HashType, expected_report_data};
pub use bits::{GuestPolicy, KeyInfo, PlatformInfo, SigningKey};
pub use claims::{
    AK_KID, BASE64URL, EK_KID, Jwk, RsaPublicNumbers, RuntimeClaims, VmConfiguration,
};
pub use error::{Error, Result};
pub use hcl::{HclReport, ReportType};
pub use snp::{Cpuid, FirmwareVersion, ReportSignature, SnpReport};
pub use tcb::{Generation, TcbComponents, TcbVersion};
pub use tdx::{TD_QUOTE_BODY_SIZE, TDREPORT_SIZE, TdReport};

/// Verifies a binding between claims bytes and a `report_data` value (for callers that hold
/// the two apart from an HCL report).
pub use binding::verify as verify_report_data;
