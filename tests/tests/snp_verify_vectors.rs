//! snp-verify against the real vectors: every report with its VCEK verifies under the pinned
//! AMD roots; the wrong certificate, a flipped byte or an expired certificate is refused with
//! the specific error; the verdicts agree with the `sev` crate's pure-Rust verification.

use hcl_parse::{Generation, HclReport, SnpReport};
use snp_verify::{
    CertRole, Error, ErrorKind, Policy, PolicyCheck, ReportOptions, RevocationStatus, TrustAnchors,
    UnixTime, VerifiedCaChain, verify_report,
};
use snp_vtpm_testkit::vectors::{self, SnpSample};

/// 2025-06-01T00:00:00Z: every real certificate here is valid then.
const TIME: UnixTime = UnixTime::from_secs(1_748_736_000);

fn verify(
    sample: &SnpSample,
    report: &[u8],
    policy: &Policy,
) -> Result<snp_verify::VerifiedReport, Error> {
    let report = SnpReport::from_bytes(report)?;
    let ca: Vec<&[u8]> = sample.ca.iter().map(Vec::as_slice).collect();
    verify_report(
        &TrustAnchors::amd(),
        &report,
        &sample.vcek,
        &ca,
        &ReportOptions::at(TIME),
        policy,
    )
}

fn policy_for(sample: &SnpSample) -> Policy {
    if sample.azure {
        vectors::azure_report_policy()
    } else {
        Policy::snp_default()
    }
}

#[test]
fn every_amd_chain_verifies_under_the_pins() {
    for product in ["milan", "genoa", "turin"] {
        let ark = vectors::read_pem(&format!("amd/{product}/ark.pem")).swap_remove(0);
        for (file, role) in [("ask", CertRole::Ask), ("asvk", CertRole::Asvk)] {
            let intermediate =
                vectors::read_pem(&format!("amd/{product}/{file}.pem")).swap_remove(0);
            let chain = VerifiedCaChain::verify(&TrustAnchors::amd(), &ark, &intermediate, TIME)
                .unwrap_or_else(|e| panic!("{product} {file}: {e}"));
            assert_eq!(chain.intermediate_role(), role);
            assert_eq!(chain.generation().name().to_ascii_lowercase(), product);
            assert!(chain.intermediate_pinned());
            // The signatures the pins stand in for: the ARK's own and the intermediate's.
            let audited = VerifiedCaChain::verify_every_signature(
                &TrustAnchors::amd(),
                &ark,
                &intermediate,
                TIME,
            )
            .unwrap_or_else(|e| panic!("{product} {file}, every signature: {e}"));
            assert_eq!(audited.intermediate_role(), role);
            // Pinning only the roots makes the intermediate's signature the only trust path.
            let unpinned = VerifiedCaChain::verify(&roots_only(), &ark, &intermediate, TIME)
                .unwrap_or_else(|e| panic!("{product} {file} under the roots only: {e}"));
            assert!(!unpinned.intermediate_pinned());
        }
    }
}

/// AMD's ARK pins without the ASK and ASVK pins.
fn roots_only() -> TrustAnchors {
    TrustAnchors::caller_supplied_not_amd(
        snp_verify::AMD_PINS
            .into_iter()
            .filter(|pin| pin.role == CertRole::Ark),
    )
}

#[test]
fn a_pinned_root_or_intermediate_with_a_damaged_signature_is_no_longer_pinned() {
    // A pin covers every byte, the signature included: flipping a signature bit makes the
    // certificate a stranger, never a pinned certificate whose signature went unchecked.
    let ark = vectors::read_pem("amd/milan/ark.pem").swap_remove(0);
    let ask = vectors::read_pem("amd/milan/ask.pem").swap_remove(0);
    let mut bad_ark = ark.clone();
    let last = bad_ark.len() - 1;
    bad_ark[last] ^= 1;
    assert!(matches!(
        VerifiedCaChain::verify(&TrustAnchors::amd(), &bad_ark, &ask, TIME),
        Err(Error::UntrustedRoot { .. })
    ));
    let mut bad_ask = ask.clone();
    let last = bad_ask.len() - 1;
    bad_ask[last] ^= 1;
    let err = VerifiedCaChain::verify(&TrustAnchors::amd(), &ark, &bad_ask, TIME).unwrap_err();
    assert!(
        matches!(
            err,
            Error::BadCertificateSignature {
                role: CertRole::Ask,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn every_real_report_verifies_end_to_end() {
    let samples = vectors::snp_samples();
    assert_eq!(samples.len(), 5);
    for sample in &samples {
        let verified = verify(sample, &sample.report, &policy_for(sample))
            .unwrap_or_else(|e| panic!("{}: {e}", sample.name));
        assert_eq!(
            verified.product(),
            Generation::from_product_name(sample.product).unwrap(),
            "{}",
            sample.name
        );
        assert_eq!(verified.signing_key(), CertRole::Vcek);
        assert_eq!(verified.revocation(), RevocationStatus::NotChecked);
        assert!(verified.amd_roots());
        assert_eq!(
            verified.report_data(),
            SnpReport::from_bytes(&sample.report).unwrap().report_data()
        );
        let json = serde_json::to_value(&verified).unwrap();
        assert_eq!(json["product"], sample.product, "{}", sample.name);
    }
}

#[test]
fn turin_vcek_chains_and_its_extensions_decode() {
    let ca = vectors::read_pem("snp/turin/cert_chain_turin");
    let ca: Vec<&[u8]> = ca.iter().map(Vec::as_slice).collect();
    let chain =
        VerifiedCaChain::from_candidates(&TrustAnchors::amd(), &ca, CertRole::Ask, TIME).unwrap();
    assert_eq!(chain.generation(), Generation::Turin);
    let leaf = chain
        .verify_leaf(&vectors::read("snp/turin/vcek_turin.der"), TIME)
        .unwrap();
    let ext = leaf.extensions();
    assert_eq!(ext.struct_version, Some(1));
    assert_eq!(ext.product_name, "Turin");
    assert!(ext.tcb.fmc.is_some());
    assert_eq!(ext.hw_id.as_ref().map(Vec::len), Some(8));
}

#[test]
fn vcek_of_another_chip_is_named_as_such() {
    // milan-2023: certs.pem chains to the Milan ARK, its VCEK is of another chip, same TCB.
    let hcl = vectors::read("azure/milan-2023/hcl-report-snp.bin");
    let hcl = HclReport::parse(&hcl).unwrap();
    let report = hcl.snp_report().unwrap();
    let certs = vectors::read_pem("azure/milan-2023/certs.pem");
    let ca: Vec<&[u8]> = certs[1..].iter().map(Vec::as_slice).collect();
    let err = verify_report(
        &TrustAnchors::amd(),
        &report,
        &certs[0],
        &ca,
        &ReportOptions::at(TIME),
        &Policy::snp_default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::HwIdMismatch { .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::Cryptographic);
    assert!(err.to_string().contains("another chip"), "{err}");
}

#[test]
fn the_vcek_of_one_sample_does_not_verify_another() {
    let samples = vectors::snp_samples();
    let (milan_v2, milan_v3) = (&samples[0], &samples[1]);
    let swapped = SnpSample {
        vcek: milan_v3.vcek.clone(),
        ..milan_v2.clone()
    };
    let err = verify(&swapped, &swapped.report, &Policy::snp_default()).unwrap_err();
    assert!(
        matches!(err, Error::HwIdMismatch { .. } | Error::TcbMismatch { .. }),
        "{err}"
    );
    let genoa_with_milan_chain = SnpSample {
        ca: milan_v2.ca.clone(),
        ..samples[3].clone()
    };
    let err = verify(
        &genoa_with_milan_chain,
        &genoa_with_milan_chain.report,
        &Policy::snp_default(),
    )
    .unwrap_err();
    // The chain is chosen by the leaf's issuer: Milan's chain has no ASK named SEV-Genoa.
    assert!(
        matches!(
            &err,
            Error::UnexpectedCertificateContent {
                role: CertRole::Ask,
                reason,
            } if reason.contains("SEV-Genoa") && reason.contains("the leaf's issuer")
        ),
        "{err}"
    );
}

#[test]
fn flipped_bytes_are_refused_with_the_specific_error() {
    let sample = &vectors::snp_samples()[0];
    let policy = vectors::azure_report_policy();
    let flip = |offset: usize, mask: u8| {
        let mut report = sample.report.clone();
        report[offset] ^= mask;
        verify(sample, &report, &policy).unwrap_err()
    };
    // Signature bytes (R and S) and signed bytes (measurement, report_data, guest SVN).
    for offset in [0x2A0, 0x2C0, 0x2E8, 0x300, 0x90, 0x50, 0x4] {
        assert_eq!(
            flip(offset, 0x01),
            Error::BadReportSignature(CertRole::Vcek),
            "offset {offset:#x}"
        );
    }
    // Padding of R and S.
    assert!(matches!(
        flip(0x2A0 + 50, 1),
        Error::SignaturePadding { component: "R", .. }
    ));
    assert!(matches!(
        flip(0x2E8 + 71, 1),
        Error::SignaturePadding { component: "S", .. }
    ));
    // Signature algorithm.
    assert_eq!(
        flip(0x34, 0x02),
        Error::ReportSignatureAlgorithm { found: 3 }
    );
    // Reported TCB (bootloader SPL) and chip id are bound before the signature.
    assert!(matches!(
        flip(0x180, 0x01),
        Error::TcbMismatch {
            component: "blSPL",
            ..
        }
    ));
    assert!(matches!(flip(0x1A0, 0x01), Error::HwIdMismatch { .. }));
    // Key info says VLEK.
    assert!(matches!(flip(0x48, 0x04), Error::SigningKeyMismatch { .. }));
    // Report version below 2 is malformed.
    let mut v1 = sample.report.clone();
    v1[0] = 1;
    let err = verify(sample, &v1, &policy).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed);
    // Unsigned tail: changes no verdict of authenticity, but the policy requires it zero.
    let err = flip(0x400, 0x01);
    assert!(
        matches!(&err, Error::Policy(v) if v.check == PolicyCheck::ReservedBytes),
        "{err}"
    );
}

#[test]
fn certificates_outside_their_validity_are_refused() {
    let sample = &vectors::snp_samples()[0];
    let report = SnpReport::from_bytes(&sample.report).unwrap();
    let ca: Vec<&[u8]> = sample.ca.iter().map(Vec::as_slice).collect();
    let at = |secs| {
        verify_report(
            &TrustAnchors::amd(),
            &report,
            &sample.vcek,
            &ca,
            &ReportOptions::at(UnixTime(secs)),
            &vectors::azure_report_policy(),
        )
    };
    // 2031: the VCEK (valid 2023-2030) has expired.
    let err = at(1_924_992_000).unwrap_err();
    assert!(
        matches!(
            err,
            Error::CertificateNotValid {
                role: CertRole::Vcek,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("2030-05-02T21:22:19Z"), "{err}");
    // 2019: before the ARK exists.
    let err = at(1_546_300_800).unwrap_err();
    assert!(
        matches!(
            err,
            Error::CertificateNotValid {
                role: CertRole::Ark,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn an_ask_of_another_product_is_refused() {
    let sample = &vectors::snp_samples()[0];
    let milan_ark = vectors::read_pem("amd/milan/ark.pem").swap_remove(0);
    let genoa_ask = vectors::read_pem("amd/genoa/ask.pem").swap_remove(0);
    let err =
        VerifiedCaChain::verify(&TrustAnchors::amd(), &milan_ark, &genoa_ask, TIME).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NameMismatch {
                role: CertRole::Ask,
                ..
            }
        ),
        "{err}"
    );
    // Offered only that pair, the report has no usable chain.
    let mixed = SnpSample {
        ca: vec![genoa_ask, milan_ark],
        ..sample.clone()
    };
    assert!(verify(&mixed, &sample.report, &Policy::snp_default()).is_err());
}

#[test]
fn an_unpinned_root_is_untrusted() {
    let sample = &vectors::snp_samples()[0];
    let only_genoa = TrustAnchors::caller_supplied_not_amd(
        snp_verify::AMD_PINS
            .into_iter()
            .filter(|pin| pin.generation == Generation::Genoa),
    );
    let report = SnpReport::from_bytes(&sample.report).unwrap();
    let ca: Vec<&[u8]> = sample.ca.iter().map(Vec::as_slice).collect();
    let err = verify_report(
        &only_genoa,
        &report,
        &sample.vcek,
        &ca,
        &ReportOptions::at(TIME),
        &Policy::snp_default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::UntrustedRoot { .. }), "{err}");
}

#[test]
fn azure_policy_rejects_what_it_should() {
    let sample = &vectors::snp_samples()[4]; // snp/milan: not Azure's firmware
    let err = verify(sample, &sample.report, &vectors::azure_report_policy()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Policy);
    assert!(
        matches!(&err, Error::Policy(v) if v.check == PolicyCheck::IdKeyDigest || v.check == PolicyCheck::MigrateMa || v.check == PolicyCheck::HostData || v.check == PolicyCheck::Vmpl),
        "{err}"
    );
}

#[test]
fn verdicts_agree_with_the_sev_crate() {
    use sev::certs::snp::{Chain, Verifiable};
    use sev::firmware::guest::AttestationReport;
    use sev::parser::ByteParser;

    for sample in vectors::snp_samples() {
        let chain = Chain::from_der(&sample.ca[1], &sample.ca[0], &sample.vcek).unwrap();
        let theirs = AttestationReport::from_bytes(&sample.report).unwrap();
        let sev_ok = (&chain, &theirs).verify().is_ok();
        let ours_ok = verify(&sample, &sample.report, &Policy::snp_default()).is_ok();
        assert!(sev_ok, "{}: sev refuses", sample.name);
        assert_eq!(ours_ok, sev_ok, "{}", sample.name);

        let mut tampered = sample.report.clone();
        tampered[0x90] ^= 1;
        let theirs = AttestationReport::from_bytes(&tampered).unwrap();
        assert!(
            (&chain, &theirs).verify().is_err(),
            "{}: sev accepts a tampered report",
            sample.name
        );
        assert!(
            verify(&sample, &tampered, &Policy::snp_default()).is_err(),
            "{}",
            sample.name
        );
    }
}
