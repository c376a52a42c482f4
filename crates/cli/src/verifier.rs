//! The [`Verifier`]: evidence in, a [`VerifiedEvidence`] out, as a pure function of the
//! evidence, the certificates, the trust anchors, the policy and the time.
//!
//! [`Verifier::verify`] is a short sequence of named stages, each recording what it checked in
//! one [`Recorder`](crate::verdict::Recorder):
//!
//! | stage | checks | where |
//! |---|---|---|
//! | the hardware report ([`HardwareReport`]) | chain, VCEK <-> report, report signature | here, snp-verify |
//! | bind the runtime claims | report_data <-> runtime claims, AK from the claims | [`crate::stages`] |
//! | the vTPM quote | qualifiedSigner, quote signature, nonce, PCR digest | [`crate::stages`] |
//! | the event log (when carried) | replay to the quoted PCRs, data bound to attested digests | [`crate::stages`] |
//! | freshness | the report bound to the nonce, when required | [`crate::stages`] |
//! | revocation | the CRL under the pinned ARK, when given or required | snp-verify |
//! | firmware identity | known firmware at VMPL 0, zero host_data | [`crate::firmware`] |
//! | policy | PCRs, vm-configuration, event log ([`EvidencePolicy`]); the report policy | [`crate::policy`], snp-verify |
//!
//! A second TEE joins as a [`HardwareReport`] variant with its own first stage; the stages
//! after it read only the runtime claims and the quote, which every Azure platform shares.

use hcl_parse::{Generation, HclReport, Hex, HexBytes, SnpReport};
use snp_verify::{
    AuthenticReport, CertRole, Revocation, RevocationStatus, TrustAnchors, UnixTime,
    VerifiedCaChain, VerifiedReport, authenticate_report,
};
use std::sync::Arc;

use tcg_eventlog::KERNEL_STUB_PCR;
use tdx_verify::{IntelRoots, VerifiedTdQuote};
use vtpm_akcert::VtpmAnchors;
use vtpm_quote::ExpectedNonce;

use crate::catalog::FirmwareCatalog;
use crate::claims::{EventLogClaims, FirmwareClaims, VmConfigurationClaims};
use crate::error::{Check, Error, Missing};
use crate::evidence::Evidence;
use crate::firmware;
use crate::policy::{EvidencePolicy, Platform};
use crate::stages::{self, HardwareReport};
use crate::tdx;
use crate::verdict::{Recorder, VerifiedEvidence};

/// Certificates and CRL supplied beside the evidence (from files, a cache or a fetch).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Certificates {
    /// VCEK/VLEK candidates (DER); these take precedence over the evidence's own VCEK.
    pub leaves: Vec<Vec<u8>>,
    /// ASK/ASVK/ARK candidates (DER), in any order.
    pub ca: Vec<Vec<u8>>,
    /// A KDS CRL (DER).
    pub crl: Option<Vec<u8>>,
    /// The collateral of a TD quote (TDX evidence).
    pub tdx_collateral: Option<tdx_verify::Collateral>,
}

impl Certificates {
    /// Adds every certificate of a DER or PEM file, sorted into leaves and CA candidates.
    pub fn add_file(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let sorted = crate::certs::sort(crate::certs::certificates(bytes)?);
        self.leaves.extend(sorted.leaves);
        self.ca.extend(sorted.ca);
        Ok(())
    }

    /// Without a pinned ARK among these certificates or the evidence's, adds AMD's
    /// certificates shipped with snp-verify, so that verification needs no download of them.
    pub fn complete_amd_chain(&mut self, evidence: &Evidence) {
        let held = self.ca.iter().chain(&evidence.cert_chain);
        if !TrustAnchors::amd().holds_pinned_root(held.map(Vec::as_slice)) {
            self.ca.extend(snp_verify::shipped_amd_certificates());
        }
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

/// A hardware report that verified, by platform.
enum Authentic<'r, 'c> {
    Snp(AuthenticReport<'r, 'c>),
    Tdx(Box<VerifiedTdQuote>),
}

/// AMD's shipped CA certificates, decoded once per process.
pub(crate) fn shipped_amd_certificates() -> &'static [Vec<u8>] {
    static SHIPPED: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    SHIPPED.get_or_init(snp_verify::shipped_amd_certificates)
}

/// Verifies evidence against trust anchors and a policy.
#[derive(Debug, Clone)]
pub struct Verifier {
    anchors: TrustAnchors,
    vtpm_anchors: VtpmAnchors,
    intel_roots: IntelRoots,
    policy: EvidencePolicy,
    catalog: Arc<FirmwareCatalog>,
    cache: Option<Arc<crate::cache::VerificationCache>>,
}

impl Verifier {
    /// A verifier that trusts AMD's pinned roots.
    pub fn new(policy: EvidencePolicy) -> Self {
        Self {
            anchors: TrustAnchors::amd(),
            vtpm_anchors: VtpmAnchors::azure(),
            intel_roots: IntelRoots::intel(),
            policy,
            catalog: FirmwareCatalog::builtin(),
            cache: None,
        }
    }

    /// A verifier with other anchors (test PKIs, private PKIs).
    pub fn with_anchors(anchors: TrustAnchors, policy: EvidencePolicy) -> Self {
        Self {
            anchors,
            vtpm_anchors: VtpmAnchors::azure(),
            intel_roots: IntelRoots::intel(),
            policy,
            catalog: FirmwareCatalog::builtin(),
            cache: None,
        }
    }

    /// This verifier with other roots for TD quotes' Intel chains (a test PKI). Verdicts say
    /// when a test root was used.
    pub fn with_intel_roots(mut self, roots: IntelRoots) -> Self {
        self.intel_roots = roots;
        self
    }

    /// The roots TD quotes and their collateral must chain to (for fetching collateral under
    /// the same roots: `fetch::tdx_collateral`).
    pub fn intel_roots(&self) -> &IntelRoots {
        &self.intel_roots
    }

    /// This verifier with other vTPM anchors for AK certificates: a test vTPM root
    /// ([`VtpmAnchors::test_root`], simulators) or extra known intermediates. Verdicts say when
    /// a test root was used.
    pub fn with_vtpm_anchors(mut self, anchors: VtpmAnchors) -> Self {
        self.vtpm_anchors = anchors;
        self
    }

    /// This verifier sharing `cache` (verified chains, VCEKs and their P-384 tables) across
    /// calls, clones and threads; see [`VerificationCache`](crate::VerificationCache).
    pub fn with_cache(mut self, cache: Arc<crate::cache::VerificationCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// This verifier knowing the firmware of `catalog` instead of the built-in catalog's
    /// ([`FirmwareCatalog::with_file`] extends the built-in one).
    pub fn with_firmware_catalog(mut self, catalog: Arc<FirmwareCatalog>) -> Self {
        self.catalog = catalog;
        self
    }

    /// The policy.
    pub fn policy(&self) -> &EvidencePolicy {
        &self.policy
    }

    /// The firmware catalog.
    pub fn firmware_catalog(&self) -> &FirmwareCatalog {
        &self.catalog
    }

    /// Verifies evidence; see the module documentation for the order of checks.
    pub fn verify(
        &self,
        evidence: &Evidence,
        nonce: ExpectedNonce<'_>,
        certificates: &Certificates,
        options: &VerifyOptions,
    ) -> Result<VerifiedEvidence, Error> {
        // A nonce no TPM can quote is a usage error, whatever else is wrong with the evidence.
        let nonce = nonce.checked()?;
        let mut record = Recorder::default();
        let hcl = HclReport::parse(&evidence.hcl_report).map_err(Error::from)?;

        // The hardware report, by platform: authentic before anything it vouches for is read.
        let hardware = HardwareReport::of(&hcl)?;
        self.check_platform(hardware.platform())?;
        // An SNP report's chain and VCEK outlive the stage: the authentic report borrows them.
        let snp_keys = match &hardware {
            HardwareReport::Snp(report) => {
                let keys = self.chain_and_leaf(evidence, report, certificates, options)?;
                record.passed(&[Check::Chain]);
                Some(keys)
            }
            HardwareReport::Tdx(_) => None,
        };
        let authentic = match (hardware, &snp_keys) {
            (HardwareReport::Snp(report), Some((chain, leaf))) => {
                let authentic = authenticate_report(
                    &report,
                    chain,
                    leaf,
                    options.time,
                    options.generation_hint,
                )
                .map_err(Error::from)?;
                record.passed(&[Check::VcekBinding, Check::ReportSignature]);
                Authentic::Snp(authentic)
            }
            (HardwareReport::Snp(_), None) => {
                return Err(Error::input("no SNP certificates chosen for an SNP report"));
            }
            (HardwareReport::Tdx(td_report), _) => Authentic::Tdx(Box::new(tdx::authenticate(
                evidence,
                &td_report,
                certificates.tdx_collateral.as_ref(),
                &self.intel_roots,
                options.time,
                &mut record,
            )?)),
        };

        // The vTPM: runtime claims, quote, event log, freshness.
        let bound = stages::bind_runtime_claims(&hcl, &mut record)?;
        let quote = stages::verify_vtpm_quote(evidence, &bound.ak, nonce, &mut record)?;
        let ak_certificate = stages::check_ak_certificate(
            evidence,
            &bound.ak,
            self.policy.ak_certificate,
            &self.vtpm_anchors,
            options.time,
            &mut record,
        )?;
        let event_log =
            stages::check_event_log(evidence.event_log.as_deref(), &quote, &mut record)?;
        let user_data = bound.claims.user_data;
        let freshness = stages::decide_freshness(
            evidence.version,
            nonce,
            user_data.as_ref(),
            self.policy.require_report_bound_to_nonce || options.require_fresh_report,
            &mut record,
        )?;

        // Revocation, firmware identity, then the rest of the policy.
        let vm_configuration = bound.claims.vm_configuration.as_ref();
        let check_vtpm = || {
            self.policy.check_vtpm(
                &quote,
                vm_configuration,
                event_log.as_ref(),
                &ak_certificate,
            )
        };
        let (report, firmware, tdx_claims, revocation) = match authentic {
            Authentic::Snp(authentic) => {
                let unrevoked = authentic
                    .check_revocation(self.revocation(certificates, options), options.time)
                    .map_err(Error::from)?;
                stages::record_revocation(unrevoked.revocation_status(), &mut record);
                let (firmware, report_policy) = firmware::identify(
                    unrevoked.report(),
                    &self.policy.report,
                    &self.catalog,
                    options.allow_unknown_firmware,
                    &mut record,
                )?;
                check_vtpm()?;
                let report = unrevoked.appraise(&report_policy).map_err(Error::from)?;
                let revocation = report.revocation();
                (Some(report), Some(firmware), None, revocation)
            }
            Authentic::Tdx(verified) => {
                // The collateral's CRLs were checked with the quote.
                let (this_update, next_update) = verified.pck_crl_window();
                stages::record_revocation(
                    RevocationStatus::Checked {
                        this_update,
                        next_update,
                    },
                    &mut record,
                );
                let claims = tdx::appraise(
                    *verified,
                    &self.policy.tdx,
                    &self.catalog,
                    options.allow_unknown_firmware,
                    &mut record,
                )?;
                check_vtpm()?;
                let revocation = RevocationStatus::Checked {
                    this_update,
                    next_update,
                };
                (None, None, Some(Box::new(claims)), revocation)
            }
        };
        record.passed(&[Check::Policy]);

        let warnings = self.warnings(report.as_ref(), event_log.as_ref());
        Ok(VerifiedEvidence {
            evidence_version: evidence.version,
            platform: self.policy.platform,
            firmware,
            tdx: tdx_claims,
            nonce_checked: quote.nonce_checked(),
            report_bound_to_nonce: freshness == stages::Freshness::BoundToNonce,
            vm_configuration: vm_configuration.map(VmConfigurationClaims::of),
            event_log,
            ak_certificate,
            user_data: user_data.map(|u| HexBytes(u.to_vec())),
            ak_fingerprint: Hex(bound.ak.fingerprint()),
            revocation,
            checks: record.into_checks(),
            warnings,
            report,
            quote,
        })
    }

    /// Refuses a policy written for the other platform (an SNP preset on TDX evidence, or the
    /// reverse): its hardware section would not be applied.
    fn check_platform(&self, platform: Platform) -> Result<(), Error> {
        if platform == self.policy.platform {
            return Ok(());
        }
        Err(Error::input(format!(
            "the evidence comes from {platform} hardware, but the policy is for {} (platform = \"{}\"): use a {platform} policy (preset {})",
            self.policy.platform,
            self.policy.platform.to_string().to_lowercase(),
            platform.default_preset()
        )))
    }

    /// What the verification accepted without the policy saying so: the report's warnings,
    /// and a command-line policy checked against the boot loader's record alone.
    fn warnings(
        &self,
        report: Option<&VerifiedReport>,
        event_log: Option<&EventLogClaims>,
    ) -> Vec<String> {
        let mut warnings = report.map(|r| r.warnings().to_vec()).unwrap_or_default();
        let kernel_silent = event_log.is_some_and(|log| log.summary.kernel_load_options.is_empty());
        if !self.policy.event_log.allowed_kernel_cmdlines.is_empty() && kernel_silent {
            warnings.push(format!(
                "the kernel measured no load options (PCR {KERNEL_STUB_PCR}, Linux 6.1 and later do): the command lines checked are the boot loader's measurements only"
            ));
        }
        warnings
    }

    /// Verifies a raw SNP report (hosts with `/dev/sev-guest`): chain, binding, signature,
    /// revocation and the report policy, and known firmware when the policy requires it
    /// ([`EvidencePolicy::require_known_firmware`]).
    pub fn verify_raw_report(
        &self,
        report: &[u8],
        certificates: &Certificates,
        options: &VerifyOptions,
    ) -> Result<VerifiedReport, Error> {
        let report = SnpReport::from_bytes(report).map_err(Error::from)?;
        self.appraise_report(&report, certificates, options, || {
            if !self.policy.require_known_firmware {
                return Ok(());
            }
            let firmware = FirmwareClaims::of(&report, &self.policy.report, &self.catalog, false);
            firmware::require_known(&firmware)
        })
    }

    /// Verifies a raw TD quote (a TD outside Azure's paravisor, or Intel's samples): the quote
    /// with [`Certificates::tdx_collateral`] under the pinned Intel root, then the policy's TDX
    /// section (a TDX policy: `tdx-default` or `azure-tdx`).
    pub fn verify_raw_td_quote(
        &self,
        quote: &[u8],
        certificates: &Certificates,
        options: &VerifyOptions,
    ) -> Result<crate::tdx::TdxClaims, Error> {
        self.check_platform(Platform::Tdx)?;
        let collateral = certificates
            .tdx_collateral
            .as_ref()
            .ok_or(Error::Missing(Missing::TdxCollateral))?;
        let verified =
            tdx_verify::verify_td_quote(quote, collateral, &self.intel_roots, options.time)
                .map_err(Error::Tdx)?;
        tdx::appraise_raw(
            verified,
            &self.policy.tdx,
            self.policy.require_known_firmware.then_some(&*self.catalog),
        )
    }

    /// Verifies an HCL report on its own (a vTPM's NV contents, no quote): its hardware report
    /// as [`Verifier::verify_raw_report`] does, the runtime claims bound to it, and its firmware known
    /// (the firmware catalog or the policy). This shows
    /// the report and claims are genuine; it says nothing of a quote or of freshness.
    pub fn verify_hcl_report(
        &self,
        hcl_report: &[u8],
        certificates: &Certificates,
        options: &VerifyOptions,
    ) -> Result<VerifiedReport, Error> {
        let hcl = HclReport::parse(hcl_report).map_err(Error::from)?;
        let report = hcl.snp_report().map_err(Error::from)?;
        self.appraise_report(&report, certificates, options, || {
            hcl.verify_report_data_binding().map_err(Error::from)?;
            // The report vouches for runtime claims: only known firmware's claims mean anything.
            let firmware = FirmwareClaims::of(&report, &self.policy.report, &self.catalog, false);
            firmware::require_known(&firmware)
        })
    }

    /// Chain, leaf and signature of a report, then `bound` (what else the caller binds to the
    /// authentic report), revocation and the report policy.
    fn appraise_report(
        &self,
        report: &SnpReport<'_>,
        certificates: &Certificates,
        options: &VerifyOptions,
        bound: impl FnOnce() -> Result<(), Error>,
    ) -> Result<VerifiedReport, Error> {
        let leaves: Vec<&[u8]> = certificates.leaves.iter().map(Vec::as_slice).collect();
        let (chain, leaf) = self.pick_leaf(&leaves, &certificates.ca, report, options)?;
        let authentic =
            authenticate_report(report, &chain, &leaf, options.time, options.generation_hint)
                .map_err(Error::from)?;
        bound()?;
        authentic
            .appraise(
                self.revocation(certificates, options),
                options.time,
                &self.policy.report,
            )
            .map_err(Error::from)
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
            return Err(Missing::Leaf.into());
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
        let (chain, leaf) = self.chain_for_leaf_or_shipped(leaf_der, ca, options.time)?;
        let generation = snp_verify::resolve_generation(
            report,
            chain.generation(),
            &leaf,
            options.generation_hint,
        )
        .map_err(Error::from)?;
        snp_verify::check_leaf_matches_report(report, &leaf, generation).map_err(Error::from)?;
        Ok((chain, leaf))
    }

    /// The chain for a leaf among the CA certificates held; when they yield none, again with
    /// AMD's certificates shipped with snp-verify after them (evidence with its VCEK and only
    /// the ASK, or no chain, or another product's ARK, verifies offline). The shipped files
    /// spare a download; the pins still decide. The error reported is the held certificates'
    /// when they held a pinned root (what the caller gave was wrong), else the retry's.
    fn chain_for_leaf_or_shipped(
        &self,
        leaf_der: &[u8],
        held: &[Vec<u8>],
        time: UnixTime,
    ) -> Result<(VerifiedCaChain, snp_verify::VerifiedLeaf), Error> {
        let first = match self.chain_for_leaf(leaf_der, held, time) {
            Ok(found) => return Ok(found),
            Err(error) => error,
        };
        let mut with_shipped = held.to_vec();
        with_shipped.extend(shipped_amd_certificates().iter().cloned());
        self.chain_for_leaf(leaf_der, &with_shipped, time)
            .map_err(|retry| {
                if self
                    .anchors
                    .holds_pinned_root(held.iter().map(Vec::as_slice))
                {
                    first
                } else {
                    retry
                }
            })
    }

    fn chain_for_leaf(
        &self,
        leaf_der: &[u8],
        ca: &[Vec<u8>],
        time: UnixTime,
    ) -> Result<(VerifiedCaChain, snp_verify::VerifiedLeaf), Error> {
        if ca.is_empty() {
            return Err(Missing::CaChain.into());
        }
        if let Some(cache) = &self.cache {
            return cache.chain_and_leaf(&self.anchors, leaf_der, ca, time);
        }
        let ca: Vec<&[u8]> = ca.iter().map(Vec::as_slice).collect();
        let (chain, leaf) =
            VerifiedCaChain::for_leaf(&self.anchors, &ca, leaf_der, time).map_err(Error::from)?;
        debug_assert!(matches!(leaf.role(), CertRole::Vcek | CertRole::Vlek));
        Ok((chain, leaf))
    }
}

/// The length rule of [`check_report_data`], for callers that check their arguments before
/// verifying: 1 to 64 bytes (report_data's size).
pub fn check_report_data_length(expected: &[u8]) -> Result<(), Error> {
    const REPORT_DATA_LEN: usize = 64;
    if expected.is_empty() || expected.len() > REPORT_DATA_LEN {
        return Err(Error::input(format!(
            "report data: expected 1 to {REPORT_DATA_LEN} bytes to compare, found {} bytes",
            expected.len()
        )));
    }
    Ok(())
}

/// Checks a verified raw report's `report_data` against what the caller bound into it: all 64
/// bytes, or a shorter prefix followed by zero bytes. Without this check a verified raw report
/// only says that some guest with this configuration made it, at some time: whoever obtains
/// one can replay it.
pub fn check_report_data(report: &VerifiedReport, expected: &[u8]) -> Result<(), Error> {
    check_report_data_bytes(report.report_data(), expected)
}

/// [`check_report_data`] on the 64 bytes of any report (a TD quote's REPORTDATA).
pub fn check_report_data_bytes(found: &[u8; 64], expected: &[u8]) -> Result<(), Error> {
    check_report_data_length(expected)?;
    let (head, tail) = found.split_at(expected.len());
    if head != expected || tail.iter().any(|&b| b != 0) {
        return Err(Error::ReportData {
            expected: HexBytes(expected.to_vec()),
            zero_padded: !tail.is_empty(),
            found: HexBytes(found.to_vec()),
        });
    }
    Ok(())
}
