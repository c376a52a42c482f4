//! Verification-only RSA signatures: RSASSA-PSS with SHA-384 (AMD's certificate chain) and
//! RSASSA-PKCS1-v1_5 (vTPM quotes), over one RSAVP1.
//!
//! rsa 0.10 raises the signature to `e` with a constant-time windowed exponentiation (about 36
//! Montgomery multiplications for e = 65537, plus its table). A signature and a public key are
//! public, so here RSAVP1 is plain square-and-multiply over the bits of `e` (16 squarings and
//! one multiplication for 65537) on crypto-bigint's Montgomery arithmetic with the key's
//! precomputed parameters: about twice as fast. The encodings are then checked as RFC 8017
//! says: EMSA-PSS-VERIFY (section 9.1.2) with the salt length the certificate declares, and
//! the EMSA-PKCS1-v1_5 encoding compared whole (sections 8.2.2 and 9.2).

use alloc::vec::Vec;

use crypto_bigint::BoxedUint;
use crypto_bigint::modular::BoxedMontyForm;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha384};

/// The SHA-384 output length (hLen).
const HASH_LEN: usize = 48;

/// Which implementation checks RSA signatures. Both give the same verdicts (on PSS signatures
/// with the declared salt length, the only ones AMD's profile allows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaEngine {
    /// rsa 0.10's verifiers.
    Stock,
    /// This module's variable-time RSAVP1 and encoding checks.
    Fast,
}

impl Default for RsaEngine {
    /// [`RsaEngine::Fast`] with the `fast-rsa` feature (the default), else [`RsaEngine::Stock`].
    fn default() -> Self {
        if cfg!(feature = "fast-rsa") {
            Self::Fast
        } else {
            Self::Stock
        }
    }
}

/// The hash whose DigestInfo an RSASSA-PKCS1-v1_5 signature carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pkcs1Hash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

/// Verifies an RSASSA-PSS (SHA-384, MGF1-SHA-384, `salt_len`) signature over a SHA-384 digest.
pub fn verify_pss_sha384(
    engine: RsaEngine,
    key: &rsa::PublicKey,
    digest: &[u8; HASH_LEN],
    signature: &[u8],
    salt_len: usize,
) -> bool {
    match engine {
        RsaEngine::Stock => key.pss_verify_prehash::<Sha384>(digest, signature).is_ok(),
        RsaEngine::Fast => {
            let mod_bits = key.n().as_ref().bit_width_vartime() as usize;
            let Some(em) = rsavp1(key, signature) else {
                return false;
            };
            emsa_pss_verify(digest, &em, mod_bits.saturating_sub(1), salt_len)
        }
    }
}

/// Verifies an RSASSA-PKCS1-v1_5 signature over `digest` (the `hash` of the message).
pub fn verify_pkcs1v15(
    engine: RsaEngine,
    key: &rsa::PublicKey,
    hash: Pkcs1Hash,
    digest: &[u8],
    signature: &[u8],
) -> bool {
    match engine {
        RsaEngine::Stock => match hash {
            Pkcs1Hash::Sha256 => key.pkcs1v15_verify_prehash::<sha2::Sha256>(digest, signature),
            Pkcs1Hash::Sha384 => key.pkcs1v15_verify_prehash::<sha2::Sha384>(digest, signature),
            Pkcs1Hash::Sha512 => key.pkcs1v15_verify_prehash::<sha2::Sha512>(digest, signature),
        }
        .is_ok(),
        RsaEngine::Fast => fast_pkcs1v15(key, hash, digest, signature),
    }
}

/// DigestInfo DER prefixes (RFC 8017, 9.2, note 1).
const SHA256_PREFIX: &[u8] = &[
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];
const SHA384_PREFIX: &[u8] = &[
    0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
    0x00, 0x04, 0x30,
];
const SHA512_PREFIX: &[u8] = &[
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];

fn fast_pkcs1v15(key: &rsa::PublicKey, hash: Pkcs1Hash, digest: &[u8], signature: &[u8]) -> bool {
    let prefix = match hash {
        Pkcs1Hash::Sha256 => SHA256_PREFIX,
        Pkcs1Hash::Sha384 => SHA384_PREFIX,
        Pkcs1Hash::Sha512 => SHA512_PREFIX,
    };
    let Some(em) = rsavp1(key, signature) else {
        return false;
    };
    // EM = 0x00 || 0x01 || PS (0xff, at least 8) || 0x00 || DigestInfo || digest.
    let t_len = prefix.len() + digest.len();
    let Some(ps_len) = em.len().checked_sub(t_len + 3) else {
        return false;
    };
    if ps_len < 8 {
        return false;
    }
    let (head, rest) = em.split_at(2);
    let (ps, rest) = rest.split_at(ps_len);
    let Some((&separator, t)) = rest.split_first() else {
        return false;
    };
    let (t_prefix, t_digest) = t.split_at(prefix.len().min(t.len()));
    head == [0x00, 0x01]
        && ps.iter().all(|&b| b == 0xff)
        && separator == 0x00
        && t_prefix == prefix
        && t_digest == digest
}

/// RSAVP1: `signature^e mod n` as `k` big-endian bytes (k = the modulus length), `None` if the
/// signature is not `k` bytes or not below n.
fn rsavp1(key: &rsa::PublicKey, signature: &[u8]) -> Option<Vec<u8>> {
    let k = key.size();
    if signature.len() != k {
        return None;
    }
    let n = key.n().as_ref();
    let s = BoxedUint::from_be_slice(signature, n.bits_precision()).ok()?;
    if s >= *n {
        return None;
    }
    let e = key.e();
    let e_bits = e.bit_width_vartime();
    if e_bits == 0 {
        return None;
    }
    let base = BoxedMontyForm::new(s, key.n_params());
    let mut power = base.clone();
    for index in (0..e_bits - 1).rev() {
        power = power.square();
        if e.bit_vartime(index) {
            power = power.mul(&base);
        }
    }
    let bytes = power.retrieve().to_be_bytes();
    let start = bytes.len().checked_sub(k)?;
    // The integer is below n, so the bytes before the last k are zero.
    if bytes.get(..start)?.iter().any(|&b| b != 0) {
        return None;
    }
    Some(bytes.get(start..)?.to_vec())
}

/// EMSA-PSS-VERIFY (RFC 8017, 9.1.2) with SHA-384 and MGF1-SHA-384; `em` is the k-byte RSAVP1
/// output, `em_bits` = modBits - 1.
fn emsa_pss_verify(digest: &[u8; HASH_LEN], em: &[u8], em_bits: usize, salt_len: usize) -> bool {
    let em_len = em_bits.div_ceil(8);
    // I2OSP(m, emLen): when emLen < k the leading byte must be zero.
    let Some(leading) = em.len().checked_sub(em_len) else {
        return false;
    };
    let (zeros, em) = em.split_at(leading);
    // A salt length near usize::MAX must refuse, not wrap.
    let Some(min_len) = salt_len.checked_add(HASH_LEN + 2) else {
        return false;
    };
    if zeros.iter().any(|&b| b != 0) || em_len < min_len {
        return false;
    }
    let Some((&last, rest)) = em.split_last() else {
        return false;
    };
    if last != 0xbc {
        return false;
    }
    let (masked_db, h) = rest.split_at(em_len - HASH_LEN - 1);
    let unused_bits = 8 * em_len - em_bits;
    let top_mask = 0xffu8.checked_shr(unused_bits as u32).unwrap_or(0);
    if masked_db.first().is_none_or(|&b| b & !top_mask != 0) {
        return false;
    }
    let mut db = mgf1_sha384(h, masked_db.len());
    for (d, m) in db.iter_mut().zip(masked_db) {
        *d ^= m;
    }
    if let Some(first) = db.first_mut() {
        *first &= top_mask;
    }
    let padding_len = em_len - HASH_LEN - salt_len - 2;
    let (padding, rest) = db.split_at(padding_len);
    let Some((&separator, salt)) = rest.split_first() else {
        return false;
    };
    if padding.iter().any(|&b| b != 0) || separator != 0x01 || salt.len() != salt_len {
        return false;
    }
    let mut hash = Sha384::new();
    hash.update([0u8; 8]);
    hash.update(digest);
    hash.update(salt);
    hash.finalize().as_slice() == h
}

/// MGF1 with SHA-384: `len` bytes of mask from `seed`.
fn mgf1_sha384(seed: &[u8], len: usize) -> Vec<u8> {
    let mut mask = Vec::with_capacity(len + HASH_LEN);
    let mut counter = 0u32;
    while mask.len() < len {
        let mut hash = Sha384::new();
        hash.update(seed);
        hash.update(counter.to_be_bytes());
        mask.extend_from_slice(&hash.finalize());
        counter += 1;
    }
    mask.truncate(len);
    mask
}
