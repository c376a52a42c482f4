//! The two reports a TD quote carries: the TD report body (what the TD is: TDX module, MRTD,
//! RTMRs, report data) and the QE report (which quoting enclave signed, and its commitment to the
//! attestation key).

use attest_prims::Hex;
use serde::Serialize;

use crate::error::Result;
use crate::quote::{Reader, TD15_BODY_LEN};

/// A 48-byte measurement.
pub type Measurement = Hex<48>;

/// The TD report body of a TD quote (TD 1.0: 584 bytes; TD 1.5 adds 64).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TdReportBody {
    /// TEE_TCB_SVN: the TDX module's SVN (byte 0), its major version (byte 1), and the other
    /// TDX TCB components.
    pub tee_tcb_svn: Hex<16>,
    /// MRSEAM: the TDX module's measurement.
    pub mr_seam: Measurement,
    /// MRSIGNERSEAM: its signer (zero for Intel's).
    pub mr_signer_seam: Measurement,
    /// SEAMATTRIBUTES.
    pub seam_attributes: Hex<8>,
    /// TDATTRIBUTES (bit 0: debug).
    pub td_attributes: Hex<8>,
    /// XFAM: the extended features the TD may use.
    pub xfam: Hex<8>,
    /// MRTD: the TD's initial contents (on Azure, the paravisor's).
    pub mr_td: Measurement,
    /// MRCONFIGID.
    pub mr_config_id: Measurement,
    /// MROWNER.
    pub mr_owner: Measurement,
    /// MROWNERCONFIG.
    pub mr_owner_config: Measurement,
    /// RTMR0 to RTMR3.
    pub rtmrs: [Measurement; 4],
    /// REPORTDATA: 64 bytes the TD chose.
    pub report_data: Hex<64>,
    /// TD 1.5: TEE_TCB_SVN2, the current TCB after a TD-preserving update.
    pub tee_tcb_svn2: Option<Hex<16>>,
    /// TD 1.5: MRSERVICETD.
    pub mr_service_td: Option<Measurement>,
}

impl TdReportBody {
    /// Parses a body of 584 (TD 1.0) or 648 (TD 1.5) bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        r.base = "TD report body";
        let mut body = Self {
            tee_tcb_svn: Hex(r.array("tee_tcb_svn")?),
            mr_seam: Hex(r.array("mr_seam")?),
            mr_signer_seam: Hex(r.array("mr_signer_seam")?),
            seam_attributes: Hex(r.array("seam_attributes")?),
            td_attributes: Hex(r.array("td_attributes")?),
            xfam: Hex(r.array("xfam")?),
            mr_td: Hex(r.array("mr_td")?),
            mr_config_id: Hex(r.array("mr_config_id")?),
            mr_owner: Hex(r.array("mr_owner")?),
            mr_owner_config: Hex(r.array("mr_owner_config")?),
            rtmrs: [
                Hex(r.array("rtmr0")?),
                Hex(r.array("rtmr1")?),
                Hex(r.array("rtmr2")?),
                Hex(r.array("rtmr3")?),
            ],
            report_data: Hex(r.array("report_data")?),
            tee_tcb_svn2: None,
            mr_service_td: None,
        };
        if bytes.len() == TD15_BODY_LEN {
            body.tee_tcb_svn2 = Some(Hex(r.array("tee_tcb_svn2")?));
            body.mr_service_td = Some(Hex(r.array("mr_service_td")?));
        }
        r.finish()?;
        Ok(body)
    }

    /// Whether TDATTRIBUTES has the debug bit (bit 0).
    pub fn debug(&self) -> bool {
        self.td_attributes
            .0
            .first()
            .is_some_and(|byte| byte & 1 == 1)
    }
}

/// The quoting enclave's report (an SGX report body, 384 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QeReport {
    /// CPUSVN.
    pub cpu_svn: [u8; 16],
    /// MISCSELECT.
    pub misc_select: u32,
    /// ATTRIBUTES.
    pub attributes: [u8; 16],
    /// MRENCLAVE.
    pub mr_enclave: [u8; 32],
    /// MRSIGNER: whose enclave it is.
    pub mr_signer: [u8; 32],
    /// ISVPRODID.
    pub isv_prod_id: u16,
    /// ISVSVN: the QE's security version.
    pub isv_svn: u16,
    /// REPORTDATA: SHA-256(attestation key || QE auth data), then zeros.
    pub report_data: [u8; 64],
}

impl QeReport {
    /// Parses the 384 bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        r.base = "QE report";
        let cpu_svn = r.array("cpu_svn")?;
        let misc_select = r.u32("misc_select")?;
        r.take(28, "reserved")?;
        let attributes = r.array("attributes")?;
        let mr_enclave = r.array("mr_enclave")?;
        r.take(32, "reserved")?;
        let mr_signer = r.array("mr_signer")?;
        r.take(96, "reserved")?;
        let isv_prod_id = r.u16("isv_prod_id")?;
        let isv_svn = r.u16("isv_svn")?;
        r.take(60, "reserved")?;
        let report_data = r.array("report_data")?;
        r.finish()?;
        Ok(Self {
            cpu_svn,
            misc_select,
            attributes,
            mr_enclave,
            mr_signer,
            isv_prod_id,
            isv_svn,
            report_data,
        })
    }
}
