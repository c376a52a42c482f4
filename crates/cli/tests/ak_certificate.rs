//! The AK certificate stage of `Verifier::verify`: synthetic Azure evidence (test PKI, software
//! AK) carrying AK certificates from a test vTPM CA, and the real certificates of the vectors.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use snp_vtpm::snp_verify::UnixTime;
use snp_vtpm::vtpm_akcert::VtpmAnchors;
use snp_vtpm::{
    AkCertificateClaims, Certificates, Check, Error, ErrorKind, Evidence, EvidencePolicy,
    ExpectedNonce, Outcome, VerifiedEvidence, Verifier, VerifyOptions,
};
use snp_vtpm_testkit::azure::{
    SoftwareAk, SyntheticReport, TEST_FIRMWARE_ID_KEY_DIGEST, synthetic_evidence,
};
use snp_vtpm_testkit::pki::TestPki;
use snp_vtpm_testkit::pki::vtpm::{CertSpec, EKU_TCG_AIK, VtpmPki, key};
use snp_vtpm_testkit::vectors;

const TIME: UnixTime = UnixTime::from_secs(1_748_736_000);

/// Synthetic evidence (the software AK) carrying `certificate` and `chain`.
fn evidence_with(
    certificate: Option<Vec<u8>>,
    chain: Vec<Vec<u8>>,
) -> (Evidence, Certificates, Vec<u8>) {
    let made = synthetic_evidence(
        TestPki::shared(),
        &SyntheticReport::new(&[], [0; 64]),
        b"ak certificate nonce",
        true,
    );
    let mut evidence = Evidence::from_json(&made.json, snp_vtpm::DEFAULT_SIZE_LIMIT).unwrap();
    evidence.ak_certificate = certificate;
    evidence.ak_cert_chain = chain;
    let mut certificates = Certificates::default();
    certificates.add_file(made.chain_pem.as_bytes()).unwrap();
    (evidence, certificates, made.nonce)
}

/// The test firmware allowed, `ak_certificate` as given, the test vTPM root pinned.
fn verifier(rule: &str) -> Verifier {
    let policy = EvidencePolicy::from_document(
        serde_json::json!({
            "report": { "allowed_id_key_digests": [hex::encode(TEST_FIRMWARE_ID_KEY_DIGEST)] },
            "ak_certificate": rule,
        }),
        "azure-cvm",
    )
    .unwrap();
    Verifier::with_anchors(TestPki::shared().trust_anchors(), policy)
        .with_vtpm_anchors(VtpmAnchors::test_root(&VtpmPki::shared().root))
}

fn verify(
    verifier: &Verifier,
    certificate: Option<Vec<u8>>,
    chain: Vec<Vec<u8>>,
) -> Result<VerifiedEvidence, Error> {
    let (evidence, certificates, nonce) = evidence_with(certificate, chain);
    verifier.verify(
        &evidence,
        ExpectedNonce::Exactly(&nonce),
        &certificates,
        &VerifyOptions::at(TIME),
    )
}

fn outcome(verified: &VerifiedEvidence) -> Outcome {
    verified
        .checks()
        .iter()
        .find(|c| c.check == Check::AkCertificate)
        .map(|c| c.outcome)
        .expect("the AK certificate check is recorded")
}

fn certificate_for_the_software_ak(spec: &CertSpec) -> Vec<u8> {
    VtpmPki::shared().issue(spec, &SoftwareAk::shared().public_key())
}

#[test]
fn a_certificate_for_the_quote_key_verifies_and_names_the_vm() {
    let pki = VtpmPki::shared();
    let leaf = certificate_for_the_software_ak(&CertSpec::ak("0123456789ab"));
    for rule in ["if-present", "required"] {
        let verified = verify(
            &verifier(rule),
            Some(leaf.clone()),
            vec![pki.intermediate.clone()],
        )
        .unwrap_or_else(|e| panic!("{rule}: {e}"));
        assert_eq!(outcome(&verified), Outcome::Passed);
        let AkCertificateClaims::Verified(certificate) = verified.ak_certificate() else {
            panic!("{rule}: {:?}", verified.ak_certificate());
        };
        assert_eq!(certificate.vm_id(), Some("0123456789ab"));
        assert!(
            certificate.under_test_root(),
            "the verdict says a test root was used"
        );
        let json = serde_json::to_value(&verified).unwrap();
        assert_eq!(json["ak_certificate"]["status"], "verified");
        assert_eq!(json["ak_certificate"]["vm_id"], "0123456789ab");
        assert_eq!(json["ak_certificate"]["under_test_root"], true);
    }
}

#[test]
fn a_certificate_for_another_key_is_refused_under_if_present_and_required() {
    // A valid certificate, but of a key that did not sign the quote (the Trusted Launch attack:
    // a key made in the guest signs, the certified one does not).
    let other = key(0x77).to_public_key();
    let leaf = VtpmPki::shared().issue(&CertSpec::ak("0123456789ab"), &other);
    for rule in ["if-present", "required"] {
        let e = verify(
            &verifier(rule),
            Some(leaf.clone()),
            vec![VtpmPki::shared().intermediate.clone()],
        )
        .unwrap_err();
        assert!(matches!(e, Error::AkCertificateKey { .. }), "{rule}: {e}");
        assert_eq!(
            (e.check(), e.kind()),
            (Check::AkCertificate, ErrorKind::Verification)
        );
    }
}

#[test]
fn absence_is_a_policy_failure_only_when_required_and_always_recorded() {
    let e = verify(&verifier("required"), None, Vec::new()).unwrap_err();
    assert_eq!(
        (e.check(), e.kind()),
        (Check::AkCertificate, ErrorKind::Policy),
        "{e}"
    );
    let verified = verify(&verifier("if-present"), None, Vec::new()).unwrap();
    assert_eq!(outcome(&verified), Outcome::Skipped);
    assert_eq!(verified.ak_certificate(), &AkCertificateClaims::Absent);
    // Ignored: not even a broken certificate is looked at, and that is recorded.
    let verified = verify(
        &verifier("ignored"),
        Some(b"not a certificate".to_vec()),
        Vec::new(),
    )
    .unwrap();
    assert_eq!(outcome(&verified), Outcome::Skipped);
    assert_eq!(verified.ak_certificate(), &AkCertificateClaims::Ignored);
    // The strict preset is azure-cvm with the certificate required, nothing else.
    let strict = EvidencePolicy::preset("azure-cvm-strict").unwrap();
    let azure = EvidencePolicy::preset("azure-cvm").unwrap();
    assert_eq!(
        strict,
        EvidencePolicy {
            ak_certificate: snp_vtpm::AkCertificateRule::Required,
            ..azure
        }
    );
}

#[test]
fn each_broken_certificate_fails_with_its_own_class() {
    let pki = VtpmPki::shared();
    let carried = || vec![pki.intermediate.clone()];
    // (name, certificate, carried chain, class, message)
    type Case = (
        &'static str,
        Option<Vec<u8>>,
        Vec<Vec<u8>>,
        ErrorKind,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "garbage",
            Some(b"\x30\x03\x02\x01".to_vec()),
            carried(),
            ErrorKind::Input,
            "not a DER X.509 certificate",
        ),
        (
            "issuer neither carried nor shipped",
            Some(certificate_for_the_software_ak(&CertSpec::ak("a"))),
            Vec::new(),
            ErrorKind::Unavailable,
            "neither in the evidence nor shipped",
        ),
        (
            "expired",
            Some(certificate_for_the_software_ak(&CertSpec {
                validity: (1_600_000_000, 1_700_000_000),
                ..CertSpec::ak("a")
            })),
            carried(),
            ErrorKind::Verification,
            "expected validity to include",
        ),
        (
            "no AK purpose",
            Some(certificate_for_the_software_ak(&CertSpec {
                extended_key_usage: Some(vec!["1.3.6.1.5.5.7.3.2".into()]),
                ..CertSpec::ak("a")
            })),
            carried(),
            ErrorKind::Verification,
            "expected 2.23.133.8.3 or 1.3.6.1.4.1.311.10.3.12",
        ),
        (
            "a CA as the leaf",
            Some(certificate_for_the_software_ak(&CertSpec {
                basic_constraints: Some((true, None)),
                ..CertSpec::ak("a")
            })),
            carried(),
            ErrorKind::Verification,
            "expected cA FALSE",
        ),
        (
            "unknown critical extension",
            Some(certificate_for_the_software_ak(&CertSpec {
                extra: vec![("1.2.3.4".into(), true, vec![0x05, 0x00])],
                ..CertSpec::ak("a")
            })),
            carried(),
            ErrorKind::Verification,
            "unknown critical extension 1.2.3.4",
        ),
    ];
    for (name, certificate, chain, kind, message) in cases {
        let e = verify(&verifier("if-present"), certificate, chain).unwrap_err();
        assert_eq!(
            (e.check(), e.kind()),
            (Check::AkCertificate, kind),
            "{name}: {e}"
        );
        assert!(e.to_string().contains(message), "{name}: {e}");
    }
    // Only the TCG purpose is enough too.
    let tcg_only = certificate_for_the_software_ak(&CertSpec {
        extended_key_usage: Some(vec![EKU_TCG_AIK.into()]),
        ..CertSpec::ak("a")
    });
    verify(&verifier("if-present"), Some(tcg_only), carried()).unwrap();
}

#[test]
fn a_ca_false_intermediate_or_an_exceeded_path_length_is_refused() {
    let pki = VtpmPki::shared();
    let leaf = certificate_for_the_software_ak(&CertSpec::ak("a"));
    let (not_a_ca, _) = pki.intermediate_with(&CertSpec {
        basic_constraints: Some((false, None)),
        ..CertSpec::ca(snp_vtpm_testkit::pki::vtpm::INTERMEDIATE_CN, None)
    });
    let e = verify(&verifier("if-present"), Some(leaf.clone()), vec![not_a_ca]).unwrap_err();
    assert!(e.to_string().contains("is not a CA"), "{e}");
    // A second intermediate below one with pathLenConstraint 0.
    let (_, intermediate_key) = pki.intermediate_with(&CertSpec::ca("x", None));
    let lower_key = key(0x53);
    let lower = VtpmPki::sign(
        &CertSpec::ca("Test Lower CA", None),
        snp_vtpm_testkit::pki::vtpm::INTERMEDIATE_CN,
        intermediate_key,
        &lower_key.to_public_key(),
    );
    let leaf_below = VtpmPki::sign(
        &CertSpec::ak("a"),
        "Test Lower CA",
        &lower_key,
        &SoftwareAk::shared().public_key(),
    );
    let e = verify(
        &verifier("if-present"),
        Some(leaf_below),
        vec![lower, pki.intermediate.clone()],
    )
    .unwrap_err();
    assert!(e.to_string().contains("pathLenConstraint 0"), "{e}");
}

#[test]
fn a_real_azure_certificate_does_not_certify_a_synthetic_ak() {
    // The TDX VM's certificate chains under the shipped intermediates and Azure's pinned root
    // (at a time inside its validity), but certifies that VM's key, not this evidence's.
    let policy = EvidencePolicy::from_document(
        serde_json::json!({
            "report": { "allowed_id_key_digests": [hex::encode(TEST_FIRMWARE_ID_KEY_DIGEST)] },
        }),
        "azure-cvm",
    )
    .unwrap();
    let verifier = Verifier::with_anchors(TestPki::shared().trust_anchors(), policy);
    let (evidence, certificates, nonce) = evidence_with(
        Some(vectors::read("azure/tdx-vm1/ak-cert-nv-padded.bin")),
        Vec::new(),
    );
    let mut options = VerifyOptions::at(UnixTime::from_secs(1_771_423_480));
    options.require_crl = false;
    let e = verifier
        .verify(
            &evidence,
            ExpectedNonce::Exactly(&nonce),
            &certificates,
            &options,
        )
        .unwrap_err();
    assert!(matches!(e, Error::AkCertificateKey { .. }), "{e}");
    assert!(e.to_string().contains("353c6d9a70bc.ConfidentialVM"), "{e}");
}

#[test]
fn a_failing_copy_of_an_intermediate_does_not_hide_one_that_verifies() {
    // Path discovery tries every candidate: an expired copy of the intermediate (same name and
    // key) carried first does not stop the valid one after it.
    let pki = VtpmPki::shared();
    let (expired, _) = pki.intermediate_with(&CertSpec {
        validity: (1_600_000_000, 1_700_000_000),
        ..CertSpec::ca(snp_vtpm_testkit::pki::vtpm::INTERMEDIATE_CN, Some(0))
    });
    let leaf = certificate_for_the_software_ak(&CertSpec::ak("0123456789ab"));
    let verified = verify(
        &verifier("if-present"),
        Some(leaf.clone()),
        vec![expired.clone(), pki.intermediate.clone()],
    )
    .unwrap();
    assert_eq!(outcome(&verified), Outcome::Passed);
    // Alone, the expired copy is refused for its validity.
    let e = verify(&verifier("if-present"), Some(leaf), vec![expired]).unwrap_err();
    assert!(
        e.to_string().contains("expected validity to include"),
        "{e}"
    );
}
