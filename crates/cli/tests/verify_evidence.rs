//! The facade against every complete real evidence, and against synthetic evidence from the
//! test PKI for what no real sample shows (firmware identity, freshness, PCR policy).
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use hcl_parse::Generation;
use snp_verify::UnixTime;
use snp_vtpm::{
    Certificates, Check, ErrorKind, Evidence, EvidencePolicy, EvidenceVersion, ExpectedNonce,
    Verifier, VerifyOptions,
};
use snp_vtpm_testkit::azure::{SyntheticReport, TEST_FIRMWARE_ID_KEY_DIGEST, synthetic_evidence};
use snp_vtpm_testkit::pki::TestPki;

const TIME: UnixTime = UnixTime::from_secs(1_748_736_000);

use snp_vtpm_testkit::evidence::{RealEvidence as Sample, real_evidence as samples};

fn azure() -> Verifier {
    Verifier::new(EvidencePolicy::preset("azure-cvm").unwrap())
}

/// A sample's evidence, changed, under `azure-cvm` with its nonce at TIME.
fn verify_changed(
    sample: &Sample,
    evidence: &Evidence,
    certificates: &Certificates,
) -> Result<snp_vtpm::VerifiedEvidence, snp_vtpm::Error> {
    azure().verify(
        evidence,
        ExpectedNonce::Exactly(&sample.nonce),
        certificates,
        &VerifyOptions::at(TIME),
    )
}

#[test]
fn every_real_evidence_verifies_with_only_its_ask_or_no_chain_at_all() {
    // AMD's certificates shipped with snp-verify complete a chain that lacks its ARK (or is
    // missing): no download, and the pins still decide.
    for sample in samples() {
        let mut certificates = sample.certificates.clone();
        let mut evidence = sample.evidence.clone();
        let ask_only: Vec<Vec<u8>> = certificates
            .ca
            .iter()
            .chain(&evidence.cert_chain)
            .filter(|der| {
                !snp_vtpm::snp_verify::TrustAnchors::amd().holds_pinned_root([der.as_slice()])
            })
            .take(1)
            .cloned()
            .collect();
        for ca in [ask_only, Vec::new()] {
            certificates.ca = ca.clone();
            evidence.cert_chain.clear();
            verify_changed(&sample, &evidence, &certificates).unwrap_or_else(|e| {
                panic!("{} with {} CA certificates: {e}", sample.name, ca.len())
            });
        }
    }
}

#[test]
fn a_broken_or_foreign_carried_ask_does_not_matter_when_a_pinned_path_exists() {
    // Transport is never trust: a corrupted ASK, or another product's, beside the ARK is no
    // path; AMD's shipped chain is, and the verdict names the pinned root it used.
    for sample in samples() {
        let own_ark = sample
            .certificates
            .ca
            .iter()
            .chain(&sample.evidence.cert_chain)
            .find(|der| {
                snp_vtpm::snp_verify::TrustAnchors::amd().holds_pinned_root([der.as_slice()])
            })
            .cloned();
        let Some(ark) = own_ark else { continue };
        let mut broken_ask = snp_vtpm::snp_verify::shipped_amd_certificates()[1].clone();
        let middle = broken_ask.len() / 2;
        broken_ask[middle] ^= 1;
        let foreign_ask = snp_vtpm::snp_verify::shipped_amd_certificates()[4].clone();
        for ask in [broken_ask, foreign_ask] {
            let mut evidence = sample.evidence.clone();
            evidence.cert_chain.clear();
            let mut certificates = sample.certificates.clone();
            certificates.ca = vec![ask, ark.clone()];
            let verified = verify_changed(&sample, &evidence, &certificates)
                .unwrap_or_else(|e| panic!("{}: {e}", sample.name));
            assert!(verified.report().unwrap().amd_roots(), "{}", sample.name);
        }
    }
}

#[test]
fn another_products_ark_held_does_not_keep_the_shipped_chain_out() {
    let shipped = snp_vtpm::snp_verify::shipped_amd_certificates();
    for sample in samples() {
        // An ARK of another product than the sample's (Milan: 0, Genoa: 3).
        let other_ark = if sample.name.starts_with("genoa") {
            shipped[0].clone()
        } else {
            shipped[3].clone()
        };
        let mut evidence = sample.evidence.clone();
        evidence.cert_chain = vec![other_ark];
        let mut certificates = sample.certificates.clone();
        certificates.ca.clear();
        verify_changed(&sample, &evidence, &certificates)
            .unwrap_or_else(|e| panic!("{}: {e}", sample.name));
    }
}

#[test]
fn v0_evidence_carrying_native_fields_is_refused_not_trimmed() {
    let v0 = snp_vtpm_testkit::vectors::read("azure/milan-v3/evidence-v0.json");
    let mut json: serde_json::Value = serde_json::from_slice(&v0).unwrap();
    json["ak_cert"] = serde_json::Value::String("MAA".into());
    let e = Evidence::from_json(
        &serde_json::to_vec(&json).unwrap(),
        snp_vtpm::DEFAULT_SIZE_LIMIT,
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Input);
    assert!(e.to_string().contains("\"ak_cert\""), "{e}");
}

#[test]
fn every_shipped_amd_certificate_is_pinned_and_the_vectors_copy() {
    use sha2::Digest;
    let shipped = snp_vtpm::snp_verify::shipped_amd_certificates();
    assert_eq!(shipped.len(), snp_vtpm::snp_verify::AMD_PINS.len());
    for ((file, _), der) in snp_vtpm::snp_verify::SHIPPED_AMD_CERTIFICATES
        .iter()
        .zip(&shipped)
    {
        let hash: [u8; 32] = sha2::Sha256::digest(der).into();
        assert!(
            snp_vtpm::snp_verify::AMD_PINS
                .iter()
                .any(|pin| pin.sha256 == hash),
            "{file} is not pinned"
        );
        let (product, role) = file.trim_end_matches(".pem").split_once('-').unwrap();
        assert_eq!(
            der,
            &snp_vtpm_testkit::vectors::read_pem(&format!("amd/{product}/{role}.pem"))[0],
            "{file}"
        );
    }
}

#[test]
fn every_complete_real_evidence_verifies_with_the_default_policy() {
    for sample in samples() {
        let verified = azure()
            .verify(
                &sample.evidence,
                ExpectedNonce::Exactly(&sample.nonce),
                &sample.certificates,
                &VerifyOptions::at(TIME),
            )
            .unwrap_or_else(|e| panic!("{}: {e}", sample.name));
        assert!(verified.report().unwrap().amd_roots(), "{}", sample.name);
        assert_eq!(verified.quote().nonce(), sample.nonce.as_slice());
        assert!(
            verified.firmware().unwrap().id_key_allowed
                && verified.firmware().unwrap().vmpl_ok
                && verified.firmware().unwrap().host_data_ok
        );
        assert!(!verified.firmware().unwrap().unknown_firmware_allowed);
        let json = serde_json::to_value(&verified).unwrap();
        assert_eq!(json["report"]["vmpl"], 0, "{}", sample.name);
        let skipped: Vec<Check> = verified
            .checks()
            .iter()
            .filter(|c| c.outcome == snp_vtpm::Outcome::Skipped)
            .map(|c| c.check)
            .collect();
        // No real SNP evidence carries an AK certificate: its absence is recorded, not hidden.
        assert_eq!(
            skipped,
            [
                Check::AkCertificate,
                Check::EventLog,
                Check::ReportFreshness,
                Check::Revocation
            ],
            "{}",
            sample.name
        );
        assert_eq!(json["ak_certificate"]["status"], "absent");
    }
}

#[test]
fn freshness_is_the_verifiers_choice() {
    let samples = samples();
    let options = VerifyOptions {
        require_fresh_report: true,
        ..VerifyOptions::at(TIME)
    };
    let v2 = &samples[2];
    let verified = azure()
        .verify(
            &v2.evidence,
            ExpectedNonce::Exactly(&v2.nonce),
            &v2.certificates,
            &options,
        )
        .unwrap();
    assert!(verified.report_bound_to_nonce());
    for sample in [&samples[0], &samples[1], &samples[3]] {
        let err = azure()
            .verify(
                &sample.evidence,
                ExpectedNonce::Exactly(&sample.nonce),
                &sample.certificates,
                &options,
            )
            .unwrap_err();
        assert_eq!(
            (err.check(), err.kind()),
            (Check::ReportFreshness, ErrorKind::Verification),
            "{}: {err}",
            sample.name
        );
    }
    // v2 evidence relabelled v1 is not fresh either.
    let mut relabelled = v2.evidence.clone();
    relabelled.version = EvidenceVersion::V1;
    let err = azure()
        .verify(
            &relabelled,
            ExpectedNonce::Exactly(&v2.nonce),
            &v2.certificates,
            &options,
        )
        .unwrap_err();
    assert_eq!(err.check(), Check::ReportFreshness);
}

#[test]
fn wrong_or_missing_nonce() {
    let sample = &samples()[1];
    let err = azure()
        .verify(
            &sample.evidence,
            ExpectedNonce::Exactly(b"challengf"),
            &sample.certificates,
            &VerifyOptions::at(TIME),
        )
        .unwrap_err();
    assert_eq!(
        (err.check(), err.kind()),
        (Check::Nonce, ErrorKind::Verification),
        "{err}"
    );
    let verified = azure()
        .verify(
            &sample.evidence,
            ExpectedNonce::NotChecked,
            &sample.certificates,
            &VerifyOptions::at(TIME),
        )
        .unwrap();
    assert!(!verified.nonce_checked());
    assert!(
        verified
            .checks()
            .iter()
            .any(|c| c.check == Check::Nonce && c.outcome == snp_vtpm::Outcome::Skipped)
    );
}

#[test]
fn a_swapped_vcek_and_flipped_bytes_fail_with_their_check() {
    let samples = samples();
    let options = VerifyOptions::at(TIME);
    let verify = |evidence: &Evidence, sample: &Sample| {
        azure()
            .verify(
                evidence,
                ExpectedNonce::Exactly(&sample.nonce),
                &sample.certificates,
                &options,
            )
            .unwrap_err()
    };
    let (milan_v2, milan_v3) = (&samples[0], &samples[1]);
    let swapped = Evidence {
        vcek: milan_v3.evidence.vcek.clone(),
        ..milan_v2.evidence.clone()
    };
    assert_eq!(verify(&swapped, milan_v2).check(), Check::VcekBinding);

    type Mutation = Box<dyn Fn(&mut Evidence)>;
    let cases: [(&str, Mutation, Check, ErrorKind); 8] = [
        (
            "report signature",
            Box::new(|e| e.hcl_report[0x20 + 0x2A0] ^= 1),
            Check::ReportSignature,
            ErrorKind::Verification,
        ),
        (
            "report measurement",
            Box::new(|e| e.hcl_report[0x20 + 0x90] ^= 1),
            Check::ReportSignature,
            ErrorKind::Verification,
        ),
        (
            "runtime claims",
            Box::new(|e| {
                let i = 0x4D4 + 20;
                e.hcl_report[i] ^= 1
            }),
            Check::ReportDataBinding,
            ErrorKind::Verification,
        ),
        (
            "HCL magic",
            Box::new(|e| e.hcl_report[0] ^= 1),
            Check::Input,
            ErrorKind::Input,
        ),
        (
            "quote message",
            Box::new(|e| {
                let last = e.quote.message.len() - 1;
                e.quote.message[last] ^= 1
            }),
            Check::QuoteSignature,
            ErrorKind::Verification,
        ),
        (
            "quote signature",
            Box::new(|e| e.quote.signature[9] ^= 1),
            Check::QuoteSignature,
            ErrorKind::Verification,
        ),
        (
            "PCR value",
            Box::new(|e| e.quote.pcrs[4][0] ^= 1),
            Check::PcrDigest,
            ErrorKind::Verification,
        ),
        (
            "VCEK",
            Box::new(|e| {
                if let Some(v) = e.vcek.as_mut() {
                    let i = v.len() - 10;
                    v[i] ^= 1
                }
            }),
            Check::Chain,
            ErrorKind::Verification,
        ),
    ];
    for (what, mutate, check, code) in cases {
        let mut evidence = milan_v3.evidence.clone();
        mutate(&mut evidence);
        let err = verify(&evidence, milan_v3);
        assert_eq!((err.check(), err.kind()), (check, code), "{what}: {err}");
    }
}

#[test]
fn policy_violations_exit_3() {
    let sample = &samples()[1];
    let mut policy = EvidencePolicy::preset("azure-cvm").unwrap();
    policy.pcrs.expected.insert(
        7,
        snp_vtpm::PcrValues::one(hcl_parse::HexBytes(vec![0; 32])),
    );
    let err = Verifier::new(policy)
        .verify(
            &sample.evidence,
            ExpectedNonce::Exactly(&sample.nonce),
            &sample.certificates,
            &VerifyOptions::at(TIME),
        )
        .unwrap_err();
    assert_eq!(
        (err.check(), err.kind()),
        (Check::Policy, ErrorKind::Policy),
        "{err}"
    );
    let mut policy = EvidencePolicy::preset("azure-cvm").unwrap();
    policy.vm_configuration.console_enabled = Some(false);
    let err = Verifier::new(policy)
        .verify(
            &sample.evidence,
            ExpectedNonce::Exactly(&sample.nonce),
            &sample.certificates,
            &VerifyOptions::at(TIME),
        )
        .unwrap_err();
    assert!(err.message().contains("console-enabled"), "{err}");
    assert_eq!(err.kind(), ErrorKind::Policy);
}

#[test]
fn a_missing_vcek_is_unavailable() {
    // The chain is shipped; the VCEK is the chip's own and must come with the evidence, a
    // file or a fetch.
    let sample = &samples()[1];
    let mut evidence = sample.evidence.clone();
    evidence.vcek = None;
    let err = azure()
        .verify(
            &evidence,
            ExpectedNonce::Exactly(&sample.nonce),
            &Certificates::default(),
            &VerifyOptions::at(TIME),
        )
        .unwrap_err();
    assert_eq!(
        (err.check(), err.kind()),
        (Check::Certificates, ErrorKind::Unavailable),
        "{err}"
    );
    assert!(
        matches!(err, snp_vtpm::Error::Missing(snp_vtpm::Missing::Leaf)),
        "{err}"
    );
}

// --- Firmware identity, on synthetic evidence from the test PKI. ---

fn synthetic(report: SyntheticReport) -> (Evidence, Certificates, Vec<u8>) {
    let pki = TestPki::shared();
    let made = synthetic_evidence(pki, &report, b"fresh nonce 123", true);
    let evidence = Evidence::from_json(&made.json, snp_vtpm::DEFAULT_SIZE_LIMIT).unwrap();
    let mut certificates = Certificates::default();
    certificates.add_file(made.chain_pem.as_bytes()).unwrap();
    (evidence, certificates, made.nonce)
}

fn test_pki_verifier(policy: EvidencePolicy) -> Verifier {
    Verifier::with_anchors(TestPki::shared().trust_anchors(), policy)
}

fn test_firmware_policy() -> EvidencePolicy {
    EvidencePolicy::from_document(
        serde_json::json!({ "report": { "allowed_id_key_digests": [hex::encode(TEST_FIRMWARE_ID_KEY_DIGEST)] } }),
        "azure-cvm",
    )
    .unwrap()
}

#[test]
fn unknown_firmware_is_refused_by_default_and_named() {
    let base = SyntheticReport::new(&[], [0; 64]);
    let (evidence, certificates, nonce) = synthetic(base.clone());
    let options = VerifyOptions::at(TIME);
    let err = test_pki_verifier(EvidencePolicy::preset("azure-cvm").unwrap())
        .verify(
            &evidence,
            ExpectedNonce::Exactly(&nonce),
            &certificates,
            &options,
        )
        .unwrap_err();
    assert_eq!(
        (err.check(), err.kind()),
        (Check::FirmwareIdentity, ErrorKind::Policy),
        "{err}"
    );
    assert!(
        err.message().contains("invent runtime claims"),
        "names the threat: {err}"
    );
    assert!(
        err.message()
            .contains(&hex::encode(TEST_FIRMWARE_ID_KEY_DIGEST)),
        "prints the digest: {err}"
    );
    assert!(
        err.message().contains("firmware catalog"),
        "says how to configure: {err}"
    );

    // A policy that adds the digest makes it pass.
    let verified = test_pki_verifier(test_firmware_policy())
        .verify(
            &evidence,
            ExpectedNonce::Exactly(&nonce),
            &certificates,
            &options,
        )
        .unwrap();
    assert!(!verified.report().unwrap().amd_roots());
    assert!(verified.report_bound_to_nonce());

    // VMPL 2 and a container host's host_data are refused even with the digest allowed.
    for (report, problem) in [
        (
            SyntheticReport {
                vmpl: 2,
                ..base.clone()
            },
            "VMPL 0",
        ),
        (
            SyntheticReport {
                host_data: [0x99; 32],
                ..base.clone()
            },
            "host_data",
        ),
    ] {
        let (evidence, certificates, nonce) = synthetic(report);
        let err = test_pki_verifier(test_firmware_policy())
            .verify(
                &evidence,
                ExpectedNonce::Exactly(&nonce),
                &certificates,
                &options,
            )
            .unwrap_err();
        assert_eq!(err.check(), Check::FirmwareIdentity, "{err}");
        assert!(err.message().contains(problem), "{problem}: {err}");
    }

    // The explicit opt-out accepts all three and the verdict says so.
    let opt_out = VerifyOptions {
        allow_unknown_firmware: true,
        ..options
    };
    for report in [
        base.clone(),
        SyntheticReport {
            vmpl: 2,
            ..base.clone()
        },
        SyntheticReport {
            host_data: [0x99; 32],
            ..base
        },
    ] {
        let (evidence, certificates, nonce) = synthetic(report);
        let verified = test_pki_verifier(EvidencePolicy::preset("azure-cvm").unwrap())
            .verify(
                &evidence,
                ExpectedNonce::Exactly(&nonce),
                &certificates,
                &opt_out,
            )
            .unwrap();
        assert!(verified.firmware().unwrap().unknown_firmware_allowed);
        assert!(
            verified
                .checks()
                .iter()
                .any(|c| c.check == Check::FirmwareIdentity
                    && c.outcome == snp_vtpm::Outcome::Skipped)
        );
    }
}

#[test]
fn a_replaced_policy_without_firmware_identity_still_refuses() {
    let (evidence, certificates, nonce) = synthetic(SyntheticReport::new(&[], [0; 64]));
    let policy =
        EvidencePolicy::from_document(serde_json::json!({ "replace": true }), "azure-cvm").unwrap();
    let err = test_pki_verifier(policy)
        .verify(
            &evidence,
            ExpectedNonce::Exactly(&nonce),
            &certificates,
            &VerifyOptions::at(TIME),
        )
        .unwrap_err();
    assert_eq!(err.check(), Check::FirmwareIdentity, "{err}");
}

#[test]
fn synthetic_evidence_round_trips_through_the_native_format() {
    let (evidence, _, _) = synthetic(SyntheticReport {
        generation: Generation::Genoa,
        ..SyntheticReport::new(&[], [0; 64])
    });
    assert_eq!(evidence.version, EvidenceVersion::V2);
    let again = Evidence::from_json(&evidence.to_json(), snp_vtpm::DEFAULT_SIZE_LIMIT).unwrap();
    assert_eq!(again, evidence);
    let unfresh = Evidence {
        version: EvidenceVersion::V1,
        ..evidence
    };
    let text = String::from_utf8(unfresh.to_json()).unwrap();
    assert!(text.contains("\"version\": 1"));
    assert!(
        Evidence::from_json(br#"{"version": 3}"#, 1024)
            .unwrap_err()
            .message()
            .contains("unknown evidence version 3")
    );
    assert!(
        Evidence::from_json(&vec![b' '; 2000], 1024)
            .unwrap_err()
            .message()
            .contains("limit")
    );
}

/// `Verifier::verify_hcl_report` (what `snp-vtpm report` runs): an HCL report on its own, its
/// SNP report under the chain and its runtime claims bound, through the same stages as
/// evidence.
#[test]
fn an_hcl_report_on_its_own_verifies_through_the_verifier() {
    for sample in samples() {
        let mut certificates = sample.certificates.clone();
        if let Some(vcek) = &sample.evidence.vcek {
            certificates.leaves.push(vcek.clone());
        }
        let verified = azure()
            .verify_hcl_report(
                &sample.evidence.hcl_report,
                &certificates,
                &VerifyOptions::at(TIME),
            )
            .unwrap_or_else(|e| panic!("{}: {e}", sample.name));
        assert_eq!(verified.product(), sample.generation, "{}", sample.name);

        // Claims that are not the ones report_data binds: refused by that check.
        let mut altered = sample.evidence.hcl_report.clone();
        altered[0x4D4 + 20] ^= 1;
        let err = azure()
            .verify_hcl_report(&altered, &certificates, &VerifyOptions::at(TIME))
            .unwrap_err();
        assert_eq!(
            (err.check(), err.kind()),
            (Check::ReportDataBinding, ErrorKind::Verification),
            "{}: {err}",
            sample.name
        );
    }
    let tdx = snp_vtpm_testkit::vectors::read("azure/tdx/hcl-report-tdx.bin");
    let err = azure()
        .verify_hcl_report(&tdx, &samples()[0].certificates, &VerifyOptions::at(TIME))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Input, "{err}");
}
