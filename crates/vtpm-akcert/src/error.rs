//! Why an AK certificate was refused, with expected and found values.

use alloc::string::String;
use alloc::vec::Vec;

use attest_prims::UnixTime;

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A certificate cannot be parsed (or the NV contents are not DER then zeros).
    Malformed,
    /// A check of the path failed: the certificate is not what Azure's vTPM CA issued.
    Refused,
    /// The issuer of a certificate is neither carried with it nor shipped.
    Unavailable,
}

/// Why an AK certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A certificate cannot be parsed.
    #[error("{what}: not a DER X.509 certificate: {reason}")]
    Malformed {
        /// Which certificate ("AK certificate", "intermediate 2", ...).
        what: String,
        /// The decoder's message, naming the field.
        reason: String,
    },
    /// The NV index holds something after the certificate other than zero padding.
    #[error(
        "AK certificate NV contents: expected the DER certificate ({der_len} bytes) then zero bytes, found {found:#04x} at offset {offset}"
    )]
    NvPadding {
        /// The certificate's length.
        der_len: usize,
        /// Where the first non-zero byte is.
        offset: usize,
        /// That byte.
        found: u8,
    },
    /// More certificates were carried, or signature checks needed, than a path can use.
    #[error(
        "AK certificate chain: expected at most {max} certificates or signature checks, found {found}"
    )]
    TooManyCertificates {
        /// The limit.
        max: usize,
        /// How many were given.
        found: usize,
    },
    /// No certificate carried or shipped is named as the issuer and verifies the signature.
    #[error(
        "AK certificate chain: the issuer of \"{subject}\", \"{issuer}\", is neither in the evidence nor shipped (or none of those named so signed it)"
    )]
    IssuerUnavailable {
        /// The certificate whose issuer is missing.
        subject: String,
        /// Its issuer's name.
        issuer: String,
    },
    /// The path ends at a self-signed certificate that is not the pinned root.
    #[error(
        "AK certificate chain: expected the pinned Azure vTPM root (SHA-256 {expected}), found the self-signed \"{subject}\" (SHA-256 {found})"
    )]
    UntrustedRoot {
        /// The pinned root's SHA-256 (hex).
        expected: String,
        /// The self-signed certificate reached.
        subject: String,
        /// Its SHA-256 (hex).
        found: String,
    },
    /// The path is longer than any Azure issues.
    #[error("AK certificate chain: expected at most {max} CAs above the leaf, found more")]
    PathTooLong {
        /// The limit.
        max: usize,
    },
    /// A signature algorithm other than RSA PKCS#1 v1.5 with SHA-256/384/512, or the TBS and
    /// outer algorithms differ.
    #[error(
        "\"{subject}\": signature algorithm: expected sha256/384/512WithRSAEncryption (the same inside and outside the signed part), found {found}"
    )]
    SignatureAlgorithm {
        /// The certificate.
        subject: String,
        /// What it names.
        found: String,
    },
    /// The issuer's key does not verify the certificate's signature.
    #[error("\"{subject}\": the signature does not verify under the key of \"{issuer}\"")]
    BadSignature {
        /// The certificate.
        subject: String,
        /// The issuer whose key was used.
        issuer: String,
    },
    /// A certificate is not valid at the verification time.
    #[error(
        "\"{subject}\": expected validity to include {time}, found {not_before} .. {not_after}"
    )]
    NotValid {
        /// The certificate.
        subject: String,
        /// The verification time.
        time: UnixTime,
        /// notBefore.
        not_before: UnixTime,
        /// notAfter.
        not_after: UnixTime,
    },
    /// An issuer is not a CA (basicConstraints absent or CA:FALSE), or may not sign
    /// certificates (keyUsage without keyCertSign).
    #[error("\"{subject}\" issues a certificate but is not a CA: {reason}")]
    NotACa {
        /// The issuer.
        subject: String,
        /// What its extensions say.
        reason: String,
    },
    /// A CA's pathLenConstraint is exceeded.
    #[error(
        "\"{subject}\": pathLenConstraint {path_len} allows {path_len} CAs below it, found {below}"
    )]
    PathLength {
        /// The CA.
        subject: String,
        /// Its constraint.
        path_len: u8,
        /// CAs below it in the path.
        below: usize,
    },
    /// The leaf is a CA, may not sign, or lacks the AK extended key usage.
    #[error("AK certificate \"{subject}\": {reason}")]
    NotAnAkCertificate {
        /// The leaf.
        subject: String,
        /// What is wrong.
        reason: String,
    },
    /// The leaf's EKUs name neither the TCG AIK purpose nor Microsoft's vTPM AK purpose.
    #[error(
        "AK certificate \"{subject}\": extended key usage: expected 2.23.133.8.3 or 1.3.6.1.4.1.311.10.3.12, found [{}]",
        found.join(", ")
    )]
    ExtendedKeyUsage {
        /// The leaf.
        subject: String,
        /// The EKUs it carries.
        found: Vec<String>,
    },
    /// A critical extension this verifier does not process (RFC 5280, 4.2: refuse).
    #[error("\"{subject}\": unknown critical extension {oid}")]
    UnknownCriticalExtension {
        /// The certificate.
        subject: String,
        /// The extension.
        oid: String,
    },
    /// An extension appears twice (RFC 5280, 4.2) or cannot be decoded.
    #[error("\"{subject}\": extension {oid}: {reason}")]
    BadExtension {
        /// The certificate.
        subject: String,
        /// The extension.
        oid: String,
        /// What is wrong.
        reason: String,
    },
    /// A certificate offered as the issuer of another has another name than the one it names.
    #[error(
        "\"{subject}\": expected its issuer \"{expected}\", found the certificate of \"{found}\""
    )]
    NotTheIssuer {
        /// The certificate.
        subject: String,
        /// The issuer it names.
        expected: String,
        /// The subject of the certificate offered.
        found: String,
    },
    /// The certified key is not RSA, or cannot be decoded.
    #[error("\"{subject}\": public key: {reason}")]
    BadKey {
        /// The certificate.
        subject: String,
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    /// The class of this failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Malformed { .. } | Self::NvPadding { .. } | Self::TooManyCertificates { .. } => {
                ErrorKind::Malformed
            }
            Self::IssuerUnavailable { .. } => ErrorKind::Unavailable,
            Self::UntrustedRoot { .. }
            | Self::PathTooLong { .. }
            | Self::SignatureAlgorithm { .. }
            | Self::BadSignature { .. }
            | Self::NotValid { .. }
            | Self::NotACa { .. }
            | Self::PathLength { .. }
            | Self::NotAnAkCertificate { .. }
            | Self::ExtendedKeyUsage { .. }
            | Self::UnknownCriticalExtension { .. }
            | Self::BadExtension { .. }
            | Self::NotTheIssuer { .. }
            | Self::BadKey { .. } => ErrorKind::Refused,
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
