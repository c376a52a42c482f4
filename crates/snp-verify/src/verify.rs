//! The whole verification of one SNP report, in the order that names the real problem first:
//! chain, certificate <-> report binding, report signature, revocation, policy.

use hcl_parse::{Generation, SnpReport};

use crate::anchors::TrustAnchors;
use crate::binding::{check_leaf_matches_report, resolve_generation};
use crate::chain::{VerifiedCaChain, VerifiedLeaf};
use crate::crl::{Revocation, check_revocation};
use crate::error::Result;
use crate::policy::Policy;
use crate::signature::verify_report_signature;
use crate::time::UnixTime;
use crate::verified::VerifiedReport;

/// Everything about a verification that is not the evidence or the policy.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions<'a> {
    /// The time at which certificates and the CRL must be valid.
    pub time: UnixTime,
    /// The product, when the caller knows it (needed by nothing; contradictions are errors).
    pub generation_hint: Option<Generation>,
    /// How to treat revocation.
    pub revocation: Revocation<'a>,
}

impl VerifyOptions<'_> {
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
    options: &VerifyOptions<'_>,
    policy: &Policy,
) -> Result<VerifiedReport> {
    let intermediate = VerifiedCaChain::issuer_role_of_leaf(leaf)?;
    let chain =
        VerifiedCaChain::from_candidates(anchors, ca_certificates, intermediate, options.time)?;
    let leaf = chain.verify_leaf(leaf, options.time)?;
    verify_report_with(report, &chain, &leaf, options, policy)
}

/// Verifies a report with an already verified chain and leaf (the cached path: validity is
/// checked again at `options.time`).
pub fn verify_report_with(
    report: &SnpReport<'_>,
    chain: &VerifiedCaChain,
    leaf: &VerifiedLeaf,
    options: &VerifyOptions<'_>,
    policy: &Policy,
) -> Result<VerifiedReport> {
    chain.check_validity(options.time)?;
    leaf.check_validity(options.time)?;
    let generation = resolve_generation(report, chain.generation(), leaf, options.generation_hint)?;
    check_leaf_matches_report(report, leaf, generation)?;
    verify_report_signature(report, leaf.key(), leaf.role())?;
    let revocation = check_revocation(options.revocation, chain, Some(leaf), options.time)?;
    policy.check(report, generation)?;
    Ok(VerifiedReport::new(
        report, generation, chain, leaf, revocation,
    ))
}
