//! TDX collateral fetched the way `snp-vtpm verify` fetches it (issue 18, item 4): from a
//! loopback PCS v4 service serving Azure's real collateral, checked under Intel's pinned root
//! before it is cached or used, then verifying the real TDX CVM evidence. The binary's fetch
//! check runs at the current time, so it refuses the sample's collateral (long past its
//! nextUpdate) without caching it; the library, given the sample's time, accepts it.
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
use std::sync::Arc;

use snp_vtpm::amd_kds::{SimulatedClock, Source};
use snp_vtpm::fetch::{self, FetchOptions};
use snp_vtpm::snp_verify::UnixTime;
use snp_vtpm::tdx_verify::{Collateral, IntelRoots, TcbStatus};
use snp_vtpm::{Certificates, EvidencePolicy, ExpectedNonce, Platform, Verifier, VerifyOptions};
use snp_vtpm_testkit::evidence::{TDX_EVIDENCE_TIME, tdx_vm1_evidence};
use support::*;

const FMSPC: &str = "90C06F000000";

fn azure_collateral() -> Collateral {
    Collateral::from_json(&vector("azure/tdx-vm1/intel-collateral.json")).unwrap()
}

fn genuine_pcs() -> TestServer {
    let collateral = azure_collateral();
    TestServer::start(move |_, received| pcs_reply(&collateral, FMSPC, &received.target))
}

fn options(server: &TestServer, cache: &TempDir) -> FetchOptions {
    FetchOptions {
        pcs_urls: vec![server.base_url()],
        root_ca_crl_url: Some(format!("{}{ROOT_CA_CRL_PATH}", server.base_url())),
        cache_dir: Some(cache.path().to_path_buf()),
        ..FetchOptions::default()
    }
}

#[test]
fn fetched_collateral_verifies_the_real_tdx_evidence() {
    let server = genuine_pcs();
    let cache = TempDir::new("facade-collateral");
    let clock = Arc::new(SimulatedClock::at_unix(TDX_EVIDENCE_TIME));
    let evidence = tdx_vm1_evidence();
    let quote = evidence.td_quote.clone().unwrap();

    let source = options(&server, &cache)
        .source()
        .unwrap()
        .with_clock(clock.clone());
    let collateral = fetch::tdx_collateral(&source, &IntelRoots::intel(), &quote).unwrap();
    assert_eq!(server.count(), 4);
    let certificates = Certificates {
        tdx_collateral: Some(collateral),
        ..Certificates::default()
    };
    let verified = Verifier::new(EvidencePolicy::preset("azure-tdx").unwrap())
        .verify(
            &evidence,
            ExpectedNonce::Exactly(&[0; 32]),
            &certificates,
            &VerifyOptions::at(UnixTime::from_secs(TDX_EVIDENCE_TIME)),
        )
        .unwrap();
    assert_eq!(verified.platform(), Platform::Tdx);
    assert_eq!(
        verified.tdx().unwrap().quote.tcb().status,
        TcbStatus::UpToDate
    );

    // Offline, the cache answers (checked again under the pinned root); no request is made.
    let offline = FetchOptions {
        offline: true,
        ..options(&server, &cache)
    };
    let source = offline.source().unwrap().with_clock(clock);
    let request = snp_vtpm::tdx_verify::CollateralRequest::of_quote(
        &quote,
        &IntelRoots::intel(),
        UnixTime::from_secs(TDX_EVIDENCE_TIME),
    )
    .unwrap();
    let cached = source.tdx_collateral(&request).unwrap();
    assert_eq!(cached.source, Source::Cache);
    assert_eq!(cached.value, azure_collateral());
    assert_eq!(server.count(), 4);
}

#[test]
fn the_binary_refuses_expired_collateral_from_pcs_and_caches_nothing() {
    let server = genuine_pcs();
    let cache = TempDir::new("cli-collateral");
    let evidence_path = cache.path().join("evidence.json");
    std::fs::write(&evidence_path, tdx_vm1_evidence().to_json()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_snp-vtpm"))
        .arg("verify")
        .arg(&evidence_path)
        .args(["--nonce-hex", &"00".repeat(32)])
        .args(["--at", "2026-02-18T14:04:40Z", "--json"])
        .args(["--pcs-url", &server.base_url()])
        .args([
            "--root-ca-crl-url",
            &format!("{}{ROOT_CA_CRL_PATH}", server.base_url()),
        ])
        .arg("--cache-dir")
        .arg(cache.path().join("certs"))
        .output()
        .unwrap();
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(4), "{verdict}");
    let error = verdict["error"].as_str().unwrap();
    assert!(
        error.contains("sent a TDX collateral") && error.contains("that was refused"),
        "{error}"
    );
    assert!(error.contains("expected validity to include"), "{error}");
    assert_eq!(server.count(), 4);
    assert!(
        !cache.path().join("certs").join("tdx").exists(),
        "refused collateral is not cached"
    );
}

#[test]
fn fetch_collateral_asks_for_the_named_platform_and_checks_what_comes() {
    let server = genuine_pcs();
    let cache = TempDir::new("cli-fetch-collateral");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_snp-vtpm"))
            .args(["fetch", "collateral"])
            .args(args)
            .args(["--pcs-url", &server.base_url()])
            .args([
                "--root-ca-crl-url",
                &format!("{}{ROOT_CA_CRL_PATH}", server.base_url()),
            ])
            .arg("--cache-dir")
            .arg(cache.path())
            .output()
            .unwrap()
    };

    // Malformed arguments are exit 1 before any request.
    for bad in [
        &["--fmspc", "90C06F"][..],
        &["--fmspc", FMSPC, "--ca", "both"],
    ] {
        let out = run(bad);
        assert_eq!(out.status.code(), Some(1), "{bad:?}");
    }
    assert_eq!(server.count(), 0);

    // The quote names FMSPC 90C06F000000 and the Platform CA; the sample's collateral is long
    // expired, so the check (at the current time) refuses it: exit 4, nothing written.
    let output = cache.path().join("collateral.json");
    let quote = vectors_dir().join("azure/tdx-vm1/td-quote.bin");
    let out = run(&[quote.to_str().unwrap(), "-o", output.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("expected validity to include"), "{stderr}");
    assert!(!output.exists());
    assert!(
        server
            .targets()
            .contains(&format!("/tdx/certification/v4/tcb?fmspc={FMSPC}")),
        "{:?}",
        server.targets()
    );

    // --fmspc and --ca name the request without a quote (this server has no such platform).
    let out = run(&["--fmspc", "00906ed50000", "--ca", "processor"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("404 Not Found"), "{stderr}");
    assert_eq!(
        server.targets().last().map(String::as_str),
        Some("/tdx/certification/v4/tcb?fmspc=00906ED50000")
    );
}

/// Collateral is fetched last, and only for TDX evidence: arguments that cannot be used end the
/// run first (exit 1), SNP evidence never asks a PCS, and a PCS that answers with something
/// else is a source that cannot help (exit 4, as one that refuses), not the user's input.
#[test]
fn collateral_is_asked_for_only_when_it_is_needed() {
    let server = genuine_pcs();
    let cache = TempDir::new("cli-collateral-order");
    let tdx_path = cache.path().join("tdx.json");
    std::fs::write(&tdx_path, tdx_vm1_evidence().to_json()).unwrap();
    let run = |evidence: &std::path::Path, pcs: &str, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_snp-vtpm"))
            .arg("verify")
            .arg(evidence)
            .args(["--nonce-hex", &"00".repeat(32), "--json", "--no-cache"])
            .args(["--pcs-url", pcs])
            .args([
                "--root-ca-crl-url",
                &format!("{}{ROOT_CA_CRL_PATH}", server.base_url()),
            ])
            .args(extra)
            .output()
            .unwrap()
    };

    // An unusable --at: exit 1, nothing asked.
    let out = run(
        &tdx_path,
        &server.base_url(),
        &["--at", "2025-02-29T00:00:00Z"],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(server.count(), 0);

    // SNP evidence that happens to carry a td_quote field: no PCS request.
    let mut snp: serde_json::Value =
        serde_json::from_slice(&vector("azure/milan-v3/evidence-v0.json")).unwrap();
    snp["td_quote"] = serde_json::Value::String("AAAA".into());
    let snp_path = cache.path().join("snp.json");
    std::fs::write(&snp_path, snp.to_string()).unwrap();
    let _ = run(&snp_path, &server.base_url(), &["--offline"]);
    let _ = run(&snp_path, &server.base_url(), &[]);
    assert_eq!(server.count(), 0, "SNP evidence asks no PCS");

    // A PCS answering with something else than PCS answers: exit 4, naming the answer.
    let junk = TestServer::always(Reply::ok("{}"));
    let out = run(
        &tdx_path,
        &junk.base_url(),
        &["--at", "2026-02-18T14:04:40Z"],
    );
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(4), "{verdict}");
    assert!(
        verdict["error"]
            .as_str()
            .unwrap()
            .contains("malformed TDX TCB info")
            || verdict["error"]
                .as_str()
                .unwrap()
                .contains("has no TCB-Info-Issuer-Chain"),
        "{verdict}"
    );
}
