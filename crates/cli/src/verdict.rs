//! What a successful verification says: the checks that ran (recorded in one place), the
//! claims a relying party reads, and [`VerifiedEvidence`], which only the verifier builds.

use hcl_parse::{Hex, HexBytes};
use serde::Serialize;
use snp_verify::{RevocationStatus, VerifiedReport};
use vtpm_quote::VerifiedQuote;

use crate::claims::{AkCertificateClaims, EventLogClaims, FirmwareClaims, VmConfigurationClaims};
use crate::error::Check;
use crate::evidence::EvidenceVersion;
use crate::policy::Platform;
use crate::tdx::TdxClaims;

/// How a check ended in a successful verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The check ran and passed.
    Passed,
    /// The check did not run, by the caller's or the policy's explicit choice (see the reason).
    Skipped,
}

/// A check and how it ended in a successful verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckRecord {
    /// The check.
    pub check: Check,
    /// Passed or skipped.
    pub outcome: Outcome,
    /// Why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The one place a verification records its checks, in the order they ran.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    checks: Vec<CheckRecord>,
}

impl Recorder {
    /// `checks` ran and passed.
    pub(crate) fn passed(&mut self, checks: &[Check]) {
        self.checks.extend(checks.iter().map(|&check| CheckRecord {
            check,
            outcome: Outcome::Passed,
            reason: None,
        }));
    }

    /// `check` did not run, and why.
    pub(crate) fn skipped(&mut self, check: Check, reason: impl Into<String>) {
        self.checks.push(CheckRecord {
            check,
            outcome: Outcome::Skipped,
            reason: Some(reason.into()),
        });
    }

    /// Passed when `reason` is None, else skipped for that reason.
    pub(crate) fn record(&mut self, check: Check, skipped_because: Option<&str>) {
        match skipped_because {
            None => self.passed(&[check]),
            Some(reason) => self.skipped(check, reason),
        }
    }

    pub(crate) fn into_checks(self) -> Vec<CheckRecord> {
        self.checks
    }
}

/// Evidence that passed every check; only [`crate::Verifier::verify`] builds one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedEvidence {
    pub(crate) evidence_version: EvidenceVersion,
    pub(crate) platform: Platform,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) report: Option<VerifiedReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) firmware: Option<FirmwareClaims>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tdx: Option<Box<TdxClaims>>,
    pub(crate) quote: VerifiedQuote,
    pub(crate) nonce_checked: bool,
    pub(crate) report_bound_to_nonce: bool,
    pub(crate) vm_configuration: Option<VmConfigurationClaims>,
    pub(crate) event_log: Option<EventLogClaims>,
    pub(crate) ak_certificate: AkCertificateClaims,
    pub(crate) user_data: Option<HexBytes>,
    pub(crate) ak_fingerprint: Hex<32>,
    pub(crate) revocation: RevocationStatus,
    pub(crate) checks: Vec<CheckRecord>,
    pub(crate) warnings: Vec<String>,
}

impl VerifiedEvidence {
    /// The hardware the evidence came from.
    pub fn platform(&self) -> Platform {
        self.platform
    }
    /// The verified SNP report's claims (SNP evidence).
    pub fn report(&self) -> Option<&VerifiedReport> {
        self.report.as_ref()
    }
    /// The verified TD quote's claims and how they met the policy (TDX evidence).
    pub fn tdx(&self) -> Option<&TdxClaims> {
        self.tdx.as_deref()
    }
    /// The verified quote (nonce, PCRs).
    pub fn quote(&self) -> &VerifiedQuote {
        &self.quote
    }
    /// The AK certificate: verified (with the VM it names), absent, or ignored by the policy.
    pub fn ak_certificate(&self) -> &AkCertificateClaims {
        &self.ak_certificate
    }
    /// The SNP firmware identity values and whether each met the policy (SNP evidence; a TD's
    /// is its MRTD, in [`VerifiedEvidence::tdx`]).
    pub fn firmware(&self) -> Option<&FirmwareClaims> {
        self.firmware.as_ref()
    }
    /// The evidence format.
    pub fn evidence_version(&self) -> EvidenceVersion {
        self.evidence_version
    }
    /// Whether the nonce was checked.
    pub fn nonce_checked(&self) -> bool {
        self.nonce_checked
    }
    /// Whether the report's user-data carries the nonce (the report is as fresh as the nonce).
    pub fn report_bound_to_nonce(&self) -> bool {
        self.report_bound_to_nonce
    }
    /// vm-configuration claims.
    pub fn vm_configuration(&self) -> Option<&VmConfigurationClaims> {
        self.vm_configuration.as_ref()
    }
    /// The event log's claims, when the evidence carries a log (it replayed to the quote).
    pub fn event_log(&self) -> Option<&EventLogClaims> {
        self.event_log.as_ref()
    }
    /// user-data of the runtime claims.
    pub fn user_data(&self) -> Option<&[u8]> {
        self.user_data.as_ref().map(|u| u.0.as_slice())
    }
    /// SHA-256 of the AK modulus.
    pub fn ak_fingerprint(&self) -> &[u8; 32] {
        &self.ak_fingerprint.0
    }
    /// Revocation status.
    pub fn revocation(&self) -> RevocationStatus {
        self.revocation
    }
    /// Every check, passed or skipped by explicit choice.
    pub fn checks(&self) -> &[CheckRecord] {
        &self.checks
    }
    /// What verification accepted without the policy saying so (the report's warnings
    /// included); empty when nothing was left open.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}
