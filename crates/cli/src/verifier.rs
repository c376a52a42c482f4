//! The [`Verifier`]: evidence in, a [`VerifiedEvidence`] out, as a pure function of the
//! evidence, the certificates, the trust anchors, the policy and the time.
//!
//! Order of checks: chain, VCEK <-> report, report signature, report_data <-> runtime claims,
//! AK from the claims, qualifiedSigner, quote signature, nonce, PCR digest, event log (when the
//! evidence carries one: it must replay to the quoted PCRs), report freshness, revocation,
//! firmware identity, policy.

use hcl_parse::{Generation, HclReport, Hex, HexBytes, HexSlice, SnpReport};
use serde::Serialize;
use snp_verify::{
    CertRole, Revocation, RevocationStatus, TrustAnchors, UnixTime, VerifiedCaChain,
    VerifiedReport, authenticate_report,
};
use vtpm_quote::eventlog::{
    BootSummary, CMDLINE_PCRS, EventLog, KERNEL_STUB_PCR, LogFormat, VerifiedEventLog,
};
use vtpm_quote::{
    AkPublic, HashAlg, PcrBankSelection, QuoteAttest, QuoteSignature, VerifiedQuote,
    check_qualified_signer, verify_quote,
};

use crate::error::{Check, Error, ExitCode};
use crate::evidence::{Evidence, EvidenceVersion};
use crate::firmware::{self, FirmwareClaims};
use crate::policy::EvidencePolicy;

/// What the verifier expects as the quote's nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedNonce<'a> {
    /// The nonce the verifier issued: extraData must equal it exactly. 1 to 64 bytes (a
    /// TPM2B_DATA); [`Verifier::verify`] refuses others as a usage error.
    Exactly(&'a [u8]),
    /// No nonce check (replay possible); recorded in the verdict.
    NotChecked,
}

/// The most a quote's qualifying data (TPM2B_DATA) can hold.
pub const MAX_NONCE_LEN: usize = 64;

impl<'a> ExpectedNonce<'a> {
    /// An exact nonce, checked: empty (no challenge at all) or longer than
    /// [`MAX_NONCE_LEN`] (no TPM can quote it) is a usage error (exit 1). Any bytes are
    /// allowed, all-zero ones included.
    pub fn exactly(nonce: &'a [u8]) -> Result<Self, Error> {
        if nonce.is_empty() || nonce.len() > MAX_NONCE_LEN {
            return Err(Error::new(
                Check::Nonce,
                ExitCode::Input,
                format!(
                    "nonce: expected 1 to {MAX_NONCE_LEN} bytes (a TPM2B_DATA), found {} bytes",
                    nonce.len()
                ),
            ));
        }
        Ok(Self::Exactly(nonce))
    }

    /// The same nonce, checked as [`Self::exactly`] does.
    fn checked(self) -> Result<Self, Error> {
        match self {
            Self::Exactly(nonce) => Self::exactly(nonce),
            Self::NotChecked => Ok(self),
        }
    }
}

/// Certificates and CRL supplied beside the evidence (from files, a cache or a fetch).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Certificates {
    /// VCEK/VLEK candidates (DER); these take precedence over the evidence's own VCEK.
    pub leaves: Vec<Vec<u8>>,
    /// ASK/ASVK/ARK candidates (DER), in any order.
    pub ca: Vec<Vec<u8>>,
    /// A KDS CRL (DER).
    pub crl: Option<Vec<u8>>,
}

impl Certificates {
    /// Adds every certificate of a DER or PEM file, sorted into leaves and CA candidates.
    pub fn add_file(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let sorted = crate::certs::sort(crate::certs::certificates(bytes)?);
        self.leaves.extend(sorted.leaves);
        self.ca.extend(sorted.ca);
        Ok(())
    }
}

/// Choices the caller makes per verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Certificates and the CRL must be valid at this time.
    pub time: UnixTime,
    /// Accept vTPM evidence from firmware the policy does not identify (tests and labs only).
    pub allow_unknown_firmware: bool,
    /// Require the report to be bound to the nonce (in addition to the policy's own setting).
    pub require_fresh_report: bool,
    /// Refuse without a CRL (in addition to the policy's own setting).
    pub require_crl: bool,
    /// The product, if known.
    pub generation_hint: Option<Generation>,
}

impl VerifyOptions {
    /// Defaults at a time: nothing relaxed, nothing extra required.
    pub fn at(time: UnixTime) -> Self {
        Self {
            time,
            allow_unknown_firmware: false,
            require_fresh_report: false,
            require_crl: false,
            generation_hint: None,
        }
    }
}

/// A check and how it ended in a successful verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckRecord {
    /// The check.
    pub check: Check,
    /// "passed" or "skipped".
    pub outcome: &'static str,
    /// Why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
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
    fn of(verified: &VerifiedEventLog<'_, '_>) -> Self {
        Self {
            format: verified.log().format(),
            events: verified.log().events().len(),
            matched_pcrs: by_bank(verified.compared()),
            unquoted_pcrs: by_bank(verified.unquoted()),
            summary: verified.summary(),
        }
    }
}

/// Evidence that passed every check; only [`Verifier::verify`] builds one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedEvidence {
    evidence_version: EvidenceVersion,
    report: VerifiedReport,
    firmware: FirmwareClaims,
    quote: VerifiedQuote,
    nonce_checked: bool,
    report_bound_to_nonce: bool,
    vm_configuration: Option<VmConfigurationClaims>,
    event_log: Option<EventLogClaims>,
    user_data: Option<HexBytes>,
    ak_fingerprint: Hex<32>,
    revocation: RevocationStatus,
    checks: Vec<CheckRecord>,
    warnings: Vec<String>,
}

impl VerifiedEvidence {
    /// The verified SNP report's claims.
    pub fn report(&self) -> &VerifiedReport {
        &self.report
    }
    /// The verified quote (nonce, PCRs).
    pub fn quote(&self) -> &VerifiedQuote {
        &self.quote
    }
    /// The firmware identity values and whether each met the policy.
    pub fn firmware(&self) -> &FirmwareClaims {
        &self.firmware
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

/// Verifies evidence against trust anchors and a policy.
#[derive(Debug, Clone)]
pub struct Verifier {
    anchors: TrustAnchors,
    policy: EvidencePolicy,
    cache: Option<std::sync::Arc<crate::batch::VerificationCache>>,
}

fn fail(check: Check, code: ExitCode, message: impl Into<String>) -> Error {
    Error::new(check, code, message)
}

impl Verifier {
    /// A verifier that trusts AMD's pinned roots.
    pub fn new(policy: EvidencePolicy) -> Self {
        Self {
            anchors: TrustAnchors::amd(),
            policy,
            cache: None,
        }
    }

    /// A verifier with other anchors (test PKIs, private PKIs).
    pub fn with_anchors(anchors: TrustAnchors, policy: EvidencePolicy) -> Self {
        Self {
            anchors,
            policy,
            cache: None,
        }
    }

    /// This verifier sharing `cache` (verified chains, VCEKs and their P-384 tables) across
    /// calls, clones and threads; see [`crate::batch`].
    pub fn with_cache(mut self, cache: std::sync::Arc<crate::batch::VerificationCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The policy.
    pub fn policy(&self) -> &EvidencePolicy {
        &self.policy
    }

    /// Verifies evidence; see the module documentation for the order of checks.
    pub fn verify(
        &self,
        evidence: &Evidence,
        nonce: ExpectedNonce<'_>,
        certificates: &Certificates,
        options: &VerifyOptions,
    ) -> Result<VerifiedEvidence, Error> {
        let mut checks = Vec::new();
        let mut passed = |check: Check| {
            checks.push(CheckRecord {
                check,
                outcome: "passed",
                reason: None,
            })
        };
        let nonce = nonce.checked()?;
        let hcl = HclReport::parse(&evidence.hcl_report).map_err(Error::from_hcl)?;
        let report = hcl.snp_report().map_err(Error::from_hcl)?;

        // Chain and leaf.
        let (chain, leaf) = self.chain_and_leaf(evidence, &report, certificates, options)?;
        passed(Check::Chain);
        let authentic = authenticate_report(
            &report,
            &chain,
            &leaf,
            options.time,
            options.generation_hint,
        )
        .map_err(Error::from_snp)?;
        passed(Check::VcekBinding);
        passed(Check::ReportSignature);

        // The vTPM: runtime claims, AK, quote.
        hcl.verify_report_data_binding().map_err(Error::from_hcl)?;
        passed(Check::ReportDataBinding);
        let claims = hcl.runtime_claims().map_err(Error::from_hcl)?;
        let numbers = claims
            .attestation_key()
            .and_then(|k| k.rsa_public_numbers())
            .map_err(Error::from_hcl)?;
        let ak = AkPublic::from_jwk(&numbers).map_err(Error::from_quote)?;
        passed(Check::AkFromClaims);
        let attest = QuoteAttest::parse(&evidence.quote.message).map_err(Error::from_quote)?;
        let modulus = ak.rsa_modulus().unwrap_or_default();
        check_qualified_signer(&attest, modulus).map_err(Error::from_quote)?;
        passed(Check::QualifiedSigner);
        let signature =
            QuoteSignature::parse_any(&evidence.quote.signature).map_err(Error::from_quote)?;
        let pcrs = evidence.quote.pcr_values().map_err(Error::from_quote)?;
        let (expected_nonce, nonce_checked) = match nonce {
            ExpectedNonce::Exactly(nonce) => (nonce, true),
            ExpectedNonce::NotChecked => (attest.extra_data(), false),
        };
        let quote = verify_quote(
            &evidence.quote.message,
            &signature,
            &ak,
            expected_nonce,
            &pcrs,
        )
        .map_err(Error::from_quote)?;
        passed(Check::QuoteSignature);
        if nonce_checked {
            passed(Check::Nonce);
        } else {
            checks.push(CheckRecord {
                check: Check::Nonce,
                outcome: "skipped",
                reason: Some("no nonce given (--no-nonce): the quote may be a replay".into()),
            });
        }
        checks.push(CheckRecord {
            check: Check::PcrDigest,
            outcome: "passed",
            reason: None,
        });

        // The event log, when present, must replay to the quoted PCRs.
        let event_log = match &evidence.event_log {
            Some(bytes) => {
                let log = EventLog::parse(bytes).map_err(Error::from_quote)?;
                let verified = log.check_against(&quote).map_err(Error::from_quote)?;
                checks.push(CheckRecord {
                    check: Check::EventLog,
                    outcome: "passed",
                    reason: None,
                });
                Some(EventLogClaims::of(&verified))
            }
            None => {
                checks.push(CheckRecord {
                    check: Check::EventLog,
                    outcome: "skipped",
                    reason: Some("the evidence carries no event log".into()),
                });
                None
            }
        };

        // Freshness of the report itself.
        let bound = claims.user_data.is_some_and(|user_data| {
            nonce_checked
                && user_data.starts_with(expected_nonce)
                && user_data
                    .get(expected_nonce.len()..)
                    .is_some_and(|rest| rest.iter().all(|&b| b == 0))
        });
        let freshness_required =
            self.policy.require_report_bound_to_nonce || options.require_fresh_report;
        if freshness_required {
            check_freshness(
                evidence.version,
                nonce_checked,
                bound,
                claims.user_data.as_ref(),
                expected_nonce,
            )?;
            checks.push(CheckRecord {
                check: Check::ReportFreshness,
                outcome: "passed",
                reason: None,
            });
        } else {
            checks.push(CheckRecord {
                check: Check::ReportFreshness,
                outcome: "skipped",
                reason: Some("not required by the policy (require_report_bound_to_nonce)".into()),
            });
        }

        let unrevoked = authentic
            .check_revocation(self.revocation(certificates, options), options.time)
            .map_err(Error::from_snp)?;
        let revocation_status = unrevoked.revocation_status();
        checks.push(match revocation_status {
            RevocationStatus::Checked { .. } => CheckRecord {
                check: Check::Revocation,
                outcome: "passed",
                reason: None,
            },
            RevocationStatus::NotChecked => CheckRecord {
                check: Check::Revocation,
                outcome: "skipped",
                reason: Some("no CRL given".into()),
            },
        });

        // Firmware identity, then the rest of the policy.
        let firmware = FirmwareClaims::of(
            unrevoked.report(),
            &self.policy.report,
            options.allow_unknown_firmware,
        );
        let report_policy = if options.allow_unknown_firmware {
            checks.push(CheckRecord {
                check: Check::FirmwareIdentity,
                outcome: "skipped",
                reason: Some(
                    "--allow-unknown-firmware: the vTPM binding is not trustworthy".into(),
                ),
            });
            firmware::without_firmware_identity(&self.policy.report)
        } else {
            firmware.require_known()?;
            checks.push(CheckRecord {
                check: Check::FirmwareIdentity,
                outcome: "passed",
                reason: None,
            });
            self.policy.report.clone()
        };
        self.check_pcr_policy(&quote)?;
        self.check_vm_configuration(claims.vm_configuration.as_ref())?;
        self.check_event_log_policy(event_log.as_ref())?;
        let verified_report = unrevoked
            .appraise(&report_policy)
            .map_err(Error::from_snp)?;
        checks.push(CheckRecord {
            check: Check::Policy,
            outcome: "passed",
            reason: None,
        });

        let vm_configuration = claims
            .vm_configuration
            .as_ref()
            .map(|c| VmConfigurationClaims {
                secure_boot: c.secure_boot,
                tpm_enabled: c.tpm_enabled,
                console_enabled: c.console_enabled,
                tpm_persisted: c.tpm_persisted,
                vm_unique_id: c.vm_unique_id.as_deref().map(String::from),
            });
        let mut warnings = verified_report.warnings().to_vec();
        if !self.policy.event_log.allowed_kernel_cmdlines.is_empty()
            && event_log
                .as_ref()
                .is_some_and(|log| log.summary.kernel_load_options.is_empty())
        {
            warnings.push(format!(
                "the kernel measured no load options (PCR {KERNEL_STUB_PCR}, Linux 6.1 and later do): the command lines checked are the boot loader's measurements only"
            ));
        }
        Ok(VerifiedEvidence {
            evidence_version: evidence.version,
            report: verified_report,
            firmware,
            quote,
            nonce_checked,
            report_bound_to_nonce: bound,
            vm_configuration,
            event_log,
            user_data: claims.user_data.map(|u| HexBytes(u.to_vec())),
            ak_fingerprint: Hex(ak.fingerprint()),
            revocation: revocation_status,
            checks,
            warnings,
        })
    }

    /// Verifies a raw SNP report (hosts with `/dev/sev-guest`): chain, binding, signature,
    /// revocation and the report policy.
    pub fn verify_raw_report(
        &self,
        report: &[u8],
        certificates: &Certificates,
        options: &VerifyOptions,
    ) -> Result<VerifiedReport, Error> {
        let report = SnpReport::from_bytes(report).map_err(Error::from_hcl)?;
        let leaves: Vec<&[u8]> = certificates.leaves.iter().map(Vec::as_slice).collect();
        let (chain, leaf) = self.pick_leaf(&leaves, &certificates.ca, &report, options)?;
        let revocation = self.revocation(certificates, options);
        authenticate_report(
            &report,
            &chain,
            &leaf,
            options.time,
            options.generation_hint,
        )
        .and_then(|authentic| authentic.appraise(revocation, options.time, &self.policy.report))
        .map_err(Error::from_snp)
    }

    /// How revocation is decided: the CRL given, else refused when the policy or the options
    /// require one, else skipped and recorded in the verdict.
    fn revocation<'a>(
        &self,
        certificates: &'a Certificates,
        options: &VerifyOptions,
    ) -> Revocation<'a> {
        match (
            &certificates.crl,
            self.policy.require_crl || options.require_crl,
        ) {
            (Some(crl), _) => Revocation::Crl(crl),
            (None, true) => Revocation::Required,
            (None, false) => Revocation::SkipAndRecord,
        }
    }

    /// The chain and leaf for the report: every candidate leaf (those given first, then the
    /// evidence's own) under the chain that issued it; the first whose hwID and TCB match the
    /// report wins (a VCEK in a `--chain` bundle no longer shadows the evidence's own).
    fn chain_and_leaf(
        &self,
        evidence: &Evidence,
        report: &SnpReport<'_>,
        certificates: &Certificates,
        options: &VerifyOptions,
    ) -> Result<(VerifiedCaChain, snp_verify::VerifiedLeaf), Error> {
        let mut ca = certificates.ca.clone();
        ca.extend(evidence.cert_chain.iter().cloned());
        let leaves: Vec<&[u8]> = certificates
            .leaves
            .iter()
            .chain(evidence.vcek.as_ref())
            .map(Vec::as_slice)
            .collect();
        self.pick_leaf(&leaves, &ca, report, options)
    }

    /// The first of `leaves` that verifies under its chain and matches the report; when none
    /// does, the first leaf's error.
    fn pick_leaf(
        &self,
        leaves: &[&[u8]],
        ca: &[Vec<u8>],
        report: &SnpReport<'_>,
        options: &VerifyOptions,
    ) -> Result<(VerifiedCaChain, snp_verify::VerifiedLeaf), Error> {
        let Some((first, others)) = leaves.split_first() else {
            return Err(fail(
                Check::Certificates,
                ExitCode::Unavailable,
                "no VCEK or VLEK: the evidence carries none and none was given (--vcek, --chain with the VCEK, or fetch it)",
            ));
        };
        let first_error = match self.matching_leaf(first, ca, report, options) {
            Ok(found) => return Ok(found),
            Err(error) => error,
        };
        others
            .iter()
            .filter(|der| *der != first)
            .find_map(|der| self.matching_leaf(der, ca, report, options).ok())
            .ok_or(first_error)
    }

    /// A leaf verified under its chain whose extensions match the report.
    fn matching_leaf(
        &self,
        leaf_der: &[u8],
        ca: &[Vec<u8>],
        report: &SnpReport<'_>,
        options: &VerifyOptions,
    ) -> Result<(VerifiedCaChain, snp_verify::VerifiedLeaf), Error> {
        let (chain, leaf) = self.chain_for_leaf(leaf_der, ca, options.time)?;
        let generation = snp_verify::resolve_generation(
            report,
            chain.generation(),
            &leaf,
            options.generation_hint,
        )
        .map_err(Error::from_snp)?;
        snp_verify::check_leaf_matches_report(report, &leaf, generation)
            .map_err(Error::from_snp)?;
        Ok((chain, leaf))
    }

    fn chain_for_leaf(
        &self,
        leaf_der: &[u8],
        ca: &[Vec<u8>],
        time: UnixTime,
    ) -> Result<(VerifiedCaChain, snp_verify::VerifiedLeaf), Error> {
        if ca.is_empty() {
            return Err(fail(
                Check::Certificates,
                ExitCode::Unavailable,
                "no AMD certificate chain (ASK and ARK): give one with --chain or let the tool fetch it",
            ));
        }
        if let Some(cache) = &self.cache {
            return cache.chain_and_leaf(&self.anchors, leaf_der, ca, time);
        }
        let ca: Vec<&[u8]> = ca.iter().map(Vec::as_slice).collect();
        let (chain, leaf) = VerifiedCaChain::for_leaf(&self.anchors, &ca, leaf_der, time)
            .map_err(Error::from_snp)?;
        debug_assert!(matches!(leaf.role(), CertRole::Vcek | CertRole::Vlek));
        Ok((chain, leaf))
    }

    fn check_pcr_policy(&self, quote: &VerifiedQuote) -> Result<(), Error> {
        let pcrs = &self.policy.pcrs;
        let required = pcrs.required.iter().chain(pcrs.expected.keys());
        for &index in required {
            let Some(value) = quote.pcr(pcrs.bank, index) else {
                return Err(fail(
                    Check::Policy,
                    ExitCode::Policy,
                    format!(
                        "PCR selection: expected {}:{index} to be quoted, found it not covered",
                        pcrs.bank
                    ),
                ));
            };
            if let Some(expected) = pcrs.expected.get(&index).filter(|e| e.0 != value) {
                return Err(fail(
                    Check::Policy,
                    ExitCode::Policy,
                    format!(
                        "PCR {}:{index}: expected {expected}, found {}",
                        pcrs.bank,
                        HexSlice(value)
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_event_log_policy(&self, log: Option<&EventLogClaims>) -> Result<(), Error> {
        let wanted = &self.policy.event_log;
        let policy = |message: String| fail(Check::Policy, ExitCode::Policy, message);
        let Some(log) = log else {
            if wanted.needs_log() {
                return Err(policy(
                    "event_log: the policy needs an event log (required, secure_boot or allowed_kernel_cmdlines), found none in the evidence".into(),
                ));
            }
            return Ok(());
        };
        if let Some(expected) = wanted.secure_boot
            && log.summary.secure_boot != Some(expected)
        {
            let on_off = |b: bool| if b { "on" } else { "off" };
            let found = log.summary.secure_boot.map_or(
                "no SecureBoot variable measured in an attested PCR 7",
                on_off,
            );
            return Err(policy(format!(
                "event log secure boot: expected {}, found {found}",
                on_off(expected)
            )));
        }
        if !wanted.allowed_kernel_cmdlines.is_empty() {
            let allowed = wanted
                .allowed_kernel_cmdlines
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", ");
            // The command-line PCRs must be attested, and nothing in them may be unreadable:
            // a command line could hide in an unquoted PCR or behind a description.
            let attested = |pcr: u8| {
                log.matched_pcrs
                    .iter()
                    .any(|bank| bank.indices.contains(&pcr))
            };
            let needed = [CMDLINE_PCRS[0], KERNEL_STUB_PCR, CMDLINE_PCRS[1]];
            if let Some(pcr) = needed.iter().find(|&&pcr| !attested(pcr)) {
                return Err(policy(format!(
                    "kernel command line: expected PCRs {needed:?} (where boot loaders and the kernel measure command lines) to be attested by the quote, found PCR {pcr} not quoted"
                )));
            }
            // The kernel's own measurement of its load options must be one of the command
            // lines the boot loader measured (a chainloaded kernel, or one started without
            // GRUB, gets options no boot-loader event shows).
            if let Some(unmatched) = log
                .summary
                .kernel_load_options
                .iter()
                .find(|options| !options.matches_a_cmdline)
            {
                return Err(policy(format!(
                    "kernel command line: expected the kernel's measurement of its load options (event {}, PCR {KERNEL_STUB_PCR}) to be one of the measured command lines, found a digest that matches none of them: the kernel ran with another command line",
                    unmatched.event
                )));
            }
            if !log.summary.opaque_cmdline_events.is_empty() {
                return Err(policy(format!(
                    "kernel command line: expected only string measurements in PCRs {CMDLINE_PCRS:?}, found events {:?} whose digests cover something the log does not carry: a command line could hide behind them (pin those PCRs' values in [pcrs] expected instead)",
                    log.summary.opaque_cmdline_events
                )));
            }
            // Every measured command line must be allowed: whoever measured one could measure
            // another after it.
            if let Some(cmdline) = log
                .summary
                .kernel_cmdlines
                .iter()
                .find(|c| !wanted.allows_kernel_cmdline(c))
            {
                return Err(policy(format!(
                    "kernel command line: expected every measured one to be one of [{allowed}], found \"{cmdline}\" (measured: {})",
                    quoted_list(&log.summary.kernel_cmdlines)
                )));
            }
            if log.summary.kernel_cmdlines.is_empty() {
                return Err(policy(format!(
                    "kernel command line: expected one of [{allowed}], found none measured in an attested PCR"
                )));
            }
        }
        Ok(())
    }

    fn check_vm_configuration(
        &self,
        config: Option<&hcl_parse::VmConfiguration<'_>>,
    ) -> Result<(), Error> {
        let wanted = &self.policy.vm_configuration;
        let fields = [
            (
                "secure-boot",
                wanted.secure_boot,
                config.and_then(|c| c.secure_boot),
            ),
            (
                "tpm-enabled",
                wanted.tpm_enabled,
                config.and_then(|c| c.tpm_enabled),
            ),
            (
                "console-enabled",
                wanted.console_enabled,
                config.and_then(|c| c.console_enabled),
            ),
        ];
        for (name, expected, found) in fields {
            if let Some(expected) = expected.filter(|e| Some(*e) != found) {
                let found = found.map_or_else(|| "absent".to_string(), |f| f.to_string());
                return Err(fail(
                    Check::Policy,
                    ExitCode::Policy,
                    format!("vm-configuration {name}: expected {expected}, found {found}"),
                ));
            }
        }
        Ok(())
    }
}

/// `"a", "b"`.
fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|item| format!("\"{item}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks a verified raw report's `report_data` against what the caller bound into it: all 64
/// bytes, or a shorter prefix followed by zero bytes. Without this check a verified raw report
/// only says that some guest with this configuration made it, at some time: whoever obtains
/// one can replay it.
pub fn check_report_data(report: &VerifiedReport, expected: &[u8]) -> Result<(), Error> {
    let found = report.report_data();
    if expected.is_empty() || expected.len() > found.len() {
        return Err(Error::input(format!(
            "report data: expected 1 to {} bytes to compare, found {} bytes",
            found.len(),
            expected.len()
        )));
    }
    let (head, tail) = found.split_at(expected.len());
    if head != expected || tail.iter().any(|&b| b != 0) {
        return Err(fail(
            Check::ReportDataBinding,
            ExitCode::Verification,
            format!(
                "report_data: expected {}{}, found {}",
                HexSlice(expected),
                if tail.is_empty() {
                    ""
                } else {
                    " followed by zero bytes"
                },
                HexSlice(found)
            ),
        ));
    }
    Ok(())
}

fn check_freshness(
    version: EvidenceVersion,
    nonce_checked: bool,
    bound: bool,
    user_data: Option<&[u8; 64]>,
    nonce: &[u8],
) -> Result<(), Error> {
    let stale = |message: String| fail(Check::ReportFreshness, ExitCode::Verification, message);
    if version != EvidenceVersion::V2 {
        return Err(stale(format!(
            "a fresh report is required, but {version:?} evidence does not bind the report to the nonce (only version 2 does)"
        )));
    }
    if !nonce_checked {
        return Err(stale(
            "a fresh report is required, which needs a nonce".into(),
        ));
    }
    if !bound {
        let found =
            user_data.map_or_else(|| "no user-data".to_string(), |u| HexSlice(u).to_string());
        return Err(stale(format!(
            "user-data: expected the nonce {} followed by zero bytes, found {found}",
            HexSlice(nonce)
        )));
    }
    Ok(())
}
