//! The Intel TDX TDREPORT an Azure TDX paravisor puts in the HCL report's hardware-report slot
//! (1024 bytes). It is MACed for the local CPU only, so nothing here is authentic by itself: a
//! verifier trusts the TD quote made from it, and checks that the two agree.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0x000 | 256 | REPORTMACSTRUCT: report type (0x81 for TDX) at 0, CPUSVN at 0x10, report_data at 0x80, MAC at 0xE0 |
//! | 0x100 | 239 | TEE_TCB_INFO: valid bits at 0, TEE_TCB_SVN at 0x08, MRSEAM at 0x18, MRSIGNERSEAM at 0x48, SEAM attributes at 0x78 |
//! | 0x1EF | 17 | reserved |
//! | 0x200 | 512 | TDINFO: attributes, XFAM, MRTD, MRCONFIGID, MROWNER, MROWNERCONFIG, RTMR0-3, SERVTD_HASH |

use attest_prims::Hex;

use crate::error::{Error, Result};

/// The size of a TDREPORT.
pub const TDREPORT_SIZE: usize = 1024;

/// A TDREPORT's fields (the ones a TD quote repeats).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TdReport {
    /// REPORTMACSTRUCT.reporttype (type 0x81 = TDX, subtype, version, reserved).
    pub report_type: Hex<4>,
    /// REPORTMACSTRUCT.reportdata: the runtime claims' hash, then zeros.
    pub report_data: Hex<64>,
    /// TEE_TCB_SVN.
    pub tee_tcb_svn: Hex<16>,
    /// MRSEAM.
    pub mr_seam: Hex<48>,
    /// MRSIGNERSEAM.
    pub mr_signer_seam: Hex<48>,
    /// SEAMATTRIBUTES.
    pub seam_attributes: Hex<8>,
    /// TDATTRIBUTES.
    pub td_attributes: Hex<8>,
    /// XFAM.
    pub xfam: Hex<8>,
    /// MRTD.
    pub mr_td: Hex<48>,
    /// MRCONFIGID.
    pub mr_config_id: Hex<48>,
    /// MROWNER.
    pub mr_owner: Hex<48>,
    /// MROWNERCONFIG.
    pub mr_owner_config: Hex<48>,
    /// RTMR0 to RTMR3.
    pub rtmrs: [Hex<48>; 4],
}

impl TdReport {
    /// Parses the 1024 bytes of a TDREPORT; the report type must be TDX (0x81).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < TDREPORT_SIZE {
            return Err(Error::Truncated {
                what: "TDREPORT",
                needed: TDREPORT_SIZE,
                found: bytes.len(),
            });
        }
        let report = Self {
            report_type: Hex(field(bytes, 0x000)),
            report_data: Hex(field(bytes, 0x080)),
            tee_tcb_svn: Hex(field(bytes, 0x108)),
            mr_seam: Hex(field(bytes, 0x118)),
            mr_signer_seam: Hex(field(bytes, 0x148)),
            seam_attributes: Hex(field(bytes, 0x178)),
            td_attributes: Hex(field(bytes, 0x200)),
            xfam: Hex(field(bytes, 0x208)),
            mr_td: Hex(field(bytes, 0x210)),
            mr_config_id: Hex(field(bytes, 0x240)),
            mr_owner: Hex(field(bytes, 0x270)),
            mr_owner_config: Hex(field(bytes, 0x2A0)),
            rtmrs: [
                Hex(field(bytes, 0x2D0)),
                Hex(field(bytes, 0x300)),
                Hex(field(bytes, 0x330)),
                Hex(field(bytes, 0x360)),
            ],
        };
        if report.report_type.0.first() != Some(&0x81) {
            return Err(Error::UnexpectedUnsignedField {
                field: "TDREPORT report type",
                expected: "0x81 (TDX)",
                found: alloc::format!("{}", report.report_type),
            });
        }
        Ok(report)
    }

    /// The 584-byte TD 1.0 body a TD quote of this TDREPORT carries: TEE_TCB_SVN, MRSEAM,
    /// MRSIGNERSEAM, SEAMATTRIBUTES, TDATTRIBUTES, XFAM, MRTD, MRCONFIGID, MROWNER,
    /// MROWNERCONFIG, RTMR0-3, REPORTDATA (a TD 1.5 body continues after these).
    pub fn quote_body(&self) -> alloc::vec::Vec<u8> {
        let mut body = alloc::vec::Vec::with_capacity(TD_QUOTE_BODY_SIZE);
        let fields: [&[u8]; 10] = [
            &self.tee_tcb_svn.0,
            &self.mr_seam.0,
            &self.mr_signer_seam.0,
            &self.seam_attributes.0,
            &self.td_attributes.0,
            &self.xfam.0,
            &self.mr_td.0,
            &self.mr_config_id.0,
            &self.mr_owner.0,
            &self.mr_owner_config.0,
        ];
        fields
            .iter()
            .for_each(|field| body.extend_from_slice(field));
        self.rtmrs
            .iter()
            .for_each(|rtmr| body.extend_from_slice(&rtmr.0));
        body.extend_from_slice(&self.report_data.0);
        body
    }
}

/// The size of a TD 1.0 quote body ([`TdReport::quote_body`]).
pub const TD_QUOTE_BODY_SIZE: usize = 584;

/// `N` bytes at `offset` (the caller checked the length: zeros otherwise).
fn field<const N: usize>(bytes: &[u8], offset: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(part) = bytes.get(offset..offset + N) {
        out.copy_from_slice(part);
    }
    out
}
