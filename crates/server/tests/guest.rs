//! `snp-vtpm attest --to URL` end to end: the real guest binary on swtpm (the real TCTI)
//! against the real service. swtpm has no paravisor, so a stand-in plays it openly: a front on
//! loopback forwards the challenge to the service and, as the nonce is issued, writes a report
//! bound to it into NV 0x01400001 (what Azure's paravisor does when the attester asks for a
//! fresh report). The token the attester prints verifies against the service's JWKS.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

use ear_token::{Jwks, verify_token};
use hcl_parse::Generation;
use serde_json::Value;
use snp_vtpm_testkit::azure::{
    SyntheticReport, TEST_CHIP_ID, TEST_FIRMWARE_ID_KEY_DIGEST, TEST_TCB,
};
use snp_vtpm_testkit::pki::{LeafSpec, TestPki};
use snp_vtpm_testkit::swtpm::{self, Swtpm};
use support::*;
use vtpm_quote::guest::{self, Vtpm};

/// The snp-vtpm binary, built for this test (it is another package's).
fn snp_vtpm_binary() -> PathBuf {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let status = Command::new(env!("CARGO"))
        .current_dir(&workspace)
        .args(["build", "--quiet", "-p", "snp-vtpm", "--bin", "snp-vtpm"])
        .status()
        .unwrap();
    assert!(status.success());
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("snp-vtpm")
}

/// Writes a report whose claims carry `modulus` and `nonce` (zero-padded user-data), signed as
/// firmware `firmware`, into NV 0x01400001.
fn bound_report(tcti: &str, modulus: &[u8], nonce: &[u8], firmware: [u8; 48]) {
    let mut user_data = [0u8; 64];
    user_data[..nonce.len()].copy_from_slice(nonce);
    let (hcl, _) = SyntheticReport {
        id_key_digest: firmware,
        ..SyntheticReport::new(modulus, user_data)
    }
    .build(TestPki::shared());
    let mut vtpm = Vtpm::open(Some(tcti)).unwrap();
    guest::write_nv_index(&mut vtpm, guest::HCL_REPORT_NV_INDEX, &hcl).unwrap();
}

/// The stand-in front: answers the AMD KDS paths with the test PKI's VCEK and chain (the
/// attester fetches them), forwards every other request to `upstream`, and on a challenge
/// writes the report bound to its nonce before answering. Serves requests one at a time.
fn front(
    upstream: String,
    tcti: String,
    modulus: Vec<u8>,
    firmware: Arc<Mutex<[u8; 48]>>,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut parts = line.split_whitespace();
            let (method, path) = (
                parts.next().unwrap().to_string(),
                parts.next().unwrap().to_string(),
            );
            let mut length = 0;
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                if header.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = header.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            if path.starts_with("/vcek/v1/Milan/") {
                let (status, answer) = kds(&path);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    answer.len()
                );
                let _ = stream.write_all(&answer);
                continue;
            }
            let target = format!("{upstream}{path}");
            let mut response = if method == "POST" {
                agent
                    .post(&target)
                    .header("Content-Type", "application/json")
                    .send(&body)
            } else {
                agent.get(&target).call()
            }
            .unwrap();
            let status = response.status().as_u16();
            let answer = response.body_mut().read_to_vec().unwrap();
            if path == "/challenge" && status == 200 {
                let json: Value = serde_json::from_slice(&answer).unwrap();
                let nonce = hex::decode(json["nonce"].as_str().unwrap()).unwrap();
                bound_report(&tcti, &modulus, &nonce, *firmware.lock().unwrap());
            }
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                answer.len()
            );
            let _ = stream.write_all(&answer);
        }
    });
    url
}

/// The test PKI's KDS: the VCEK of the synthetic chip at its TCB, and the Milan chain.
fn kds(path: &str) -> (u16, Vec<u8>) {
    let pki = TestPki::shared();
    if path == "/vcek/v1/Milan/cert_chain" {
        return (
            200,
            pki.product(Generation::Milan).vcek_chain_pem().into_bytes(),
        );
    }
    if path.starts_with(&format!("/vcek/v1/Milan/{}?", hex::encode(TEST_CHIP_ID))) {
        return (
            200,
            pki.issue_leaf(&LeafSpec::vcek(Generation::Milan, &TEST_CHIP_ID, TEST_TCB))
                .der,
        );
    }
    (404, Vec::new())
}

#[test]
fn the_guest_attests_to_the_service_and_gets_a_token() {
    if !swtpm::available() {
        return;
    }
    let binary = snp_vtpm_binary();
    let sim = Swtpm::start().unwrap();
    let tcti = sim.tcti();
    let pki = TestPki::shared();
    let mut vtpm = Vtpm::open(Some(&tcti)).unwrap();
    let ak = guest::provision_azure_layout(&mut vtpm, |ak| {
        SyntheticReport::new(ak.key.rsa_modulus().unwrap(), [0; 64])
            .build(pki)
            .0
    })
    .unwrap();
    drop(vtpm);
    let modulus = ak.key.rsa_modulus().unwrap().to_vec();

    let server = Server::start("guest", &[]);
    let firmware = Arc::new(Mutex::new(TEST_FIRMWARE_ID_KEY_DIGEST));
    let front = front(server.url.clone(), tcti.clone(), modulus, firmware.clone());

    // The attester fetches the VCEK and chain from the front's KDS paths, checked under the
    // test roots (--trust-ca); the service (offline) verifies what the evidence carries.
    let dir = TempDir::new("guest-certs");
    let roots = dir.0.join("roots.pem");
    std::fs::write(&roots, pki.product(Generation::Milan).vcek_chain_pem()).unwrap();
    let run = |extra: &[&str]| {
        Command::new(&binary)
            .args(["attest", "--to", &front, "--json", "--tcti", &tcti])
            .args(["--kds-url", &front, "--imds-url", &front, "--no-cache"])
            .arg("--trust-ca")
            .arg(&roots)
            .args(extra)
            .output()
            .unwrap()
    };

    let saved = dir.0.join("posted-evidence.json");
    let out = run(&["--save-evidence", saved.to_str().unwrap()]);
    let document: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{document}");
    // The evidence kept is the evidence posted: its quote carries the challenge's nonce.
    let kept = snp_vtpm::Evidence::from_json(
        &std::fs::read(&saved).unwrap(),
        snp_vtpm::DEFAULT_SIZE_LIMIT,
    )
    .unwrap();
    let quote = snp_vtpm::vtpm_quote::QuoteAttest::parse(&kept.quote.message).unwrap();
    assert_eq!(
        hex::encode(quote.extra_data()),
        document["nonce"].as_str().unwrap()
    );
    let jwks = Jwks::from_json(document["jwks"].to_string().as_bytes()).unwrap();
    let verified = verify_token(document["token"].as_str().unwrap(), &jwks, now()).unwrap();
    assert_eq!(verified.claims["submods"]["cvm"]["ear_status"], "affirming");
    assert_eq!(document["verdict"]["report_bound_to_nonce"], true);

    // Firmware the service does not know: refused by policy, exit 3, the refusal on stdout.
    *firmware.lock().unwrap() = [0x55; 48];
    let out = run(&[]);
    let document: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(3), "{document}");
    assert_eq!(document["failed_check"], "firmware_identity");

    // An output path that cannot be written: exit 1 before any challenge or TPM command.
    let out = run(&["--save-evidence", "/nonexistent-folder/evidence.json"]);
    assert_eq!(out.status.code(), Some(1));
    let document: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        document["error"]
            .as_str()
            .unwrap()
            .starts_with("--save-evidence /nonexistent-folder/evidence.json: cannot write"),
        "{document}"
    );

    // A service nobody runs: unavailable, exit 4.
    let out = Command::new(&binary)
        .args([
            "attest",
            "--to",
            "http://127.0.0.1:9",
            "--json",
            "--tcti",
            &tcti,
            "--no-certs",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
}
