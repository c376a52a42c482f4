//! The claims a relying party reads from verified evidence: which firmware made the report,
//! the VM's configuration, and what its event log says booted. Plain data, built by the
//! verification stages.

use hcl_parse::{Hex, SnpReport};
use serde::Serialize;
use snp_verify::{Listing, Policy};
use tcg_eventlog::{BootSummary, LogFormat, VerifiedEventLog};
use vtpm_quote::{HashAlg, PcrBankSelection};

use crate::catalog::{FirmwareCatalog, IdentityKind};

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
    /// The ID-key digest identifies known firmware (a firmware-catalog entry or the policy's
    /// allow-list names it), and the author key, if the policy lists any, is allowed.
    pub id_key_allowed: bool,
    /// The measurement identifies known firmware (a catalog entry or the policy's list).
    pub measurement_allowed: bool,
    /// The names of the firmware-catalog entries the report matched, ID keys first.
    pub catalog_entries: Vec<String>,
    /// VMPL is 0.
    pub vmpl_ok: bool,
    /// host_data is all zero, or one the policy names.
    pub host_data_ok: bool,
    /// The caller accepted unknown firmware ([`crate::VerifyOptions::allow_unknown_firmware`]).
    pub unknown_firmware_allowed: bool,
}

impl FirmwareClaims {
    /// Reads the values from the report and compares them with the firmware catalog and the
    /// policy.
    pub fn of(
        report: &SnpReport<'_>,
        policy: &Policy,
        catalog: &FirmwareCatalog,
        unknown_firmware_allowed: bool,
    ) -> Self {
        // The policy's allow-lists, read by snp-verify's one rule (`Listing`): identity needs
        // the firmware named (Listed, or in the catalog), an author key list may only narrow it
        // down.
        let listing = policy.firmware_listing(report);
        let catalogued = catalog.matches_snp(report);
        let catalogued_as = |kind| catalogued.iter().any(|e| e.kind == kind);
        // With no host_data list, Azure's CVMs have all-zero host_data (its container hosts set it).
        let host_data_ok = match listing.host_data {
            Listing::Unrestricted => report.host_data().iter().all(|&b| b == 0),
            other => other == Listing::Listed,
        };
        Self {
            id_key_digest: Hex(*report.id_key_digest()),
            author_key_digest: Hex(*report.author_key_digest()),
            measurement: Hex(*report.measurement()),
            vmpl: report.vmpl(),
            host_data: Hex(*report.host_data()),
            id_key_allowed: (catalogued_as(IdentityKind::IdKeyDigest)
                || listing.id_key == Listing::Listed)
                && listing.author_key.accepts(),
            measurement_allowed: catalogued_as(IdentityKind::Measurement)
                || listing.measurement == Listing::Listed,
            catalog_entries: catalogued.iter().map(|e| e.name.clone()).collect(),
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
            problems.push(
                "neither the ID-key digest nor the measurement is in the firmware catalog or allowed by the policy",
            );
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
}

/// The vm-configuration claims a relying party reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VmConfigurationClaims {
    /// Secure boot enabled.
    pub secure_boot: Option<bool>,
    /// vTPM enabled.
    pub tpm_enabled: Option<bool>,
    /// Serial console enabled.
    pub console_enabled: Option<bool>,
    /// vTPM state persisted.
    pub tpm_persisted: Option<bool>,
    /// The VM's unique id.
    pub vm_unique_id: Option<String>,
}

impl VmConfigurationClaims {
    pub(crate) fn of(config: &hcl_parse::VmConfiguration<'_>) -> Self {
        Self {
            secure_boot: config.secure_boot,
            tpm_enabled: config.tpm_enabled,
            console_enabled: config.console_enabled,
            tpm_persisted: config.tpm_persisted,
            vm_unique_id: config.vm_unique_id.as_deref().map(String::from),
        }
    }
}

/// What the evidence's TCG event log says, once it replayed to the quoted PCRs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventLogClaims {
    /// The record format.
    pub format: LogFormat,
    /// How many records the log has.
    pub events: usize,
    /// PCRs whose replayed value equals the quoted one, by bank: PCRs 0-7 and every other PCR
    /// the log extends, where the quote covers them.
    pub matched_pcrs: Vec<PcrBankSelection>,
    /// PCRs the log extends that the quote does not cover (their events are not attested).
    pub unquoted_pcrs: Vec<PcrBankSelection>,
    /// What booted, from the events of matched PCRs only.
    #[serde(flatten)]
    pub summary: BootSummary,
}

fn by_bank(pairs: &[(HashAlg, u8)]) -> Vec<PcrBankSelection> {
    let mut banks: Vec<PcrBankSelection> = Vec::new();
    for &(bank, index) in pairs {
        match banks.iter_mut().find(|b| b.bank == bank) {
            Some(selection) => selection.indices.push(index),
            None => banks.push(PcrBankSelection {
                bank,
                indices: vec![index],
            }),
        }
    }
    for selection in &mut banks {
        selection.indices.sort_unstable();
    }
    banks
}

impl EventLogClaims {
    pub(crate) fn of(verified: &VerifiedEventLog<'_, '_>) -> Self {
        Self {
            format: verified.log().format(),
            events: verified.log().events().len(),
            matched_pcrs: by_bank(verified.compared()),
            unquoted_pcrs: by_bank(verified.unquoted()),
            summary: verified.summary(),
        }
    }
}

/// What the evidence's AK certificate says, or why there is nothing to say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AkCertificateClaims {
    /// The certificate chains to the pinned vTPM root and certifies the AK that signed the
    /// quote (the runtime claims' HCLAkPub).
    Verified(vtpm_akcert::VerifiedAkCertificate),
    /// The evidence carries none (and the policy does not require one).
    Absent,
    /// The policy says not to look (`ak_certificate = "ignored"`).
    Ignored,
}
