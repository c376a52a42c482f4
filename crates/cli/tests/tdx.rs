//! Azure TDX evidence through the platform seam: the real TDX CVM sample (HCL report with a
//! TDREPORT, the TD quote from IMDS, its Intel collateral, the vTPM quote and the AK
//! certificate) verified end to end, and each way it must be refused.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::Command;
use std::sync::Arc;

use snp_vtpm::snp_verify::UnixTime;
use snp_vtpm::tdx_verify::TcbStatus;

use snp_vtpm::{
    AkCertificateClaims, Certificates, Check, Error, ErrorKind, Evidence, EvidencePolicy,
    ExpectedNonce, Platform, VerifiedEvidence, Verifier, VerifyOptions,
};
use snp_vtpm_testkit::evidence::{TDX_EVIDENCE_TIME, tdx_vm1_collateral, tdx_vm1_evidence};
use snp_vtpm_testkit::vectors;

const TIME: UnixTime = UnixTime::from_secs(TDX_EVIDENCE_TIME);
/// The attester used all-zero user-data: the nonce is 32 zero bytes.
const NONCE: [u8; 32] = [0; 32];

fn evidence() -> Evidence {
    tdx_vm1_evidence()
}

fn collateral() -> Certificates {
    tdx_vm1_collateral()
}

/// The paravisor MRTD of the sample, as the built-in firmware catalog has it.
fn paravisor_mrtd() -> hcl_parse::Hex<48> {
    let catalog = snp_vtpm::FirmwareCatalog::builtin();
    let mut mrtds = catalog
        .entries
        .iter()
        .filter(|e| e.kind == snp_vtpm::IdentityKind::Mrtd);
    mrtds.next().expect("the catalog has an MRTD").value
}

fn verify_with(
    policy: EvidencePolicy,
    evidence: &Evidence,
    certificates: &Certificates,
    options: VerifyOptions,
) -> Result<VerifiedEvidence, Error> {
    Verifier::new(policy).verify(
        evidence,
        ExpectedNonce::Exactly(&NONCE),
        certificates,
        &options,
    )
}

/// The verdict follows docs/verdict.schema.json.
fn assert_follows_schema(verdict: &serde_json::Value) {
    snp_vtpm_testkit::schema::assert_follows("verdict.schema.json", &verdict.to_string());
}

fn azure_tdx() -> EvidencePolicy {
    EvidencePolicy::preset("azure-tdx").unwrap()
}

fn strict(policy: serde_json::Value) -> EvidencePolicy {
    EvidencePolicy::from_document(policy, "azure-tdx").unwrap()
}

#[test]
fn the_real_tdx_cvm_evidence_verifies_under_azure_tdx() {
    let verified = verify_with(
        strict(serde_json::json!({ "require_report_bound_to_nonce": true, "ak_certificate": "required" })),
        &evidence(),
        &collateral(),
        VerifyOptions::at(TIME),
    )
    .unwrap();
    assert_eq!(verified.platform(), Platform::Tdx);
    assert!(verified.report().is_none() && verified.firmware().is_none());
    let tdx = verified.tdx().unwrap();
    assert_eq!(tdx.quote.tcb().status, TcbStatus::UpToDate);
    assert_eq!(tdx.quote.body().mr_td, paravisor_mrtd());
    assert!(tdx.mrtd_allowed && !tdx.unknown_firmware_allowed);
    assert_eq!(tdx.catalog_entries, ["azure-tdx-paravisor-2026-02"]);
    assert!(verified.report_bound_to_nonce());
    assert_eq!(verified.quote().nonce(), NONCE);
    let AkCertificateClaims::Verified(ak) = verified.ak_certificate() else {
        panic!(
            "the AK certificate is verified: {:?}",
            verified.ak_certificate()
        );
    };
    assert_eq!(ak.issuer(), "Global Virtual TPM CA - 03");
    let passed: Vec<Check> = verified.checks().iter().map(|c| c.check).collect();
    for check in [
        Check::TdQuote,
        Check::TdReportBinding,
        Check::ReportDataBinding,
        Check::QuoteSignature,
        Check::AkCertificate,
        Check::FirmwareIdentity,
        Check::Policy,
    ] {
        assert!(passed.contains(&check), "{check:?} in {passed:?}");
    }
    // The verdict as JSON names the platform and the TDX claims; no SNP report.
    let json = serde_json::to_value(&verified).unwrap();
    assert_eq!(json["platform"], "tdx");
    assert_eq!(json["tdx"]["tcb"]["status"], "UpToDate");
    assert_eq!(json["tdx"]["fmspc"], "90C06F000000");
    assert!(json.get("report").is_none());
}

#[test]
fn a_policy_for_the_other_platform_is_refused_as_input() {
    let error = verify_with(
        EvidencePolicy::preset("azure-cvm").unwrap(),
        &evidence(),
        &collateral(),
        VerifyOptions::at(TIME),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input, "{error}");
    assert!(
        error
            .to_string()
            .contains("the evidence comes from TDX hardware, but the policy is for SNP"),
        "{error}"
    );

    // And the reverse: real SNP evidence under azure-tdx.
    let snp = snp_vtpm_testkit::evidence::real_evidence().remove(0);
    let error = Verifier::new(azure_tdx())
        .verify(
            &snp.evidence,
            ExpectedNonce::Exactly(&snp.nonce),
            &snp.certificates,
            &VerifyOptions::at(UnixTime::from_secs(
                snp_vtpm_testkit::evidence::REAL_EVIDENCE_TIME,
            )),
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input, "{error}");
    assert!(
        error
            .to_string()
            .contains("the evidence comes from SNP hardware, but the policy is for TDX"),
        "{error}"
    );
}

#[test]
fn without_collateral_or_in_time_the_quote_is_not_trusted() {
    let error = verify_with(
        azure_tdx(),
        &evidence(),
        &Certificates::default(),
        VerifyOptions::at(TIME),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}");
    assert_eq!(error.check(), Check::Certificates);

    // 2026-03-21: after the TCB info's nextUpdate (2026-03-20).
    let error = verify_with(
        azure_tdx(),
        &evidence(),
        &collateral(),
        VerifyOptions::at(UnixTime::from_secs(1_774_051_200)),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Verification, "{error}");
    assert_eq!(error.check(), Check::TdQuote);
    assert!(
        error.to_string().contains("expected validity to include"),
        "{error}"
    );
}

#[test]
fn a_td_quote_or_tdreport_that_was_changed_is_refused() {
    // A byte of MRTD in the TD quote's body: the attestation key's signature breaks.
    let mut changed = evidence();
    changed.td_quote.as_mut().unwrap()[48 + 136] ^= 1;
    let error = verify_with(
        azure_tdx(),
        &changed,
        &collateral(),
        VerifyOptions::at(TIME),
    )
    .unwrap_err();
    assert_eq!(error.check(), Check::TdQuote, "{error}");
    assert!(
        error.to_string().contains("TD quote (header and body)"),
        "{error}"
    );

    // The HCL report's TDREPORT with another MRTD: not the one quoted.
    let mut changed = evidence();
    changed.hcl_report[0x20 + 0x210] ^= 1;
    let error = verify_with(
        azure_tdx(),
        &changed,
        &collateral(),
        VerifyOptions::at(TIME),
    )
    .unwrap_err();
    assert_eq!(error.check(), Check::TdReportBinding, "{error}");
    assert_eq!(error.kind(), ErrorKind::Verification);
    assert!(
        error
            .to_string()
            .contains("TDREPORT mr_td: expected the TD quote's 12bdbc16"),
        "{error}"
    );

    // The runtime claims changed: the TD quote's report_data no longer matches their hash.
    let mut changed = evidence();
    let position = changed
        .hcl_report
        .windows(6)
        .position(|w| w == b"\"kty\":")
        .unwrap();
    changed.hcl_report[position + 1] = b'K';
    let error = verify_with(
        azure_tdx(),
        &changed,
        &collateral(),
        VerifyOptions::at(TIME),
    )
    .unwrap_err();
    assert_eq!(error.check(), Check::ReportDataBinding, "{error}");

    // No TD quote at all.
    let mut changed = evidence();
    changed.td_quote = None;
    let error = verify_with(
        azure_tdx(),
        &changed,
        &collateral(),
        VerifyOptions::at(TIME),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input, "{error}");
}

#[test]
fn the_tdx_policy_decides_status_firmware_and_owner_fields() {
    // A TCB status the policy does not list: exit 3 with the status named.
    let only_hardening = EvidencePolicy::from_document(
        serde_json::json!({
            "replace": true,
            "platform": "tdx",
            "tdx": {
                "allowed_tcb_statuses": ["SWHardeningNeeded"],
                "allowed_mrtds": [paravisor_mrtd().to_string()],
            },
        }),
        "azure-tdx",
    )
    .unwrap();
    let error = verify_with(
        only_hardening,
        &evidence(),
        &collateral(),
        VerifyOptions::at(TIME),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Policy, "{error}");
    assert!(
        error
            .to_string()
            .contains("TDX TCB status: expected one of [SWHardeningNeeded], found UpToDate"),
        "{error}"
    );

    // An MRTD no catalog entry names: unknown firmware (exit 3), unless the caller accepts it.
    let no_mrtd = EvidencePolicy::from_document(
        serde_json::json!({ "replace": true, "platform": "tdx" }),
        "azure-tdx",
    )
    .unwrap();
    let without_catalog = |policy: EvidencePolicy| {
        Verifier::new(policy).with_firmware_catalog(Arc::new(snp_vtpm::FirmwareCatalog::empty()))
    };
    let error = without_catalog(no_mrtd.clone())
        .verify(
            &evidence(),
            ExpectedNonce::Exactly(&NONCE),
            &collateral(),
            &VerifyOptions::at(TIME),
        )
        .unwrap_err();
    assert_eq!(error.check(), Check::FirmwareIdentity, "{error}");
    assert_eq!(error.kind(), ErrorKind::Policy);
    assert!(error.to_string().contains("12bdbc1609ef066d"), "{error}");
    assert!(error.to_string().contains("firmware catalog"), "{error}");
    let allowed = without_catalog(no_mrtd.clone())
        .verify(
            &evidence(),
            ExpectedNonce::Exactly(&NONCE),
            &collateral(),
            &VerifyOptions {
                allow_unknown_firmware: true,
                ..VerifyOptions::at(TIME)
            },
        )
        .unwrap();
    assert!(allowed.tdx().unwrap().unknown_firmware_allowed);
    // The same policy with the built-in catalog: the paravisor is known.
    let known = verify_with(no_mrtd, &evidence(), &collateral(), VerifyOptions::at(TIME)).unwrap();
    assert_eq!(
        known.tdx().unwrap().catalog_entries,
        ["azure-tdx-paravisor-2026-02"]
    );

    // A policy's MRTD list narrows what the catalog knows: another MRTD is a policy failure.
    let other_mrtd = strict(serde_json::json!({ "tdx": { "allowed_mrtds": ["ab".repeat(48)] } }));
    let error = verify_with(
        other_mrtd,
        &evidence(),
        &collateral(),
        VerifyOptions::at(TIME),
    )
    .unwrap_err();
    assert_eq!(
        (error.kind(), error.check()),
        (ErrorKind::Policy, Check::Policy),
        "{error}"
    );
    assert!(error.to_string().contains("MRTD"), "{error}");

    // RTMR values the policy expects: RTMR0 is zero in this sample, RTMR1 is not 0x11s.
    let rtmr = strict(serde_json::json!({
        "tdx": { "expected_rtmrs": { "0": "00".repeat(48), "1": "11".repeat(48) } }
    }));
    let error = verify_with(rtmr, &evidence(), &collateral(), VerifyOptions::at(TIME)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Policy, "{error}");
    assert!(
        error.to_string().contains("TDX RTMR1: expected 1111"),
        "{error}"
    );

    // Collateral older than the policy's TCB evaluation (the sample's is 18): refused.
    let evaluation = |number: u32| {
        strict(serde_json::json!({ "tdx": { "min_tcb_evaluation_data_number": number } }))
    };
    let error = verify_with(
        evaluation(19),
        &evidence(),
        &collateral(),
        VerifyOptions::at(TIME),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Policy, "{error}");
    assert!(
        error
            .to_string()
            .contains("tcbEvaluationDataNumber: expected at least 19, found 18"),
        "{error}"
    );
    verify_with(
        evaluation(18),
        &evidence(),
        &collateral(),
        VerifyOptions::at(TIME),
    )
    .unwrap();
}

/// `snp-vtpm verify` of the sample written to `evidence_path`, with its nonce, time and
/// collateral, offline.
fn verify_cli(evidence_path: &std::path::Path, extra: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_snp-vtpm"))
        .arg("verify")
        .arg(evidence_path)
        .args([
            "--nonce-hex",
            &"00".repeat(32),
            "--at",
            "2026-02-18T14:04:40Z",
        ])
        .arg("--collateral")
        .arg(vectors::dir().join("azure/tdx-vm1/intel-collateral.json"))
        .args(["--offline", "--no-cache"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn the_binary_picks_azure_tdx_and_prints_the_td_quote() {
    let dir = std::env::temp_dir().join(format!("snp-vtpm-tdx-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let evidence_path = dir.join("evidence.json");
    std::fs::write(&evidence_path, evidence().to_json()).unwrap();
    let run = |extra: &[&str]| {
        let extra: Vec<&std::ffi::OsStr> = extra.iter().map(std::ffi::OsStr::new).collect();
        verify_cli(&evidence_path, &extra)
    };
    let out = run(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("platform:           Intel TDX (TD quote v4)"),
        "{stdout}"
    );
    assert!(stdout.contains("TCB status:         UpToDate"), "{stdout}");
    assert!(
        stdout.contains("firmware identity:  firmware catalog: azure-tdx-paravisor-2026-02"),
        "{stdout}"
    );

    let out = run(&["--json"]);
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["verified"], true, "{verdict}");
    assert_eq!(verdict["verdict"]["platform"], "tdx");
    assert_follows_schema(&verdict);

    // An SNP preset on TDX evidence is a usage error (exit 1).
    let out = run(&["--preset", "azure-cvm"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn show_decodes_td_quotes_tdreports_and_tdx_evidence() {
    let show = |path: &std::path::Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_snp-vtpm"))
            .arg("show")
            .arg(path)
            .arg("--json")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let mrtd = paravisor_mrtd().to_string();

    let quote = show(&vectors::dir().join("azure/tdx-vm1/td-quote.bin"));
    assert_eq!(quote["kind"], "TD quote (Intel TDX)");
    assert_eq!(quote["version"], 4);
    assert_eq!(quote["body"]["mr_td"], mrtd.as_str());
    assert_eq!(quote["qe_report"]["isv_svn"], 6);
    assert_eq!(quote["pck_chain"].as_array().unwrap().len(), 3);

    let v5 = show(&vectors::dir().join("intel/dcap-qvl/tdx_quote_outdated"));
    assert_eq!(v5["version"], 5);
    assert!(v5["body"]["tee_tcb_svn2"].is_string());

    let hcl = show(&vectors::dir().join("azure/tdx-vm1/hcl-report.bin"));
    assert_eq!(hcl["header"]["report_type"], "TDX");
    assert_eq!(hcl["td_report"]["mr_td"], mrtd.as_str());
    assert_eq!(hcl["report_data_binding"], "holds");

    let dir = std::env::temp_dir().join(format!("snp-vtpm-tdx-show-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("evidence.json");
    std::fs::write(&path, evidence().to_json()).unwrap();
    let shown = show(&path);
    assert_eq!(shown["td_quote"]["body"]["mr_td"], mrtd.as_str());
    assert_eq!(shown["td_report"]["mr_td"], mrtd.as_str());
    let _ = std::fs::remove_dir_all(&dir);
}

/// trustee's az-tdx-vtpm evidence, as its attester writes it: v0 (byte arrays) and v1
/// (`"version": 1`, hex `tpm_quote`, base64url `hcl_report` and `td_quote`).
#[test]
fn trustee_az_tdx_vtpm_evidence_is_read_and_verifies() {
    use base64::Engine as _;
    let native = evidence();
    let v0 = serde_json::json!({
        "tpm_quote": {
            "signature": native.quote.signature,
            "message": native.quote.message,
            "pcrs": native.quote.pcrs,
        },
        "hcl_report": native.hcl_report,
        "td_quote": native.td_quote,
    });
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let v1 = serde_json::json!({
        "version": 1,
        "tpm_quote": {
            "signature": hex::encode(&native.quote.signature),
            "message": hex::encode(&native.quote.message),
            "pcrs": native.quote.pcrs.iter().map(hex::encode).collect::<Vec<_>>(),
        },
        "hcl_report": b64(&native.hcl_report),
        "td_quote": b64(native.td_quote.as_deref().unwrap()),
    });
    for (name, json) in [("v0", v0), ("v1", v1)] {
        let read = Evidence::from_json(json.to_string().as_bytes(), snp_vtpm::DEFAULT_SIZE_LIMIT)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(read.td_quote, native.td_quote, "{name}");
        assert_eq!(read.hcl_report, native.hcl_report, "{name}");
        let verified = verify_with(azure_tdx(), &read, &collateral(), VerifyOptions::at(TIME))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(verified.platform(), Platform::Tdx);
    }

    // Mixed shapes are refused with the field named.
    let mixed = serde_json::json!({
        "version": 1,
        "tpm_quote": { "signature": [1], "message": [2], "pcrs": [[3]] },
        "hcl_report": "AAAA",
    });
    let error = Evidence::from_json(mixed.to_string().as_bytes(), snp_vtpm::DEFAULT_SIZE_LIMIT)
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("expected hex strings in this format"),
        "{error}"
    );
}

/// `verify-report` with a raw TD quote (no HCL report): Intel's v4 sample under `tdx-default`,
/// its REPORTDATA checked, and the v5 sample below every TCB level refused by the policy
/// unless a policy accepts that status.
#[test]
fn verify_report_verifies_raw_td_quotes_with_collateral() {
    let dir = std::env::temp_dir().join(format!("snp-vtpm-tdx-raw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |quote: &str, collateral: &str, at: &str, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_snp-vtpm"))
            .arg("verify-report")
            .arg("--report")
            .arg(vectors::dir().join(quote))
            .arg("--collateral")
            .arg(vectors::dir().join(collateral))
            .args(["--at", at, "--json"])
            .args(extra)
            .output()
            .unwrap()
    };
    let verdict = |out: &std::process::Output| -> serde_json::Value {
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let v4 = (
        "intel/dcap-qvl/tdx_quote",
        "intel/dcap-qvl/tdx_quote_collateral.json",
    );
    let out = run(v4.0, v4.1, "2025-07-01T00:00:00Z", &[]);
    let json = verdict(&out);
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(json["verdict"]["tcb"]["status"], "UpToDate");
    assert_follows_schema(&json);
    let report_data = json["verdict"]["body"]["report_data"]
        .as_str()
        .unwrap()
        .to_string();

    // Its REPORTDATA, and another.
    let out = run(
        v4.0,
        v4.1,
        "2025-07-01T00:00:00Z",
        &["--report-data-hex", &report_data],
    );
    assert_eq!(out.status.code(), Some(0), "{}", verdict(&out));
    let out = run(
        v4.0,
        v4.1,
        "2025-07-01T00:00:00Z",
        &["--report-data-hex", "00ff"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", verdict(&out));

    // Without collateral, offline and with nothing cached: unavailable (exit 4).
    let out = Command::new(env!("CARGO_BIN_EXE_snp-vtpm"))
        .arg("verify-report")
        .arg("--report")
        .arg(vectors::dir().join(v4.0))
        .args(["--json", "--offline", "--no-cache"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", verdict(&out));
    assert!(
        verdict(&out)["error"].as_str().unwrap().contains(
            "of FMSPC B0C06F000000, PCK CRL of the Intel SGX PCK Platform CA is not cached, offline"
        ),
        "{}",
        verdict(&out)
    );
    assert!(
        verdict(&out)["hint"]
            .as_str()
            .unwrap()
            .contains("--collateral"),
        "{}",
        verdict(&out)
    );

    // The v5 sample: below every TCB level, refused (exit 3) naming the status; a policy that
    // accepts NoMatchingLevel verifies it.
    let v5 = (
        "intel/dcap-qvl/tdx_quote_outdated",
        "intel/dcap-qvl/tdx_quote_outdated_collateral.json",
    );
    let out = run(v5.0, v5.1, "2026-02-18T12:00:00Z", &[]);
    let json = verdict(&out);
    assert_eq!(out.status.code(), Some(3), "{json}");
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .contains("found NoMatchingLevel"),
        "{json}"
    );
    let policy = dir.join("accept-unrated.toml");
    std::fs::write(
        &policy,
        "extends = \"tdx-default\"\n[tdx]\nallowed_tcb_statuses = [\"NoMatchingLevel\"]\n",
    )
    .unwrap();
    let out = run(
        v5.0,
        v5.1,
        "2026-02-18T12:00:00Z",
        &["--policy", policy.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", verdict(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A policy file is for the platform it names (or its preset's): a file written for SNP is
/// refused on TDX evidence, never silently applied without its [report] section, and a [tdx]
/// section in an SNP policy is refused rather than ignored.
#[test]
fn a_policy_file_keeps_its_platform_whatever_the_evidence() {
    let dir = std::env::temp_dir().join(format!("snp-vtpm-tdx-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let evidence_path = dir.join("evidence.json");
    std::fs::write(&evidence_path, evidence().to_json()).unwrap();
    let snp_policy = dir.join("snp.toml");
    std::fs::write(
        &snp_policy,
        format!(
            "[report]\nallowed_measurements = [\"{}\"]\n",
            "ab".repeat(48)
        ),
    )
    .unwrap();
    let out = verify_cli(
        &evidence_path,
        &[std::ffi::OsStr::new("--policy"), snp_policy.as_os_str()],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the policy is for SNP"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);

    let error = EvidencePolicy::from_document(
        serde_json::json!({ "tdx": { "allowed_tcb_statuses": ["OutOfDate"] } }),
        "azure-cvm",
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input);
    assert!(
        error
            .to_string()
            .contains("has a [tdx] section, but it is for SNP"),
        "{error}"
    );
    let error = EvidencePolicy::from_document(
        serde_json::json!({ "report": { "allow_smt": false } }),
        "azure-tdx",
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("has a [report] section, but it is for TDX"),
        "{error}"
    );
}

/// TDATTRIBUTES beyond the debug bit: azure-tdx refuses MIGRATABLE, and a policy can pin any
/// bit (the sample has SEPT_VE_DISABLE, bit 28, set).
#[test]
fn td_attributes_are_policy_under_a_mask() {
    let azure = EvidencePolicy::preset("azure-tdx").unwrap();
    assert_eq!(
        azure.tdx.td_attributes_mask,
        snp_vtpm::TD_ATTRIBUTE_MIGRATABLE
    );
    let no_sept_ve_disable = strict(serde_json::json!({
        "tdx": { "td_attributes_mask": "0000001000000000", "td_attributes": "0000000000000000" }
    }));
    let error = verify_with(
        no_sept_ve_disable,
        &evidence(),
        &collateral(),
        VerifyOptions::at(TIME),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Policy, "{error}");
    assert!(
        error
            .to_string()
            .contains("TDX TDATTRIBUTES: expected 0000000000000000 under the mask 0000001000000000, found 0000001000000000"),
        "{error}"
    );
}

/// trustee v0 TDX evidence with a field of another format is refused, not silently dropped.
#[test]
fn v0_tdx_evidence_with_foreign_fields_is_refused() {
    let native = evidence();
    let mixed = serde_json::json!({
        "tpm_quote": {
            "signature": native.quote.signature,
            "message": native.quote.message,
            "pcrs": native.quote.pcrs,
        },
        "hcl_report": native.hcl_report,
        "td_quote": native.td_quote,
        "ak_cert": "AAAA",
    });
    let error = Evidence::from_json(mixed.to_string().as_bytes(), snp_vtpm::DEFAULT_SIZE_LIMIT)
        .unwrap_err();
    assert!(error.to_string().contains("carries \"ak_cert\""), "{error}");
}
