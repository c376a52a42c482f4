//! One certificate of an AK certificate path, parsed once: the signed bytes as received, the
//! names, the validity, the RSA key, and the extensions a path check reads (RFC 5280,
//! sections 4.1 and 4.2).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use attest_prims::UnixTime;
use attest_prims::rsa::{Pkcs1Hash, RsaEngine, verify_pkcs1v15};
use attest_prims::x509::{display_name, signed_part, unix_time};
use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use rsa::pkcs1::DecodeRsaPublicKey;
use sha2::Digest;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};
use x509_cert::name::Name;

use crate::error::{Error, Result};

const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const OID_SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const OID_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");

/// What the extensions a path check reads say (absent: `None`).
#[derive(Debug, Clone, Default)]
pub(crate) struct PathExtensions {
    /// basicConstraints: cA and pathLenConstraint.
    pub(crate) basic_constraints: Option<BasicConstraints>,
    /// keyUsage.
    pub(crate) key_usage: Option<KeyUsage>,
    /// extKeyUsage.
    pub(crate) extended_key_usage: Option<Vec<ObjectIdentifier>>,
}

/// A certificate parsed once, keeping the bytes that were signed.
pub(crate) struct ParsedCert<'a> {
    pub(crate) der: &'a [u8],
    tbs: &'a [u8],
    cert: Certificate,
    /// The subject's common name (or the whole name when it has none), for messages.
    pub(crate) subject: String,
    pub(crate) extensions: PathExtensions,
}

impl<'a> ParsedCert<'a> {
    /// Parses exactly `der` (nothing may follow the certificate). `what` names it in errors.
    pub(crate) fn parse(what: &str, der: &'a [u8]) -> Result<Self> {
        let malformed = |e: der::Error| Error::Malformed {
            what: what.to_string(),
            reason: e.to_string(),
        };
        let tbs = signed_part(der).map_err(malformed)?;
        let cert = Certificate::from_der(der).map_err(malformed)?;
        let subject = display_name(cert.tbs_certificate().subject());
        let extensions = path_extensions(&cert, &subject)?;
        Ok(Self {
            der,
            tbs,
            cert,
            subject,
            extensions,
        })
    }

    /// The SHA-256 of the DER.
    pub(crate) fn sha256(&self) -> [u8; 32] {
        sha2::Sha256::digest(self.der).into()
    }

    pub(crate) fn subject_name(&self) -> &Name {
        self.cert.tbs_certificate().subject()
    }

    pub(crate) fn issuer_name(&self) -> &Name {
        self.cert.tbs_certificate().issuer()
    }

    /// The issuer, for messages.
    pub(crate) fn issuer(&self) -> String {
        display_name(self.issuer_name())
    }

    /// Whether the certificate names itself as its issuer.
    pub(crate) fn self_issued(&self) -> bool {
        self.subject_name() == self.issuer_name()
    }

    /// notBefore and notAfter.
    pub(crate) fn validity(&self) -> (UnixTime, UnixTime) {
        let validity = self.cert.tbs_certificate().validity();
        (
            unix_time(validity.not_before),
            unix_time(validity.not_after),
        )
    }

    /// Refuses unless `time` is inside the validity period.
    pub(crate) fn check_validity(&self, time: UnixTime) -> Result<()> {
        let (not_before, not_after) = self.validity();
        if not_before <= time && time <= not_after {
            return Ok(());
        }
        Err(Error::NotValid {
            subject: self.subject.clone(),
            time,
            not_before,
            not_after,
        })
    }

    /// The certified RSA key.
    pub(crate) fn rsa_key(&self) -> Result<rsa::PublicKey> {
        let bad = |reason: String| Error::BadKey {
            subject: self.subject.clone(),
            reason,
        };
        let spki = self.cert.tbs_certificate().subject_public_key_info();
        if spki.algorithm.oid != OID_RSA_ENCRYPTION {
            return Err(bad(format!(
                "expected rsaEncryption, found {}",
                spki.algorithm.oid
            )));
        }
        let bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| bad("the key's BIT STRING has unused bits".into()))?;
        rsa::PublicKey::from_pkcs1_der(bits).map_err(|e| bad(e.to_string()))
    }

    /// Verifies this certificate's signature, over the signed bytes as received, with the
    /// issuer's key: RSA PKCS#1 v1.5 with SHA-256, -384 or -512, named alike inside and outside
    /// the signed part.
    pub(crate) fn verify_signed_by(&self, issuer: &ParsedCert<'_>) -> Result<()> {
        let tbs_algorithm = self.cert.tbs_certificate().signature();
        let outer_algorithm = self.cert.signature_algorithm();
        let wrong = |found: String| Error::SignatureAlgorithm {
            subject: self.subject.clone(),
            found,
        };
        if tbs_algorithm != outer_algorithm {
            return Err(wrong(format!(
                "{} inside and {} outside",
                tbs_algorithm.oid, outer_algorithm.oid
            )));
        }
        // RFC 4055, section 5: the parameters are NULL (or, tolerated, absent).
        let null = der::asn1::Null.to_der().unwrap_or_default();
        let parameters_ok = outer_algorithm.parameters.as_ref().is_none_or(|any| {
            any.to_der()
                .is_ok_and(|encoded| encoded.as_slice() == null.as_slice())
        });
        let hash = match outer_algorithm.oid {
            OID_SHA256_WITH_RSA if parameters_ok => Pkcs1Hash::Sha256,
            OID_SHA384_WITH_RSA if parameters_ok => Pkcs1Hash::Sha384,
            OID_SHA512_WITH_RSA if parameters_ok => Pkcs1Hash::Sha512,
            other => return Err(wrong(other.to_string())),
        };
        let digest = match hash {
            Pkcs1Hash::Sha256 => sha2::Sha256::digest(self.tbs).to_vec(),
            Pkcs1Hash::Sha384 => sha2::Sha384::digest(self.tbs).to_vec(),
            Pkcs1Hash::Sha512 => sha2::Sha512::digest(self.tbs).to_vec(),
        };
        let signature = self.cert.signature().as_bytes().unwrap_or_default();
        let key = issuer.rsa_key()?;
        if verify_pkcs1v15(RsaEngine::default(), &key, hash, &digest, signature) {
            return Ok(());
        }
        Err(Error::BadSignature {
            subject: self.subject.clone(),
            issuer: issuer.subject.clone(),
        })
    }
}

/// Decodes the extensions a path check reads; refuses duplicates (RFC 5280, 4.2) and critical
/// extensions it does not process.
fn path_extensions(cert: &Certificate, subject: &str) -> Result<PathExtensions> {
    let mut out = PathExtensions::default();
    let mut seen: Vec<ObjectIdentifier> = Vec::new();
    for extension in cert.tbs_certificate().extensions().into_iter().flatten() {
        let oid = extension.extn_id;
        let bad = |reason: String| Error::BadExtension {
            subject: subject.to_string(),
            oid: oid.to_string(),
            reason,
        };
        if seen.contains(&oid) {
            return Err(bad("it appears more than once".into()));
        }
        seen.push(oid);
        let value = extension.extn_value.as_bytes();
        match oid {
            OID_BASIC_CONSTRAINTS => {
                out.basic_constraints =
                    Some(BasicConstraints::from_der(value).map_err(|e| bad(e.to_string()))?);
            }
            OID_KEY_USAGE => {
                out.key_usage = Some(KeyUsage::from_der(value).map_err(|e| bad(e.to_string()))?);
            }
            OID_EXT_KEY_USAGE => {
                let usages = ExtendedKeyUsage::from_der(value).map_err(|e| bad(e.to_string()))?;
                out.extended_key_usage = Some(usages.0);
            }
            _ if extension.critical => {
                return Err(Error::UnknownCriticalExtension {
                    subject: subject.to_string(),
                    oid: oid.to_string(),
                });
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The DER certificate at the start of an NV index's contents, which must be followed by zero
/// bytes only (Azure pads NV 0x01C101D0 to its size). Plain DER passes unchanged.
pub fn der_from_nv(nv: &[u8]) -> Result<&[u8]> {
    let malformed = |reason: String| Error::Malformed {
        what: "AK certificate".to_string(),
        reason,
    };
    let mut reader = der::SliceReader::new(nv).map_err(|e| malformed(e.to_string()))?;
    let header = der::Header::decode(&mut reader).map_err(|e| malformed(e.to_string()))?;
    let header_len = usize::try_from(u32::from(
        header.encoded_len().map_err(|e| malformed(e.to_string()))?,
    ))
    .unwrap_or(usize::MAX);
    let body_len = usize::try_from(u32::from(header.length())).unwrap_or(usize::MAX);
    let der_len = header_len
        .checked_add(body_len)
        .filter(|&len| len <= nv.len())
        .ok_or_else(|| {
            malformed(format!(
                "the DER header announces {body_len} bytes after {header_len}, but the NV contents hold {} bytes",
                nv.len()
            ))
        })?;
    let (der, padding) = nv.split_at(der_len);
    if let Some((index, &found)) = padding.iter().enumerate().find(|(_, b)| **b != 0) {
        return Err(Error::NvPadding {
            der_len,
            offset: der_len + index,
            found,
        });
    }
    Ok(der)
}
