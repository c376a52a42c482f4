//! The attestation key: from the runtime claims' JWK, a TPM2B_PUBLIC/TPMT_PUBLIC, or a
//! SubjectPublicKeyInfo (DER or PEM).

use alloc::format;
use alloc::string::ToString;
use alloc::vec::Vec;

use der::Decode;
use rsa::BoxedUint;
use rsa::traits::PublicKeyParts;
use sha2::Digest;
use spki::SubjectPublicKeyInfoRef;
use spki::der::asn1::ObjectIdentifier;

use crate::alg::{HashAlg, id};
use crate::error::{Error, Result};
use crate::reader::Reader;

const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const TPM_ECC_NIST_P256: u16 = 0x0003;
const TPM_ECC_NIST_P384: u16 = 0x0004;
/// RSA keys below this size are refused.
const MIN_RSA_BITS: usize = 2048;
/// RSA keys above this size are refused (bounds verification cost).
const MAX_RSA_BITS: usize = 4096;

/// A public key that can verify quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AkPublic {
    /// RSA, with its modulus as big-endian bytes (for the TPM name).
    Rsa {
        /// The key.
        key: rsa::PublicKey,
        /// The modulus, big-endian, without leading zeros.
        modulus: Vec<u8>,
    },
    /// ECDSA P-256.
    P256(p256::ecdsa::VerifyingKey),
    /// ECDSA P-384.
    P384(p384::ecdsa::VerifyingKey),
}

impl AkPublic {
    /// An RSA key from modulus and exponent bytes (big-endian), as a JWK carries them.
    pub fn from_rsa_numbers(modulus: &[u8], exponent: &[u8]) -> Result<Self> {
        let modulus = strip_leading_zeros(modulus);
        let bits = modulus.len() * 8;
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(Error::BadKey {
                reason: format!(
                    "RSA modulus of {bits} bits; accepted {MIN_RSA_BITS} to {MAX_RSA_BITS}"
                ),
            });
        }
        let exponent = strip_leading_zeros(exponent);
        if exponent.len() > 4 {
            return Err(Error::BadKey {
                reason: "RSA exponent longer than 32 bits".into(),
            });
        }
        let n = BoxedUint::from_be_slice_vartime(modulus);
        let e = BoxedUint::from_be_slice_vartime(exponent);
        let key = rsa::PublicKey::new(n, e).map_err(|e| Error::BadKey {
            reason: format!("RSA key: {e}"),
        })?;
        Ok(Self::Rsa {
            key,
            modulus: modulus.to_vec(),
        })
    }

    /// The AK of Azure's runtime claims (`HCLAkPub`).
    pub fn from_jwk(numbers: &hcl_parse::RsaPublicNumbers) -> Result<Self> {
        Self::from_rsa_numbers(&numbers.modulus, &numbers.exponent)
    }

    /// A SubjectPublicKeyInfo in DER: RSA, or EC on P-256 or P-384.
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(|e| Error::BadKey {
            reason: format!("SubjectPublicKeyInfo: {e}"),
        })?;
        let bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| Error::BadKey {
                reason: "public key BIT STRING has unused bits".into(),
            })?;
        match spki.algorithm.oid {
            OID_RSA => {
                let key = <rsa::PublicKey as rsa::pkcs1::DecodeRsaPublicKey>::from_pkcs1_der(bits)
                    .map_err(|e| Error::BadKey {
                        reason: format!("RSA public key: {e}"),
                    })?;
                Self::from_rsa_numbers(&key.n().to_be_bytes(), &key.e().to_be_bytes())
            }
            OID_EC => {
                let curve = spki
                    .algorithm
                    .parameters
                    .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
                match curve {
                    Some(OID_P256) => ec_p256(bits),
                    Some(OID_P384) => ec_p384(bits),
                    other => Err(Error::BadKey {
                        reason: format!(
                            "EC curve {}",
                            other.map_or("missing".to_string(), |o| o.to_string())
                        ),
                    }),
                }
            }
            other => Err(Error::BadKey {
                reason: format!("algorithm {other} is neither RSA nor EC"),
            }),
        }
    }

    /// A SubjectPublicKeyInfo in PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn from_spki_pem(pem: &[u8]) -> Result<Self> {
        let (label, der) = pem_rfc7468::decode_vec(pem).map_err(|e| Error::BadKey {
            reason: format!("PEM: {e}"),
        })?;
        if label != "PUBLIC KEY" {
            return Err(Error::BadKey {
                reason: format!("PEM label: expected PUBLIC KEY, found {label}"),
            });
        }
        Self::from_spki_der(&der)
    }

    /// The RSA modulus, for keys that have one.
    pub fn rsa_modulus(&self) -> Option<&[u8]> {
        match self {
            Self::Rsa { modulus, .. } => Some(modulus),
            _ => None,
        }
    }

    /// A short type name for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Rsa { .. } => "RSA",
            Self::P256(_) => "ECDSA P-256",
            Self::P384(_) => "ECDSA P-384",
        }
    }

    /// SHA-256 over the key's public numbers (the modulus, or the SEC1 point): a stable
    /// fingerprint for verdicts and logs.
    pub fn fingerprint(&self) -> [u8; 32] {
        match self {
            Self::Rsa { modulus, .. } => sha2::Sha256::digest(modulus).into(),
            Self::P256(key) => sha2::Sha256::digest(key.to_sec1_point(false).as_bytes()).into(),
            Self::P384(key) => sha2::Sha256::digest(key.to_sec1_point(false).as_bytes()).into(),
        }
    }
}

/// A TPMT_PUBLIC as the TPM returns it, with the key and the name computed from its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TpmPublic {
    /// The key.
    pub key: AkPublic,
    /// nameAlg.
    pub name_alg: HashAlg,
    /// objectAttributes.
    pub attributes: u32,
    /// The object's TPM name: nameAlg then the hash of the TPMT_PUBLIC bytes.
    pub name: Vec<u8>,
}

impl TpmPublic {
    /// Parses a TPM2B_PUBLIC (a u16 size, then TPMT_PUBLIC).
    pub fn from_tpm2b(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new("TPM2B_PUBLIC", bytes);
        let inner = r.sized("TPM2B_PUBLIC", 1024)?;
        r.finish()?;
        Self::from_tpmt(inner)
    }

    /// Parses a TPMT_PUBLIC of an RSA or ECC key that fills `bytes` exactly.
    pub fn from_tpmt(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new("TPMT_PUBLIC", bytes);
        let kind = r.u16()?;
        let name_alg_id = r.u16()?;
        let name_alg = HashAlg::from_tpm(name_alg_id).ok_or(Error::UnsupportedAlgorithm {
            field: "nameAlg",
            found: name_alg_id,
        })?;
        let attributes = r.u32()?;
        r.sized("authPolicy", 64)?;
        skip_scheme(&mut r, "symmetric", true)?;
        skip_scheme(&mut r, "scheme", false)?;
        let key = match kind {
            id::RSA => {
                let bits = r.u16()?;
                let exponent = match r.u32()? {
                    0 => 65_537,
                    e => e,
                };
                let modulus = r.sized("RSA modulus", 512)?;
                if usize::from(bits) != modulus.len() * 8 {
                    return Err(Error::BadKey {
                        reason: format!("keyBits {bits} but a {}-byte modulus", modulus.len()),
                    });
                }
                AkPublic::from_rsa_numbers(modulus, &exponent.to_be_bytes())?
            }
            id::ECC => {
                let curve = r.u16()?;
                skip_scheme(&mut r, "kdf", false)?;
                let x = r.sized("ECC x", 66)?;
                let y = r.sized("ECC y", 66)?;
                let mut point = Vec::with_capacity(1 + x.len() + y.len());
                point.push(0x04);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                match curve {
                    TPM_ECC_NIST_P256 => ec_p256(&point)?,
                    TPM_ECC_NIST_P384 => ec_p384(&point)?,
                    found => {
                        return Err(Error::UnsupportedAlgorithm {
                            field: "ECC curve",
                            found,
                        });
                    }
                }
            }
            found => {
                return Err(Error::UnsupportedAlgorithm {
                    field: "public key type",
                    found,
                });
            }
        };
        r.finish()?;
        let mut name = name_alg_id.to_be_bytes().to_vec();
        name.extend_from_slice(&name_alg.hash_parts([bytes]));
        Ok(Self {
            key,
            name_alg,
            attributes,
            name,
        })
    }
}

/// Skips a TPMT_*_SCHEME: an algorithm id, then details unless it is TPM_ALG_NULL.
/// A symmetric definition carries key bits and a mode; the others a hash.
fn skip_scheme(r: &mut Reader<'_>, field: &'static str, symmetric: bool) -> Result<()> {
    let alg = r.u16()?;
    if alg == id::NULL {
        return Ok(());
    }
    if symmetric {
        r.u16()?;
        r.u16()?;
    } else {
        let hash = r.u16()?;
        HashAlg::from_tpm(hash).ok_or(Error::UnsupportedAlgorithm { field, found: hash })?;
    }
    Ok(())
}

fn ec_p256(point: &[u8]) -> Result<AkPublic> {
    p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
        .map(AkPublic::P256)
        .map_err(|_| Error::BadKey {
            reason: "not a P-256 point".into(),
        })
}

fn ec_p384(point: &[u8]) -> Result<AkPublic> {
    p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
        .map(AkPublic::P384)
        .map_err(|_| Error::BadKey {
            reason: "not a P-384 point".into(),
        })
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(first..).unwrap_or_default()
}
