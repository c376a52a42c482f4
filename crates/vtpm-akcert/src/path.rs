//! The path from an AK certificate to the pinned root, and the checks along it.
//!
//! | rule | source |
//! |---|---|
//! | each certificate's signature verifies under its issuer's key, over the signed bytes as received; RSA PKCS#1 v1.5 with SHA-256/384/512 only | RFC 5280 6.1.3 (a)(1); the algorithms Azure's vTPM CAs use (RFC 4055 section 5) |
//! | the issuer is found by name (issuer == subject) and signature, among the certificates carried and shipped | RFC 5280 6.1.3 (a)(4); 4.1.2.4 |
//! | the path ends at a pinned root (SHA-256 of its DER); a self-signed certificate that is not pinned ends it as untrusted | RFC 5280 6.1.1 (d): the trust anchor is an input |
//! | every certificate is valid at the verification time | RFC 5280 6.1.3 (a)(2) |
//! | every issuer is a CA: basicConstraints cA TRUE; keyUsage, when present, has keyCertSign | RFC 5280 6.1.4 (k), (n) |
//! | a CA's pathLenConstraint bounds the CAs below it | RFC 5280 6.1.4 (l), (m) |
//! | unknown critical extensions refuse; an extension appears once | RFC 5280 4.2; 6.1.4 (o) |
//! | the leaf is not a CA; its keyUsage, when present, has digitalSignature (an AK signs quotes) | RFC 5280 4.2.1.3, 4.2.1.9 |
//! | the leaf's extKeyUsage names 2.23.133.8.3 (TCG AIK certificate) or 1.3.6.1.4.1.311.10.3.12 (Microsoft's vTPM AK) | TCG EK Credential Profile (tcg-kp-AIKCertificate); Azure's AK certificates |
//! | extended key usages are not required to nest along the path (Global Virtual TPM CA - 03 lacks the Microsoft purpose its leaves carry) | Azure's CA certificates as issued |

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use attest_prims::{HexSlice, UnixTime};
use der::asn1::ObjectIdentifier;

use crate::anchors::VtpmAnchors;
use crate::cert::{ParsedCert, der_from_nv};
use crate::error::{Error, Result};
use crate::verified::VerifiedAkCertificate;

/// The most CA certificates above a leaf (Azure's deepest path is two intermediates and the
/// root).
pub const MAX_PATH_CAS: usize = 4;
/// The most certificates an evidence may carry beside the leaf.
pub const MAX_CARRIED: usize = 8;

/// TCG's AIK certificate purpose (tcg-kp-AIKCertificate).
const OID_TCG_AIK: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.133.8.3");
/// Microsoft's vTPM attestation key purpose.
const OID_MS_VTPM_AK: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.10.3.12");

/// Verifies an AK certificate as read from NV 0x01C101D0 (DER then zero padding; plain DER
/// is fine too) with the CA certificates carried beside it, under `anchors`, at `time`.
pub fn verify_ak_certificate(
    leaf_nv: &[u8],
    carried: &[&[u8]],
    anchors: &VtpmAnchors,
    time: UnixTime,
) -> Result<VerifiedAkCertificate> {
    if carried.len() > MAX_CARRIED {
        return Err(Error::TooManyCertificates {
            max: MAX_CARRIED,
            found: carried.len(),
        });
    }
    let leaf = ParsedCert::parse("AK certificate", der_from_nv(leaf_nv)?)?;
    let mut candidates = Vec::new();
    for (index, der) in carried.iter().enumerate() {
        candidates.push(ParsedCert::parse(
            &format!("AK certificate chain, certificate {}", index + 1),
            der,
        )?);
    }
    for der in anchors.known() {
        // Shipped or held by the caller: a file that does not parse is no candidate.
        if let Ok(parsed) = ParsedCert::parse("known CA certificate", der) {
            candidates.push(parsed);
        }
    }
    check_leaf(&leaf, time)?;
    let path = build_path(&leaf, &candidates, anchors, time)?;
    VerifiedAkCertificate::of(&leaf, &path, anchors.is_test_root())
}

/// Whether `issuer` (DER) issued `child` (DER, or the NV form): `child` names it as its issuer
/// and its key verifies `child`'s signature. One link only, for vetting a CA certificate a
/// guest fetched from the caIssuers URL of `child` before caching it; trust still comes from
/// [`verify_ak_certificate`], which ends at a pinned root.
pub fn check_issued_by(child: &[u8], issuer: &[u8]) -> Result<()> {
    let child = ParsedCert::parse("certificate", der_from_nv(child)?)?;
    let issuer = ParsedCert::parse("issuer certificate", issuer)?;
    if issuer.subject_name() != child.issuer_name() {
        return Err(Error::NotTheIssuer {
            subject: child.subject.clone(),
            expected: child.issuer(),
            found: issuer.subject.clone(),
        });
    }
    child.verify_signed_by(&issuer)
}

/// The leaf's own rules: valid now, not a CA, may sign, an AK purpose.
fn check_leaf(leaf: &ParsedCert<'_>, time: UnixTime) -> Result<()> {
    leaf.check_validity(time)?;
    let not_an_ak = |reason: &str| Error::NotAnAkCertificate {
        subject: leaf.subject.clone(),
        reason: reason.to_string(),
    };
    let extensions = &leaf.extensions;
    if extensions.basic_constraints.as_ref().is_some_and(|b| b.ca) {
        return Err(not_an_ak(
            "basicConstraints: expected cA FALSE (an end entity), found cA TRUE",
        ));
    }
    if extensions
        .key_usage
        .as_ref()
        .is_some_and(|usage| !usage.digital_signature())
    {
        return Err(not_an_ak(
            "keyUsage: expected digitalSignature (an AK signs quotes), found it absent",
        ));
    }
    let usages = extensions.extended_key_usage.clone().unwrap_or_default();
    if !usages.contains(&OID_TCG_AIK) && !usages.contains(&OID_MS_VTPM_AK) {
        return Err(Error::ExtendedKeyUsage {
            subject: leaf.subject.clone(),
            found: usages.iter().map(ToString::to_string).collect(),
        });
    }
    leaf.rsa_key().map(|_| ())
}

/// The most issuer signatures a path search checks: a few candidates per level are normal;
/// many copies of the same name are work, not information.
pub const MAX_SIGNATURE_CHECKS: usize = 32;

/// The CAs from the leaf's issuer up to a pinned root, each checked as an issuer. Every
/// candidate that names and signs a certificate is tried in turn (RFC 5280 6.1 path
/// discovery), so a copy that fails (expired, signed by another key) cannot hide one that
/// verifies; when none leads to a pinned root, the first failure is reported.
fn build_path<'c>(
    leaf: &ParsedCert<'_>,
    candidates: &'c [ParsedCert<'c>],
    anchors: &VtpmAnchors,
    time: UnixTime,
) -> Result<Vec<&'c ParsedCert<'c>>> {
    let mut search = Search {
        candidates,
        anchors,
        time,
        signature_checks: 0,
        first_error: None,
    };
    let mut path = Vec::new();
    if search.extend(leaf, &mut path)? {
        return Ok(path);
    }
    Err(search
        .first_error
        .unwrap_or_else(|| Error::IssuerUnavailable {
            subject: leaf.subject.clone(),
            issuer: leaf.issuer(),
        }))
}

/// A depth-first path search with a budget of signature checks.
struct Search<'c, 'a> {
    candidates: &'c [ParsedCert<'c>],
    anchors: &'a VtpmAnchors,
    time: UnixTime,
    signature_checks: usize,
    first_error: Option<Error>,
}

impl<'c> Search<'c, '_> {
    /// Extends `path` (the CAs above `child` so far) to a pinned root: `Ok(true)` when found,
    /// `Ok(false)` when no candidate leads there (the reason kept in `first_error`), `Err` when
    /// the budget is spent.
    fn extend(
        &mut self,
        child: &ParsedCert<'_>,
        path: &mut Vec<&'c ParsedCert<'c>>,
    ) -> Result<bool> {
        if path.len() >= MAX_PATH_CAS {
            self.note(Error::PathTooLong { max: MAX_PATH_CAS });
            return Ok(false);
        }
        let mut named = false;
        for candidate in self.candidates {
            let repeated =
                path.iter().any(|p| p.der == candidate.der) || candidate.der == child.der;
            if candidate.subject_name() != child.issuer_name() || repeated {
                continue;
            }
            named = true;
            self.signature_checks += 1;
            if self.signature_checks > MAX_SIGNATURE_CHECKS {
                return Err(Error::TooManyCertificates {
                    max: MAX_SIGNATURE_CHECKS,
                    found: self.signature_checks,
                });
            }
            if let Err(error) = child
                .verify_signed_by(candidate)
                .and_then(|()| check_issuer(candidate, path.len(), self.time))
            {
                self.note(error);
                continue;
            }
            path.push(candidate);
            if self.anchors.is_root(candidate.der) {
                return Ok(true);
            }
            if candidate.self_issued() {
                self.note(Error::UntrustedRoot {
                    expected: self.anchors.pinned_root_hex(),
                    subject: candidate.subject.clone(),
                    found: format!("{}", HexSlice(&candidate.sha256())),
                });
            } else if self.extend(candidate, path)? {
                return Ok(true);
            }
            path.pop();
        }
        if !named {
            self.note(Error::IssuerUnavailable {
                subject: child.subject.clone(),
                issuer: child.issuer(),
            });
        }
        Ok(false)
    }

    fn note(&mut self, error: Error) {
        self.first_error.get_or_insert(error);
    }
}

/// An issuer's rules: valid now, a CA allowed to sign certificates, its path length respected
/// (`below` CAs sit between it and the leaf).
fn check_issuer(issuer: &ParsedCert<'_>, below: usize, time: UnixTime) -> Result<()> {
    issuer.check_validity(time)?;
    let not_a_ca = |reason: String| Error::NotACa {
        subject: issuer.subject.clone(),
        reason,
    };
    let extensions = &issuer.extensions;
    let Some(basic) = &extensions.basic_constraints else {
        return Err(not_a_ca("it has no basicConstraints".into()));
    };
    if !basic.ca {
        return Err(not_a_ca("basicConstraints says cA FALSE".into()));
    }
    if extensions
        .key_usage
        .as_ref()
        .is_some_and(|usage| !usage.key_cert_sign())
    {
        return Err(not_a_ca("its keyUsage lacks keyCertSign".into()));
    }
    if let Some(path_len) = basic.path_len_constraint
        && below > usize::from(path_len)
    {
        return Err(Error::PathLength {
            subject: issuer.subject.clone(),
            path_len,
            below,
        });
    }
    issuer.rsa_key().map(|_| ())
}
