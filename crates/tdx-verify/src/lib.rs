//! Intel TDX quote verification (DCAP) in pure Rust: no C, no network, no clock (the time is a
//! parameter), builds for wasm32.
//!
//! | module | job |
//! |---|---|
//! | [`quote`] | the TD quote (v4, v5; TD 1.0 and 1.5 bodies): lengths, fields, the bytes each signature covers |
//! | [`body`] | the TD report body (MRTD, RTMRs, report data, TEE_TCB_SVN) and the QE report |
//! | [`collateral`] | CRLs, TCB info, QE identity and their chains, as received (from a file or PCS answers) |
//! | `request` | which collateral a quote needs ([`CollateralRequest`]: FMSPC, PCK CA) |
//! | `pki` | ECDSA P-256 certificates, CRLs and chains to the pinned Intel SGX Root CA ([`IntelRoots`]) |
//! | `sgx_ext` | the PCK certificate's SGX extension: TCB components, PCE SVN, FMSPC, PCE id |
//! | [`tcb`] | TCB levels, the TDX module identity, the QE identity: the TCB status |
//! | [`verify`](verify_td_quote) | all of it in order ([`VerifiedTdQuote`]); the collateral alone ([`verify_collateral`]), before it is cached |
//!
//! Trust comes from one pin: the SHA-256 of the Intel SGX Root CA's DER
//! ([`INTEL_SGX_ROOT_SHA256`]). The root's certificate ships with the crate
//! ([`SHIPPED_INTEL_ROOT_PEM`]) as transport; chains carry their own copy, which must match the
//! pin. Whether a TCB status is acceptable is the caller's policy: this crate reports it (and
//! refuses only Revoked).
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod body;
pub mod collateral;
mod error;
mod pki;
pub mod quote;
mod request;
mod sgx_ext;
pub mod tcb;
mod verify;

pub use body::{QeReport, TdReportBody};
pub use collateral::{Collateral, PcsAnswers};
pub use error::{Error, ErrorKind, Result};
pub use pki::{INTEL_SGX_ROOT_SHA256, IntelRoots, SHIPPED_INTEL_ROOT_PEM};
pub use quote::TdQuote;
pub use request::{CollateralRequest, PckCa};
pub use sgx_ext::SgxExtensions;
pub use tcb::{TcbStatus, TcbVerdict};
pub use verify::{VerifiedCollateral, VerifiedTdQuote, verify_collateral, verify_td_quote};
