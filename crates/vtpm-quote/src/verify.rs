//! Quote verification: the signature over the exact message, the nonce, and the PCR digest
//! rebuilt from the selection inside the quote.

use alloc::format;
use alloc::vec::Vec;

use attest_prims::rsa::{Pkcs1Hash, RsaEngine, verify_pkcs1v15};
use attest_prims::{HexBytes, HexSlice};
use p384::ecdsa::signature::hazmat::PrehashVerifier;
use subtle::ConstantTimeEq;

use crate::alg::HashAlg;
use crate::attest::{ClockInfo, QuoteAttest};
use crate::error::{Error, Result};
use crate::name::azure_ak_qualified_signer;
use crate::pcrs::PcrValues;
use crate::public::AkPublic;
use crate::signature::QuoteSignature;

/// The PCR values of one bank that a verified quote covers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifiedPcrBank {
    /// The bank.
    pub bank: HashAlg,
    /// (index, value) in ascending index order.
    pub values: Vec<(u8, HexBytes)>,
}

/// The most a quote's qualifying data (TPM2B_DATA, TPM 2.0 Part 2 §10.4.3) can hold.
pub const MAX_NONCE_LEN: usize = 64;

/// What the verifier expects as the quote's nonce (extraData).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedNonce<'a> {
    /// The nonce the verifier issued: extraData must equal it exactly. 1 to
    /// [`MAX_NONCE_LEN`] bytes, all-zero ones included; others are refused
    /// ([`Error::NonceLength`]).
    Exactly(&'a [u8]),
    /// No nonce check: the quote may be a replay. [`VerifiedQuote::nonce_checked`] says so.
    NotChecked,
}

impl<'a> ExpectedNonce<'a> {
    /// An exact nonce, its length checked now rather than at verification.
    pub fn exactly(nonce: &'a [u8]) -> Result<Self> {
        Self::Exactly(nonce).checked()
    }

    /// The same nonce, its length checked (callers that verify more than the quote check it
    /// before anything else, so a bad nonce is a usage error whatever else is wrong).
    pub fn checked(self) -> Result<Self> {
        match self {
            Self::Exactly(nonce) if nonce.is_empty() || nonce.len() > MAX_NONCE_LEN => {
                Err(Error::NonceLength {
                    max: MAX_NONCE_LEN,
                    found: nonce.len(),
                })
            }
            _ => Ok(self),
        }
    }
}

/// A quote whose signature, nonce and PCR digest passed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifiedQuote {
    nonce: HexBytes,
    /// In the facade's verdict beside the quote (`nonce_checked`).
    #[serde(skip)]
    nonce_checked: bool,
    pcrs: Vec<VerifiedPcrBank>,
    signature_scheme: &'static str,
    /// Reported by the TPM and covered by the signature, but obfuscated for non-endorsement
    /// keys and not a trusted time: informational only.
    untrusted_clock_info: ClockInfo,
    /// As above: informational only.
    untrusted_firmware_version: u64,
}

impl VerifiedQuote {
    /// The nonce (extraData): equal to the one the verifier expected when
    /// [`Self::nonce_checked`].
    pub fn nonce(&self) -> &[u8] {
        &self.nonce.0
    }

    /// Whether extraData was compared with a nonce the verifier issued
    /// ([`ExpectedNonce::Exactly`]).
    pub fn nonce_checked(&self) -> bool {
        self.nonce_checked
    }

    /// The PCR values the quote covers, by bank in quote order.
    pub fn pcrs(&self) -> &[VerifiedPcrBank] {
        &self.pcrs
    }

    /// A covered PCR value.
    pub fn pcr(&self, bank: HashAlg, index: u8) -> Option<&[u8]> {
        self.pcrs
            .iter()
            .filter(|b| b.bank == bank)
            .flat_map(|b| b.values.iter())
            .find(|(i, _)| *i == index)
            .map(|(_, v)| v.0.as_slice())
    }

    /// The TPM clock: signed, but not trustworthy as time (see [`ClockInfo`]).
    pub fn untrusted_clock_info(&self) -> ClockInfo {
        self.untrusted_clock_info
    }
}

/// Verifies a quote: the signature over the message exactly as received, the nonce against
/// extraData (constant time), and `pcrs` against pcrDigest following the selection inside the
/// quote. Every supplied PCR must be covered, every covered PCR supplied.
pub fn verify_quote(
    attest: &QuoteAttest<'_>,
    signature: &QuoteSignature<'_>,
    ak: &AkPublic,
    nonce: ExpectedNonce<'_>,
    pcrs: &PcrValues,
) -> Result<VerifiedQuote> {
    let nonce = nonce.checked()?;
    verify_signature(attest.as_bytes(), signature, ak)?;
    if let ExpectedNonce::Exactly(expected) = nonce {
        check_nonce(attest, expected)?;
    }
    let banks = check_pcr_digest(attest, signature.hash(), pcrs)?;
    Ok(VerifiedQuote {
        nonce: HexBytes(attest.extra_data().to_vec()),
        nonce_checked: matches!(nonce, ExpectedNonce::Exactly(_)),
        pcrs: banks,
        signature_scheme: signature.scheme_name(),
        untrusted_clock_info: attest.clock_info(),
        untrusted_firmware_version: attest.firmware_version(),
    })
}

/// Checks the quote's qualifiedSigner against the name of an Azure-template AK with this
/// modulus in the endorsement hierarchy. Catches evidence whose parts were mixed up; it does
/// not prove the key is restricted.
pub fn check_qualified_signer(attest: &QuoteAttest<'_>, ak_modulus: &[u8]) -> Result<()> {
    let expected = azure_ak_qualified_signer(ak_modulus);
    if attest.qualified_signer() == expected {
        return Ok(());
    }
    Err(Error::QualifiedSignerMismatch {
        expected: format!("{}", HexSlice(&expected)),
        found: format!("{}", HexSlice(attest.qualified_signer())),
    })
}

/// Verifies the signature over the exact message bytes.
// Public only for the fuzz targets (feature `fuzzing`).
#[cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub))]
pub fn verify_signature(
    message: &[u8],
    signature: &QuoteSignature<'_>,
    ak: &AkPublic,
) -> Result<()> {
    let digest = signature.hash().hash_parts([message]);
    let ok = match (signature, ak) {
        (QuoteSignature::RsaSsa { hash, signature }, AkPublic::Rsa { key, .. }) => {
            if *hash == HashAlg::Sha1 {
                return Err(Error::BadSignature);
            }
            pkcs1v15(key, *hash, &digest, signature)
        }
        (QuoteSignature::RsaPss { hash, signature }, AkPublic::Rsa { key, .. }) => match hash {
            // The TPM signs PSS with the largest salt that fits; detect it.
            HashAlg::Sha256 => pss::<sha2::Sha256>(key, &digest, signature),
            HashAlg::Sha384 => pss::<sha2::Sha384>(key, &digest, signature),
            HashAlg::Sha512 => pss::<sha2::Sha512>(key, &digest, signature),
            HashAlg::Sha1 => return Err(Error::BadSignature),
        },
        (QuoteSignature::Ecdsa { r, s, .. }, AkPublic::P256(key)) => {
            let sig = ecdsa_p256(r, s)?;
            key.verify_prehash(&digest, &sig).is_ok()
        }
        (QuoteSignature::Ecdsa { r, s, .. }, AkPublic::P384(key)) => {
            let sig = ecdsa_p384(r, s)?;
            key.verify_prehash(&digest, &sig).is_ok()
        }
        (signature, ak) => {
            return Err(Error::SchemeKeyMismatch {
                scheme: signature.scheme_name(),
                key: ak.type_name(),
            });
        }
    };
    if ok { Ok(()) } else { Err(Error::BadSignature) }
}

/// RSASSA-PKCS1-v1_5 with the build's default engine (attest-prims' verification-only path
/// with the default `fast-rsa` feature).
fn pkcs1v15(key: &rsa::PublicKey, hash: HashAlg, digest: &[u8], signature: &[u8]) -> bool {
    let hash = match hash {
        HashAlg::Sha256 => Pkcs1Hash::Sha256,
        HashAlg::Sha384 => Pkcs1Hash::Sha384,
        HashAlg::Sha512 => Pkcs1Hash::Sha512,
        HashAlg::Sha1 => return false,
    };
    verify_pkcs1v15(RsaEngine::default(), key, hash, digest, signature)
}

fn pss<D>(key: &rsa::PublicKey, digest: &[u8], signature: &[u8]) -> bool
where
    D: sha2::Digest + sha2::digest::FixedOutputReset,
{
    use rsa::signature::hazmat::PrehashVerifier as _;
    let Ok(signature) = rsa::pss::Signature::try_from(signature) else {
        return false;
    };
    rsa::pss::VerifyingKey::<D>::new_with_auto_salt_len(key.clone())
        .verify_prehash(digest, &signature)
        .is_ok()
}

/// A big-endian integer of at most N bytes, left-padded with zeros to N.
fn left_pad<const N: usize>(value: &[u8]) -> Result<[u8; N]> {
    let start = N.checked_sub(value.len()).ok_or(Error::BadSignature)?;
    let mut out = [0u8; N];
    out.get_mut(start..)
        .ok_or(Error::BadSignature)?
        .copy_from_slice(value);
    Ok(out)
}

fn ecdsa_p256(r: &[u8], s: &[u8]) -> Result<p256::ecdsa::Signature> {
    p256::ecdsa::Signature::from_scalars(left_pad::<32>(r)?, left_pad::<32>(s)?)
        .map_err(|_| Error::BadSignature)
}

fn ecdsa_p384(r: &[u8], s: &[u8]) -> Result<p384::ecdsa::Signature> {
    p384::ecdsa::Signature::from_scalars(left_pad::<48>(r)?, left_pad::<48>(s)?)
        .map_err(|_| Error::BadSignature)
}

/// Compares the nonce in constant time (lengths are public).
// Public only for the fuzz targets (feature `fuzzing`).
#[cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub))]
pub fn check_nonce(attest: &QuoteAttest<'_>, expected: &[u8]) -> Result<()> {
    let found = attest.extra_data();
    if found.len() == expected.len() && bool::from(found.ct_eq(expected)) {
        return Ok(());
    }
    Err(Error::NonceMismatch {
        expected: format!("{}", HexSlice(expected)),
        found: format!("{}", HexSlice(found)),
    })
}

/// Maps the supplied values onto the quote's selection and compares their digest.
// Public only for the fuzz targets (feature `fuzzing`).
#[cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub))]
pub fn check_pcr_digest(
    attest: &QuoteAttest<'_>,
    hash: HashAlg,
    pcrs: &PcrValues,
) -> Result<Vec<VerifiedPcrBank>> {
    let mut banks = Vec::new();
    let mut parts: Vec<&[u8]> = Vec::new();
    for selection in attest.selection() {
        let mut values = Vec::new();
        for &index in &selection.indices {
            let value = pcrs.get(selection.bank, index).ok_or(Error::MissingPcr {
                bank: selection.bank,
                index,
            })?;
            parts.push(value);
            values.push((index, HexBytes(value.to_vec())));
        }
        banks.push(VerifiedPcrBank {
            bank: selection.bank,
            values,
        });
    }
    for (bank, index, _) in pcrs.iter() {
        let covered = attest
            .selection()
            .iter()
            .any(|s| s.bank == bank && s.indices.contains(&index));
        if !covered {
            return Err(Error::UnquotedPcr { bank, index });
        }
    }
    let digest = hash.hash_parts(parts);
    if digest.as_slice() != attest.pcr_digest() {
        return Err(Error::PcrDigestMismatch {
            expected: format!("{}", HexSlice(attest.pcr_digest())),
            found: format!("{}", HexSlice(&digest)),
        });
    }
    Ok(banks)
}
