//! Firmware identity: vTPM evidence is only as trustworthy as the firmware that made it.
//!
//! Code at VMPL 0 of any SNP guest on genuine AMD hardware can ask for a report with any
//! report_data, so it can invent runtime claims with an AK of its own and sign any "quote".
//! Only Azure's paravisor layout makes the claims meaningful: known firmware (ID-key digest or
//! launch measurement, in the firmware catalog or the policy's allow-lists), VMPL 0, and an
//! all-zero host_data (Azure's container hosts set it).

use hcl_parse::SnpReport;
use snp_verify::Policy;

use crate::catalog::FirmwareCatalog;
use crate::claims::FirmwareClaims;
use crate::error::{Check, Error};
use crate::verdict::Recorder;

/// The firmware-identity stage: the values that identify the firmware, and the report policy
/// to appraise with (without the identity allow-lists when the caller accepted unknown
/// firmware, which the verdict records).
pub(crate) fn identify(
    report: &SnpReport<'_>,
    policy: &Policy,
    catalog: &FirmwareCatalog,
    unknown_firmware_allowed: bool,
    record: &mut Recorder,
) -> Result<(FirmwareClaims, Policy), Error> {
    let firmware = FirmwareClaims::of(report, policy, catalog, unknown_firmware_allowed);
    if unknown_firmware_allowed {
        record.skipped(
            Check::FirmwareIdentity,
            "unknown firmware accepted by the caller: the vTPM binding is not trustworthy",
        );
        return Ok((firmware, without_firmware_identity(policy)));
    }
    require_known(&firmware)?;
    record.passed(&[Check::FirmwareIdentity]);
    Ok((firmware, policy.clone()))
}

/// Refuses evidence whose firmware is not identified, not at VMPL 0, or whose host_data is not
/// zero (or the value the policy names).
pub(crate) fn require_known(firmware: &FirmwareClaims) -> Result<(), Error> {
    if firmware.problems().is_empty() {
        return Ok(());
    }
    Err(Error::UnknownFirmware(Box::new(firmware.clone())))
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
