//! Intel's PKI as a TD quote needs it: certificates and CRLs signed with ECDSA P-256 and
//! SHA-256, chains that end at a pinned root, and the raw (r, s) signatures and (x, y) keys of
//! the quote itself. Every signature is checked over the bytes as received.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use attest_prims::x509::{display_name, signed_part, unix_time};
use attest_prims::{HexSlice, UnixTime};
use der::Decode;
use der::asn1::ObjectIdentifier;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use sha2::Digest;
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::BasicConstraints;
use x509_cert::name::Name;

use crate::error::{Error, Result};

const OID_ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// SHA-256 of the DER of the Intel SGX Root CA (P-256, 2018-05-21 to 2049-12-31).
pub const INTEL_SGX_ROOT_SHA256: [u8; 32] =
    attest_prims::hex_array("44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3");

/// The Intel SGX Root CA as shipped with the crate (PEM): transport only, trusted by its pin.
pub const SHIPPED_INTEL_ROOT_PEM: &str = include_str!("../certs/intel-sgx-root-ca.pem");

/// The roots Intel's chains (PCK, TCB signing, CRL issuers) must end at, by the SHA-256 of
/// their DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntelRoots {
    pins: Vec<[u8; 32]>,
    test_root: bool,
}

impl IntelRoots {
    /// Intel's pinned SGX Root CA.
    pub fn intel() -> Self {
        Self {
            pins: alloc::vec![INTEL_SGX_ROOT_SHA256],
            test_root: false,
        }
    }

    /// A root of the caller's own instead (a test PKI): verifications under it say so.
    pub fn test_root(root_der: &[u8]) -> Self {
        Self {
            pins: alloc::vec![sha256(root_der)],
            test_root: true,
        }
    }

    /// Whether this is a caller's test root.
    pub fn is_test_root(&self) -> bool {
        self.test_root
    }

    fn pinned(&self, der: &[u8]) -> bool {
        self.pins.contains(&sha256(der))
    }

    fn pin_hex(&self) -> String {
        self.pins
            .first()
            .map(|pin| HexSlice(pin).to_string())
            .unwrap_or_default()
    }
}

impl Default for IntelRoots {
    fn default() -> Self {
        Self::intel()
    }
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(bytes).into()
}

/// A certificate parsed once, keeping the signed bytes.
pub(crate) struct Cert<'a> {
    pub(crate) der: &'a [u8],
    tbs: &'a [u8],
    pub(crate) cert: Certificate,
    /// The subject's common name, for messages.
    pub(crate) subject: String,
}

impl<'a> Cert<'a> {
    /// Parses exactly `der`; `what` names it in errors.
    pub(crate) fn parse(what: &str, der: &'a [u8]) -> Result<Self> {
        let malformed =
            |e: der::Error| Error::malformed(what, format!("not a DER X.509 certificate: {e}"));
        let tbs = signed_part(der).map_err(malformed)?;
        let cert = Certificate::from_der(der).map_err(malformed)?;
        let subject = display_name(cert.tbs_certificate().subject());
        Ok(Self {
            der,
            tbs,
            cert,
            subject,
        })
    }

    pub(crate) fn subject_name(&self) -> &Name {
        self.cert.tbs_certificate().subject()
    }

    pub(crate) fn issuer_name(&self) -> &Name {
        self.cert.tbs_certificate().issuer()
    }

    /// The serial number's bytes as encoded (for CRL lookups and messages).
    pub(crate) fn serial(&self) -> &[u8] {
        self.cert.tbs_certificate().serial_number().as_bytes()
    }

    /// The P-256 public key.
    pub(crate) fn key(&self) -> Result<VerifyingKey> {
        let spki = self.cert.tbs_certificate().subject_public_key_info();
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        if spki.algorithm.oid != OID_EC_PUBLIC_KEY || curve != Some(OID_PRIME256V1) {
            return Err(Error::unexpected(
                format!("\"{}\": public key", self.subject),
                "an EC P-256 key",
                format!("algorithm {} with parameters {curve:?}", spki.algorithm.oid),
            ));
        }
        let point = spki.subject_public_key.as_bytes().unwrap_or_default();
        VerifyingKey::from_sec1_bytes(point).map_err(|_| {
            Error::malformed(
                format!("\"{}\": public key", self.subject),
                "not a point on P-256",
            )
        })
    }

    /// Verifies this certificate's signature (ecdsa-with-SHA256, the same algorithm inside and
    /// outside the signed part) with `issuer`'s key.
    pub(crate) fn verify_signed_by(&self, issuer: &Cert<'_>) -> Result<()> {
        let inner = self.cert.tbs_certificate().signature();
        let outer = self.cert.signature_algorithm();
        if inner != outer || outer.oid != OID_ECDSA_WITH_SHA256 {
            return Err(Error::unexpected(
                format!("\"{}\": signature algorithm", self.subject),
                "ecdsa-with-SHA256, the same inside and outside the signed part",
                format!("{} inside, {} outside", inner.oid, outer.oid),
            ));
        }
        let signature = self.cert.signature().as_bytes().unwrap_or_default();
        verify_signature(
            &issuer.key()?,
            self.tbs,
            signature,
            Encoding::Der,
            &format!("certificate \"{}\"", self.subject),
            &issuer.subject,
        )
    }

    /// Validity at `time`.
    pub(crate) fn check_validity(&self, time: UnixTime) -> Result<()> {
        let validity = self.cert.tbs_certificate().validity();
        let (not_before, not_after) = (
            unix_time(validity.not_before),
            unix_time(validity.not_after),
        );
        if time < not_before || time > not_after {
            return Err(Error::NotValidAt {
                what: format!("certificate \"{}\"", self.subject),
                time,
                not_before,
                not_after,
            });
        }
        Ok(())
    }

    /// basicConstraints cA TRUE.
    pub(crate) fn is_ca(&self) -> bool {
        matches!(
            self.cert.tbs_certificate().get_extension::<BasicConstraints>(),
            Ok(Some((_, constraints))) if constraints.ca
        )
    }
}

/// How an ECDSA signature is encoded: DER (certificates, CRLs) or raw r then s, 32 bytes each
/// (the quote, the QE report, TCB info and QE identity).
#[derive(Clone, Copy)]
pub(crate) enum Encoding {
    Der,
    Raw,
}

/// Verifies an ECDSA P-256 signature over `message` (SHA-256); `what` and `signer` name them
/// in the error.
pub(crate) fn verify_signature(
    key: &VerifyingKey,
    message: &[u8],
    signature: &[u8],
    encoding: Encoding,
    what: &str,
    signer: &str,
) -> Result<()> {
    let bad = || Error::BadSignature {
        what: what.to_string(),
        signer: signer.to_string(),
    };
    let signature = match encoding {
        Encoding::Der => Signature::from_der(signature),
        Encoding::Raw => Signature::from_slice(signature),
    }
    .map_err(|_| bad())?;
    key.verify(message, &signature).map_err(|_| bad())
}

/// A raw P-256 public key (x then y, 32 bytes each).
pub(crate) fn raw_key(xy: &[u8], what: &str) -> Result<VerifyingKey> {
    let mut sec1 = Vec::with_capacity(65);
    sec1.push(0x04);
    sec1.extend_from_slice(xy);
    VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| Error::malformed(what, "not a point on P-256"))
}

/// The certificates of a PEM bundle, in order, as DER.
pub(crate) fn pem_chain(what: &str, pem: &[u8]) -> Result<Vec<Vec<u8>>> {
    let blocks = attest_prims::pem::decode_all(pem).map_err(|e| Error::malformed(what, e))?;
    blocks
        .into_iter()
        .map(|block| {
            if block.label == attest_prims::pem::CERTIFICATE {
                Ok(block.der)
            } else {
                Err(Error::malformed(
                    what,
                    format!("expected CERTIFICATE PEM blocks, found {}", block.label),
                ))
            }
        })
        .collect()
}

/// Checks a chain, leaf first: each certificate signed by the next and valid at `time`, every
/// issuer a CA, and the last a root pinned by `roots` (by the SHA-256 of its DER).
pub(crate) fn verify_chain(
    chain: &'static str,
    certs: &[Cert<'_>],
    roots: &IntelRoots,
    time: UnixTime,
) -> Result<()> {
    let Some(root) = certs.last() else {
        return Err(Error::Chain {
            chain,
            reason: "no certificate".into(),
        });
    };
    if !roots.pinned(root.der) {
        return Err(Error::UntrustedRoot {
            chain,
            expected: roots.pin_hex(),
            found: HexSlice(&sha256(root.der)).to_string(),
        });
    }
    // The pin covers every byte of the root, its self-signature included: checking that
    // signature again would prove nothing more (and cost an ECDSA verification per chain).
    for pair in certs.windows(2) {
        let [child, issuer] = pair else { continue };
        if child.issuer_name() != issuer.subject_name() {
            return Err(Error::Chain {
                chain,
                reason: format!(
                    "\"{}\" names its issuer \"{}\", but the next certificate is \"{}\"",
                    child.subject,
                    display_name(child.issuer_name()),
                    issuer.subject
                ),
            });
        }
        if !issuer.is_ca() {
            return Err(Error::Chain {
                chain,
                reason: format!(
                    "\"{}\" issues a certificate but is not a CA (basicConstraints cA TRUE)",
                    issuer.subject
                ),
            });
        }
        child.verify_signed_by(issuer)?;
    }
    for cert in certs {
        cert.check_validity(time)?;
    }
    Ok(())
}

/// A CRL parsed once, keeping the signed bytes.
pub(crate) struct Crl<'a> {
    tbs: &'a [u8],
    list: CertificateList,
    name: &'static str,
}

impl<'a> Crl<'a> {
    /// Parses exactly `der`.
    pub(crate) fn parse(name: &'static str, der: &'a [u8]) -> Result<Self> {
        let malformed = |e: der::Error| Error::malformed(name, format!("not a DER CRL: {e}"));
        let tbs = signed_part(der).map_err(malformed)?;
        let list = CertificateList::from_der(der).map_err(malformed)?;
        Ok(Self { tbs, list, name })
    }

    /// Checks that `issuer` issued and signed this CRL and that it is current at `time`.
    pub(crate) fn verify(&self, issuer: &Cert<'_>, time: UnixTime) -> Result<()> {
        let tbs = &self.list.tbs_cert_list;
        if &tbs.issuer != issuer.subject_name() {
            return Err(Error::Chain {
                chain: self.name,
                reason: format!(
                    "issued by \"{}\", expected \"{}\"",
                    display_name(&tbs.issuer),
                    issuer.subject
                ),
            });
        }
        if tbs.signature != self.list.signature_algorithm
            || self.list.signature_algorithm.oid != OID_ECDSA_WITH_SHA256
        {
            return Err(Error::unexpected(
                format!("{}: signature algorithm", self.name),
                "ecdsa-with-SHA256, the same inside and outside the signed part",
                format!(
                    "{} inside, {} outside",
                    tbs.signature.oid, self.list.signature_algorithm.oid
                ),
            ));
        }
        verify_signature(
            &issuer.key()?,
            self.tbs,
            self.list.signature.as_bytes().unwrap_or_default(),
            Encoding::Der,
            self.name,
            &issuer.subject,
        )?;
        let this_update = unix_time(tbs.this_update);
        let next_update = tbs.next_update.map(unix_time);
        let Some(next_update) = next_update else {
            return Err(Error::malformed(self.name, "no nextUpdate"));
        };
        if time < this_update || time >= next_update {
            return Err(Error::NotValidAt {
                what: self.name.to_string(),
                time,
                not_before: this_update,
                not_after: next_update,
            });
        }
        Ok(())
    }

    /// thisUpdate and nextUpdate (zero when absent; [`Crl::verify`] refuses that).
    pub(crate) fn window(&self) -> (UnixTime, UnixTime) {
        let tbs = &self.list.tbs_cert_list;
        (
            unix_time(tbs.this_update),
            tbs.next_update.map_or(UnixTime::from_secs(0), unix_time),
        )
    }

    /// Refuses `cert` when this CRL lists its serial number.
    pub(crate) fn check_not_revoked(&self, cert: &Cert<'_>) -> Result<()> {
        let revoked = self
            .list
            .tbs_cert_list
            .revoked_certificates
            .as_deref()
            .unwrap_or_default();
        if revoked
            .iter()
            .any(|entry| entry.serial_number.as_bytes() == cert.serial())
        {
            return Err(Error::Revoked {
                what: format!("certificate \"{}\"", cert.subject),
                serial: HexSlice(cert.serial()).to_string(),
                crl: self.name,
            });
        }
        Ok(())
    }
}
