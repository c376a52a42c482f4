//! TPMT_SIGNATURE, and the bare RSA signature some evidence formats carry instead.

use crate::alg::{HashAlg, id};
use crate::error::{Error, Result};
use crate::reader::Reader;

/// The largest RSA signature accepted (RSA-4096).
const MAX_RSA_SIGNATURE: usize = 512;
/// The largest ECC parameter accepted (P-521 would be 66 bytes).
const MAX_ECC_PARAMETER: usize = 66;

/// A quote signature, borrowing from its encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteSignature<'a> {
    /// RSASSA-PKCS1-v1_5 (Azure's AK).
    RsaSsa {
        /// The scheme's hash.
        hash: HashAlg,
        /// The signature bytes.
        signature: &'a [u8],
    },
    /// RSASSA-PSS.
    RsaPss {
        /// The scheme's hash.
        hash: HashAlg,
        /// The signature bytes.
        signature: &'a [u8],
    },
    /// ECDSA.
    Ecdsa {
        /// The scheme's hash.
        hash: HashAlg,
        /// R, big-endian.
        r: &'a [u8],
        /// S, big-endian.
        s: &'a [u8],
    },
}

impl<'a> QuoteSignature<'a> {
    /// Parses a TPMT_SIGNATURE that fills `bytes` exactly.
    pub fn from_tpmt(bytes: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new("TPMT_SIGNATURE", bytes);
        let scheme = r.u16()?;
        let hash_id = r.u16()?;
        let hash = match HashAlg::from_tpm(hash_id) {
            Some(HashAlg::Sha1) | None => {
                return Err(Error::UnsupportedAlgorithm {
                    field: "signature hash",
                    found: hash_id,
                });
            }
            Some(hash) => hash,
        };
        let signature = match scheme {
            id::RSASSA => Self::RsaSsa {
                hash,
                signature: r.sized("RSA signature", MAX_RSA_SIGNATURE)?,
            },
            id::RSAPSS => Self::RsaPss {
                hash,
                signature: r.sized("RSA signature", MAX_RSA_SIGNATURE)?,
            },
            id::ECDSA => Self::Ecdsa {
                hash,
                r: r.sized("ECDSA r", MAX_ECC_PARAMETER)?,
                s: r.sized("ECDSA s", MAX_ECC_PARAMETER)?,
            },
            found => {
                return Err(Error::UnsupportedAlgorithm {
                    field: "signature scheme",
                    found,
                });
            }
        };
        r.finish()?;
        Ok(signature)
    }

    /// A bare RSA signature (no TPMT header), as `quote.bin` and the confidential-containers
    /// evidence carry it: RSASSA with SHA-256, the Azure AK's only scheme.
    pub fn bare_rsa(signature: &'a [u8]) -> Result<Self> {
        if signature.is_empty() || signature.len() > MAX_RSA_SIGNATURE {
            return Err(Error::FieldTooLarge {
                field: "RSA signature",
                max: MAX_RSA_SIGNATURE,
                found: signature.len(),
            });
        }
        Ok(Self::RsaSsa {
            hash: HashAlg::Sha256,
            signature,
        })
    }

    /// A TPMT_SIGNATURE when the bytes parse as one exactly, else a bare RSA signature.
    pub fn parse_any(bytes: &'a [u8]) -> Result<Self> {
        Self::from_tpmt(bytes).or_else(|_| Self::bare_rsa(bytes))
    }

    /// The scheme's hash: also the hash of the quote's pcrDigest.
    pub fn hash(&self) -> HashAlg {
        match *self {
            Self::RsaSsa { hash, .. } | Self::RsaPss { hash, .. } | Self::Ecdsa { hash, .. } => {
                hash
            }
        }
    }

    /// The scheme's name.
    pub fn scheme_name(&self) -> &'static str {
        match self {
            Self::RsaSsa { .. } => "RSASSA-PKCS1-v1_5",
            Self::RsaPss { .. } => "RSASSA-PSS",
            Self::Ecdsa { .. } => "ECDSA",
        }
    }
}
