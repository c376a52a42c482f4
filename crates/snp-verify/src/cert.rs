//! One X.509 certificate as AMD issues them: the exact signed bytes, names, validity, keys and
//! the RSASSA-PSS signature every AMD CA uses (the certificates: VCEK Certificate and KDS
//! Interface Specification, AMD pub. 57230; the parameters' encoding: RFC 4055, section 3.1).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use der::asn1::ObjectIdentifier;
use der::{Decode, Tagged};
use rsa::pkcs1::{DecodeRsaPublicKey, RsaPssParams};
use sha2::{Digest, Sha256, Sha384};
use x509_cert::Certificate;
use x509_cert::name::Name;
use x509_cert::spki::AlgorithmIdentifierOwned;

pub(crate) use attest_prims::x509::{common_name, signed_part};

use crate::error::{CertRole, Error, Result};
use attest_prims::UnixTime;

pub(crate) const OID_RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const OID_MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");
const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");

/// AMD's signature parameters, as the error messages state them.
pub(crate) const AMD_PSS: &str = "RSASSA-PSS with SHA-384, MGF1-SHA-384, salt length 48";
/// The salt length every AMD signature uses.
const AMD_SALT_LEN: u8 = 48;

/// A certificate parsed once, keeping the bytes that were signed.
pub(crate) struct ParsedCert<'a> {
    pub role: CertRole,
    pub der: &'a [u8],
    pub tbs: &'a [u8],
    pub cert: Certificate,
}

impl<'a> ParsedCert<'a> {
    pub(crate) fn parse(role: CertRole, der: &'a [u8]) -> Result<Self> {
        let malformed = |e: der::Error| Error::MalformedCertificate {
            role,
            reason: e.to_string(),
        };
        let tbs = signed_part(der).map_err(malformed)?;
        let cert = Certificate::from_der(der).map_err(malformed)?;
        Ok(Self {
            role,
            der,
            tbs,
            cert,
        })
    }

    pub(crate) fn sha256(&self) -> [u8; 32] {
        Sha256::digest(self.der).into()
    }

    pub(crate) fn subject(&self) -> &Name {
        self.cert.tbs_certificate().subject()
    }

    pub(crate) fn issuer(&self) -> &Name {
        self.cert.tbs_certificate().issuer()
    }

    pub(crate) fn serial(&self) -> Vec<u8> {
        self.cert
            .tbs_certificate()
            .serial_number()
            .as_bytes()
            .to_vec()
    }

    pub(crate) fn validity(&self) -> Validity {
        let validity = self.cert.tbs_certificate().validity();
        Validity {
            not_before: attest_prims::x509::unix_time(validity.not_before),
            not_after: attest_prims::x509::unix_time(validity.not_after),
        }
    }

    /// The subject's common name must be `expected`.
    pub(crate) fn expect_subject_cn(&self, expected: &str) -> Result<()> {
        expect_cn(self.role, "subject", self.subject(), expected)
    }

    /// The issuer must be exactly the issuing certificate's subject.
    pub(crate) fn expect_issued_by(&self, issuer: &Name) -> Result<()> {
        if self.issuer() == issuer {
            return Ok(());
        }
        Err(Error::NameMismatch {
            role: self.role,
            field: "issuer",
            expected: issuer.to_string(),
            found: self.issuer().to_string(),
        })
    }

    /// The certificate's RSA public key (ARK, ASK, ASVK).
    pub(crate) fn rsa_key(&self) -> Result<rsa::PublicKey> {
        Self::rsa_key_from_der(self.role, self.rsa_public_key_der()?)
    }

    /// The PKCS#1 RSAPublicKey DER inside the certificate's SubjectPublicKeyInfo.
    pub(crate) fn rsa_public_key_der(&self) -> Result<&[u8]> {
        let spki = self.cert.tbs_certificate().subject_public_key_info();
        if spki.algorithm.oid != OID_RSA_ENCRYPTION {
            return Err(Error::WrongKeyType {
                role: self.role,
                expected: "RSA",
                found: spki.algorithm.oid.to_string(),
            });
        }
        Ok(spki.subject_public_key.as_bytes().unwrap_or_default())
    }

    /// Decodes a PKCS#1 RSAPublicKey (and precomputes its Montgomery parameters).
    pub(crate) fn rsa_key_from_der(role: CertRole, der: &[u8]) -> Result<rsa::PublicKey> {
        rsa::PublicKey::from_pkcs1_der(der).map_err(|e| Error::MalformedCertificate {
            role,
            reason: format!("RSA public key: {e}"),
        })
    }

    /// Checks the signature algorithm and verifies the signature under the issuer's key.
    pub(crate) fn verify_signed_by(&self, issuer: CertRole, key: &rsa::PublicKey) -> Result<()> {
        let tbs_algorithm = self.cert.tbs_certificate().signature();
        let outer_algorithm = self.cert.signature_algorithm();
        if tbs_algorithm != outer_algorithm {
            return Err(Error::SignatureAlgorithm {
                role: self.role,
                expected: "the same algorithm inside and outside the signed part",
                found: format!("{} and {}", tbs_algorithm.oid, outer_algorithm.oid),
            });
        }
        let signature = self.cert.signature().as_bytes().unwrap_or_default();
        verify_pss(self.role, issuer, outer_algorithm, key, self.tbs, signature)
    }
}

/// A validity period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Validity {
    pub not_before: UnixTime,
    pub not_after: UnixTime,
}

impl Validity {
    pub(crate) fn check(self, role: CertRole, time: UnixTime) -> Result<()> {
        if self.not_before <= time && time <= self.not_after {
            return Ok(());
        }
        Err(Error::CertificateNotValid {
            role,
            time,
            not_before: self.not_before,
            not_after: self.not_after,
        })
    }
}

pub(crate) fn expect_cn(
    role: CertRole,
    field: &'static str,
    name: &Name,
    expected: &str,
) -> Result<()> {
    let found = common_name(name).unwrap_or_default();
    if found == expected {
        return Ok(());
    }
    Err(Error::NameMismatch {
        role,
        field,
        expected: format!("CN={expected}"),
        found: format!("CN={found}"),
    })
}

/// Verifies an RSASSA-PSS signature whose AlgorithmIdentifier must name AMD's parameters.
pub(crate) fn verify_pss(
    role: CertRole,
    issuer: CertRole,
    algorithm: &AlgorithmIdentifierOwned,
    key: &rsa::PublicKey,
    signed: &[u8],
    signature: &[u8],
) -> Result<()> {
    check_pss_parameters(role, algorithm)?;
    let digest: [u8; 48] = Sha384::digest(signed).into();
    let engine = attest_prims::rsa::RsaEngine::default();
    let salt_len = usize::from(AMD_SALT_LEN);
    if attest_prims::rsa::verify_pss_sha384(engine, key, &digest, signature, salt_len) {
        Ok(())
    } else {
        Err(Error::BadCertificateSignature { role, issuer })
    }
}

/// RSASSA-PSS-params (RFC 4055, 3.1) must name SHA-384 (parameters NULL or absent), MGF1 with
/// SHA-384 and salt length 48: what every AMD ARK, ASK, ASVK and CRL signature carries.
fn check_pss_parameters(role: CertRole, algorithm: &AlgorithmIdentifierOwned) -> Result<()> {
    let wrong = |found: String| Error::SignatureAlgorithm {
        role,
        expected: AMD_PSS,
        found,
    };
    if algorithm.oid != OID_RSASSA_PSS {
        return Err(wrong(format!("algorithm {}", algorithm.oid)));
    }
    let params: RsaPssParams<der::asn1::Any> = algorithm
        .parameters
        .as_ref()
        .ok_or_else(|| wrong("RSASSA-PSS without parameters".into()))?
        .decode_as()
        .map_err(|e| wrong(format!("malformed RSASSA-PSS parameters: {e}")))?;
    let hash_ok = params.hash.oid == OID_SHA384 && null_or_absent(params.hash.parameters.as_ref());
    let mgf_hash = params.mask_gen.parameters.as_ref();
    let mgf_ok = params.mask_gen.oid == OID_MGF1
        && mgf_hash.is_some_and(|h| h.oid == OID_SHA384 && null_or_absent(h.parameters.as_ref()));
    if !hash_ok || !mgf_ok || params.salt_len != AMD_SALT_LEN {
        return Err(wrong(format!(
            "hash {}, mask generation {} with {}, salt length {}",
            params.hash.oid,
            params.mask_gen.oid,
            mgf_hash.map_or_else(|| "no hash".to_string(), |h| h.oid.to_string()),
            params.salt_len
        )));
    }
    Ok(())
}

fn null_or_absent(parameters: Option<&der::asn1::Any>) -> bool {
    parameters.is_none_or(|p| p.tag() == der::Tag::Null && p.value().is_empty())
}
