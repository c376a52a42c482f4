//! `cargo xtask attest` end to end: the secret is released, the three attacks are refused, and
//! no swtpm or server is left behind; `--host` with stand-in ssh/scp programs on PATH.
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

/// The snp-vtpm binary the run uses must be current.
fn build_snp_vtpm() {
    let status = Command::new(env!("CARGO"))
        .current_dir(workspace())
        .args(["build", "--quiet", "-p", "snp-vtpm", "--bin", "snp-vtpm"])
        .status()
        .expect("cargo runs");
    assert!(status.success());
}

#[test]
fn the_secret_is_released_and_every_attack_refused() {
    if !swtpm::available() {
        return;
    }
    build_snp_vtpm();
    let report = run_local(&LocalOptions { json: true }).expect("the run completes");
    assert_eq!(
        report.secret.as_deref(),
        Some("the-relying-party's-secret: 7f3a9c")
    );
    let verdict = report.verdict.as_ref().expect("a verdict");
    assert_eq!(verdict["report_bound_to_nonce"], true);
    assert_eq!(
        verdict["report"]["amd_roots"], false,
        "the test root is recorded as not AMD's"
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
            ("unknown firmware", 403, "firmware_identity")
        ]
    );
    assert!(report.succeeded());
    for pid in &report.pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "swtpm {pid} is still running"
        );
    }
    let total: u128 = report.steps.iter().map(|s| s.millis).sum();
    eprintln!("whole run: {total} ms over {} steps", report.steps.len());
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
    let modulus = paravisor::provision(&sim.tcti(), pki).unwrap();
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
