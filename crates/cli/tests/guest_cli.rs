//! The guest commands of the binary against swtpm through the real TCTI: `evidence --fresh`,
//! `quote`, `report --file`; their output verified by the library with the test PKI's roots.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::Command;

use snp_verify::UnixTime;
use snp_vtpm::vtpm_quote::guest::{self, Vtpm};
use snp_vtpm::vtpm_quote::{AkPublic, QuoteAttest, QuoteFile, QuoteSignature, verify_quote};
use snp_vtpm::{
    Certificates, Evidence, EvidencePolicy, EvidenceVersion, ExpectedNonce, Verifier, VerifyOptions,
};
use snp_vtpm_testkit::azure::{SyntheticReport, TEST_FIRMWARE_ID_KEY_DIGEST};
use snp_vtpm_testkit::pki::TestPki;
use snp_vtpm_testkit::swtpm::{self, Swtpm};

fn snp_vtpm(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_snp-vtpm"))
        .args(args)
        .output()
        .expect("the binary runs")
}

#[test]
fn evidence_and_quote_from_a_simulated_vtpm_verify() {
    if !swtpm::available() {
        return;
    }
    let nonce = b"relying-party-nonce-0001";
    let mut user_data = [0u8; 64];
    user_data[..nonce.len()].copy_from_slice(nonce);
    let sim = Swtpm::start().unwrap();
    let mut vtpm = Vtpm::open(Some(&sim.tcti())).unwrap();
    let mut vcek_der = Vec::new();
    guest::provision_azure_layout(&mut vtpm, |ak| {
        let (hcl, vcek) =
            SyntheticReport::new(ak.key.rsa_modulus().unwrap(), user_data).build(TestPki::shared());
        vcek_der = vcek.der;
        hcl
    })
    .unwrap();
    drop(vtpm);

    let tcti = sim.tcti();
    let out = snp_vtpm(&[
        "evidence",
        "--nonce",
        std::str::from_utf8(nonce).unwrap(),
        "--fresh",
        "--no-certs",
        "--tcti",
        &tcti,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let evidence = Evidence::from_json(&out.stdout, snp_vtpm::DEFAULT_SIZE_LIMIT).unwrap();
    assert_eq!(evidence.version, EvidenceVersion::V2);

    let pki = TestPki::shared();
    let mut certificates = Certificates {
        leaves: vec![vcek_der],
        ..Certificates::default()
    };
    certificates
        .add_file(
            pki.product(hcl_parse::Generation::Milan)
                .vcek_chain_pem()
                .as_bytes(),
        )
        .unwrap();
    let policy = EvidencePolicy::from_document(
        serde_json::json!({ "require_report_bound_to_nonce": true, "report": { "allowed_id_key_digests": [hex::encode(TEST_FIRMWARE_ID_KEY_DIGEST)] } }),
        "azure-cvm",
    )
    .unwrap();
    let now = UnixTime::from_secs(1_748_736_000);
    let verified = Verifier::with_anchors(pki.trust_anchors(), policy)
        .verify(
            &evidence,
            ExpectedNonce::Exactly(nonce),
            &certificates,
            &VerifyOptions::at(now),
        )
        .unwrap();
    assert!(verified.report_bound_to_nonce());

    let out = snp_vtpm(&[
        "quote",
        "--nonce-hex",
        "00112233",
        "--pcr-select",
        "0,7,16",
        "--tcti",
        &tcti,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = QuoteFile::from_json(&out.stdout).unwrap();
    assert_eq!(file.pcr_indices.as_deref(), Some(&[0, 7, 16][..]));
    let hcl = hcl_parse::HclReport::parse(&evidence.hcl_report).unwrap();
    let claims = hcl.runtime_claims().unwrap();
    let ak = AkPublic::from_jwk(
        &claims
            .attestation_key()
            .unwrap()
            .rsa_public_numbers()
            .unwrap(),
    )
    .unwrap();
    let values: Vec<&[u8]> = file.pcrs.iter().map(|p| p.0.as_slice()).collect();
    let pcrs = snp_vtpm::vtpm_quote::PcrValues::at_indices(
        snp_vtpm::vtpm_quote::HashAlg::Sha256,
        &[0, 7, 16],
        &values,
    )
    .unwrap();
    let signature = QuoteSignature::parse_any(&file.signature.0).unwrap();
    verify_quote(
        &QuoteAttest::parse(&file.message.0).unwrap(),
        &signature,
        &ak,
        ExpectedNonce::Exactly(&[0x00, 0x11, 0x22, 0x33]),
        &pcrs,
    )
    .unwrap();

    // A 51-byte nonce is refused before the TPM with exit code 5 and a clear message.
    let out = snp_vtpm(&["quote", "--nonce", &"x".repeat(51), "--tcti", &tcti]);
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at most 50"));
}

#[test]
fn an_unreachable_tpm_exits_5() {
    let out = snp_vtpm(&[
        "quote",
        "--nonce",
        "n",
        "--tcti",
        "swtpm:host=127.0.0.1,port=1",
    ]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
