//! Revocation: a KDS CRL, signed by the pinned ARK and current at the verification time.

use alloc::format;
use alloc::string::ToString;

use der::Decode;
use hcl_parse::HexSlice;
use x509_cert::crl::CertificateList;

use crate::cert::{signed_part, verify_pss};
use crate::chain::{VerifiedCaChain, VerifiedLeaf};
use crate::error::{CertRole, Error, Result};
use crate::time::UnixTime;

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

/// Applies the revocation choice to a verified chain and leaf.
pub fn check_revocation(
    revocation: Revocation<'_>,
    chain: &VerifiedCaChain,
    leaf: Option<&VerifiedLeaf>,
    time: UnixTime,
) -> Result<RevocationStatus> {
    match revocation {
        Revocation::SkipAndRecord => Ok(RevocationStatus::NotChecked),
        Revocation::Required => Err(Error::CrlRequired),
        Revocation::Crl(der) => check_crl(der, chain, leaf, time),
    }
}

fn check_crl(
    der: &[u8],
    chain: &VerifiedCaChain,
    leaf: Option<&VerifiedLeaf>,
    time: UnixTime,
) -> Result<RevocationStatus> {
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
    let this_update = UnixTime::from_x509(crl.tbs_cert_list.this_update);
    let next_update = crl
        .tbs_cert_list
        .next_update
        .map(UnixTime::from_x509)
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
    let revoked: &[x509_cert::crl::RevokedCert] = crl
        .tbs_cert_list
        .revoked_certificates
        .as_deref()
        .unwrap_or_default();
    let mut checks = [
        (chain.intermediate_role(), chain.intermediate_serial()),
        (CertRole::Vcek, &[][..]),
    ];
    if let Some(leaf) = leaf {
        checks[1] = (leaf.role(), leaf.serial());
    }
    for (role, serial) in checks.iter().filter(|(_, serial)| !serial.is_empty()) {
        if revoked
            .iter()
            .any(|entry| entry.serial_number.as_bytes() == *serial)
        {
            return Err(Error::Revoked {
                role: *role,
                serial: format!("{}", HexSlice(serial)),
            });
        }
    }
    Ok(RevocationStatus::Checked {
        this_update,
        next_update,
    })
}
