//! `snp_vtpm::decode`, the decoding `show --json` prints and the bindings return: every real
//! artifact decodes and follows docs/show.schema.json, certificates say what AMD certified and
//! whether they are valid at the given time, and keys carry the verdict's fingerprint.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use hcl_parse::Generation;
use serde_json::Value;
use snp_vtpm::decode::{DecodeOptions, decode};
use snp_vtpm::snp_verify::UnixTime;
use snp_vtpm_testkit::pki::{CrlSpec, TestPki};
use snp_vtpm_testkit::schema::assert_follows;
use snp_vtpm_testkit::vectors;

/// 2026-01-01: inside the validity of every real certificate but the expired AK certificates.
const AT: UnixTime = UnixTime::from_secs(1_767_225_600);

fn options_at(at: Option<UnixTime>) -> DecodeOptions {
    DecodeOptions {
        at,
        ..DecodeOptions::default()
    }
}

/// Decodes bytes at [`AT`] and checks the JSON against the schema.
fn decoded(bytes: &[u8]) -> Value {
    let decoded = decode(bytes, &options_at(Some(AT))).expect("decodes");
    let json = serde_json::to_string(decoded.json()).unwrap();
    assert!(
        decoded.text().starts_with("DECODED ONLY: "),
        "the text says nothing is verified"
    );
    assert_follows("show.schema.json", &json)
}

fn shown(relative: &str) -> Value {
    decoded(&vectors::read(relative))
}

#[test]
fn every_real_artifact_decodes_and_follows_the_schema() {
    let files = [
        ("azure/milan-v2/hcl-report.bin", "HCL report"),
        ("azure/milan-v2/quote.bin", "TPM quote with signature"),
        (
            "azure/milan-v2/tpm-quote-v1.json",
            "TPM quote with signature",
        ),
        ("azure/milan-v2/vcek.pem", "certificates"),
        ("azure/milan-2023/hcl-report-snp.bin", "HCL report"),
        ("azure/milan-2023/certs.pem", "certificates"),
        ("azure/milan-v3/evidence-v0.json", "evidence (V0)"),
        ("azure/milan-v3-userdata/evidence-v2.json", "evidence (V2)"),
        ("azure/genoa-v3/evidence-genoa.json", "evidence"),
        ("azure/genoa-v3/vcek-genoa.pem", "certificates"),
        ("azure/quote-only/quote.bin", "TPM quote"),
        ("azure/quote-only/akpub.pem", "public key"),
        ("azure/tdx/hcl-report-tdx.bin", "HCL report"),
        ("azure/tdx-vm1/td-quote.bin", "TD quote (Intel TDX)"),
        ("azure/tdx-vm1/hcl-report.bin", "HCL report"),
        ("azure/tdx-vm1/ak-cert-nv-padded.bin", "AK certificate"),
        ("azure/tdx-vm1/ak-cert.der", "certificates"),
        (
            "azure/ak-certs/trusted-launch-mismatch/ak.pub",
            "public key",
        ),
        ("snp/milan/report_milan.hex", "SNP report"),
        ("snp/milan/vcek_milan.der", "certificates"),
        ("snp/milan/cert_chain_milan", "certificates"),
        ("snp/turin/vcek_turin.der", "certificates"),
        ("amd/genoa/ark.pem", "certificates"),
        ("intel/intel-sgx-root-ca.pem", "certificates"),
        (
            "azure/vtpm-ca/azure-virtual-tpm-root-2023.pem",
            "certificates",
        ),
        ("eventlog/ubuntu-2404-amd-sevsnp.bin", "TCG event log"),
        ("eventlog/rhel8-uefi.bin", "TCG event log"),
    ];
    for (file, kind) in files {
        let json = shown(file);
        assert!(
            json["kind"].as_str().unwrap().starts_with(kind),
            "{file}: {}",
            json["kind"]
        );
    }
    let crl = TestPki::shared().crl(
        Generation::Milan,
        &CrlSpec::new(1_700_000_000, 1_800_000_000),
    );
    let json = decoded(&crl);
    assert_eq!(json["kind"], "CRL");
    assert_eq!(json["validity"]["state"], "current");
}

#[test]
fn a_vcek_says_what_amd_certified_and_matches_its_report() {
    let report = shown("azure/milan-v2/hcl-report.bin");
    let chain = shown("azure/milan-v2/vcek.pem");
    let certificates = chain["certificates"].as_array().unwrap();
    let vcek = &certificates[0];
    let amd = &vcek["amd_extensions"];
    assert_eq!(amd["role"], "VCEK");
    assert_eq!(amd["product_name"], "Milan-B0");
    assert_eq!(amd["product"], "Milan");
    // The VCEK AMD issued for this chip and TCB: its hwID is the report's chip id, its SPLs
    // the report's reported TCB.
    assert_eq!(amd["hw_id"], report["snp_report"]["chip_id"]);
    assert_eq!(amd["tcb"], report["snp_report"]["tcb"]["reported"]);
    assert_eq!(vcek["key"]["type"], "ECDSA P-384");
    assert_eq!(vcek["signature_algorithm"], "RSASSA-PSS");
    assert_eq!(vcek["pinned_amd_certificate"], Value::Null);
    // The ASK and ARK after it are the pinned ones, named.
    assert_eq!(certificates[1]["pinned_amd_certificate"], "Milan ASK");
    assert_eq!(certificates[2]["pinned_amd_certificate"], "Milan ARK");
    assert_eq!(certificates[2]["key"]["type"], "RSA");
    assert_eq!(certificates[2]["key"]["bits"], 4096);
    assert_eq!(certificates[2]["amd_extensions"], Value::Null);

    // Turin: an 8-byte hwID, an FMC SPL, struct version 1.
    let turin = &shown("snp/turin/vcek_turin.der")["certificates"][0]["amd_extensions"];
    assert_eq!(turin["product"], "Turin");
    assert_eq!(turin["struct_version"], 1);
    assert_eq!(turin["hw_id"].as_str().unwrap().len(), 16);
    assert!(turin["tcb"]["fmc"].is_u64(), "{turin}");

    // The Intel and Azure roots are recognised as pinned.
    let intel = &shown("intel/intel-sgx-root-ca.pem")["certificates"][0];
    assert_eq!(intel["pinned_intel_sgx_root"], true);
    assert_eq!(intel["key"]["type"], "ECDSA P-256");
    let azure = &shown("azure/vtpm-ca/azure-virtual-tpm-root-2023.pem")["certificates"][0];
    assert_eq!(azure["pinned_azure_vtpm_root"], true);
}

#[test]
fn validity_is_judged_at_the_time_given() {
    // Milan's ARK: valid from 2020-10-22 to 2045-10-22.
    let ark = vectors::read("amd/milan/ark.pem");
    let state = |at: Option<UnixTime>| {
        decode(&ark, &options_at(at)).unwrap().json()["certificates"][0]["validity"].clone()
    };
    assert_eq!(
        state(Some(UnixTime::from_secs(1_577_836_800)))["state"],
        "not yet valid"
    );
    assert_eq!(state(Some(AT))["state"], "valid");
    assert_eq!(state(Some(AT))["at"], "2026-01-01T00:00:00Z");
    assert_eq!(
        state(Some(UnixTime::from_secs(2_400_000_000)))["state"],
        "expired"
    );
    assert_eq!(state(None), Value::Null, "no time, no verdict on validity");
}

#[test]
fn keys_carry_the_fingerprint_the_verdict_uses() {
    // The AK certificate read from NV certifies the runtime claims' AK of the same VM.
    let padded = vectors::read("azure/tdx-vm1/ak-cert-nv-padded.bin");
    let der = vectors::read("azure/tdx-vm1/ak-cert.der");
    let from_nv = decoded(&padded);
    assert_eq!(
        from_nv["padding_bytes"].as_u64().unwrap() as usize,
        padded.len() - der.len()
    );
    let certificate = &from_nv["certificates"][0];
    assert_eq!(certificate["vtpm_ak_certificate"]["vm_id"], "353c6d9a70bc");
    assert_eq!(
        certificate["sha256"],
        shown("azure/tdx-vm1/ak-cert.der")["certificates"][0]["sha256"]
    );
    let claims_ak = &shown("azure/tdx-vm1/hcl-report.bin")["attestation_key"];
    assert_eq!(certificate["key"]["fingerprint"], claims_ak["fingerprint"]);
    assert_eq!(claims_ak["type"], "RSA");

    // The Trusted Launch vector's key was made in the guest: not the certified one.
    let guest_key = shown("azure/ak-certs/trusted-launch-mismatch/ak.pub");
    let certified = shown("azure/ak-certs/trusted-launch-mismatch/akcert_0x01C101D0.der");
    assert_eq!(guest_key["key"]["type"], "RSA");
    assert_ne!(
        guest_key["key"]["fingerprint"],
        certified["certificates"][0]["key"]["fingerprint"]
    );
}

#[test]
fn reports_are_decoded_with_the_verdicts_shapes_and_held_against_the_policy() {
    let evidence = shown("azure/milan-v3/evidence-v0.json");
    let report = &evidence["snp_report"];
    assert_eq!(report["product"], "Milan");
    assert!(report["policy"]["raw"].is_u64());
    assert!(report["platform_info"].is_u64());
    assert!(report["tcb"]["reported"]["microcode"].is_u64());
    assert_eq!(
        evidence["policy_evaluation"]["firmware_identity"]["known_firmware"],
        true
    );
    // A v2 report does not name its product: the layout used is said.
    let v2 = shown("azure/milan-v2/hcl-report.bin");
    assert_eq!(v2["snp_report"]["product"], Value::Null);
    assert!(
        v2["snp_report"]["tcb_layout"]
            .as_str()
            .unwrap()
            .contains("Milan")
    );

    // Unknown firmware under an empty catalog: the summary names the check.
    let options = DecodeOptions {
        catalog: std::sync::Arc::new(snp_vtpm::FirmwareCatalog::empty()),
        ..options_at(Some(AT))
    };
    let bytes = vectors::read("azure/milan-v3/evidence-v0.json");
    let decoded = decode(&bytes, &options).unwrap();
    let outcome = decoded.policy_outcome().expect("a report is evaluated");
    assert_eq!(outcome.unmet(), ["firmware_identity"]);
    assert!(decoded.text().contains("checks not met: firmware_identity"));
}

#[test]
fn garbage_is_an_input_error_never_a_panic() {
    let hcl = vectors::read("azure/milan-v2/hcl-report.bin");
    let mut inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"garbage".to_vec(),
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".to_vec(),
        b"{\"hcl_report\": 1}".to_vec(),
    ];
    for cut in [4, 32, 100, 1200, hcl.len() - 1] {
        inputs.push(hcl[..cut].to_vec());
    }
    for input in inputs {
        match decode(&input, &DecodeOptions::default()) {
            Ok(decoded) => {
                // What still decodes (a broken PEM key, JSON that is not evidence) says so.
                let json = serde_json::to_string(decoded.json()).unwrap();
                assert_follows("show.schema.json", &json);
            }
            Err(e) => assert_eq!(e.kind(), snp_vtpm::ErrorKind::Input, "{e}"),
        }
    }
}

#[test]
fn the_schema_refuses_other_shapes() {
    let validator = snp_vtpm_testkit::schema::validator("show.schema.json");
    let good = shown("azure/milan-v3/evidence-v0.json");
    assert!(validator.is_valid(&good));
    type Mutation = (&'static str, fn(&mut Value));
    let mutations: [Mutation; 5] = [
        ("a TCB as a string", |v| {
            v["snp_report"]["tcb"]["reported"] = "0x7300000000000003".into()
        }),
        ("hex in upper case", |v| {
            v["snp_report"]["measurement"] = v["snp_report"]["measurement"]
                .as_str()
                .unwrap()
                .to_uppercase()
                .into()
        }),
        ("a number as a string", |v| {
            v["snp_report"]["platform_info"] = "0x3".into()
        }),
        ("an unknown field", |v| v["surprise"] = true.into()),
        ("no decoded_only", |v| {
            v.as_object_mut().unwrap().remove("decoded_only");
        }),
    ];
    for (what, mutate) in mutations {
        let mut bad = good.clone();
        mutate(&mut bad);
        assert!(!validator.is_valid(&bad), "{what} passed the schema");
    }
}

/// What the outside review of the decoding found, each kept fixed.
#[test]
fn review_findings_stay_fixed() {
    let options = options_at(Some(AT));
    // An all-zero blob (an NV index nothing was written to) is not an event log.
    let error = decode(&[0u8; 4096], &options).unwrap_err();
    assert!(
        error.to_string().contains("all 4096 bytes are zero"),
        "{error}"
    );
    // Evidence after whitespace is evidence; evidence that does not parse says why.
    let mut spaced = b"\n  ".to_vec();
    spaced.extend(vectors::read("azure/milan-v3/evidence-v0.json"));
    assert!(
        decoded(&spaced)["kind"]
            .as_str()
            .unwrap()
            .starts_with("evidence")
    );
    let error = decode(br#"{"version": 3, "hcl_report": "AA"}"#, &options).unwrap_err();
    assert!(error.to_string().contains("evidence version 3"), "{error}");
    // A certificate followed by zeros is not called an AK certificate unless it is one.
    let mut ark = vectors::read_pem("amd/milan/ark.pem").swap_remove(0);
    ark.extend([0u8; 16]);
    let padded = decoded(&ark);
    assert_eq!(
        padded["kind"],
        "certificate (DER with zero padding, trimmed)"
    );
    assert_eq!(padded["padding_bytes"], 16);
    // Runtime claims that are not an object still follow the schema.
    let hcl = vectors::read("azure/milan-v2/hcl-report.bin");
    let json = serde_json::to_string(decode(&hcl, &options).unwrap().json()).unwrap();
    assert_follows("show.schema.json", &json);
    // A v2 report's evaluation says which product's floors it used.
    let v2 = shown("azure/milan-v2/hcl-report.bin");
    assert!(
        v2["policy_evaluation"]["note"]
            .as_str()
            .unwrap()
            .contains("judged as Milan's")
    );
}
