//! TPM 2.0 quotes from the Azure vTPM: parsing and pure-Rust verification of TPMS_ATTEST and
//! TPMT_SIGNATURE, and (with the `tpm` feature) the guest side over tss-esapi.
//!
//! The implementation lands with the quote issue; the crate exists so that the workspace
//! layout is complete.
#![no_std]
