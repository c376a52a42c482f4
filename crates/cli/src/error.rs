//! The facade's error: which check failed, with expected and found values, and the exit code
//! that class of failure maps to.

use std::fmt;

/// Exit codes of `snp-vtpm` (also in `--help`, the README and `docs/cli.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[repr(u8)]
pub enum ExitCode {
    /// Verified.
    Verified = 0,
    /// Usage error, or unreadable or malformed input.
    Input = 1,
    /// A cryptographic, binding or freshness check failed.
    Verification = 2,
    /// A policy check failed (firmware identity, TCB minima, debug, VMPL, PCRs, ...).
    Policy = 3,
    /// Certificates or CRL unavailable (offline, KDS refused after retries).
    Unavailable = 4,
    /// The TPM failed.
    Tpm = 5,
}

/// The stage of verification an error belongs to (a stable name for JSON verdicts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Reading and parsing the inputs.
    Input,
    /// The AMD certificate chain.
    Chain,
    /// VCEK/VLEK against the report (hwID, TCB, key kind).
    VcekBinding,
    /// The report's ECDSA signature.
    ReportSignature,
    /// report_data against the runtime claims.
    ReportDataBinding,
    /// The AK in the runtime claims.
    AkFromClaims,
    /// qualifiedSigner against the AK.
    QualifiedSigner,
    /// The quote's signature.
    QuoteSignature,
    /// The quote's nonce.
    Nonce,
    /// The PCR values against pcrDigest.
    PcrDigest,
    /// The TCG event log against the quoted PCR values.
    EventLog,
    /// The report bound to the nonce through user-data.
    ReportFreshness,
    /// Revocation.
    Revocation,
    /// Which firmware produced the report.
    FirmwareIdentity,
    /// The appraisal policy.
    Policy,
    /// Getting certificates.
    Certificates,
    /// The TPM.
    Tpm,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        f.write_str(&text.replace('_', " "))
    }
}

/// The typed error of the crate a failure came from, for callers that inspect it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cause {
    /// From snp-verify.
    Report(snp_verify::Error),
    /// From vtpm-quote.
    Quote(vtpm_quote::Error),
    /// From hcl-parse.
    Hcl(hcl_parse::Error),
    /// A check of the facade itself (freshness, firmware identity, PCR policy, inputs).
    Facade,
}

/// Why evidence was refused, or could not be gathered.
#[derive(Debug, thiserror::Error)]
#[error("{check}: {message}")]
pub struct Error {
    check: Check,
    code: ExitCode,
    message: String,
    cause: Cause,
}

impl Error {
    /// An error of a check with a class of exit code.
    pub fn new(check: Check, code: ExitCode, message: impl Into<String>) -> Self {
        Self {
            check,
            code,
            message: message.into(),
            cause: Cause::Facade,
        }
    }

    /// The typed error underneath.
    pub fn cause(&self) -> &Cause {
        &self.cause
    }

    fn with_cause(mut self, cause: Cause) -> Self {
        self.cause = cause;
        self
    }

    /// Malformed or unreadable input.
    pub fn input(message: impl Into<String>) -> Self {
        Self::new(Check::Input, ExitCode::Input, message)
    }

    /// The failed check.
    pub fn check(&self) -> Check {
        self.check
    }

    /// The exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        self.code
    }

    /// The message, without the check's name.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Maps an SNP verification error to its check and class.
    pub(crate) fn from_snp(error: snp_verify::Error) -> Self {
        use snp_verify::{Error as E, ErrorKind};
        let check = match &error {
            E::Report(_) | E::MalformedCertificate { .. } => Check::Input,
            E::GenerationConflict { .. }
            | E::SigningKeyMismatch { .. }
            | E::ChipIdMasked
            | E::HwIdMismatch { .. }
            | E::TcbMismatch { .. } => Check::VcekBinding,
            E::ReportSignatureAlgorithm { .. }
            | E::SignaturePadding { .. }
            | E::SignatureOutOfRange
            | E::BadReportSignature(_) => Check::ReportSignature,
            E::BadCrl { .. } | E::StaleCrl { .. } | E::Revoked { .. } | E::CrlRequired => {
                Check::Revocation
            }
            E::Policy(_) => Check::Policy,
            _ => Check::Chain,
        };
        let code = match error.kind() {
            ErrorKind::Malformed => ExitCode::Input,
            ErrorKind::Policy => ExitCode::Policy,
            ErrorKind::Revocation if matches!(error, E::CrlRequired) => ExitCode::Unavailable,
            _ => ExitCode::Verification,
        };
        Self::new(check, code, error.to_string()).with_cause(Cause::Report(error))
    }

    /// Maps a quote verification error to its check and class.
    pub(crate) fn from_quote(error: vtpm_quote::Error) -> Self {
        use vtpm_quote::Error as E;
        let (check, code) = match &error {
            E::BadSignature | E::SchemeKeyMismatch { .. } => {
                (Check::QuoteSignature, ExitCode::Verification)
            }
            E::NonceMismatch { .. } => (Check::Nonce, ExitCode::Verification),
            E::MissingPcr { .. }
            | E::UnquotedPcr { .. }
            | E::PcrDigestMismatch { .. }
            | E::PcrLength { .. } => (Check::PcrDigest, ExitCode::Verification),
            E::QualifiedSignerMismatch { .. } => (Check::QualifiedSigner, ExitCode::Verification),
            E::BadEventLog { .. } => (Check::EventLog, ExitCode::Input),
            E::EventLogMismatch { .. }
            | E::EventDataContradictsDigest { .. }
            | E::EventLogNotComparable { .. } => (Check::EventLog, ExitCode::Verification),
            E::BadKey { .. } => (Check::AkFromClaims, ExitCode::Verification),
            _ => (Check::Input, ExitCode::Input),
        };
        Self::new(check, code, error.to_string()).with_cause(Cause::Quote(error))
    }

    /// Maps an HCL/SNP parsing or binding error.
    pub(crate) fn from_hcl(error: hcl_parse::Error) -> Self {
        use hcl_parse::Error as E;
        let (check, code) = match &error {
            E::ReportDataMismatch { .. } => (Check::ReportDataBinding, ExitCode::Verification),
            E::MissingKey { .. } | E::DuplicateKey { .. } | E::InvalidKey { .. } => {
                (Check::AkFromClaims, ExitCode::Verification)
            }
            _ => (Check::Input, ExitCode::Input),
        };
        Self::new(check, code, error.to_string()).with_cause(Cause::Hcl(error))
    }
}
