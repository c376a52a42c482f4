//! The `snp-vtpm` binary: exit codes, messages and JSON verdicts on the real vectors, always
//! with --offline and a private cache so nothing leaves the machine.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use snp_vtpm::EvidencePolicy;
use snp_vtpm_testkit::azure::{SyntheticReport, synthetic_evidence};
use snp_vtpm_testkit::pki::TestPki;
use snp_vtpm_testkit::vectors::{self, GENOA_NONCE, MILAN_V3_USERDATA_NONCE};

const AT: &str = "2025-06-01T00:00:00Z";

fn vector(relative: &str) -> String {
    vectors::dir().join(relative).display().to_string()
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let cache =
        std::env::temp_dir().join(format!("snp-vtpm-cli-test-cache-{}", std::process::id()));
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_snp-vtpm"))
        .args(args)
        .env("SNP_VTPM_CACHE_DIR", &cache)
        .env_remove("SNP_VTPM_TCTI")
        .output()
        .expect("the binary runs");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

fn chain_args(product: &str) -> Vec<String> {
    vec![
        "--chain".into(),
        vector(&format!("amd/{product}/ask.pem")),
        "--chain".into(),
        vector(&format!("amd/{product}/ark.pem")),
        "--offline".into(),
        "--at".into(),
        AT.into(),
    ]
}

/// (name, verify arguments) of every complete real evidence, with its README nonce.
fn evidence_cases() -> Vec<(&'static str, Vec<String>)> {
    let with = |mut head: Vec<String>, product: &str| {
        head.extend(chain_args(product));
        head
    };
    vec![
        (
            "milan-v2",
            with(
                vec![
                    "verify".into(),
                    "--hcl-report".into(),
                    vector("azure/milan-v2/hcl-report.bin"),
                    "--quote".into(),
                    vector("azure/milan-v2/quote.bin"),
                    "--vcek".into(),
                    vector("azure/milan-v2/vcek.pem"),
                    "--nonce".into(),
                    "challenge".into(),
                ],
                "milan",
            ),
        ),
        (
            "milan-v3",
            with(
                vec![
                    "verify".into(),
                    vector("azure/milan-v3/evidence-v0.json"),
                    "--nonce".into(),
                    "challenge".into(),
                ],
                "milan",
            ),
        ),
        (
            "milan-v3-userdata",
            with(
                vec![
                    "verify".into(),
                    vector("azure/milan-v3-userdata/evidence-v2.json"),
                    "--nonce-hex".into(),
                    MILAN_V3_USERDATA_NONCE.into(),
                ],
                "milan",
            ),
        ),
        (
            "genoa-v3",
            with(
                vec![
                    "verify".into(),
                    vector("azure/genoa-v3/evidence-genoa.json"),
                    "--nonce-hex".into(),
                    GENOA_NONCE.into(),
                    "--vcek".into(),
                    vector("azure/genoa-v3/vcek-genoa.pem"),
                ],
                "genoa",
            ),
        ),
    ]
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn assert_valid(json: &str) -> serde_json::Value {
    snp_vtpm_testkit::schema::assert_follows("verdict.schema.json", json)
}

#[test]
fn every_real_evidence_verifies_with_exit_0_and_a_valid_verdict() {
    for (name, args) in evidence_cases() {
        let human = run(&strs(&args));
        assert_eq!(human.code, 0, "{name}: {}{}", human.stdout, human.stderr);
        assert!(
            human.stdout.starts_with("VERIFIED"),
            "{name}: {}",
            human.stdout
        );
        let mut json_args = args.clone();
        json_args.push("--json".into());
        let out = run(&strs(&json_args));
        assert_eq!(out.code, 0, "{name}");
        let verdict = assert_valid(&out.stdout);
        assert_eq!(verdict["verified"], true);
        assert_eq!(
            verdict["verdict"]["firmware"]["id_key_allowed"], true,
            "{name}"
        );
    }
}

#[test]
fn fresh_report_required() {
    let cases = evidence_cases();
    let mut v2 = cases[2].1.clone();
    v2.push("--require-fresh-report".into());
    assert_eq!(run(&strs(&v2)).code, 0);
    let mut v0 = cases[1].1.clone();
    v0.extend(["--require-fresh-report".into(), "--json".into()]);
    let out = run(&strs(&v0));
    assert_eq!(out.code, 2, "{}", out.stdout);
    let verdict = assert_valid(&out.stdout);
    assert_eq!(verdict["failed_check"], "report_freshness");
}

#[test]
fn failures_exit_with_the_documented_codes() {
    let base = evidence_cases()[1].1.clone();
    let with = |edit: &dyn Fn(&mut Vec<String>)| {
        let mut args = base.clone();
        edit(&mut args);
        args.push("--json".into());
        let out = run(&strs(&args));
        let verdict = assert_valid(&out.stdout);
        (
            out.code,
            verdict["failed_check"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            verdict,
        )
    };
    // Wrong nonce: 2.
    let (code, check, _) = with(&|a| a[3] = "challengE".into());
    assert_eq!((code, check.as_str()), (2, "nonce"));
    // No nonce at all is a usage error; --no-nonce verifies and says so.
    let out = run(&[
        "verify",
        &vector("azure/milan-v3/evidence-v0.json"),
        "--offline",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let (code, _, verdict) = with(&|a| {
        a.remove(3);
        a[2] = "--no-nonce".into();
    });
    assert_eq!(code, 0);
    assert_eq!(verdict["verdict"]["nonce_checked"], false);
    // Another chip's VCEK beside the evidence's own: the evidence's own matches and is used.
    let (code, _, _) = with(&|a| a.extend(["--vcek".into(), vector("snp/milan/vcek_milan.der")]));
    assert_eq!(code, 0);
    // Another chip's VCEK as the only one: 2 (binding).
    let mut swapped = evidence_cases()[0].1.clone();
    let at = swapped.iter().position(|a| a == "--vcek").unwrap() + 1;
    swapped[at] = vector("snp/milan/vcek_milan.der");
    swapped.push("--json".into());
    let out = run(&strs(&swapped));
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert_eq!(assert_valid(&out.stdout)["failed_check"], "vcek_binding");
    // A policy it violates: 3.
    let policy = std::env::temp_dir().join(format!("snp-vtpm-policy-{}.toml", std::process::id()));
    std::fs::write(&policy, "[vm_configuration]\nconsole_enabled = false\n").unwrap();
    let (code, check, _) = with(&|a| a.extend(["--policy".into(), policy.display().to_string()]));
    assert_eq!((code, check.as_str()), (3, "policy"));
    // No chain given, offline: AMD's shipped certificates complete it (the evidence carries
    // its VCEK), so it verifies without a download.
    let out = run(&[
        "verify",
        &vector("azure/milan-v3/evidence-v0.json"),
        "--nonce",
        "challenge",
        "--offline",
        "--json",
        "--at",
        AT,
    ]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    // No VCEK anywhere, offline and nothing cached: 4.
    let cache = std::env::temp_dir().join(format!("snp-vtpm-empty-cache-{}", std::process::id()));
    let mut no_vcek = evidence_cases()[0].1.clone();
    let at = no_vcek.iter().position(|a| a == "--vcek").unwrap();
    no_vcek.drain(at..at + 2);
    no_vcek.extend([
        "--cache-dir".into(),
        cache.display().to_string(),
        "--json".into(),
    ]);
    let out = run(&strs(&no_vcek));
    assert_eq!(out.code, 4, "{}", out.stdout);
    let verdict = assert_valid(&out.stdout);
    assert_eq!(verdict["failed_check"], "certificates");
    // The library's message names no flag; the binary's hint does.
    assert!(
        !verdict["error"].as_str().unwrap().contains("--"),
        "{verdict}"
    );
    assert!(
        verdict["hint"].as_str().unwrap().contains("--vcek"),
        "{verdict}"
    );
    // A CRL required and none available: 4.
    let (code, check, _) = with(&|a| a.push("--require-crl".into()));
    assert_eq!((code, check.as_str()), (4, "revocation"));
    // Unknown flags are usage errors: 1.
    assert_eq!(run(&["verify", "--frobnicate"]).code, 1);
}

#[test]
fn flipped_bytes_in_each_artifact() {
    let dir = std::env::temp_dir().join(format!("snp-vtpm-flip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let flip = |source: &str, offset: usize, name: &str| -> PathBuf {
        let mut bytes = vectors::read(source);
        let offset = if offset == usize::MAX {
            bytes.len() - 20
        } else {
            offset
        };
        bytes[offset] ^= 1;
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let hcl = vector("azure/milan-v2/hcl-report.bin");
    let quote = vector("azure/milan-v2/quote.bin");
    let vcek = vector("azure/milan-v2/vcek.pem");
    let cases = [
        (
            "HCL report (signed SNP bytes)",
            flip("azure/milan-v2/hcl-report.bin", 0x20 + 0x100, "hcl.bin"),
            "hcl",
            2,
            "report_signature",
        ),
        (
            "HCL report (runtime claims)",
            flip("azure/milan-v2/hcl-report.bin", 0x4D4 + 40, "claims.bin"),
            "hcl",
            2,
            "report_data_binding",
        ),
        (
            "quote.bin (signature)",
            flip("azure/milan-v2/quote.bin", 8 + 5, "quote-sig.bin"),
            "quote",
            2,
            "quote_signature",
        ),
        (
            "quote.bin (a PCR value)",
            flip("azure/milan-v2/quote.bin", usize::MAX, "quote-pcr.bin"),
            "quote",
            2,
            "pcr_digest",
        ),
    ];
    for (what, path, which, code, check) in cases {
        let path = path.display().to_string();
        let (hcl_arg, quote_arg) = if which == "hcl" {
            (path.as_str(), quote.as_str())
        } else {
            (hcl.as_str(), path.as_str())
        };
        let mut args = vec![
            "verify",
            "--hcl-report",
            hcl_arg,
            "--quote",
            quote_arg,
            "--vcek",
            &vcek,
            "--nonce",
            "challenge",
            "--json",
        ];
        let chain = chain_args("milan");
        args.extend(strs(&chain));
        let out = run(&args);
        let verdict = assert_valid(&out.stdout);
        assert_eq!(
            (
                out.code,
                verdict["failed_check"].as_str().unwrap_or_default()
            ),
            (code, check),
            "{what}: {}",
            out.stdout
        );
    }
}

#[test]
fn unknown_firmware_is_refused_unless_allowed() {
    let pki = TestPki::shared();
    let made = synthetic_evidence(pki, &SyntheticReport::new(&[], [0; 64]), b"n0nce", true);
    let dir = std::env::temp_dir().join(format!("snp-vtpm-fw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let evidence = dir.join("evidence.json");
    std::fs::write(&evidence, &made.json).unwrap();
    let chain = dir.join("chain.pem");
    std::fs::write(&chain, &made.chain_pem).unwrap();
    // The binary trusts only AMD's pins: the test PKI's chain is refused as untrusted (2),
    // which is what protects production. The library tests cover firmware identity with
    // test-PKI anchors; here the real-root case of an unknown-firmware policy is shown with
    // the real Genoa evidence and a policy that does not list its digest.
    let args = [
        "verify",
        evidence.to_str().unwrap(),
        "--nonce",
        "n0nce",
        "--chain",
        chain.to_str().unwrap(),
        "--offline",
        "--at",
        AT,
        "--json",
    ];
    let out = run(&args);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert_eq!(assert_valid(&out.stdout)["failed_check"], "chain");

    // A catalog that replaces the built-in one with nothing: no firmware is known.
    let catalog = dir.join("empty-catalog.json");
    std::fs::write(&catalog, r#"{"format": 1, "replace": true, "entries": []}"#).unwrap();
    let mut genoa = evidence_cases()[3].1.clone();
    genoa.extend([
        "--firmware-catalog".into(),
        catalog.display().to_string(),
        "--json".into(),
    ]);
    let out = run(&strs(&genoa));
    assert_eq!(out.code, 3, "{}", out.stdout);
    let verdict = assert_valid(&out.stdout);
    assert_eq!(verdict["failed_check"], "firmware_identity");
    assert!(
        verdict["error"].as_str().unwrap().contains("942fd93ebde6"),
        "prints the digest found"
    );
    assert!(
        !verdict["error"].as_str().unwrap().contains("--"),
        "{verdict}"
    );
    assert!(
        verdict["hint"]
            .as_str()
            .unwrap()
            .contains("--allow-unknown-firmware"),
        "{verdict}"
    );
    // Without --json the hint follows the error on stderr.
    genoa.pop();
    let out = run(&strs(&genoa));
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "snp-vtpm: hint: trust it in a firmware catalog file given with --firmware-catalog"
        ),
        "{}",
        out.stderr
    );
    genoa.push("--json".into());
    genoa.push("--allow-unknown-firmware".into());
    let out = run(&strs(&genoa));
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(
        assert_valid(&out.stdout)["verdict"]["firmware"]["unknown_firmware_allowed"],
        true
    );
}

#[test]
fn verify_report_on_the_raw_milan_report() {
    let mut args = vec![
        "verify-report".to_string(),
        "--report".into(),
        vector("snp/milan/report_milan.hex"),
        "--vcek".into(),
        vector("snp/milan/vcek_milan.der"),
        "--chain".into(),
        vector("snp/milan/cert_chain_milan"),
        "--offline".into(),
        "--at".into(),
        AT.into(),
        "--json".into(),
    ];
    let out = run(&strs(&args));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(assert_valid(&out.stdout)["verdict"]["product"], "Milan");
    args.extend(["--preset".into(), "azure-cvm".into()]);
    assert_eq!(run(&strs(&args)).code, 3);
    // Report data to compare must be 1 to 64 bytes: a usage error before any verification,
    // even of a report that would fail it (here: no certificates, offline).
    for data in ["", &"ab".repeat(65)] {
        let out = run(&[
            "verify-report",
            "--report",
            &vector("snp/milan/report_milan.hex"),
            "--report-data-hex",
            data,
            "--offline",
            "--json",
        ]);
        assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
        assert_eq!(assert_valid(&out.stdout)["failed_check"], "input");
    }
}

#[test]
fn show_decodes_ak_certificates_as_decoded_only() {
    for file in [
        "azure/tdx-vm1/ak-cert-nv-padded.bin",
        "azure/tdx-vm1/ak-cert.der",
    ] {
        let out = run(&["show", &vector(file), "--json"]);
        assert_eq!(out.code, 0, "{file}: {}", out.stderr);
        let value: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let ak = &value["certificates"][0]["vtpm_ak_certificate"];
        assert_eq!(ak["vm_id"], "353c6d9a70bc", "{file}: {value}");
        assert!(
            ak["decoded_only"]
                .as_str()
                .unwrap()
                .contains("not verified")
        );
    }
    let root = run(&[
        "show",
        &vector("azure/vtpm-ca/azure-virtual-tpm-root-2023.pem"),
        "--json",
    ]);
    let value: serde_json::Value = serde_json::from_str(&root.stdout).unwrap();
    assert_eq!(value["certificates"][0]["pinned_azure_vtpm_root"], true);
}

#[test]
fn show_decodes_every_vector_file() {
    let files = [
        ("azure/milan-v2/hcl-report.bin", "HCL report"),
        ("azure/milan-v2/quote.bin", "TPM quote"),
        ("azure/milan-v2/tpm-quote-v1.json", "TPM quote"),
        ("azure/milan-v2/vcek.pem", "certificates"),
        ("azure/milan-2023/hcl-report-snp.bin", "HCL report"),
        ("azure/milan-2023/certs.pem", "certificates"),
        ("azure/milan-v3/evidence-v0.json", "evidence"),
        ("azure/milan-v3-userdata/evidence-v2.json", "evidence"),
        ("azure/genoa-v3/evidence-genoa.json", "evidence"),
        ("azure/genoa-v3/vcek-genoa.pem", "certificates"),
        ("azure/quote-only/quote.bin", "TPM quote"),
        ("azure/tdx/hcl-report-tdx.bin", "HCL report"),
        ("snp/milan/report_milan.hex", "SNP report"),
        ("snp/milan/vcek_milan.der", "certificates"),
        ("snp/milan/cert_chain_milan", "certificates"),
        ("snp/turin/vcek_turin.der", "certificates"),
        ("amd/genoa/ark.pem", "certificates"),
        ("azure/tdx-vm1/ak-cert-nv-padded.bin", "AK certificate"),
        ("azure/tdx-vm1/ak-cert.der", "certificates"),
        (
            "azure/vtpm-ca/azure-virtual-tpm-root-2023.pem",
            "certificates",
        ),
    ];
    for (file, kind) in files {
        let out = run(&["show", &vector(file), "--json"]);
        assert_eq!(out.code, 0, "{file}: {}", out.stderr);
        let value = snp_vtpm_testkit::schema::assert_follows("show.schema.json", &out.stdout);
        assert!(
            value["kind"].as_str().unwrap().contains(kind),
            "{file}: {}",
            value["kind"]
        );
        let human = run(&["show", &vector(file)]);
        assert_eq!(human.code, 0, "{file}");
    }
    // The HCL report shows the firmware identity and whether it meets the policy.
    let out = run(&["show", &vector("azure/milan-v2/hcl-report.bin"), "--json"]);
    let value: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        value["policy_evaluation"]["firmware_identity"]["known_firmware"],
        true
    );
    assert!(
        value["snp_report"]["id_key_digest"]
            .as_str()
            .unwrap()
            .starts_with("0356215882a8")
    );
    // A CRL from the test PKI.
    let crl = TestPki::shared().crl(
        hcl_parse::Generation::Milan,
        &snp_vtpm_testkit::pki::CrlSpec::new(1_700_000_000, 1_800_000_000),
    );
    let path = std::env::temp_dir().join(format!("snp-vtpm-show-{}.crl", std::process::id()));
    std::fs::write(&path, crl).unwrap();
    let out = run(&["show", path.to_str().unwrap(), "--json"]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("\"CRL\""));
}

#[test]
fn help_documents_exit_codes_and_examples() {
    let out = run(&["--help"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.contains("Exit codes:")
            && out
                .stdout
                .contains("4  certificates, CRL or TDX collateral unavailable")
    );
    // Every command and subcommand listed in --help has examples.
    let mut commands: Vec<Vec<String>> = listed_commands(&out.stdout)
        .into_iter()
        .map(|c| vec![c])
        .collect();
    let mut with_subcommands = Vec::new();
    for command in &commands {
        let help = run(&[command[0].as_str(), "--help"]).stdout;
        for sub in listed_commands(&help) {
            with_subcommands.push(vec![command[0].clone(), sub]);
        }
    }
    commands.extend(with_subcommands);
    assert!(commands.len() >= 15, "{commands:?}");
    for command in commands {
        let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
        args.push("--help");
        let out = run(&args);
        assert_eq!(out.code, 0, "{command:?}");
        assert!(
            out.stdout.contains("Example"),
            "{command:?} --help has examples:\n{}",
            out.stdout
        );
    }
}

/// The commands a --help text lists under "Commands:" (without `help`).
fn listed_commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(String::from)
        .collect()
}

#[test]
fn version_names_the_commit_and_what_this_build_trusts() {
    let out = run(&["--version"]);
    assert_eq!(out.code, 0);
    let info = snp_vtpm::BuildInfo::current();
    let commit = out
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("commit: "))
        .expect("a commit line");
    let hash = commit.strip_suffix("-dirty").unwrap_or(commit);
    assert!(
        commit == "unknown" || (hash.len() == 40 && hash.bytes().all(|b| b.is_ascii_hexdigit())),
        "{commit}"
    );
    // Every AMD pin, the Azure and Intel roots, and each preset's digest.
    for pin in snp_vtpm::snp_verify::AMD_PINS {
        assert!(
            out.stdout
                .contains(&hcl_parse::HexSlice(&pin.sha256).to_string()),
            "{}",
            out.stdout
        );
    }
    for root in [
        snp_vtpm::vtpm_akcert::AZURE_VTPM_ROOT_SHA256,
        snp_vtpm::tdx_verify::INTEL_SGX_ROOT_SHA256,
    ] {
        assert!(out.stdout.contains(&hcl_parse::HexSlice(&root).to_string()));
    }
    for name in snp_vtpm::PRESETS {
        let digest = EvidencePolicy::preset(name).unwrap().digest();
        let line = format!("  {name:<18} {}", hcl_parse::HexSlice(&digest));
        assert!(out.stdout.contains(&line), "{line}\n{}", out.stdout);
    }
    assert_eq!(info.presets.len(), snp_vtpm::PRESETS.len());
    // Presets differ, so their digests do; a policy changed by one field changes its digest.
    let digests: std::collections::BTreeSet<_> =
        info.presets.iter().map(|p| p.sha256.clone()).collect();
    assert_eq!(digests.len(), info.presets.len());
    let mut changed = EvidencePolicy::preset("azure-cvm").unwrap();
    changed.require_crl = !changed.require_crl;
    assert_ne!(
        changed.digest(),
        EvidencePolicy::preset("azure-cvm").unwrap().digest()
    );
    // -V stays one line.
    assert_eq!(run(&["-V"]).stdout.lines().count(), 1);
}

#[test]
fn the_policy_example_in_the_docs_loads() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/policy.md"))
            .unwrap();
    let example = doc
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a TOML example");
    let path =
        std::env::temp_dir().join(format!("snp-vtpm-doc-policy-{}.toml", std::process::id()));
    std::fs::write(&path, example).unwrap();
    let out = run(&[
        "show",
        &vector("azure/milan-v2/hcl-report.bin"),
        "--policy",
        path.to_str().unwrap(),
        "--json",
    ]);
    // The example pins another paravisor key than milan-v2's: a policy it does not meet.
    assert_eq!(out.code, 3, "{}", out.stderr);
    let value: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        value["policy_evaluation"]["summary"]
            .as_str()
            .unwrap()
            .contains("id_key_digest"),
        "{value}"
    );
    let checks = value["policy_evaluation"]["checks"].as_array().unwrap();
    assert!(
        checks.iter().any(|c| c["check"] == "reported_tcb"),
        "the TCB floor is part of the policy"
    );
    let broken =
        std::env::temp_dir().join(format!("snp-vtpm-bad-policy-{}.toml", std::process::id()));
    std::fs::write(&broken, "[report]\nallow_debugging = true\n").unwrap();
    let out = run(&[
        "show",
        &vector("azure/milan-v2/hcl-report.bin"),
        "--policy",
        broken.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("allow_debugging"), "{}", out.stderr);
}

#[test]
fn show_holds_reports_to_the_policy_verification_would_use() {
    let path = std::env::temp_dir().join(format!("snp-vtpm-show-svn-{}.toml", std::process::id()));
    std::fs::write(&path, "[report]\nminimum_guest_svn = 0\n").unwrap();
    let raw = run(&[
        "show",
        &vector("snp/milan/report_milan.hex"),
        "--policy",
        path.to_str().unwrap(),
    ]);
    assert_eq!(raw.code, 0, "{}{}", raw.stdout, raw.stderr);
    let tdx = run(&[
        "show",
        &vector("azure/tdx-vm1/hcl-report.bin"),
        "--preset",
        "azure-cvm",
    ]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(tdx.code, 1, "{}", tdx.stdout);
    assert!(tdx.stderr.contains("holds no SNP report"), "{}", tdx.stderr);
    // --json=true and --json=false are the flag's values.
    let json = run(&[
        "show",
        &vector("azure/milan-v2/hcl-report.bin"),
        "--json=true",
    ]);
    assert!(json.stdout.starts_with('{'), "{}", json.stdout);
    let text = run(&[
        "show",
        &vector("azure/milan-v2/hcl-report.bin"),
        "--json=false",
    ]);
    assert!(text.stdout.starts_with("DECODED ONLY"), "{}", text.stdout);
}

/// A raw report (hex text, as AMD's samples come) given where evidence goes: the hint names
/// verify-report.
#[test]
fn a_raw_report_given_as_evidence_gets_a_hint() {
    let out = run(&[
        "verify",
        &vector("snp/milan/report_milan.hex"),
        "--nonce",
        "challenge",
        "--offline",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("verify-report --report"),
        "{}",
        out.stderr
    );
}
