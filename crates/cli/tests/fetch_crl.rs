//! Revocation is not silently skipped (issue 15, item 3), and `fetch vcek` on a version 2
//! report names the flag it needs (item 5): the binary against a loopback KDS, with a private
//! cache folder.
//!
//! No real AMD CRL is in the vectors, so the binary (which trusts AMD's roots only) can only be
//! shown refusing one; the CRLs it accepts are tested through `snp_vtpm::fetch` under the test
//! PKI's roots.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../amd-kds/tests/support/mod.rs"]
mod support;

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use hcl_parse::Generation;
use snp_vtpm::fetch::{self, FetchOptions};
use snp_vtpm::{Certificates, ErrorKind};
use snp_vtpm_testkit::pki::{CrlSpec, TestPki};
use support::{Reply, TempDir, TestServer};

const AT: &str = "2025-06-01T00:00:00Z";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn vector(relative: &str) -> String {
    support::vectors_dir().join(relative).display().to_string()
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(cache: &TempDir, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_snp-vtpm"))
        .args(args)
        .env("SNP_VTPM_CACHE_DIR", cache.path())
        .env_remove("SNP_VTPM_OFFLINE")
        .env_remove("SNP_VTPM_KDS_URL")
        .env_remove("SNP_VTPM_TRUST_CA")
        .output()
        .expect("the binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `verify` of the milan-v2 evidence: a version 2 report (no CPUID), its VCEK and the Milan
/// chain from files, no `--product`.
fn verify_milan_v2(extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "verify",
        "--hcl-report",
        &vector("azure/milan-v2/hcl-report.bin"),
        "--quote",
        &vector("azure/milan-v2/quote.bin"),
        "--vcek",
        &vector("azure/milan-v2/vcek.pem"),
        "--chain",
        &vector("amd/milan/ask.pem"),
        "--chain",
        &vector("amd/milan/ark.pem"),
        "--nonce",
        "challenge",
        "--at",
        AT,
        "--json",
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn verdict(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", run.stdout, run.stderr))
}

/// The test PKI's Milan CRL: well formed, with AMD's names, but not signed by AMD's ARK.
fn not_amds_crl() -> Vec<u8> {
    TestPki::shared().crl(Generation::Milan, &CrlSpec::new(now() - 60, now() + 86_400))
}

#[test]
fn the_product_of_a_version_2_report_comes_from_its_vcek_and_the_crl_is_requested() {
    // Sanity: without --fetch-crl this evidence verifies, revocation not checked.
    let cache = TempDir::new("crl-v2");
    let out = run(&cache, &strs(&verify_milan_v2(&["--offline"])));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);

    let kds = TestServer::always(Reply::ok(not_amds_crl()));
    let url = kds.base_url();
    let out = run(
        &cache,
        &strs(&verify_milan_v2(&["--fetch-crl", "--kds-url", &url])),
    );
    assert_eq!(
        kds.targets(),
        ["/vcek/v1/Milan/crl"],
        "the product came from the VCEK; the chain from the files was enough to check the CRL"
    );
    assert_eq!(out.code, 4, "{}{}", out.stdout, out.stderr);
    let answer = verdict(&out);
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.contains("AMD KDS sent a CRL that was refused")
            && error.contains("not signed by the pinned ARK"),
        "{error}"
    );
    assert!(
        !cache.path().join("vcek/Milan/crl.pem").exists(),
        "nothing cached"
    );

    // A KDS without the CRL: exit 4 as well.
    let missing = TestServer::always(Reply::status(404));
    let url = missing.base_url();
    let out = run(
        &cache,
        &strs(&verify_milan_v2(&["--fetch-crl", "--kds-url", &url])),
    );
    assert_eq!(out.code, 4, "{}{}", out.stdout, out.stderr);
    assert!(
        verdict(&out)["error"]
            .as_str()
            .unwrap()
            .contains("has no CRL here"),
        "{}",
        out.stdout
    );
    assert_eq!(missing.targets(), ["/vcek/v1/Milan/crl"]);
}

#[test]
fn fetch_crl_offline_without_a_cached_crl_is_exit_4() {
    let cache = TempDir::new("crl-offline-missing");
    let out = run(
        &cache,
        &strs(&verify_milan_v2(&["--fetch-crl", "--offline"])),
    );
    assert_eq!(out.code, 4, "{}{}", out.stdout, out.stderr);
    let error = verdict(&out)["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("CRL of Milan is not cached, offline"),
        "{error}"
    );
}

#[test]
fn offline_verify_reads_the_cached_crl() {
    // A cached CRL that is not AMD's: offline, the binary reads it, refuses it under AMD's
    // roots and removes it (before, offline mode never looked at the cache).
    let cache = TempDir::new("crl-offline-cached");
    let path = cache.path().join("vcek/Milan/crl.pem");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let pem = snp_vtpm::amd_kds::Crl::from_bytes(&not_amds_crl())
        .unwrap()
        .to_pem();
    std::fs::write(&path, format!("fetched-at: {}\n{pem}", now() - 60)).unwrap();
    let out = run(&cache, &strs(&verify_milan_v2(&["--offline"])));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        !path.exists(),
        "the cached CRL was read, refused and removed"
    );
    let checks = verdict(&out)["verdict"]["checks"].clone();
    assert!(
        checks
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["outcome"] == "skipped"),
        "{checks}"
    );
}

#[test]
fn offline_the_library_uses_a_cached_crl_checked_under_the_chain_at_hand() {
    let cache = TempDir::new("crl-offline-library");
    let pki = TestPki::shared();
    let crl = pki.crl(Generation::Milan, &CrlSpec::new(now() - 60, now() + 86_400));
    let path = cache.path().join("vcek/Milan/crl.pem");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let pem = snp_vtpm::amd_kds::Crl::from_bytes(&crl).unwrap().to_pem();
    std::fs::write(&path, format!("fetched-at: {}\n{pem}", now() - 60)).unwrap();
    let options = FetchOptions {
        cache_dir: Some(cache.path().to_path_buf()),
        offline: true,
        anchors: Some(pki.trust_anchors()),
        ..FetchOptions::default()
    };
    let ca = pki.product(Generation::Milan);
    let held = Certificates {
        ca: vec![ca.ark_der.clone(), ca.ask_der.clone()],
        ..Certificates::default()
    };
    let der = fetch::crl_for(&options.source().unwrap(), Generation::Milan, &held).unwrap();
    assert_eq!(der, crl);

    // Without a chain at hand or cached, the CRL cannot be checked: not used (exit 4).
    let e = fetch::crl(&options.source().unwrap(), Generation::Milan).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(e.to_string().contains("cannot be checked"), "{e}");
    assert!(path.exists(), "an entry that cannot be checked is kept");
}

#[test]
fn the_product_is_read_from_the_vcek_or_the_chain() {
    let leaf = support::pem_ders("azure/milan-v2/vcek.pem").remove(0);
    let from_leaf = Certificates {
        leaves: vec![leaf],
        ..Certificates::default()
    };
    assert_eq!(fetch::product_of(&from_leaf), Some(Generation::Milan));
    let from_chain = Certificates {
        ca: vec![
            support::pem_der("amd/genoa/ark.pem"),
            support::pem_der("amd/genoa/ask.pem"),
        ],
        ..Certificates::default()
    };
    assert_eq!(fetch::product_of(&from_chain), Some(Generation::Genoa));
    assert_eq!(fetch::product_of(&Certificates::default()), None);
}

#[test]
fn fetch_vcek_on_a_version_2_report_needs_the_product() {
    let cache = TempDir::new("fetch-vcek-v2");
    let report = vector("azure/milan-v2/hcl-report.bin");
    let out = run(&cache, &["fetch", "vcek", "--report", &report, "--offline"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("--product"), "{}", out.stderr);

    // With it, the request goes ahead (offline: not cached, exit 4).
    let out = run(
        &cache,
        &[
            "fetch",
            "vcek",
            "--report",
            &report,
            "--product",
            "Milan",
            "--offline",
        ],
    );
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stderr.contains("not cached, offline"), "{}", out.stderr);
}

#[test]
fn fetch_crl_refuses_a_crl_that_is_not_amds() {
    let cache = TempDir::new("fetch-crl-forged");
    let crl = not_amds_crl();
    let chain = support::kds_chain_pem("milan", "ask");
    let kds = TestServer::start(move |_, request| {
        if request.target.ends_with("/cert_chain") {
            Reply::ok(chain.clone())
        } else {
            Reply::ok(crl.clone())
        }
    });
    let url = kds.base_url();
    let out = run(
        &cache,
        &["fetch", "crl", "--product", "Milan", "--kds-url", &url],
    );
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains("AMD KDS sent a CRL that was refused"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    assert!(!cache.path().join("vcek/Milan/crl.pem").exists());
    assert!(
        cache.path().join("vcek/Milan/cert_chain.pem").exists(),
        "the genuine chain it was checked under is kept"
    );
}
