//! The TDX side of the platform seam: the TD quote verified with its collateral (tdx-verify),
//! the HCL report's TDREPORT bound to it, and the TDX part of the policy.
//!
//! On Azure, the guest OS of a TDX CVM runs as an L2 VM under TD partitioning: only the
//! paravisor, in the L1 TD, can ask the TDX module for a TDREPORT, and the TD quote made from it
//! names the paravisor's MRTD. A known MRTD (in the firmware catalog or the policy's allow-list)
//! is what SNP's ID-key digest and VMPL 0 are there: the claims in report_data were put there by
//! Azure's paravisor.

use std::collections::BTreeMap;

use hcl_parse::{Hex, TdReport};
use serde::{Deserialize, Serialize};
use tdx_verify::{Collateral, IntelRoots, TcbStatus, VerifiedTdQuote, verify_td_quote};

use crate::catalog::{FirmwareCatalog, IdentityKind};
use crate::error::{Check, Error, Missing, PolicyViolation};
use crate::evidence::Evidence;
use crate::verdict::Recorder;

/// The TDX part of the policy (see `docs/policy.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TdxPolicy {
    /// TCB statuses accepted (Intel's names); empty means [`DEFAULT_TCB_STATUSES`]. A list
    /// replaces the default rather than extending it, so that a policy can narrow it.
    pub allowed_tcb_statuses: Vec<TcbStatus>,
    /// MRTDs accepted (empty: any known one). Which MRTDs are known firmware is the firmware
    /// catalog's to say; a non-empty list narrows that to its members, which it thereby also
    /// makes known (for raw TD quotes, it pins the TD).
    pub allowed_mrtds: Vec<Hex<48>>,
    /// Accept a TD with the debug attribute.
    pub allow_debug: bool,
    /// TDATTRIBUTES under this mask (bytes as in the report, little-endian) must equal
    /// [`TdxPolicy::td_attributes`].
    pub td_attributes_mask: Hex<8>,
    /// The value TDATTRIBUTES must have under the mask.
    pub td_attributes: Hex<8>,
    /// MRSERVICETD values accepted (TD 1.5 quotes; empty: any).
    pub allowed_mr_service_tds: Vec<Hex<48>>,
    /// MRCONFIGID, MROWNER and MROWNERCONFIG must be zero (Azure sets none of them: the
    /// counterpart of SNP's zero host_data).
    pub require_zero_owner_fields: bool,
    /// Expected RTMR values by index (0 to 3).
    pub expected_rtmrs: BTreeMap<u8, Hex<48>>,
    /// XFAM values accepted (empty: any).
    pub allowed_xfams: Vec<Hex<8>>,
    /// TDX module measurements (MRSEAM) accepted (empty: any).
    pub allowed_mr_seams: Vec<Hex<48>>,
    /// The lowest TCB evaluation data number of the collateral accepted (0: any). Intel raises
    /// it when it re-rates platforms after an advisory; older collateral stays signed and
    /// current for weeks, so a server (or cache) that serves it could hide the new rating.
    pub min_tcb_evaluation_data_number: u32,
}

/// TDATTRIBUTES bit 29, MIGRATABLE (as report bytes, little-endian): the counterpart of SNP's
/// migration agent, which azure-cvm forbids.
pub const TD_ATTRIBUTE_MIGRATABLE: Hex<8> = Hex([0, 0, 0, 0x20, 0, 0, 0, 0]);

/// The TCB statuses accepted when a policy lists none.
pub const DEFAULT_TCB_STATUSES: [TcbStatus; 2] =
    [TcbStatus::UpToDate, TcbStatus::SWHardeningNeeded];

impl Default for TdxPolicy {
    fn default() -> Self {
        Self {
            allowed_tcb_statuses: Vec::new(),
            allowed_mrtds: Vec::new(),
            allow_debug: false,
            td_attributes_mask: Hex([0; 8]),
            td_attributes: Hex([0; 8]),
            allowed_mr_service_tds: Vec::new(),
            require_zero_owner_fields: true,
            expected_rtmrs: BTreeMap::new(),
            allowed_xfams: Vec::new(),
            allowed_mr_seams: Vec::new(),
            min_tcb_evaluation_data_number: 0,
        }
    }
}

impl TdxPolicy {
    /// The TCB statuses accepted: the list, or [`DEFAULT_TCB_STATUSES`] when it is empty.
    pub fn accepted_tcb_statuses(&self) -> &[TcbStatus] {
        if self.allowed_tcb_statuses.is_empty() {
            &DEFAULT_TCB_STATUSES
        } else {
            &self.allowed_tcb_statuses
        }
    }

    /// Azure's TDX CVMs: not migratable, the defaults otherwise (the paravisor's MRTDs are in
    /// the firmware catalog).
    pub fn azure() -> Self {
        Self {
            td_attributes_mask: TD_ATTRIBUTE_MIGRATABLE,
            td_attributes: Hex([0; 8]),
            ..Self::default()
        }
    }
}

/// What a verified TD quote says, and how it met the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TdxClaims {
    /// The verified quote: TD report body, TCB status and advisories, FMSPC.
    #[serde(flatten)]
    pub quote: VerifiedTdQuote,
    /// The MRTD identifies known firmware: a firmware-catalog entry or the policy's allow-list
    /// names it.
    pub mrtd_allowed: bool,
    /// The names of the firmware-catalog entries the MRTD matched.
    pub catalog_entries: Vec<String>,
    /// The caller accepted unknown firmware ([`crate::VerifyOptions::allow_unknown_firmware`]).
    pub unknown_firmware_allowed: bool,
}

/// The TD quote, verified with the collateral, and the TDREPORT it was made from.
pub(crate) fn authenticate(
    evidence: &Evidence,
    td_report: &TdReport,
    collateral: Option<&Collateral>,
    roots: &IntelRoots,
    time: attest_prims::UnixTime,
    record: &mut Recorder,
) -> Result<VerifiedTdQuote, Error> {
    let quote = evidence.td_quote.as_deref().ok_or_else(|| {
        Error::input("the HCL report is TDX, but the evidence carries no TD quote (\"td_quote\")")
    })?;
    let collateral = collateral.ok_or(Error::Missing(Missing::TdxCollateral))?;
    let verified = verify_td_quote(quote, collateral, roots, time).map_err(Error::Tdx)?;
    record.passed(&[Check::TdQuote]);
    bind_td_report(td_report, &verified)?;
    record.passed(&[Check::TdReportBinding]);
    Ok(verified)
}

/// The HCL report's TDREPORT must be the one quoted: every field the quote repeats is equal.
fn bind_td_report(td_report: &TdReport, verified: &VerifiedTdQuote) -> Result<(), Error> {
    let body = verified.body();
    let fields: [(&'static str, &[u8], &[u8]); 10] = [
        ("report_data", &body.report_data.0, &td_report.report_data.0),
        ("tee_tcb_svn", &body.tee_tcb_svn.0, &td_report.tee_tcb_svn.0),
        ("mr_seam", &body.mr_seam.0, &td_report.mr_seam.0),
        (
            "mr_signer_seam",
            &body.mr_signer_seam.0,
            &td_report.mr_signer_seam.0,
        ),
        (
            "td_attributes",
            &body.td_attributes.0,
            &td_report.td_attributes.0,
        ),
        ("xfam", &body.xfam.0, &td_report.xfam.0),
        ("mr_td", &body.mr_td.0, &td_report.mr_td.0),
        (
            "mr_config_id",
            &body.mr_config_id.0,
            &td_report.mr_config_id.0,
        ),
        ("mr_owner", &body.mr_owner.0, &td_report.mr_owner.0),
        (
            "mr_owner_config",
            &body.mr_owner_config.0,
            &td_report.mr_owner_config.0,
        ),
    ];
    let rtmrs = body
        .rtmrs
        .iter()
        .zip(&td_report.rtmrs)
        .zip(RTMR_NAMES)
        .map(|((quoted, reported), name)| (name, &quoted.0[..], &reported.0[..]));
    for (field, quoted, reported) in fields.into_iter().chain(rtmrs) {
        if quoted != reported {
            return Err(Error::TdReportBinding {
                field,
                quote: hex::encode(quoted),
                hcl: hex::encode(reported),
            });
        }
    }
    Ok(())
}

/// Firmware identity (the MRTD, in the catalog or the policy's list), then the TDX policy; the
/// claims on success.
pub(crate) fn appraise(
    verified: VerifiedTdQuote,
    policy: &TdxPolicy,
    catalog: &FirmwareCatalog,
    unknown_firmware_allowed: bool,
    record: &mut Recorder,
) -> Result<TdxClaims, Error> {
    let body = verified.body();
    let catalog_entries = catalog_names(catalog, &body.mr_td);
    let mrtd_allowed = !catalog_entries.is_empty() || policy.allowed_mrtds.contains(&body.mr_td);
    if unknown_firmware_allowed {
        record.skipped(
            Check::FirmwareIdentity,
            "unknown firmware accepted by the caller: the vTPM binding is not trustworthy",
        );
        // As for SNP, the caller set the identity lists aside with the identity.
        let without_identity = TdxPolicy {
            allowed_mrtds: Vec::new(),
            ..policy.clone()
        };
        check_policy(&verified, &without_identity)?;
    } else if !mrtd_allowed {
        return Err(Error::UnknownTdFirmware { mr_td: body.mr_td });
    } else {
        record.passed(&[Check::FirmwareIdentity]);
        check_policy(&verified, policy)?;
    }
    Ok(TdxClaims {
        quote: verified,
        mrtd_allowed,
        catalog_entries,
        unknown_firmware_allowed,
    })
}

/// A raw TD quote's policy (no HCL report, no paravisor): known firmware when `known_in` is
/// given (the policy requires it), then the TDX policy.
pub(crate) fn appraise_raw(
    verified: VerifiedTdQuote,
    policy: &TdxPolicy,
    known_in: Option<&FirmwareCatalog>,
) -> Result<TdxClaims, Error> {
    let mr_td = verified.body().mr_td;
    let catalog_entries = known_in.map_or_else(Vec::new, |catalog| catalog_names(catalog, &mr_td));
    let mrtd_allowed = !catalog_entries.is_empty() || policy.allowed_mrtds.contains(&mr_td);
    if known_in.is_some() && !mrtd_allowed {
        return Err(Error::UnknownTdFirmware { mr_td });
    }
    check_policy(&verified, policy)?;
    Ok(TdxClaims {
        quote: verified,
        mrtd_allowed,
        catalog_entries,
        unknown_firmware_allowed: false,
    })
}

/// The names of the catalog entries an MRTD matches.
fn catalog_names(catalog: &FirmwareCatalog, mr_td: &Hex<48>) -> Vec<String> {
    catalog
        .find(IdentityKind::Mrtd, &mr_td.0)
        .map(|e| e.name.clone())
        .collect()
}

fn check_policy(verified: &VerifiedTdQuote, policy: &TdxPolicy) -> Result<(), Error> {
    let body = verified.body();
    if !policy.allowed_mrtds.is_empty() && !policy.allowed_mrtds.contains(&body.mr_td) {
        return Err(PolicyViolation::TdxValue {
            field: "MRTD",
            expected: format!(
                "one of [{}]",
                policy
                    .allowed_mrtds
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            found: body.mr_td.to_string(),
        }
        .into());
    }
    let tcb = verified.tcb();
    let evaluation = verified.tcb_evaluation_data_number();
    if evaluation < policy.min_tcb_evaluation_data_number {
        return Err(PolicyViolation::TdxValue {
            field: "tcbEvaluationDataNumber",
            expected: format!("at least {}", policy.min_tcb_evaluation_data_number),
            found: evaluation.to_string(),
        }
        .into());
    }
    let accepted = policy.accepted_tcb_statuses();
    if !accepted.contains(&tcb.status) {
        return Err(PolicyViolation::TdxTcbStatus {
            status: tcb.status,
            advisory_ids: tcb.advisory_ids.clone(),
            allowed: accepted.to_vec(),
        }
        .into());
    }
    if body.debug() && !policy.allow_debug {
        return Err(PolicyViolation::TdxDebug.into());
    }
    let mut masked = [0u8; 8];
    for ((out, value), mask) in masked
        .iter_mut()
        .zip(&body.td_attributes.0)
        .zip(&policy.td_attributes_mask.0)
    {
        *out = value & mask;
    }
    if masked != policy.td_attributes.0 {
        return Err(PolicyViolation::TdxValue {
            field: "TDATTRIBUTES",
            expected: format!(
                "{} under the mask {}",
                policy.td_attributes, policy.td_attributes_mask
            ),
            found: body.td_attributes.to_string(),
        }
        .into());
    }
    if let Some(service_td) = &body.mr_service_td {
        allowed("MRSERVICETD", &policy.allowed_mr_service_tds, service_td)?;
    }
    if policy.require_zero_owner_fields {
        for (field, value) in [
            ("MRCONFIGID", &body.mr_config_id),
            ("MROWNER", &body.mr_owner),
            ("MROWNERCONFIG", &body.mr_owner_config),
        ] {
            if value.0.iter().any(|&b| b != 0) {
                return Err(PolicyViolation::TdxValue {
                    field,
                    expected: "zero".into(),
                    found: value.to_string(),
                }
                .into());
            }
        }
    }
    for (&index, expected) in &policy.expected_rtmrs {
        let found = body.rtmrs.get(usize::from(index)).ok_or_else(|| {
            Error::input(format!(
                "policy tdx.expected_rtmrs: RTMR {index} does not exist (0 to 3)"
            ))
        })?;
        if found != expected {
            return Err(PolicyViolation::TdxValue {
                field: RTMR_NAMES
                    .get(usize::from(index))
                    .copied()
                    .unwrap_or("RTMR"),
                expected: expected.to_string(),
                found: found.to_string(),
            }
            .into());
        }
    }
    allowed("XFAM", &policy.allowed_xfams, &body.xfam)?;
    allowed("MRSEAM", &policy.allowed_mr_seams, &body.mr_seam)
}

fn allowed<const N: usize>(
    field: &'static str,
    list: &[Hex<N>],
    value: &Hex<N>,
) -> Result<(), Error> {
    if list.is_empty() || list.contains(value) {
        return Ok(());
    }
    Err(PolicyViolation::TdxValue {
        field,
        expected: format!(
            "one of [{}]",
            list.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        found: value.to_string(),
    }
    .into())
}

/// The RTMRs' names, by index.
const RTMR_NAMES: [&str; 4] = ["RTMR0", "RTMR1", "RTMR2", "RTMR3"];
