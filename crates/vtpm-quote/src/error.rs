//! The one error type of vtpm-quote's verification side.

use alloc::string::String;

use crate::alg::HashAlg;

/// Why a quote, signature, key or PCR set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input ends before a structure it must contain.
    #[error("{what} is truncated: needs {needed} more bytes, found {found}")]
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        found: usize,
    },
    /// Bytes remain after a structure that must fill its input.
    #[error("{what} has {count} bytes after its end")]
    TrailingBytes {
        /// The structure.
        what: &'static str,
        /// How many bytes are left over.
        count: usize,
    },
    /// A sized field is larger than the TPM allows.
    #[error("{field}: at most {max} bytes, found {found}")]
    FieldTooLarge {
        /// The field.
        field: &'static str,
        /// The limit.
        max: usize,
        /// The size found.
        found: usize,
    },
    /// TPMS_ATTEST does not start with TPM_GENERATED_VALUE.
    #[error("TPMS_ATTEST magic: expected ff544347, found {found:08x}")]
    BadMagic {
        /// The value found.
        found: u32,
    },
    /// TPMS_ATTEST is not a quote.
    #[error("TPMS_ATTEST type: expected 8018 (quote), found {found:04x}")]
    NotAQuote {
        /// The type found.
        found: u16,
    },
    /// An algorithm identifier this crate does not accept here.
    #[error("{field}: unsupported algorithm {found:#06x}")]
    UnsupportedAlgorithm {
        /// Where it was found.
        field: &'static str,
        /// The TPM_ALG_ID.
        found: u16,
    },
    /// A PCR selection is malformed (bitmap size, duplicate bank).
    #[error("PCR selection: {reason}")]
    BadPcrSelection {
        /// What is wrong.
        reason: String,
    },
    /// A public key could not be read.
    #[error("attestation key: {reason}")]
    BadKey {
        /// What is wrong.
        reason: String,
    },
    /// The signature scheme does not fit the key (RSA signature, EC key, ...).
    #[error("signature scheme {scheme} does not fit a {key} key")]
    SchemeKeyMismatch {
        /// The signature's scheme.
        scheme: &'static str,
        /// The key type.
        key: &'static str,
    },
    /// The quote's signature does not verify under the attestation key.
    #[error("quote signature does not verify under the attestation key")]
    BadSignature,
    /// The verifier's nonce is empty (no challenge) or longer than a TPM2B_DATA holds.
    #[error("nonce: expected 1 to {max} bytes (a TPM2B_DATA), found {found} bytes")]
    NonceLength {
        /// The most a quote's qualifying data holds ([`crate::MAX_NONCE_LEN`]).
        max: usize,
        /// The length given.
        found: usize,
    },
    /// The quote's nonce (extraData) is not the expected one.
    #[error("quote nonce: expected {expected}, found {found}")]
    NonceMismatch {
        /// The verifier's nonce (hex).
        expected: String,
        /// extraData of the quote (hex).
        found: String,
    },
    /// A selected PCR has no value among those supplied.
    #[error("PCR {bank}:{index} is selected by the quote but no value was supplied")]
    MissingPcr {
        /// Bank.
        bank: HashAlg,
        /// Index.
        index: u8,
    },
    /// A supplied PCR value is not covered by the quote.
    #[error("PCR {bank}:{index} was supplied but the quote does not cover it")]
    UnquotedPcr {
        /// Bank.
        bank: HashAlg,
        /// Index.
        index: u8,
    },
    /// A supplied PCR value has the wrong length for its bank.
    #[error("PCR {bank}:{index}: a {bank} value is {expected} bytes, found {found}")]
    PcrLength {
        /// Bank.
        bank: HashAlg,
        /// Index.
        index: u8,
        /// Expected length.
        expected: usize,
        /// Found length.
        found: usize,
    },
    /// The digest of the supplied PCR values is not the quote's pcrDigest.
    #[error("PCR digest: the quote says {expected}, the supplied PCR values hash to {found}")]
    PcrDigestMismatch {
        /// pcrDigest of the quote (hex).
        expected: String,
        /// Hash of the supplied values (hex).
        found: String,
    },
    /// The quote's qualifiedSigner is not the name of this AK under the Azure template.
    #[error(
        "qualifiedSigner: expected {expected} (Azure AK template with this modulus, endorsement hierarchy), found {found}"
    )]
    QualifiedSignerMismatch {
        /// The name rebuilt from the AK (hex).
        expected: String,
        /// The quote's qualifiedSigner (hex).
        found: String,
    },
    /// A file in one of the quote formats is malformed.
    #[error("{format}: {reason}")]
    BadFormat {
        /// The format.
        format: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
