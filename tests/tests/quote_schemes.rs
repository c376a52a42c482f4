//! Signature schemes no real quote uses (ECDSA P-256/P-384, RSASSA-PSS, SHA-384 RSASSA):
//! quotes composed here, signed with fresh keys, verified by vtpm-quote; mismatches refused.

use chacha20::rand_core::SeedableRng;
use p384::ecdsa::signature::hazmat::PrehashSigner;
use rsa::pkcs8::EncodePublicKey;
use sha2::Digest;
use vtpm_quote::{
    AkPublic, Error, ExpectedNonce, HashAlg, PcrValues, QuoteAttest, QuoteSignature, verify_quote,
};

/// A TPMS_ATTEST quote over sha256 PCR 0 and 1 with the given nonce, pcrDigest hashed with `hash`.
fn attest(nonce: &[u8], pcr0: &[u8; 32], pcr1: &[u8; 32], hash: HashAlg) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&0xFF54_4347u32.to_be_bytes());
    m.extend_from_slice(&0x8018u16.to_be_bytes());
    m.extend_from_slice(&34u16.to_be_bytes());
    m.extend_from_slice(&[0x00, 0x0B]);
    m.extend_from_slice(&[0xAA; 32]);
    m.extend_from_slice(&(nonce.len() as u16).to_be_bytes());
    m.extend_from_slice(nonce);
    m.extend_from_slice(&[0; 17]); // clock info
    m.extend_from_slice(&[0; 8]); // firmware version
    m.extend_from_slice(&1u32.to_be_bytes());
    m.extend_from_slice(&HashAlg::Sha256.tpm_id().to_be_bytes());
    m.extend_from_slice(&[3, 0b11, 0, 0]);
    let digest = hash.hash_parts([&pcr0[..], &pcr1[..]]);
    m.extend_from_slice(&(digest.len() as u16).to_be_bytes());
    m.extend_from_slice(&digest);
    m
}

fn tpmt(scheme: u16, hash: HashAlg, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = scheme.to_be_bytes().to_vec();
    out.extend_from_slice(&hash.tpm_id().to_be_bytes());
    for part in parts {
        out.extend_from_slice(&(part.len() as u16).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

fn pcrs() -> PcrValues {
    let mut values = PcrValues::new();
    values.insert(HashAlg::Sha256, 0, &[1; 32]).unwrap();
    values.insert(HashAlg::Sha256, 1, &[2; 32]).unwrap();
    values
}

#[test]
fn ecdsa_p256_and_p384_quotes_verify() {
    let message = attest(b"n", &[1; 32], &[2; 32], HashAlg::Sha256);
    let key256 = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
    let sig: p256::ecdsa::Signature = key256
        .sign_prehash(&sha2::Sha256::digest(&message))
        .unwrap();
    let (r, s) = sig.split_bytes();
    let signature = tpmt(0x0018, HashAlg::Sha256, &[&r, &s]);
    let spki = key256.verifying_key().to_public_key_der().unwrap();
    let ak = AkPublic::from_spki_der(spki.as_bytes()).unwrap();
    let parsed = QuoteSignature::from_tpmt(&signature).unwrap();
    verify_quote(
        &QuoteAttest::parse(&message).unwrap(),
        &parsed,
        &ak,
        ExpectedNonce::Exactly(b"n"),
        &pcrs(),
    )
    .unwrap();

    let message = attest(b"n", &[1; 32], &[2; 32], HashAlg::Sha384);
    let key384 = p384::ecdsa::SigningKey::from_slice(&[9; 48]).unwrap();
    let sig: p384::ecdsa::Signature = key384
        .sign_prehash(&sha2::Sha384::digest(&message))
        .unwrap();
    let (r, s) = sig.split_bytes();
    let signature = tpmt(0x0018, HashAlg::Sha384, &[&r, &s]);
    let spki = key384.verifying_key().to_public_key_der().unwrap();
    let ak384 = AkPublic::from_spki_der(spki.as_bytes()).unwrap();
    let parsed = QuoteSignature::from_tpmt(&signature).unwrap();
    verify_quote(
        &QuoteAttest::parse(&message).unwrap(),
        &parsed,
        &ak384,
        ExpectedNonce::Exactly(b"n"),
        &pcrs(),
    )
    .unwrap();
    // The P-256 key cannot verify it; an RSA scheme cannot use an EC key.
    assert_eq!(
        verify_quote(
            &QuoteAttest::parse(&message).unwrap(),
            &parsed,
            &ak,
            ExpectedNonce::Exactly(b"n"),
            &pcrs()
        )
        .unwrap_err(),
        Error::BadSignature
    );
    let rsa_sig = tpmt(0x0014, HashAlg::Sha256, &[&[1; 256]]);
    let err = verify_quote(
        &QuoteAttest::parse(&message).unwrap(),
        &QuoteSignature::from_tpmt(&rsa_sig).unwrap(),
        &ak384,
        ExpectedNonce::Exactly(b"n"),
        &pcrs(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::SchemeKeyMismatch { .. }), "{err}");
}

#[test]
fn rsa_pss_and_sha384_rsassa_quotes_verify() {
    let mut rng = chacha20::ChaCha20Rng::from_seed([3; 32]);
    let key = rsa::PrivateKey::new(&mut rng, 2048).unwrap();
    let public = rsa::PublicKey::from(&key);
    let spki = public.to_public_key_der().unwrap();
    let ak = AkPublic::from_spki_der(spki.as_bytes()).unwrap();

    let message = attest(b"pss", &[1; 32], &[2; 32], HashAlg::Sha256);
    let digest = sha2::Sha256::digest(&message);
    let pss = key
        .sign_with_rng(&mut rng, rsa::pss::Pss::<sha2::Sha256>::new(), &digest)
        .unwrap();
    let signature = tpmt(0x0016, HashAlg::Sha256, &[&pss]);
    verify_quote(
        &QuoteAttest::parse(&message).unwrap(),
        &QuoteSignature::from_tpmt(&signature).unwrap(),
        &ak,
        ExpectedNonce::Exactly(b"pss"),
        &pcrs(),
    )
    .unwrap();

    let message = attest(b"384", &[1; 32], &[2; 32], HashAlg::Sha384);
    let digest = sha2::Sha384::digest(&message);
    let pkcs1 = key
        .sign(rsa::Pkcs1v15Sign::new::<sha2::Sha384>(), &digest)
        .unwrap();
    let signature = tpmt(0x0014, HashAlg::Sha384, &[&pkcs1]);
    verify_quote(
        &QuoteAttest::parse(&message).unwrap(),
        &QuoteSignature::from_tpmt(&signature).unwrap(),
        &ak,
        ExpectedNonce::Exactly(b"384"),
        &pcrs(),
    )
    .unwrap();
    // A SHA-1 scheme is refused outright.
    let sha1 = tpmt(0x0014, HashAlg::Sha1, &[&pkcs1]);
    assert!(matches!(
        QuoteSignature::from_tpmt(&sha1),
        Err(Error::UnsupportedAlgorithm { .. })
    ));
}
