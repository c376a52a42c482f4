//! The guest side against a real TPM 2.0 stack: swtpm through the real tss-esapi TCTI.
//! Every test starts its own swtpm with a fresh state and provisions an Azure-like layout
//! (AK in the endorsement hierarchy at 0x81000003, a synthetic HCL report in 0x01400001).
//! Without swtpm the tests skip, except under CI=true where they fail.

use std::time::Duration;

use hcl_parse::HclReport;
use snp_vtpm_testkit::azure::SyntheticReport;
use snp_vtpm_testkit::pki::TestPki;
use snp_vtpm_testkit::swtpm::{self, Swtpm};
use vtpm_quote::guest::fresh::{FreshError, Freshness};
use vtpm_quote::guest::{self, TpmError, Vtpm};
use vtpm_quote::{
    AkPublic, Error, ExpectedNonce, HashAlg, PcrBankSelection, QuoteAttest, QuoteSignature,
    check_qualified_signer, verify_quote,
};

fn all_sha256() -> Vec<PcrBankSelection> {
    vec![PcrBankSelection {
        bank: HashAlg::Sha256,
        indices: (0..24).collect(),
    }]
}

/// A provisioned simulator whose report carries `user_data`.
fn provisioned(user_data: [u8; 64]) -> Option<(Swtpm, Vtpm, Vec<u8>)> {
    if !swtpm::available() {
        return None;
    }
    let sim = Swtpm::start().expect("swtpm starts");
    let mut vtpm = Vtpm::open(Some(&sim.tcti())).expect("TCTI opens");
    let mut written = Vec::new();
    guest::provision_azure_layout(&mut vtpm, |ak| {
        let modulus = ak.key.rsa_modulus().expect("RSA AK").to_vec();
        written = SyntheticReport::new(&modulus, user_data)
            .build(TestPki::shared())
            .0;
        written.clone()
    })
    .expect("provisioning");
    Some((sim, vtpm, written))
}

fn ak_from_claims(report: &[u8]) -> AkPublic {
    let hcl = HclReport::parse(report).unwrap();
    let claims = hcl.runtime_claims().unwrap();
    AkPublic::from_jwk(
        &claims
            .attestation_key()
            .unwrap()
            .rsa_public_numbers()
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn reads_the_hcl_report_and_the_ak_it_names() {
    let Some((_sim, mut vtpm, written)) = provisioned([0; 64]) else {
        return;
    };
    let report = vtpm.hcl_report().unwrap();
    assert_eq!(report, written);
    let hcl = HclReport::parse(&report).unwrap();
    hcl.verify_report_data_binding().unwrap();
    let ak = vtpm.ak_public().unwrap();
    assert_eq!(ak.key, ak_from_claims(&report));
    assert_eq!(ak.attributes, vtpm_quote::name::AZURE_AK_ATTRIBUTES);
}

#[test]
fn quote_round_trips_through_the_verifier() {
    let Some((_sim, mut vtpm, report)) = provisioned([0; 64]) else {
        return;
    };
    let quote = vtpm.quote(b"challenge", &all_sha256()).unwrap();
    let ak = ak_from_claims(&report);
    let signature = QuoteSignature::from_tpmt(&quote.signature).unwrap();
    let verified = verify_quote(
        &QuoteAttest::parse(&quote.message).unwrap(),
        &signature,
        &ak,
        ExpectedNonce::Exactly(b"challenge"),
        &quote.pcrs,
    )
    .unwrap();
    assert_eq!(verified.pcrs()[0].values.len(), 24);
    assert_eq!(
        verified.pcr(HashAlg::Sha256, 17),
        Some(&[0xFF; 32][..]),
        "PCR 17 starts all-FF"
    );
    let attest = QuoteAttest::parse(&quote.message).unwrap();
    check_qualified_signer(&attest, ak.rsa_modulus().unwrap()).unwrap();
    let err = verify_quote(
        &attest,
        &signature,
        &ak,
        ExpectedNonce::Exactly(b"challengE"),
        &quote.pcrs,
    )
    .unwrap_err();
    assert!(matches!(err, Error::NonceMismatch { .. }));
}

#[test]
fn extending_a_pcr_changes_the_digest() {
    let Some((_sim, mut vtpm, report)) = provisioned([0; 64]) else {
        return;
    };
    let ak = ak_from_claims(&report);
    let before = vtpm.quote(b"n1", &all_sha256()).unwrap();
    vtpm.extend_pcr(16, b"measured thing").unwrap();
    let after = vtpm.quote(b"n2", &all_sha256()).unwrap();
    assert_ne!(
        before.pcrs.get(HashAlg::Sha256, 16),
        after.pcrs.get(HashAlg::Sha256, 16)
    );
    let mut expected = vec![0u8; 32];
    expected.extend_from_slice(&HashAlg::Sha256.hash_parts([&b"measured thing"[..]]));
    assert_eq!(
        after.pcrs.get(HashAlg::Sha256, 16),
        Some(&HashAlg::Sha256.hash_parts([&expected[..]])[..])
    );
    let signature = QuoteSignature::from_tpmt(&after.signature).unwrap();
    verify_quote(
        &QuoteAttest::parse(&after.message).unwrap(),
        &signature,
        &ak,
        ExpectedNonce::Exactly(b"n2"),
        &after.pcrs,
    )
    .unwrap();
    let err = verify_quote(
        &QuoteAttest::parse(&after.message).unwrap(),
        &signature,
        &ak,
        ExpectedNonce::Exactly(b"n2"),
        &before.pcrs,
    )
    .unwrap_err();
    assert!(matches!(err, Error::PcrDigestMismatch { .. }), "{err}");
}

#[test]
fn nonces_over_fifty_bytes_are_refused_before_the_tpm() {
    let Some((_sim, mut vtpm, _)) = provisioned([0; 64]) else {
        return;
    };
    let err = vtpm.quote(&[7; 51], &all_sha256()).unwrap_err();
    assert!(
        matches!(err, TpmError::NonceTooLong { len: 51, max: 50 }),
        "{err}"
    );
    vtpm.quote(&[7; 50], &all_sha256()).unwrap();
}

#[test]
fn fresh_report_already_bound_needs_no_wait() {
    let nonce = [0x5A; 48];
    let mut user_data = [0u8; 64];
    user_data[..48].copy_from_slice(&nonce);
    let Some((_sim, mut vtpm, _)) = provisioned(user_data) else {
        return;
    };
    let fresh = vtpm.fresh_hcl_report(&nonce).unwrap();
    assert_eq!((fresh.reads, fresh.waited), (1, Duration::ZERO));
    assert_eq!(
        vtpm.read_nv(guest::USER_DATA_NV_INDEX).unwrap(),
        user_data.to_vec(),
        "NV 0x01400002 holds the padded data"
    );
}

#[test]
fn stale_report_is_retried_a_bounded_number_of_times() {
    let Some((_sim, mut vtpm, _)) = provisioned([0; 64]) else {
        return;
    };
    vtpm.set_freshness(Freshness {
        interval: Duration::from_millis(20),
        retries: 2,
    });
    let err = vtpm.fresh_hcl_report(b"never-there").unwrap_err();
    match err {
        TpmError::Fresh(FreshError::Stale { reads, waited, .. }) => {
            assert_eq!(reads, 3);
            // Each re-read waits for the rest of the interval after the previous read.
            assert!(
                waited > Duration::ZERO && waited <= Duration::from_millis(40),
                "waited {waited:?}"
            );
        }
        other => panic!("expected a stale-report error, got {other}"),
    }
    let err = vtpm.fresh_hcl_report(&[1; 65]).unwrap_err();
    assert!(matches!(err, TpmError::UserDataTooLong { len: 65 }));
}

#[test]
fn ak_certificate_is_trimmed_or_absent() {
    let Some((_sim, mut vtpm, _)) = provisioned([0; 64]) else {
        return;
    };
    assert_eq!(vtpm.ak_certificate().unwrap(), None);
    let der = TestPki::shared()
        .product(hcl_parse::Generation::Milan)
        .ask_der
        .clone();
    let mut padded = der.clone();
    padded.resize(der.len() + 100, 0);
    guest::write_nv_index(&mut vtpm, guest::AK_CERT_NV_INDEX, &padded).unwrap();
    assert_eq!(vtpm.ak_certificate().unwrap(), Some(der));
}

#[test]
fn the_simulator_is_gone_after_drop() {
    if !swtpm::available() {
        return;
    }
    let sim = Swtpm::start().unwrap();
    let pid = sim.pid();
    drop(sim);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "swtpm {pid} still runs"
    );
}
