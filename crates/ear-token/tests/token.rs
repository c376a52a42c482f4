//! Signing and checking attestation-result tokens: round trips for ES256 and ES384, key ids
//! as RFC 7638 thumbprints, PEM key files, and every way a relying party must refuse a token.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ear_token::{Algorithm, ErrorKind, Jwk, Jwks, SigningKey, verify_token};
use serde_json::json;

const NOW: u64 = 1_800_000_000;

fn claims(exp: u64) -> serde_json::Value {
    json!({ "eat_profile": "tag:github.com,2023:veraison/ear", "iat": NOW - 10, "exp": exp,
            "submods": { "cvm": { "ear.status": "affirming" } } })
}

fn jwks(keys: &[&SigningKey]) -> Jwks {
    Jwks {
        keys: keys.iter().map(|key| key.public_jwk()).collect(),
    }
}

#[test]
fn es256_and_es384_tokens_round_trip() {
    for algorithm in [Algorithm::Es256, Algorithm::Es384] {
        let key = SigningKey::generate(algorithm).unwrap();
        let token = key.sign(&claims(NOW + 60));
        let verified = verify_token(&token, &jwks(&[&key]), NOW).unwrap();
        assert_eq!(verified.algorithm, algorithm);
        assert_eq!(verified.kid, key.kid());
        assert_eq!(verified.claims, claims(NOW + 60));
        assert_eq!(verified.header["typ"], "JWT");
        let signature = URL_SAFE_NO_PAD
            .decode(token.rsplit('.').next().unwrap())
            .unwrap();
        assert_eq!(signature.len(), 2 * algorithm.coordinate_len(), "r then s");

        // The JWKS as served round-trips, and a PEM key file keeps the key id.
        let served = serde_json::to_vec(&jwks(&[&key])).unwrap();
        verify_token(&token, &Jwks::from_json(&served).unwrap(), NOW).unwrap();
        let reloaded = SigningKey::from_pem(&key.to_pem().unwrap()).unwrap();
        assert_eq!(reloaded.kid(), key.kid());
        assert_eq!(reloaded.algorithm(), algorithm);
    }
}

#[test]
fn key_ids_are_rfc7638_thumbprints() {
    // RFC 7517 A.1's EC key; the value below was computed independently (Python hashlib over
    // the canonical JSON of RFC 7638 section 3.2).
    let jwk = Jwk {
        kty: "EC".into(),
        crv: "P-256".into(),
        x: "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4".into(),
        y: "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM".into(),
        kid: Some("ignored".into()),
        alg: None,
        use_: None,
        key_ops: None,
    };
    assert_eq!(
        jwk.thumbprint(),
        "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s"
    );
    let key = SigningKey::generate(Algorithm::Es256).unwrap();
    assert_eq!(key.kid(), key.public_jwk().thumbprint());
}

/// Rebuilds a token from its parts with `edit` applied to the header.
fn with_header(token: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    edit(&mut header);
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        parts[1],
        parts[2]
    )
}

#[test]
fn a_relying_party_refuses_every_forgery() {
    let key = SigningKey::generate(Algorithm::Es256).unwrap();
    let other = SigningKey::generate(Algorithm::Es256).unwrap();
    let p384 = SigningKey::generate(Algorithm::Es384).unwrap();
    let keys = jwks(&[&key, &p384]);
    let token = key.sign(&claims(NOW + 60));
    let parts: Vec<&str> = token.split('.').collect();
    let refused = |candidate: &str, kind: ErrorKind, says: &str| {
        let e = verify_token(candidate, &keys, NOW).unwrap_err();
        assert_eq!(e.kind(), kind, "{candidate}: {e}");
        assert!(e.to_string().contains(says), "{says}: {e}");
    };

    // Algorithms other than ES256/ES384, whatever the rest.
    for alg in ["none", "HS256", "RS256", "ES512", "es256"] {
        let forged = with_header(&token, |h| h["alg"] = alg.into());
        refused(&forged, ErrorKind::Invalid, "expected ES256 or ES384");
    }
    let unsigned = format!(
        "{}.{}.",
        with_header(&token, |h| h["alg"] = "none".into())
            .split('.')
            .next()
            .unwrap(),
        parts[1]
    );
    refused(&unsigned, ErrorKind::Invalid, "expected ES256 or ES384");
    // The header says ES384 for a P-256 key: no key of the set fits.
    let confused = with_header(&token, |h| h["alg"] = "ES384".into());
    refused(
        &confused,
        ErrorKind::Invalid,
        "a signature key of the JWKS for ES384",
    );
    // A critical extension nobody here understands (b64: false among them).
    for crit in [json!(["b64"]), json!([]), json!("exp")] {
        let marked = with_header(&token, |h| {
            h["crit"] = crit.clone();
            h["b64"] = false.into();
        });
        refused(&marked, ErrorKind::Invalid, "token crit");
    }
    // No kid, an unknown kid, the kid of another key of the set.
    refused(
        &with_header(&token, |h| {
            h.as_object_mut().unwrap().remove("kid");
        }),
        ErrorKind::Invalid,
        "token kid",
    );
    refused(
        &with_header(&token, |h| h["kid"] = other.kid().into()),
        ErrorKind::Invalid,
        "a signature key of the JWKS",
    );
    // Signed by a key outside the set, under the kid of one inside it.
    let impostor = with_header(&other.sign(&claims(NOW + 60)), |h| {
        h["kid"] = key.kid().into()
    });
    refused(&impostor, ErrorKind::Invalid, "does not verify");
    // Claims changed after signing; a flipped signature bit; a short signature.
    let richer = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims(NOW + 999_999).to_string()),
        parts[2]
    );
    refused(&richer, ErrorKind::Invalid, "does not verify");
    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    signature[7] ^= 1;
    let flipped = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        URL_SAFE_NO_PAD.encode(&signature)
    );
    refused(&flipped, ErrorKind::Invalid, "does not verify");
    let short = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        URL_SAFE_NO_PAD.encode(&signature[..63])
    );
    refused(&short, ErrorKind::Invalid, "signature length");
    // Expired, not yet valid, no expiry at all.
    refused(&key.sign(&claims(NOW)), ErrorKind::Invalid, "token exp");
    let mut early = claims(NOW + 60);
    early["nbf"] = (NOW + 30).into();
    refused(&key.sign(&early), ErrorKind::Invalid, "token nbf");
    let mut forever = claims(NOW + 60);
    forever.as_object_mut().unwrap().remove("exp");
    refused(&key.sign(&forever), ErrorKind::Invalid, "token exp");
    // Not a token at all.
    for garbage in [
        "",
        "a.b",
        "a.b.c.d",
        "!!.!!.!!",
        &format!("{}.{}.{}", parts[0], "e30", parts[2])[..],
    ] {
        let e = verify_token(garbage, &keys, NOW).unwrap_err();
        assert!(
            e.kind() == ErrorKind::Malformed || garbage.ends_with(parts[2]),
            "{garbage}: {e}"
        );
    }
    // The genuine token still verifies.
    verify_token(&token, &keys, NOW).unwrap();
}

#[test]
fn key_files_of_other_kinds_are_refused() {
    for bad in [
        "",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "not pem",
    ] {
        assert_eq!(
            SigningKey::from_pem(bad).unwrap_err().kind(),
            ErrorKind::Malformed
        );
    }
    assert!(Jwks::from_json(b"{\"keys\": 5}").is_err());
    let skipped = Jwks::from_json(br#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#).unwrap();
    assert!(skipped.keys.is_empty(), "non-EC keys are skipped");
}

/// Keys a relying party must not verify with, and keys it must skip without failing the set.
#[test]
fn only_signature_keys_of_the_set_verify_and_unusable_keys_are_skipped() {
    let key = SigningKey::generate(Algorithm::Es256).unwrap();
    let token = key.sign(&claims(NOW + 60));
    let mut document = json!({ "keys": [
        // Unusable keys: another type, an EC key without y, an EC curve not supported.
        { "kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "rsa" },
        { "kty": "EC", "crv": "P-256", "x": "AA", "kid": "broken" },
        { "kty": "EC", "crv": "P-521", "x": "AA", "y": "AA", "kid": "p521" },
        serde_json::to_value(key.public_jwk()).unwrap(),
    ]});
    let set = Jwks::from_json(document.to_string().as_bytes()).unwrap();
    assert_eq!(
        set.keys.len(),
        2,
        "the RSA key and the key without y are skipped"
    );
    verify_token(&token, &set, NOW).unwrap();

    // The same key published for encryption, or for operations other than verify.
    for (member, value) in [
        ("use", json!("enc")),
        ("key_ops", json!(["encrypt"])),
        ("key_ops", json!([])),
    ] {
        document["keys"][3][member] = value;
        let set = Jwks::from_json(document.to_string().as_bytes()).unwrap();
        let e = verify_token(&token, &set, NOW).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Invalid, "{member}: {e}");
        assert!(e.to_string().contains("token kid"), "{e}");
        document["keys"][3].as_object_mut().unwrap().remove(member);
    }
    document["keys"][3]["key_ops"] = json!(["verify"]);
    let set = Jwks::from_json(document.to_string().as_bytes()).unwrap();
    verify_token(&token, &set, NOW).unwrap();
}

/// ECDSA's malleability, as documented on `verify_token`: (r, n - s) verifies too, so the
/// token string is no identity.
#[test]
fn the_mirror_signature_verifies_as_documented() {
    // The order of P-256 (FIPS 186-4 D.1.2.3), big-endian.
    let n = hex_bytes("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    let key = SigningKey::generate(Algorithm::Es256).unwrap();
    let token = key.sign(&claims(NOW + 60));
    let parts: Vec<&str> = token.split('.').collect();
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    // n - s, byte by byte from the right with a borrow.
    let mut mirrored_s = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut digit = i16::from(n[i]) - i16::from(signature[32 + i]) - borrow;
        borrow = i16::from(digit < 0);
        if digit < 0 {
            digit += 256;
        }
        mirrored_s[i] = digit as u8;
    }
    let mut mirrored = signature[..32].to_vec();
    mirrored.extend_from_slice(&mirrored_s);
    let twin = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        URL_SAFE_NO_PAD.encode(&mirrored)
    );
    assert_ne!(twin, token);
    let keys = jwks(&[&key]);
    assert_eq!(
        verify_token(&twin, &keys, NOW).unwrap().claims,
        verify_token(&token, &keys, NOW).unwrap().claims
    );
}

fn hex_bytes(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}
