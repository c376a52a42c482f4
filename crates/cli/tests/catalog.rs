//! The firmware catalog against the real vectors (every entry is carried by one that verifies),
//! local catalog files at run time, and how a policy's allow-lists narrow what it knows.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::sync::Arc;

use snp_verify::UnixTime;
use snp_vtpm::{
    Certificates, Check, ErrorKind, Evidence, EvidencePolicy, ExpectedNonce, FirmwareCatalog,
    IdentityKind, Verifier, VerifyOptions,
};
use snp_vtpm_testkit::azure::{SyntheticReport, synthetic_evidence, test_firmware_catalog};
use snp_vtpm_testkit::evidence::{
    REAL_EVIDENCE_TIME, TDX_EVIDENCE_TIME, real_evidence, tdx_vm1_collateral, tdx_vm1_evidence,
};
use snp_vtpm_testkit::pki::TestPki;

/// Catalog entry names matched by each real evidence, verified under the default presets.
fn matches_of_the_real_vectors() -> BTreeMap<String, Vec<String>> {
    let mut matched = BTreeMap::new();
    for sample in real_evidence() {
        let verified = Verifier::new(EvidencePolicy::preset("azure-cvm").unwrap())
            .verify(
                &sample.evidence,
                ExpectedNonce::Exactly(&sample.nonce),
                &sample.certificates,
                &VerifyOptions::at(UnixTime::from_secs(REAL_EVIDENCE_TIME)),
            )
            .unwrap_or_else(|e| panic!("{}: {e}", sample.name));
        let firmware = verified.firmware().unwrap();
        matched.insert(sample.name.to_string(), firmware.catalog_entries.clone());
    }
    let tdx = Verifier::new(EvidencePolicy::preset("azure-tdx").unwrap())
        .verify(
            &tdx_vm1_evidence(),
            ExpectedNonce::Exactly(&[0; 32]),
            &tdx_vm1_collateral(),
            &VerifyOptions::at(UnixTime::from_secs(TDX_EVIDENCE_TIME)),
        )
        .unwrap();
    matched.insert(
        "tdx-vm1".to_string(),
        tdx.tdx().unwrap().catalog_entries.clone(),
    );
    matched
}

#[test]
fn every_catalog_entry_is_carried_by_a_real_vector_that_verifies() {
    let catalog = FirmwareCatalog::builtin();
    let matched = matches_of_the_real_vectors();
    for (sample, names) in &matched {
        // Each real evidence is known by its ID key (SNP) and its own build, or its MRTD.
        let kinds: Vec<IdentityKind> = names
            .iter()
            .map(|name| {
                catalog
                    .entries
                    .iter()
                    .find(|e| &e.name == name)
                    .unwrap()
                    .kind
            })
            .collect();
        let expected: &[IdentityKind] = if sample == "tdx-vm1" {
            &[IdentityKind::Mrtd]
        } else {
            &[IdentityKind::IdKeyDigest, IdentityKind::Measurement]
        };
        assert_eq!(kinds, expected, "{sample}: {names:?}");
    }
    for entry in &catalog.entries {
        let carriers: Vec<&String> = matched
            .iter()
            .filter(|(_, names)| names.contains(&entry.name))
            .map(|(sample, _)| sample)
            .collect();
        assert!(
            !carriers.is_empty(),
            "{}: no real vector that verifies carries {}",
            entry.name,
            entry.value
        );
        // The entry's source names the vectors it was read from.
        for sample in carriers {
            assert!(
                entry.source.contains(&format!("azure/{sample}")),
                "{}: the source does not name azure/{sample}: {}",
                entry.name,
                entry.source
            );
        }
    }
}

fn synthetic() -> (Evidence, Certificates, Vec<u8>) {
    let made = synthetic_evidence(
        TestPki::shared(),
        &SyntheticReport::new(&[], [0; 64]),
        b"catalog nonce",
        true,
    );
    let evidence = Evidence::from_json(&made.json, snp_vtpm::DEFAULT_SIZE_LIMIT).unwrap();
    let mut certificates = Certificates::default();
    certificates.add_file(made.chain_pem.as_bytes()).unwrap();
    (evidence, certificates, made.nonce)
}

#[test]
fn a_local_catalog_makes_firmware_known_and_the_verdict_names_it() {
    let (evidence, certificates, nonce) = synthetic();
    let verify = |catalog: Arc<FirmwareCatalog>, policy: EvidencePolicy| {
        Verifier::with_anchors(TestPki::shared().trust_anchors(), policy)
            .with_firmware_catalog(catalog)
            .verify(
                &evidence,
                ExpectedNonce::Exactly(&nonce),
                &certificates,
                &VerifyOptions::at(UnixTime::from_secs(REAL_EVIDENCE_TIME)),
            )
    };
    let azure = || EvidencePolicy::preset("azure-cvm").unwrap();

    // The built-in catalog does not know the test firmware.
    let error = verify(FirmwareCatalog::builtin(), azure()).unwrap_err();
    assert_eq!(
        (error.check(), error.kind()),
        (Check::FirmwareIdentity, ErrorKind::Policy)
    );

    // A file that extends it does, and the verdict names the entry.
    let extended = FirmwareCatalog::builtin()
        .with_file(test_firmware_catalog(false).as_bytes(), "lab.json")
        .unwrap();
    let verified = verify(Arc::new(extended.clone()), azure()).unwrap();
    let firmware = verified.firmware().unwrap();
    assert_eq!(firmware.catalog_entries, ["lab-firmware"]);
    assert!(firmware.id_key_allowed && !firmware.measurement_allowed);
    let json = serde_json::to_value(&verified).unwrap();
    assert_eq!(json["firmware"]["catalog_entries"][0], "lab-firmware");

    // A policy's allow-list narrows what the catalog knows: known firmware the list does not
    // name is a policy failure on the ID-key digest, not unknown firmware.
    let narrowed = EvidencePolicy::from_document(
        serde_json::json!({"report": {"allowed_id_key_digests": ["ab".repeat(48)]}}),
        "azure-cvm",
    )
    .unwrap();
    let error = verify(Arc::new(extended), narrowed).unwrap_err();
    assert_eq!(
        (error.check(), error.kind()),
        (Check::Policy, ErrorKind::Policy),
        "{error}"
    );
    assert!(
        error.to_string().contains("ID-key digest: expected abab"),
        "{error}"
    );

    // A file that replaces the catalog with nothing makes the real firmware unknown too.
    let empty = FirmwareCatalog::builtin()
        .with_file(
            br#"{"format": 1, "replace": true, "entries": []}"#,
            "empty.json",
        )
        .unwrap();
    let sample = &real_evidence()[0];
    let error = Verifier::new(azure())
        .with_firmware_catalog(Arc::new(empty))
        .verify(
            &sample.evidence,
            ExpectedNonce::Exactly(&sample.nonce),
            &sample.certificates,
            &VerifyOptions::at(UnixTime::from_secs(REAL_EVIDENCE_TIME)),
        )
        .unwrap_err();
    assert_eq!(error.check(), Check::FirmwareIdentity, "{error}");
}

fn snp_vtpm(args: &[&str]) -> (i32, String, String) {
    snp_vtpm_testkit::run_program(std::path::Path::new(env!("CARGO_BIN_EXE_snp-vtpm")), args)
}

#[test]
fn policy_catalog_lists_the_built_in_catalog_and_local_files() {
    let (code, stdout, stderr) = snp_vtpm(&["policy", "catalog", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let listed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let builtin = FirmwareCatalog::builtin();
    assert_eq!(listed, serde_json::to_value(&*builtin).unwrap());
    assert_eq!(
        listed["entries"].as_array().unwrap().len(),
        builtin.entries.len()
    );

    let (code, stdout, _) = snp_vtpm(&["policy", "catalog"]);
    assert_eq!(code, 0);
    for entry in &builtin.entries {
        assert!(stdout.contains(&entry.name), "{stdout}");
        assert!(stdout.contains(&entry.value.to_string()), "{stdout}");
    }

    let dir = std::env::temp_dir().join(format!("snp-vtpm-catalog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lab = dir.join("lab.json");
    std::fs::write(&lab, test_firmware_catalog(false)).unwrap();
    let (code, stdout, stderr) = snp_vtpm(&[
        "policy",
        "catalog",
        "--json",
        "--firmware-catalog",
        lab.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let listed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        listed["entries"].as_array().unwrap().len(),
        builtin.entries.len() + 1
    );
    assert_eq!(listed["version"], format!("{}+lab-1", builtin.version));

    // A broken file is a usage error naming the flag and the file.
    let broken = dir.join("broken.json");
    std::fs::write(&broken, r#"{"format": 1, "entries": [{"name": "x"}]}"#).unwrap();
    let (code, _, stderr) = snp_vtpm(&[
        "policy",
        "catalog",
        "--firmware-catalog",
        broken.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("--firmware-catalog") && stderr.contains("broken.json"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn verify_report_uses_the_catalog_given() {
    let dir = std::env::temp_dir().join(format!("snp-vtpm-catalog-raw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The SNP report inside the milan-v2 HCL report (after the 32-byte HCL header).
    let hcl = snp_vtpm_testkit::vectors::read("azure/milan-v2/hcl-report.bin");
    let raw = dir.join("report.bin");
    std::fs::write(&raw, &hcl[32..32 + 1184]).unwrap();
    let empty = dir.join("empty.json");
    std::fs::write(&empty, r#"{"format": 1, "replace": true, "entries": []}"#).unwrap();
    let vcek = snp_vtpm_testkit::vectors::dir().join("azure/milan-v2/vcek.pem");
    let args = |catalog: Option<&str>| {
        let mut args = vec![
            "verify-report".to_string(),
            "--report".into(),
            raw.display().to_string(),
            "--vcek".into(),
            vcek.display().to_string(),
            "--offline".into(),
            "--at".into(),
            "2025-06-01T00:00:00Z".into(),
            "--preset".into(),
            "azure-cvm".into(),
        ];
        if let Some(catalog) = catalog {
            args.extend(["--firmware-catalog".into(), catalog.into()]);
        }
        args
    };
    let run = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        snp_vtpm(&refs)
    };
    let (code, _, stderr) = run(args(None));
    assert_eq!(code, 0, "{stderr}");
    // Withdrawing every entry withdraws them here too.
    let (code, _, stderr) = run(args(Some(empty.to_str().unwrap())));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("unknown firmware"), "{stderr}");
    let (code, _, _) = run(args(Some("/nonexistent/catalog.json")));
    assert_eq!(code, 1);
    let _ = std::fs::remove_dir_all(&dir);
}
