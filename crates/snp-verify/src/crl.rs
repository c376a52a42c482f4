//! Revocation: a KDS CRL, signed by the pinned ARK and current at the verification time (KDS
//! serves it at `/vcek/v1/{product}/crl`: VCEK Certificate and KDS Interface Specification,
//! AMD pub. 57230).

use alloc::format;
use alloc::string::ToString;

use der::Decode;
use hcl_parse::HexSlice;
use x509_cert::crl::CertificateList;

use crate::cert::{signed_part, verify_pss};
use crate::chain::VerifiedCaChain;
use crate::error::{CertRole, Error, Result};
use attest_prims::UnixTime;

/// What to do about revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation<'a> {
    /// Check against this CRL (DER, as KDS serves it).
    Crl(&'a [u8]),
    /// Refuse: a CRL is required and none is available.
    Required,
    /// Do not check; the result records "revocation not checked".
    SkipAndRecord,
}

/// What the result says about revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RevocationStatus {
    /// The CRL was verified and lists none of the chain's certificates.
    Checked {
        /// thisUpdate of the CRL.
        this_update: UnixTime,
        /// nextUpdate of the CRL.
        next_update: UnixTime,
    },
    /// The caller chose not to check revocation.
    NotChecked,
}

/// Applies the revocation choice to a verified chain.
///
/// A KDS CRL is the ARK's: it can revoke only what the ARK issued, the ASK or ASVK. The VCEK
/// or VLEK is the intermediate's to revoke, so its serial (0 on every real VCEK) is never
/// looked up in the ARK's list, where it would name another certificate.
pub fn check_revocation(
    revocation: Revocation<'_>,
    chain: &VerifiedCaChain,
    time: UnixTime,
) -> Result<RevocationStatus> {
    match revocation {
        Revocation::SkipAndRecord => Ok(RevocationStatus::NotChecked),
        Revocation::Required => Err(Error::CrlRequired),
        Revocation::Crl(der) => check_crl(der, chain, time),
    }
}

/// RFC 5280 5.2 and 5.3: a CRL (or entry) extension marked critical that the checker does not
/// process makes the CRL unusable. This checker processes none critically (a delta-CRL
/// indicator, an issuing distribution point, an indirect CRL's certificateIssuer all change
/// what the list means).
fn refuse_critical_extensions(crl: &CertificateList) -> Result<()> {
    let entries = crl
        .tbs_cert_list
        .revoked_certificates
        .iter()
        .flatten()
        .flat_map(|entry| entry.crl_entry_extensions.iter().flatten());
    let all = crl
        .tbs_cert_list
        .crl_extensions
        .iter()
        .flatten()
        .chain(entries);
    for extension in all {
        if extension.critical {
            return Err(Error::BadCrl {
                reason: format!(
                    "unknown critical extension {}: expected none, found one this verifier cannot process",
                    extension.extn_id
                ),
            });
        }
    }
    Ok(())
}

/// Checks that `crl_der` is a DER CRL issued by the ARK of `chain` (a pinned root), signed
/// with its key (RSASSA-PSS, AMD's parameters), with no critical extension. Whether it is
/// current at some time and what it revokes are not checked here (a cache deciding whether to
/// keep a CRL needs only this); verification uses [`check_revocation`], which checks both.
///
/// ```no_run
/// use snp_verify::{TrustAnchors, UnixTime, VerifiedCaChain, verify_crl_signature};
///
/// # fn run(ark: &[u8], ask: &[u8], crl: &[u8]) -> Result<(), snp_verify::Error> {
/// let chain = VerifiedCaChain::verify(&TrustAnchors::amd(), ark, ask, UnixTime::from_secs(1_750_000_000))?;
/// verify_crl_signature(&chain, crl)?;
/// # Ok(())
/// # }
/// ```
pub fn verify_crl_signature(chain: &VerifiedCaChain, crl_der: &[u8]) -> Result<()> {
    signed_crl(chain, crl_der).map(|_| ())
}

/// The CRL, once [`verify_crl_signature`]'s checks passed.
fn signed_crl(chain: &VerifiedCaChain, der: &[u8]) -> Result<CertificateList> {
    let malformed = |e: der::Error| Error::BadCrl {
        reason: format!("malformed: {e}"),
    };
    let tbs = signed_part(der).map_err(malformed)?;
    let crl: CertificateList = CertificateList::from_der(der).map_err(malformed)?;
    if &crl.tbs_cert_list.issuer != chain.ark_subject() {
        return Err(Error::BadCrl {
            reason: format!(
                "issuer: expected \"{}\", found \"{}\"",
                chain.ark_subject(),
                crl.tbs_cert_list.issuer
            ),
        });
    }
    if crl.tbs_cert_list.signature != crl.signature_algorithm {
        return Err(Error::BadCrl {
            reason: "signature algorithm differs inside and outside the signed part".into(),
        });
    }
    let signature = crl.signature.as_bytes().unwrap_or_default();
    verify_pss(
        CertRole::Ark,
        CertRole::Ark,
        &crl.signature_algorithm,
        &chain.ark_key()?,
        tbs,
        signature,
    )
    .map_err(|e| Error::BadCrl {
        reason: format!("not signed by the pinned ARK: {e}"),
    })?;
    refuse_critical_extensions(&crl)?;
    Ok(crl)
}

fn check_crl(der: &[u8], chain: &VerifiedCaChain, time: UnixTime) -> Result<RevocationStatus> {
    let crl = signed_crl(chain, der)?;
    let this_update = attest_prims::x509::unix_time(crl.tbs_cert_list.this_update);
    let next_update = crl
        .tbs_cert_list
        .next_update
        .map(attest_prims::x509::unix_time)
        .ok_or_else(|| Error::BadCrl {
            reason: "no nextUpdate: cannot tell whether it is current".to_string(),
        })?;
    if time < this_update || time > next_update {
        return Err(Error::StaleCrl {
            time,
            this_update,
            next_update,
        });
    }
    let serial = chain.intermediate_serial();
    let revoked = crl
        .tbs_cert_list
        .revoked_certificates
        .iter()
        .flatten()
        .any(|entry| entry.serial_number.as_bytes() == serial);
    if revoked {
        return Err(Error::Revoked {
            role: chain.intermediate_role(),
            serial: format!("{}", HexSlice(serial)),
        });
    }
    Ok(RevocationStatus::Checked {
        this_update,
        next_update,
    })
}
