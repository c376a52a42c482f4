//! The facade's error: the typed error of the crate a failure came from, or a typed violation
//! of a check the facade makes itself. Each names the check that failed ([`Error::check`]) and
//! its class ([`Error::kind`]); the `snp-vtpm` binary turns the class into an exit code and adds
//! hints about its own flags, so no message here names one.
//!
//! Every inner error variant is mapped by name (the inner enums are exhaustive within the
//! workspace): a new variant does not compile until it has a check and a class here.

use std::fmt;

use hcl_parse::{Hex, HexBytes};
use vtpm_quote::HashAlg;

use crate::claims::FirmwareClaims;

/// What kind of failure an error is: what a caller can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Unreadable or malformed input, or a request that cannot be served as given.
    Input,
    /// A cryptographic, binding or freshness check failed: the evidence is not authentic.
    Verification,
    /// The evidence is authentic, but a policy check failed (firmware identity, TCB, PCRs, ...).
    Policy,
    /// Certificates or a CRL the verification needs cannot be had (offline, refused, absent).
    Unavailable,
    /// The TPM failed.
    Tpm,
}

impl ErrorKind {
    /// The exit code `snp-vtpm` gives this kind of failure, and the `exit_code` of every
    /// verdict document (0 is success): 1 input, 2 verification, 3 policy, 4 unavailable,
    /// 5 TPM.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Input => 1,
            Self::Verification => 2,
            Self::Policy => 3,
            Self::Unavailable => 4,
            Self::Tpm => 5,
        }
    }
}

/// The stage of verification an error belongs to (a stable name for JSON verdicts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Reading and parsing the inputs.
    Input,
    /// The AMD certificate chain.
    Chain,
    /// The TD quote and its collateral (Intel PCK chain, CRLs, TCB info, QE identity).
    TdQuote,
    /// The HCL report's TDREPORT against the TD quote.
    TdReportBinding,
    /// VCEK/VLEK against the report (hwID, TCB, key kind).
    VcekBinding,
    /// The report's ECDSA signature.
    ReportSignature,
    /// report_data against the runtime claims.
    ReportDataBinding,
    /// The AK in the runtime claims.
    AkFromClaims,
    /// The vTPM AK certificate: its path to Azure's pinned vTPM root and the key it certifies.
    AkCertificate,
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

/// Why evidence was refused, or could not be gathered. Displayed as `<check>: <message>`.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Input the facade reads itself is malformed (evidence JSON, certificate files, policy
    /// documents) or a request cannot be served as given.
    Input(String),
    /// The HCL report or its runtime claims (hcl-parse).
    Hcl(hcl_parse::Error),
    /// The SNP report, its certificates, revocation or report policy (snp-verify).
    Report(snp_verify::Error),
    /// The vTPM quote or the AK (vtpm-quote).
    Quote(vtpm_quote::Error),
    /// The TCG event log (tcg-eventlog).
    EventLog(tcg_eventlog::Error),
    /// The vTPM AK certificate's path (vtpm-akcert).
    AkCertificate(vtpm_akcert::Error),
    /// The AK certificate verifies but certifies another key than the one that signed the
    /// quote.
    AkCertificateKey {
        /// The certificate's subject.
        subject: String,
        /// The certified key's fingerprint, as the verdict's `ak_fingerprint` names keys.
        certified: String,
        /// The quote key's fingerprint (the verdict's `ak_fingerprint`).
        quote_key: String,
    },
    /// Fetching certificates or a CRL (amd-kds).
    #[cfg(feature = "fetch")]
    Fetch(amd_kds::Error),
    /// The vTPM (the guest side).
    #[cfg(feature = "attester")]
    Tpm(vtpm_quote::guest::TpmError),
    /// A certificate the verification needs is neither in the evidence nor supplied.
    Missing(Missing),
    /// The report is not as fresh as the policy requires.
    Stale(Staleness),
    /// A raw report's report_data is not what the caller bound into it.
    ReportData {
        /// What the caller bound.
        expected: HexBytes,
        /// Whether the rest of report_data must be zero bytes.
        zero_padded: bool,
        /// The report's report_data.
        found: HexBytes,
    },
    /// The report comes from firmware the policy does not identify, not at VMPL 0, or with
    /// host_data set.
    UnknownFirmware(Box<FirmwareClaims>),
    /// The TD quote or its collateral (tdx-verify).
    Tdx(tdx_verify::Error),
    /// The HCL report's TDREPORT differs from the TD quote in a field the quote repeats.
    TdReportBinding {
        /// The field.
        field: &'static str,
        /// The TD quote's value (hex): the authentic one.
        quote: String,
        /// The HCL report's value (hex).
        hcl: String,
    },
    /// The TD's MRTD (the paravisor's measurement) is in neither the firmware catalog nor the
    /// policy's allow-list.
    UnknownTdFirmware {
        /// The MRTD.
        mr_td: Hex<48>,
    },
    /// The evidence is authentic, but the vTPM part of the policy refuses it.
    Policy(PolicyViolation),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.check(), self.message())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Hcl(error) => Some(error),
            Self::Report(error) => Some(error),
            Self::Quote(error) => Some(error),
            Self::EventLog(error) => Some(error),
            Self::AkCertificate(error) => Some(error),
            #[cfg(feature = "fetch")]
            Self::Fetch(error) => Some(error),
            #[cfg(feature = "attester")]
            Self::Tpm(error) => Some(error),
            Self::Missing(error) => Some(error),
            Self::Stale(error) => Some(error),
            Self::Policy(error) => Some(error),
            Self::Tdx(error) => Some(error),
            Self::Input(_)
            | Self::ReportData { .. }
            | Self::UnknownFirmware(_)
            | Self::TdReportBinding { .. }
            | Self::UnknownTdFirmware { .. }
            | Self::AkCertificateKey { .. } => None,
        }
    }
}

macro_rules! from_inner {
    ($($variant:ident($inner:ty) $([$feature:literal])?),* $(,)?) => {$(
        $(#[cfg(feature = $feature)])?
        impl From<$inner> for Error {
            fn from(error: $inner) -> Self {
                Self::$variant(error)
            }
        }
    )*};
}

from_inner!(
    Hcl(hcl_parse::Error),
    Report(snp_verify::Error),
    Quote(vtpm_quote::Error),
    EventLog(tcg_eventlog::Error),
    AkCertificate(vtpm_akcert::Error),
    Tdx(tdx_verify::Error),
    Fetch(amd_kds::Error)["fetch"],
    Tpm(vtpm_quote::guest::TpmError)["attester"],
    Missing(Missing),
    Stale(Staleness),
    Policy(PolicyViolation),
);

/// A certificate or fact the verification needs that no input supplies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Missing {
    /// No VCEK or VLEK.
    #[error("no VCEK or VLEK: the evidence carries none and none was given")]
    Leaf,
    /// No ASK/ASVK and ARK.
    #[error("no AMD certificate chain (ASK and ARK): the evidence carries none and none was given")]
    CaChain,
    /// No TDX collateral (TCB info, QE identity, CRLs) for a TD quote.
    #[error(
        "no TDX collateral (TCB info, QE identity, PCK and root CA CRLs): none was given (verify --collateral FILE, or fetch it from Intel PCS)"
    )]
    TdxCollateral,
    /// Which product (Milan, Genoa, Turin) a certificate or CRL must be fetched for.
    #[error(
        "cannot tell the product: a version 2 report does not name it, and no VCEK or chain given names it"
    )]
    Product,
    /// A source sent a certificate that its check refused.
    #[error("{source_name} sent a {what} that was refused: {reason} (GET {url})")]
    Refused {
        /// The service (for example Azure IMDS).
        source_name: &'static str,
        /// What it sent.
        what: &'static str,
        /// Why it was refused.
        reason: String,
        /// Where it came from.
        url: String,
    },
}

/// Why a report is not as fresh as required.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Staleness {
    /// user-data is not the nonce followed by zero bytes.
    #[error("user-data: expected the nonce {nonce} followed by zero bytes, found {}", found.as_ref().map_or_else(|| "no user-data".to_string(), ToString::to_string))]
    NotBound {
        /// The nonce.
        nonce: HexBytes,
        /// The runtime claims' user-data, when they carry one.
        found: Option<HexBytes>,
    },
    /// A fresh report was required without a nonce to bind it to.
    #[error("a fresh report is required, which needs a nonce")]
    NoNonce,
    /// The evidence format cannot bind the report to the nonce.
    #[error(
        "a fresh report is required, but version {version} evidence does not bind the report to the nonce (only version 2 does)"
    )]
    FormatCannotBind {
        /// The evidence format's version.
        version: u8,
    },
}

/// A vTPM policy check that failed (PCRs, vm-configuration, event log).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyViolation {
    /// A PCR the policy requires is not covered by the quote.
    #[error("PCR selection: expected {bank}:{index} to be quoted, found it not covered")]
    PcrNotQuoted {
        /// The bank.
        bank: HashAlg,
        /// The PCR.
        index: u8,
    },
    /// A quoted PCR has another value than the policy expects.
    #[error("PCR {bank}:{index}: expected {}, found {found}", one_of(expected))]
    PcrValue {
        /// The bank.
        bank: HashAlg,
        /// The PCR.
        index: u8,
        /// The policy's accepted values.
        expected: Vec<HexBytes>,
        /// The quoted value.
        found: HexBytes,
    },
    /// A vm-configuration field of the runtime claims differs from the policy.
    #[error("vm-configuration {field}: expected {expected}, found {}", found.map_or_else(|| "absent".to_string(), |f| f.to_string()))]
    VmConfiguration {
        /// The claim's name.
        field: &'static str,
        /// The policy's value.
        expected: bool,
        /// The claim, when present.
        found: Option<bool>,
    },
    /// The policy requires an AK certificate and the evidence carries none.
    #[error(
        "ak_certificate: the policy requires the vTPM AK certificate (ak_certificate = \"required\"), found none in the evidence"
    )]
    AkCertificateRequired,
    /// The policy needs an event log and the evidence carries none.
    #[error(
        "event_log: the policy needs an event log (required, secure_boot or allowed_kernel_cmdlines), found none in the evidence"
    )]
    NoEventLog,
    /// SecureBoot as measured differs from the policy.
    #[error("event log secure boot: expected {}, found {}", on_off(*expected), found.map_or("no SecureBoot variable measured in an attested PCR 7", on_off))]
    SecureBoot {
        /// The policy's value.
        expected: bool,
        /// The measured value, when an attested PCR 7 measured one.
        found: Option<bool>,
    },
    /// A PCR where command lines are measured is not attested.
    #[error(
        "kernel command line: expected PCRs {needed:?} (where boot loaders and the kernel measure command lines) to be attested by the quote, found PCR {missing} not quoted"
    )]
    CmdlinePcrNotQuoted {
        /// The PCRs that must be attested.
        needed: Vec<u8>,
        /// The first that is not.
        missing: u8,
    },
    /// The kernel measured load options that none of the measured command lines matches.
    #[error(
        "kernel command line: expected the kernel's measurement of its load options (event {event}, PCR {pcr}) to be one of the measured command lines, found a digest that matches none of them: the kernel ran with another command line"
    )]
    KernelLoadOptionsUnmatched {
        /// The event's index.
        event: usize,
        /// The PCR the kernel measures into.
        pcr: u8,
    },
    /// A command-line PCR holds an event whose data the log does not carry.
    #[error(
        "kernel command line: expected only string measurements in PCRs {pcrs:?}, found events {events:?} whose digests cover something the log does not carry: a command line could hide behind them (pin those PCRs' values in [pcrs] expected instead)"
    )]
    OpaqueCmdlineEvents {
        /// The command-line PCRs.
        pcrs: Vec<u8>,
        /// The events' indices.
        events: Vec<usize>,
    },
    /// A measured command line is not among those allowed.
    #[error(
        "kernel command line: expected every measured one to be one of [{}], found \"{found}\" (measured: {})",
        quoted_list(allowed),
        quoted_list(measured)
    )]
    CmdlineNotAllowed {
        /// The policy's command lines.
        allowed: Vec<String>,
        /// The first measured one not allowed.
        found: String,
        /// Every measured command line.
        measured: Vec<String>,
    },
    /// PCR 4, where the firmware measures boot applications, is not attested in SHA-256.
    #[error(
        "boot images: expected PCR {pcr} (where the firmware measures boot applications) to be attested by the quote's sha256 bank, found it not quoted there"
    )]
    BootImagePcrNotQuoted {
        /// The PCR.
        pcr: u8,
    },
    /// PCR 4 holds an event that is no boot application and whose data is not what was hashed.
    #[error(
        "boot images: expected only boot applications and readable events in PCR {pcr}, found events {events:?} whose digests cover something the log does not name: an image could hide behind them"
    )]
    OpaqueBootEvents {
        /// The PCR.
        pcr: u8,
        /// The events' indices.
        events: Vec<usize>,
    },
    /// A boot application the firmware loaded is not among those allowed.
    #[error(
        "boot images: expected every image the firmware loaded to be one of the {allowed} allowed, found {} (event {event}{})",
        sha256.as_ref().map_or_else(|| "one without a SHA-256 digest".to_string(), |d| format!("SHA-256 {d}")),
        path.as_ref().map_or_else(String::new, |p| format!(", logged as \"{p}\""))
    )]
    BootImageNotAllowed {
        /// How many digests the policy allows.
        allowed: usize,
        /// The event's index.
        event: usize,
        /// The image's SHA-256 Authenticode digest (absent when the log has no SHA-256 bank).
        sha256: Option<HexBytes>,
        /// The path the log gives (not covered by the digest).
        path: Option<String>,
    },
    /// The policy allows boot images and the attested log shows none.
    #[error(
        "boot images: expected one of the {allowed} allowed, found no boot application in an attested PCR 4"
    )]
    NoBootImages {
        /// How many digests the policy allows.
        allowed: usize,
    },
    /// The TD quote's TCB status is not one the policy accepts.
    #[error(
        "TDX TCB status: expected one of [{}], found {status}{}",
        allowed.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        if advisory_ids.is_empty() { String::new() } else { format!(" (advisories: {})", advisory_ids.join(", ")) }
    )]
    TdxTcbStatus {
        /// The status.
        status: tdx_verify::TcbStatus,
        /// Intel's advisories for the TCB level.
        advisory_ids: Vec<String>,
        /// The statuses the policy accepts.
        allowed: Vec<tdx_verify::TcbStatus>,
    },
    /// The TD has the debug attribute and the policy does not allow it.
    #[error("TDX TD attributes: expected debug off (tdx.allow_debug = false), found debug on")]
    TdxDebug,
    /// A TD report field differs from the policy.
    #[error("TDX {field}: expected {expected}, found {found}")]
    TdxValue {
        /// The field.
        field: &'static str,
        /// What the policy accepts.
        expected: String,
        /// The quote's value.
        found: String,
    },
    /// The policy allows command lines and none was measured in an attested PCR.
    #[error(
        "kernel command line: expected one of [{}], found none measured in an attested PCR",
        quoted_list(allowed)
    )]
    NoCmdline {
        /// The policy's command lines.
        allowed: Vec<String>,
    },
}

impl PolicyViolation {
    /// The check it fails: the policy's, or the AK certificate's for a missing one.
    pub fn check(&self) -> Check {
        match self {
            Self::AkCertificateRequired => Check::AkCertificate,
            Self::PcrNotQuoted { .. }
            | Self::PcrValue { .. }
            | Self::VmConfiguration { .. }
            | Self::NoEventLog
            | Self::SecureBoot { .. }
            | Self::CmdlinePcrNotQuoted { .. }
            | Self::KernelLoadOptionsUnmatched { .. }
            | Self::OpaqueCmdlineEvents { .. }
            | Self::CmdlineNotAllowed { .. }
            | Self::BootImagePcrNotQuoted { .. }
            | Self::OpaqueBootEvents { .. }
            | Self::BootImageNotAllowed { .. }
            | Self::NoBootImages { .. }
            | Self::TdxTcbStatus { .. }
            | Self::TdxDebug
            | Self::TdxValue { .. }
            | Self::NoCmdline { .. } => Check::Policy,
        }
    }
}

fn on_off(value: bool) -> &'static str {
    if value { "on" } else { "off" }
}

/// `"a", "b"`.
fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|item| format!("\"{item}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value, or "one of [a, b]" for several.
fn one_of<T: std::fmt::Display>(values: &[T]) -> String {
    match values {
        [one] => one.to_string(),
        many => format!(
            "one of [{}]",
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn unknown_firmware_message(claims: &FirmwareClaims) -> String {
    format!(
        "unknown firmware: {}. A report from unknown firmware proves nothing about the vTPM: code at VMPL 0 \
         of any SNP guest can invent runtime claims with a key of its own and sign any quote. Found: ID-key \
         digest {}, author-key digest {}, measurement {}, VMPL {}, host_data {}. To trust this firmware, add \
         its ID-key digest (or its measurement) to a firmware catalog over the built-in one (docs/policy.md), \
         after checking it through a channel you trust.",
        claims.problems().join("; "),
        claims.id_key_digest,
        claims.author_key_digest,
        claims.measurement,
        claims.vmpl,
        claims.host_data
    )
}

impl Error {
    /// The check that failed.
    pub fn check(&self) -> Check {
        match self {
            Self::Input(_) => Check::Input,
            Self::Hcl(error) => hcl_check(error),
            Self::Report(error) => report_check(error),
            Self::Quote(error) => quote_check(error).0,
            Self::EventLog(_) => Check::EventLog,
            Self::AkCertificate(_) | Self::AkCertificateKey { .. } => Check::AkCertificate,
            #[cfg(feature = "fetch")]
            Self::Fetch(_) => Check::Certificates,
            #[cfg(feature = "attester")]
            Self::Tpm(_) => Check::Tpm,
            Self::Missing(_) => Check::Certificates,
            Self::Stale(_) => Check::ReportFreshness,
            Self::ReportData { .. } => Check::ReportDataBinding,
            Self::UnknownFirmware(_) | Self::UnknownTdFirmware { .. } => Check::FirmwareIdentity,
            Self::Tdx(_) => Check::TdQuote,
            Self::TdReportBinding { .. } => Check::TdReportBinding,
            Self::Policy(violation) => violation.check(),
        }
    }

    /// The class of the failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Input(_) => ErrorKind::Input,
            Self::Hcl(error) => match hcl_check(error) {
                Check::Input => ErrorKind::Input,
                _ => ErrorKind::Verification,
            },
            Self::Report(error) => report_kind(error),
            Self::Quote(error) => quote_check(error).1,
            Self::AkCertificate(error) => match error.kind() {
                vtpm_akcert::ErrorKind::Malformed => ErrorKind::Input,
                vtpm_akcert::ErrorKind::Refused => ErrorKind::Verification,
                vtpm_akcert::ErrorKind::Unavailable => ErrorKind::Unavailable,
            },
            Self::AkCertificateKey { .. } => ErrorKind::Verification,
            Self::EventLog(error) => match error {
                tcg_eventlog::Error::Malformed { .. } => ErrorKind::Input,
                tcg_eventlog::Error::Mismatch { .. }
                | tcg_eventlog::Error::DataContradictsDigest { .. }
                | tcg_eventlog::Error::NotComparable { .. } => ErrorKind::Verification,
            },
            #[cfg(feature = "fetch")]
            // A source that answers with something else is a source that cannot help (exit 4,
            // as one that refuses); only the caller's own bytes and requests are input errors.
            Self::Fetch(error) => match error.kind() {
                amd_kds::ErrorKind::Malformed if !error.is_malformed_input() => {
                    ErrorKind::Unavailable
                }
                amd_kds::ErrorKind::Malformed | amd_kds::ErrorKind::InvalidInput => {
                    ErrorKind::Input
                }
                amd_kds::ErrorKind::Unavailable
                | amd_kds::ErrorKind::Refused
                | amd_kds::ErrorKind::Cache => ErrorKind::Unavailable,
            },
            // A TCTI string nothing understands is a usage error, not the TPM's.
            #[cfg(feature = "attester")]
            Self::Tpm(vtpm_quote::guest::TpmError::BadTcti { .. }) => ErrorKind::Input,
            #[cfg(feature = "attester")]
            Self::Tpm(_) => ErrorKind::Tpm,
            Self::Missing(_) => ErrorKind::Unavailable,
            Self::Stale(_) | Self::ReportData { .. } => ErrorKind::Verification,
            Self::UnknownFirmware(_) | Self::UnknownTdFirmware { .. } | Self::Policy(_) => {
                ErrorKind::Policy
            }
            Self::Tdx(error) => match error.kind() {
                tdx_verify::ErrorKind::Malformed => ErrorKind::Input,
                tdx_verify::ErrorKind::Refused | tdx_verify::ErrorKind::Expired => {
                    ErrorKind::Verification
                }
            },
            Self::TdReportBinding { .. } => ErrorKind::Verification,
        }
    }

    /// The message, without the check's name.
    pub fn message(&self) -> String {
        match self {
            Self::Input(message) => message.clone(),
            Self::Hcl(error) => error.to_string(),
            // The check's name prefixes the message already.
            Self::Report(snp_verify::Error::Policy(violation)) => violation.to_string(),
            Self::Report(error) => error.to_string(),
            Self::Quote(error) => error.to_string(),
            Self::EventLog(error) => error.to_string(),
            Self::AkCertificate(error) => error.to_string(),
            Self::AkCertificateKey {
                subject,
                certified,
                quote_key,
            } => format!(
                "AK certificate \"{subject}\": expected it to certify the key that signed the quote (the runtime claims' HCLAkPub, ak_fingerprint {quote_key}), found it certifies another (fingerprint {certified})"
            ),
            #[cfg(feature = "fetch")]
            Self::Fetch(error) => error.to_string(),
            #[cfg(feature = "attester")]
            Self::Tpm(error) => error.to_string(),
            Self::Missing(error) => error.to_string(),
            Self::Stale(error) => error.to_string(),
            Self::ReportData {
                expected,
                zero_padded,
                found,
            } => format!(
                "report_data: expected {expected}{}, found {found}",
                if *zero_padded {
                    " followed by zero bytes"
                } else {
                    ""
                }
            ),
            Self::UnknownFirmware(claims) => unknown_firmware_message(claims),
            Self::Tdx(error) => error.to_string(),
            Self::TdReportBinding { field, quote, hcl } => format!(
                "the HCL report's TDREPORT {field}: expected the TD quote's {quote}, found {hcl}"
            ),
            Self::UnknownTdFirmware { mr_td } => format!(
                "unknown firmware: the MRTD {mr_td} is in no firmware-catalog entry and not in the \
                 policy's tdx.allowed_mrtds. A TD quote from unknown firmware proves nothing about \
                 the vTPM: code in any TD can invent runtime claims with a key of its own and sign \
                 any quote. To trust this firmware (Azure's paravisor), add its MRTD to a firmware \
                 catalog over the built-in one (docs/policy.md), after checking it through a \
                 channel you trust."
            ),
            Self::Policy(error) => error.to_string(),
        }
    }

    /// Malformed input, or a request that cannot be served as given.
    pub fn input(message: impl Into<String>) -> Self {
        Self::Input(message.into())
    }
}

/// The check an hcl-parse error belongs to: the binding and the AK are verification, the rest
/// is malformed input.
fn hcl_check(error: &hcl_parse::Error) -> Check {
    use hcl_parse::Error as E;
    match error {
        E::ReportDataMismatch { .. } => Check::ReportDataBinding,
        E::MissingKey { .. } | E::DuplicateKey { .. } | E::InvalidKey { .. } => Check::AkFromClaims,
        E::Truncated { .. }
        | E::BadHclSignature { .. }
        | E::UnsupportedHclVersion { .. }
        | E::InconsistentSize { .. }
        | E::UnexpectedUnsignedField { .. }
        | E::UnsupportedRequestDataVersion { .. }
        | E::UnknownReportType { .. }
        | E::UnknownHashType { .. }
        | E::NotSnp { .. }
        | E::NotTdx { .. }
        | E::UnsupportedSnpVersion { .. }
        | E::UnknownCpu { .. }
        | E::NoReportData { .. }
        | E::InvalidClaims { .. } => Check::Input,
    }
}

/// The check an snp-verify error belongs to.
fn report_check(error: &snp_verify::Error) -> Check {
    use snp_verify::Error as E;
    match error {
        E::Report(_) | E::MalformedCertificate { .. } => Check::Input,
        E::UntrustedRoot { .. }
        | E::NameMismatch { .. }
        | E::SignatureAlgorithm { .. }
        | E::BadCertificateSignature { .. }
        | E::CertificateNotValid { .. }
        | E::WrongKeyType { .. }
        | E::UnexpectedCertificateContent { .. }
        | E::BadExtension { .. } => Check::Chain,
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
    }
}

/// The class of an snp-verify error: a required CRL that nobody gave is unavailable, not a
/// failed check.
fn report_kind(error: &snp_verify::Error) -> ErrorKind {
    use snp_verify::ErrorKind as K;
    match error.kind() {
        K::Malformed => ErrorKind::Input,
        K::Policy => ErrorKind::Policy,
        K::Revocation if matches!(error, snp_verify::Error::CrlRequired) => ErrorKind::Unavailable,
        K::Revocation | K::Cryptographic => ErrorKind::Verification,
    }
}

/// The check and class of a vtpm-quote error.
fn quote_check(error: &vtpm_quote::Error) -> (Check, ErrorKind) {
    use vtpm_quote::Error as E;
    match error {
        E::BadSignature | E::SchemeKeyMismatch { .. } => {
            (Check::QuoteSignature, ErrorKind::Verification)
        }
        E::NonceLength { .. } => (Check::Nonce, ErrorKind::Input),
        E::NonceMismatch { .. } => (Check::Nonce, ErrorKind::Verification),
        E::MissingPcr { .. }
        | E::UnquotedPcr { .. }
        | E::PcrDigestMismatch { .. }
        | E::PcrLength { .. } => (Check::PcrDigest, ErrorKind::Verification),
        E::QualifiedSignerMismatch { .. } => (Check::QualifiedSigner, ErrorKind::Verification),
        E::BadKey { .. } => (Check::AkFromClaims, ErrorKind::Verification),
        E::Truncated { .. }
        | E::TrailingBytes { .. }
        | E::FieldTooLarge { .. }
        | E::BadMagic { .. }
        | E::NotAQuote { .. }
        | E::UnsupportedAlgorithm { .. }
        | E::BadPcrSelection { .. }
        | E::BadFormat { .. } => (Check::Input, ErrorKind::Input),
    }
}
