//! The stages of a verification after the hardware report is authentic, each a function of
//! its inputs that records what it checked: bind the runtime claims, verify the vTPM quote,
//! check the event log, decide freshness. The hardware report itself is [`HardwareReport`]:
//! the seam where a second TEE joins (one variant per platform; the stages after it read only
//! the runtime claims and the quote, which every Azure platform shares).

use hcl_parse::{HclReport, Hex, HexBytes, RuntimeClaims};
use rsa::traits::PublicKeyParts;
use snp_verify::{RevocationStatus, UnixTime};
use tcg_eventlog::EventLog;
use vtpm_akcert::{VtpmAnchors, verify_ak_certificate};
use vtpm_quote::{
    AkPublic, ExpectedNonce, QuoteAttest, QuoteSignature, VerifiedQuote, check_qualified_signer,
    verify_quote,
};

use crate::claims::{AkCertificateClaims, EventLogClaims};
use crate::error::{Check, Error, Staleness};
use crate::evidence::{Evidence, EvidenceVersion};
use crate::policy::{AkCertificateRule, Platform};
use crate::verdict::Recorder;

/// The hardware report inside an HCL report, by platform.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum HardwareReport<'a> {
    /// An AMD SEV-SNP attestation report.
    Snp(hcl_parse::SnpReport<'a>),
    /// An Intel TDX TDREPORT: authentic only through the TD quote made from it.
    Tdx(Box<hcl_parse::TdReport>),
}

impl<'a> HardwareReport<'a> {
    /// The hardware report an HCL report carries; a platform this verifier does not verify
    /// (VBS, a trusted VM without a hardware report) is malformed input for it.
    pub fn of(hcl: &HclReport<'a>) -> Result<Self, Error> {
        match hcl.report_type() {
            hcl_parse::ReportType::Tdx => hcl
                .td_report()
                .map(|report| Self::Tdx(Box::new(report)))
                .map_err(Error::from),
            _ => hcl.snp_report().map(Self::Snp).map_err(Error::from),
        }
    }

    /// Its platform.
    pub fn platform(&self) -> Platform {
        match self {
            Self::Snp(_) => Platform::Snp,
            Self::Tdx(_) => Platform::Tdx,
        }
    }
}

/// The runtime claims a verified `report_data` vouches for, and the AK they name.
pub(crate) struct BoundClaims<'a> {
    pub(crate) claims: RuntimeClaims<'a>,
    pub(crate) ak: AkPublic,
}

/// `report_data` is the hash of the runtime claims, which name the AK.
pub(crate) fn bind_runtime_claims<'a>(
    hcl: &HclReport<'a>,
    record: &mut Recorder,
) -> Result<BoundClaims<'a>, Error> {
    hcl.verify_report_data_binding().map_err(Error::from)?;
    record.passed(&[Check::ReportDataBinding]);
    let claims = hcl.runtime_claims().map_err(Error::from)?;
    let numbers = claims
        .attestation_key()
        .and_then(|k| k.rsa_public_numbers())
        .map_err(Error::from)?;
    let ak = AkPublic::from_jwk(&numbers).map_err(Error::from)?;
    record.passed(&[Check::AkFromClaims]);
    Ok(BoundClaims { claims, ak })
}

/// The quote names the AK (qualifiedSigner), is signed by it, carries the nonce and covers
/// the PCR values given.
pub(crate) fn verify_vtpm_quote(
    evidence: &Evidence,
    ak: &AkPublic,
    nonce: ExpectedNonce<'_>,
    record: &mut Recorder,
) -> Result<VerifiedQuote, Error> {
    let attest = QuoteAttest::parse(&evidence.quote.message).map_err(Error::from)?;
    check_qualified_signer(&attest, ak.rsa_modulus().unwrap_or_default()).map_err(Error::from)?;
    record.passed(&[Check::QualifiedSigner]);
    let signature = QuoteSignature::parse_any(&evidence.quote.signature).map_err(Error::from)?;
    let pcrs = evidence.quote.pcr_values().map_err(Error::from)?;
    let quote = verify_quote(&attest, &signature, ak, nonce, &pcrs).map_err(Error::from)?;
    record.passed(&[Check::QuoteSignature]);
    record.record(
        Check::Nonce,
        (!quote.nonce_checked()).then_some("no nonce given: the quote may be a replay"),
    );
    record.passed(&[Check::PcrDigest]);
    Ok(quote)
}

/// The AK certificate, when the evidence carries one and the policy looks: its path to the
/// pinned vTPM root, and the key it certifies equal to the AK that signed the quote. Whether
/// one must be present is the policy's question ([`crate::EvidencePolicy::ak_certificate`]).
pub(crate) fn check_ak_certificate(
    evidence: &Evidence,
    ak: &AkPublic,
    rule: AkCertificateRule,
    anchors: &VtpmAnchors,
    time: UnixTime,
    record: &mut Recorder,
) -> Result<AkCertificateClaims, Error> {
    if rule == AkCertificateRule::Ignored {
        record.skipped(
            Check::AkCertificate,
            "ignored by the policy (ak_certificate = \"ignored\")",
        );
        return Ok(AkCertificateClaims::Ignored);
    }
    let Some(certificate) = evidence.ak_certificate.as_deref() else {
        record.skipped(
            Check::AkCertificate,
            "the evidence carries no AK certificate",
        );
        return Ok(AkCertificateClaims::Absent);
    };
    let carried: Vec<&[u8]> = evidence.ak_cert_chain.iter().map(Vec::as_slice).collect();
    let verified = verify_ak_certificate(certificate, &carried, anchors, time)
        .map_err(Error::AkCertificate)?;
    let quote_key = match ak {
        AkPublic::Rsa { key, .. } => Some(key),
        AkPublic::P256(_) | AkPublic::P384(_) => None,
    };
    if !quote_key.is_some_and(|key| verified.certifies(key)) {
        // Both keys named as the verdict names the AK (ak_fingerprint).
        let certified = verified.key();
        let certified =
            AkPublic::from_rsa_numbers(&certified.n().to_be_bytes(), &certified.e().to_be_bytes())
                .map_or_else(|e| e.to_string(), |key| Hex(key.fingerprint()).to_string());
        return Err(Error::AkCertificateKey {
            subject: verified.subject().to_string(),
            certified,
            quote_key: Hex(ak.fingerprint()).to_string(),
        });
    }
    record.passed(&[Check::AkCertificate]);
    Ok(AkCertificateClaims::Verified(verified))
}

/// The event log, when the evidence carries one, must replay to the quoted PCRs.
pub(crate) fn check_event_log(
    log: Option<&[u8]>,
    quote: &VerifiedQuote,
    record: &mut Recorder,
) -> Result<Option<EventLogClaims>, Error> {
    let Some(bytes) = log else {
        record.skipped(Check::EventLog, "the evidence carries no event log");
        return Ok(None);
    };
    let log = EventLog::parse(bytes).map_err(Error::from)?;
    let verified = log.check_against(quote).map_err(Error::from)?;
    record.passed(&[Check::EventLog]);
    Ok(Some(EventLogClaims::of(&verified)))
}

/// How fresh the report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// `user-data` is the nonce followed by zero bytes: the report is as fresh as the nonce.
    BoundToNonce,
    /// The report may predate the nonce (the quote still carries it).
    NotBound,
}

/// Whether the report is bound to the nonce; refused when that is `required` and it is not.
pub(crate) fn decide_freshness(
    version: EvidenceVersion,
    nonce: ExpectedNonce<'_>,
    user_data: Option<&[u8; 64]>,
    required: bool,
    record: &mut Recorder,
) -> Result<Freshness, Error> {
    let bound = match (nonce, user_data) {
        (ExpectedNonce::Exactly(nonce), Some(user_data)) => {
            user_data.starts_with(nonce)
                && user_data
                    .get(nonce.len()..)
                    .is_some_and(|rest| rest.iter().all(|&b| b == 0))
        }
        _ => false,
    };
    let freshness = if bound {
        Freshness::BoundToNonce
    } else {
        Freshness::NotBound
    };
    if !required {
        record.skipped(
            Check::ReportFreshness,
            "not required by the policy (require_report_bound_to_nonce)",
        );
        return Ok(freshness);
    }
    match (version, nonce, freshness) {
        (EvidenceVersion::V2, ExpectedNonce::Exactly(_), Freshness::BoundToNonce) => {
            record.passed(&[Check::ReportFreshness]);
            Ok(freshness)
        }
        (EvidenceVersion::V2, ExpectedNonce::Exactly(nonce), Freshness::NotBound) => {
            Err(Staleness::NotBound {
                nonce: HexBytes(nonce.to_vec()),
                found: user_data.map(|u| HexBytes(u.to_vec())),
            }
            .into())
        }
        (EvidenceVersion::V2, ExpectedNonce::NotChecked, _) => Err(Staleness::NoNonce.into()),
        (version, _, _) => Err(Staleness::FormatCannotBind {
            version: version.number(),
        }
        .into()),
    }
}

/// Records how revocation was decided.
pub(crate) fn record_revocation(status: RevocationStatus, record: &mut Recorder) {
    record.record(
        Check::Revocation,
        matches!(status, RevocationStatus::NotChecked).then_some("no CRL given"),
    );
}
