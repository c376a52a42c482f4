//! A CRL's issuer and signature alone: whether a CRL is the pinned ARK's at all, for a cache
//! deciding whether to keep it. Verification itself uses [`check_revocation`], which also
//! checks that the CRL is current and what it lists.
//!
//! [`check_revocation`]: crate::check_revocation

use alloc::format;

use der::Decode;
use x509_cert::crl::CertificateList;

use crate::cert::{signed_part, verify_pss};
use crate::chain::VerifiedCaChain;
use crate::error::{CertRole, Error, Result};

/// Checks that `crl_der` is a DER CRL issued by the ARK of `chain` (a pinned root) and signed
/// with its key (RSASSA-PSS, AMD's parameters). Whether it is current at some time and what it
/// revokes are not checked here: a signed CRL that lists the ASK is still the ARK's CRL.
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
    let malformed = |e: der::Error| Error::BadCrl {
        reason: format!("malformed: {e}"),
    };
    let tbs = signed_part(crl_der).map_err(malformed)?;
    let crl: CertificateList = CertificateList::from_der(crl_der).map_err(malformed)?;
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
    })
}
