//! Why a TD quote or its collateral was refused: every variant names the check, and what was
//! expected against what was found.

use alloc::string::String;
use alloc::vec::Vec;

use attest_prims::UnixTime;

/// The class of a failure, for callers that map failures to outcomes (exit codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The quote or the collateral cannot be parsed.
    Malformed,
    /// A signature, chain, revocation, binding or validity check failed.
    Refused,
    /// The collateral is not valid at the verification time (expired or not yet valid).
    Expired,
}

/// Why a TD quote was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A structure does not parse; `what` names the field.
    #[error("{what}: {reason}")]
    Malformed {
        /// The structure and field ("TD quote header.version", "TCB info", ...).
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// A field has a value this verifier does not accept.
    #[error("{what}: expected {expected}, found {found}")]
    Unexpected {
        /// The field.
        what: String,
        /// What is accepted.
        expected: String,
        /// What the quote or collateral holds.
        found: String,
    },
    /// A chain does not end at the pinned Intel SGX Root CA.
    #[error(
        "{chain}: expected the pinned Intel SGX Root CA (SHA-256 {expected}), found a root with SHA-256 {found}"
    )]
    UntrustedRoot {
        /// Which chain.
        chain: &'static str,
        /// The pin (hex).
        expected: String,
        /// The root given (hex).
        found: String,
    },
    /// A certificate chain is not well built (names, CA flags, lengths).
    #[error("{chain}: {reason}")]
    Chain {
        /// Which chain.
        chain: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A signature does not verify.
    #[error("{what}: the signature does not verify under the key of {signer}")]
    BadSignature {
        /// What was signed.
        what: String,
        /// Whose key was used.
        signer: String,
    },
    /// A certificate is listed in a CRL.
    #[error("{what} (serial {serial}) is revoked by the {crl}")]
    Revoked {
        /// The certificate.
        what: String,
        /// Its serial number (hex).
        serial: String,
        /// The CRL that lists it.
        crl: &'static str,
    },
    /// A certificate, CRL, TCB info or QE identity is not valid at the verification time.
    #[error("{what}: expected validity to include {time}, found {not_before} .. {not_after}")]
    NotValidAt {
        /// Which.
        what: String,
        /// The verification time.
        time: UnixTime,
        /// Start of validity (thisUpdate, issueDate).
        not_before: UnixTime,
        /// End of validity (nextUpdate).
        not_after: UnixTime,
    },
    /// The QE report's report_data does not commit to the attestation key and QE auth data.
    #[error(
        "QE report data: expected SHA-256(attestation key || QE auth data) {expected} then 32 zero bytes, found {found}"
    )]
    QeReportData {
        /// The expected 64 bytes (hex).
        expected: String,
        /// The QE report's (hex).
        found: String,
    },
    /// No TCB level of the collateral is met: the platform (or QE, or TDX module) is older
    /// than anything Intel lists.
    #[error("{what}: no TCB level is met ({detail})")]
    NoTcbLevel {
        /// Platform, QE identity or TDX module.
        what: &'static str,
        /// The values compared.
        detail: String,
    },
    /// The TCB level met says Revoked: the platform's keys are compromised.
    #[error("TCB status Revoked{}", advisories(advisory_ids))]
    TcbRevoked {
        /// The advisories of the level.
        advisory_ids: Vec<String>,
    },
}

fn advisories(ids: &[String]) -> String {
    if ids.is_empty() {
        String::new()
    } else {
        alloc::format!(" ({})", ids.join(", "))
    }
}

impl Error {
    /// The class of this failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Malformed { .. } => ErrorKind::Malformed,
            Self::NotValidAt { .. } => ErrorKind::Expired,
            Self::Unexpected { .. }
            | Self::UntrustedRoot { .. }
            | Self::Chain { .. }
            | Self::BadSignature { .. }
            | Self::Revoked { .. }
            | Self::QeReportData { .. }
            | Self::NoTcbLevel { .. }
            | Self::TcbRevoked { .. } => ErrorKind::Refused,
        }
    }

    pub(crate) fn malformed(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Malformed {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// A structural field with a value this verifier cannot read (malformed input, exit 1).
    pub(crate) fn malformed_field(
        what: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Self::Malformed {
            what: what.into(),
            reason: alloc::format!("expected {}, found {}", expected.into(), found.into()),
        }
    }

    pub(crate) fn unexpected(
        what: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Self::Unexpected {
            what: what.into(),
            expected: expected.into(),
            found: found.into(),
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
