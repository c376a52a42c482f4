//! What this crate hands out: a leaf certificate, a CA chain, a CRL. Each is built only from
//! bytes that passed the well-formedness check of its kind, whether they came from the
//! network, the disk cache or the caller. Trust is not checked here: that is the caller's
//! [`ArtifactCheck`](crate::ArtifactCheck), and in the end the verifier's.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::Decode;
use der::asn1::ObjectIdentifier;
use hcl_parse::Generation;
use sha2::{Digest, Sha256};
use x509_cert::Certificate as X509;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::{BasicConstraints, SubjectKeyIdentifier};
use x509_cert::name::Name;

use crate::error::{ArtifactKind, Error, Result};
use crate::request::ChainKind;
use attest_prims::pem;

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// An uncompressed P-384 point: 0x04, then X and Y of 48 bytes each.
const P384_POINT_LEN: usize = 97;

/// The origin of bytes the caller handed in (a file), in [`Error::Malformed`]: every other
/// origin is a service's URL or a cache file.
pub(crate) const CALLER_BYTES: &str = "the given bytes";

/// A VCEK (or VLEK) certificate: one DER X.509 certificate with an ECDSA P-384 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
}

impl Certificate {
    /// Checks `body` (DER, or PEM with exactly one CERTIFICATE block) and keeps the DER.
    pub fn from_bytes(body: &[u8]) -> Result<Self> {
        Self::parse(body).map_err(|reason| malformed(ArtifactKind::Vcek, CALLER_BYTES, reason))
    }

    pub(crate) fn parse(body: &[u8]) -> std::result::Result<Self, String> {
        let der = one_certificate_der(body)?;
        let cert = parse_x509(&der)?;
        check_p384_key(&cert)?;
        Ok(Self { der })
    }

    /// The DER bytes exactly as received.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The DER bytes, by value.
    pub fn into_der(self) -> Vec<u8> {
        self.der
    }

    /// PEM text of the certificate.
    pub fn to_pem(&self) -> String {
        pem::encode(pem::CERTIFICATE, &self.der)
    }

    /// SHA-256 of the DER (a fingerprint for logs and pins).
    pub fn sha256(&self) -> [u8; 32] {
        Sha256::digest(&self.der).into()
    }
}

/// A CA chain as KDS serves it: the intermediate (ASK for VCEKs, ASVK for VLEKs), then the
/// root (ARK). Both are DER certificates with RSA keys and the CA flag; the ARK is self-issued
/// and issued the intermediate; their common names name the product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertChain {
    kind: ChainKind,
    product: Generation,
    ask_or_asvk_der: Vec<u8>,
    ark_der: Vec<u8>,
}

impl CertChain {
    /// Checks `body` (PEM blocks, or two concatenated DER certificates, intermediate first) as
    /// a chain of `kind`, of `product` if given.
    pub fn from_bytes(body: &[u8], kind: ChainKind, product: Option<Generation>) -> Result<Self> {
        Self::parse(body, kind, product)
            .map_err(|reason| malformed(kind.artifact_kind(), CALLER_BYTES, reason))
    }

    pub(crate) fn parse(
        body: &[u8],
        kind: ChainKind,
        product: Option<Generation>,
    ) -> std::result::Result<Self, String> {
        let ders = if pem::looks_like_pem(body) {
            let blocks = pem::decode_all(body)?;
            if let Some(other) = blocks.iter().find(|b| b.label != pem::CERTIFICATE) {
                return Err(format!(
                    "expected CERTIFICATE PEM blocks, found {}",
                    other.label
                ));
            }
            blocks.into_iter().map(|b| b.der).collect()
        } else {
            split_der(body)?
        };
        let [intermediate_der, ark_der]: [Vec<u8>; 2] = ders.try_into().map_err(|v: Vec<_>| {
            format!(
                "expected 2 certificates ({}, then ARK), found {}",
                intermediate_name(kind),
                v.len()
            )
        })?;
        let intermediate = parse_x509(&intermediate_der)
            .map_err(|e| format!("{}: {e}", intermediate_name(kind)))?;
        let ark = parse_x509(&ark_der).map_err(|e| format!("ARK: {e}"))?;
        check_ca(&intermediate).map_err(|e| format!("{}: {e}", intermediate_name(kind)))?;
        check_ca(&ark).map_err(|e| format!("ARK: {e}"))?;
        let ark_tbs = ark.tbs_certificate();
        if ark_tbs.issuer() != ark_tbs.subject() {
            return Err(format!(
                "the second certificate is not self-issued (issuer \"{}\", subject \"{}\"): \
                 expected {}, then ARK",
                ark_tbs.issuer(),
                ark_tbs.subject(),
                intermediate_name(kind)
            ));
        }
        if intermediate.tbs_certificate().issuer() != ark_tbs.subject() {
            return Err(format!(
                "the {} was not issued by the ARK (issuer \"{}\", ARK \"{}\")",
                intermediate_name(kind),
                intermediate.tbs_certificate().issuer(),
                ark_tbs.subject()
            ));
        }
        let ark_cn = common_name(ark_tbs.subject()).unwrap_or_default();
        let found = ark_cn
            .strip_prefix("ARK-")
            .and_then(Generation::from_product_name)
            .ok_or_else(|| format!("ARK common name \"{ark_cn}\" names no known product"))?;
        if let Some(expected) = product
            && expected != found
        {
            return Err(format!("expected a {expected} chain, found a {found} one"));
        }
        let expected_cn = match kind {
            ChainKind::Vcek => format!("SEV-{}", found.name()),
            ChainKind::Vlek => format!("SEV-VLEK-{}", found.name()),
        };
        let cn = common_name(intermediate.tbs_certificate().subject()).unwrap_or_default();
        if cn != expected_cn {
            return Err(format!(
                "the intermediate's common name is \"{cn}\", expected \"{expected_cn}\" for a {} chain",
                kind.segment().to_uppercase()
            ));
        }
        Ok(Self {
            kind,
            product: found,
            ask_or_asvk_der: intermediate_der,
            ark_der,
        })
    }

    /// VCEK chain (ASK) or VLEK chain (ASVK).
    pub fn kind(&self) -> ChainKind {
        self.kind
    }

    /// The product the ARK's name gives.
    pub fn product(&self) -> Generation {
        self.product
    }

    /// DER of the ASK (VCEK chain) or ASVK (VLEK chain).
    pub fn ask_or_asvk_der(&self) -> &[u8] {
        &self.ask_or_asvk_der
    }

    /// DER of the ARK.
    pub fn ark_der(&self) -> &[u8] {
        &self.ark_der
    }

    /// PEM text: intermediate, then ARK (the KDS `cert_chain` format).
    pub fn to_pem(&self) -> String {
        pem::encode(pem::CERTIFICATE, &self.ask_or_asvk_der)
            + &pem::encode(pem::CERTIFICATE, &self.ark_der)
    }
}

/// A CA certificate fetched from a certificate's AIA caIssuers URL: one DER X.509
/// certificate (PEM accepted) with basicConstraints cA TRUE. Whether it issued anything is the
/// [`CertificateSource`](crate::CertificateSource)'s and its check's question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaCertificate {
    der: Vec<u8>,
    subject: Name,
    subject_key_id: Option<Vec<u8>>,
    not_before: SystemTime,
    not_after: SystemTime,
}

impl CaCertificate {
    /// Checks `body` (DER, or PEM with one CERTIFICATE block) as a CA certificate.
    pub fn from_bytes(body: &[u8]) -> Result<Self> {
        Self::parse(body)
            .map_err(|reason| malformed(ArtifactKind::CaCertificate, CALLER_BYTES, reason))
    }

    pub(crate) fn parse(body: &[u8]) -> std::result::Result<Self, String> {
        let der = one_certificate_der(body)?;
        let cert = parse_x509(&der)?;
        check_ca_flag(&cert)?;
        let tbs = cert.tbs_certificate();
        let subject_key_id = match tbs.get_extension::<SubjectKeyIdentifier>() {
            Ok(found) => found.map(|(_, ski)| ski.0.as_bytes().to_vec()),
            Err(e) => return Err(format!("subjectKeyIdentifier: {e}")),
        };
        Ok(Self {
            subject: tbs.subject().clone(),
            subject_key_id,
            not_before: UNIX_EPOCH + tbs.validity().not_before.to_unix_duration(),
            not_after: UNIX_EPOCH + tbs.validity().not_after.to_unix_duration(),
            der,
        })
    }

    /// The DER bytes exactly as received.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The DER bytes, by value.
    pub fn into_der(self) -> Vec<u8> {
        self.der
    }

    /// The subject name.
    pub fn subject(&self) -> &Name {
        &self.subject
    }

    /// The subject key identifier, if the certificate has one.
    pub fn subject_key_id(&self) -> Option<&[u8]> {
        self.subject_key_id.as_deref()
    }

    /// notAfter: the cache serves the certificate until then.
    pub fn not_after(&self) -> SystemTime {
        self.not_after
    }

    /// `Ok` when `now` is inside the validity period; otherwise says which end it is past.
    pub fn valid_at(&self, now: SystemTime) -> std::result::Result<(), String> {
        let seconds = |time: SystemTime| {
            time.duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO)
                .as_secs()
        };
        if now < self.not_before {
            return Err(format!(
                "the CA certificate \"{}\" is not valid before {} s after the epoch, it is {} s",
                self.subject,
                seconds(self.not_before),
                seconds(now)
            ));
        }
        if now >= self.not_after {
            return Err(format!(
                "the CA certificate \"{}\" expired at {} s after the epoch, it is {} s",
                self.subject,
                seconds(self.not_after),
                seconds(now)
            ));
        }
        Ok(())
    }

    /// PEM text of the certificate.
    pub fn to_pem(&self) -> String {
        pem::encode(pem::CERTIFICATE, &self.der)
    }
}

/// A DER certificate revocation list with its validity period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crl {
    der: Vec<u8>,
    this_update: SystemTime,
    next_update: SystemTime,
}

impl Crl {
    /// Checks `body` as one DER CRL (PEM `X509 CRL` accepted) that has a nextUpdate.
    pub fn from_bytes(body: &[u8]) -> Result<Self> {
        Self::parse(body).map_err(|reason| malformed(ArtifactKind::Crl, CALLER_BYTES, reason))
    }

    pub(crate) fn parse(body: &[u8]) -> std::result::Result<Self, String> {
        let der = if pem::looks_like_pem(body) {
            let mut blocks = pem::decode_all(body)?;
            match (blocks.pop(), blocks.is_empty()) {
                (Some(block), true) if block.label == pem::CRL => block.der,
                _ => return Err("expected one PEM block \"X509 CRL\"".to_string()),
            }
        } else {
            body.to_vec()
        };
        let crl: CertificateList =
            CertificateList::from_der(&der).map_err(|e| format!("not a DER CRL: {e}"))?;
        let tbs = &crl.tbs_cert_list;
        let next_update = tbs
            .next_update
            .ok_or("the CRL has no nextUpdate: cannot tell when to refresh it")?;
        Ok(Self {
            this_update: UNIX_EPOCH + tbs.this_update.to_unix_duration(),
            next_update: UNIX_EPOCH + next_update.to_unix_duration(),
            der,
        })
    }

    /// The DER bytes exactly as received.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The DER bytes, by value.
    pub fn into_der(self) -> Vec<u8> {
        self.der
    }

    /// PEM text of the CRL (`X509 CRL`).
    pub fn to_pem(&self) -> String {
        pem::encode(pem::CRL, &self.der)
    }

    /// thisUpdate.
    pub fn this_update(&self) -> SystemTime {
        self.this_update
    }

    /// nextUpdate: the cache keeps the CRL until then, and at most
    /// [`CRL_MAX_AGE`](crate::CRL_MAX_AGE) after it was fetched.
    pub fn next_update(&self) -> SystemTime {
        self.next_update
    }

    /// True when `now` is before nextUpdate.
    pub fn is_current_at(&self, now: SystemTime) -> bool {
        now < self.next_update
    }

    /// Seconds from the epoch to nextUpdate.
    pub fn next_update_unix(&self) -> u64 {
        self.next_update
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs()
    }
}

pub(crate) fn malformed(kind: ArtifactKind, origin: &str, reason: String) -> Error {
    Error::Malformed {
        kind,
        origin: origin.to_string(),
        reason,
    }
}

fn intermediate_name(kind: ChainKind) -> &'static str {
    match kind {
        ChainKind::Vcek => "ASK",
        ChainKind::Vlek => "ASVK",
    }
}

/// The DER of `body`: DER as is, or PEM with exactly one CERTIFICATE block.
fn one_certificate_der(body: &[u8]) -> std::result::Result<Vec<u8>, String> {
    if !pem::looks_like_pem(body) {
        return Ok(body.to_vec());
    }
    let mut blocks = pem::decode_all(body)?;
    match (blocks.pop(), blocks.len()) {
        (Some(block), 0) if block.label == pem::CERTIFICATE => Ok(block.der),
        (Some(block), 0) => Err(format!(
            "expected a CERTIFICATE PEM block, found {}",
            block.label
        )),
        (_, others) => Err(format!(
            "expected one PEM certificate, found {} PEM blocks",
            others + 1
        )),
    }
}

fn parse_x509(der: &[u8]) -> std::result::Result<X509, String> {
    X509::from_der(der).map_err(|e| format!("not one DER X.509 certificate: {e}"))
}

fn split_der(body: &[u8]) -> std::result::Result<Vec<Vec<u8>>, String> {
    let parts = attest_prims::x509::split_concatenated(body)
        .map_err(|e| format!("not a sequence of DER certificates: {e}"))?;
    Ok(parts.into_iter().map(<[u8]>::to_vec).collect())
}

fn check_p384_key(cert: &X509) -> std::result::Result<(), String> {
    let spki = cert.tbs_certificate().subject_public_key_info();
    if spki.algorithm.oid != OID_EC_PUBLIC_KEY {
        let what = if spki.algorithm.oid == OID_RSA_ENCRYPTION {
            "an RSA key".to_string()
        } else {
            format!("a key of algorithm {}", spki.algorithm.oid)
        };
        return Err(format!(
            "the certificate has {what}, expected an EC P-384 key (a VCEK)"
        ));
    }
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .ok_or("EC key without curve parameters")?
        .decode_as::<ObjectIdentifier>()
        .map_err(|e| format!("EC key parameters are not a named curve: {e}"))?;
    if curve != OID_SECP384R1 {
        return Err(format!(
            "EC key on curve {curve}, expected P-384 (secp384r1)"
        ));
    }
    let point = spki
        .subject_public_key
        .as_bytes()
        .ok_or("EC public key bit string has unused bits")?;
    match point {
        [0x04, ..] if point.len() == P384_POINT_LEN => Ok(()),
        _ => Err(format!(
            "EC public key is {} bytes, expected an uncompressed P-384 point of {P384_POINT_LEN}",
            point.len()
        )),
    }
}

fn check_ca(cert: &X509) -> std::result::Result<(), String> {
    let tbs = cert.tbs_certificate();
    let spki = tbs.subject_public_key_info();
    if spki.algorithm.oid != OID_RSA_ENCRYPTION {
        return Err(format!(
            "expected an RSA key, found algorithm {}",
            spki.algorithm.oid
        ));
    }
    check_ca_flag(cert)
}

fn check_ca_flag(cert: &X509) -> std::result::Result<(), String> {
    match cert.tbs_certificate().get_extension::<BasicConstraints>() {
        Ok(Some((_, constraints))) if constraints.ca => Ok(()),
        Ok(_) => Err("not a CA certificate (no basicConstraints cA=TRUE)".to_string()),
        Err(e) => Err(format!("basicConstraints: {e}")),
    }
}

fn common_name(name: &Name) -> Option<String> {
    name.iter_rdn()
        .flat_map(|rdn| rdn.iter())
        .filter(|atv| atv.oid == OID_COMMON_NAME)
        .filter_map(|atv| {
            std::str::from_utf8(atv.value.value())
                .ok()
                .map(String::from)
        })
        .last()
}
