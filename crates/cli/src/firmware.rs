//! Firmware identity: vTPM evidence is only as trustworthy as the firmware that made it.
//!
//! Code at VMPL 0 of any SNP guest on genuine AMD hardware can ask for a report with any
//! report_data, so it can invent runtime claims with an AK of its own and sign any "quote".
//! Only Azure's paravisor layout makes the claims meaningful: known firmware (ID-key digest or
//! launch measurement), VMPL 0, and an all-zero host_data (Azure's container hosts set it).

use hcl_parse::{Hex, SnpReport};
use serde::Serialize;
use snp_verify::Policy;

use crate::error::{Check, Error};
use crate::verdict::Recorder;

/// The firmware-identity stage: the values that identify the firmware, and the report policy
/// to appraise with (without the identity allow-lists when the caller accepted unknown
/// firmware, which the verdict records).
pub(crate) fn identify(
    report: &SnpReport<'_>,
    policy: &Policy,
    unknown_firmware_allowed: bool,
    record: &mut Recorder,
) -> Result<(FirmwareClaims, Policy), Error> {
    let firmware = FirmwareClaims::of(report, policy, unknown_firmware_allowed);
    if unknown_firmware_allowed {
        record.skipped(
            Check::FirmwareIdentity,
            "unknown firmware accepted by the caller: the vTPM binding is not trustworthy",
        );
        return Ok((firmware, without_firmware_identity(policy)));
    }
    firmware.require_known()?;
    record.passed(&[Check::FirmwareIdentity]);
    Ok((firmware, policy.clone()))
}

/// The values that identify the firmware, and whether each met the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirmwareClaims {
    /// SHA-384 of the key that signed the launched firmware.
    pub id_key_digest: Hex<48>,
    /// SHA-384 of the author key (zero when unused).
    pub author_key_digest: Hex<48>,
    /// Launch measurement.
    pub measurement: Hex<48>,
    /// VMPL of the requester.
    pub vmpl: u32,
    /// Host data.
    pub host_data: Hex<32>,
    /// The ID-key digest (and author key, if the policy lists any) is allowed.
    pub id_key_allowed: bool,
    /// The measurement is allowed.
    pub measurement_allowed: bool,
    /// VMPL is 0.
    pub vmpl_ok: bool,
    /// host_data is all zero, or one the policy names.
    pub host_data_ok: bool,
    /// The caller accepted unknown firmware ([`crate::VerifyOptions::allow_unknown_firmware`]).
    pub unknown_firmware_allowed: bool,
}

impl FirmwareClaims {
    /// Reads the values from the report and compares them with the policy.
    pub fn of(report: &SnpReport<'_>, policy: &Policy, unknown_firmware_allowed: bool) -> Self {
        let contains = |list: &[Hex<48>], value: &[u8; 48]| list.iter().any(|h| &h.0 == value);
        let author_ok = policy.allowed_author_key_digests.is_empty()
            || contains(
                &policy.allowed_author_key_digests,
                report.author_key_digest(),
            );
        let host_data_ok = if policy.allowed_host_data.is_empty() {
            report.host_data().iter().all(|&b| b == 0)
        } else {
            policy
                .allowed_host_data
                .iter()
                .any(|h| &h.0 == report.host_data())
        };
        Self {
            id_key_digest: Hex(*report.id_key_digest()),
            author_key_digest: Hex(*report.author_key_digest()),
            measurement: Hex(*report.measurement()),
            vmpl: report.vmpl(),
            host_data: Hex(*report.host_data()),
            id_key_allowed: contains(&policy.allowed_id_key_digests, report.id_key_digest())
                && author_ok,
            measurement_allowed: contains(&policy.allowed_measurements, report.measurement()),
            vmpl_ok: report.vmpl() == 0,
            host_data_ok,
            unknown_firmware_allowed,
        }
    }

    /// Whether the firmware is identified by ID key or by measurement.
    pub fn identified(&self) -> bool {
        self.id_key_allowed || self.measurement_allowed
    }

    /// What keeps the firmware from being trusted; empty when it is.
    pub fn problems(&self) -> Vec<&'static str> {
        let mut problems = Vec::new();
        if !self.identified() {
            problems.push("neither the ID-key digest nor the measurement is allowed by the policy");
        }
        if !self.vmpl_ok {
            problems.push("the report was not requested at VMPL 0");
        }
        if !self.host_data_ok {
            problems.push(
                "host_data is not zero (Azure's container hosts set it; its confidential VMs do not)",
            );
        }
        problems
    }

    /// Refuses evidence whose firmware is not identified, not at VMPL 0, or whose host_data is
    /// not zero (or the value the policy names).
    pub fn require_known(&self) -> Result<(), Error> {
        if self.problems().is_empty() {
            return Ok(());
        }
        Err(Error::UnknownFirmware(Box::new(self.clone())))
    }
}

/// The report policy without the firmware-identity fields, for a caller that accepts unknown
/// firmware.
pub(crate) fn without_firmware_identity(policy: &Policy) -> Policy {
    Policy {
        allowed_id_key_digests: Vec::new(),
        allowed_author_key_digests: Vec::new(),
        allowed_measurements: Vec::new(),
        allowed_host_data: Vec::new(),
        required_vmpl: None,
        ..policy.clone()
    }
}
