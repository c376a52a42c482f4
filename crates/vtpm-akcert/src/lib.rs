//! The Azure vTPM attestation-key certificate, verified under Azure's pinned vTPM root.
//!
//! NV index 0x01C101D0 of an Azure vTPM holds a certificate in which Azure's vTPM service says
//! "this is the attestation key I provisioned for VM <id>". Verified, it names the VM and gives
//! the AK a second root, independent of the hardware report's.
//!
//! | item | job |
//! |---|---|
//! | [`verify_ak_certificate`] | the path leaf -> intermediates -> pinned root, with the rules listed in `path.rs` (RFC 5280 and Azure's profile) |
//! | [`VtpmAnchors`] | the pinned root ([`AZURE_VTPM_ROOT_SHA256`]) and the shipped intermediates (transport only), or an explicit test root |
//! | [`VerifiedAkCertificate`] | the certified key ([`VerifiedAkCertificate::certifies`]), the VM id, the issuer, the validity |
//!
//! Pure Rust, `no_std` with `alloc`, no network, the time a parameter.
//!
//! ```no_run
//! use vtpm_akcert::{VtpmAnchors, verify_ak_certificate};
//! use attest_prims::UnixTime;
//!
//! # fn run(nv_contents: &[u8]) -> Result<(), vtpm_akcert::Error> {
//! let verified = verify_ak_certificate(nv_contents, &[], &VtpmAnchors::azure(), UnixTime::from_secs(1_780_000_000))?;
//! println!("AK of VM {:?}, issued by {}", verified.vm_id(), verified.issuer());
//! # Ok(())
//! # }
//! ```
#![no_std]

extern crate alloc;

mod anchors;
mod cert;
mod error;
mod path;
mod verified;

pub use anchors::{AZURE_VTPM_ROOT_SHA256, SHIPPED_CERTIFICATES, VtpmAnchors};
pub use cert::der_from_nv;
pub use error::{Error, ErrorKind, Result};
pub use path::{
    MAX_CARRIED, MAX_PATH_CAS, MAX_SIGNATURE_CHECKS, check_issued_by, verify_ak_certificate,
};
pub use verified::{VerifiedAkCertificate, vm_id};
