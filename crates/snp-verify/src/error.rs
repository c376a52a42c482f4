//! The one error type of snp-verify. Every variant names the failed check and carries the
//! values compared; [`Error::kind`] separates malformed input, failed cryptography or binding,
//! revocation, and policy.

use alloc::boxed::Box;
use alloc::string::String;
use core::fmt;

use hcl_parse::{Generation, Hex, SigningKey};

use crate::policy::PolicyViolation;
use attest_prims::UnixTime;

/// Which certificate of the AMD chain a check concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CertRole {
    /// AMD root key (self-signed).
    Ark,
    /// AMD SEV key: signs VCEKs.
    Ask,
    /// AMD SEV VLEK key: signs VLEKs.
    Asvk,
    /// Versioned chip endorsement key (the leaf of a VCEK chain).
    Vcek,
    /// Versioned loaded endorsement key (the leaf of a VLEK chain).
    Vlek,
}

impl fmt::Display for CertRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ark => "ARK",
            Self::Ask => "ASK",
            Self::Asvk => "ASVK",
            Self::Vcek => "VCEK",
            Self::Vlek => "VLEK",
        })
    }
}

/// The class of a failure, for callers that react differently to each (the `snp-vtpm` facade
/// maps it into its own typed error's `kind()`, from which its binary derives exit codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ErrorKind {
    /// The input is not well formed (bad DER, bad report layout).
    Malformed,
    /// A signature, chain, binding or trust check failed: the evidence is not authentic.
    Cryptographic,
    /// Revocation could not be checked as required, or a certificate is revoked.
    Revocation,
    /// The evidence is authentic but the appraisal policy refuses it.
    Policy,
}

/// Why a report, certificate chain or CRL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The report bytes are malformed.
    #[error(transparent)]
    Report(#[from] hcl_parse::Error),
    /// A certificate or CRL is not well-formed DER of the expected structure.
    #[error("{role} certificate is malformed: {reason}")]
    MalformedCertificate {
        /// Which certificate.
        role: CertRole,
        /// What the decoder reported.
        reason: String,
    },
    /// No certificate in the input is a trusted root.
    #[error("ARK is not trusted: SHA-256 of its DER {found} matches no pinned AMD root")]
    UntrustedRoot {
        /// SHA-256 of the offered root certificate.
        found: Hex<32>,
    },
    /// A certificate's name is not the one AMD gives it.
    #[error("{role} {field}: expected \"{expected}\", found \"{found}\"")]
    NameMismatch {
        /// Which certificate.
        role: CertRole,
        /// "subject" or "issuer".
        field: &'static str,
        /// The expected common name or distinguished name.
        expected: String,
        /// What the certificate holds.
        found: String,
    },
    /// The signature algorithm of a certificate or CRL is not RSASSA-PSS with AMD's parameters.
    #[error("{role} signature algorithm: expected {expected}, found {found}")]
    SignatureAlgorithm {
        /// The certificate or the CRL issuer's role.
        role: CertRole,
        /// The required algorithm and parameters.
        expected: &'static str,
        /// What the AlgorithmIdentifier holds.
        found: String,
    },
    /// The RSA signature of a certificate does not verify under its issuer's key.
    #[error("{role} signature does not verify under the {issuer} key")]
    BadCertificateSignature {
        /// The signed certificate.
        role: CertRole,
        /// The issuer whose key was used.
        issuer: CertRole,
    },
    /// A certificate is not valid at the verification time.
    #[error("{role} is not valid at {time}: valid from {not_before} to {not_after}")]
    CertificateNotValid {
        /// Which certificate.
        role: CertRole,
        /// Verification time.
        time: UnixTime,
        /// Start of validity.
        not_before: UnixTime,
        /// End of validity.
        not_after: UnixTime,
    },
    /// A certificate's public key is not of the required type.
    #[error("{role} public key: expected {expected}, found {found}")]
    WrongKeyType {
        /// Which certificate.
        role: CertRole,
        /// The required key type.
        expected: &'static str,
        /// The algorithm found.
        found: String,
    },
    /// A certificate carries something AMD's certificates never do.
    #[error("{role} certificate: {reason}")]
    UnexpectedCertificateContent {
        /// Which certificate.
        role: CertRole,
        /// What is wrong.
        reason: String,
    },
    /// A VCEK/VLEK extension is missing or malformed.
    #[error("{role} extension {name} ({oid}): {reason}")]
    BadExtension {
        /// Which certificate.
        role: CertRole,
        /// The extension's name (blSPL, hwID, ...).
        name: &'static str,
        /// Its OID.
        oid: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The CPU generation from two sources disagrees.
    #[error("product: the {first_source} says {first}, the {second_source} says {second}")]
    GenerationConflict {
        /// The first source (report CPUID, VCEK productName, AMD root, caller hint).
        first_source: &'static str,
        /// Its generation.
        first: Generation,
        /// The second source.
        second_source: &'static str,
        /// Its generation.
        second: Generation,
    },
    /// The report's key-info names another kind of signing key than the certificate is.
    #[error(
        "signing key: the report says it is signed by the {report}, the certificate is a {certificate}"
    )]
    SigningKeyMismatch {
        /// What the report's key_info says.
        report: SigningKey,
        /// The certificate's kind.
        certificate: CertRole,
    },
    /// The chip id is masked (all zero), so a VCEK cannot be bound to this chip.
    #[error("chip id is masked (all zero): a VCEK cannot be bound to the report")]
    ChipIdMasked,
    /// The VCEK belongs to another chip.
    #[error(
        "VCEK hwID does not match the report's chip_id (a VCEK of another chip): expected {expected}, found {found}"
    )]
    HwIdMismatch {
        /// The report's chip id (first 8 bytes on Turin).
        expected: String,
        /// The certificate's hwID.
        found: String,
    },
    /// The VCEK was issued for another TCB than the report's reported_tcb.
    #[error(
        "{role} {component} does not match the report's reported_tcb: expected {expected}, found {found}"
    )]
    TcbMismatch {
        /// Which certificate.
        role: CertRole,
        /// The SPL (blSPL, teeSPL, snpSPL, ucodeSPL, fmcSPL).
        component: &'static str,
        /// The report's value.
        expected: u8,
        /// The certificate's value.
        found: u8,
    },
    /// The report's signature algorithm is not ECDSA P-384 with SHA-384.
    #[error("report signature algorithm: expected 1 (ECDSA P-384 with SHA-384), found {found}")]
    ReportSignatureAlgorithm {
        /// The value found.
        found: u32,
    },
    /// Bytes 48..72 of R or S are not zero.
    #[error("report signature {component}: bytes 48..72 must be zero, found {found}")]
    SignaturePadding {
        /// "R" or "S".
        component: &'static str,
        /// The padding found.
        found: Box<Hex<24>>,
    },
    /// R or S is zero or not below the group order.
    #[error("report signature: R or S is out of range")]
    SignatureOutOfRange,
    /// The report signature does not verify under the VCEK/VLEK key.
    #[error("report signature does not verify under the {0} key")]
    BadReportSignature(CertRole),
    /// The CRL is not signed by the ARK, names another issuer, or is malformed.
    #[error("CRL: {reason}")]
    BadCrl {
        /// What is wrong.
        reason: String,
    },
    /// The CRL is not current at the verification time.
    #[error("CRL is not current at {time}: this update {this_update}, next update {next_update}")]
    StaleCrl {
        /// Verification time.
        time: UnixTime,
        /// thisUpdate.
        this_update: UnixTime,
        /// nextUpdate.
        next_update: UnixTime,
    },
    /// A certificate of the chain is revoked.
    #[error("{role} with serial number {serial} is revoked")]
    Revoked {
        /// Which certificate.
        role: CertRole,
        /// Its serial number (hex).
        serial: String,
    },
    /// The caller requires a revocation check and supplied no CRL.
    #[error("revocation check required, but no CRL was given")]
    CrlRequired,
    /// The evidence is authentic, but the appraisal policy refuses it.
    #[error("policy: {0}")]
    Policy(Box<PolicyViolation>),
}

impl Error {
    /// The class of this failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Report(_) | Self::MalformedCertificate { .. } => ErrorKind::Malformed,
            Self::BadCrl { .. }
            | Self::StaleCrl { .. }
            | Self::Revoked { .. }
            | Self::CrlRequired => ErrorKind::Revocation,
            Self::Policy(_) => ErrorKind::Policy,
            _ => ErrorKind::Cryptographic,
        }
    }
}

impl From<PolicyViolation> for Error {
    fn from(violation: PolicyViolation) -> Self {
        Self::Policy(Box::new(violation))
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
