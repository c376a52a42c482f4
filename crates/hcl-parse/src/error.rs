//! The one error type of this crate: every variant names the failed check and the values seen.

use alloc::boxed::Box;
use alloc::string::String;
use attest_prims::Hex;

/// Why a byte string is not an acceptable HCL report, SNP report or runtime-claims document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input ends before a structure it must contain.
    #[error("{what} is truncated: needs {needed} bytes, found {found}")]
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes available.
        found: usize,
    },
    /// The first four bytes are not "HCLA".
    #[error("HCL report signature: expected \"HCLA\" (48434c41), found {found}")]
    BadHclSignature {
        /// The four bytes found.
        found: Hex<4>,
    },
    /// The HCL header version is not 1 or 2.
    #[error("HCL header version: expected 1 or 2, found {found}")]
    UnsupportedHclVersion {
        /// The version found.
        found: u32,
    },
    /// A size field in the HCL report contradicts another size or the buffer.
    #[error("HCL report {field}: expected {expected}, found {found}")]
    InconsistentSize {
        /// The size field that is wrong.
        field: &'static str,
        /// The value the other fields imply.
        expected: u64,
        /// The value stored.
        found: u64,
    },
    /// A part of the HCL report that nothing signs holds something other than the fixed value
    /// every paravisor writes: request type, status, reserved bytes, the hardware-report slot
    /// past the report, the NV padding.
    #[error("HCL report {field} (unsigned): expected {expected}, found {found}")]
    UnexpectedUnsignedField {
        /// The field.
        field: &'static str,
        /// What every paravisor writes.
        expected: &'static str,
        /// What was found.
        found: String,
    },
    /// The request-data version is not 1 or 2.
    #[error("HCL request-data version: expected 1 or 2, found {found}")]
    UnsupportedRequestDataVersion {
        /// The version found.
        found: u32,
    },
    /// The hardware report type is not one the HCL defines.
    #[error(
        "HCL report type: expected 1 (VBS), 2 (SNP), 3 (TVM), 4 (TDX) or 5 (CCA), found {found}"
    )]
    UnknownReportType {
        /// The type found.
        found: u32,
    },
    /// The report-data hash type is not SHA-256, SHA-384 or SHA-512.
    #[error(
        "HCL report-data hash type: expected 1 (SHA-256), 2 (SHA-384) or 3 (SHA-512), found {found}"
    )]
    UnknownHashType {
        /// The type found.
        found: u32,
    },
    /// The HCL report holds another kind of hardware report than the one asked for.
    #[error("the HCL report holds a {found} report, not an AMD SEV-SNP report")]
    NotSnp {
        /// The kind of report found.
        found: crate::ReportType,
    },
    /// The HCL report holds another kind of hardware report than a TDX TDREPORT.
    #[error("the HCL report holds a {found} report, not an Intel TDX TDREPORT")]
    NotTdx {
        /// The kind of report found.
        found: crate::ReportType,
    },
    /// The SNP report version is below 2 (the first version this layout describes).
    #[error("SNP report version: expected 2 or later, found {found}")]
    UnsupportedSnpVersion {
        /// The version found.
        found: u32,
    },
    /// The CPUID family and model of a v3+ report name no known AMD product.
    #[error(
        "SNP report CPUID: family {family:#04x} model {model:#04x} is not Milan, Genoa or Turin"
    )]
    UnknownCpu {
        /// CPUID family.
        family: u8,
        /// CPUID model.
        model: u8,
    },
    /// `report_data` does not hold the hash of the runtime claims.
    #[error(
        "report_data binding: expected {hash_type} of the runtime claims {expected}, found {found}"
    )]
    ReportDataMismatch {
        /// The hash algorithm the HCL header names.
        hash_type: crate::HashType,
        /// `report_data` as it should be: the hash, then zero bytes.
        expected: Box<Hex<64>>,
        /// `report_data` as stored in the hardware report.
        found: Box<Hex<64>>,
    },
    /// The hardware report kind has no `report_data` this crate knows how to locate.
    #[error("a {found} report carries no report_data this crate can check")]
    NoReportData {
        /// The kind of report.
        found: crate::ReportType,
    },
    /// The runtime claims are not the JSON document they must be.
    #[error("runtime claims: {reason}")]
    InvalidClaims {
        /// What the JSON parser or a claim check reported.
        reason: String,
    },
    /// A key the runtime claims must carry is absent.
    #[error("runtime claims: no key with kid \"{kid}\"")]
    MissingKey {
        /// The key id looked for.
        kid: &'static str,
    },
    /// The runtime claims carry a key id more than once, so which key is meant is ambiguous.
    #[error("runtime claims: key id \"{kid}\" occurs {count} times")]
    DuplicateKey {
        /// The repeated key id.
        kid: &'static str,
        /// How often it occurs.
        count: usize,
    },
    /// A JWK field is not valid base64url or not the expected key type.
    #[error("runtime claims key \"{kid}\": {reason}")]
    InvalidKey {
        /// The key id.
        kid: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
