//! Writing HCL reports: for test PKIs, simulated vTPMs and fuzz seeds.
//!
//! Verifiers never need this; it lives here so that the layout is written in exactly one place.
//! Behind the `compose` feature (which this crate's own tests and doctests turn on).

use alloc::vec::Vec;

use zerocopy::{FromZeros, IntoBytes};

use crate::binding::HashType;
use crate::hcl::ReportType;
use crate::snp::{RawSnpReport, SNP_REPORT_SIZE};

impl RawSnpReport {
    /// An all-zero report of the given version, to be filled in field by field.
    pub fn new(version: u32) -> Self {
        let mut report = Self::new_zeroed();
        report.version.set(version);
        report
    }
}

/// Builds the bytes of an HCL report around a hardware report and runtime claims.
///
/// ```
/// use hcl_parse::{HashType, HclReport, compose::HclReportBuilder, snp::RawSnpReport};
///
/// let claims = br#"{"keys":[]}"#;
/// let mut snp = RawSnpReport::new(3);
/// snp.report_data = hcl_parse::expected_report_data(HashType::Sha256, claims);
/// let nv = HclReportBuilder::new(zerocopy::IntoBytes::as_bytes(&snp), claims).padded_to(2048).build();
/// let hcl = HclReport::parse(&nv).unwrap();
/// assert!(hcl.verify_report_data_binding().is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct HclReportBuilder<'a> {
    hardware_report: &'a [u8],
    claims: &'a [u8],
    header_version: u32,
    request_data_version: u32,
    capabilities: u32,
    report_type: ReportType,
    hash_type: HashType,
    padded_len: usize,
}

impl<'a> HclReportBuilder<'a> {
    /// An SNP report (at most 1184 bytes; zero-filled to that size) and its claims, with the
    /// values Azure uses: header version 1, request-data version 1, SHA-256.
    pub fn new(hardware_report: &'a [u8], claims: &'a [u8]) -> Self {
        Self {
            hardware_report,
            claims,
            header_version: 1,
            request_data_version: 1,
            capabilities: 0,
            report_type: ReportType::Snp,
            hash_type: HashType::Sha256,
            padded_len: 0,
        }
    }

    /// Sets the HCL header version.
    pub fn header_version(mut self, version: u32) -> Self {
        self.header_version = version;
        self
    }

    /// Uses request-data version 2 with this capability bitmap before the claims.
    pub fn request_data_v2(mut self, capabilities: u32) -> Self {
        self.request_data_version = 2;
        self.capabilities = capabilities;
        self
    }

    /// Sets the report type.
    pub fn report_type(mut self, report_type: ReportType) -> Self {
        self.report_type = report_type;
        self
    }

    /// Sets the hash type.
    pub fn hash_type(mut self, hash_type: HashType) -> Self {
        self.hash_type = hash_type;
        self
    }

    /// Zero-pads the result to `len` bytes, as an NV index of that size holds it.
    pub fn padded_to(mut self, len: usize) -> Self {
        self.padded_len = len;
        self
    }

    /// The report bytes.
    pub fn build(&self) -> Vec<u8> {
        let capabilities_len = if self.request_data_version == 2 { 4 } else { 0 };
        let claims_len = self.claims.len() as u32;
        let report_type = match self.report_type {
            ReportType::Vbs => 1u32,
            ReportType::Snp => 2,
            ReportType::Tvm => 3,
            ReportType::Tdx => 4,
            ReportType::Cca => 5,
        };
        let mut out = Vec::with_capacity(self.padded_len.max(0x4D8 + self.claims.len()));
        let words = [
            u32::from_le_bytes(*b"HCLA"),
            self.header_version,
            0x4D4 + capabilities_len + claims_len,
            2,
            0,
        ];
        words
            .iter()
            .for_each(|w| out.extend_from_slice(&w.to_le_bytes()));
        out.extend_from_slice(&[0; 12]);
        let mut hardware = [0u8; SNP_REPORT_SIZE];
        for (to, from) in hardware.iter_mut().zip(self.hardware_report) {
            *to = *from;
        }
        out.extend_from_slice(hardware.as_bytes());
        let request = [
            20 + capabilities_len + claims_len,
            self.request_data_version,
            report_type,
            self.hash_type.to_wire(),
            claims_len,
        ];
        request
            .iter()
            .for_each(|w| out.extend_from_slice(&w.to_le_bytes()));
        if self.request_data_version == 2 {
            out.extend_from_slice(&self.capabilities.to_le_bytes());
        }
        out.extend_from_slice(self.claims);
        if out.len() < self.padded_len {
            out.resize(self.padded_len, 0);
        }
        out
    }
}
