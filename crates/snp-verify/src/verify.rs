//! The whole verification of one SNP report, in the order that names the real problem first:
//! chain, certificate <-> report binding, report signature, revocation, policy.

use hcl_parse::{Generation, SnpReport};

use crate::anchors::TrustAnchors;
use alloc::string::String;
use alloc::vec::Vec;

use crate::binding::{check_leaf_matches_report, resolve_generation, unknown_cpu_model};
use crate::chain::{VerifiedCaChain, VerifiedLeaf};
use crate::crl::{Revocation, RevocationStatus, check_revocation};
use crate::error::Result;
use crate::policy::Policy;
use crate::signature::verify_report_signature_with_table;
use crate::verified::VerifiedReport;
use attest_prims::UnixTime;

/// Everything about a verification that is not the evidence or the policy.
#[derive(Debug, Clone, Copy)]
pub struct ReportOptions<'a> {
    /// The time at which certificates and the CRL must be valid.
    pub time: UnixTime,
    /// The product, when the caller knows it (needed by nothing; contradictions are errors).
    pub generation_hint: Option<Generation>,
    /// How to treat revocation.
    pub revocation: Revocation<'a>,
}

impl ReportOptions<'_> {
    /// Verification at `time`, revocation not checked (recorded as such in the result).
    pub fn at(time: UnixTime) -> Self {
        Self {
            time,
            generation_hint: None,
            revocation: Revocation::SkipAndRecord,
        }
    }
}

/// Verifies a report from its certificates: `ca_certificates` holds the ARK and the ASK or
/// ASVK in any order (a KDS or IMDS chain), `leaf` the VCEK or VLEK (DER).
pub fn verify_report(
    anchors: &TrustAnchors,
    report: &SnpReport<'_>,
    leaf: &[u8],
    ca_certificates: &[&[u8]],
    options: &ReportOptions<'_>,
    policy: &Policy,
) -> Result<VerifiedReport> {
    let (chain, leaf) = VerifiedCaChain::for_leaf(anchors, ca_certificates, leaf, options.time)?;
    verify_report_with(report, &chain, &leaf, options, policy)
}

/// Verifies a report with an already verified chain and leaf (the cached path: validity is
/// checked again at `options.time`).
pub fn verify_report_with(
    report: &SnpReport<'_>,
    chain: &VerifiedCaChain,
    leaf: &VerifiedLeaf,
    options: &ReportOptions<'_>,
    policy: &Policy,
) -> Result<VerifiedReport> {
    authenticate_report(report, chain, leaf, options.time, options.generation_hint)?.appraise(
        options.revocation,
        options.time,
        policy,
    )
}

/// Proves a report authentic (chain and leaf valid at `time`, generation consistent, leaf
/// bound to the report, signature valid) without appraising it yet. Callers that check more
/// evidence between authenticity and appraisal (a vTPM quote) use this, then
/// [`AuthenticReport::appraise`].
pub fn authenticate_report<'r, 'c>(
    report: &SnpReport<'r>,
    chain: &'c VerifiedCaChain,
    leaf: &'c VerifiedLeaf,
    time: UnixTime,
    generation_hint: Option<Generation>,
) -> Result<AuthenticReport<'r, 'c>> {
    chain.check_validity(time)?;
    leaf.check_validity(time)?;
    let generation = resolve_generation(report, chain.generation(), leaf, generation_hint)?;
    check_leaf_matches_report(report, leaf, generation)?;
    // The leaf's key table, when it has one, makes the signature check about four times as fast
    // (docs/performance.md).
    verify_report_signature_with_table(
        report,
        leaf.key(),
        leaf.key_table().map(|t| t.as_ref()),
        leaf.role(),
    )?;
    Ok(AuthenticReport {
        report: *report,
        generation,
        chain,
        leaf,
    })
}

/// A report whose authenticity is proven; only [`authenticate_report`] builds one.
#[derive(Debug, Clone, Copy)]
pub struct AuthenticReport<'r, 'c> {
    report: SnpReport<'r>,
    generation: Generation,
    chain: &'c VerifiedCaChain,
    leaf: &'c VerifiedLeaf,
}

impl<'r, 'c> AuthenticReport<'r, 'c> {
    /// The report.
    pub fn report(&self) -> &SnpReport<'r> {
        &self.report
    }

    /// The generation all sources agree on.
    pub fn generation(&self) -> Generation {
        self.generation
    }

    /// Checks revocation, then the policy; the result carries what was verified.
    pub fn appraise(
        self,
        revocation: Revocation<'_>,
        time: UnixTime,
        policy: &Policy,
    ) -> Result<VerifiedReport> {
        self.check_revocation(revocation, time)?.appraise(policy)
    }

    /// Checks revocation only, for callers with checks of their own before the policy.
    pub fn check_revocation(
        self,
        revocation: Revocation<'_>,
        time: UnixTime,
    ) -> Result<UnrevokedReport<'r, 'c>> {
        let status = check_revocation(revocation, self.chain, time)?;
        Ok(UnrevokedReport {
            authentic: self,
            status,
        })
    }
}

/// An authentic report whose revocation status is known; only
/// [`AuthenticReport::check_revocation`] builds one.
#[derive(Debug, Clone, Copy)]
pub struct UnrevokedReport<'r, 'c> {
    authentic: AuthenticReport<'r, 'c>,
    status: RevocationStatus,
}

impl<'r> UnrevokedReport<'r, '_> {
    /// The report.
    pub fn report(&self) -> &SnpReport<'r> {
        &self.authentic.report
    }

    /// The generation all sources agree on.
    pub fn generation(&self) -> Generation {
        self.authentic.generation
    }

    /// Whether revocation was checked.
    pub fn revocation_status(&self) -> RevocationStatus {
        self.status
    }

    /// Applies the policy; the result carries what was verified, and warnings about what
    /// the policy left open.
    pub fn appraise(self, policy: &Policy) -> Result<VerifiedReport> {
        let a = self.authentic;
        policy.check(&a.report, a.generation)?;
        let mut warnings = Vec::new();
        if !policy.has_minimum_tcb(a.generation) {
            warnings.push(String::from(
                "no minimum TCB is configured (minimum_tcb): firmware with known, fixed vulnerabilities is accepted",
            ));
        }
        warnings.extend(unknown_cpu_model(&a.report, a.generation));
        Ok(VerifiedReport::new(
            &a.report,
            a.generation,
            a.chain,
            a.leaf,
            self.status,
            warnings,
        ))
    }
}
