//! The Azure HCL report: the paravisor's wrapper around a hardware report and the runtime claims.
//!
//! Parsed by the lengths stored inside it, never by the NV index size or the first NUL: the
//! vTPM NV index is longer than the report and zero-padded.

use core::fmt;

use zerocopy::little_endian::U32;
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use crate::binding::{self, HashType};
use crate::claims::RuntimeClaims;
use crate::error::{Error, Result};
use crate::snp::{SNP_REPORT_SIZE, SnpReport};
use crate::tdx::{TDREPORT_SIZE, TdReport};
use attest_prims::Hex;

/// "HCLA" as stored.
const HCL_SIGNATURE: [u8; 4] = *b"HCLA";
/// Offset of the runtime claims with request-data version 1.
const CLAIMS_OFFSET: usize = 0x4D4;
/// Size of the request-data header (data_size, version, report_type, hash_type, variable size).
const REQUEST_DATA_HEADER_SIZE: u64 = 20;
/// Size of the capability bitmap that request-data version 2 inserts before the claims.
const CAPABILITIES_SIZE: usize = 4;
/// Where `report_data` sits inside a TDX TDREPORT (REPORTMACSTRUCT.reportdata).
const TDX_REPORT_DATA_OFFSET: usize = 0x80;
/// Where `report_data` sits inside an SNP attestation report (REPORT_DATA, 56860 rev. 1.58,
/// Table 23).
const SNP_REPORT_DATA_OFFSET: usize = 0x50;

/// The fixed part of an HCL report, 0x4D4 bytes.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct HclFixed {
    signature: [u8; 4],
    version: U32,
    report_size: U32,
    request_type: U32,
    status: U32,
    reserved: [u8; 12],
    hardware_report: [u8; SNP_REPORT_SIZE],
    data_size: U32,
    request_data_version: U32,
    report_type: U32,
    report_data_hash_type: U32,
    variable_data_size: U32,
}

const _: () = assert!(size_of::<HclFixed>() == CLAIMS_OFFSET);

/// The kind of hardware report the HCL report carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ReportType {
    /// Virtualization-based security (no hardware TEE).
    Vbs,
    /// AMD SEV-SNP attestation report.
    Snp,
    /// Trusted VM without a hardware report.
    Tvm,
    /// Intel TDX TDREPORT.
    Tdx,
    /// Arm CCA.
    Cca,
}

impl ReportType {
    fn from_wire(value: u32) -> Result<Self> {
        Ok(match value {
            1 => Self::Vbs,
            2 => Self::Snp,
            3 => Self::Tvm,
            4 => Self::Tdx,
            5 => Self::Cca,
            found => return Err(Error::UnknownReportType { found }),
        })
    }
}

impl fmt::Display for ReportType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Vbs => "VBS",
            Self::Snp => "SEV-SNP",
            Self::Tvm => "TVM",
            Self::Tdx => "TDX",
            Self::Cca => "CCA",
        })
    }
}

/// A checked, borrowed view of an HCL report.
///
/// ```
/// # fn main() -> Result<(), hcl_parse::Error> {
/// # let claims = br#"{"keys":[{"kid":"HCLAkPub","kty":"RSA","e":"AQAB","n":"AQAB"}]}"#;
/// # let mut snp = hcl_parse::snp::RawSnpReport::new(2);
/// # snp.report_data = hcl_parse::expected_report_data(hcl_parse::HashType::Sha256, claims);
/// # let nv_contents = hcl_parse::compose::HclReportBuilder::new(zerocopy::IntoBytes::as_bytes(&snp), claims).build();
/// let hcl = hcl_parse::HclReport::parse(&nv_contents)?;
/// hcl.verify_report_data_binding()?;
/// let claims = hcl.runtime_claims()?;
/// assert_eq!(claims.attestation_key()?.kid(), "HCLAkPub");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy)]
pub struct HclReport<'a> {
    fixed: &'a HclFixed,
    bytes: &'a [u8],
    claims: &'a [u8],
    capabilities: Option<u32>,
    report_type: ReportType,
    hash_type: HashType,
}

impl<'a> HclReport<'a> {
    /// Checks the header, every size and every enumerated field, and borrows the report.
    ///
    /// `nv_contents` may be longer than the report (the NV index is zero-padded).
    pub fn parse(nv_contents: &'a [u8]) -> Result<Self> {
        let (fixed, _) = HclFixed::ref_from_prefix(nv_contents).map_err(|_| Error::Truncated {
            what: "HCL report header",
            needed: CLAIMS_OFFSET,
            found: nv_contents.len(),
        })?;
        if fixed.signature != HCL_SIGNATURE {
            return Err(Error::BadHclSignature {
                found: Hex(fixed.signature),
            });
        }
        let version = fixed.version.get();
        if !matches!(version, 1 | 2) {
            return Err(Error::UnsupportedHclVersion { found: version });
        }
        check_unsigned_header(fixed)?;
        let request_data_version = fixed.request_data_version.get();
        let capabilities_size = match request_data_version {
            1 => 0,
            2 => CAPABILITIES_SIZE,
            found => return Err(Error::UnsupportedRequestDataVersion { found }),
        };
        let report_type = ReportType::from_wire(fixed.report_type.get())?;
        let hash_type = HashType::from_wire(fixed.report_data_hash_type.get())?;

        let claims_len = u64::from(fixed.variable_data_size.get());
        let extra = capabilities_size as u64;
        check_size(
            "data_size",
            REQUEST_DATA_HEADER_SIZE + extra + claims_len,
            fixed.data_size.get(),
        )?;
        let report_size = CLAIMS_OFFSET as u64 + extra + claims_len;
        check_size("report_size", report_size, fixed.report_size.get())?;

        // Every size now fits in a u32, hence in usize on every supported target.
        let report_size = fixed.report_size.get() as usize;
        let bytes = nv_contents.get(..report_size).ok_or(Error::Truncated {
            what: "HCL report",
            needed: report_size,
            found: nv_contents.len(),
        })?;
        check_zero(
            "NV padding after report_size",
            nv_contents.get(report_size..).unwrap_or_default(),
            report_size,
        )?;
        check_unused_hardware_area(report_type, &fixed.hardware_report)?;
        let claims_start = CLAIMS_OFFSET + capabilities_size;
        let claims = bytes.get(claims_start..).unwrap_or_default();
        let capabilities = match bytes.get(CLAIMS_OFFSET..claims_start) {
            Some(&[a, b, c, d]) => Some(u32::from_le_bytes([a, b, c, d])),
            _ => None,
        };
        Ok(Self {
            fixed,
            bytes,
            claims,
            capabilities,
            report_type,
            hash_type,
        })
    }

    /// The meaningful bytes of the report (`report_size` of them), without the NV padding.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// HCL header version (1 or 2).
    pub fn version(&self) -> u32 {
        self.fixed.version.get()
    }

    /// `report_size`: the length of the meaningful report.
    pub fn report_size(&self) -> u32 {
        self.fixed.report_size.get()
    }

    /// `request_type`: 2 (AK certificate request) in every NV report.
    pub fn request_type(&self) -> u32 {
        self.fixed.request_type.get()
    }

    /// `status`: 0 in every NV report.
    pub fn status(&self) -> u32 {
        self.fixed.status.get()
    }

    /// The 1184-byte hardware report area (an SNP report, a TDREPORT followed by zeros, ...).
    pub fn hardware_report(&self) -> &'a [u8; SNP_REPORT_SIZE] {
        &self.fixed.hardware_report
    }

    /// `data_size` of the request data.
    pub fn data_size(&self) -> u32 {
        self.fixed.data_size.get()
    }

    /// Request-data version (1 or 2).
    pub fn request_data_version(&self) -> u32 {
        self.fixed.request_data_version.get()
    }

    /// The capability bitmap of request-data version 2; `None` for version 1.
    pub fn capabilities(&self) -> Option<u32> {
        self.capabilities
    }

    /// The kind of hardware report.
    pub fn report_type(&self) -> ReportType {
        self.report_type
    }

    /// The hash algorithm that binds the runtime claims into `report_data`.
    pub fn hash_type(&self) -> HashType {
        self.hash_type
    }

    /// The runtime-claims JSON exactly as stored: these are the bytes the binding hashes.
    pub fn runtime_claims_bytes(&self) -> &'a [u8] {
        self.claims
    }

    /// Parses the runtime claims (borrowing from the report).
    pub fn runtime_claims(&self) -> Result<RuntimeClaims<'a>> {
        RuntimeClaims::parse(self.claims)
    }

    /// The SNP report inside, or [`Error::NotSnp`] for any other hardware.
    pub fn snp_report(&self) -> Result<SnpReport<'a>> {
        if self.report_type != ReportType::Snp {
            return Err(Error::NotSnp {
                found: self.report_type,
            });
        }
        SnpReport::from_bytes(&self.fixed.hardware_report)
    }

    /// The TDREPORT inside, or [`Error::NotTdx`] for any other hardware. Not authentic by
    /// itself (its MAC is for the local CPU): a verifier compares it with the TD quote.
    pub fn td_report(&self) -> Result<TdReport> {
        if self.report_type != ReportType::Tdx {
            return Err(Error::NotTdx {
                found: self.report_type,
            });
        }
        TdReport::parse(&self.fixed.hardware_report)
    }

    /// The TDREPORT's 1024 bytes as the paravisor stored them (what Azure IMDS's quoting
    /// service takes); an SNP report is [`Error::NotTdx`].
    pub fn td_report_bytes(&self) -> Result<&'a [u8]> {
        if self.report_type != ReportType::Tdx {
            return Err(Error::NotTdx {
                found: self.report_type,
            });
        }
        let hardware_report: &'a [u8] = &self.fixed.hardware_report[..];
        Ok(hardware_report
            .get(..crate::tdx::TDREPORT_SIZE)
            .unwrap_or(hardware_report))
    }

    /// The 64-byte `report_data` of the hardware report (SNP and TDX).
    pub fn report_data(&self) -> Result<&'a [u8; 64]> {
        let offset = match self.report_type {
            ReportType::Snp => SNP_REPORT_DATA_OFFSET,
            ReportType::Tdx => TDX_REPORT_DATA_OFFSET,
            found => return Err(Error::NoReportData { found }),
        };
        self.fixed
            .hardware_report
            .get(offset..offset + 64)
            .and_then(|data| data.try_into().ok())
            .ok_or(Error::NoReportData {
                found: self.report_type,
            })
    }

    /// Checks that `report_data` is the hash of the runtime claims, then zero bytes.
    pub fn verify_report_data_binding(&self) -> Result<()> {
        binding::verify(self.hash_type, self.claims, self.report_data()?)
    }
}

impl fmt::Debug for HclReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HclReport")
            .field("version", &self.version())
            .field("report_size", &self.report_size())
            .field("request_data_version", &self.request_data_version())
            .field("report_type", &self.report_type)
            .field("hash_type", &self.hash_type)
            .field("runtime_claims_len", &self.claims.len())
            .finish_non_exhaustive()
    }
}

/// What the paravisor writes in the header's unsigned words: an AK certificate request
/// (type 2), status 0, reserved zero. Nothing signs them; checking them narrows what can be
/// changed without breaking a check, but does not close it: the header version and the
/// request-data layout (version 2 inserts a capability bitmap) are unsigned too and have more
/// than one valid value. Replay detection must key on signed content, never on evidence bytes.
fn check_unsigned_header(fixed: &HclFixed) -> Result<()> {
    let word = |field, expected: u32, expected_text, found: u32| {
        if found == expected {
            Ok(())
        } else {
            Err(Error::UnexpectedUnsignedField {
                field,
                expected: expected_text,
                found: alloc::format!("{found}"),
            })
        }
    };
    word(
        "request_type",
        2,
        "2 (AK certificate request)",
        fixed.request_type.get(),
    )?;
    word("status", 0, "0", fixed.status.get())?;
    check_zero("reserved bytes 0x14..0x20", &fixed.reserved, 0x14)
}

/// The hardware-report slot past the hardware report itself: an SNP report's unsigned tail
/// (0x330..0x4A0) and a TDREPORT's 160 trailing bytes are zero in every paravisor's output.
fn check_unused_hardware_area(report_type: ReportType, area: &[u8; SNP_REPORT_SIZE]) -> Result<()> {
    let (field, from) = match report_type {
        ReportType::Snp => ("SNP report bytes 0x330..0x4A0", SNP_UNSIGNED_TAIL),
        ReportType::Tdx => ("hardware-report slot after the TDREPORT", TDREPORT_SIZE),
        _ => return Ok(()),
    };
    check_zero(field, area.get(from..).unwrap_or_default(), 0x20 + from)
}

/// Where the SNP report's unsigned reserved tail starts (after the signature).
const SNP_UNSIGNED_TAIL: usize = 0x330;

fn check_zero(field: &'static str, bytes: &[u8], base_offset: usize) -> Result<()> {
    // The common case first: an OR over every byte vectorises; `position` walks byte by byte
    // (kilobytes of NV padding per report made parsing ten times slower).
    if bytes.iter().fold(0u8, |acc, &b| acc | b) == 0 {
        return Ok(());
    }
    match bytes.iter().position(|&b| b != 0) {
        None => Ok(()),
        Some(at) => Err(Error::UnexpectedUnsignedField {
            field,
            expected: "zero bytes",
            found: alloc::format!(
                "{:#04x} at offset {:#x}",
                bytes.get(at).copied().unwrap_or(0),
                base_offset + at
            ),
        }),
    }
}

fn check_size(field: &'static str, expected: u64, found: u32) -> Result<()> {
    if expected == u64::from(found) {
        Ok(())
    } else {
        Err(Error::InconsistentSize {
            field,
            expected,
            found: found.into(),
        })
    }
}
