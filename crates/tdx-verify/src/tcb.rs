//! TCB info and QE identity (Intel PCS v4 documents), and how a TD quote's TCB status is
//! derived from them.
//!
//! | step | rule |
//! |---|---|
//! | platform level | TCB levels in order, highest first (SGX components, then PCE SVN, then TDX components, each compared as a vector): the first whose every SGX component and PCE SVN the PCK certificate meets, and whose TDX components TEE_TCB_SVN meets, gives the status and advisories; none met is [`TcbStatus::NoMatchingLevel`] (a caller's policy decides, like any status) |
//! | TDX components | when TEE_TCB_SVN[1] (the module's major version) is not zero, bytes 0 and 1 are judged by the module identity `TDX_<major, 2 hex digits>` instead: only bytes 2 to 15 are compared |
//! | TDX module | MRSIGNERSEAM equals the identity's (or `tdxModule`'s) mrsigner and SEAMATTRIBUTES under its mask equals its attributes; its first level with isvsvn <= TEE_TCB_SVN[0] gives a status converged into the platform's (Revoked wins; OutOfDate turns UpToDate and SWHardeningNeeded into OutOfDate, the configuration statuses into OutOfDateConfigurationNeeded) |
//! | QE | MRSIGNER and ISVPRODID equal, MISCSELECT and ATTRIBUTES under their masks equal; the first level with isvsvn <= the QE's ISVSVN gives the QE status, converged into the platform's the same way; advisories are merged |
//! | TD 1.5 | the current TCB (TEE_TCB_SVN2) is evaluated too; an out-of-date launch with an up-to-date current TCB is TDRelaunchAdvised (ConfigurationNeeded variant when either needs configuration) |
//! | Revoked | refused, whichever step gives it |

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use attest_prims::{Hex, UnixTime};
use serde::{Deserialize, Serialize};

use crate::body::{QeReport, TdReportBody};
use crate::error::{Error, Result};
use crate::sgx_ext::SgxExtensions;

/// A TCB status as Intel's collateral names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TcbStatus {
    /// Up to date.
    UpToDate,
    /// Up to date, but software mitigations are needed.
    SWHardeningNeeded,
    /// Up to date, but the platform's configuration needs changing.
    ConfigurationNeeded,
    /// Both of the above.
    ConfigurationAndSWHardeningNeeded,
    /// A newer TCB is available.
    OutOfDate,
    /// Out of date and the configuration needs changing.
    OutOfDateConfigurationNeeded,
    /// The platform's keys are compromised.
    Revoked,
    /// TD 1.5: launched on an out-of-date TCB that has since been updated: relaunch the TD.
    TDRelaunchAdvised,
    /// The same, and the configuration needs changing.
    TDRelaunchAdvisedConfigurationNeeded,
    /// The platform's TCB is below every level the TCB info lists (Intel's verifiers call it
    /// "TCB not supported"): the quote is genuine, its TCB cannot be rated. Not a status Intel
    /// writes in collateral.
    NoMatchingLevel,
}

impl fmt::Display for TcbStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl TcbStatus {
    /// This status with a component's (TDX module, QE) folded in.
    pub(crate) fn converge(self, component: Self) -> Self {
        use TcbStatus::*;
        match (component, self) {
            (Revoked, _) => Revoked,
            (OutOfDate, UpToDate | SWHardeningNeeded) => OutOfDate,
            (OutOfDate, ConfigurationNeeded | ConfigurationAndSWHardeningNeeded) => {
                OutOfDateConfigurationNeeded
            }
            _ => self,
        }
    }

    /// The launch status (this) with the current TCB's status of a TD 1.5.
    pub(crate) fn with_current(self, current: Self) -> Self {
        use TcbStatus::*;
        let configuration = |status| {
            matches!(
                status,
                ConfigurationNeeded
                    | OutOfDateConfigurationNeeded
                    | ConfigurationAndSWHardeningNeeded
                    | TDRelaunchAdvisedConfigurationNeeded
            )
        };
        match (self, current) {
            (
                OutOfDate | OutOfDateConfigurationNeeded,
                UpToDate
                | SWHardeningNeeded
                | ConfigurationNeeded
                | ConfigurationAndSWHardeningNeeded,
            ) if configuration(self) || configuration(current) => {
                TDRelaunchAdvisedConfigurationNeeded
            }
            (
                OutOfDate | OutOfDateConfigurationNeeded,
                UpToDate
                | SWHardeningNeeded
                | ConfigurationNeeded
                | ConfigurationAndSWHardeningNeeded,
            ) => TDRelaunchAdvised,
            _ => self,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
struct SvnOnly {
    svn: u8,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "lowercase")]
struct PlatformTcb {
    sgxtcbcomponents: Vec<SvnOnly>,
    pcesvn: u16,
    tdxtcbcomponents: Vec<SvnOnly>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlatformLevel {
    tcb: PlatformTcb,
    tcb_date: String,
    tcb_status: TcbStatus,
    #[serde(default, rename = "advisoryIDs")]
    advisory_ids: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct IsvSvn {
    isvsvn: u16,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IsvLevel {
    tcb: IsvSvn,
    tcb_date: String,
    tcb_status: TcbStatus,
    #[serde(default, rename = "advisoryIDs")]
    advisory_ids: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModuleIdentity {
    #[serde(default)]
    id: String,
    mrsigner: Hex<48>,
    attributes: Hex<8>,
    attributes_mask: Hex<8>,
    #[serde(default)]
    tcb_levels: Vec<IsvLevel>,
}

/// A TCB info document (id "TDX", version 3).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TcbInfo {
    id: String,
    version: u32,
    issue_date: String,
    next_update: String,
    fmspc: Hex<6>,
    pce_id: Hex<2>,
    #[serde(default)]
    tcb_evaluation_data_number: u32,
    tdx_module: Option<ModuleIdentity>,
    #[serde(default)]
    tdx_module_identities: Vec<ModuleIdentity>,
    tcb_levels: Vec<PlatformLevel>,
}

/// A QE identity document (id "TD_QE", version 2).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QeIdentity {
    id: String,
    version: u32,
    issue_date: String,
    next_update: String,
    #[serde(default)]
    tcb_evaluation_data_number: u32,
    miscselect: Hex<4>,
    miscselect_mask: Hex<4>,
    attributes: Hex<16>,
    attributes_mask: Hex<16>,
    mrsigner: Hex<32>,
    isvprodid: u16,
    tcb_levels: Vec<IsvLevel>,
}

/// A status with the advisories that explain it and the date of the TCB level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TcbVerdict {
    /// The status.
    pub status: TcbStatus,
    /// Intel security advisories (INTEL-SA-…) the level is affected by.
    pub advisory_ids: Vec<String>,
    /// The date of the TCB level (RFC 3339); none when no level is met.
    pub tcb_date: Option<String>,
}

impl TcbVerdict {
    fn fold(&mut self, component: &IsvLevel) {
        self.status = self.status.converge(component.tcb_status);
        for id in &component.advisory_ids {
            if !self.advisory_ids.contains(id) {
                self.advisory_ids.push(id.clone());
            }
        }
    }
}

/// The validity window of a document: issueDate <= time < nextUpdate.
/// Checks `issue <= time < next` and returns `next` (the document's nextUpdate).
fn check_window(what: &str, issue: &str, next: &str, time: UnixTime) -> Result<UnixTime> {
    let parse = |field: &str, text: &str| {
        UnixTime::parse_rfc3339(text)
            .map_err(|why| Error::malformed(format!("{what} {field}"), format!("{text:?}: {why}")))
    };
    let (not_before, not_after) = (parse("issueDate", issue)?, parse("nextUpdate", next)?);
    if time < not_before || time >= not_after {
        return Err(Error::NotValidAt {
            what: what.to_string(),
            time,
            not_before,
            not_after,
        });
    }
    Ok(not_after)
}

impl TcbInfo {
    pub(crate) fn parse(text: &str) -> Result<Self> {
        let info: Self =
            serde_json::from_str(text).map_err(|e| Error::malformed("TCB info", format!("{e}")))?;
        if info.id != "TDX" || info.version != 3 {
            return Err(Error::unexpected(
                "TCB info id and version",
                "TDX version 3",
                format!("{} version {}", info.id, info.version),
            ));
        }
        for (index, level) in info.tcb_levels.iter().enumerate() {
            let (sgx, tdx) = (
                level.tcb.sgxtcbcomponents.len(),
                level.tcb.tdxtcbcomponents.len(),
            );
            if sgx != 16 || tdx != 16 {
                return Err(Error::malformed(
                    format!("TCB info tcbLevels[{index}]"),
                    format!("expected 16 SGX and 16 TDX components, found {sgx} and {tdx}"),
                ));
            }
        }
        Ok(info)
    }

    pub(crate) fn check_window(&self, time: UnixTime) -> Result<UnixTime> {
        check_window("TCB info", &self.issue_date, &self.next_update, time)
    }

    pub(crate) fn evaluation_data_number(&self) -> u32 {
        self.tcb_evaluation_data_number
    }

    /// The FMSPC the document is for.
    pub(crate) fn fmspc(&self) -> [u8; 6] {
        self.fmspc.0
    }

    /// The FMSPC and PCE id must be the PCK certificate's.
    pub(crate) fn check_platform(&self, sgx: &SgxExtensions) -> Result<()> {
        if self.fmspc.0 != sgx.fmspc {
            return Err(Error::unexpected(
                "TCB info fmspc",
                format!("the PCK certificate's {}", hex::encode_upper(sgx.fmspc)),
                hex::encode_upper(self.fmspc.0),
            ));
        }
        if self.pce_id.0 != sgx.pce_id {
            return Err(Error::unexpected(
                "TCB info pceId",
                format!("the PCK certificate's {}", hex::encode_upper(sgx.pce_id)),
                hex::encode_upper(self.pce_id.0),
            ));
        }
        Ok(())
    }

    /// The levels, highest first (Intel's order, whatever the document's).
    fn sorted_levels(&self) -> Vec<&PlatformLevel> {
        let key = |level: &PlatformLevel| {
            let sgx: Vec<u8> = level.tcb.sgxtcbcomponents.iter().map(|c| c.svn).collect();
            let tdx: Vec<u8> = level.tcb.tdxtcbcomponents.iter().map(|c| c.svn).collect();
            (sgx, level.tcb.pcesvn, tdx)
        };
        let mut levels: Vec<&PlatformLevel> = self.tcb_levels.iter().collect();
        levels.sort_by_key(|level| core::cmp::Reverse(key(level)));
        levels
    }

    /// The status of the platform with TEE_TCB_SVN `tee_tcb_svn`, the TDX module folded in.
    pub(crate) fn platform_status(
        &self,
        sgx: &SgxExtensions,
        tee_tcb_svn: &[u8; 16],
        body: &TdReportBody,
    ) -> Result<TcbVerdict> {
        let module = self.module_identity(tee_tcb_svn, body)?;
        // With a module identity, its bytes (0: SVN, 1: major version) are judged there.
        let first_tdx = if tee_tcb_svn.get(1).is_some_and(|&major| major != 0) {
            2
        } else {
            0
        };
        let meets = |level: &PlatformLevel| {
            let sgx_ok = sgx
                .cpu_svn_components
                .iter()
                .zip(&level.tcb.sgxtcbcomponents)
                .all(|(have, need)| *have >= need.svn);
            let tdx_ok = tee_tcb_svn
                .iter()
                .zip(&level.tcb.tdxtcbcomponents)
                .skip(first_tdx)
                .all(|(have, need)| *have >= need.svn);
            sgx_ok && sgx.pce_svn >= level.tcb.pcesvn && tdx_ok
        };
        let mut verdict = match self.sorted_levels().into_iter().find(|level| meets(level)) {
            Some(level) => TcbVerdict {
                status: level.tcb_status,
                advisory_ids: level.advisory_ids.clone(),
                tcb_date: Some(level.tcb_date.clone()),
            },
            None => TcbVerdict {
                status: TcbStatus::NoMatchingLevel,
                advisory_ids: Vec::new(),
                tcb_date: None,
            },
        };
        if let Some(module_level) = module {
            verdict.fold(module_level);
            if let Some(date) = &verdict.tcb_date
                && earlier(&module_level.tcb_date, date)
            {
                verdict.tcb_date = Some(module_level.tcb_date.clone());
            }
        }
        Ok(verdict)
    }

    /// Checks the TDX module's signer and attributes; returns its TCB level when TEE_TCB_SVN
    /// names a module identity (major version not zero).
    fn module_identity(
        &self,
        tee_tcb_svn: &[u8; 16],
        body: &TdReportBody,
    ) -> Result<Option<&IsvLevel>> {
        let major = tee_tcb_svn.get(1).copied().unwrap_or_default();
        let identity = if major == 0 {
            self.tdx_module.as_ref().ok_or_else(|| {
                Error::malformed(
                    "TCB info",
                    "no tdxModule for a TDX module of major version 0",
                )
            })?
        } else {
            let wanted = format!("TDX_{major:02X}");
            self.tdx_module_identities
                .iter()
                .find(|identity| identity.id.eq_ignore_ascii_case(&wanted))
                .ok_or_else(|| Error::NoTcbLevel {
                    what: "TDX module identity",
                    detail: format!("the TCB info lists no {wanted}"),
                })?
        };
        let which = if identity.id.is_empty() {
            "tdxModule".to_string()
        } else {
            identity.id.clone()
        };
        if body.mr_signer_seam != identity.mrsigner {
            return Err(Error::unexpected(
                format!("TD quote MRSIGNERSEAM (TCB info {which})"),
                identity.mrsigner.to_string(),
                body.mr_signer_seam.to_string(),
            ));
        }
        // Intel's verifier also requires SEAMATTRIBUTES to be zero, whatever the mask says.
        let masked = masked(&body.seam_attributes.0, &identity.attributes_mask.0);
        if masked != identity.attributes.0 || body.seam_attributes.0 != [0; 8] {
            return Err(Error::unexpected(
                format!("TD quote SEAMATTRIBUTES under the mask (TCB info {which})"),
                identity.attributes.to_string(),
                hex::encode(masked),
            ));
        }
        if major == 0 {
            return Ok(None);
        }
        let svn = u16::from(tee_tcb_svn.first().copied().unwrap_or_default());
        identity
            .tcb_levels
            .iter()
            .find(|level| level.tcb.isvsvn <= svn)
            .map(Some)
            .ok_or_else(|| Error::NoTcbLevel {
                what: "TDX module identity",
                detail: format!("{which}: module SVN {svn}"),
            })
    }
}

impl QeIdentity {
    pub(crate) fn parse(text: &str) -> Result<Self> {
        let identity: Self = serde_json::from_str(text)
            .map_err(|e| Error::malformed("QE identity", format!("{e}")))?;
        if identity.id != "TD_QE" || !(2..=3).contains(&identity.version) {
            return Err(Error::unexpected(
                "QE identity id and version",
                "TD_QE version 2 or 3",
                format!("{} version {}", identity.id, identity.version),
            ));
        }
        Ok(identity)
    }

    pub(crate) fn check_window(&self, time: UnixTime) -> Result<UnixTime> {
        check_window("QE identity", &self.issue_date, &self.next_update, time)
    }

    pub(crate) fn evaluation_data_number(&self) -> u32 {
        self.tcb_evaluation_data_number
    }

    /// The QE report must be Intel's TD quoting enclave; its level folds into `platform`.
    pub(crate) fn fold_into(&self, qe: &QeReport, platform: &mut TcbVerdict) -> Result<TcbStatus> {
        if qe.mr_signer != self.mrsigner.0 {
            return Err(Error::unexpected(
                "QE report MRSIGNER",
                self.mrsigner.to_string(),
                hex::encode(qe.mr_signer),
            ));
        }
        if qe.isv_prod_id != self.isvprodid {
            return Err(Error::unexpected(
                "QE report ISVPRODID",
                self.isvprodid.to_string(),
                qe.isv_prod_id.to_string(),
            ));
        }
        // MISCSELECT: the document's hex is the report's bytes in order (little-endian), as
        // Intel's verifier reads it.
        let misc = qe.misc_select & u32::from_le_bytes(self.miscselect_mask.0);
        if misc != u32::from_le_bytes(self.miscselect.0) {
            return Err(Error::unexpected(
                "QE report MISCSELECT under the mask",
                self.miscselect.to_string(),
                hex::encode(misc.to_le_bytes()),
            ));
        }
        let attributes = masked(&qe.attributes, &self.attributes_mask.0);
        if attributes != self.attributes.0 {
            return Err(Error::unexpected(
                "QE report ATTRIBUTES under the mask",
                self.attributes.to_string(),
                hex::encode(attributes),
            ));
        }
        let level = self
            .tcb_levels
            .iter()
            .find(|level| level.tcb.isvsvn <= qe.isv_svn)
            .ok_or_else(|| Error::NoTcbLevel {
                what: "QE identity",
                detail: format!("QE ISVSVN {}", qe.isv_svn),
            })?;
        platform.fold(level);
        Ok(level.tcb_status)
    }
}

fn masked<const N: usize>(value: &[u8; N], mask: &[u8; N]) -> [u8; N] {
    let mut out = [0u8; N];
    for ((out, value), mask) in out.iter_mut().zip(value).zip(mask) {
        *out = value & mask;
    }
    out
}

/// Whether RFC 3339 date `a` is before `b` (unparseable dates compare as not earlier).
fn earlier(a: &str, b: &str) -> bool {
    match (UnixTime::parse_rfc3339(a), UnixTime::parse_rfc3339(b)) {
        (Ok(a), Ok(b)) => a < b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qe_report(misc_select: u32) -> QeReport {
        QeReport {
            cpu_svn: [0; 16],
            misc_select,
            attributes: [0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            mr_enclave: [0; 32],
            mr_signer: [0xAB; 32],
            isv_prod_id: 2,
            isv_svn: 5,
            report_data: [0; 64],
        }
    }

    fn identity(miscselect: &str, mask: &str) -> QeIdentity {
        let text = format!(
            r#"{{"id":"TD_QE","version":2,"issueDate":"2026-01-01T00:00:00Z","nextUpdate":"2026-02-01T00:00:00Z","tcbEvaluationDataNumber":18,"miscselect":"{miscselect}","miscselectMask":"{mask}","attributes":"11000000000000000000000000000000","attributesMask":"FBFFFFFFFFFFFFFF0000000000000000","mrsigner":"{}","isvprodid":2,"tcbLevels":[{{"tcb":{{"isvsvn":4}},"tcbDate":"2024-11-13T00:00:00Z","tcbStatus":"UpToDate"}}]}}"#,
            "AB".repeat(32)
        );
        QeIdentity::parse(&text).unwrap()
    }

    fn verdict() -> TcbVerdict {
        TcbVerdict {
            status: TcbStatus::UpToDate,
            advisory_ids: Vec::new(),
            tcb_date: None,
        }
    }

    /// MISCSELECT's hex is the report's bytes in order: "01000000" is the number 1.
    #[test]
    fn miscselect_is_read_in_the_reports_byte_order() {
        let id = identity("01000000", "FFFFFFFF");
        assert!(id.fold_into(&qe_report(1), &mut verdict()).is_ok());
        let error = id
            .fold_into(&qe_report(0x0100_0000), &mut verdict())
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("MISCSELECT under the mask: expected 01000000, found 00000001"),
            "{error}"
        );
        // The mask "00FFFFFF" ignores the report's first byte (the number's lowest): any value
        // there passes, and the last byte still counts.
        let masked = identity("00000000", "00FFFFFF");
        assert!(masked.fold_into(&qe_report(0xFF), &mut verdict()).is_ok());
        assert!(
            masked
                .fold_into(&qe_report(0xFF00_0000), &mut verdict())
                .is_err()
        );
    }
}
