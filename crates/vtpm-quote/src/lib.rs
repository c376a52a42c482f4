//! TPM 2.0 quotes from the Azure vTPM, verified in pure Rust.
//!
//! | item | job |
//! |---|---|
//! | [`QuoteAttest`] | TPMS_ATTEST of a quote, parsed strictly (magic, type, names, clock, selection, digest) |
//! | [`QuoteSignature`] | TPMT_SIGNATURE (RSASSA, RSAPSS, ECDSA) or a bare RSA signature |
//! | [`AkPublic`], [`TpmPublic`] | the attestation key from a JWK, TPM2B_PUBLIC/TPMT_PUBLIC or SPKI |
//! | [`verify_quote`] | signature over the exact message, nonce (constant time), PCR digest |
//! | [`check_qualified_signer`] | the quote names the Azure-template AK that the claims carry |
//! | [`QuoteFile`] | `quote.bin` and the JSON quote layout |
//!
//! `no_std` with `alloc`, no TPM library, no `unsafe`. The guest side (reading the vTPM with
//! tss-esapi) comes behind the `tpm` feature.
//!
//! ```no_run
//! use vtpm_quote::{
//!     AkPublic, ExpectedNonce, PcrValues, QuoteAttest, QuoteFile, QuoteSignature, verify_quote,
//! };
//!
//! # fn run(quote_bin: &[u8], ak_pem: &[u8]) -> Result<(), vtpm_quote::Error> {
//! let file = QuoteFile::from_quote_bin(quote_bin)?;
//! let ak = AkPublic::from_spki_pem(ak_pem)?;
//! let signature = QuoteSignature::parse_any(&file.signature.0)?;
//! let pcrs = PcrValues::sha256_in_order(&file.pcrs.iter().map(|p| p.0.as_slice()).collect::<Vec<_>>())?;
//! let attest = QuoteAttest::parse(&file.message.0)?;
//! let nonce = ExpectedNonce::exactly(b"challenge")?;
//! let verified = verify_quote(&attest, &signature, &ak, nonce, &pcrs)?;
//! assert_eq!(verified.nonce(), b"challenge");
//! # Ok(())
//! # }
//! ```
#![cfg_attr(not(feature = "tpm"), no_std)]

extern crate alloc;

mod alg;
mod attest;
mod error;
mod formats;
#[cfg(feature = "tpm")]
pub mod guest;
pub mod name;
mod pcrs;
mod public;
mod reader;
mod signature;
mod verify;

pub use alg::HashAlg;
pub use attest::{ClockInfo, PcrBankSelection, QuoteAttest};
pub use error::{Error, Result};
pub use formats::QuoteFile;
pub use pcrs::{MAX_PCR_INDEX, PcrValues};
pub use public::{AkPublic, TpmPublic};
pub use signature::QuoteSignature;
pub use verify::{
    ExpectedNonce, MAX_NONCE_LEN, VerifiedPcrBank, VerifiedQuote, check_qualified_signer,
    verify_quote,
};
/// The steps of [`verify_quote`] one by one, for the fuzz targets only.
#[cfg(feature = "fuzzing")]
pub use verify::{check_nonce, check_pcr_digest, verify_signature};
