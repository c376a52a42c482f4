//! aws-lc-rs (AWS-LC's assembly P-384 and RSA) as the floor: only the cryptography and hashing
//! that verifying the milan-v2 evidence needs, with every input (keys, TBS bytes, signatures)
//! extracted before timing. No parsing, names, validity, extensions, claims or policy.
//! Criterion group `aws-lc-rs`.
//!
//! | benchmark | what one iteration does |
//! |---|---|
//! | `report_signature` | SHA-384 of the signed report bytes, ECDSA P-384 verify |
//! | `quote` | RSA-2048 PKCS#1 SHA-256 over TPMS_ATTEST, SHA-256 of the 24 PCRs |
//! | `verify_vcek_cached` | `report_signature` + `quote` + SHA-256 of the runtime claims |
//! | `verify_chain_cached` | the above + the VCEK's RSA-4096 PSS signature (by the ASK) |
//! | `verify_uncached` | the above + ARK self-signature + ASK signature (RSA-4096 PSS) |

use std::hint::black_box;
use std::time::SystemTime;

use aws_lc_rs::digest::{SHA256, SHA384, digest};
use aws_lc_rs::signature::{
    ECDSA_P384_SHA384_FIXED, RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA384,
    RsaPublicKeyComponents, UnparsedPublicKey,
};
use base64::Engine;
use bench_peers::{FullEvidence, report_medians};
use criterion::{Criterion, SamplingMode};
use x509_cert::der::{Decode, Encode};

const GROUP: &str = "aws-lc-rs";

const NAMES: [&str; 5] = [
    "report_signature",
    "quote",
    "verify_vcek_cached",
    "verify_chain_cached",
    "verify_uncached",
];

/// A certificate's signed bytes, signature and public key bits.
struct Signed {
    tbs: Vec<u8>,
    signature: Vec<u8>,
    key: Vec<u8>,
}

fn signed(der: &[u8]) -> Signed {
    let cert = x509_cert::Certificate::from_der(der).expect("certificate");
    Signed {
        tbs: cert.tbs_certificate.to_der().expect("TBS"),
        signature: cert.signature.raw_bytes().to_vec(),
        key: cert
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes()
            .to_vec(),
    }
}

struct Inputs {
    report_signed: Vec<u8>,
    report_signature: Vec<u8>,
    vcek_key: Vec<u8>,
    claims: Vec<u8>,
    ak_n: Vec<u8>,
    ak_e: Vec<u8>,
    quote_message: Vec<u8>,
    quote_signature: Vec<u8>,
    pcrs: Vec<u8>,
    vcek: Signed,
    ask: Signed,
    ark: Signed,
}

fn inputs(evidence: &FullEvidence) -> Inputs {
    let hcl = &evidence.hcl_report;
    let report = &hcl[0x20..0x20 + 1184];
    let mut report_signature = Vec::with_capacity(96);
    report_signature.extend(report[0x2A0..0x2A0 + 48].iter().rev());
    report_signature.extend(report[0x2E8..0x2E8 + 48].iter().rev());
    let claims_len = u32::from_le_bytes(hcl[0x4D0..0x4D4].try_into().expect("4 bytes")) as usize;
    let claims = hcl[0x4D4..0x4D4 + claims_len].to_vec();
    let json: serde_json::Value = serde_json::from_slice(&claims).expect("claims JSON");
    let ak = json["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == "HCLAkPub")
        .expect("HCLAkPub");
    let b64 = |field: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(ak[field].as_str().expect("JWK member").trim_end_matches('='))
            .expect("base64url")
    };
    let [vcek, ask, ark] = evidence.ders();
    let vcek = signed(&vcek);
    Inputs {
        report_signed: report[..0x2A0].to_vec(),
        report_signature,
        vcek_key: vcek.key.clone(),
        claims,
        ak_n: b64("n"),
        ak_e: b64("e"),
        quote_message: evidence.quote_message.clone(),
        quote_signature: evidence.quote_signature.clone(),
        pcrs: evidence.pcrs.concat(),
        vcek,
        ask: signed(&ask),
        ark: signed(&ark),
    }
}

fn report_signature(i: &Inputs) -> bool {
    // SHA-384 inside verify (the FIXED algorithm hashes the message).
    UnparsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, &i.vcek_key)
        .verify(&i.report_signed, &i.report_signature)
        .is_ok()
}

fn quote(i: &Inputs) -> bool {
    let key = RsaPublicKeyComponents {
        n: &i.ak_n,
        e: &i.ak_e,
    };
    let ok = key
        .verify(&RSA_PKCS1_2048_8192_SHA256, &i.quote_message, &i.quote_signature)
        .is_ok();
    ok && !digest(&SHA256, &i.pcrs).as_ref().is_empty()
}

fn pss(issuer_key: &[u8], cert: &Signed) -> bool {
    UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA384, issuer_key)
        .verify(&cert.tbs, &cert.signature)
        .is_ok()
}

fn vcek_cached(i: &Inputs) -> bool {
    let claims_hash = digest(&SHA256, &i.claims);
    report_signature(i) && quote(i) && !claims_hash.as_ref().is_empty()
}

fn chain_cached(i: &Inputs) -> bool {
    pss(&i.ask.key, &i.vcek) && vcek_cached(i)
}

fn uncached(i: &Inputs) -> bool {
    pss(&i.ark.key, &i.ark) && pss(&i.ark.key, &i.ask) && chain_cached(i)
}

fn main() {
    let started = SystemTime::now();
    let evidence = FullEvidence::load();
    let inputs = inputs(&evidence);
    assert!(report_signature(&inputs), "aws-lc-rs verifies the report signature");
    assert!(quote(&inputs), "aws-lc-rs verifies the quote");
    assert!(uncached(&inputs), "aws-lc-rs verifies the chain");
    let _ = digest(&SHA384, b"");

    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group(GROUP);
    group.sampling_mode(SamplingMode::Flat);
    let cases: [fn(&Inputs) -> bool; 5] =
        [report_signature, quote, vcek_cached, chain_cached, uncached];
    for (name, case) in NAMES.iter().zip(cases) {
        group.bench_function(*name, |b| b.iter(|| case(black_box(&inputs))));
    }
    group.finish();
    criterion.final_summary();
    report_medians(GROUP, &NAMES, started);
}
