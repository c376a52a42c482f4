//! snp-verify on reports and certificates from the project's test PKI: the cases no real
//! sample covers (VLEK, Turin and v5 reports, CRLs, forged roots, wrong PSS salt, a VCEK of
//! another TCB) and every policy check, one by one.

use hcl_parse::snp::RawSnpReport;
use hcl_parse::{Generation, SnpReport, TcbComponents, TcbVersion};
use snp_verify::{
    CertRole, Error, ErrorKind, MinimumTcb, Policy, PolicyCheck, ReportOptions, Revocation,
    RevocationStatus, TrustAnchors, UnixTime, VerifiedCaChain, verify_report,
};
use snp_vtpm_testkit::pki::{
    CaOverrides, CaRole, CrlSpec, Leaf, LeafKeyType, LeafSpec, PssParams, TestPki, sign_report,
};
use snp_vtpm_testkit::vectors;
use zerocopy::IntoBytes;

/// 2025-06-01: inside the test PKI's default validity (2024-2031).
const NOW: u64 = 1_748_736_000;
const TCB: TcbComponents = TcbComponents {
    fmc: None,
    bootloader: 4,
    tee: 0,
    snp: 22,
    microcode: 0xD5,
};
const TURIN_TCB: TcbComponents = TcbComponents {
    fmc: Some(1),
    bootloader: 2,
    tee: 3,
    snp: 4,
    microcode: 0x80,
};

fn anchors(pki: &TestPki) -> TrustAnchors {
    pki.trust_anchors()
}

fn cpuid(generation: Generation) -> (u8, u8) {
    match generation {
        Generation::Milan => (0x19, 0x01),
        Generation::Genoa => (0x19, 0x11),
        Generation::Turin => (0x1A, 0x02),
    }
}

fn tcb_for(generation: Generation) -> TcbComponents {
    if generation == Generation::Turin {
        TURIN_TCB
    } else {
        TCB
    }
}

/// An Azure-shaped report (VMPL 0, policy 0x3001F, zero host_data) of `version`.
fn report(generation: Generation, version: u32) -> RawSnpReport {
    let mut raw = RawSnpReport::new(version);
    raw.policy.set(0x3001F);
    raw.signature_algo.set(1);
    let (family, model) = cpuid(generation);
    if version >= 3 {
        raw.cpuid_fam_id = family;
        raw.cpuid_mod_id = model;
    }
    let tcb = TcbVersion::from_components(generation, tcb_for(generation)).0;
    (
        raw.reported_tcb,
        raw.current_tcb,
        raw.committed_tcb,
        raw.launch_tcb,
    ) = (tcb, tcb, tcb, tcb);
    raw.current_major = 1;
    raw.current_minor = 55;
    raw.current_build = 21;
    (
        raw.committed_major,
        raw.committed_minor,
        raw.committed_build,
    ) = (1, 55, 21);
    raw.chip_id[..generation.hwid_len()].copy_from_slice(&[0xC1; 64][..generation.hwid_len()]);
    raw.measurement = [0x4D; 48];
    raw.id_key_digest = [0x1D; 48];
    raw
}

fn vcek(pki: &TestPki, generation: Generation, raw: &RawSnpReport) -> Leaf {
    pki.issue_leaf(&LeafSpec::vcek_for_report(generation, raw))
}

struct Case {
    anchors: TrustAnchors,
    raw: RawSnpReport,
    leaf: Vec<u8>,
    ca: Vec<Vec<u8>>,
    time: u64,
    revocation: Option<Vec<u8>>,
    require_crl: bool,
    hint: Option<Generation>,
    policy: Policy,
}

impl Case {
    /// A report signed by the VCEK of its chip and TCB, with the product's VCEK chain.
    fn new(pki: &TestPki, generation: Generation, version: u32) -> Self {
        let mut raw = report(generation, version);
        let leaf = vcek(pki, generation, &raw);
        sign_report(&mut raw, &leaf.signing_key);
        let product = pki.product(generation);
        Self {
            anchors: anchors(pki),
            raw,
            leaf: leaf.der,
            ca: vec![product.ask_der.clone(), product.ark_der.clone()],
            time: NOW,
            revocation: None,
            require_crl: false,
            hint: None,
            policy: Policy::snp_default(),
        }
    }

    fn run(&self) -> Result<snp_verify::VerifiedReport, Error> {
        let report = SnpReport::from_bytes(self.raw.as_bytes())?;
        let ca: Vec<&[u8]> = self.ca.iter().map(Vec::as_slice).collect();
        let revocation = match (&self.revocation, self.require_crl) {
            (Some(crl), _) => Revocation::Crl(crl),
            (None, true) => Revocation::Required,
            (None, false) => Revocation::SkipAndRecord,
        };
        let options = ReportOptions {
            time: UnixTime(self.time),
            generation_hint: self.hint,
            revocation,
        };
        verify_report(
            &self.anchors,
            &report,
            &self.leaf,
            &ca,
            &options,
            &self.policy,
        )
    }

    fn resign(&mut self, key: &p384::ecdsa::SigningKey) {
        sign_report(&mut self.raw, key);
    }
}

#[test]
fn every_product_and_report_version_verifies() {
    let pki = TestPki::shared();
    for generation in Generation::ALL {
        for version in [2, 3, 5] {
            let verified = Case::new(pki, generation, version)
                .run()
                .unwrap_or_else(|e| panic!("{generation} v{version}: {e}"));
            assert_eq!(verified.product(), generation);
            assert_eq!(verified.tcb().reported, tcb_for(generation));
            assert!(
                !verified.amd_roots(),
                "test anchors are recorded as not AMD's"
            );
        }
    }
}

#[test]
fn turin_binding_uses_the_first_eight_bytes_and_fmc() {
    let pki = TestPki::shared();
    let mut case = Case::new(pki, Generation::Turin, 5);
    case.raw.chip_id[8..].fill(0x77); // bytes after the Turin hwID are not compared
    let key = vcek(pki, Generation::Turin, &report(Generation::Turin, 5)).signing_key;
    case.resign(&key);
    case.run().unwrap();
    let mut case = Case::new(pki, Generation::Turin, 5);
    case.raw.reported_tcb[0] = 2; // fmc
    let key = vcek(pki, Generation::Turin, &report(Generation::Turin, 5)).signing_key;
    case.resign(&key);
    let err = case.run().unwrap_err();
    assert_eq!(
        err,
        Error::TcbMismatch {
            role: CertRole::Vcek,
            component: "fmcSPL",
            expected: 2,
            found: 1
        }
    );
}

#[test]
fn vlek_signed_reports_verify_and_a_vlek_cannot_stand_in_for_a_vcek() {
    let pki = TestPki::shared();
    let generation = Generation::Genoa;
    let mut raw = report(generation, 3);
    raw.key_info.set(1 << 2); // signed by the VLEK
    raw.chip_id = [0; 64]; // VLEK reports may mask the chip id
    let vlek = pki.issue_leaf(&LeafSpec::vlek(generation, "azure", TCB));
    sign_report(&mut raw, &vlek.signing_key);
    let product = pki.product(generation);
    let mut case = Case::new(pki, generation, 3);
    case.raw = raw.clone();
    case.leaf = vlek.der.clone();
    case.ca = vec![product.asvk_der.clone(), product.ark_der.clone()];
    let verified = case.run().unwrap();
    assert_eq!(verified.signing_key(), CertRole::Vlek);

    // The VCEK-signed report offered with a VLEK certificate: named as a key-kind mismatch.
    let mut vcek_case = Case::new(pki, generation, 3);
    vcek_case.leaf = vlek.der;
    vcek_case.ca = vec![product.asvk_der.clone(), product.ark_der.clone()];
    let err = vcek_case.run().unwrap_err();
    assert!(
        matches!(
            err,
            Error::SigningKeyMismatch {
                certificate: CertRole::Vlek,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_masked_chip_id_cannot_bind_a_vcek() {
    let pki = TestPki::shared();
    let mut case = Case::new(pki, Generation::Milan, 3);
    case.raw.chip_id = [0; 64];
    let err = case.run().unwrap_err();
    assert_eq!(err, Error::ChipIdMasked);
}

#[test]
fn a_vcek_of_another_tcb_is_named_before_the_signature() {
    let pki = TestPki::shared();
    let case = Case::new(pki, Generation::Milan, 3);
    let mut other_tcb = TCB;
    other_tcb.snp += 1;
    let leaf = pki.issue_leaf(&LeafSpec::vcek(
        Generation::Milan,
        &case.raw.chip_id,
        other_tcb,
    ));
    let err = Case {
        leaf: leaf.der,
        ..case
    }
    .run()
    .unwrap_err();
    assert_eq!(
        err,
        Error::TcbMismatch {
            role: CertRole::Vcek,
            component: "snpSPL",
            expected: 22,
            found: 23
        }
    );
}

#[test]
fn a_self_consistent_chain_under_a_forged_ark_is_untrusted() {
    let real = TestPki::shared();
    let forged = &TestPki::new(2);
    let case = Case::new(forged, Generation::Milan, 3);
    let err = Case {
        anchors: anchors(real),
        ..case
    }
    .run()
    .unwrap_err();
    assert!(matches!(err, Error::UntrustedRoot { .. }), "{err}");
    // The same chain under AMD's pins is untrusted too.
    let case = Case::new(forged, Generation::Milan, 3);
    let err = Case {
        anchors: TrustAnchors::amd(),
        ..case
    }
    .run()
    .unwrap_err();
    assert!(matches!(err, Error::UntrustedRoot { .. }), "{err}");
}

#[test]
fn an_ask_of_another_product_or_forged_ask_is_refused() {
    let pki = TestPki::shared();
    let milan = pki.product(Generation::Milan);
    let genoa = pki.product(Generation::Genoa);
    let err = VerifiedCaChain::verify(&anchors(pki), &milan.ark_der, &genoa.ask_der, UnixTime(NOW))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NameMismatch {
                role: CertRole::Ask,
                field: "subject",
                ..
            }
        ),
        "{err}"
    );
    // An ASK named like Milan's but signed by another key.
    let forged_ask = TestPki::new(2).product(Generation::Milan).ask_der.clone();
    let err = VerifiedCaChain::verify(&anchors(pki), &milan.ark_der, &forged_ask, UnixTime(NOW))
        .unwrap_err();
    assert_eq!(
        err,
        Error::BadCertificateSignature {
            role: CertRole::Ask,
            issuer: CertRole::Ark
        }
    );
}

#[test]
fn wrong_pss_parameters_are_refused() {
    let pki = TestPki::shared();
    let case = Case::new(pki, Generation::Milan, 3);
    for pss in [
        PssParams::with_salt_len(32),
        PssParams {
            declared_salt_len: Some(48),
            ..PssParams::with_salt_len(32)
        },
    ] {
        let leaf =
            pki.issue_leaf(&LeafSpec::vcek_for_report(Generation::Milan, &case.raw).pss(pss));
        let err = Case {
            leaf: leaf.der,
            ..Case::new(pki, Generation::Milan, 3)
        }
        .run()
        .unwrap_err();
        let expected_error = if pss.declared() == 48 {
            matches!(
                err,
                Error::BadCertificateSignature {
                    role: CertRole::Vcek,
                    issuer: CertRole::Ask
                }
            )
        } else {
            matches!(
                err,
                Error::SignatureAlgorithm {
                    role: CertRole::Vcek,
                    ..
                }
            )
        };
        assert!(expected_error, "declared salt {}: {err}", pss.declared());
    }
    // The PSS form without an explicit trailer field (real Genoa and Turin VCEKs) is accepted.
    let leaf = pki.issue_leaf(
        &LeafSpec::vcek_for_report(Generation::Milan, &case.raw).pss(PssParams::AMD_NO_TRAILER),
    );
    Case {
        leaf: leaf.der,
        ..Case::new(pki, Generation::Milan, 3)
    }
    .run()
    .unwrap();
}

#[test]
fn validity_is_checked_for_every_certificate() {
    let pki = TestPki::shared();
    let case = Case::new(pki, Generation::Genoa, 3);
    let expired_leaf = pki.issue_leaf(
        &LeafSpec::vcek_for_report(Generation::Genoa, &case.raw).validity(NOW - 1000, NOW - 1),
    );
    let err = Case {
        leaf: expired_leaf.der,
        ..Case::new(pki, Generation::Genoa, 3)
    }
    .run()
    .unwrap_err();
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
    let expired_ask = pki.reissue_ca(
        Generation::Genoa,
        CaRole::Ask,
        &CaOverrides {
            validity: Some((NOW - 1000, NOW - 1)),
            ..CaOverrides::default()
        },
    );
    let mut case = Case::new(pki, Generation::Genoa, 3);
    case.ca[0] = expired_ask;
    let err = case.run().unwrap_err();
    assert!(
        matches!(
            err,
            Error::CertificateNotValid {
                role: CertRole::Ask,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Cryptographic);
}

#[test]
fn leaf_key_must_be_p384() {
    let pki = TestPki::shared();
    for key_type in [LeafKeyType::P256, LeafKeyType::Rsa2048] {
        let case = Case::new(pki, Generation::Milan, 3);
        let leaf = pki.issue_leaf(
            &LeafSpec::vcek_for_report(Generation::Milan, &case.raw).key_type(key_type),
        );
        let err = Case {
            leaf: leaf.der,
            ..case
        }
        .run()
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::WrongKeyType {
                    role: CertRole::Vcek,
                    ..
                }
            ),
            "{key_type:?}: {err}"
        );
    }
}

#[test]
fn generation_sources_must_agree() {
    let pki = TestPki::shared();
    let mut case = Case::new(pki, Generation::Milan, 3);
    case.hint = Some(Generation::Genoa);
    let err = case.run().unwrap_err();
    assert!(
        matches!(
            err,
            Error::GenerationConflict {
                second_source: "caller hint",
                ..
            }
        ),
        "{err}"
    );
    // A v3 report claiming Genoa CPUID with a Milan chain.
    let mut case = Case::new(pki, Generation::Milan, 3);
    case.raw.cpuid_mod_id = 0x11;
    let err = case.run().unwrap_err();
    assert!(
        matches!(
            err,
            Error::GenerationConflict {
                second_source: "report CPUID",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn revocation_with_a_crl() {
    let pki = TestPki::shared();
    let generation = Generation::Milan;
    let current = CrlSpec::new(NOW - 3600, NOW + 86_400);
    let mut case = Case::new(pki, generation, 3);
    case.revocation = Some(pki.crl(generation, &current));
    let verified = case.run().unwrap();
    assert!(matches!(
        verified.revocation(),
        RevocationStatus::Checked { .. }
    ));

    // The ASK's serial revoked (the test PKI gives CA certificates AMD's serials).
    let ask_serial = {
        use der::Decode;
        let cert = x509_cert::Certificate::from_der(&pki.product(generation).ask_der).unwrap();
        let bytes = cert.tbs_certificate().serial_number().as_bytes().to_vec();
        bytes.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b))
    };
    let mut case = Case::new(pki, generation, 3);
    case.revocation = Some(pki.crl(
        generation,
        &CrlSpec::new(NOW - 3600, NOW + 86_400).revoke(ask_serial, NOW - 7200),
    ));
    let err = case.run().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Revoked {
                role: CertRole::Ask,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Revocation);

    // The ARK's CRL lists what the ARK issued: a serial equal to the VCEK's (0 on real VCEKs,
    // issued by the ASK) names another certificate and does not revoke the VCEK.
    for serial in [0x4242, 0] {
        let mut case = Case::new(pki, generation, 3);
        let leaf = pki.issue_leaf(&LeafSpec::vcek_for_report(generation, &case.raw).serial(serial));
        case.leaf = leaf.der;
        case.revocation = Some(pki.crl(
            generation,
            &CrlSpec::new(NOW - 3600, NOW + 86_400).revoke(serial, NOW - 60),
        ));
        let verified = case
            .run()
            .unwrap_or_else(|e| panic!("serial {serial}: {e}"));
        assert!(matches!(
            verified.revocation(),
            RevocationStatus::Checked { .. }
        ));
    }

    // A critical extension the checker does not process (here a delta-CRL indicator) makes
    // the CRL unusable, in the list's extensions and in an entry's.
    for spec in [
        CrlSpec::new(NOW - 3600, NOW + 86_400).extension("2.5.29.27", true, &[0x02, 0x01, 0x01]),
        CrlSpec::new(NOW - 3600, NOW + 86_400)
            .revoke(0x77, NOW - 60)
            .entry_extension("2.5.29.29", true, &[0x30, 0x00]),
    ] {
        let mut case = Case::new(pki, generation, 3);
        case.revocation = Some(pki.crl(generation, &spec));
        let err = case.run().unwrap_err();
        assert!(
            matches!(&err, Error::BadCrl { reason } if reason.contains("critical extension")),
            "{err}"
        );
    }
    // The same extensions not marked critical are ignored.
    let mut case = Case::new(pki, generation, 3);
    case.revocation = Some(
        pki.crl(
            generation,
            &CrlSpec::new(NOW - 3600, NOW + 86_400)
                .extension("2.5.29.27", false, &[0x02, 0x01, 0x01])
                .revoke(0x77, NOW - 60)
                .entry_extension("2.5.29.21", false, &[0x0a, 0x01, 0x01]),
        ),
    );
    case.run().unwrap();

    // Stale, not yet valid, without nextUpdate, signed by another ARK.
    for (spec, pki_for_crl) in [
        (CrlSpec::new(NOW - 86_400 * 10, NOW - 86_400), pki),
        (CrlSpec::new(NOW + 3600, NOW + 86_400), pki),
    ] {
        let mut case = Case::new(pki, generation, 3);
        case.revocation = Some(pki_for_crl.crl(generation, &spec));
        let err = case.run().unwrap_err();
        assert!(matches!(err, Error::StaleCrl { .. }), "{err}");
    }
    let mut case = Case::new(pki, generation, 3);
    case.revocation = Some(pki.crl(
        generation,
        &CrlSpec::new(NOW - 3600, NOW + 86_400).without_next_update(),
    ));
    assert!(matches!(case.run().unwrap_err(), Error::BadCrl { .. }));
    let mut case = Case::new(pki, generation, 3);
    case.revocation = Some(TestPki::new(2).crl(generation, &current));
    assert!(matches!(case.run().unwrap_err(), Error::BadCrl { .. }));
    let mut case = Case::new(pki, generation, 3);
    case.revocation = Some(pki.crl(
        generation,
        &CrlSpec::new(NOW - 3600, NOW + 86_400).signer(CaRole::Ask),
    ));
    assert!(matches!(case.run().unwrap_err(), Error::BadCrl { .. }));

    // A CRL required and missing.
    let mut case = Case::new(pki, generation, 3);
    case.require_crl = true;
    assert_eq!(case.run().unwrap_err(), Error::CrlRequired);
}

/// Breaks one policy check and asserts that exactly that check fails.
fn violates(check: PolicyCheck, mutate_report: impl Fn(&mut RawSnpReport), policy: Policy) {
    let pki = TestPki::shared();
    let generation = Generation::Milan;
    let mut case = Case::new(pki, generation, 5);
    mutate_report(&mut case.raw);
    let key = vcek(pki, generation, &report(generation, 5)).signing_key;
    case.resign(&key);
    case.policy = Policy {
        allow_debug: true,
        require_reserved_zero: false,
        ..Policy::snp_default()
    };
    case.run()
        .unwrap_or_else(|e| panic!("{check}: passes a permissive policy: {e}"));
    case.policy = policy;
    match case.run() {
        Err(Error::Policy(violation)) => assert_eq!(violation.check, check, "{violation}"),
        other => panic!("{check}: expected a policy error, got {other:?}"),
    }
}

#[test]
fn every_policy_check_refuses_on_its_own() {
    let none = |_: &mut RawSnpReport| {};
    let base = Policy::snp_default;
    let at_least = |c: TcbComponents| TcbComponents {
        snp: c.snp + 1,
        ..c
    };
    violates(
        PolicyCheck::Debug,
        |r| r.policy.set(0x3001F | 1 << 19),
        Policy {
            allow_debug: false,
            ..base()
        },
    );
    let mut debug_case = Case::new(TestPki::shared(), Generation::Milan, 3);
    debug_case.raw.policy.set(0x3001F | 1 << 19);
    let key = vcek(
        TestPki::shared(),
        Generation::Milan,
        &report(Generation::Milan, 3),
    )
    .signing_key;
    debug_case.resign(&key);
    assert!(
        matches!(debug_case.run(), Err(Error::Policy(v)) if v.check == PolicyCheck::Debug),
        "snp-default refuses debug"
    );
    violates(
        PolicyCheck::MigrateMa,
        |r| r.policy.set(0x3001F | 1 << 18),
        Policy {
            allow_migrate_ma: false,
            ..base()
        },
    );
    violates(
        PolicyCheck::Smt,
        none,
        Policy {
            allow_smt: false,
            ..base()
        },
    );
    violates(
        PolicyCheck::Vmpl,
        |r| r.vmpl.set(2),
        Policy {
            required_vmpl: Some(0),
            ..base()
        },
    );
    violates(
        PolicyCheck::ReportedTcb,
        none,
        Policy {
            minimum_tcb: MinimumTcb {
                reported: Some(at_least(TCB)),
                ..Default::default()
            },
            ..base()
        },
    );
    violates(
        PolicyCheck::CommittedTcb,
        none,
        Policy {
            minimum_tcb: MinimumTcb {
                committed: Some(at_least(TCB)),
                ..Default::default()
            },
            ..base()
        },
    );
    violates(
        PolicyCheck::LaunchTcb,
        none,
        Policy {
            minimum_tcb: MinimumTcb {
                launch: Some(at_least(TCB)),
                ..Default::default()
            },
            ..base()
        },
    );
    violates(
        PolicyCheck::CurrentTcb,
        none,
        Policy {
            minimum_tcb: MinimumTcb {
                current: Some(at_least(TCB)),
                ..Default::default()
            },
            ..base()
        },
    );
    violates(
        PolicyCheck::ProvisionalFirmware,
        |r| r.current_build = 22,
        Policy {
            allow_provisional_firmware: false,
            ..base()
        },
    );
    violates(
        PolicyCheck::FirmwareVersion,
        none,
        Policy {
            minimum_firmware: Some(hcl_parse::FirmwareVersion {
                major: 1,
                minor: 55,
                build: 22,
            }),
            ..base()
        },
    );
    violates(
        PolicyCheck::GuestSvn,
        none,
        Policy {
            minimum_guest_svn: Some(1),
            ..base()
        },
    );
    violates(
        PolicyCheck::Measurement,
        none,
        Policy {
            allowed_measurements: vec![hcl_parse::Hex([0x4E; 48])],
            ..base()
        },
    );
    violates(
        PolicyCheck::HostData,
        |r| r.host_data = [1; 32],
        Policy {
            allowed_host_data: vec![hcl_parse::Hex([0; 32])],
            ..base()
        },
    );
    violates(
        PolicyCheck::IdKeyDigest,
        none,
        Policy {
            allowed_id_key_digests: vec![hcl_parse::Hex([0x1E; 48])],
            ..base()
        },
    );
    violates(
        PolicyCheck::AuthorKeyDigest,
        none,
        Policy {
            allowed_author_key_digests: vec![hcl_parse::Hex([1; 48])],
            ..base()
        },
    );
    violates(
        PolicyCheck::FamilyId,
        none,
        Policy {
            family_id: Some(hcl_parse::Hex([1; 16])),
            ..base()
        },
    );
    violates(
        PolicyCheck::ImageId,
        none,
        Policy {
            image_id: Some(hcl_parse::Hex([1; 16])),
            ..base()
        },
    );
    violates(
        PolicyCheck::ReportVersion,
        none,
        Policy {
            allowed_report_versions: vec![3],
            ..base()
        },
    );
    violates(
        PolicyCheck::PlatformInfo,
        none,
        Policy {
            required_platform_info_bits: 1,
            ..base()
        },
    );
    violates(
        PolicyCheck::LaunchMitVector,
        none,
        Policy {
            required_launch_mit_vector_bits: 4,
            ..base()
        },
    );
    violates(
        PolicyCheck::CurrentMitVector,
        |r| r.launch_mit_vector.set(4),
        Policy {
            required_current_mit_vector_bits: 4,
            ..base()
        },
    );
    violates(
        PolicyCheck::ReservedBytes,
        |r| r.reserved_330[0] = 1,
        base(),
    );
}

#[test]
fn azure_preset_names_the_firmware_values() {
    let pki = TestPki::shared();
    let mut case = Case::new(pki, Generation::Milan, 3);
    case.policy = vectors::azure_report_policy();
    let err = case.run().unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(&err, Error::Policy(v) if v.check == PolicyCheck::IdKeyDigest),
        "{text}"
    );
    assert!(
        text.contains(&"1d".repeat(48)),
        "the digest found is printed: {text}"
    );
    let mut allowed = vectors::azure_report_policy();
    allowed
        .allowed_id_key_digests
        .push(hcl_parse::Hex([0x1D; 48]));
    case.policy = allowed;
    case.run().unwrap();
}

#[test]
fn policies_load_from_json_and_refuse_unknown_fields() {
    let policy: Policy = serde_json::from_str(r#"{"required_vmpl":0,"allowed_host_data":["0000000000000000000000000000000000000000000000000000000000000000"]}"#).unwrap();
    assert_eq!(policy.required_vmpl, Some(0));
    assert!(!policy.allow_debug);
    assert!(serde_json::from_str::<Policy>(r#"{"require_vmpl":0}"#).is_err());
    assert!(serde_json::from_str::<Policy>(r#"{"allowed_host_data":["00"]}"#).is_err());
    let round_trip: Policy =
        serde_json::from_value(serde_json::to_value(vectors::azure_report_policy()).unwrap())
            .unwrap();
    assert_eq!(round_trip, vectors::azure_report_policy());
}

/// Another PKI's roots from its CA certificates: pinned by the names AMD gives them, and a
/// chain of that PKI verifies under them; a certificate that is no CA of that naming is refused.
#[test]
fn anchors_from_another_pkis_ca_certificates() {
    let pki = TestPki::shared();
    let ca = pki.product(Generation::Genoa);
    let anchors = TrustAnchors::caller_supplied_from_certificates([
        ca.ark_der.as_slice(),
        ca.ask_der.as_slice(),
    ])
    .unwrap();
    assert!(!anchors.is_amd());
    let chain =
        VerifiedCaChain::verify(&anchors, &ca.ark_der, &ca.ask_der, UnixTime::from_secs(NOW))
            .unwrap();
    assert!(chain.intermediate_pinned());
    assert_eq!(chain.generation(), Generation::Genoa);

    let leaf = pki
        .issue_leaf(&LeafSpec::vcek(
            Generation::Genoa,
            &[1; 64],
            snp_vtpm_testkit::azure::TEST_TCB,
        ))
        .der;
    let err =
        TrustAnchors::caller_supplied_from_certificates([ca.ark_der.as_slice(), leaf.as_slice()])
            .unwrap_err();
    assert!(err.to_string().contains("SEV-VCEK"), "{err}");
    let err = TrustAnchors::caller_supplied_from_certificates([ca.ask_der.as_slice()]).unwrap_err();
    assert!(err.to_string().contains("no ARK"), "{err}");
}
