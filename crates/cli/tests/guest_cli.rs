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

    // A 51-byte nonce is a usage error, refused before the TPM with a clear message.
    let out = snp_vtpm(&["quote", "--nonce", &"x".repeat(51), "--tcti", &tcti]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("quotes 1 to 50"));
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

/// The binary without TSS2_LOG or SNP_VTPM_* from the test's environment: (code, stderr).
fn quietly(args: &[&str]) -> (i32, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_snp-vtpm"));
    command
        .args(args)
        .env_remove("TSS2_LOG")
        .env_remove("SNP_VTPM_TCTI");
    let out = command.output().expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// TPM errors name their cause and the device or TCTI, with a hint, and nothing of libtss2's
/// own log unless asked for; arguments are checked before the TPM is touched (issue 22,
/// item 3).
#[test]
fn tpm_errors_say_what_is_wrong() {
    // No device: exit 5, the path named, two lines (the error and the hint).
    let (code, stderr) = quietly(&[
        "quote",
        "--nonce",
        "n",
        "--tcti",
        "device:/nonexistent/tpmrm0",
    ]);
    assert_eq!(code, 5, "{stderr}");
    assert!(stderr.contains("no TPM at /nonexistent/tpmrm0"), "{stderr}");
    assert!(
        stderr.contains("hint: on an Azure confidential VM"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    // A TCTI nothing understands: a usage error listing the forms.
    let (code, stderr) = quietly(&["report", "--tcti", "bogus:zzz"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("valid forms: device:/dev/tpmrm0"),
        "{stderr}"
    );
    // A nonce the vTPM cannot carry: exit 1 before the (absent) TPM is looked at.
    let long = "n".repeat(51);
    let (code, stderr) = quietly(&[
        "quote",
        "--nonce",
        &long,
        "--tcti",
        "device:/nonexistent/tpmrm0",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("a nonce of 51 bytes"), "{stderr}");
    // An output path that cannot be written: exit 1 before the TPM.
    let to_unwritable = |tcti: &str| {
        quietly(&[
            "evidence",
            "--nonce",
            "n",
            "--fresh",
            "-o",
            "/nonexistent/dir/evidence.json",
            "--tcti",
            tcti,
        ])
    };
    let (code, stderr) = to_unwritable("device:/nonexistent/tpmrm0");
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("-o /nonexistent/dir/evidence.json"),
        "{stderr}"
    );

    if !swtpm::available() {
        return;
    }
    // A simulator that is not there: libtss2's own lines only with --verbose.
    let (code, stderr) = quietly(&[
        "quote",
        "--nonce",
        "n",
        "--tcti",
        "swtpm:host=127.0.0.1,port=1",
    ]);
    assert_eq!(code, 5, "{stderr}");
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    assert!(stderr.contains("is the simulator running"), "{stderr}");
    let (_, verbose) = quietly(&[
        "quote",
        "--nonce",
        "n",
        "--tcti",
        "swtpm:host=127.0.0.1,port=1",
        "--verbose",
    ]);
    assert!(
        verbose.lines().count() > 2,
        "libtss2 logs when asked: {verbose}"
    );

    // A TPM that is not an Azure vTPM (a fresh simulator): the HCL report's NV index and the
    // attestation key are named.
    let sim = Swtpm::start().unwrap();
    let tcti = sim.tcti();
    let (code, stderr) = quietly(&["report", "--tcti", &tcti]);
    assert_eq!(code, 5, "{stderr}");
    assert!(
        stderr.contains("has no NV index 0x01400001 (the HCL report)"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    let (code, stderr) = quietly(&["quote", "--nonce", "n", "--tcti", &tcti]);
    assert_eq!(code, 5, "{stderr}");
    assert!(
        stderr.contains("no key at persistent handle 0x81000003"),
        "{stderr}"
    );
    // A fresh report from a TPM without the HCL report: refused before NV 0x01400002 is written.
    let (code, stderr) = quietly(&[
        "evidence",
        "--nonce",
        "n",
        "--fresh",
        "--no-certs",
        "--tcti",
        &tcti,
    ]);
    assert_eq!(code, 5, "{stderr}");
    assert!(stderr.contains("has no NV index 0x01400001"), "{stderr}");
    // An unusable output path leaves NV 0x01400002 unwritten.
    let (code, _) = to_unwritable(&tcti);
    assert_eq!(code, 1);
    let mut vtpm = Vtpm::open(Some(&tcti)).unwrap();
    assert!(
        vtpm.read_nv(guest::USER_DATA_NV_INDEX).is_err(),
        "NV 0x01400002 was not written"
    );
}
