//! `cargo xtask attest` end to end: the service issues a result that verifies against its
//! JWKS, the four attacks are refused, and no swtpm or server is left behind; the same with
//! `--tdx` (five attacks); `--host` with stand-in ssh/scp programs on PATH.
// A developer tool: a panic is a failed run, not a verdict.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use snp_vtpm_testkit::azure::TEST_FIRMWARE_ID_KEY_DIGEST;
use snp_vtpm_testkit::pki::TestPki;
use snp_vtpm_testkit::swtpm::{self, Swtpm};
use xtask_attest::cert_service::CertService;
use xtask_attest::{LocalOptions, paravisor, run_local};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The snp-vtpm and snp-vtpm-server binaries the run uses must be current.
fn build_snp_vtpm() {
    let status = Command::new(env!("CARGO"))
        .current_dir(workspace())
        .args(["build", "--quiet", "-p", "snp-vtpm", "--bin", "snp-vtpm"])
        .args(["-p", "snp-vtpm-server", "--bin", "snp-vtpm-server"])
        .status()
        .expect("cargo runs");
    assert!(status.success());
}

/// The result was issued and verified, and carries the verdict.
fn assert_token(report: &xtask_attest::RunReport) {
    let token = report.accepted.as_deref().expect("a result");
    assert_eq!(token.split('.').count(), 3, "a JWS: {token}");
}

#[test]
fn a_result_is_issued_and_every_attack_refused() {
    if !swtpm::available() {
        return;
    }
    build_snp_vtpm();
    let report = run_local(&LocalOptions {
        json: true,
        tdx: false,
    })
    .expect("the run completes");
    assert_token(&report);
    let verdict = report.verdict.as_ref().expect("a verdict");
    assert_eq!(verdict["report_bound_to_nonce"], true);
    assert_eq!(
        verdict["report"]["amd_roots"], false,
        "the test root is recorded as not AMD's"
    );
    // The AK certificate verified through the intermediate the attester fetched by AIA (the
    // relying party knows only the test root), and the verdict says a test root was used.
    let ak = &verdict["ak_certificate"];
    assert_eq!(ak["status"], "verified", "{ak}");
    assert_eq!(ak["under_test_root"], true);
    assert_eq!(ak["vm_id"], "5e1f00c0ffee");
    assert_eq!(ak["issuer"], "Test Virtual TPM CA - 01");
    assert_eq!(
        ak["path"],
        serde_json::json!(["Test Virtual TPM CA - 01", "Test Virtual TPM Root"])
    );
    let attacks: Vec<(&str, u16, &str)> = report
        .attacks
        .iter()
        .map(|a| (a.name, a.status, a.failed_check.as_str()))
        .collect();
    assert_eq!(
        attacks,
        [
            ("replayed nonce", 403, "nonce"),
            ("altered PCR values", 403, "pcr_digest"),
            ("unknown firmware", 403, "firmware_identity"),
            ("quote signed by an uncertified key", 403, "ak_certificate")
        ]
    );
    assert!(report.succeeded());
    for pid in &report.pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} (swtpm or the service) is still running"
        );
    }
    let total: u128 = report.steps.iter().map(|s| s.millis).sum();
    eprintln!("whole run: {total} ms over {} steps", report.steps.len());
}

#[test]
fn tdx_a_result_is_issued_and_every_attack_refused() {
    if !swtpm::available() {
        return;
    }
    build_snp_vtpm();
    let report = run_local(&LocalOptions {
        json: true,
        tdx: true,
    })
    .expect("the run completes");
    let verdict = report.verdict.as_ref().expect("a verdict");
    assert_eq!(verdict["platform"], "tdx", "{verdict}");
    assert_eq!(verdict["report_bound_to_nonce"], true);
    let tdx = &verdict["tdx"];
    assert_eq!(tdx["under_test_root"], true, "{tdx}");
    assert_eq!(tdx["tcb"]["status"], "UpToDate", "{tdx}");
    assert_eq!(tdx["fmspc"], "90C06F000000", "{tdx}");
    assert_eq!(tdx["mrtd_allowed"], true, "{tdx}");
    assert_eq!(verdict["ak_certificate"]["status"], "verified");
    let attacks: Vec<(&str, u16, &str)> = report
        .attacks
        .iter()
        .map(|a| (a.name, a.status, a.failed_check.as_str()))
        .collect();
    assert_eq!(
        attacks,
        [
            ("replayed nonce", 403, "nonce"),
            ("altered PCR values", 403, "pcr_digest"),
            ("unknown firmware", 403, "firmware_identity"),
            ("TCB OutOfDate", 403, "policy"),
            ("quote signed by an uncertified key", 403, "ak_certificate")
        ]
    );
    let out_of_date = report
        .attacks
        .iter()
        .find(|a| a.name == "TCB OutOfDate")
        .unwrap();
    assert!(
        out_of_date.error.contains("OutOfDate"),
        "{}",
        out_of_date.error
    );
    assert!(
        out_of_date.error.contains("INTEL-SA-01079"),
        "{}",
        out_of_date.error
    );
    assert_token(&report);
    assert!(report.succeeded());
    for pid in &report.pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} (swtpm or the service) is still running"
        );
    }
}

#[test]
fn host_mode_with_stand_in_ssh_and_scp() {
    if !swtpm::available() {
        return;
    }
    build_snp_vtpm();
    let dir = std::env::temp_dir().join(format!("snp-vtpm-host-test-{}", std::process::id()));
    let bin = dir.join("bin");
    let remote = dir.join("remote-home");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&remote).unwrap();
    // ssh USER@HOST CMD...: runs CMD in the fake remote home, without sudo.
    let ssh =
        "#!/bin/sh\nshift\n[ \"$1\" = sudo ] && shift\ncd \"$FAKE_REMOTE_HOME\" && exec \"$@\"\n";
    // scp SRC DST: remote paths (USER@HOST:path) live in the fake remote home.
    let scp = "#!/bin/sh\nmap() { case \"$1\" in *:*) echo \"$FAKE_REMOTE_HOME/${1#*:}\";; *) echo \"$1\";; esac; }\nexec cp \"$(map \"$1\")\" \"$(map \"$2\")\"\n";
    for (name, text) in [("ssh", ssh), ("scp", scp)] {
        let path = bin.join(name);
        std::fs::write(&path, text).unwrap();
        Command::new("chmod").arg("+x").arg(&path).status().unwrap();
    }

    // The "remote" CVM: swtpm provisioned with a report bound to the nonce, IMDS on loopback.
    let pki = TestPki::shared();
    let sim = Swtpm::start().unwrap();
    let modulus = paravisor::provision(&sim.tcti(), pki, false).unwrap();
    let nonce = [0x3C; 32];
    paravisor::write_bound_report(
        &sim.tcti(),
        pki,
        &modulus,
        &nonce,
        TEST_FIRMWARE_ID_KEY_DIGEST,
    )
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let certs = CertService::start(pki, hcl_parse::Generation::Milan, now).unwrap();
    // The "remote" attester checks what IMDS sends under the test PKI's roots.
    let roots = dir.join("test-roots.pem");
    std::fs::write(
        &roots,
        pki.product(hcl_parse::Generation::Milan).vcek_chain_pem(),
    )
    .unwrap();

    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let snp_vtpm = workspace().join("target/debug/snp-vtpm");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_xtask-attest"))
            .args([
                "--host",
                "tester@cvm",
                "--nonce-hex",
                &hex::encode(nonce),
                "--binary",
            ])
            .arg(&snp_vtpm)
            .args(extra)
            .env("PATH", &path)
            .env("FAKE_REMOTE_HOME", &remote)
            .env("SNP_VTPM_TCTI", sim.tcti())
            .env("SNP_VTPM_IMDS_URL", certs.url())
            .env("SNP_VTPM_KDS_URL", certs.url())
            .env("SNP_VTPM_CACHE_DIR", dir.join("cache"))
            .env("SNP_VTPM_TRUST_CA", &roots)
            .output()
            .expect("xtask-attest runs")
    };
    let dry = run(&["--dry-run"]);
    assert!(dry.status.success());
    let printed = String::from_utf8_lossy(&dry.stdout);
    assert!(
        printed.contains("scp") && printed.contains("sudo ./snp-vtpm evidence --nonce-hex"),
        "{printed}"
    );
    assert!(
        !remote.join("snp-vtpm").exists(),
        "a dry run copies nothing"
    );

    let out = run(&["--trust-test-pki", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"]["report_bound_to_nonce"], true);
    assert!(remote.join("evidence.json").exists());

    // Against AMD's pinned roots (the default), the simulator's evidence is refused: its test
    // chain has no pinned ARK, and AMD's own (shipped) chain did not sign its VCEK.
    let out = run(&[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("chain: VCEK signature does not verify"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `snp-vtpm evidence` on a vTPM whose AK certificate names its issuer by AIA: fetched and
/// carried when the URL answers, then served from the cache offline; when it does not answer,
/// the evidence is still written, with a warning, and the verifier reports the missing issuer.
#[test]
fn the_attester_fetches_the_ak_certificates_issuers_by_aia() {
    use snp_vtpm::Evidence;
    use snp_vtpm::vtpm_akcert::{ErrorKind, VtpmAnchors, verify_ak_certificate};
    use snp_vtpm_testkit::pki::vtpm::{self, CertSpec, VtpmPki};

    if !swtpm::available() {
        return;
    }
    build_snp_vtpm();
    let pki = TestPki::shared();
    let sim = Swtpm::start().unwrap();
    let modulus = paravisor::provision(&sim.tcti(), pki, false).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let certs = CertService::start(pki, hcl_parse::Generation::Milan, now).unwrap();
    let dir = std::env::temp_dir().join(format!("snp-vtpm-aia-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let roots = dir.join("test-roots.pem");
    std::fs::write(
        &roots,
        pki.product(hcl_parse::Generation::Milan).vcek_chain_pem(),
    )
    .unwrap();
    let vtpm_root = dir.join("test-vtpm-root.pem");
    std::fs::write(
        &vtpm_root,
        snp_vtpm_testkit::pki::pem_certificate(&VtpmPki::shared().root),
    )
    .unwrap();
    let trust_vtpm_root = ["--trust-vtpm-root", vtpm_root.to_str().unwrap()];
    let evidence = |extra: &[&str]| {
        let out = Command::new(workspace().join("target/debug/snp-vtpm"))
            .args(["evidence", "--nonce", "aia", "--tcti", &sim.tcti()])
            .args(["--imds-url", &certs.url(), "--kds-url", &certs.url()])
            .arg("--cache-dir")
            .arg(dir.join("cache"))
            .arg("--trust-ca")
            .arg(&roots)
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let evidence = Evidence::from_json(&out.stdout, snp_vtpm::DEFAULT_SIZE_LIMIT).unwrap();
        (evidence, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let anchors = VtpmAnchors::test_root(&VtpmPki::shared().root);
    let at = snp_vtpm::attest_prims::UnixTime::from_secs(now);

    // An issuer URL that answers 404: the evidence carries the leaf alone, and says why.
    let missing = VtpmPki::shared().issue(
        &CertSpec {
            extra: vec![vtpm::ca_issuers(&[&format!(
                "{}/vtpm/gone.cer",
                certs.url()
            )])],
            ..CertSpec::ak("0badc0ffee00")
        },
        &vtpm::public_key(&modulus).unwrap(),
    );
    paravisor::install_ak_certificate(&sim.tcti(), &missing).unwrap();
    let (carried, stderr) = evidence(&trust_vtpm_root);
    assert!(carried.ak_cert_chain.is_empty());
    assert!(
        stderr.contains("warning: the AK certificate does not verify with the CA certificates the evidence carries (0 fetched by AIA)")
            && stderr.contains("404 Not Found")
            && stderr.contains("the evidence is written anyway"),
        "{stderr}"
    );
    let leaf = carried
        .ak_certificate
        .expect("the AK certificate is carried");
    assert_eq!(leaf, missing);
    let error = verify_ak_certificate(&leaf, &[], &anchors, at).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}");

    // The published intermediate. Under Azure's pinned root (no --trust-vtpm-root) only
    // Azure's PKI hosts are asked: the loopback URL is not fetched, and the warning says so.
    let published = certs.ak_certificate(&modulus).unwrap();
    paravisor::install_ak_certificate(&sim.tcti(), &published).unwrap();
    let (carried, stderr) = evidence(&[]);
    assert!(carried.ak_cert_chain.is_empty());
    assert!(
        stderr.contains("name no host this source fetches from (Azure's PKI hosts"),
        "{stderr}"
    );
    // Under the test root, it is fetched, and the path verifies with exactly what the evidence
    // carries.
    let (carried, stderr) = evidence(&trust_vtpm_root);
    assert!(!stderr.contains("warning"), "{stderr}");
    let chain = carried.ak_cert_chain;
    assert_eq!(chain, [VtpmPki::shared().intermediate.clone()]);
    let carried: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
    let verified = verify_ak_certificate(&published, &carried, &anchors, at).unwrap();
    assert_eq!(verified.vm_id(), Some("5e1f00c0ffee"));

    // Offline, the cache answers (VCEK, chain and the AK certificate's issuers alike): the
    // issuer was cached once its path verified.
    let (carried, stderr) = evidence(&["--offline", trust_vtpm_root[0], trust_vtpm_root[1]]);
    assert!(!stderr.contains("warning"), "{stderr}");
    assert_eq!(carried.ak_cert_chain, chain);

    // A poisoned cache entry (the intermediate's name and key, issued by someone else, as a
    // man in the middle of plain-HTTP AIA could have sent) links to the leaf but leads nowhere:
    // the attester evicts it, fetches again, and the genuine issuer takes its place.
    let entries: Vec<_> = std::fs::read_dir(dir.join("cache/issuers"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1);
    let forged = VtpmPki::shared().intermediate_under_another_root();
    std::fs::write(&entries[0], &forged).unwrap();
    let (carried, stderr) = evidence(&trust_vtpm_root);
    assert!(!stderr.contains("warning"), "{stderr}");
    assert_eq!(carried.ak_cert_chain, chain);
    assert_eq!(std::fs::read(&entries[0]).unwrap(), chain[0]);

    // A forgery served by the first mirror does not hide the genuine one on the second.
    std::fs::remove_dir_all(dir.join("cache/issuers")).unwrap();
    let mirrored = VtpmPki::shared().issue(
        &CertSpec {
            extra: vec![vtpm::ca_issuers(&[
                &format!("{}/vtpm/forged-intermediate.cer", certs.url()),
                &format!("{}/vtpm/intermediate.cer", certs.url()),
            ])],
            ..CertSpec::ak("5e1f00c0ffee")
        },
        &vtpm::public_key(&modulus).unwrap(),
    );
    paravisor::install_ak_certificate(&sim.tcti(), &mirrored).unwrap();
    let (carried, stderr) = evidence(&trust_vtpm_root);
    assert!(!stderr.contains("warning"), "{stderr}");
    assert_eq!(carried.ak_cert_chain, chain);
    let _ = std::fs::remove_dir_all(&dir);
}
