//! `policy capture`, `--merge`, `--format rvps` and `policy explain`: a policy captured from
//! each real evidence accepts that evidence and refuses the others; the tamper matrix (every
//! pinned PCR changed, a lower TCB) on synthetic evidence from the test PKI; a Milan and a
//! Genoa capture merged keep their floors per product.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use base64::Engine as _;
use hcl_parse::snp::RawSnpReport;
use hcl_parse::{Generation, TcbComponents, TcbVersion};
use snp_verify::UnixTime;
use snp_vtpm::policy_text::{explain, rvps_reference_values, to_rvps, to_toml};
use snp_vtpm::{
    CaptureOptions, Certificates, Check, Error, ErrorKind, Evidence, EvidencePolicy, ExpectedNonce,
    FirmwareCatalog, PolicyViolation, ReferenceValues, VerifiedEvidence, Verifier, VerifyOptions,
    capture, capture_into,
};
use snp_vtpm_testkit::azure::{
    SyntheticReport, TEST_TCB, synthetic_evidence_quoting, synthetic_pcrs,
};
use snp_vtpm_testkit::evidence::{
    REAL_EVIDENCE_TIME, RealEvidence, TDX_EVIDENCE_TIME, real_evidence, tdx_vm1_collateral,
    tdx_vm1_evidence,
};
use snp_vtpm_testkit::pki::TestPki;

fn real_time() -> VerifyOptions {
    VerifyOptions::at(UnixTime::from_secs(REAL_EVIDENCE_TIME))
}

fn verify_real(sample: &RealEvidence, policy: EvidencePolicy) -> Result<VerifiedEvidence, Error> {
    Verifier::new(policy).verify(
        &sample.evidence,
        ExpectedNonce::Exactly(&sample.nonce),
        &sample.certificates,
        &real_time(),
    )
}

/// The TOML a capture writes, read back as `verify --policy` reads it.
fn through_toml(values: &ReferenceValues) -> EvidencePolicy {
    let text = to_toml(values, &FirmwareCatalog::builtin());
    let document: serde_json::Value =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let policy = EvidencePolicy::from_document(document, "azure-cvm").unwrap();
    assert_eq!(policy, values.to_policy().unwrap(), "{text}");
    policy
}

fn captured(sample: &RealEvidence) -> ReferenceValues {
    let verified = verify_real(sample, EvidencePolicy::preset("azure-cvm").unwrap()).unwrap();
    capture(&verified, &CaptureOptions::default()).unwrap()
}

#[test]
fn a_policy_captured_from_each_real_evidence_accepts_it_and_refuses_the_others() {
    let samples = real_evidence();
    for sample in &samples {
        let values = captured(sample);
        assert_eq!(values.tcb_floors.len(), 1, "{}", sample.name);
        assert_eq!(values.pcrs.len(), 12, "the default PCRs: {}", sample.name);
        let policy = through_toml(&values);
        verify_real(sample, policy.clone())
            .unwrap_or_else(|e| panic!("{} under its own policy: {e}", sample.name));
        for other in samples.iter().filter(|o| o.name != sample.name) {
            let error = verify_real(other, policy.clone()).unwrap_err();
            // A policy failure; or, where the capture required a fresh report (v2 evidence),
            // older evidence that cannot show one is refused by the freshness check first.
            let refused_by_policy = error.kind() == ErrorKind::Policy;
            let not_fresh = values.report_bound_to_nonce && error.check() == Check::ReportFreshness;
            assert!(
                refused_by_policy || not_fresh,
                "{} under {}'s policy: {error}",
                other.name,
                sample.name
            );
        }
    }
}

#[test]
fn every_pinned_pcr_of_a_real_capture_decides() {
    let sample = &real_evidence()[0];
    let values = captured(sample);
    for index in values.pcrs.keys() {
        let mut tampered = values.clone();
        tampered
            .pcrs
            .insert(*index, vec![hcl_parse::HexBytes(vec![0xA5; 32])]);
        let error = verify_real(sample, tampered.to_policy().unwrap()).unwrap_err();
        assert!(
            matches!(
                &error,
                Error::Policy(PolicyViolation::PcrValue { index: found, .. }) if found == index
            ),
            "PCR {index}: {error}"
        );
    }
}

#[test]
fn the_tdx_capture_pins_the_mrtd_and_verifies() {
    let verified = Verifier::new(EvidencePolicy::preset("azure-tdx").unwrap())
        .verify(
            &tdx_vm1_evidence(),
            ExpectedNonce::Exactly(&[0; 32]),
            &tdx_vm1_collateral(),
            &VerifyOptions::at(UnixTime::from_secs(TDX_EVIDENCE_TIME)),
        )
        .unwrap();
    let values = capture(&verified, &CaptureOptions::default()).unwrap();
    assert_eq!(values.mrtds, [verified.tdx().unwrap().quote.body().mr_td]);
    assert!(
        values.ak_certificate_required,
        "the sample's AK certificate verified"
    );
    let text = to_toml(&values, &FirmwareCatalog::builtin());
    assert!(text.contains("extends = \"azure-tdx\""), "{text}");
    assert!(text.contains("azure-tdx-paravisor-2026-02"), "{text}");
    let document: serde_json::Value = toml::from_str(&text).unwrap();
    let policy = EvidencePolicy::from_document(document, "azure-cvm").unwrap();
    Verifier::new(policy)
        .verify(
            &tdx_vm1_evidence(),
            ExpectedNonce::Exactly(&[0; 32]),
            &tdx_vm1_collateral(),
            &VerifyOptions::at(UnixTime::from_secs(TDX_EVIDENCE_TIME)),
        )
        .unwrap();
    let names = rvps_reference_values(&values);
    assert_eq!(names["mr_td"][0], values.mrtds[0].to_string());
    assert!(names["tdx_pcr11"].is_array(), "{names}");
}

#[test]
fn merged_captures_accept_both_and_keep_floors_per_product() {
    let samples = real_evidence();
    let milan = samples.iter().find(|s| s.name == "milan-v3").unwrap();
    let genoa = samples.iter().find(|s| s.name == "genoa-v3").unwrap();
    let (milan_values, genoa_values) = (captured(milan), captured(genoa));
    let verified = verify_real(milan, EvidencePolicy::preset("azure-cvm").unwrap()).unwrap();
    let merged = capture_into(
        ReferenceValues::from_policy(&through_toml(&genoa_values)).unwrap(),
        &verified,
        false,
    )
    .unwrap();
    assert_eq!(
        merged.tcb_floors[&Generation::Milan],
        milan_values.tcb_floors[&Generation::Milan]
    );
    assert_eq!(
        merged.tcb_floors[&Generation::Genoa],
        genoa_values.tcb_floors[&Generation::Genoa],
        "a Milan capture never moves the Genoa floor"
    );
    let policy = through_toml(&merged);
    verify_real(milan, policy.clone()).unwrap();
    verify_real(genoa, policy.clone()).unwrap();
    // The others in the folder are other VMs still.
    for other in samples
        .iter()
        .filter(|s| s.name != "milan-v3" && s.name != "genoa-v3")
    {
        assert_eq!(
            verify_real(other, policy.clone()).unwrap_err().kind(),
            ErrorKind::Policy,
            "{}",
            other.name
        );
    }

    // Merging a lower floor of the same product lowers it, component by component.
    let mut lower = milan_values.clone();
    let floor = lower.tcb_floors.get_mut(&Generation::Milan).unwrap();
    floor.snp -= 1;
    floor.microcode += 1;
    let widened = milan_values.clone().merge(&lower).unwrap();
    let expected = TcbComponents {
        snp: milan_values.tcb_floors[&Generation::Milan].snp - 1,
        ..milan_values.tcb_floors[&Generation::Milan]
    };
    assert_eq!(widened.tcb_floors[&Generation::Milan], expected);
}

#[test]
fn merging_refuses_what_would_drop_a_check() {
    let sample = &real_evidence()[1];
    let values = captured(sample);
    // A hand-written setting capture does not write: merging would lose it.
    let mut hand = values.to_policy().unwrap();
    hand.require_crl = true;
    let error = ReferenceValues::from_policy(&hand).unwrap_err();
    assert!(error.to_string().contains("require_crl"), "{error}");
    // A different set of pinned PCRs would refuse the VMs of one side.
    let fewer = capture(
        &verify_real(sample, EvidencePolicy::preset("azure-cvm").unwrap()).unwrap(),
        &CaptureOptions {
            pcrs: Some(vec![0, 7]),
            ..CaptureOptions::default()
        },
    )
    .unwrap();
    let error = values.clone().merge(&fewer).unwrap_err();
    assert!(error.to_string().contains("pinned PCRs"), "{error}");
    // Contradicting vm-configuration values are not widened to "any".
    let mut console_off = values.clone();
    console_off.vm_configuration.console_enabled = Some(false);
    let error = values.clone().merge(&console_off).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("vm_configuration.console_enabled"),
        "{error}"
    );
    // Requirements the new evidence does not meet are not dropped.
    let mut fresh = values.clone();
    fresh.report_bound_to_nonce = true;
    let error = fresh.clone().merge(&values).unwrap_err();
    assert!(error.to_string().contains("bound to the nonce"), "{error}");
    assert!(
        values.clone().merge(&fresh).is_ok(),
        "a requirement the policy lacks is not added"
    );
    let mut with_ak = values.clone();
    with_ak.ak_certificate_required = true;
    let error = with_ak.merge(&values).unwrap_err();
    assert!(error.to_string().contains("AK certificate"), "{error}");
    let mut debuggable = values.clone();
    debuggable.allow_debug = true;
    let error = values.clone().merge(&debuggable).unwrap_err();
    assert!(error.to_string().contains("debugging"), "{error}");
    let mut with_log = values.clone();
    with_log.event_log = Some(snp_vtpm::EventLogReference::default());
    let error = with_log.merge(&values).unwrap_err();
    assert!(error.to_string().contains("the event log"), "{error}");
    // What the user emptied (any value) stays empty, and a field they unpinned stays unpinned.
    let mut loose = values.clone();
    loose.measurements.clear();
    loose.vm_configuration.console_enabled = None;
    let mut other = values.clone();
    other.measurements = vec![hcl_parse::Hex([0x22; 48])];
    other.vm_configuration.console_enabled = Some(false);
    loose.tcb_floors.clear();
    let merged = loose.merge(&other).unwrap();
    assert!(merged.measurements.is_empty());
    assert_eq!(merged.vm_configuration.console_enabled, None);
    assert!(merged.tcb_floors.is_empty(), "deleted floors stay deleted");
}

#[test]
fn capture_pins_only_what_the_evidence_proves() {
    let samples = real_evidence();
    let userdata = samples
        .iter()
        .find(|s| s.name == "milan-v3-userdata")
        .unwrap();
    // Version 1 evidence cannot show a fresh report to a policy, even when its user-data
    // happens to be the nonce: the capture does not require one.
    let v1 = RealEvidence {
        evidence: Evidence {
            version: snp_vtpm::EvidenceVersion::V1,
            ..userdata.evidence.clone()
        },
        ..userdata.clone()
    };
    let values = captured(&v1);
    assert!(!values.report_bound_to_nonce);
    verify_real(&v1, values.to_policy().unwrap()).unwrap();
    assert!(captured(userdata).report_bound_to_nonce, "version 2 does");

    // Firmware known by its measurement alone: its key is not pinned (it would make every
    // build signed with it known).
    let sample = &samples[1];
    let measurement = hex::encode(
        verify_real(sample, EvidencePolicy::preset("azure-cvm").unwrap())
            .unwrap()
            .report()
            .unwrap()
            .measurement(),
    );
    let by_measurement = EvidencePolicy::from_document(
        serde_json::json!({"report": {"allowed_measurements": [measurement]}}),
        "azure-cvm",
    )
    .unwrap();
    let verified = Verifier::new(by_measurement)
        .with_firmware_catalog(Arc::new(FirmwareCatalog::empty()))
        .verify(
            &sample.evidence,
            ExpectedNonce::Exactly(&sample.nonce),
            &sample.certificates,
            &real_time(),
        )
        .unwrap();
    let values = capture(&verified, &CaptureOptions::default()).unwrap();
    assert!(values.id_key_digests.is_empty());
    assert_eq!(values.measurements.len(), 1);
    let text = to_toml(&values, &FirmwareCatalog::empty());
    assert!(
        text.contains("no key\n# is pinned and only these builds are accepted"),
        "{text}"
    );
    // Trusting unknown firmware does not pin a key the firmware was not known by either.
    let values = capture(
        &verified,
        &CaptureOptions {
            trust_unknown_firmware: true,
            ..CaptureOptions::default()
        },
    )
    .unwrap();
    assert!(values.id_key_digests.is_empty());

    // An FMC floor says nothing of products without an FMC SPL: a global floor's FMC is
    // ignored for Milan and Genoa, and a global floor of FMC alone is refused when it loads
    // (it would check nothing on them while silencing the "no minimum TCB" warning).
    let global_fmc = EvidencePolicy::from_document(
        serde_json::json!({"report": {"minimum_tcb": {"reported": {
            "bootloader": 0, "tee": 0, "snp": 1, "microcode": 0, "fmc": 5
        }}}}),
        "azure-cvm",
    )
    .unwrap();
    verify_real(sample, global_fmc).unwrap();
    let fmc_alone = EvidencePolicy::from_document(
        serde_json::json!({"report": {"minimum_tcb": {"reported": {"fmc": 5}}}}),
        "azure-cvm",
    )
    .unwrap_err();
    assert!(
        fmc_alone.to_string().contains("Turin reports only"),
        "{fmc_alone}"
    );

    // Known firmware verified with --allow-unknown-firmware is still known: capture works.
    let verified = Verifier::new(EvidencePolicy::preset("azure-cvm").unwrap())
        .verify(
            &sample.evidence,
            ExpectedNonce::Exactly(&sample.nonce),
            &sample.certificates,
            &VerifyOptions {
                allow_unknown_firmware: true,
                ..real_time()
            },
        )
        .unwrap();
    assert!(capture(&verified, &CaptureOptions::default()).is_ok());
}

// --- Synthetic evidence from the test PKI: what no real sample can show. ---

const NONCE: &[u8] = b"capture nonce";

/// The built-in catalog with the test firmware in it.
fn lab_catalog() -> Arc<FirmwareCatalog> {
    let file = snp_vtpm_testkit::azure::test_firmware_catalog(false);
    Arc::new(
        FirmwareCatalog::builtin()
            .with_file(file.as_bytes(), "lab.json")
            .unwrap(),
    )
}

fn synthetic(report: &SyntheticReport, pcrs: &[[u8; 32]]) -> (Evidence, Certificates) {
    let made = synthetic_evidence_quoting(TestPki::shared(), report, NONCE, true, pcrs);
    let evidence = Evidence::from_json(&made.json, snp_vtpm::DEFAULT_SIZE_LIMIT).unwrap();
    let mut certificates = Certificates::default();
    certificates.add_file(made.chain_pem.as_bytes()).unwrap();
    (evidence, certificates)
}

fn verify_synthetic(
    (evidence, certificates): &(Evidence, Certificates),
    policy: EvidencePolicy,
    catalog: Arc<FirmwareCatalog>,
    allow_unknown_firmware: bool,
) -> Result<VerifiedEvidence, Error> {
    Verifier::with_anchors(TestPki::shared().trust_anchors(), policy)
        .with_firmware_catalog(catalog)
        .verify(
            evidence,
            ExpectedNonce::Exactly(NONCE),
            certificates,
            &VerifyOptions {
                allow_unknown_firmware,
                ..real_time()
            },
        )
}

#[test]
fn the_tamper_matrix_every_pcr_and_a_lower_tcb_is_refused() {
    let base = SyntheticReport::new(&[], [0; 64]);
    let evidence = synthetic(&base, &synthetic_pcrs());
    let verified = verify_synthetic(
        &evidence,
        EvidencePolicy::preset("azure-cvm").unwrap(),
        lab_catalog(),
        false,
    )
    .unwrap();
    let values = capture(&verified, &CaptureOptions::default()).unwrap();
    assert!(values.report_bound_to_nonce);
    let policy = through_toml(&values);
    verify_synthetic(&evidence, policy.clone(), lab_catalog(), false).unwrap();

    for &index in values.pcrs.keys() {
        let mut pcrs = synthetic_pcrs();
        pcrs[usize::from(index)][0] ^= 0x80;
        let error = verify_synthetic(
            &synthetic(&base, &pcrs),
            policy.clone(),
            lab_catalog(),
            false,
        )
        .unwrap_err();
        assert!(
            matches!(
                &error,
                Error::Policy(PolicyViolation::PcrValue { index: found, .. }) if *found == index
            ),
            "PCR {index}: {error}"
        );
    }
    // A PCR the policy does not pin may change (PCR 10, IMA).
    let mut pcrs = synthetic_pcrs();
    pcrs[10][0] ^= 0x80;
    verify_synthetic(
        &synthetic(&base, &pcrs),
        policy.clone(),
        lab_catalog(),
        false,
    )
    .unwrap();

    // A host with a lower reported TCB: a policy failure on reported_tcb.
    let lower = SyntheticReport {
        edit: Some(|raw: &mut RawSnpReport| {
            let lower = TcbComponents {
                microcode: TEST_TCB.microcode - 1,
                ..TEST_TCB
            };
            raw.reported_tcb = TcbVersion::from_components(Generation::Milan, lower).0;
        }),
        ..base.clone()
    };
    let error = verify_synthetic(
        &synthetic(&lower, &synthetic_pcrs()),
        policy.clone(),
        lab_catalog(),
        false,
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Policy, "{error}");
    assert!(
        error.to_string().contains("reported TCB"),
        "names the TCB: {error}"
    );
}

#[test]
fn unknown_firmware_is_captured_only_when_trusted_explicitly() {
    let evidence = synthetic(&SyntheticReport::new(&[], [0; 64]), &synthetic_pcrs());
    let verified = verify_synthetic(
        &evidence,
        EvidencePolicy::preset("azure-cvm").unwrap(),
        FirmwareCatalog::builtin(),
        true,
    )
    .unwrap();
    let error = capture(&verified, &CaptureOptions::default()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input);
    assert!(error.to_string().contains("unknown firmware"), "{error}");
    let values = capture(
        &verified,
        &CaptureOptions {
            trust_unknown_firmware: true,
            ..CaptureOptions::default()
        },
    )
    .unwrap();
    // The captured policy names the firmware, so it verifies without the catalog knowing it.
    let policy = through_toml(&values);
    let verdict = verify_synthetic(&evidence, policy, FirmwareCatalog::builtin(), false).unwrap();
    assert!(verdict.firmware().unwrap().catalog_entries.is_empty());
    let text = to_toml(&values, &FirmwareCatalog::builtin());
    assert!(
        text.contains("in no firmware-catalog entry: this policy is what makes it known"),
        "{text}"
    );
}

#[test]
fn rvps_output_has_trustees_documented_shape() {
    let values = captured(&real_evidence()[3]);
    let message = to_rvps(&values);
    // The RVPS message: version and type strings, the provenance base64 in "payload".
    assert_eq!(message["version"], "0.1.0");
    assert_eq!(message["type"], "sample");
    let payload = base64::engine::general_purpose::STANDARD
        .decode(message["payload"].as_str().unwrap())
        .unwrap();
    let provenance: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    // The sample provenance: every name maps to a list of strings.
    let names = provenance.as_object().unwrap();
    for (name, values) in names {
        let list = values.as_array().unwrap_or_else(|| panic!("{name}"));
        assert!(!list.is_empty(), "{name}");
        assert!(list.iter().all(serde_json::Value::is_string), "{name}");
    }
    // The names trustee's default az-snp-vtpm policy queries.
    for name in [
        "measurement",
        "snp_pcr11",
        "tcb_bootloader",
        "tcb_microcode",
        "tcb_snp",
        "tcb_tee",
        "smt_allowed",
    ] {
        assert!(names.contains_key(name), "{name}: {provenance}");
    }
    assert_eq!(names["measurement"][0], values.measurements[0].to_string());
    let floor = values.tcb_floors[&Generation::Genoa];
    assert_eq!(names["tcb_microcode"][0], floor.microcode.to_string());
    assert_eq!(
        names["snp_pcr07"][0],
        values.pcrs[&7][0].to_string(),
        "PCR names carry two digits"
    );
}

#[test]
fn explain_says_what_a_captured_policy_accepts() {
    let values = captured(&real_evidence()[0]);
    let text = explain(&values.to_policy().unwrap(), &FirmwareCatalog::builtin());
    for needle in [
        "accepts AMD SEV-SNP evidence",
        &values.id_key_digests[0].to_string(),
        "debugging: refused",
        "reported TCB at least",
        "on Milan",
        "products other than Milan have no floor",
        "PCR 7, Secure Boot state",
    ] {
        assert!(text.contains(needle), "{needle}\n{text}");
    }
    let preset = explain(
        &EvidencePolicy::preset("azure-tdx").unwrap(),
        &FirmwareCatalog::builtin(),
    );
    let vmpl2 = EvidencePolicy::from_document(
        serde_json::json!({"report": {"required_vmpl": 2}, "event_log": {"allowed_kernel_cmdlines": ["/vmlinuz root=*"]}}),
        "azure-cvm",
    )
    .unwrap();
    let text = explain(&vmpl2, &FirmwareCatalog::builtin());
    assert!(
        text.contains("no vTPM evidence meets this policy"),
        "{text}"
    );
    assert!(
        text.contains("anything starting with \"/vmlinuz root=\""),
        "{text}"
    );
    assert!(preset.contains("MRTD: any known"), "{preset}");
    assert!(preset.contains("azure-tdx-paravisor-2026-02"), "{preset}");
    assert!(preset.contains("none pinned"), "{preset}");
}

// --- The command line. ---

fn snp_vtpm(args: &[&str]) -> (i32, String, String) {
    snp_vtpm_testkit::run_program(std::path::Path::new(env!("CARGO_BIN_EXE_snp-vtpm")), args)
}

#[test]
fn the_command_writes_nothing_unless_verification_succeeds() {
    let dir = std::env::temp_dir().join(format!("snp-vtpm-capture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let vectors = snp_vtpm_testkit::vectors::dir();
    let evidence = vectors.join("azure/milan-v3/evidence-v0.json");
    let out = dir.join("policy.toml");
    let base = |nonce: &str| {
        vec![
            "policy".to_string(),
            "capture".into(),
            evidence.display().to_string(),
            "--nonce".into(),
            nonce.into(),
            "--offline".into(),
            "--at".into(),
            "2025-06-01T00:00:00Z".into(),
            "-o".into(),
            out.display().to_string(),
        ]
    };
    let strs = |v: &[String]| {
        v.iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\u{0}")
    };
    let run = |v: Vec<String>| {
        let joined = strs(&v);
        let args: Vec<&str> = joined.split('\u{0}').collect();
        snp_vtpm(&args)
    };

    // The wrong nonce: exit 2 as `verify`, no file.
    let (code, _, stderr) = run(base("not the nonce"));
    assert_eq!(code, 2, "{stderr}");
    assert!(!out.exists());
    // With --json, the failure is the verdict document.
    let mut json = base("not the nonce");
    json.push("--json".into());
    let (code, stdout, _) = run(json);
    assert_eq!(code, 2);
    let verdict: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(verdict["failed_check"], "nonce");
    assert!(!out.exists());
    // --no-nonce: a capture needs fresh evidence.
    let mut no_nonce = base("x");
    no_nonce.retain(|a| a != "--nonce" && a != "x");
    no_nonce.push("--no-nonce".into());
    let (code, _, stderr) = run(no_nonce);
    assert_eq!(code, 1, "{stderr}");
    assert!(!out.exists());
    // RVPS values are exact: they cannot be merged.
    let mut rvps_merge = base("challenge");
    rvps_merge.extend([
        "--format".into(),
        "rvps".into(),
        "--merge".into(),
        "x.toml".into(),
    ]);
    let (code, _, stderr) = run(rvps_merge);
    assert_eq!(code, 1);
    assert!(stderr.contains("does not combine with --merge"), "{stderr}");
    // A PCR list that is not one: exit 1 before anything is verified.
    let mut bad = base("challenge");
    bad.extend(["--pcrs".into(), "7,99".into()]);
    let (code, _, stderr) = run(bad);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("--pcrs"), "{stderr}");

    // The right one: the policy, which `verify --policy` accepts for this evidence.
    let (code, _, stderr) = run(base("challenge"));
    assert_eq!(code, 0, "{stderr}");
    let verify_with = |policy: &std::path::Path| {
        snp_vtpm(&[
            "verify",
            evidence.to_str().unwrap(),
            "--nonce",
            "challenge",
            "--offline",
            "--at",
            "2025-06-01T00:00:00Z",
            "--policy",
            policy.to_str().unwrap(),
        ])
    };
    let (code, _, stderr) = verify_with(&out);
    assert_eq!(code, 0, "{stderr}");
    // ... and refuses another VM's as a policy failure.
    let (code, _, _) = snp_vtpm(&[
        "verify",
        vectors
            .join("azure/milan-v3-userdata/evidence-v2.json")
            .to_str()
            .unwrap(),
        "--nonce-hex",
        "982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef",
        "--offline",
        "--at",
        "2025-06-01T00:00:00Z",
        "--policy",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 3);

    // A merge that cannot be done is exit 1, as a JSON document with --json, and leaves the
    // policy as it was.
    let hand = dir.join("hand.toml");
    let text = std::fs::read_to_string(&out).unwrap();
    std::fs::write(&hand, format!("require_crl = true\n{text}")).unwrap();
    let mut merge = base("challenge");
    merge.extend([
        "--merge".into(),
        hand.display().to_string(),
        "--format".into(),
        "toml".into(),
        "--json".into(),
    ]);
    let before = std::fs::read(&out).unwrap();
    let (code, stdout, _) = run(merge);
    assert_eq!(code, 1, "{stdout}");
    let verdict: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        verdict["error"].as_str().unwrap().contains("require_crl"),
        "{verdict}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), before);

    // A policy file starting with a byte-order mark reads as any other.
    let bom = dir.join("bom.toml");
    std::fs::write(&bom, format!("\u{feff}{text}")).unwrap();
    let (code, _, stderr) = verify_with(&bom);
    assert_eq!(code, 0, "{stderr}");

    // -o through a link to nothing writes the link's target and keeps the link; -o to a pipe
    // hands the reader the whole policy.
    let target = dir.join("target.toml");
    let link = dir.join("link.toml");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let mut through_link = base("challenge");
    let at = through_link.len() - 1;
    through_link[at] = link.display().to_string();
    let (code, _, stderr) = run(through_link);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), text);
    let fifo = dir.join("fifo");
    snp_vtpm_testkit::make_fifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let mut to_fifo = base("challenge");
    let at = to_fifo.len() - 1;
    to_fifo[at] = fifo.display().to_string();
    let (code, _, stderr) = run(to_fifo);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(reader.join().unwrap(), text);

    // Explain reads it.
    let (code, stdout, _) = snp_vtpm(&["policy", "explain", out.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(stdout.contains("accepts AMD SEV-SNP evidence"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn captured_policies_refuse_a_check_kind_they_do_not_pin_as_usual() {
    // Capture keeps the preset's rules: unknown firmware is still refused by identity.
    let sample = &real_evidence()[2];
    let values = captured(sample);
    let error = Verifier::new(values.to_policy().unwrap())
        .with_firmware_catalog(Arc::new(FirmwareCatalog::empty()))
        .verify(
            &sample.evidence,
            ExpectedNonce::Exactly(&sample.nonce),
            &sample.certificates,
            &real_time(),
        )
        .map(|_| ());
    // The captured lists name the firmware, so it is known even without the catalog.
    assert!(error.is_ok(), "{error:?}");
    let mut other_firmware = values.clone();
    other_firmware.id_key_digests = vec![hcl_parse::Hex([0x11; 48])];
    let error = verify_real(sample, other_firmware.to_policy().unwrap()).unwrap_err();
    assert_eq!(
        (error.kind(), error.check()),
        (ErrorKind::Policy, Check::Policy),
        "{error}"
    );
}

// --- The event log part, on synthetic evidence whose quote covers the log's replay. ---

const CMDLINE: &str = "/vmlinuz-6.8.0 root=/dev/vda1 ro console=ttyS0";

fn with_log(quoted: &[u8], carried: Option<&[u8]>) -> (Evidence, Certificates) {
    let made = snp_vtpm_testkit::eventlog::synthetic_evidence_with_log(
        TestPki::shared(),
        &SyntheticReport::new(&[], [0; 64]),
        NONCE,
        quoted,
        carried,
    );
    let evidence = Evidence::from_json(&made.json, snp_vtpm::DEFAULT_SIZE_LIMIT).unwrap();
    let mut certificates = Certificates::default();
    certificates.add_file(made.chain_pem.as_bytes()).unwrap();
    (evidence, certificates)
}

#[test]
fn the_event_log_part_pins_secure_boot_command_lines_and_boot_images() {
    use snp_vtpm_testkit::eventlog::linux_boot_log_with;
    let log = linux_boot_log_with(true, CMDLINE, b"shim image", None);
    let evidence = with_log(&log, Some(&log));
    let verified = verify_synthetic(
        &evidence,
        EvidencePolicy::preset("azure-cvm").unwrap(),
        lab_catalog(),
        false,
    )
    .unwrap();
    // Only PCR 0 pinned: what refuses below is the event-log part alone.
    let values = capture(
        &verified,
        &CaptureOptions {
            pcrs: Some(vec![0]),
            ..CaptureOptions::default()
        },
    )
    .unwrap();
    let log_values = values.event_log.clone().unwrap();
    assert_eq!(log_values.secure_boot, Some(true));
    assert_eq!(log_values.kernel_cmdlines, [CMDLINE]);
    let paths: Vec<Option<&str>> = log_values
        .boot_images
        .iter()
        .map(|(_, p)| p.as_deref())
        .collect();
    assert_eq!(
        paths,
        [
            Some("\\EFI\\ubuntu\\shimx64.efi"),
            Some("\\EFI\\ubuntu\\grubx64.efi")
        ]
    );
    let text = to_toml(&values, &FirmwareCatalog::builtin());
    assert!(
        text.contains("# \\\\EFI\\\\ubuntu\\\\shimx64.efi"),
        "{text}"
    );
    let policy = through_toml(&values);
    assert_eq!(policy.event_log.allowed_boot_images.len(), 2);
    verify_synthetic(&evidence, policy.clone(), lab_catalog(), false).unwrap();

    let refused = |log: Vec<u8>| {
        verify_synthetic(
            &with_log(&log, Some(&log)),
            policy.clone(),
            lab_catalog(),
            false,
        )
        .unwrap_err()
    };
    let error = refused(linux_boot_log_with(
        true,
        "/vmlinuz-6.8.0 init=/bin/sh",
        b"shim image",
        None,
    ));
    assert!(
        matches!(
            error,
            Error::Policy(PolicyViolation::CmdlineNotAllowed { .. })
        ),
        "{error}"
    );
    let error = refused(linux_boot_log_with(false, CMDLINE, b"shim image", None));
    assert!(
        matches!(error, Error::Policy(PolicyViolation::SecureBoot { .. })),
        "{error}"
    );
    let error = refused(linux_boot_log_with(true, CMDLINE, b"another shim", None));
    assert!(
        matches!(&error, Error::Policy(PolicyViolation::BootImageNotAllowed { path: Some(p), .. }) if p.contains("shimx64")),
        "{error}"
    );
    let error = refused(linux_boot_log_with(
        true,
        CMDLINE,
        b"shim image",
        Some(b"hidden image"),
    ));
    assert!(
        matches!(
            error,
            Error::Policy(PolicyViolation::OpaqueBootEvents { pcr: 4, .. })
        ),
        "{error}"
    );
    let error = verify_synthetic(&with_log(&log, None), policy, lab_catalog(), false).unwrap_err();
    assert!(
        matches!(error, Error::Policy(PolicyViolation::NoEventLog)),
        "{error}"
    );

    // A command line ending in '*' would read as a prefix in a policy: it is not pinned.
    let starred = linux_boot_log_with(
        true,
        "/vmlinuz-6.8.0 root=/dev/vda1 opt=*",
        b"shim image",
        None,
    );
    let verified = verify_synthetic(
        &with_log(&starred, Some(&starred)),
        EvidencePolicy::preset("azure-cvm").unwrap(),
        lab_catalog(),
        false,
    )
    .unwrap();
    let values = capture(&verified, &CaptureOptions::default()).unwrap();
    assert!(values.event_log.unwrap().kernel_cmdlines.is_empty());
}
